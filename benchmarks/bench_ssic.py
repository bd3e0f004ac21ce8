"""Time SSIC encode, full decode and one-group decode on Kodak with the full-size architecture.

Random weights (timing does not depend on training); Kodak group masks (4-connected components); the
decoded group is the one whose area is closest to 10% of the image. The goal for partial decoding is
one-group decode <= 0.3x the full decode.

    .venv/bin/python benchmarks/bench_ssic.py [--images 3] [--repeat 1] [--threads 2] [--device cpu]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from ssicbench.codecs.masks import load_group_mask
from ssicbench.codecs.ssic import SSICModel, StructuredSSICCodec, make_config

SHARED = Path(__file__).resolve().parents[1].parent / "shared" / "datasets"


def timed(fn, repeat: int):
    """(result, best wall time in seconds) of `repeat` calls."""
    best, result = float("inf"), None
    for _ in range(repeat):
        start = time.perf_counter()
        result = fn()
        best = min(best, time.perf_counter() - start)
    return result, best


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=3, help="number of Kodak images (in name order)")
    parser.add_argument("--repeat", type=int, default=1, help="runs per measurement (best is kept)")
    parser.add_argument("--threads", type=int, default=torch.get_num_threads())
    parser.add_argument("--device", default="cpu")
    args = parser.parse_args()
    kodak, masks = SHARED / "kodak", SHARED / "kodak_group_masks"
    if not kodak.is_dir() or not masks.is_dir():
        print(f"Kodak images or group masks not found under {SHARED}; nothing to measure.")
        return 1
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    model = SSICModel(make_config("charm"))
    model.build_tables()
    codec = StructuredSSICCodec("charm", {1: model}, device=args.device)

    print(f"SSIC full-size (random weights), device {args.device}, {args.threads} threads")
    columns = ("image", "size", "group", "area", "encode s", "full dec s", "group dec s", "ratio")
    print("{:<10} {:>9} {:>5} {:>6} {:>9} {:>10} {:>11} {:>6}".format(*columns))
    ratios = []
    for path in sorted(kodak.glob("*.png"))[: args.images]:
        image = np.asarray(Image.open(path).convert("RGB"))
        mask = load_group_mask(masks / path.name, codec.mask_shape(*image.shape[:2]))
        ids, counts = np.unique(mask, return_counts=True)
        group = int(ids[np.argmin(np.abs(counts / mask.size - 0.1))])
        bitstream, encode_s = timed(lambda: codec.encode(image, 1, mask=mask), args.repeat)
        _, full_s = timed(lambda: codec.decode(bitstream), args.repeat)
        one = codec.receive(bitstream, [group])
        _, group_s = timed(lambda: codec.decode(one), args.repeat)
        ratios.append(group_s / full_s)
        area = float(np.mean(mask == group))
        size = f"{image.shape[1]}x{image.shape[0]}"
        print(
            f"{path.stem:<10} {size:>9} {group:>5} {area:>6.1%} {encode_s:>9.2f} {full_s:>10.2f}"
            f" {group_s:>11.2f} {ratios[-1]:>6.2f}"
        )
    print(f"mean one-group/full decode time: {np.mean(ratios):.2f} (goal <= 0.30)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
