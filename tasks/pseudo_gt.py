"""Pseudo ground truth: a detector's own thresholded detections on the uncompressed images.

AP against it ("AP vs uncompressed detections") measures how much of the detector's answer on the original
image survives a codec, rate and scenario. It needs no human labels, so any image set (Kodak first) yields
AP-vs-bpp curves; by construction the uncompressed images score AP = 1. Real-ground-truth AP stays for
COCO-format data.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pycocotools import mask as mask_utils

from ssicbench.coco_categories import COCO_CATEGORIES
from ssicbench.tasks.coco_data import TaskDataset

if TYPE_CHECKING:  # detectors import torch; the CLI imports this module at start-up
    from ssicbench.tasks.detectors import Detector

__all__ = ["GROUND_TRUTHS", "LABEL", "describe", "pseudo_ground_truth"]

LABEL = "AP vs uncompressed detections"
GROUND_TRUTHS = ("dataset", "detector")  # the dataset's annotations, or the detector on the uncompressed images


def describe(detector: str, score: float) -> str:
    """What the pseudo ground truth is, for tables and plots."""
    return f"{LABEL} ({detector}, score >= {score:g})"


def _annotation(det: dict[str, Any], ann_id: int, image_id: int) -> dict[str, Any]:
    """A COCO ground-truth annotation from a detection (box, and mask when the detector gives one)."""
    ann = {"id": ann_id, "image_id": image_id, "category_id": det["category_id"], "bbox": det["bbox"], "iscrowd": 0}
    ann["area"] = float(det["bbox"][2] * det["bbox"][3])
    if "segmentation" in det:
        ann["segmentation"] = det["segmentation"]
        rle = det["segmentation"]
        ann["area"] = float(mask_utils.area({"size": rle["size"], "counts": rle["counts"].encode("ascii")}))
    ann["score"] = det["score"]  # kept for reference; COCOeval ignores it in ground truth
    return ann


def pseudo_ground_truth(dataset: TaskDataset, detector: Detector, score: float) -> TaskDataset:
    """`dataset`'s images with the detections of score >= `score` on each uncompressed image as ground truth."""
    annotations: list[dict[str, Any]] = []
    for image_id in dataset.image_ids():
        for det in detector.detect(dataset.load(image_id)):
            if det["score"] >= score:
                annotations.append(_annotation(det, len(annotations) + 1, image_id))
    gt = {
        "info": {"description": describe(detector.name, score)},
        "images": dataset.gt["images"],
        "annotations": annotations,
        "categories": [{"id": cid, "name": name} for cid, name in COCO_CATEGORIES.items()],
    }
    return TaskDataset(dataset.name, gt, dataset.images_dir)
