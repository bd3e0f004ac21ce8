"""Train a family of rate points (one config per lambda) side by side, one process each on the same device, within
a wall-clock budget, then export each run's weights to the codec's checkpoint layout.

Why side by side: small models leave a GPU mostly idle, so several processes share it at little cost each. The
number of steps is fixed after a short calibration run of all configs together, so each run gets a complete
schedule (learning-rate decay at `decay_at` of its steps) that ends inside the budget.

    python -m ssicbench.training.family --config configs/train/ssic-tiny-stage5-q{2,3,4,5}.json \
        --out results/train/stage5 --export-dir results/train --budget-s 4500
"""

from __future__ import annotations

import argparse
import csv
import multiprocessing
import os
import time
from pathlib import Path
from typing import Any

from ssicbench.training.config import TrainConfig, set_overrides

__all__ = ["CALIBRATION_STEPS", "EXPORT_MARGIN_S", "main", "run_all", "steps_per_second", "train_family"]

CALIBRATION_STEPS = 24
EXPORT_MARGIN_S = 20.0  # reserved for exporting after training


def _train(cfg: dict[str, Any], run_dir: str, threads: int) -> None:
    import torch

    from ssicbench.training.loop import Trainer

    torch.set_num_threads(threads)  # the runs share the machine's cores
    Trainer(TrainConfig.from_dict(cfg), run_dir).run()


def run_all(configs: dict[str, TrainConfig], root: Path) -> None:
    """Train every config in its own process (spawned: CUDA-safe), all at once; fail if any run fails."""
    context = multiprocessing.get_context("spawn")
    threads = max(1, (os.cpu_count() or 1) // len(configs))
    processes = {
        name: context.Process(target=_train, args=(cfg.to_dict(), str(root / name), threads))
        for name, cfg in configs.items()
    }
    for process in processes.values():
        process.start()
    for process in processes.values():
        process.join()
    failed = [name for name, process in processes.items() if process.exitcode != 0]
    if failed:
        raise RuntimeError(f"training failed for {', '.join(failed)} (see their run folders under {root})")


def steps_per_second(run_dir: Path, skip: int = 4) -> float:
    """Training speed of a run from its log, leaving out the first `skip` (warm-up) steps."""
    with open(run_dir / "train_log.csv", newline="") as f:
        rows = [r for r in csv.DictReader(f) if int(float(r["step"])) > skip]
    first, last = rows[0], rows[-1]
    return (float(last["step"]) - float(first["step"])) / (float(last["elapsed_s"]) - float(first["elapsed_s"]))


def train_family(
    configs: dict[str, TrainConfig], out: Path, budget_s: float, decay_at: float = 0.85
) -> dict[str, TrainConfig]:
    """Calibrate, then train all configs side by side so that they end within `budget_s` of the call."""
    start = time.perf_counter()
    calibration = {
        name: TrainConfig.from_dict(
            {
                **cfg.to_dict(),
                "steps": CALIBRATION_STEPS,
                "log_every": 1,
                "checkpoint_every": 10**9,
                "eval_every": 0,
                "dead_leaves": min(cfg.dead_leaves, 8),  # the pool size does not change the speed
            }
        )
        for name, cfg in configs.items()
    }
    run_all(calibration, out / "calibration")
    rate = min(steps_per_second(out / "calibration" / name) for name in configs)
    remaining = budget_s - (time.perf_counter() - start) - EXPORT_MARGIN_S
    steps = max(int(rate * remaining * 0.9), 1)  # 10% kept for start-up (data, dead leaves) and checkpoints
    print(f"calibration: {rate:.2f} steps/s per run with {len(configs)} runs side by side -> {steps} steps each")
    final = {
        name: TrainConfig.from_dict(
            {
                **cfg.to_dict(),
                "steps": steps,
                "milestones": [int(decay_at * steps)],
                "time_budget_s": max(remaining, 1.0),
            }
        )
        for name, cfg in configs.items()
    }
    run_all(final, out)
    return final


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", action="append", required=True, help="training config (one per rate point)")
    parser.add_argument("--out", required=True, help="folder of the runs (one sub-folder per config)")
    parser.add_argument("--export-dir", required=True, help="where each run's weights go, as <config name>.pth")
    parser.add_argument("--budget-s", type=float, required=True, help="wall-clock seconds for training and export")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=JSON", help="override a key of every config")
    args = parser.parse_args(argv)
    overrides = set_overrides(args.set)
    configs = {Path(path).stem: TrainConfig.load(path, **overrides) for path in args.config}
    out = Path(args.out)
    train_family(configs, out, args.budget_s)
    from ssicbench.training.export import export_checkpoint

    for name in configs:
        path = export_checkpoint(out / name, Path(args.export_dir) / f"{name}.pth")
        print(f"{path}: exported")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
