"""A registered dataset (`ssicbench.datasets.DATASETS`) as a task study reads it: COCO-format ground truth plus
where each image's file is, COCO's category names, and sub-sets of the ground truth for evaluation.

`load_task_dataset("embedded")` needs nothing but the installed wheels: its images ship with scikit-image and its
hand-traced labels with the suite. Sets without labels (kodak, an image folder) give their images with no
annotations, to be scored against pseudo ground truth.
"""

from __future__ import annotations

import copy
import json
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

from ssicbench.coco_categories import COCO_CATEGORIES
from ssicbench.datasets import DATASETS
from ssicbench.errors import BenchError
from ssicbench.imageio import load_image
from ssicbench.weights import optional_file_fingerprint

__all__ = ["TaskDataset", "load_task_dataset", "sub_ground_truth"]


@dataclass
class TaskDataset:
    """COCO-format ground truth plus where each image's file is."""

    name: str
    gt: dict[str, Any]
    images_dir: Path

    def __post_init__(self) -> None:
        self._images = {img["id"]: img for img in self.gt["images"]}
        self._anns: dict[int, list[dict[str, Any]]] = {i: [] for i in self._images}
        for ann in self.gt["annotations"]:
            self._anns.setdefault(ann["image_id"], []).append(ann)

    def image_ids(self) -> list[int]:
        return sorted(self._images)

    def image_info(self, image_id: int) -> dict[str, Any]:
        return self._images[image_id]

    def annotations(self, image_id: int) -> list[dict[str, Any]]:
        return self._anns[image_id]

    def load(self, image_id: int) -> np.ndarray:
        """The image as HxWx3 uint8; its size must match the annotation file's."""
        info = self._images[image_id]
        image = load_image(self.images_dir / info["file_name"])
        if image.shape[:2] != (info["height"], info["width"]):
            raise BenchError(
                f"{info['file_name']}: image is {image.shape[1]}x{image.shape[0]},"
                f" annotations say {info['width']}x{info['height']}"
            )
        return image

    def has_keypoints(self) -> bool:
        return any(ann.get("num_keypoints", 0) > 0 for ann in self.gt["annotations"])


def _subset(gt: dict[str, Any], limit: int | None) -> dict[str, Any]:
    """The first `limit` images (by id) and their annotations."""
    if not limit:
        return gt
    keep = sorted(img["id"] for img in gt["images"])[:limit]
    kept = set(keep)
    return {
        **gt,
        "images": [img for img in gt["images"] if img["id"] in kept],
        "annotations": [a for a in gt["annotations"] if a["image_id"] in kept],
    }


def _coco_categories() -> list[dict[str, Any]]:
    return [{"id": cid, "name": name} for cid, name in COCO_CATEGORIES.items()]


@lru_cache(maxsize=4)
def _cached_dataset(name: str, options_json: str, limit: int | None, labels: str) -> TaskDataset:
    dataset = DATASETS.create(name, **json.loads(options_json))
    gt = dataset.ground_truth()
    if not gt["categories"]:  # a set without labels: pseudo ground truth may hold any COCO category
        gt = {**gt, "categories": _coco_categories()}
    return TaskDataset(dataset.name, _subset(gt, limit), dataset.folder)


def load_task_dataset(name: str, limit: int | None = None, **options: Any) -> TaskDataset:
    """The registered dataset `name` (first `limit` images by id) as a task reads it; cached per process and
    annotation file content (edited labels are read anew); callers must not modify it."""
    labels = optional_file_fingerprint(options.get("annotations"))
    return _cached_dataset(name, json.dumps(options, sort_keys=True, default=str), limit, labels)


def sub_ground_truth(gt: dict[str, Any], image_ids: list[int], annotations: list[dict[str, Any]]) -> dict[str, Any]:
    """A COCO ground-truth dict holding only `image_ids` and the given annotations (deep-copied)."""
    ids = set(image_ids)
    return {
        "info": gt.get("info", {}),
        "images": [copy.deepcopy(img) for img in gt["images"] if img["id"] in ids],
        "annotations": copy.deepcopy(annotations),
        "categories": copy.deepcopy(gt["categories"]),
    }
