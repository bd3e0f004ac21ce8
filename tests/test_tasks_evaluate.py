"""COCO evaluation wiring, proven on hand-made annotations whose AP is known exactly.

COCO AP with one ground-truth box and one detection is the share of the ten IoU thresholds
.50:.05:.95 that the detection's IoU reaches; a 100x100 box shifted by d px has IoU (100-d)/(100+d).
"""

from __future__ import annotations

import numpy as np
import pytest
from pycocotools import mask as mask_utils

from ssicbench.tasks.evaluate import coco_evaluate, inside_fraction, restrict_to_region

W = H = 400


def square(x, y, size=100):
    return [float(x), float(y), float(x + size), float(y), float(x + size), float(y + size), float(x), float(y + size)]


def ground_truth(boxes_per_image, category=1, keypoints=None):
    images = [{"id": i + 1, "width": W, "height": H, "file_name": f"{i}.png"} for i in range(len(boxes_per_image))]
    anns = []
    for image_id, boxes in enumerate(boxes_per_image, start=1):
        for x, y in boxes:
            ann = {
                "id": len(anns) + 1,
                "image_id": image_id,
                "category_id": category,
                "bbox": [x, y, 100, 100],
                "area": 10000.0,
                "iscrowd": 0,
                "segmentation": [square(x, y)],
            }
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
