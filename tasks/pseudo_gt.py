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

__all__ = ["GROUND_TRUTHS", "KEYPOINT_SCORE", "LABEL", "describe", "pseudo_ground_truth"]

LABEL = "AP vs uncompressed detections"
GROUND_TRUTHS = ("dataset", "detector")  # the dataset's annotations, or the detector on the uncompressed images
# A detected keypoint at least this confident is a labelled (visible) ground-truth keypoint; the others are
# unlabelled (COCO's v = 0), so OKS ignores them. 0.3 is MoveNet's own demo threshold.
KEYPOINT_SCORE = 0.3


def describe(detector: str, score: float) -> str:
    """What the pseudo ground truth is, for tables and plots."""
    return f"{LABEL} ({detector}, score >= {score:g})"


def _annotation(det: dict[str, Any], ann_id: int, image_id: int) -> dict[str, Any]:
    """A COCO ground-truth annotation from a detection (box, and mask or keypoints when the detector gives them)."""
    ann = {"id": ann_id, "image_id": image_id, "category_id": det["category_id"], "bbox": det["bbox"], "iscrowd": 0}
    ann["area"] = float(det["bbox"][2] * det["bbox"][3])
    if "segmentation" in det:
        ann["segmentation"] = det["segmentation"]
        rle = det["segmentation"]
        ann["area"] = float(mask_utils.area({"size": rle["size"], "counts": rle["counts"].encode("ascii")}))
    if "keypoints" in det:  # OKS scales by `area`: the box's here (COCO's is the person's mask, about half of it)
        points = [det["keypoints"][i : i + 3] for i in range(0, len(det["keypoints"]), 3)]
        labelled = [(x, y, 2) if score >= KEYPOINT_SCORE else (0.0, 0.0, 0) for x, y, score in points]
        ann["keypoints"] = [float(v) for point in labelled for v in point]
        ann["num_keypoints"] = sum(v == 2 for _, _, v in labelled)
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
