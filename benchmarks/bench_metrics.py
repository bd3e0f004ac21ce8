"""Time per metric per Kodak image, and what each would add to the README main job.

Each registered metric (or those named) is computed on every Kodak image against its JPEG q50 decode; the
main-job figure is that time x the rows of `configs/default.json` that decode the whole image (the "all" and
"full" decodes: the whole-image metrics run on those), over its worker count. A metric that cannot run here is
listed with its reason. Usage: python benchmarks/bench_metrics.py [--metrics NAME ...] [--limit N]
"""

from __future__ import annotations

import argparse
import os
import time

import numpy as np

from ssicbench import metrics
from ssicbench.codecs import Bitstream, create_codec
from ssicbench.config import RDConfig, codec_specs
from ssicbench.datasets import load_dataset
from ssicbench.imageio import load_image

MAIN_JOB = "configs/default.json"


def whole_image_rows(config: RDConfig, images: int) -> int:
    """The rows of a sweep config that measure whole-image metrics (the decodes of the whole image)."""
    specs = codec_specs(config.codecs, "rd")
    return sum(len(s.qualities) for s in specs if s.decode in ("all", "full")) * images


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--metrics", nargs="+", default=metrics.metric_names(), choices=metrics.metric_names())
    parser.add_argument("--limit", type=int, default=0, help="only the first N Kodak images (0: all 24)")
    args = parser.parse_args()
    items = load_dataset("kodak")[: args.limit or None]
    jpeg = create_codec("jpeg")
    pairs = []
    for item in items:
        image = load_image(item.path)
        pairs.append((image, jpeg.decode(Bitstream.from_bytes(jpeg.encode(image, 50).to_bytes()))))
    config = RDConfig.load(MAIN_JOB)
    workers = config.jobs or os.cpu_count() or 1
    rows = whole_image_rows(config, 24)
    print(f"{len(pairs)} Kodak images (768x512) vs JPEG q50; main job: {rows} whole-image rows on {workers} workers")
    print(f"{'metric':<12} {'ms/image':>9} {'min':>7} {'max':>7}  main job +s  columns")
    for name in args.metrics:
        metric = metrics.get_metric(name)
        if why := metric.available():
            print(f"{name:<12} unavailable: {why}")
            continue
        metric(*pairs[0])  # warm-up: imports, filters, caches
        times = []
        for reference, decoded in pairs:
            start = time.perf_counter()
            metric(reference, decoded)
            times.append(1000 * (time.perf_counter() - start))
        mean = float(np.mean(times))
        added = mean / 1000 * rows / workers
        columns = ", ".join(c.name for c in metric.image_columns)
        print(f"{name:<12} {mean:9.1f} {min(times):7.1f} {max(times):7.1f}  {added:10.0f}  {columns}")


if __name__ == "__main__":
    main()
