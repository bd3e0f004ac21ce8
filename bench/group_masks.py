"""Group masks for a structured codec: from COCO ground truth, detector outputs, files, or a rectangle (ROI).

Geometry: the mask has one id per cell of the codec's `mask_cell` pixels (16 for SSIC), the shape the
codec's `mask_shape(H, W)` gives; ids 0..255; group 0 is the background, groups 1..K are objects. Groups
are made of blocks of `block_size(cell)` pixels (32 px, the reference's grid, for cells that divide it)
laid on the image padded bottom/right to a whole number of blocks; the block grid is then cropped to the
mask's shape.

Snapping rule (one place): a block's coverage by an object is the fraction of the block's pixels that
the object's mask covers. A block goes to the object covering the largest fraction of it, provided that
fraction is > 0 and >= `min_coverage`; ties go to the smaller object (so a cup on a table keeps its
blocks). With the default `min_coverage=0` no object pixel is ever left in the background: every pixel of
an object lies in a block of its own group unless another object covers more of that block.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from pycocotools import mask as mask_utils

from ssicbench.codecs import masks as codec_masks
from ssicbench.errors import MaskError

__all__ = [
    "GROUPINGS",
    "OBJECT_GRID",
    "GroupMask",
    "annotation_mask",
    "block_coverage",
    "block_size",
    "box_mask",
    "detection_group_mask",
    "enclosing_box",
    "gt_group_mask",
    "padded_size",
    "roi_group_mask",
    "snap_objects",
]

OBJECT_GRID = 32  # pixels: objects are snapped to blocks of the SSIC reference's 32-px mask grid
GROUPINGS = ("instance", "category", "component")


def block_size(cell: int) -> int:
    """Side in pixels of the blocks objects are snapped to: the 32-px grid, or a coarser one of whole cells."""
    return math.lcm(OBJECT_GRID, cell)


def padded_size(height: int, width: int, block: int) -> tuple[int, int]:
    """Image size padded bottom/right to whole `block`-px blocks."""
    return -(-height // block) * block, -(-width // block) * block


@dataclass
class GroupMask:
    """A group map with one id per `cell`-px cell and, per group id >= 1, the COCO categories/annotations it holds."""

    mask: np.ndarray
    cell: int
    groups: dict[int, dict[str, list[int]]] = field(default_factory=dict)

    def group_ids(self) -> list[int]:
        """Object groups (>= 1) present in the mask."""
        return [int(g) for g in np.unique(self.mask) if g > 0]

    def groups_of_category(self, category: int) -> list[int]:
        return [g for g in self.group_ids() if category in self.groups.get(g, {}).get("category_ids", [])]

    def region(self, groups: Iterable[int], height: int, width: int) -> np.ndarray:
        """Pixels (HxW bool, unpadded image) that lie in the blocks of `groups`."""
        cells = np.isin(self.mask, list(groups))
        full = np.repeat(np.repeat(cells, self.cell, axis=0), self.cell, axis=1)
        return full[:height, :width]

    @classmethod
    def from_file(cls, path: str | Path, height: int, width: int, cell: int | None) -> GroupMask:
        """A mask file with `cell`-px cells (.npy of ids or PNG; None: the cell its grid implies, for codecs
        without groups that need only the groups' boxes); which categories its groups hold is unknown."""
        if cell is None:
            cell = codec_masks.file_cell(path, height)
        mask = codec_masks.load_group_mask(path, codec_masks.cell_grid(height, width, cell)).astype(np.int32)
        return cls(mask, cell, {int(g): {"category_ids": [], "annotation_ids": []} for g in np.unique(mask) if g > 0})

    def box(self, group: int) -> list[float]:
        """[x, y, w, h] in pixels of the cells of `group`."""
        cells = self.mask == group
        rows, cols = np.flatnonzero(cells.any(axis=1)), np.flatnonzero(cells.any(axis=0))
        x0, y0, x1, y1 = cols[0], rows[0], cols[-1] + 1, rows[-1] + 1
        return [float(v * self.cell) for v in (x0, y0, x1 - x0, y1 - y0)]


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


def block_coverage(masks: Sequence[np.ndarray], height: int, width: int, block: int) -> np.ndarray:
    """(N, Hb, Wb) fraction of each `block`-px block of the padded image covered by each HxW mask."""
    ph, pw = padded_size(height, width, block)
    out = np.zeros((len(masks), ph // block, pw // block))
    for i, m in enumerate(masks):
        padded = np.zeros((ph, pw), np.float64)
        padded[:height, :width] = m
        out[i] = padded.reshape(ph // block, block, pw // block, block).mean(axis=(1, 3))
    return out


def snap_objects(
    masks: Sequence[np.ndarray],
    objects: Sequence[dict[str, Any]],
    height: int,
    width: int,
    cell: int,
    min_coverage: float = 0.0,
    group_by: str = "instance",
) -> GroupMask:
    """Group mask with `cell`-px cells from per-object HxW masks (see the module docstring for the snapping rule).

    `objects[i]` carries `category_id` and optionally `id` (the annotation id); `group_by` is `instance`
    (one group per object), `category` (one per category) or `component` (one per connected region of blocks).
    """
    if group_by not in GROUPINGS:
        raise MaskError(f"unknown grouping {group_by!r}; choose one of {', '.join(GROUPINGS)}")
    block = block_size(cell)
    hb, wb = (n // block for n in padded_size(height, width, block))
    owner = np.full((hb, wb), -1)
    if len(masks):
        cover = block_coverage(masks, height, width, block)
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
    if len(groups) > codec_masks.MAX_GROUP_ID:
        raise MaskError(f"{len(groups)} groups exceed the {codec_masks.MAX_GROUP_ID} a mask holds; group by category")
    per_block = block // cell
    cells = np.repeat(np.repeat(labels, per_block, axis=0), per_block, axis=1)
    rows, cols = codec_masks.cell_grid(height, width, cell)
    return GroupMask(cells[:rows, :cols].astype(np.int32), cell, groups)


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
    cell: int,
    min_coverage: float = 0.0,
    group_by: str = "instance",
) -> GroupMask:
    """Group mask from an image's COCO ground-truth instances (crowd regions included as objects)."""
    masks = [annotation_mask(a, height, width) for a in annotations]
    return snap_objects(masks, annotations, height, width, cell, min_coverage, group_by)


def detection_group_mask(
    detections: Sequence[dict[str, Any]],
    height: int,
    width: int,
    cell: int,
    score_threshold: float = 0.5,
    min_coverage: float = 0.0,
    group_by: str = "instance",
) -> GroupMask:
    """Group mask from a detector's outputs on the original image (masks where given, else boxes)."""
    kept = [d for d in detections if d["score"] >= score_threshold]
    masks = [annotation_mask(d, height, width) for d in kept]
    return snap_objects(masks, kept, height, width, cell, min_coverage, group_by)


def roi_group_mask(box: Sequence[float] | None, height: int, width: int, cell: int) -> GroupMask:
    """Rectangular region-of-interest baseline: group 1 = every block the [x, y, w, h] box touches."""
    masks = [] if box is None else [box_mask(box, height, width)]
    return snap_objects(masks, [{"category_id": 0}], height, width, cell)


def enclosing_box(annotations: Sequence[dict[str, Any]]) -> list[float] | None:
    """Smallest [x, y, w, h] box holding every annotation's box; None when there are none."""
    if not annotations:
        return None
    boxes = np.array([a["bbox"] for a in annotations], float)
    x0, y0 = boxes[:, 0].min(), boxes[:, 1].min()
    x1, y1 = (boxes[:, 0] + boxes[:, 2]).max(), (boxes[:, 1] + boxes[:, 3]).max()
    return [float(x0), float(y0), float(x1 - x0), float(y1 - y0)]
