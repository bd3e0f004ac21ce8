"""Offline pose estimation: the shipped MoveNet MultiPose model (onnx-movenet) gives COCO keypoints, and keypoint
AP (OKS, COCOeval) against its own detections on the uncompressed images is 1 there and falls with JPEG's rate.

Hand-located in kodim12 (the couple walking on the beach; x0, y0, x1, y1 in pixels, by looking at the image):
the woman from the top of her head to her feet, the man likewise; their noses.
"""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest

from ssicbench.codec_spec import CodecSpec
from ssicbench.datasets import shipped_kodak
from ssicbench.errors import BenchError, MissingWeightsError
from ssicbench.imageio import load_image
from ssicbench.tasks.ap_report import ap_table
from ssicbench.tasks.detectors import DETECTORS, REBUILD_HINT, WEIGHTS_DIR, cached_detector, create_detector
from ssicbench.tasks.runner import TaskSetup, plan_task_jobs, run_task_sweep

WOMAN, MAN = (218, 104, 302, 398), (285, 64, 382, 352)
WOMAN_NOSE, MAN_NOSE = (276, 132), (341, 88)


@pytest.fixture(scope="module")
def movenet():
    return cached_detector("onnx-movenet", json.dumps({"score_threshold": 0.3}))


def centre_inside(xywh, box, slack: float = 20) -> bool:
    x, y, w, h = xywh
    cx, cy = x + w / 2, y + h / 2
    return box[0] - slack <= cx <= box[2] + slack and box[1] - slack <= cy <= box[3] + slack


def test_finds_both_people_of_kodim12_with_their_noses(movenet):
    people = movenet.detect(load_image(shipped_kodak() / "kodim12.png"))
    assert len(people) == 2 and all(p["category_id"] == 1 and len(p["keypoints"]) == 51 for p in people)
    for box, nose in ((WOMAN, WOMAN_NOSE), (MAN, MAN_NOSE)):
        (person,) = [p for p in people if centre_inside(p["bbox"], box)]
        x, y, score = person["keypoints"][:3]  # COCO keypoint 0 is the nose
        assert np.hypot(x - nose[0], y - nose[1]) < 15 and score > 0.3


def test_keypoints_come_back_in_the_coordinates_of_any_image_size(movenet):
    image = load_image(shipped_kodak() / "kodim12.png")
    half = image[::2, ::2]
    full_noses = sorted(p["keypoints"][:2] for p in movenet.detect(image))
    half_noses = sorted(p["keypoints"][:2] for p in movenet.detect(half))
    assert np.allclose(np.array(half_noses) * 2, full_noses, atol=12)


def test_registered_as_an_offline_person_keypoint_detector():
    info = DETECTORS.get("onnx-movenet").info
    assert info["backend"] == "onnx" and info["iou_types"] == ("bbox", "keypoints") and info["categories"] == (1,)


def test_other_weights_are_refused_naming_the_file(tmp_path):
    with pytest.raises(BenchError, match="not the MoveNet MultiPose model") as info:
        create_detector("onnx-movenet", weights=str(WEIGHTS_DIR / "centernet.onnx"))
    assert "centernet.onnx" in str(info.value) and "\n" not in str(info.value)
    with pytest.raises(MissingWeightsError, match=REBUILD_HINT.replace("(", r"\(").replace(")", r"\)")):
        create_detector("onnx-movenet", weights=str(tmp_path / "none.onnx"))


@pytest.fixture(scope="module")
def people_images(tmp_path_factory):
    images = tmp_path_factory.mktemp("people")
    for name in ("kodim04", "kodim12", "kodim17", "kodim18"):  # the Kodak photos with people in them
        shutil.copy(shipped_kodak() / f"{name}.png", images)
    return images


def pose_setup(images):
    return TaskSetup(
        dataset="images",
        dataset_options=json.dumps({"images": str(images)}),
        detector="onnx-movenet",
        ground_truth="detector",
        pseudo_score=0.3,
    )


def test_pseudo_ground_truth_labels_only_confident_keypoints(people_images):
    dataset = pose_setup(people_images).load_dataset()
    assert dataset.has_keypoints() and len(dataset.gt["annotations"]) >= 4
    for ann in dataset.gt["annotations"]:
        points = np.reshape(ann["keypoints"], (17, 3))
        assert set(points[:, 2]) <= {0, 2} and ann["num_keypoints"] == (points[:, 2] == 2).sum()
        assert not points[points[:, 2] == 0, :2].any()  # unlabelled keypoints carry no position
    labelled = [v for ann in dataset.gt["annotations"] for v in ann["keypoints"][2::3]]
    assert 0 < labelled.count(2) < len(labelled)  # MoveNet is unsure of some keypoints (KEYPOINT_SCORE)


def test_keypoint_ap_is_1_uncompressed_and_falls_with_jpeg_rate(people_images, tmp_path):
    setup = pose_setup(people_images)
    dataset = setup.load_dataset()
    rows = run_task_sweep(
        plan_task_jobs(setup, [CodecSpec("jpeg", (5, 30, 95))], ["full"]), tmp_path / "run", progress=False
    )
    table = ap_table(rows, dataset, ["bbox", "keypoints"]).set_index(["codec", "quality"])
    assert table.loc[("original", "-"), "keypoints_AP"] == pytest.approx(1.0)
    ap = [table.loc[("jpeg", q), "keypoints_AP"] for q in ("5", "30", "95")]
    assert ap[0] < ap[2] <= 1.0 and ap[0] <= ap[1] and ap[0] < 0.9
