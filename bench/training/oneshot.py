"""One call on a lent GPU: train every rate point of the bundled `ssic-tiny` family from its shipped weights at a
large batch for the whole device budget (validated and exported as background training is: only improvements
on the held-out photos), and leave the weights and logs in one folder, ready to copy back and commit.

On the device machine (its Python has torch; the wheels it lacks are carried in `.whl/`, see
configs/train/README.md):

    python3 -m pip install -q --no-deps .whl/*.whl && python3 -m pip install -q --no-deps --no-build-isolation -e .
    PYTHONUNBUFFERED=1 python3 -m ssicbench.training.oneshot --out $OUT --budget-s 480

$OUT then holds `ssic-tiny-q<N>.pth` for each rate point (the best weights: the shipped ones where training did
not beat them), `validation_log.csv` and `train_logs.tar.gz`: at most 7 files, as the device tool returns them.
"""

from __future__ import annotations

import argparse
import shutil
import tarfile
import tempfile
import time
from pathlib import Path

from ssicbench.training.background import train_in_background
from ssicbench.training.config import TrainConfig

__all__ = ["FAMILY", "main", "train_once"]

REPO = Path(__file__).resolve().parents[2]
FAMILY = tuple(REPO / "configs" / "train" / f"ssic-tiny-q{q}.json" for q in range(1, 6))
ZOO = REPO / "codecs" / "ssic" / "zoo"


def train_once(
    out: Path,
    budget_s: float,
    batch_size: int = 32,
    device: str = "auto",
    chunk: int = 500,
    lr: float = 5e-5,
    warmup_steps: int = 200,
    configs: tuple[Path, ...] = FAMILY,
    zoo: Path = ZOO,
) -> Path:
    """Train `configs` round after round until `budget_s` (leaving time to pack), starting from the weights in
    `zoo`, and write the best weights and the logs to `out`."""
    start = time.perf_counter()
    out.mkdir(parents=True, exist_ok=True)
    overrides = {"batch_size": batch_size, "device": device, "lr": lr, "milestones": [], "warmup_steps": warmup_steps}
    named = {path.stem: TrainConfig.load(path, **overrides) for path in configs}
    for name in named:
        if (zoo / f"{name}.pth").is_file():
            shutil.copyfile(zoo / f"{name}.pth", out / f"{name}.pth")  # the bar to beat, and the fallback
    with tempfile.TemporaryDirectory(prefix="ssic-oneshot-") as runs:
        remaining = max(budget_s - (time.perf_counter() - start) - 60, 1.0)  # kept: a last validation, packing
        train_in_background(named, Path(runs), out, out / "validation_log.csv", chunk, budget_s=remaining)
        with tarfile.open(out / "train_logs.tar.gz", "w:gz") as archive:
            for log in sorted(Path(runs).glob("*/*_log.csv")):
                archive.add(log, arcname=f"{log.parent.name}_{log.name}")
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", required=True, help="folder for the weights and logs (the device's $OUT)")
    parser.add_argument("--budget-s", type=float, required=True, help="wall-clock seconds, packing included")
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--device", default="auto", help="cuda, cpu or auto")
    parser.add_argument("--chunk", type=int, default=500, help="steps per rate point between validations")
    args = parser.parse_args(argv)
    out = train_once(Path(args.out), args.budget_s, args.batch_size, args.device, args.chunk)
    print(f"{out}: " + ", ".join(sorted(p.name for p in out.iterdir())))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
