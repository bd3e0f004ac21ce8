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

from ssicbench.datasets import DATASETS
from ssicbench.errors import BenchError
from ssicbench.imageio import load_image
from ssicbench.weights import optional_file_fingerprint

__all__ = ["COCO_CATEGORIES", "TaskDataset", "category_id", "load_task_dataset", "sub_ground_truth"]

# The 80 COCO object categories in COCO's own 91-id space (ids 12, 26, 29, 30, 45, 66, 68, 69, 71, 83 unused).
COCO_CATEGORIES: dict[int, str] = {
    1: "person",
    2: "bicycle",
    3: "car",
    4: "motorcycle",
    5: "airplane",
    6: "bus",
    7: "train",
    8: "truck",
    9: "boat",
    10: "traffic light",
    11: "fire hydrant",
    13: "stop sign",
    14: "parking meter",
    15: "bench",
    16: "bird",
    17: "cat",
    18: "dog",
    19: "horse",
    20: "sheep",
    21: "cow",
    22: "elephant",
    23: "bear",
    24: "zebra",
    25: "giraffe",
    27: "backpack",
    28: "umbrella",
    31: "handbag",
    32: "tie",
    33: "suitcase",
    34: "frisbee",
    35: "skis",
    36: "snowboard",
    37: "sports ball",
    38: "kite",
    39: "baseball bat",
    40: "baseball glove",
    41: "skateboard",
    42: "surfboard",
    43: "tennis racket",
    44: "bottle",
    46: "wine glass",
    47: "cup",
    48: "fork",
    49: "knife",
    50: "spoon",
    51: "bowl",
    52: "banana",
    53: "apple",
    54: "sandwich",
    55: "orange",
    56: "broccoli",
    57: "carrot",
    58: "hot dog",
    59: "pizza",
    60: "donut",
    61: "cake",
    62: "chair",
    63: "couch",
    64: "potted plant",
    65: "bed",
    67: "dining table",
    70: "toilet",
    72: "tv",
    73: "laptop",
    74: "mouse",
    75: "remote",
    76: "keyboard",
    77: "cell phone",
    78: "microwave",
    79: "oven",
    80: "toaster",
    81: "sink",
    82: "refrigerator",
    84: "book",
    85: "clock",
    86: "vase",
    87: "scissors",
    88: "teddy bear",
    89: "hair drier",
    90: "toothbrush",
}


def category_id(name_or_id: str | int) -> int:
    """COCO category id of a name ('person') or of an id given as text ('1')."""
    text = str(name_or_id).strip()
    if text.isdigit() and int(text) in COCO_CATEGORIES:
        return int(text)
    by_name = {name: cid for cid, name in COCO_CATEGORIES.items()}
    if text not in by_name:
        raise BenchError(f"unknown COCO category {text!r}")
    return by_name[text]


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
