"""`run_bench.py task`: AP versus transmitted bits for partial decodes of structured codecs and full-image baselines.

Example (offline): `run_bench.py task --detector onnx-centernet --codec jpeg ssic-tiny --scenario full
--scenario objects --out results/demo` writes results/demo/{task_rows/, task_rows.csv, ap_vs_bpp.csv,
ap_vs_bpp.png, bd_rate_ap.csv}; running it again resumes. Every flag overrides the --config key of its name.
`--ground-truth detector` scores against the detector's own detections on the uncompressed images (pseudo
ground truth, any image set); `run_bench.py task --config configs/tasks/kodak.json` is the Kodak study.
"""

from __future__ import annotations

import argparse
import json
import logging
from pathlib import Path
from typing import Any

from ssicbench.cli_options import EXIT_ROWS_FAILED, EXIT_RULE, add_sweep_flags, cli_specs, key_values, sweep_overrides
from ssicbench.datasets import DATASETS
from ssicbench.errors import UsageError
from ssicbench.group_masks import GROUPINGS
from ssicbench.tasks.config import TaskConfig
from ssicbench.tasks.pseudo_gt import GROUND_TRUTHS
from ssicbench.transmission import SCENARIOS, scenario_names

__all__ = ["add_parser", "cmd_task", "task_config"]

log = logging.getLogger("ssicbench")

# Config keys that a flag of the same name (dashes for underscores) overrides as given.
_FLAG_KEYS = (
    "scenarios",
    "detector",
    "detector_weights",
    "detector_device",
    "score_threshold",
    "ground_truth",
    "pseudo_score",
    "dataset",
    "images",
    "annotations",
    "coco_root",
    "masks",
    "group_by",
    "min_coverage",
    "min_inside",
    "anchor",
    "out",
)


def _detector_options(cfg: TaskConfig) -> dict[str, Any]:
    """The detector's constructor options: `detector_options` plus the keys that have flags of their own; the
    detector's factory says which it takes (an option it does not take is refused when the run is planned)."""
    from ssicbench.tasks.detectors import DETECTORS

    options: dict[str, Any] = dict(cfg.detector_options)
    if cfg.detector_weights:
        options["weights"] = cfg.detector_weights
    if cfg.detector_device:
        options["device"] = cfg.detector_device
    if cfg.score_threshold is not None:
        options["score_threshold"] = cfg.score_threshold
    if not cfg.download and DETECTORS.takes(cfg.detector, "download"):
        options["download"] = False  # --no-download also keeps detectors that could download from doing so
    DETECTORS.check_options(cfg.detector, options, lambda key: f"option {key}")
    return options


def task_config(args: argparse.Namespace) -> TaskConfig:
    """The run's config: the --config file (or the defaults) with every given flag overriding its key."""
    overrides = sweep_overrides(args)
    overrides.update({key: getattr(args, key) for key in _FLAG_KEYS})
    overrides["download"] = False if args.no_download else None
    if args.detector_option:
        overrides["detector_options"] = key_values(args.detector_option, "--detector-option")
    if args.run is not None:  # old spelling of --out: results-dir/run
        overrides["out"] = overrides["out"] or f"{args.results_dir or 'results'}/{args.run}"
    cfg = TaskConfig.load(args.config, overrides)
    if args.results_dir and overrides["out"] is None:  # old spelling: --results-dir holds the run's folder
        cfg.out = str(Path(args.results_dir) / Path(cfg.out).name)
    return cfg


def cmd_task(args: argparse.Namespace) -> int:
    """Plan, run (resumably) and report one task sweep (detectors and torch are imported only here)."""
    from ssicbench.imageio import check_output_folder
    from ssicbench.tasks.ap_report import evaluable_types, write_task_report
    from ssicbench.tasks.detectors import DETECTORS
    from ssicbench.tasks.runner import TaskSetup, plan_task_jobs, run_task_sweep
    from ssicbench.tasks.task_page import write_task_page

    cfg = task_config(args)
    check_output_folder(cfg.out)
    DETECTORS.get(cfg.detector)  # an unknown name is one line listing the known ones
    executor = cfg.executor.build(cfg.jobs)
    codecs = cli_specs(cfg.codecs, args, "task")
    setup = TaskSetup(
        dataset=cfg.dataset,
        dataset_options=json.dumps(cfg.dataset_options(), sort_keys=True),
        detector=cfg.detector,
        detector_options=json.dumps(_detector_options(cfg), sort_keys=True),
        masks=cfg.masks,
        group_by=cfg.group_by,
        min_coverage=cfg.min_coverage,
        min_inside=cfg.min_inside,
        ground_truth=cfg.ground_truth,
        pseudo_score=cfg.pseudo_score,
    )
    info = DETECTORS.get(cfg.detector).info
    if "keypoints" in info["iou_types"] and cfg.ground_truth == "dataset" and not setup.load_dataset().has_keypoints():
        raise UsageError(
            f"{cfg.detector} is scored on keypoints, but the labels of dataset {cfg.dataset} have none: give COCO"
            " keypoint labels (e.g. --dataset coco --annotations person_keypoints_val2017.json) or --ground-truth"
            " detector"
        )
    out_dir = Path(cfg.out)
    executor.start()  # a cluster out of reach fails before planning (which hashes images and weights)
    plan = plan_task_jobs(setup, codecs, cfg.scenarios, out_dir, cfg.viewer_images)
    rows = run_task_sweep(plan, out_dir, progress=not cfg.quiet, executor=executor)
    errors = [r for r in rows if r.get("status") != "ok"]
    for row in errors[:5]:
        log.error(
            "%s %s q=%s image %s: %s", row["codec"], row["scenario"], row["quality"], row["image_id"], row.get("error")
        )
    dataset = setup.load_dataset()
    iou_types = evaluable_types(info["iou_types"], dataset)
    title = f"{cfg.detector} on {dataset.name}"
    written, table, bd = write_task_report(
        rows, dataset, iou_types, out_dir, cfg.anchor or None, title, info.get("categories"), setup.ground_truth_label
    )
    if len(table):  # the browser report of the AP curves, tables and decodes with their detections
        written["page"] = write_task_page(rows, table, iou_types, dataset, out_dir, title, bd)
    for name, path in written.items():
        print(f"{name}: {path}")
    timed = [r["detect_s"] for r in rows if r.get("status") == "ok"]
    if timed:
        print(f"detector {cfg.detector}: {sum(timed) / len(timed):.3f} s per image (mean of {len(timed)} images)")
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
    add_sweep_flags(p, "'codecs' as for `rd`, 'scenarios', every key a flag names; e.g. configs/tasks/kodak.json")
    p.add_argument(
        "--detector",
        help="registered detector (default onnx-centernet; opencv-hog, opencv-haar-*, torchvision-*, detectron2-*)",
    )
    p.add_argument("--detector-weights", help="detector weights file (default: torch hub cache / official URL)")
    p.add_argument(
        "--detector-option",
        action="append",
        metavar="KEY=VALUE",
        help="other detector constructor option, repeatable (config key detector_options); VALUE is JSON or a string",
    )
    p.add_argument("--detector-device", help="cpu or cuda (torchvision / detectron2 detectors)")
    p.add_argument("--score-threshold", type=float, help="lowest detection score kept (onnx-*, detectron2-*)")
    p.add_argument(
        "--ground-truth",
        choices=GROUND_TRUTHS,
        help="dataset: its annotations (default); detector: the detector's detections on the uncompressed"
        " images (pseudo ground truth, 'AP vs uncompressed detections'; any image set, e.g. --dataset kodak)",
    )
    p.add_argument("--pseudo-score", type=float, help="score a detection needs to be pseudo ground truth (0.5)")
    kinds = ", ".join(f"{n} ({SCENARIOS.get(n.partition(':')[0]).info['description']})" for n in scenario_names())
    p.add_argument("--scenario", dest="scenarios", action="append", help=f"repeatable; default full + objects. {kinds}")
    p.add_argument("--dataset", help=f"a registered dataset: {', '.join(DATASETS.names())} (default embedded)")
    p.add_argument("--images", help="image folder (--dataset coco / images)")
    p.add_argument("--annotations", help="COCO-format annotation JSON (--dataset coco)")
    p.add_argument("--coco-root", help="folder holding val2017/ and annotations/ (--dataset coco-val2017)")
    p.add_argument("--no-download", action="store_true", help="never download data or detector weights")
    p.add_argument("--masks", help="group masks from: gt (default), detector, or a folder of <stem>.npy/.png")
    p.add_argument("--group-by", choices=GROUPINGS)
    p.add_argument("--min-coverage", type=float, help="block coverage an object needs to own it")
    p.add_argument("--min-inside", type=float, help="share of an instance in the decoded region to count")
    p.add_argument("--anchor", help="curve ('<codec> <scenario>') BD-rate on AP is relative to (default: first full)")
    p.add_argument("--out", help="results folder (default results/task): rows, table and plot")
    p.add_argument("--run", help="old spelling: --out <results-dir>/<run>")
    p.add_argument("--results-dir", help="old spelling: with --run, or alone for <results-dir>/<the out folder's name>")
    p.set_defaults(func=cmd_task)
    return p
