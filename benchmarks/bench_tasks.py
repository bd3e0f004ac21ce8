"""Detector and codec time per image on the embedded task set (or a COCO-format dataset).

Usage: python benchmarks/bench_tasks.py [--detector onnx-centernet] [--codec jpeg] [--quality 50]
           [--scenario full] [--dataset embedded] [--limit N] [--repeat 3]
Group scenarios (objects, category:<name>) need a structured codec (e.g. ssic-tiny); masks come from ground truth.
"""

from __future__ import annotations

import argparse
import statistics
import time

from ssicbench.codecs import StructuredCodec, create_codec
from ssicbench.group_masks import gt_group_mask
from ssicbench.tasks.coco_data import load_task_dataset
from ssicbench.tasks.detectors import create_detector
from ssicbench.transmission import parse_scenario


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--detector", default="onnx-centernet")
    parser.add_argument("--codec", default="jpeg")
    parser.add_argument("--quality", default="50")
    parser.add_argument("--scenario", default="full")
    parser.add_argument("--dataset", default="embedded")
    parser.add_argument("--limit", type=int)
    parser.add_argument("--repeat", type=int, default=3, help="timed runs per image (the median is kept)")
    args = parser.parse_args()
    quality = int(args.quality) if args.quality.isdigit() else args.quality

    dataset = load_task_dataset(args.dataset, **({"limit": args.limit} if args.limit else {}))
    detector = create_detector(args.detector)
    codec = create_codec(args.codec)
    scenario = parse_scenario(args.scenario)
    print(f"{'image':<22}{'pixels':>9}{'codec enc+dec [ms]':>20}{'detector [ms]':>15}{'bpp':>8}")
    codec_ms, detect_ms = [], []
    for image_id in dataset.image_ids():
        info = dataset.image_info(image_id)
        image = dataset.load(image_id)
        anns = dataset.annotations(image_id)
        groups = None
        if isinstance(codec, StructuredCodec):
            groups = gt_group_mask(anns, info["height"], info["width"], codec.mask_cell)
        boxes = [a["bbox"] for a in anns]
        runs = [scenario.transmit(codec, image, quality, groups, boxes) for _ in range(args.repeat)]
        c_ms = 1000 * statistics.median(t.encode_s + t.decode_s for t in runs)
        timings = []
        for _ in range(args.repeat):
            start = time.perf_counter()
            detector.detect(runs[0].decoded)
            timings.append(time.perf_counter() - start)
        d_ms = 1000 * statistics.median(timings)
        codec_ms.append(c_ms)
        detect_ms.append(d_ms)
        bpp = 8 * runs[0].num_bytes / (info["height"] * info["width"])
        print(f"{info['file_name']:<22}{info['height'] * info['width']:>9}{c_ms:>20.1f}{d_ms:>15.1f}{bpp:>8.3f}")
    print(f"{'mean':<31}{statistics.mean(codec_ms):>20.1f}{statistics.mean(detect_ms):>15.1f}")
    print(f"codec={args.codec} q={quality} scenario={scenario.name} detector={args.detector}")


if __name__ == "__main__":
    main()
