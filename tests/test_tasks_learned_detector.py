"""The learned offline detector (onnx-centernet, weights shipped) and AP against uncompressed detections.

Hand-annotated boxes (x0, y0, x1, y1 in pixels, drawn by looking at the shipped images): the woman in kodim04
including her worn hat, and the P-51 aeroplane in kodim20 from propeller tip to right wing and wheels.
"""

from __future__ import annotations

import argparse
import json
import shutil

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from ssicbench.coco_categories import category_id
from ssicbench.codec_spec import CodecSpec
from ssicbench.datasets import shipped_kodak
from ssicbench.errors import BenchError, MissingWeightsError
from ssicbench.imageio import load_image
from ssicbench.tasks.ap_report import ap_table
from ssicbench.tasks.cli import add_parser
from ssicbench.tasks.detectors import DETECTORS, REBUILD_HINT, WEIGHTS_DIR, cached_detector, create_detector
from ssicbench.tasks.pseudo_gt import LABEL
from ssicbench.tasks.runner import TaskSetup, plan_task_jobs, run_task_sweep

PERSON_KODIM04 = (3, 18, 510, 764)
AEROPLANE_KODIM20 = (64, 67, 767, 500)


def kodak(name: str) -> np.ndarray:
    return load_image(shipped_kodak() / f"{name}.png")


def iou(xywh, xyxy) -> float:
    ax0, ay0, aw, ah = xywh
    ax1, ay1 = ax0 + aw, ay0 + ah
    bx0, by0, bx1, by1 = xyxy
    inter = max(0.0, min(ax1, bx1) - max(ax0, bx0)) * max(0.0, min(ay1, by1) - max(ay0, by0))
    return inter / (aw * ah + (bx1 - bx0) * (by1 - by0) - inter)


@pytest.fixture(scope="module")
def centernet():
    return cached_detector("onnx-centernet", "{}")


def best_match(detections, category: str, box) -> dict:
    """The highest-scoring `category` detection overlapping `box` by IoU >= 0.5."""
    found = [d for d in detections if d["category_id"] == category_id(category) and iou(d["bbox"], box) >= 0.5]
    assert found, f"no {category} detected at IoU >= 0.5 with {box}"
    return max(found, key=lambda d: d["score"])


def test_finds_the_person_in_kodim04(centernet):
    det = best_match(centernet.detect(kodak("kodim04")), "person", PERSON_KODIM04)
    assert det["score"] >= 0.5


def test_finds_the_aeroplane_in_kodim20(centernet):
    det = best_match(centernet.detect(kodak("kodim20")), "airplane", AEROPLANE_KODIM20)
    assert det["score"] >= 0.3


def test_boxes_come_back_in_the_coordinates_of_any_image_size(centernet):
    """The 512x512 resize is undone: a half-size kodim04 gives the hand box at half scale."""
    half = np.asarray(Image.fromarray(kodak("kodim04")).resize((256, 384), Image.BILINEAR))
    box = tuple(v / 2 for v in PERSON_KODIM04)
    det = best_match(centernet.detect(half), "person", box)
    assert det["score"] >= 0.5


@pytest.mark.parametrize("shape", [(512, 768), (512, 768, 1), (512, 768, 4), (7, 5, 3)])
def test_any_size_and_mode_gives_boxes_inside_the_image(centernet, shape):
    image = np.resize(kodak("kodim20"), shape).astype(np.uint8)
    height, width = shape[:2]
    for det in centernet.detect(image):
        x, y, w, h = det["bbox"]
        assert 0 <= x <= x + w <= width and 0 <= y <= y + h <= height and 0 <= det["score"] <= 1


def test_non_uint8_images_are_refused(centernet):
    with pytest.raises(BenchError, match="uint8"):
        centernet.detect(np.zeros((8, 8, 3), np.float32))


def test_score_threshold_and_categories_filter_the_output():
    image = kodak("kodim04")
    everything = create_detector("onnx-centernet").detect(image)
    confident = create_detector("onnx-centernet", score_threshold=0.5).detect(image)
    persons = create_detector("onnx-centernet", categories=["person"]).detect(image)
    assert len(everything) > len(confident) >= 1 and all(d["score"] >= 0.5 for d in confident)
    assert persons and all(d["category_id"] == 1 for d in persons) and len(persons) < len(everything)


def test_unknown_categories_are_refused_with_the_known_names(tmp_path):
    with pytest.raises(BenchError, match="does not know category 'unicorn'; known: person, bicycle"):
        create_detector("onnx-centernet", categories=["unicorn"])
    setup = TaskSetup(detector="opencv-hog")  # finds persons only
    with pytest.raises(BenchError, match="opencv-hog does not know category 'cat'; known: person$"):
        plan_task_jobs(setup, [CodecSpec("jpeg", (50,))], ["category:cat"])


def test_missing_or_corrupt_weights_name_the_file_and_how_to_rebuild(tmp_path):
    missing = tmp_path / "none.onnx"
    with pytest.raises(MissingWeightsError) as info:
        create_detector("onnx-centernet", weights=str(missing))
    assert str(missing) in str(info.value) and REBUILD_HINT in str(info.value) and "\n" not in str(info.value)
    corrupt = tmp_path / "corrupt.onnx"
    corrupt.write_bytes((WEIGHTS_DIR / "centernet.onnx").read_bytes()[:5000])
    with pytest.raises(BenchError) as info:
        create_detector("onnx-centernet", weights=str(corrupt))
    assert str(corrupt) in str(info.value) and "convert_tfjs_detector.py" in str(info.value)
    assert "\n" not in str(info.value)


def test_registered_as_an_offline_coco_detector():
    info = DETECTORS.get("onnx-centernet").info
    assert info["backend"] == "onnx" and info["iou_types"] == ("bbox",) and info["categories"] is None


def test_pseudo_ground_truth_scores_uncompressed_images_1_and_jpeg_q5_lower(tmp_path):
    """AP vs uncompressed detections: exactly 1 for the originals, lower once JPEG at quality 5 has coded them."""
    images = tmp_path / "images"
    images.mkdir()
    for name in ("kodim04", "kodim12", "kodim15", "kodim20"):
        shutil.copy(shipped_kodak() / f"{name}.png", images)
    setup = TaskSetup(
        dataset="images",
        dataset_options=json.dumps({"images": str(images)}),
        ground_truth="detector",
        pseudo_score=0.3,
    )
    dataset = setup.load_dataset()
    assert len(dataset.gt["annotations"]) >= 4  # the persons and the aeroplane, at least
    rows = run_task_sweep(
        plan_task_jobs(setup, [CodecSpec("jpeg", (5, 95))], ["full"]), tmp_path / "run", progress=False
    )
    table = ap_table(rows, dataset, ["bbox"]).set_index(["codec", "quality"])
    assert table.loc[("original", "-"), "bbox_AP"] == pytest.approx(1.0)
    assert table.loc[("original", "-"), "bbox_AP50"] == pytest.approx(1.0)
    assert table.loc[("jpeg", "5"), "bbox_AP"] < table.loc[("jpeg", "95"), "bbox_AP"]
    assert 0 <= table.loc[("jpeg", "5"), "bbox_AP"] < 0.9


def run_task(argv):
    parser = argparse.ArgumentParser()
    add_parser(parser.add_subparsers())
    args = parser.parse_args(["task", *argv])
    return args.func(args)


def test_kodak_study_config_runs_and_labels_its_ground_truth(tmp_path):
    """configs/tasks/kodak.json (cut to 4 images and one JPEG point here) gives a labelled pseudo-GT table."""
    argv = ["--config", "configs/tasks/kodak.json", "--limit", "4", "--codec", "jpeg", "--qualities", "50"]
    argv += ["--scenario", "full", "--out", str(tmp_path / "tasks-kodak"), "--quiet"]
    assert run_task(argv) == 0
    table = pd.read_csv(tmp_path / "tasks-kodak" / "ap_vs_bpp.csv").set_index("codec")
    assert table["ground_truth"].str.startswith(LABEL).all()
    assert table.loc["original", "bbox_AP"] == pytest.approx(1.0) and table.loc["original", "gt_instances"] >= 1


def test_kodak_without_labels_needs_pseudo_ground_truth(tmp_path):
    argv = ["--dataset", "kodak", "--codec", "jpeg", "--out", str(tmp_path), "--quiet"]
    with pytest.raises(BenchError, match="no annotations: use --ground-truth detector"):
        run_task(argv)
