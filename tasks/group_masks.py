"""SSIC group masks at 1/16 resolution: from COCO ground truth, detector outputs, files, or a rectangle (ROI).

Geometry, as SSIC codes it: the mask has one cell per 16x16 px, shape (ceil(H/16), ceil(W/16)) (SSIC's
`masks.mask_shape`), ids 0..255; group 0 is the background, groups 1..K are objects. Groups are made of
32x32-px blocks (2x2 cells) laid on the image padded (bottom/right) to a multiple of 64 px, as SSIC pads it;
the block grid is then cropped to the mask's shape.

Snapping rule (one place): a block's coverage by an object is the fraction of the block's 1024 pixels that
the object's mask covers. A block goes to the object covering the largest fraction of it, provided that
fraction is > 0 and >= `min_coverage`; ties go to the smaller object (so a cup on a table keeps its
blocks). With the default `min_coverage=0` no object pixel is ever left in the background: every pixel of
an object lies in a block of its own group unless another object covers more of that block.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from pycocotools import mask as mask_utils

from ssicbench.codecs.ssic import masks as ssic_masks
from ssicbench.codecs.ssic.config import LATENT_STRIDE as MASK_STRIDE
from ssicbench.errors import MaskError

PAD_MULTIPLE = 64
BLOCK = 32
CELLS_PER_BLOCK = BLOCK // MASK_STRIDE
GROUPINGS = ("instance", "category", "component")


def padded_size(height: int, width: int) -> tuple[int, int]:
    """Image size after SSIC's padding to a multiple of 64 px."""
    return -(-height // PAD_MULTIPLE) * PAD_MULTIPLE, -(-width // PAD_MULTIPLE) * PAD_MULTIPLE


def mask_shape(height: int, width: int) -> tuple[int, int]:
    """Shape of the 1/16 group mask of a `height` x `width` image."""
    return ssic_masks.mask_shape((height, width))


@dataclass
class GroupMask:
    """A 1/16-resolution group map and, per group id >= 1, the COCO categories/annotations it holds."""

    mask: np.ndarray
    groups: dict[int, dict[str, list[int]]] = field(default_factory=dict)

    def group_ids(self) -> list[int]:
        """Object groups (>= 1) present in the mask."""
        return [int(g) for g in np.unique(self.mask) if g > 0]

    def groups_of_category(self, category: int) -> list[int]:
        return [g for g in self.group_ids() if category in self.groups.get(g, {}).get("category_ids", [])]

    def region(self, groups: Iterable[int], height: int, width: int) -> np.ndarray:
        """Pixels (HxW bool, unpadded image) that lie in the blocks of `groups`."""
        cells = np.isin(self.mask, list(groups))
        full = np.repeat(np.repeat(cells, MASK_STRIDE, axis=0), MASK_STRIDE, axis=1)
        return full[:height, :width]


def annotation_mask(ann: dict[str, Any], height: int, width: int) -> np.ndarray:
    """HxW bool mask of a COCO annotation or detection: its segmentation if it has one, else its box."""
    seg = ann.get("segmentation")
    if seg:
        if isinstance(seg, list):
            rle = mask_utils.merge(mask_utils.frPyObjects(seg, height, width))
        elif isinstance(seg.get("counts"), list):
            rle = mask_utils.frPyObjects(seg, height, width)
        else:
            rle = seg
        return mask_utils.decode(rle).astype(bool)
    return box_mask(ann["bbox"], height, width)


def box_mask(bbox: Sequence[float], height: int, width: int) -> np.ndarray:
    """HxW bool mask of the pixels whose area overlaps an [x, y, w, h] box."""
    x, y, w, h = bbox
    out = np.zeros((height, width), bool)
    x0, y0 = max(int(np.floor(x)), 0), max(int(np.floor(y)), 0)
    x1, y1 = min(int(np.ceil(x + w)), width), min(int(np.ceil(y + h)), height)
    out[y0:y1, x0:x1] = True
    return out


def block_coverage(masks: Sequence[np.ndarray], height: int, width: int) -> np.ndarray:
    """(N, Hb, Wb) fraction of each 32-px block of the padded image covered by each HxW mask."""
    ph, pw = padded_size(height, width)
    out = np.zeros((len(masks), ph // BLOCK, pw // BLOCK))
    for i, m in enumerate(masks):
        padded = np.zeros((ph, pw), np.float64)
        padded[:height, :width] = m
        out[i] = padded.reshape(ph // BLOCK, BLOCK, pw // BLOCK, BLOCK).mean(axis=(1, 3))
    return out


def snap_objects(
    masks: Sequence[np.ndarray],
    objects: Sequence[dict[str, Any]],
    height: int,
    width: int,
    min_coverage: float = 0.0,
    group_by: str = "instance",
) -> GroupMask:
    """Group mask from per-object HxW masks (see the module docstring for the snapping rule).

    `objects[i]` carries `category_id` and optionally `id` (the annotation id); `group_by` is `instance`
    (one group per object), `category` (one per category) or `component` (one per connected region of blocks).
    """
    if group_by not in GROUPINGS:
        raise MaskError(f"unknown grouping {group_by!r}; choose one of {', '.join(GROUPINGS)}")
    hb, wb = (n // BLOCK for n in padded_size(height, width))
    owner = np.full((hb, wb), -1)
    if len(masks):
        cover = block_coverage(masks, height, width)
        score = np.where((cover > 0) & (cover >= min_coverage), cover, -1.0)
        by_area = np.argsort([m.sum() for m in masks], kind="stable")  # argmax keeps the first: the smallest
        winner = by_area[np.argmax(score[by_area], axis=0)]
        owner = np.where(score.max(axis=0) > 0, winner, -1)
    labels = _group_labels(owner, objects, group_by)
    groups: dict[int, dict[str, list[int]]] = {}
    for i in (int(i) for i in np.unique(owner) if i >= 0):
        for g in np.unique(labels[owner == i]):
            info = groups.setdefault(int(g), {"category_ids": [], "annotation_ids": []})
            if objects[i]["category_id"] not in info["category_ids"]:
                info["category_ids"].append(objects[i]["category_id"])
            if "id" in objects[i]:
                info["annotation_ids"].append(objects[i]["id"])
    if len(groups) > ssic_masks.MAX_GROUP_ID:
        raise MaskError(f"{len(groups)} groups exceed SSIC's {ssic_masks.MAX_GROUP_ID}; group by category instead")
    cells = np.repeat(np.repeat(labels, CELLS_PER_BLOCK, axis=0), CELLS_PER_BLOCK, axis=1)
    rows, cols = mask_shape(height, width)
    return GroupMask(cells[:rows, :cols].astype(np.int32), groups)


def _group_labels(owner: np.ndarray, objects: Sequence[dict[str, Any]], group_by: str) -> np.ndarray:
    """Block group ids (0 = background) from the index of the object owning each block (-1 = none)."""
    if group_by == "component":
        from scipy import ndimage  # imported here to keep CLI start-up fast

        return ndimage.label(owner >= 0)[0].astype(np.int32)
    present = [int(i) for i in np.unique(owner) if i >= 0]
    if group_by == "instance":
        key = {i: n + 1 for n, i in enumerate(present)}
    else:
        cats = sorted({objects[i]["category_id"] for i in present})
        key = {i: cats.index(objects[i]["category_id"]) + 1 for i in present}
    labels = np.zeros(owner.shape, np.int32)
    for i in present:
        labels[owner == i] = key[i]
    return labels


def gt_group_mask(
    annotations: Sequence[dict[str, Any]],
    height: int,
    width: int,
    min_coverage: float = 0.0,
    group_by: str = "instance",
) -> GroupMask:
    """Group mask from an image's COCO ground-truth instances (crowd regions included as objects)."""
    masks = [annotation_mask(a, height, width) for a in annotations]
    return snap_objects(masks, annotations, height, width, min_coverage, group_by)


def detection_group_mask(
    detections: Sequence[dict[str, Any]],
    height: int,
    width: int,
    score_threshold: float = 0.5,
    min_coverage: float = 0.0,
    group_by: str = "instance",
) -> GroupMask:
    """Group mask from a detector's outputs on the original image (masks where given, else boxes)."""
    kept = [d for d in detections if d["score"] >= score_threshold]
    masks = [annotation_mask(d, height, width) for d in kept]
    return snap_objects(masks, kept, height, width, min_coverage, group_by)


def roi_group_mask(box: Sequence[float] | None, height: int, width: int) -> GroupMask:
    """Rectangular region-of-interest baseline: group 1 = every block the [x, y, w, h] box touches."""
    masks = [] if box is None else [box_mask(box, height, width)]
    return snap_objects(masks, [{"category_id": 0}], height, width)


def enclosing_box(annotations: Sequence[dict[str, Any]]) -> list[float] | None:
    """Smallest [x, y, w, h] box holding every annotation's box; None when there are none."""
    if not annotations:
        return None
    boxes = np.array([a["bbox"] for a in annotations], float)
    x0, y0 = boxes[:, 0].min(), boxes[:, 1].min()
    x1, y1 = (boxes[:, 0] + boxes[:, 2]).max(), (boxes[:, 1] + boxes[:, 3]).max()
    return [float(x0), float(y0), float(x1 - x0), float(y1 - y0)]


def load_group_mask(path: str | Path, height: int, width: int) -> GroupMask:
    """A group mask file (.npy of ids or PNG, read as SSIC reads it); which categories it holds is unknown."""
    mask = ssic_masks.load_group_mask(path, (height, width)).astype(np.int32)
    return GroupMask(mask, {int(g): {"category_ids": [], "annotation_ids": []} for g in np.unique(mask) if g > 0})
