"""Open-ended training of a rate-point family that only ever ships improvements on held-out photos.

Each round trains every rate point `chunk` steps further (resuming exactly from its run folder; a new run starts
from the weights in the export folder), codes the validation photos (`VALIDATION_PHOTOS`, never trained on; never
Kodak) to real bytes with the current weights, and replaces the exported weights only when the validation RD cost
(the training objective, lmbda * 255^2 * MSE + bpp, with bpp from real bytes) beats the best exported so far.
Every measurement goes to one CSV log, which is also where the best costs are read from on resume.

    nice -n 19 python -m ssicbench.training.background --config configs/train/ssic-tiny-q1.json ... \\
        --out results/train/background --export-dir results/train/background/zoo --chunk 250 \\
        --set lr=5e-5 --set 'milestones=[]'   # configs/train/README.md: the whole command, and shipping the weights
"""

from __future__ import annotations

import argparse
import csv
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from ssicbench.errors import BenchError
from ssicbench.files import write_atomic
from ssicbench.training.config import TrainConfig, set_overrides

__all__ = ["LOG_FIELDS", "ValidationLog", "main", "train_in_background", "validate", "validation_images"]

LOG_FIELDS = ("time", "config", "step", "bpp", "psnr", "mse", "cost", "exported")


def validation_images() -> list[np.ndarray]:
    """The held-out validation photos (scikit-learn's sample images), loaded as HxWx3 uint8."""
    from ssicbench.imageio import load_image
    from ssicbench.training.images import VALIDATION_PHOTOS, package_photo_paths

    paths = package_photo_paths(VALIDATION_PHOTOS)
    if not paths:
        raise BenchError("no validation photos found (scikit-learn ships them: pip install scikit-learn)")
    return [load_image(path) for path in paths]


def validate(weights: Path, cfg: TrainConfig, images: Sequence[np.ndarray]) -> dict[str, float]:
    """Mean bpp (real bytes), PSNR and MSE of `images` coded with `weights`, and the RD cost of `cfg`'s lambda."""
    from ssicbench.codecs import create_codec
    from ssicbench.training.evaluate import code_images

    coded = code_images(create_codec(cfg.arch, checkpoint=str(weights), config=cfg.model), images, 1)
    return {**coded, "cost": cfg.lmbda * 255**2 * coded["mse"] + coded["bpp"]}


class ValidationLog:
    """The CSV log of every validation (one row per rate point and round); the cost of the weights now exported
    for each rate point is read from it, so a restarted run knows what it has to beat."""

    def __init__(self, path: Path):
        self.path = path
        self.rows: list[dict[str, str]] = []
        if path.exists():
            with open(path, newline="") as f:
                self.rows = list(csv.DictReader(f))

    def best(self, name: str) -> float | None:
        """The cost of the weights last exported for `name` (each export beat the one before), None before its
        first row."""
        costs = [float(r["cost"]) for r in self.rows if r["config"] == name and r["exported"] == "1"]
        return costs[-1] if costs else None

    def add(self, name: str, step: int, result: dict[str, float], exported: bool) -> None:
        row = {"time": time.strftime("%Y-%m-%dT%H:%M:%S"), "config": name, "step": str(step)}
        row.update({k: f"{result[k]:.6g}" for k in ("bpp", "psnr", "mse", "cost")}, exported=str(int(exported)))
        self.rows.append(row)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        new = not self.path.exists()
        with open(self.path, "a", newline="") as f:
            writer = csv.DictWriter(f, fieldnames=LOG_FIELDS)
            if new:
                writer.writeheader()
            writer.writerow(row)


def train_in_background(
    configs: dict[str, TrainConfig],
    out: Path,
    export_dir: Path,
    log_path: Path,
    chunk: int,
    rounds: int = 0,
    budget_s: float = 0.0,
) -> ValidationLog:
    """Round after round (`rounds`, 0: until `budget_s` runs out, 0: forever), train each config `chunk` steps
    further and export its weights to `export_dir/<name>.pth` when their validation cost is the best yet."""
    from ssicbench.training.export import write_weights
    from ssicbench.training.loop import Trainer

    start = time.perf_counter()
    images = validation_images()
    log = ValidationLog(log_path)
    trainers: dict[str, Trainer] = {}
    sampler = None
    for name, cfg in configs.items():
        shipped = export_dir / f"{name}.pth"
        fresh = not (out / name / "last.pt").exists()
        if shipped.exists() and fresh:
            # a new run continues the weights it may replace, and measures them: the bar to beat (the weights
            # a lost run folder had exported may be gone, so an earlier row of the log is no bar)
            cfg.init = str(shipped)
            log.add(name, 0, validate(shipped, cfg, images), exported=True)
        trainers[name] = Trainer(cfg, out / name, sampler)
        sampler = trainers[name].sampler  # same data and seed: one pool of crops for all
    done = 0
    while not rounds or done < rounds:
        for name, trainer in trainers.items():
            if budget_s and time.perf_counter() - start > budget_s:
                return log
            trainer.resume()
            trainer.cfg.steps = trainer.step + chunk
            if budget_s:  # a chunk stops (checkpointed) when the budget runs out, then is validated
                trainer.cfg.time_budget_s = max(budget_s - (time.perf_counter() - start), 1.0)
            trainer.run()
            candidate = write_weights(trainer.trainable, out / name / "candidate.pth", trainer.step)
            result = validate(candidate, trainer.cfg, images)
            best = log.best(name)
            improved = best is None or result["cost"] < best
            if improved:
                export_dir.mkdir(parents=True, exist_ok=True)
                write_atomic(export_dir / f"{name}.pth", candidate.read_bytes())  # readers never see half a file
            log.add(name, trainer.step, result, exported=improved)
            print(
                f"{name} step {trainer.step}: {result['bpp']:.4f} bpp, {result['psnr']:.2f} dB, cost "
                f"{result['cost']:.5f} ({'exported' if improved else f'kept the best, {best:.5f}'})",
                flush=True,
            )
        done += 1
    return log


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", action="append", required=True, help="training config (one per rate point)")
    parser.add_argument("--out", required=True, help="folder of the runs (one sub-folder per config)")
    parser.add_argument("--export-dir", required=True, help="where the best weights go, as <config name>.pth")
    parser.add_argument("--log", help="validation log CSV (default <out>/validation_log.csv)")
    parser.add_argument("--chunk", type=int, default=250, help="steps per rate point between validations")
    parser.add_argument("--rounds", type=int, default=0, help="rounds to run (0: until --budget-s, or forever)")
    parser.add_argument("--budget-s", type=float, default=0.0, help="wall-clock seconds to train (0: no limit)")
    parser.add_argument("--threads", type=int, default=0, help="torch threads (0: torch's default)")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=JSON", help="override a key of every config")
    args = parser.parse_args(argv)
    overrides = set_overrides(args.set)
    if args.threads:
        import torch

        torch.set_num_threads(args.threads)
    configs = {Path(path).stem: TrainConfig.load(path, **overrides) for path in args.config}
    out = Path(args.out)
    log = Path(args.log) if args.log else out / "validation_log.csv"
    train_in_background(configs, out, Path(args.export_dir), log, args.chunk, args.rounds, args.budget_s)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
