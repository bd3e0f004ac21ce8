"""`run_bench.py task`: AP versus transmitted bits for partial (SSIC) decodes and full-image baselines.

Example (offline): `run_bench.py task --detector onnx-centernet --codec jpeg --codec ssic-tiny
--scenario full --scenario objects --run demo` writes results/demo/{task_rows/, task_rows.csv,
ap_vs_bpp.csv, ap_vs_bpp.png, bd_rate_ap.csv}; running it again resumes. `--ground-truth detector` scores
against the detector's own detections on the uncompressed images (pseudo ground truth, any image set);
`run_bench.py task --task-config configs/tasks/kodak.json` is the Kodak study.
"""

from __future__ import annotations

import argparse
import json
import logging
from pathlib import Path
from typing import Any

from ssicbench.cli import (
    EXIT_ROWS_FAILED,
    EXIT_RULE,
    _add_codec_options,
    _add_executor_options,
    _cli_qualities,
    _codec_options,
    _executor,
    _positive_int,
)
from ssicbench.errors import BenchError
from ssicbench.jsonfile import read_json_object
from ssicbench.tasks.coco_data import TASK_DATASETS
from ssicbench.tasks.group_masks import GROUPINGS
from ssicbench.tasks.pseudo_gt import GROUND_TRUTHS
from ssicbench.tasks.scenarios import SCENARIO_KINDS

log = logging.getLogger("ssicbench")

# Settings a --task-config file may give (a command-line flag wins), and their defaults.
CONFIG_SETTINGS = {
    "detector": "onnx-centernet",
    "dataset": "embedded",
    "masks": "gt",
    "ground_truth": "dataset",
    "pseudo_score": 0.5,
    "score_threshold": None,
    "anchor": None,
    "run": "task",
}


def _apply_config(args: argparse.Namespace, config: dict[str, Any]) -> None:
    """Fill the settings not given on the command line from the config file, else from the defaults."""
    unknown = sorted(set(config) - set(CONFIG_SETTINGS) - {"codecs", "scenarios", "executor", "version", "description"})
    if unknown:
        raise BenchError(f"task config: unknown keys {', '.join(unknown)}")
    for key, default in CONFIG_SETTINGS.items():
        if getattr(args, key) is None:
            setattr(args, key, config.get(key, default))


def _dataset_options(args: argparse.Namespace) -> dict[str, Any]:
    options: dict[str, Any] = {"limit": args.limit} if args.limit else {}
    if args.dataset == "coco":
        if not (args.images and args.annotations):
            raise BenchError("--dataset coco needs --images DIR and --annotations JSON")
        options.update(images=args.images, annotations=args.annotations)
    if args.dataset == "coco-val2017":
        options.update(root=args.coco_root, download=not args.no_download)
    if args.dataset == "images":
        if not args.images:
            raise BenchError("--dataset images needs --images DIR")
        options.update(images=args.images)
    return options


def _detector_options(args: argparse.Namespace) -> dict[str, Any]:
    from ssicbench.tasks.detectors import DETECTORS

    options: dict[str, Any] = {}
    backend = DETECTORS.get(args.detector).info.get("backend")
    if args.detector_weights:
        options["weights"] = args.detector_weights
    if backend in ("torchvision", "detectron2") and args.detector_device:
        options["device"] = args.detector_device
    if backend == "torchvision" and args.no_download:
        options["download"] = False
    if args.score_threshold is not None:
        if backend not in ("onnx", "detectron2"):
            raise BenchError(f"--score-threshold applies to onnx-* and detectron2-* detectors, not {args.detector}")
        options["score_threshold"] = args.score_threshold
    return options


def cmd_task(args: argparse.Namespace) -> int:
    """Plan, run (resumably) and report one task sweep (detectors and torch are imported only here)."""
    from ssicbench.sweep import CodecSpec
    from ssicbench.tasks.ap_report import evaluable_types, write_task_report
    from ssicbench.tasks.detectors import DETECTORS
    from ssicbench.tasks.runner import TaskSetup, plan_task_jobs, run_task_sweep

    config: dict[str, Any] = read_json_object(args.task_config, "--task-config") if args.task_config else {}
    _apply_config(args, config)
    DETECTORS.get(args.detector)  # an unknown name is one line listing the known ones
    executor = _executor(args, config, args.jobs)
    if args.codec:
        config["codecs"] = [{"name": n, "qualities": [], "options": _codec_options(args)} for n in args.codec]
    if not config.get("codecs"):
        raise BenchError("task needs --codec NAME (repeatable) or a --task-config file with a 'codecs' list")
    codecs = [CodecSpec.from_config(entry) for entry in config["codecs"]]
    if args.codec and args.qualities:  # checked up front against every --codec, as `rd` does
        codecs = [spec.with_qualities(_cli_qualities(spec, args.qualities)) for spec in codecs]
    scenarios = args.scenario or config.get("scenarios") or ["full", "objects"]
    setup = TaskSetup(
        dataset=args.dataset,
        dataset_options=json.dumps(_dataset_options(args), sort_keys=True),
        detector=args.detector,
        detector_options=json.dumps(_detector_options(args), sort_keys=True),
        masks=args.masks,
        group_by=args.group_by,
        min_coverage=args.min_coverage,
        min_inside=args.min_inside,
        ground_truth=args.ground_truth,
        pseudo_score=args.pseudo_score,
    )
    out_dir = Path(args.results_dir) / args.run
    executor.start()  # a cluster out of reach fails before planning (which hashes images and weights)
    plan = plan_task_jobs(setup, codecs, scenarios)
    rows = run_task_sweep(plan, out_dir, progress=not args.quiet, executor=executor)
    errors = [r for r in rows if r.get("status") != "ok"]
    for row in errors[:5]:
        log.error(
            "%s %s q=%s image %s: %s", row["codec"], row["scenario"], row["quality"], row["image_id"], row.get("error")
        )
    dataset = setup.load_dataset()
    info = DETECTORS.get(args.detector).info
    iou_types = evaluable_types(info["iou_types"], dataset)
    title = f"{args.detector} on {dataset.name}"
    written = write_task_report(
        rows, dataset, iou_types, out_dir, args.anchor, title, info.get("categories"), setup.ground_truth_label
    )
    for name, path in written.items():
        print(f"{name}: {path}")
    timed = [r["detect_s"] for r in rows if r.get("status") == "ok"]
    if timed:
        print(f"detector {args.detector}: {sum(timed) / len(timed):.3f} s per image (mean of {len(timed)} images)")
    return EXIT_ROWS_FAILED if errors else 0


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Add the `task` sub-command to the main CLI's subparsers."""
    p = subparsers.add_parser(
        "task",
        help="detection / segmentation AP versus transmitted bits (resumable)",
        description=__doc__,
        epilog=EXIT_RULE,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument(
        "--detector",
        help="registered detector (default onnx-centernet; opencv-hog, opencv-haar-*, torchvision-*, detectron2-*)",
    )
    p.add_argument("--detector-weights", help="detector weights file (default: torch hub cache / official URL)")
    p.add_argument("--detector-device", help="cpu or cuda (torchvision / detectron2 detectors)")
    p.add_argument("--score-threshold", type=float, help="lowest detection score kept (onnx-*, detectron2-*)")
    p.add_argument(
        "--ground-truth",
        choices=GROUND_TRUTHS,
        help="dataset: its annotations (default); detector: the detector's detections on the uncompressed"
        " images (pseudo ground truth, 'AP vs uncompressed detections'; any image set, e.g. --dataset kodak)",
    )
    p.add_argument("--pseudo-score", type=float, help="score a detection needs to be pseudo ground truth (0.5)")
    p.add_argument("--codec", action="append", help="codec name; repeatable")
    p.add_argument(
        "--qualities", nargs="+", help="quality points for every --codec (default: each codec's own); checked up front"
    )
    p.add_argument(
        "--task-config",
        help="JSON with 'codecs' (as for `rd`), optionally 'scenarios', 'executor' and the settings "
        + ", ".join(CONFIG_SETTINGS)
        + " (flags win); e.g. configs/tasks/kodak.json",
    )
    kinds = ", ".join(f"{k}{':<name>' if k == 'category' else ''} ({d})" for k, (_, d) in SCENARIO_KINDS.items())
    p.add_argument("--scenario", action="append", help=f"repeatable; default full + objects. {kinds}")
    p.add_argument("--dataset", choices=TASK_DATASETS.names(), help="default embedded")
    p.add_argument("--images", help="image folder (--dataset coco / images)")
    p.add_argument("--annotations", help="COCO-format annotation JSON (--dataset coco)")
    p.add_argument("--coco-root", help="folder holding val2017/ and annotations/ (--dataset coco-val2017)")
    p.add_argument("--no-download", action="store_true", help="never download data or detector weights")
    p.add_argument("--limit", type=_positive_int, help="only the first N images (by id; N >= 1)")
    p.add_argument("--masks", help="group masks from: gt (default), detector, or a folder of <stem>.npy/.png")
    p.add_argument("--group-by", default="instance", choices=GROUPINGS)
    p.add_argument("--min-coverage", type=float, default=0.0, help="block coverage an object needs to own it")
    p.add_argument("--min-inside", type=float, default=0.5, help="share of an instance in the decoded region to count")
    p.add_argument("--anchor", help="curve ('<codec> <scenario>') BD-rate on AP is relative to (default: first full)")
    p.add_argument("--run", help="results/<run>/ gets the rows, table and plot (default task)")
    p.add_argument("--results-dir", default="results")
    p.add_argument(
        "--jobs", type=_positive_int, default=1, help="parallel worker processes (CPUs of a local Ray instance)"
    )
    _add_executor_options(p)
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    _add_codec_options(p)
    p.set_defaults(func=cmd_task)
    return p
