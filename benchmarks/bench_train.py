"""Training speed: steps/s of the small SSIC config (ssic-tiny recipe) on CPU, and on CUDA when present.

Usage: python benchmarks/bench_train.py [--steps 10] [--batch-size 8] [--patch-size 256]
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


def steps_per_second(device: str, steps: int, batch: int, patch: int) -> float:
    cfg = TrainConfig.load(RECIPE, device=device, batch_size=batch, patch_size=patch, eval_every=0, log_every=1)
    with tempfile.TemporaryDirectory() as run:
        trainer = Trainer(cfg, run)
        trainer.cfg.steps = 2
        trainer.run()  # warm-up (allocations, kernels)
        trainer.cfg.steps = 2 + steps
        start = time.perf_counter()
        trainer.run()
        return steps / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=10)
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--patch-size", type=int, default=256)
    args = parser.parse_args()
    devices = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])
    for device in devices:
        rate = steps_per_second(device, args.steps, args.batch_size, args.patch_size)
        print(
            f"ssic-tiny training on {device}: {rate:.2f} steps/s (batch {args.batch_size},"
            f" {args.patch_size}px crops, {torch.get_num_threads()} threads)"
        )


if __name__ == "__main__":
    main()
