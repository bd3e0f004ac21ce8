"""Start-up time of the command line: `--help`, `codecs`, and JPEG `compress` / `decompress` of one Kodak image.

Each command runs as a fresh process (what a user waits for), 5 times; the median wall time is printed.
torch and CompressAI are imported only when a learned codec or metric needs them, so none of these
should import them (the script checks). Usage: python benchmarks/bench_startup.py [--runs 5]
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from ssicbench.datasets import shipped_kodak

CLI = str(Path(__file__).resolve().parents[1] / "run_bench.py")
TARGET_S = 1.5


def timed(argv: list[str]) -> tuple[float, float]:
    """Wall time and CPU time (user + system) of one fresh `run_bench.py` process."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    subprocess.run([sys.executable, CLI, *argv], check=True, capture_output=True)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def imports_torch(argv: list[str]) -> bool:
    probe = (
        f"import sys, runpy; sys.argv = {[CLI, *argv]!r}\ntry:\n    runpy.run_path(sys.argv[0], run_name='__main__')\n"
    )
    probe += "except SystemExit:\n    pass\nprint('torch' in sys.modules, 'compressai' in sys.modules, file=sys.stderr)"
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    return "True" in result.stderr.strip().splitlines()[-1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    image = shipped_kodak() / "kodim01.png"
    with tempfile.TemporaryDirectory() as tmp:
        container, decoded = Path(tmp) / "k.bin", Path(tmp) / "k.png"
        commands = {
            "run_bench.py --help": ["--help"],
            "run_bench.py codecs": ["codecs"],
            "compress --codec jpeg (Kodak 768x512)": [
                "compress",
                "--codec",
                "jpeg",
                "--quality",
                "75",
                str(image),
                str(container),
            ],
            "decompress (jpeg container)": ["decompress", str(container), str(decoded)],
        }
        timed(commands["compress --codec jpeg (Kodak 768x512)"])  # the container decompress reads
        print(f"start-up, median of {args.runs} fresh processes (target <= {TARGET_S} s wall):")
        for name, argv in commands.items():
            walls, cpus = zip(*(timed(argv) for _ in range(args.runs)))
            median = statistics.median(walls)
            torch = "imports torch/compressai" if imports_torch(argv) else "no torch"
            verdict = "ok" if median <= TARGET_S else "SLOW"
            print(
                f"  {name:<38} wall {median:5.2f} s (min {min(walls):.2f}, max {max(walls):.2f})"
                f"  cpu {statistics.median(cpus):5.2f} s  {torch}  {verdict}"
            )
        print(f"  (wall includes waiting for a busy CPU; cpu is the process's own work; {os.cpu_count()} cores)")


if __name__ == "__main__":
    main()
