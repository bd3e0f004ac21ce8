"""COCO evaluation wiring, proven on hand-made annotations whose AP is known exactly.

COCO AP with one ground-truth box and one detection is the share of the ten IoU thresholds
.50:.05:.95 that the detection's IoU reaches; a 100x100 box shifted by d px has IoU (100-d)/(100+d).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from pycocotools import mask as mask_utils

from ssicbench.bootstrap import resamples
from ssicbench.tasks.ap_report import MEAN_COLUMNS, ap_table
from ssicbench.tasks.coco_data import TaskDataset
from ssicbench.tasks.evaluate import coco_evaluate, coco_evaluator, inside_fraction, resampled_ap, restrict_to_region

W = H = 400


def square(x, y, size=100):
    return [float(x), float(y), float(x + size), float(y), float(x + size), float(y + size), float(x), float(y + size)]


def square_annotation(ann_id, image_id, category, x, y):
    """A COCO ground-truth 100x100 square at (x, y)."""
    return {
        "id": ann_id,
        "image_id": image_id,
        "category_id": category,
        "bbox": [x, y, 100, 100],
        "area": 10000.0,
        "iscrowd": 0,
        "segmentation": [square(x, y)],
    }


def ground_truth(boxes_per_image, category=1, keypoints=None):
    images = [{"id": i + 1, "width": W, "height": H, "file_name": f"{i}.png"} for i in range(len(boxes_per_image))]
    anns = []
    for image_id, boxes in enumerate(boxes_per_image, start=1):
        for x, y in boxes:
            ann = square_annotation(len(anns) + 1, image_id, category, x, y)
            if keypoints is not None:
                ann.update(keypoints=keypoints(x, y), num_keypoints=17)
            anns.append(ann)
    categories = [{"id": category, "name": "person", "supercategory": "person"}]
    if keypoints is not None:
        categories[0].update(keypoints=[f"k{i}" for i in range(17)], skeleton=[])
    return {"images": images, "annotations": anns, "categories": categories}


def box_det(image_id, x, y, score=0.9, category=1):
    return {"image_id": image_id, "category_id": category, "bbox": [float(x), float(y), 100.0, 100.0], "score": score}


def mask_det(image_id, x, y, score=0.9):
    binary = np.zeros((H, W), np.uint8)
    binary[y : y + 100, x : x + 100] = 1
    rle = mask_utils.encode(np.asfortranarray(binary))
    return {
        "image_id": image_id,
        "category_id": 1,
        "segmentation": {"size": rle["size"], "counts": rle["counts"].decode()},
        "score": score,
        "bbox": [float(x), float(y), 100.0, 100.0],
    }


def test_perfect_boxes_score_one():
    gt = ground_truth([[(10, 10), (200, 150)], [(50, 60)]])
    dets = [box_det(1, 10, 10), box_det(1, 200, 150), box_det(2, 50, 60)]
    stats = coco_evaluate(gt, dets, "bbox")
    assert (stats["AP"], stats["AP50"], stats["AP75"], stats["AR100"]) == pytest.approx((1.0, 1.0, 1.0, 1.0))
    assert stats["APs"] == -1.0  # no small objects: COCO reports -1


@pytest.mark.parametrize(
    "shift, ap, ap50, ap75",
    [
        (16, 0.5, 1.0, 0.0),  # IoU 84/116 = 0.724: thresholds .50 .. .70 pass -> 5/10
        (6, 0.8, 1.0, 1.0),  # IoU 94/106 = 0.887: .50 .. .85 pass -> 8/10
        (40, 0.0, 0.0, 0.0),  # IoU 60/140 = 0.43: none pass
    ],
)
def test_shifted_boxes_give_the_share_of_iou_thresholds_passed(shift, ap, ap50, ap75):
    gt = ground_truth([[(100, 100)]])
    stats = coco_evaluate(gt, [box_det(1, 100 + shift, 100)], "bbox")
    assert stats["AP"] == pytest.approx(ap)
    assert stats["AP50"] == pytest.approx(ap50)
    assert stats["AP75"] == pytest.approx(ap75)


def test_a_missed_object_halves_recall():
    gt = ground_truth([[(10, 10)], [(10, 10)]])
    stats = coco_evaluate(gt, [box_det(1, 10, 10)], "bbox")
    # precision 1 up to recall 0.5, nothing beyond: 51 of COCO's 101 recall points
    assert stats["AP"] == pytest.approx(51 / 101)
    assert stats["AR100"] == pytest.approx(0.5)


def test_a_false_positive_ranked_first_halves_precision():
    gt = ground_truth([[(10, 10)]])
    dets = [box_det(1, 250, 250, score=0.9), box_det(1, 10, 10, score=0.5)]
    assert coco_evaluate(gt, dets, "bbox")["AP"] == pytest.approx(0.5)
    dets = [box_det(1, 250, 250, score=0.4), box_det(1, 10, 10, score=0.5)]  # ranked last it costs nothing
    assert coco_evaluate(gt, dets, "bbox")["AP"] == pytest.approx(1.0)


def test_no_detections_score_zero():
    stats = coco_evaluate(ground_truth([[(10, 10)]]), [], "bbox")
    assert stats["AP"] == 0.0 and stats["AR100"] == 0.0


def test_wrong_category_scores_zero_and_category_filter_limits_evaluation():
    gt = ground_truth([[(10, 10)]])
    gt["categories"].append({"id": 17, "name": "cat", "supercategory": "animal"})
    gt["annotations"].append(
        {
            **gt["annotations"][0],
            "id": 2,
            "category_id": 17,
            "bbox": [200, 200, 100, 100],
            "segmentation": [square(200, 200)],
        }
    )
    dets = [box_det(1, 10, 10)]
    assert coco_evaluate(gt, dets, "bbox")["AP"] == pytest.approx(0.5)  # mean over person (1) and cat (0)
    assert coco_evaluate(gt, dets, "bbox", category_ids=[1])["AP"] == pytest.approx(1.0)


def test_segm_perfect_masks_score_one():
    gt = ground_truth([[(10, 10), (200, 200)]])
    stats = coco_evaluate(gt, [mask_det(1, 10, 10), mask_det(1, 200, 200)], "segm")
    assert (stats["AP"], stats["AP75"]) == pytest.approx((1.0, 1.0))


def test_segm_shifted_masks_follow_mask_iou():
    gt = ground_truth([[(100, 100)]])
    stats = coco_evaluate(gt, [mask_det(1, 116, 100)], "segm")  # mask IoU 84/116, as for boxes
    assert stats["AP"] == pytest.approx(0.5)
    assert (stats["AP50"], stats["AP75"]) == pytest.approx((1.0, 0.0))


def test_segm_uses_masks_not_boxes():
    gt = ground_truth([[(100, 100)]])
    det = mask_det(1, 150, 100)  # mask IoU 50/150 = 0.33, but its (wrong) box is exact
    det["bbox"] = [100.0, 100.0, 100.0, 100.0]
    assert coco_evaluate(gt, [det], "segm")["AP"] == 0.0
    assert coco_evaluate(gt, [det], "bbox")["AP"] == pytest.approx(1.0)


def _keypoints(x, y):
    return [v for i in range(17) for v in (float(x + 5 * i), float(y + 5 * i), 2.0)]


def test_perfect_keypoints_score_one():
    gt = ground_truth([[(10, 10), (200, 200)]], keypoints=_keypoints)
    dets = [{**box_det(1, x, y), "keypoints": _keypoints(x, y)} for x, y in [(10, 10), (200, 200)]]
    stats = coco_evaluate(gt, dets, "keypoints")
    assert (stats["AP"], stats["AR"]) == pytest.approx((1.0, 1.0))


def test_region_rule_keeps_instances_at_least_half_inside():
    region = np.zeros((H, W), bool)
    region[:, :200] = True
    gt = ground_truth([[(10, 10), (150, 200), (160, 300), (300, 10)]])["annotations"]
    # inside fractions: 1.0, 0.5 (kept: >= min_inside), 0.4, 0.0
    assert [inside_fraction(a, region) for a in gt] == pytest.approx([1.0, 0.5, 0.4, 0.0])
    assert [a["id"] for a in restrict_to_region(gt, region)] == [1, 2]
    assert len(restrict_to_region(gt, None)) == 4


def test_restricting_to_the_decoded_region_scores_only_what_was_decoded():
    gt = ground_truth([[(10, 10), (250, 250)]])
    dets = [box_det(1, 10, 10), box_det(1, 280, 20, score=0.95)]  # the right object missed, a false positive there
    assert coco_evaluate(gt, dets, "bbox")["AP"] < 0.5
    region = np.zeros((H, W), bool)
    region[:, :200] = True
    kept_gt = {**gt, "annotations": restrict_to_region(gt["annotations"], region)}
    stats = coco_evaluate(kept_gt, restrict_to_region(dets, region), "bbox")
    assert stats["AP"] == pytest.approx(1.0)


# Bootstrap over images: AP on resamples of the images, from one COCOeval matching.

PERSON, CAT = 1, 17
# Four images, two categories: (category, x, y) ground truth and (category, x, y, score) detections, with
# misses, false positives outranking true ones, a partly-overlapping box (IoU 0.72) and a true and a false
# person detection tied at 0.9 in two images (image order ranks them).
PATTERN = [
    ([(PERSON, 10, 10), (CAT, 200, 200)], [(PERSON, 10, 10, 0.9), (CAT, 216, 200, 0.6)]),
    ([(PERSON, 50, 50), (CAT, 100, 100)], [(PERSON, 250, 250, 0.9), (CAT, 100, 100, 0.7)]),
    ([(PERSON, 10, 10), (PERSON, 200, 150)], [(PERSON, 16, 10, 0.5), (PERSON, 200, 150, 0.95), (CAT, 10, 250, 0.85)]),
    ([(CAT, 150, 150), (PERSON, 20, 200)], [(PERSON, 20, 200, 0.6), (CAT, 10, 10, 0.3)]),
]


def two_category_set(pattern):
    """COCO ground truth and detections for images 1.. holding `pattern`'s entries in order."""
    images, anns, dets = [], [], []
    for image_id, (truths, found) in enumerate(pattern, start=1):
        images.append({"id": image_id, "width": W, "height": H, "file_name": f"{image_id}.png"})
        for category, x, y in truths:
            anns.append(square_annotation(len(anns) + 1, image_id, category, x, y))
        dets += [box_det(image_id, x, y, score, category) for category, x, y, score in found]
    categories = [{"id": PERSON, "name": "person"}, {"id": CAT, "name": "cat"}]
    return {"images": images, "annotations": anns, "categories": categories}, dets


def test_the_identity_draw_reproduces_coco_ap():
    gt, dets = two_category_set(PATTERN)
    ap = coco_evaluate(gt, dets, "bbox")["AP"]
    assert 0.2 < ap < 0.8  # not a trivial set
    assert resampled_ap(coco_evaluator(gt, dets, "bbox"), np.arange(len(PATTERN))[None]) == pytest.approx(
        [ap], rel=1e-12, abs=1e-15
    )


def test_the_identity_draw_reproduces_coco_keypoint_ap():
    """Keypoints: other area ranges and maxDets (20) than boxes."""
    gt = ground_truth([[(10, 10)], [(200, 200)], [(50, 50), (250, 250)]], keypoints=_keypoints)
    dets = [
        {**box_det(1, 10, 10, 0.9), "keypoints": _keypoints(10, 10)},
        {**box_det(2, 100, 100, 0.95), "keypoints": _keypoints(100, 100)},  # a false positive; image 2 missed
        {**box_det(3, 50, 50, 0.4), "keypoints": _keypoints(52, 51)},
        {**box_det(3, 250, 250, 0.7), "keypoints": _keypoints(250, 250)},
    ]
    ap = coco_evaluate(gt, dets, "keypoints")["AP"]
    assert 0.2 < ap < 1.0
    assert resampled_ap(coco_evaluator(gt, dets, "keypoints"), [[0, 1, 2]]) == pytest.approx([ap], rel=1e-12)


def test_a_drawn_twice_image_counts_as_a_copy_under_a_new_id():
    gt, dets = two_category_set(PATTERN)
    draw = [1, 0, 1, 2]  # image 2 twice, and first: its false positive outranks image 1's tied true one
    copied_gt, copied_dets = two_category_set([PATTERN[i] for i in draw])
    expected = coco_evaluate(copied_gt, copied_dets, "bbox")["AP"]
    once = coco_evaluate(*two_category_set([PATTERN[i] for i in (1, 0, 2)]), "bbox")["AP"]
    assert expected != pytest.approx(once)  # the duplicate changes AP: the draw must count it twice
    assert resampled_ap(coco_evaluator(gt, dets, "bbox"), np.array([draw])) == pytest.approx(
        [expected], rel=1e-12, abs=1e-15
    )


def test_resamples_without_ground_truth_score_minus_one():
    gt, dets = two_category_set([([], [(PERSON, 10, 10, 0.9)]), PATTERN[0]])
    assert list(resampled_ap(coco_evaluator(gt, dets, "bbox"), [[0, 0], [1, 1]])) == [-1.0, pytest.approx(0.75)]


def test_the_bootstrap_interval_holds_the_estimate_and_narrows_with_more_images():
    widths = []
    for copies in (1, 4):
        gt, dets = two_category_set(PATTERN * copies)
        stats = coco_evaluate(gt, dets, "bbox", draws=resamples(len(gt["images"])))
        assert stats["AP_low"] < stats["AP"] < stats["AP_high"]
        widths.append(stats["AP_high"] - stats["AP_low"])
    assert widths[1] < 0.7 * widths[0]  # ~1/sqrt(4) as wide with four times the images


def test_ap_table_brackets_ap_by_its_bootstrap_interval():
    gt, dets = two_category_set(PATTERN * 2)
    dataset = TaskDataset("synthetic", gt, Path("."))
    rows = [
        {
            **{c: 1.0 for c in MEAN_COLUMNS},
            "codec": "jpeg",
            "scenario": "full",
            "quality": 50,
            "status": "ok",
            "image_id": img["id"],
            "gt_ids": [a["id"] for a in gt["annotations"] if a["image_id"] == img["id"]],
            "detections": [d for d in dets if d["image_id"] == img["id"]],
        }
        for img in gt["images"]
    ]
    table = ap_table(rows, dataset, ["bbox"])
    assert len(table) == 1
    low, ap, high = (table[f"bbox_{k}"].iloc[0] for k in ("AP_low", "AP", "AP_high"))
    assert ap == pytest.approx(coco_evaluate(gt, dets, "bbox")["AP"])
    assert low < ap < high
