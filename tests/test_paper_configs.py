"""The paper's studies as configs: `configs/paper/ssic-kodak-rd.json` runs on official-layout checkpoints found by
quality in a folder (`--checkpoint-dir`), here random-weight ones of the small architecture the test writes, and
every way a checkpoint folder can be wrong is one line naming what was found and what was expected."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
from conftest import REPO
from ssic_helpers import SMALL, random_model

from ssicbench.codecs.factory import create_codec
from ssicbench.codecs.ssic.checkpoint import save_checkpoint
from ssicbench.codecs.ssic.codec import checkpoints_in
from ssicbench.errors import CheckpointError, MissingWeightsError, UsageError

PAPER_RD = REPO / "configs" / "paper" / "ssic-kodak-rd.json"


@pytest.fixture(scope="module")
def official(tmp_path_factory):
    """Three rate points in the official checkpoint layout, named as the authors' files might be."""
    folder = tmp_path_factory.mktemp("official")
    for quality in (1, 2, 3):
        save_checkpoint(random_model("charm", seed=quality), folder / f"ssic_charm_q{quality}.pth.tar")
    config = folder.parent / "small.json"
    config.write_text(json.dumps(SMALL))
    return folder, config


def test_a_checkpoint_folder_gives_one_rate_point_per_qN_file(official):
    folder, _ = official
    assert list(checkpoints_in(folder)) == [1, 2, 3]
    codec = create_codec("ssic-charm", checkpoint_dir=str(folder), config=str(official[1]))
    assert codec.qualities == (1, 2, 3)


def test_paper_rd_config_runs_on_official_layout_checkpoints(official, tmp_path):
    folder, config = official
    command = [sys.executable, str(REPO / "run_bench.py"), "rd", "--config", str(PAPER_RD), "--limit", "1"]
    command += ["--checkpoint-dir", str(folder), "--model-config", str(config), "--out", str(tmp_path), "--quiet"]
    done = subprocess.run(command, capture_output=True, text=True, cwd=REPO, timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]
    rows = pd.read_csv(tmp_path / "rows.csv")
    assert (rows["status"] == "ok").all()
    assert sorted(rows.groupby("codec")["quality"].apply(sorted).to_dict().items()) == [
        ("ssic-charm", [1, 2, 3]),
        ("ssic-charm (objects only)", [1, 2, 3]),
    ]
    bd = pd.read_csv(tmp_path / "bd_table.csv")
    measured = bd[(bd["codec"] == "ssic-charm")]
    assert set(measured["anchor"]) == {"VTM", "SSIC paper (structured ChARM)"}  # the paper's curve overlaid


def test_checkpoint_folders_that_do_not_fit_say_what_they_hold(official, tmp_path):
    with pytest.raises(MissingWeightsError, match="does not exist"):
        checkpoints_in(tmp_path / "none")
    (tmp_path / "notes.txt").write_text("")
    with pytest.raises(MissingWeightsError, match=r"no checkpoint named <anything>q<N>\.pth .* it holds notes\.txt"):
        checkpoints_in(tmp_path)
    for name in ("a_q2.pth", "b-q2.pth"):
        (tmp_path / name).write_bytes(b"")
    with pytest.raises(UsageError, match="two checkpoints of quality 2: a_q2.pth, b-q2.pth"):
        checkpoints_in(tmp_path)


def test_a_checkpoint_of_another_variant_is_named_with_what_was_expected(official, tmp_path):
    save_checkpoint(random_model("hyper", seed=1), tmp_path / "q1.pth")
    with pytest.raises(CheckpointError, match=r"q1\.pth.*missing keys char_m_means") as info:
        create_codec("ssic-charm", checkpoint_dir=str(tmp_path), config=str(official[1])).coder(1)
    assert "\n" not in str(info.value)


def test_a_codec_flag_no_config_codec_takes_is_refused_in_one_line(tmp_path):
    config = tmp_path / "jpeg.json"
    config.write_text(json.dumps({"version": 1, "dataset": "kodak", "codecs": ["jpeg", "webp"]}))
    command = [sys.executable, str(REPO / "run_bench.py"), "rd", "--config", str(config), "--checkpoint-dir", "x"]
    done = subprocess.run(command + ["--out", str(tmp_path / "out")], capture_output=True, text=True, cwd=REPO)
    assert done.returncode == 2
    assert done.stderr.strip().splitlines()[-1] == "error: no codec of the config (jpeg, webp) takes checkpoint_dir"


# --- the paper's task configs, end to end on a synthetic COCO fixture --------------------------------------------

RED_PEOPLE = {  # image name -> red people (x0, y0, x1, y1) on grey, plus one blue car in the first image
    "a.png": [(40, 40, 120, 200), (180, 60, 260, 220)],
    "b.png": [(100, 30, 200, 230)],
    "c.png": [(20, 100, 90, 240), (150, 20, 230, 160)],
}


def shapes_fixture(root):
    """Images with red people (mask, box and the shoulder/hip keypoints the test detector finds) in COCO format."""
    from PIL import Image

    images, annotations = [], []
    for image_id, (name, people) in enumerate(RED_PEOPLE.items(), start=1):
        pixels = np.full((256, 320, 3), 128, np.uint8)
        if image_id == 1:
            pixels[200:240, 200:300] = (30, 60, 200)
            annotations.append(_annotation(len(annotations) + 1, image_id, 3, (200, 200, 300, 240), pixels.shape, None))
        for box in people:
            x0, y0, x1, y1 = box
            pixels[y0:y1, x0:x1] = (220, 30, 30)
            keypoints = [0.0] * 51  # labelled: shoulders at the top corners, hips at the bottom ones (v = 2)
            for index, (x, y) in zip((5, 6, 11, 12), ((x0, y0), (x1, y0), (x0, y1), (x1, y1))):
                keypoints[3 * index : 3 * index + 3] = [float(x), float(y), 2.0]
            annotations.append(_annotation(len(annotations) + 1, image_id, 1, box, pixels.shape, keypoints))
        Image.fromarray(pixels).save(root / name)
        images.append({"id": image_id, "file_name": name, "height": 256, "width": 320})
    categories = [{"id": 1, "name": "person", "keypoints": [str(i) for i in range(17)]}, {"id": 3, "name": "car"}]
    labels = root / "labels.json"
    labels.write_text(json.dumps({"images": images, "annotations": annotations, "categories": categories}))
    return labels


def _annotation(ann_id, image_id, category, box, shape, keypoints):
    from pycocotools import mask as mask_utils

    x0, y0, x1, y1 = box
    blob = np.zeros(shape[:2], np.uint8)
    blob[y0:y1, x0:x1] = 1
    rle = mask_utils.encode(np.asfortranarray(blob))
    rle["counts"] = rle["counts"].decode("ascii")
    ann = {"id": ann_id, "image_id": image_id, "category_id": category, "segmentation": rle, "iscrowd": 0}
    ann.update(bbox=[float(x0), float(y0), float(x1 - x0), float(y1 - y0)], area=float(blob.sum()))
    if keypoints is not None:
        ann.update(keypoints=keypoints, num_keypoints=4)
    return ann


@pytest.mark.parametrize(
    "config, types",
    [("coco-instance.json", ("bbox", "segm")), ("coco-pose.json", ("bbox", "keypoints"))],
)
def test_paper_task_configs_run_end_to_end_with_exact_ap(official, tmp_path, config, types):
    """Each paper task config, pointed at the fixture, a test segmenter with keypoints and self-made SSIC
    checkpoints: AP is exactly 1 on the uncompressed images for every result type the study scores, and JPEG at
    quality 95 keeps the people (AP 1 on boxes); the group scenarios send fewer bits than the whole image."""
    folder, small = official
    root = tmp_path / "coco"
    root.mkdir()
    labels = shapes_fixture(root)
    command = [sys.executable, str(REPO / "run_bench.py"), "--plugin", str(REPO / "tests/plugins/shapes_detector.py")]
    command += ["task", "--config", str(REPO / "configs" / "paper" / config), "--detector", "test-red-people"]
    command += ["--dataset", "coco", "--images", str(root), "--annotations", str(labels), "--no-download"]
    command += ["--checkpoint-dir", str(folder), "--model-config", str(small), "--out", str(tmp_path / "out")]
    done = subprocess.run(command + ["--quiet", "--jobs", "2"], capture_output=True, text=True, cwd=REPO, timeout=900)
    assert done.returncode == 0, done.stderr[-3000:]
    table = pd.read_csv(tmp_path / "out" / "ap_vs_bpp.csv")
    original = table[table["codec"] == "original"].iloc[0]
    for kind in types:
        assert original[f"{kind}_AP"] == 1.0 and original[f"{kind}_AP_low"] == original[f"{kind}_AP_high"] == 1.0
    best_jpeg = table[(table["codec"] == "jpeg") & (table["quality"] == "95")].iloc[0]
    assert best_jpeg["bbox_AP"] == 1.0 and best_jpeg["gt_instances"] == 6  # 5 people, 1 car
    ssic = table[table["codec"] == "ssic-charm"].set_index(["scenario", "quality"])["bpp"]
    for quality in ("1", "2", "3"):
        assert ssic[("objects", quality)] < ssic[("all-groups", quality)]


def test_a_pose_study_on_labels_without_keypoints_is_one_line(tmp_path):
    """coco-pose.json on instance labels (boxes and masks, no keypoints) stops before any job runs."""
    root = tmp_path / "coco"
    root.mkdir()
    labels = shapes_fixture(root)
    gt = json.loads(labels.read_text())
    for ann in gt["annotations"]:
        for key in ("keypoints", "num_keypoints"):
            ann.pop(key, None)
    labels.write_text(json.dumps(gt))
    command = [
        sys.executable,
        str(REPO / "run_bench.py"),
        "task",
        "--config",
        str(REPO / "configs/paper/coco-pose.json"),
    ]
    command += ["--images", str(root), "--annotations", str(labels), "--codec", "jpeg", "--out", str(tmp_path / "out")]
    done = subprocess.run(command + ["--quiet"], capture_output=True, text=True, cwd=REPO, timeout=600)
    assert done.returncode == 2
    last = done.stderr.strip().splitlines()[-1]
    assert last.startswith("error: torchvision-keypointrcnn is scored on keypoints, but the labels of dataset coco")
    assert not (tmp_path / "out" / "task_rows").exists()


def test_a_quality_the_folder_lacks_names_the_qualities_it_has(official):
    codec = create_codec("ssic-charm", checkpoint_dir=str(official[0]), config=str(official[1]))
    with pytest.raises(UsageError, match=r"quality 6.*1, 2, 3"):
        codec.check_quality(6)
