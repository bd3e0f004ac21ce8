"""COCO evaluation (pycocotools) of detections, optionally restricted to the region a receiver decoded.

Region rule (one place): when only some groups are decoded, an instance counts if at least `min_inside`
(default 0.5) of its own pixels (its segmentation mask, else its box) lie in the decoded region. Ground
truth instances that do not count are removed (not marked ignore: pycocotools only honours `iscrowd`),
and so are detections that do not count; AP is then computed over what the receiver asked for.

Bootstrap over images (`resampled_ap`, `coco_evaluate(draws=...)`): COCOeval matches detections to ground truth
per (category, image) once; only the precision/recall accumulation is redone on each resample of the images (an
image drawn twice counts as two), giving the spread AP would have on another draw of images of the same kind.
"""

from __future__ import annotations

import contextlib
import io
from collections.abc import Sequence
from typing import Any, NamedTuple

import numpy as np
from pycocotools.coco import COCO
from pycocotools.cocoeval import COCOeval

from ssicbench.bootstrap import interval
from ssicbench.group_masks import annotation_mask

__all__ = [
    "IOU_TYPES",
    "STAT_NAMES",
    "coco_evaluate",
    "coco_evaluator",
    "inside_fraction",
    "resampled_ap",
    "restrict_to_region",
]

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


def coco_evaluator(
    gt: dict[str, Any], detections: Sequence[dict[str, Any]], iou_type: str, category_ids: Sequence[int] | None = None
) -> COCOeval:
    """A COCOeval of `detections` against `gt`'s images (all of them, by sorted id) after `evaluate()`.

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
    return evaluator


class _CategoryMatches(NamedTuple):
    """One category's per-image COCOeval matches (area "all", each image's top-maxDet detections by score),
    laid end to end in image order; image i holds detections starts[i] : starts[i] + counts[i]."""

    scores: np.ndarray  # (N,)
    matched: np.ndarray  # (T, N) bool: matched to a ground truth at IoU threshold t
    counted: np.ndarray  # (T, N) bool: not ignored at threshold t
    starts: np.ndarray  # (images,)
    counts: np.ndarray  # (images,)
    positives: np.ndarray  # (images,) non-ignored ground truth instances


def _category_matches(entries: Sequence[dict[str, Any] | None], max_det: int, thresholds: int) -> _CategoryMatches:
    scores, matched, counted, counts, positives = [], [], [], [], []
    for entry in entries:
        if entry is None:  # neither ground truth nor detections in this image
            entry = {"dtScores": [], "dtMatches": np.zeros((thresholds, 0)), "dtIgnore": [], "gtIgnore": []}
        scores.append(np.asarray(entry["dtScores"], float)[:max_det])
        matched.append(np.asarray(entry["dtMatches"]).reshape(thresholds, -1)[:, :max_det] != 0)
        ignored = np.asarray(entry["dtIgnore"], bool).reshape(thresholds, -1)[:, :max_det]
        counted.append(np.logical_not(ignored))
        counts.append(len(scores[-1]))
        positives.append(int(np.count_nonzero(np.logical_not(np.asarray(entry["gtIgnore"], bool)))))
    counts_array = np.asarray(counts, int)
    return _CategoryMatches(
        np.concatenate(scores) if scores else np.zeros(0),
        np.concatenate(matched, axis=1) if matched else np.zeros((thresholds, 0), bool),
        np.concatenate(counted, axis=1) if counted else np.zeros((thresholds, 0), bool),
        np.cumsum(counts_array) - counts_array,
        counts_array,
        np.asarray(positives, int),
    )


def _category_ap(matches: _CategoryMatches, draw: np.ndarray, recall_thresholds: np.ndarray) -> float | None:
    """Mean precision over IoU and recall thresholds of one category on the images `draw` (in that order, a
    repeated image counted again); None when they hold no (non-ignored) ground truth of it."""
    positives = int(matches.positives[draw].sum())
    if not positives:
        return None
    counts = matches.counts[draw]
    if not counts.sum():
        return 0.0
    # detection indices of the drawn images, image after image
    offsets = np.repeat(matches.starts[draw] - (np.cumsum(counts) - counts), counts)
    picked = offsets + np.arange(counts.sum())
    order = picked[np.argsort(-matches.scores[picked], kind="mergesort")]  # ties keep image, then score order
    matched, counted = matches.matched[:, order], matches.counted[:, order]
    true_pos = np.cumsum(matched & counted, axis=1, dtype=float)
    false_pos = np.cumsum(~matched & counted, axis=1, dtype=float)
    recall = true_pos / positives
    ranked = true_pos + false_pos
    precision = np.divide(true_pos, ranked, out=np.zeros_like(true_pos), where=ranked > 0)
    precision = np.maximum.accumulate(precision[:, ::-1], axis=1)[:, ::-1]  # the envelope: best precision to the right
    total = 0.0
    for rec, prec in zip(recall, precision):  # per IoU threshold
        at = np.searchsorted(rec, recall_thresholds, side="left")
        total += prec[at[at < len(rec)]].sum() / len(recall_thresholds)  # 0 beyond the last recall reached
    return total / len(recall)


def resampled_ap(evaluator: COCOeval, draws: np.ndarray) -> np.ndarray:
    """COCO's headline AP (stats[0]) on each row of `draws`: indices into the evaluator's sorted image ids, one
    row per resample of the images (a repeated index counts as a copy of that image under a new id); -1 where no
    category has ground truth. Reuses `evaluator.evalImgs`, so a resample costs no new matching."""
    params = evaluator.params
    images, areas = len(params.imgIds), len(params.areaRng)
    categories = len(params.catIds) if params.useCats else 1
    area = params.areaRngLbl.index("all")
    per_category = [
        _category_matches(
            evaluator.evalImgs[(k * areas + area) * images : (k * areas + area + 1) * images],
            params.maxDets[-1],
            len(params.iouThrs),
        )
        for k in range(categories)
    ]
    draws = np.atleast_2d(np.asarray(draws, int))
    if draws.size and (draws.min() < 0 or draws.max() >= images):
        raise ValueError(f"draws index images 0..{images - 1}")
    recall_thresholds = np.asarray(params.recThrs, float)
    values = np.full(len(draws), -1.0)
    for row, draw in enumerate(draws):
        aps = [ap for m in per_category if (ap := _category_ap(m, draw, recall_thresholds)) is not None]
        if aps:
            values[row] = float(np.mean(aps))
    return values


def coco_evaluate(
    gt: dict[str, Any],
    detections: Sequence[dict[str, Any]],
    iou_type: str,
    category_ids: Sequence[int] | None = None,
    draws: np.ndarray | None = None,
) -> dict[str, float]:
    """COCOeval statistics (AP, AP50, ... as fractions; -1 where COCO has nothing to score) over `gt`'s images.

    `gt`, `detections`, `category_ids` as for `coco_evaluator`. With `draws` (resamples of the images as
    `resampled_ap` takes them, e.g. `bootstrap.resamples(len(gt["images"]))`) also `AP_low` and `AP_high`, the
    bootstrap percentile interval of AP (NaN when too few resamples have ground truth to score).
    """
    evaluator = coco_evaluator(gt, detections, iou_type, category_ids)
    _quiet(evaluator.accumulate)
    _quiet(evaluator.summarize)
    stats = {name: float(v) for name, v in zip(STAT_NAMES[iou_type], evaluator.stats)}
    if draws is not None:
        values = resampled_ap(evaluator, draws)
        low, high = interval(np.where(values < 0, np.nan, values))
        stats = {"AP": stats["AP"], "AP_low": low, "AP_high": high, **stats}
    return stats
