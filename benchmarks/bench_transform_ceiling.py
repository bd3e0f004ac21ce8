"""Where the bundled SSIC's quality stops: PSNR on the held-out validation photos (one group) when the synthesis
gets the analysis' latents unquantized, rounded (what the codec sends), or rounded to 1/2 and 1/4 steps. If the
unquantized PSNR is barely above the rounded one, more bits cannot help: the transforms are the limit.

Usage: python benchmarks/bench_transform_ceiling.py [--points 1 3 5]
"""

from __future__ import annotations

import argparse
import math

import torch
from bench_rate_recipes import RATE_POINTS, ROOT, validation_tensors

from ssicbench.training.config import TrainConfig
from ssicbench.training.models import build_trainable

STEPS = {"unquantized": 0.0, "rounded": 1.0, "step 1/2": 0.5, "step 1/4": 0.25}


@torch.no_grad()
def ceiling(point: int, images: list[torch.Tensor]) -> dict[str, float]:
    """Mean PSNR over `images` for each latent step in STEPS (0: unquantized)."""
    cfg = TrainConfig.load(RATE_POINTS[point - 1])
    trainable = build_trainable(cfg.arch, cfg.model)
    trainable.load_weights(str(ROOT / "codecs" / "ssic" / "zoo" / f"ssic-tiny-q{point}.pth"))
    model = trainable.module.eval()
    totals = dict.fromkeys(STEPS, 0.0)
    for x in images:
        groups = torch.zeros(1, x.shape[2] // 16, x.shape[3] // 16, dtype=torch.long)
        y = model.analysis_dense(x, groups)
        for name, step in STEPS.items():
            y_hat = torch.round(y / step) * step if step else y
            x_hat = model.synthesis_dense(y_hat, groups).clamp(0, 1)
            totals[name] += -10 * math.log10(float(torch.mean((x - x_hat) ** 2))) / len(images)
    return totals


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--points", type=int, nargs="+", default=[1, 2, 3, 4, 5])
    args = parser.parse_args()
    images = validation_tensors()
    print("| rate point | " + " | ".join(f"{name} dB" for name in STEPS) + " |")
    print("| --- " * (len(STEPS) + 1) + "|")
    for point in args.points:
        print(f"| {point} | " + " | ".join(f"{v:.2f}" for v in ceiling(point, images).values()) + " |")


if __name__ == "__main__":
    main()
