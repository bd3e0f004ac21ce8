"""How fast one bundled SSIC rate point improves at several learning rates: each run continues the shipped weights
for the same steps (same batches, linear warm-up) and is scored like background training does, by the RD cost on
the held-out validation photos with bpp from real bytes (never Kodak).

Usage: python benchmarks/bench_learning_rate.py --point 5 --steps 300 --lr 5e-5 --lr 2e-4 --lr 6e-4
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from ssicbench.training.background import validate, validation_images
from ssicbench.training.config import TrainConfig
from ssicbench.training.export import write_weights
from ssicbench.training.loop import Trainer, training_sampler

ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--point", type=int, default=5, help="rate point (configs/train/ssic-tiny-q<N>.json)")
    parser.add_argument("--steps", type=int, default=300)
    parser.add_argument("--warmup", type=int, default=30)
    parser.add_argument("--lr", type=float, action="append", help="learning rates to compare (repeat the flag)")
    args = parser.parse_args()
    shipped = ROOT / "codecs" / "ssic" / "zoo" / f"ssic-tiny-q{args.point}.pth"
    config = ROOT / "configs" / "train" / f"ssic-tiny-q{args.point}.json"
    schedule = dict(init=str(shipped), steps=args.steps, milestones=[], warmup_steps=args.warmup, eval_every=0)
    images = validation_images()
    base = TrainConfig.load(config, **schedule)
    sampler = training_sampler(base)
    start = validate(shipped, base, images)
    print(f"ssic-tiny-q{args.point} (lambda {base.lmbda:g}), {args.steps} steps from the shipped weights")
    print("| lr | steps/s | bpp | PSNR dB | cost | cost change |\n| --- | --- | --- | --- | --- | --- |")
    print(f"| shipped | | {start['bpp']:.4f} | {start['psnr']:.2f} | {start['cost']:.4f} | |")
    for lr in args.lr or [5e-5, 2e-4, 6e-4]:
        with tempfile.TemporaryDirectory() as run:
            trainer = Trainer(TrainConfig.load(config, **schedule, lr=lr, checkpoint_every=10**9), run, sampler)
            began = time.perf_counter()
            trainer.run()
            speed = args.steps / (time.perf_counter() - began)
            result = validate(write_weights(trainer.trainable, Path(run) / "w.pth", trainer.step), base, images)
        change = 100 * (result["cost"] / start["cost"] - 1)
        print(
            f"| {lr:g} | {speed:.2f} | {result['bpp']:.4f} | {result['psnr']:.2f} | {result['cost']:.4f} |"
            f" {change:+.2f} % |"
        )


if __name__ == "__main__":
    main()
