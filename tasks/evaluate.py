"""COCO evaluation (pycocotools) of detections, optionally restricted to the region a receiver decoded.

Region rule (one place): when only some groups are decoded, an instance counts if at least `min_inside`
(default 0.5) of its own pixels (its segmentation mask, else its box) lie in the decoded region. Ground
truth instances that do not count are removed (not marked ignore: pycocotools only honours `iscrowd`),
and so are detections that do not count; AP is then computed over what the receiver asked for.
"""

from __future__ import annotations

import contextlib
import io
from collections.abc import Sequence
from typing import Any

import numpy as np
from pycocotools.coco import COCO
from pycocotools.cocoeval import COCOeval

from ssicbench.group_masks import annotation_mask

__all__ = ["IOU_TYPES", "STAT_NAMES", "coco_evaluate", "inside_fraction", "restrict_to_region"]

IOU_TYPES = ("bbox", "segm", "keypoints")
# Names of COCOeval.stats, in order.
STAT_NAMES = {
    "bbox": ("AP", "AP50", "AP75", "APs", "APm", "APl", "AR1", "AR10", "AR100", "ARs", "ARm", "ARl"),
    "segm": ("AP", "AP50", "AP75", "APs", "APm", "APl", "AR1", "AR10", "AR100", "ARs", "ARm", "ARl"),
    "keypoints": ("AP", "AP50", "AP75", "APm", "APl", "AR", "AR50", "AR75", "ARm", "ARl"),
}


def inside_fraction(instance: dict[str, Any], region: np.ndarray) -> float:
    """Fraction of an annotation's / detection's pixels (mask, else box) that lie in the HxW bool `region`."""
    pixels = annotation_mask(instance, *region.shape)
    total = pixels.sum()
    return float((pixels & region).sum() / total) if total else 0.0


def restrict_to_region(
    instances: Sequence[dict[str, Any]], region: np.ndarray | None, min_inside: float = 0.5
) -> list[dict[str, Any]]:
    """The instances that count in `region` (all of them when `region` is None, i.e. the whole image)."""
    if region is None:
        return list(instances)
    return [inst for inst in instances if inside_fraction(inst, region) >= min_inside]


def _quiet(fn, *args):
    with contextlib.redirect_stdout(io.StringIO()):
        return fn(*args)


def _coco(dataset: dict[str, Any]) -> COCO:
    coco = COCO()
    coco.dataset = dataset
    _quiet(coco.createIndex)
    return coco


def coco_evaluate(
    gt: dict[str, Any], detections: Sequence[dict[str, Any]], iou_type: str, category_ids: Sequence[int] | None = None
) -> dict[str, float]:
    """COCOeval statistics (AP, AP50, ... as fractions; -1 where COCO has nothing to score) over `gt`'s images.

    `gt` is a COCO ground-truth dict, `detections` COCO results with `image_id`s among `gt`'s images;
    `category_ids` restricts the evaluation to those categories (default: all of `gt`'s).
    """
    if iou_type not in IOU_TYPES:
        raise ValueError(f"unknown iou type {iou_type!r}; one of {IOU_TYPES}")
    gt_coco = _coco(gt)
    results = [dict(d) for d in detections]
    if iou_type == "segm":  # as detectron2 does: detection areas then come from the masks, not the boxes
        for det in results:
            det.pop("bbox", None)
    if results:
        dt_coco = _quiet(gt_coco.loadRes, results)
    else:
        dt_coco = _coco({"images": gt["images"], "categories": gt["categories"], "annotations": []})
    evaluator = COCOeval(gt_coco, dt_coco, iou_type)
    evaluator.params.imgIds = sorted(img["id"] for img in gt["images"])
    if category_ids is not None:
        evaluator.params.catIds = sorted(category_ids)
    _quiet(evaluator.evaluate)
    _quiet(evaluator.accumulate)
    _quiet(evaluator.summarize)
    return {name: float(v) for name, v in zip(STAT_NAMES[iou_type], evaluator.stats)}
