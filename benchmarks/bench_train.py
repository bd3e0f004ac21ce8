"""Training speed: steps/s of the SSIC training pass with the batched (dense) transforms against the former
per-image row-list transforms, side by side in one run, for the ssic-tiny recipe (and the full-size model with
--full), on CPU and on CUDA when present, plus peak GPU memory.

Usage: python benchmarks/bench_train.py [--steps 6] [--batch-size 8] [--patch-size 256] [--full] [--device cpu]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import torch

from ssicbench.training.config import TrainConfig
from ssicbench.training.loop import Trainer

RECIPE = Path(__file__).resolve().parents[1] / "configs" / "train" / "ssic-tiny.json"


def steps_per_second(
    model: dict, device: str, steps: int, batch: int, patch: int, batched: bool
) -> tuple[float, float]:
    """(steps/s, peak GPU memory in GiB or NaN on CPU) of `steps` training steps after two warm-up steps."""
    cfg = TrainConfig.load(
        RECIPE, device=device, batch_size=batch, patch_size=patch, eval_every=0, log_every=1000,
        checkpoint_every=10**9, model=model, init="", batched_transforms=batched,
    )  # fmt: skip
    with tempfile.TemporaryDirectory() as run:
        trainer = Trainer(cfg, run)
        trainer.cfg.steps = 2
        trainer.run()  # warm-up (allocations, kernels)
        if device == "cuda":
            torch.cuda.synchronize()
            torch.cuda.reset_peak_memory_stats()
        trainer.cfg.steps = 2 + steps
        start = time.perf_counter()
        trainer.run()
        if device == "cuda":
            torch.cuda.synchronize()
        rate = steps / (time.perf_counter() - start)
        peak = torch.cuda.max_memory_allocated() / 2**30 if device == "cuda" else float("nan")
        return rate, peak


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=6)
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--patch-size", type=int, default=256)
    parser.add_argument("--full", action="store_true", help="also the full-size model (slow on CPU)")
    parser.add_argument("--device", action="append", help="cpu and/or cuda (default: cpu, and cuda when present)")
    args = parser.parse_args()
    devices = args.device or ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])
    models = {"ssic-tiny recipe": TrainConfig.load(RECIPE).model} | ({"full-size": {}} if args.full else {})
    print(
        f"batch {args.batch_size}, {args.patch_size}px crops, {args.steps} timed steps,"
        f" {torch.get_num_threads()} threads"
    )
    print(
        f"{'model':<18}{'device':<8}{'per-image s/s':>14}{'batched s/s':>13}{'speed-up':>10}"
        f"{'peak GiB (per-image/batched)':>30}"
    )
    for device in devices:
        for label, model in models.items():
            old, old_peak = steps_per_second(model, device, args.steps, args.batch_size, args.patch_size, False)
            new, new_peak = steps_per_second(model, device, args.steps, args.batch_size, args.patch_size, True)
            peaks = f"{old_peak:.2f} / {new_peak:.2f}"
            print(f"{label:<18}{device:<8}{old:>14.2f}{new:>13.2f}{new / old:>9.2f}x{peaks:>30}", flush=True)


if __name__ == "__main__":
    main()
