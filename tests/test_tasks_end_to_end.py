"""`task` end to end, offline: OpenCV HOG on the embedded COCO set, JPEG and a structured codec.

Structured codecs: the test-only `block-jpeg` (test_structured_codec.py) and the bundled ssic-tiny.
"""

from __future__ import annotations

import argparse
import json

import numpy as np
import pandas as pd
import pytest
from PIL import Image
from pycocotools import mask as mask_utils
from test_structured_codec import FAKE

from ssicbench.coco_categories import COCO_CATEGORIES
from ssicbench.tasks.cli import add_parser
from ssicbench.tasks.coco_data import load_task_dataset


def run_task(argv):
    parser = argparse.ArgumentParser()
    add_parser(parser.add_subparsers())
    args = parser.parse_args(["task", *argv])
    return args.func(args)


def test_embedded_annotations_are_valid_coco():
    dataset = load_task_dataset("embedded")
    assert len(dataset.image_ids()) == 6
    for image_id in dataset.image_ids():
        info = dataset.image_info(image_id)
        image = dataset.load(image_id)
        assert image.shape == (info["height"], info["width"], 3)
        for ann in dataset.annotations(image_id):
            assert ann["category_id"] in COCO_CATEGORIES
            x, y, w, h = ann["bbox"]
            assert 0 <= x and 0 <= y and x + w <= info["width"] and y + h <= info["height"] and w * h > 0
            rle = mask_utils.merge(mask_utils.frPyObjects(ann["segmentation"], info["height"], info["width"]))
            assert ann["area"] == pytest.approx(float(mask_utils.area(rle)))


def test_coco_format_dataset_reads_any_folder_and_json(tmp_path):
    Image.fromarray(np.zeros((40, 50, 3), np.uint8)).save(tmp_path / "a.png")
    gt = {
        "images": [{"id": 3, "file_name": "a.png", "width": 50, "height": 40}],
        "annotations": [{"id": 1, "image_id": 3, "category_id": 1, "bbox": [1, 2, 10, 10], "area": 100, "iscrowd": 0}],
        "categories": [{"id": 1, "name": "person"}],
    }
    (tmp_path / "gt.json").write_text(json.dumps(gt))
    dataset = load_task_dataset("coco", images=str(tmp_path), annotations=str(tmp_path / "gt.json"))
    assert dataset.image_ids() == [3] and dataset.load(3).shape == (40, 50, 3)


def test_task_runs_end_to_end_offline_and_resumes(tmp_path):
    argv = [
        "--detector",
        "opencv-hog",
        "--codec",
        "jpeg",
        FAKE,
        "--qualities",
        "10",
        "30",
        "60",
        "90",
        "--scenario",
        "full",
        "--scenario",
        "objects",
        "--scenario",
        "category:person",
        "--limit",
        "3",
        "--out",
        str(tmp_path / "e2e"),
        "--quiet",
    ]
    assert run_task(argv) == 0
    out = tmp_path / "e2e"
    table = pd.read_csv(out / "ap_vs_bpp.csv")
    curves = set(zip(table["codec"], table["scenario"]))
    assert curves == {
        ("original", "full"),
        ("jpeg", "full"),
        (FAKE, "full"),
        (FAKE, "objects"),
        (FAKE, "category:person"),
    }  # jpeg writes no groups: its group scenarios are skipped
    assert table["bbox_AP"].between(0, 1).all() and (table["images"] == 3).all()
    ssic = table[table["codec"] == FAKE].set_index(["scenario", "quality"])["bpp"]
    assert (ssic.loc["category:person"].values < ssic.loc["objects"].values).all()
    assert (ssic.loc["objects"].values < ssic.loc["full"].values).all()
    assert (out / "ap_vs_bpp.png").stat().st_size > 0
    bd = pd.read_csv(out / "bd_rate_ap.csv")
    assert set(bd["anchor"]) == {f"{FAKE} full"} and len(bd) == 4
    rows = list((out / "task_rows").glob("*.json"))
    assert len(rows) == 3 + 4 * 4 * 3  # reference + codec/scenario pairs x qualities x images
    stamps = {p: p.stat().st_mtime_ns for p in rows}
    assert run_task(argv) == 0  # resumes: nothing is recomputed
    assert {p: p.stat().st_mtime_ns for p in rows} == stamps


def test_bundled_ssic_partial_decodes_cost_fewer_bits_than_the_full_image(tmp_path):
    """The real codec: with ssic-tiny, the objects-only receiver gets fewer bytes than the full-image one.
    (Old flag spellings --task-config, --run and --results-dir still work for one release.)"""
    config = tmp_path / "codecs.json"
    config.write_text(
        json.dumps({"codecs": [{"name": "jpeg", "qualities": [30]}, {"name": "ssic-tiny", "qualities": [2]}]})
    )
    argv = [
        "--detector",
        "opencv-hog",
        "--task-config",
        str(config),
        "--scenario",
        "full",
        "--scenario",
        "objects",
        "--scenario",
        "category:person",
        "--limit",
        "2",
        "--run",
        "tiny",
        "--results-dir",
        str(tmp_path),
        "--quiet",
    ]
    assert run_task(argv) == 0
    table = pd.read_csv(tmp_path / "tiny" / "ap_vs_bpp.csv").set_index(["codec", "scenario"])
    assert table.loc[("ssic-tiny", "objects"), "bpp"] < table.loc[("ssic-tiny", "full"), "bpp"]
    assert table.loc[("ssic-tiny", "category:person"), "bpp"] <= table.loc[("ssic-tiny", "objects"), "bpp"]
    assert (tmp_path / "tiny" / "ap_vs_bpp.png").stat().st_size > 1000


def test_an_unstructured_ssic_runs_full_and_refuses_group_scenarios_in_one_line(tmp_path, caplog):
    """ssic-wostructure is a plain codec (variant table): the planner reads the registry, never probes it."""
    from ssic_helpers import SMALL, random_model

    from ssicbench.codecs.ssic import save_checkpoint

    save_checkpoint(random_model("wostructure"), tmp_path / "wo.pth")
    (tmp_path / "small.json").write_text(json.dumps(SMALL))
    argv = ["--codec", "ssic-wostructure", "--checkpoint", str(tmp_path / "wo.pth"), "--model-config",
            str(tmp_path / "small.json"), "--scenario", "full", "--scenario", "objects", "--scenario",
            "category:person", "--limit", "1", "--out", str(tmp_path / "wo"), "--quiet"]  # fmt: skip
    assert run_task(argv) == 0
    table = pd.read_csv(tmp_path / "wo" / "ap_vs_bpp.csv")
    assert set(zip(table["codec"], table["scenario"])) == {("original", "full"), ("ssic-wostructure", "full")}
    refusals = [r.getMessage() for r in caplog.records if "ssic-wostructure" in r.getMessage()]
    assert refusals == ["ssic-wostructure is not a structured codec: runs no group scenario (objects, category:person)"]
