"""Detection datasets in COCO format: COCO val2017, any images folder + annotation JSON, and the embedded default.

`load_task_dataset("embedded")` needs nothing but the installed wheels: its images ship with scikit-image
and its annotations (hand-traced polygons, `embedded_coco.json`) ship with this package.
"""

from __future__ import annotations

import copy
import json
import math
import os
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np

from ssicbench.datasets import IMAGE_SUFFIXES, coco_val2017_dataset, data_home, fetch_coco_annotations, shipped_kodak
from ssicbench.errors import BenchError, UsageError
from ssicbench.imageio import load_image
from ssicbench.jsonfile import read_json_object
from ssicbench.registry import Registry
from ssicbench.validate import MAX_FLOAT, check_value
from ssicbench.weights import optional_file_fingerprint

__all__ = [
    "COCO_CATEGORIES",
    "EMBEDDED_ANNOTATIONS",
    "TASK_DATASETS",
    "TaskDataset",
    "category_id",
    "check_coco",
    "coco_format_dataset",
    "coco_val2017",
    "embedded",
    "image_folder",
    "kodak",
    "load_task_dataset",
    "sub_ground_truth",
]

EMBEDDED_ANNOTATIONS = "embedded_coco.json"

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


TASK_DATASETS: Registry[TaskDataset] = Registry("task dataset")


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


@TASK_DATASETS.register("coco", description="any COCO-format dataset: --images DIR --annotations JSON")
def coco_format_dataset(images: str | Path, annotations: str | Path, limit: int | None = None) -> TaskDataset:
    """Images in `images`, ground truth in the COCO-format JSON `annotations`."""
    images, annotations = Path(images), Path(annotations)
    if not images.is_dir():
        raise BenchError(f"image folder {images} does not exist")
    gt = check_coco(read_json_object(annotations, "COCO annotations"), str(annotations))
    return TaskDataset(annotations.stem, _subset(gt, limit), images)


def check_coco(gt: dict[str, Any], source: str) -> dict[str, Any]:
    """`gt` if it is COCO-format ground truth pycocotools can evaluate, else a UsageError naming the first bad
    entry (`source`: the file): images, annotations and categories lists with typed fields, boxes of 4 finite
    numbers with non-negative size, annotations of known images and categories, keypoints in triples."""
    for key in ("images", "annotations", "categories"):
        if key not in gt:
            raise UsageError(f"{source}: {key}: missing (a COCO file has images, annotations and categories)")
        check_value(gt[key], list, f"{source}: {key}")

    def entry(kind: str, i: int, item: Any, fields: dict[str, type]) -> None:
        if not isinstance(item, dict):
            raise UsageError(f"{source}: {kind}[{i}]: expected an object {{...}}, got {type(item).__name__}")
        for name, typ in fields.items():
            if name not in item:
                raise UsageError(f"{source}: {kind}[{i}]: missing {name!r}")
            check_value(item[name], typ, f"{source}: {kind}[{i}].{name}")

    for i, img in enumerate(gt["images"]):
        entry("images", i, img, {"id": int, "file_name": str, "width": int, "height": int})
    for i, cat in enumerate(gt["categories"]):
        entry("categories", i, cat, {"id": int, "name": str})
    image_ids, category_ids = {img["id"] for img in gt["images"]}, {cat["id"] for cat in gt["categories"]}
    for i, ann in enumerate(gt["annotations"]):
        entry("annotations", i, ann, {"image_id": int, "category_id": int})
        where = f"{source}: annotations[{i}]"
        if ann["image_id"] not in image_ids:
            raise UsageError(f"{where}.image_id: {ann['image_id']} is not an image id of the file")
        if ann["category_id"] not in category_ids:
            raise UsageError(f"{where}.category_id: {ann['category_id']} is not a category id of the file")
        box = ann.get("bbox")
        if box is not None and not (
            isinstance(box, list)
            and len(box) == 4
            and all(isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v) for v in box)
            and box[2] >= 0
            and box[3] >= 0
        ):
            raise UsageError(f"{where}.bbox: expected 4 numbers [x, y, width >= 0, height >= 0], got {box!r}")
        for name in ("area", "iscrowd", "num_keypoints"):
            if name in ann:
                check_value(ann[name], float, f"{where}.{name}")
        if "keypoints" in ann:
            check_value(ann["keypoints"], list[float], f"{where}.keypoints", low=-MAX_FLOAT)
            if len(ann["keypoints"]) % 3:
                raise UsageError(f"{where}.keypoints: expected (x, y, visibility) triples, got {len(ann['keypoints'])}")
    return gt


@TASK_DATASETS.register("coco-val2017", description="COCO val2017 instances (downloaded once, md5-verified)")
def coco_val2017(root: str | Path | None = None, download: bool = True, limit: int | None = None) -> TaskDataset:
    """COCO val2017 images + instances_val2017.json from `root` ($SSICBENCH_COCO), downloaded when missing."""
    root = Path(root or os.environ.get("SSICBENCH_COCO") or data_home() / "coco")
    annotations = root / "annotations" / "instances_val2017.json"
    if not annotations.exists():
        if not download:
            raise BenchError(f"COCO annotations not found at {annotations}")
        fetch_coco_annotations(root)
    coco_val2017_dataset(root, download=download)
    return coco_format_dataset(root / "val2017", annotations, limit)


@TASK_DATASETS.register("embedded", description="6 scikit-image photos with hand-traced COCO annotations; offline")
def embedded(limit: int | None = None) -> TaskDataset:
    """Photos shipped with scikit-image, annotated by hand (persons, cat, cup, spoon, motorcycle, horse)."""
    gt = json.loads((resources.files("ssicbench.tasks") / EMBEDDED_ANNOTATIONS).read_text())
    return TaskDataset("embedded", _subset(gt, limit), Path(str(resources.files("skimage") / "data")))


def _coco_categories() -> list[dict[str, Any]]:
    return [{"id": cid, "name": name} for cid, name in COCO_CATEGORIES.items()]


@TASK_DATASETS.register("images", description="any folder of images, no labels (--images DIR; --ground-truth detector)")
def image_folder(images: str | Path, limit: int | None = None, name: str = "") -> TaskDataset:
    """Every image in `images` (ids 1.. in file-name order) without annotations: for pseudo ground truth."""
    folder = Path(images)
    if not folder.is_dir():
        raise BenchError(f"image folder {folder} does not exist")
    files = sorted(p for p in folder.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
    if not files:
        raise BenchError(f"image folder {folder} holds no images ({', '.join(sorted(IMAGE_SUFFIXES))})")
    entries = []
    for image_id, path in enumerate(files, 1):
        height, width = load_image(path).shape[:2]
        entries.append({"id": image_id, "file_name": path.name, "height": height, "width": width})
    gt = {"images": entries, "annotations": [], "categories": _coco_categories()}
    return TaskDataset(name or folder.name, _subset(gt, limit), folder)


@TASK_DATASETS.register("kodak", description="the 24 Kodak images shipped with the suite, no labels (pseudo GT)")
def kodak(limit: int | None = None) -> TaskDataset:
    """Kodak (kodim01..24 = ids 1..24) without annotations: use with --ground-truth detector."""
    return image_folder(shipped_kodak(), limit, name="kodak")


@lru_cache(maxsize=4)
def _cached_dataset(name: str, options_json: str, labels: str) -> TaskDataset:
    return TASK_DATASETS.create(name, **json.loads(options_json))


def load_task_dataset(name: str, **options: Any) -> TaskDataset:
    """A registered task dataset by name (cached per process and annotation file content; callers must not
    modify it)."""
    labels = optional_file_fingerprint(options.get("annotations"))  # edited labels are read anew
    return _cached_dataset(name, json.dumps(options, sort_keys=True, default=str), labels)


def sub_ground_truth(gt: dict[str, Any], image_ids: list[int], annotations: list[dict[str, Any]]) -> dict[str, Any]:
    """A COCO ground-truth dict holding only `image_ids` and the given annotations (deep-copied)."""
    ids = set(image_ids)
    return {
        "info": gt.get("info", {}),
        "images": [copy.deepcopy(img) for img in gt["images"] if img["id"] in ids],
        "annotations": copy.deepcopy(annotations),
        "categories": copy.deepcopy(gt["categories"]),
    }
