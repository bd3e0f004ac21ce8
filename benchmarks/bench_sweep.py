"""Sweep overhead over the raw codec calls, and the --jobs 2 speed-up, for JPEG on Kodak.

The raw loop does exactly the per-image work of a sweep job (read the image, encode, serialize, parse,
decode, PSNR) without the harness; the sweep adds job planning, the row store and worker processes.
Usage: python benchmarks/bench_sweep.py [--dataset DIR] [--metrics psnr ...]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from ssicbench import metrics
from ssicbench.codec_spec import CodecSpec
from ssicbench.codecs import Bitstream, create_codec
from ssicbench.datasets import load_dataset
from ssicbench.imageio import load_image
from ssicbench.sweep import distortion_row, run_sweep

QUALITIES = tuple(range(5, 96, 5))
DEFAULT_KODAK = Path(__file__).resolve().parents[2] / "shared" / "datasets" / "kodak"


def raw_loop(images, qualities, metric_names) -> float:
    codec = create_codec("jpeg")
    start = time.perf_counter()
    for quality in qualities:
        for item in images:
            image = load_image(item.path)
            data = codec.encode(image, quality).to_bytes()
            decoded = codec.decode(Bitstream.from_bytes(data))
            distortion_row(image, decoded, metric_names)
    return time.perf_counter() - start


def sweep(images, qualities, metric_names, jobs: int) -> float:
    with tempfile.TemporaryDirectory() as out:
        start = time.perf_counter()
        run_sweep(
            [CodecSpec("jpeg", qualities)], "bench", images, out, n_jobs=jobs, metric_names=metric_names, progress=False
        )
        return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", default=str(DEFAULT_KODAK))
    parser.add_argument("--metrics", nargs="+", default=["psnr"])
    parser.add_argument("--repeat", type=int, default=3, help="best of N runs")
    args = parser.parse_args()
    if not Path(args.dataset).exists() and args.dataset == str(DEFAULT_KODAK):
        raise SystemExit(
            f"Kodak not found at {DEFAULT_KODAK}; pass --dataset (e.g. kodak after `run_bench.py data fetch kodak`)"
        )
    images = load_dataset(args.dataset)
    for name in list(args.metrics):
        if why := metrics.get_metric(name).available():
            print(f"{name} unavailable ({why}): left out")
            args.metrics.remove(name)
    jobs = len(images) * len(QUALITIES)
    raw = min(raw_loop(images, QUALITIES, args.metrics) for _ in range(args.repeat))
    one = min(sweep(images, QUALITIES, args.metrics, 1) for _ in range(args.repeat))
    two = min(sweep(images, QUALITIES, args.metrics, 2) for _ in range(args.repeat))
    print(
        f"JPEG, {len(images)} images x {len(QUALITIES)} qualities = {jobs} jobs, metrics {args.metrics},"
        f" best of {args.repeat}"
    )
    print(f"raw codec loop     {raw:7.2f} s  ({1000 * raw / jobs:.1f} ms/job)")
    print(f"sweep --jobs 1     {one:7.2f} s  overhead {100 * (one / raw - 1):+.1f}%")
    print(f"sweep --jobs 2     {two:7.2f} s  speed-up over --jobs 1: {one / two:.2f}x")


if __name__ == "__main__":
    main()
