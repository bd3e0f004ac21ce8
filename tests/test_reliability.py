"""Bad input beyond the first table (test_bad_input.py): wrong JSON types in every config and COCO file, files
that are not regular files, unwritable outputs, outputs that would overwrite their input, odd image files and
bad codec options. Each is exit status 2, one line on stderr, no traceback, nothing left behind.

Placeholders name input files made once per module (configs by the name of their entry in `CONFIGS`).
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest
from conftest import REPO, smooth_image
from PIL import Image
from test_bad_input import assert_refused

TRAIN = json.loads((REPO / "configs" / "train" / "ssic-tiny.json").read_text())
COCO = {
    "images": [{"id": 1, "file_name": "a.png", "width": 64, "height": 64}],
    "annotations": [{"id": 1, "image_id": 1, "category_id": 1, "bbox": [4, 4, 20, 20], "area": 400, "iscrowd": 0}],
    "categories": [{"id": 1, "name": "person"}],
}
# name -> the JSON text of a config or COCO file (a dict is dumped; a str is written as it is)
CONFIGS: dict[str, object] = {
    "RD_CODECS_STR": {"codecs": "jpeg"},
    "RD_LIMIT_STR": {"codecs": ["jpeg"], "limit": "5"},
    "RD_LIMIT_NEG": {"codecs": ["jpeg"], "limit": -3},
    "RD_LIMIT_HUGE": {"codecs": ["jpeg"], "limit": 10**20},
    "RD_JOBS_FLOAT": {"codecs": ["jpeg"], "jobs": 2.5},
    "RD_METRICS_STR": {"codecs": ["jpeg"], "metrics": "psnr"},
    "RD_DATASET_NUM": {"codecs": ["jpeg"], "dataset": 5},
    "RD_QUIET_STR": {"codecs": ["jpeg"], "quiet": "yes"},
    "RD_OUT_LIST": {"codecs": ["jpeg"], "out": ["a"]},
    "RD_REPORT_STR": {"codecs": ["jpeg"], "report": "kodak"},
    "RD_PUBLISHED_STR": {"codecs": ["jpeg"], "report": {"published": "kodak"}},
    "RD_ANCHORS_NUM": {"codecs": ["jpeg"], "report": {"anchors": [1]}},
    "RD_EXECUTOR_NUM": {"codecs": ["jpeg"], "executor": 5},
    "RD_EXECUTOR_KIND": {"codecs": ["jpeg"], "executor": {"kind": "slurm"}},
    "RD_GPUS_NAN": '{"codecs": ["jpeg"], "executor": {"kind": "ray", "gpus_per_job": NaN}}',
    "RD_VERSION_STR": {"version": "1", "codecs": ["jpeg"]},
    "RD_DESCRIPTION_NUM": {"description": 5, "codecs": ["jpeg"]},
    "RD_DEEP": '{"codecs": ' + "[" * 100_000 + "]" * 100_000 + "}",
    "RD_HUGE_INT": '{"codecs": ["jpeg"], "limit": ' + "9" * 5000 + "}",
    "RD_QUALITY_NAN": '{"codecs": [{"name": "jpeg", "qualities": [NaN]}]}',
    "RD_QUALITY_FRACTION": {"codecs": [{"name": "jpeg", "qualities": [50.9]}]},
    "RD_OPTIONS_LIST": {"codecs": [{"name": "jpeg", "options": ["x"]}]},
    "RD_INFINITY": '{"codecs": ["jpeg"], "jobs": Infinity}',
    "TRAIN_STEPS_STR": {**TRAIN, "steps": "100"},
    "TRAIN_STEPS_NEG": {**TRAIN, "steps": -1},
    "TRAIN_LR_NAN": json.dumps(TRAIN)[:-1] + ', "lr": NaN}',
    "TRAIN_LR_NEG": {**TRAIN, "lr": -1e-4},
    "TRAIN_METRIC": {**TRAIN, "metric": "psnr"},
    "TRAIN_MILESTONES_NUM": {**TRAIN, "milestones": 5},
    "TRAIN_BATCH_ZERO": {**TRAIN, "batch_size": 0},
    "TRAIN_MODEL_STR": {**TRAIN, "model": "tiny"},
    "TRAIN_SHARE": {**TRAIN, "dead_leaves_share": 2},
    "TRAIN_PATCH_HUGE": {**TRAIN, "patch_size": 10**12},
    "TRAIN_LOG_ZERO": {**TRAIN, "log_every": 0},
    "TRAIN_AMP_STR": {**TRAIN, "amp": "true"},
    "TASK_SCENARIOS_STR": {"codecs": ["jpeg"], "scenarios": "full"},
    "TASK_SCORE": {"codecs": ["jpeg"], "score_threshold": 2},
    "TASK_PSEUDO_STR": {"codecs": ["jpeg"], "pseudo_score": "high"},
    "TASK_INSIDE": {"codecs": ["jpeg"], "min_inside": -0.5},
    "TASK_JOBS_NEG": {"codecs": ["jpeg"], "jobs": -2},
    "TASK_DOWNLOAD_NUM": {"codecs": ["jpeg"], "download": 1},
    "COCO_LIST": [1, 2],
    "COCO_IMAGES_OBJ": {**COCO, "images": {"id": 1}},
    "COCO_IMAGE_NO_ID": {**COCO, "images": [{"file_name": "a.png", "width": 64, "height": 64}]},
    "COCO_BBOX_3": {**COCO, "annotations": [{**COCO["annotations"][0], "bbox": [1, 2, 3]}]},
    "COCO_BBOX_NEG": {**COCO, "annotations": [{**COCO["annotations"][0], "bbox": [1, 2, -3, 4]}]},
    "COCO_UNKNOWN_IMAGE": {**COCO, "annotations": [{**COCO["annotations"][0], "image_id": 9}]},
    "COCO_UNKNOWN_CATEGORY": {**COCO, "annotations": [{**COCO["annotations"][0], "category_id": 9}]},
    "COCO_NO_CATEGORIES": {"images": COCO["images"], "annotations": COCO["annotations"]},
    "COCO_NAME_NUM": {**COCO, "images": [{**COCO["images"][0], "file_name": 7}]},
    "COCO_BBOX_NAN": json.dumps(COCO).replace("[4, 4, 20, 20]", "[4, NaN, 20, 20]"),
}


@pytest.fixture(scope="module")
def inputs(tmp_path_factory) -> dict[str, Path]:
    d = tmp_path_factory.mktemp("inputs")
    files = {"IN": d / "in.png", "DIR": d / "folder", "FILE": d / "plain.txt"}
    Image.fromarray(smooth_image(64, 64)).save(files["IN"])
    files["DIR"].mkdir()
    Image.fromarray(smooth_image(64, 64)).save(files["DIR"] / "a.png")
    files["FILE"].write_text("a file, not a folder")
    files["TRAINOK"] = REPO / "configs" / "train" / "ssic-tiny.json"
    for name, content in CONFIGS.items():
        files[name] = d / f"{name.lower()}.json"
        files[name].write_text(content if isinstance(content, str) else json.dumps(content))
    files["FIFO"] = d / "pipe.png"
    os.mkfifo(files["FIFO"])
    files["FIFOJSON"] = d / "pipe.json"
    os.mkfifo(files["FIFOJSON"])
    files["FIFONPY"] = d / "pipe.npy"
    os.mkfifo(files["FIFONPY"])
    files["FIFODIR"] = d / "fifos"  # a dataset whose only image is a pipe
    files["FIFODIR"].mkdir()
    os.mkfifo(files["FIFODIR"] / "x.png")
    files["ZERO"] = Path("/dev/zero")
    files["LONG"] = d / ("x" * 300 + ".bin")
    files["UNWRITABLE"] = Path("/proc/ssicbench-cannot-write-here")
    # images
    gif = [Image.fromarray(smooth_image(32, 32, seed=s)) for s in range(3)]
    files["ANIMATED"] = d / "animated.gif"
    gif[0].save(files["ANIMATED"], save_all=True, append_images=gif[1:])
    files["FLOAT"] = d / "float.tif"
    Image.fromarray(np.random.default_rng(0).random((32, 32), dtype=np.float32)).save(files["FLOAT"])
    files["CMYK"] = d / "cmyk.jpg"
    Image.fromarray(smooth_image(32, 32)).convert("CMYK").save(files["CMYK"])
    files["WIDE"] = d / "wide.png"
    Image.fromarray(smooth_image(8, 17000)).save(files["WIDE"])
    files["TRUNCNPY"] = d / "trunc.npy"
    np.save(files["TRUNCNPY"], np.zeros((2, 2), np.uint8))
    files["TRUNCNPY"].write_bytes(files["TRUNCNPY"].read_bytes()[:-2])
    # a training run folder whose checkpoint is damaged
    files["BADRUN"] = d / "badrun"
    files["BADRUN"].mkdir()
    (files["BADRUN"] / "last.pt").write_bytes(b"PK\x03\x04 not a checkpoint")
    files["GARBAGEPTH"] = d / "garbage.pth"
    files["GARBAGEPTH"].write_bytes(os.urandom(256))
    files["TRAIN_INIT_GARBAGE"] = d / "train_init.json"
    files["TRAIN_INIT_GARBAGE"].write_text(json.dumps({**TRAIN, "init": str(files["GARBAGEPTH"])}))
    return files


RD = ["rd", "--config"]  # no flags: each would override the key its config case is about
TASK = ["task", "--dataset", "images", "--images", "DIR", "--ground-truth", "detector", "--out", "OUT/task", "--quiet"]
COCO_TASK = ["task", "--codec", "jpeg", "--dataset", "coco", "--images", "DIR", "--out", "OUT/task", "--quiet"]
TRAIN_RUN = ["train", "--out", "OUT/t", "--dataset", "DIR", "--config"]
CASES = [
    # rd config types
    ([*RD, "RD_CODECS_STR"], "codecs: expected a list, got str 'jpeg'"),
    ([*RD, "RD_LIMIT_STR"], "limit: expected a whole number, got str '5'"),
    ([*RD, "RD_LIMIT_NEG"], "limit: expected a number in [0, 2.14748e+09], got -3"),
    ([*RD, "RD_LIMIT_HUGE"], "limit: expected a number in [0"),
    ([*RD, "RD_JOBS_FLOAT"], "jobs: expected a whole number, got float 2.5"),
    ([*RD, "RD_METRICS_STR"], "metrics: expected a list, got str 'psnr'"),
    ([*RD, "RD_DATASET_NUM"], "dataset: expected a string, got int 5"),
    ([*RD, "RD_QUIET_STR"], "quiet: expected true or false, got 'yes'"),
    ([*RD, "RD_OUT_LIST"], "out: expected a string, got list"),
    ([*RD, "RD_REPORT_STR"], "report: expected an object {...}, got str 'kodak'"),
    ([*RD, "RD_PUBLISHED_STR"], "report.published: expected a list, got str"),
    ([*RD, "RD_ANCHORS_NUM"], "report.anchors[0]: expected a string, got int 1"),
    ([*RD, "RD_EXECUTOR_NUM"], "executor: expected an object {...}, got int 5"),
    ([*RD, "RD_EXECUTOR_KIND"], "unknown executor 'slurm'; known: local, ray"),
    ([*RD, "RD_GPUS_NAN"], "executor.gpus_per_job: expected a finite number, got nan"),
    ([*RD, "RD_VERSION_STR"], "config version '1'; this suite reads version 1"),
    ([*RD, "RD_DESCRIPTION_NUM"], "description: expected a string, got int 5"),
    ([*RD, "RD_DEEP"], "is nested too deeply"),
    ([*RD, "RD_HUGE_INT"], "is not usable JSON"),
    ([*RD, "RD_QUALITY_NAN"], "quality must be a number in [0, 100], got nan"),
    ([*RD, "RD_QUALITY_FRACTION"], "jpeg: quality must be a whole number, got 50.9"),
    ([*RD, "RD_OPTIONS_LIST"], "codec entry"),
    ([*RD, "RD_INFINITY"], "jobs: expected a whole number, got float inf"),
    (["rd", "--dataset", "DIR", "--codec", "jpeg", "--qualities", "50.9"], "quality must be a whole number, got 50.9"),
    (["compress", "--codec", "jpeg", "--quality", "50.9", "IN", "OUT/x.bin"], "whole number, got 50.9"),
    (["compress", "--codec", "webp", "--quality", "nan", "IN", "OUT/x.bin"], "got nan"),
    # train config types, damaged checkpoints
    ([*TRAIN_RUN, "TRAIN_STEPS_STR"], "steps: expected a whole number, got str '100'"),
    ([*TRAIN_RUN, "TRAIN_STEPS_NEG"], "steps: expected a number in [0"),
    ([*TRAIN_RUN, "TRAIN_LR_NAN"], "lr: expected a finite number, got nan"),
    ([*TRAIN_RUN, "TRAIN_LR_NEG"], "lr: expected a number in [0, 1e+12], got -0.0001"),
    ([*TRAIN_RUN, "TRAIN_METRIC"], "metric: expected one of mse, ms-ssim, got 'psnr'"),
    ([*TRAIN_RUN, "TRAIN_MILESTONES_NUM"], "milestones: expected a list, got int 5"),
    ([*TRAIN_RUN, "TRAIN_BATCH_ZERO"], "batch_size: expected a number in [1, 65536], got 0"),
    ([*TRAIN_RUN, "TRAIN_MODEL_STR"], "model: expected an object {...}, got str 'tiny'"),
    ([*TRAIN_RUN, "TRAIN_SHARE"], "dead_leaves_share: expected a number in [0, 1], got 2"),
    ([*TRAIN_RUN, "TRAIN_PATCH_HUGE"], "patch_size: expected a number in [16, 8192]"),
    ([*TRAIN_RUN, "TRAIN_LOG_ZERO"], "log_every: expected a number in [1"),
    ([*TRAIN_RUN, "TRAIN_AMP_STR"], "amp: expected true or false, got 'true'"),
    (["train", "--config", "TRAINOK", "--set", "lr=NaN", "--out", "OUT/t"], "lr: expected a finite number"),
    (["train", "--config", "TRAINOK", "--set", "steps=-5", "--out", "OUT/t"], "steps: expected a number in"),
    (["train", "--config", "TRAIN_INIT_GARBAGE", "--dataset", "DIR", "--out", "OUT/t"], "is not a checkpoint"),
    (["export", "BADRUN", "OUT/x.pth"], "is not a checkpoint"),
    (
        ["train", "--config", "TRAINOK", "--dataset", "DIR", "--set", "patch_size=32", "--out", "BADRUN"],
        "last.pt is not",
    ),
    (["export", "DIR", "OUT/x.pth"], "last.pt does not exist"),
    # task config types and COCO files
    ([*TASK, "--config", "TASK_SCENARIOS_STR"], "scenarios: expected a list, got str 'full'"),
    ([*TASK, "--config", "TASK_SCORE"], "score_threshold: expected a number in [0, 1], got 2"),
    ([*TASK, "--config", "TASK_PSEUDO_STR"], "pseudo_score: expected a number, got str 'high'"),
    ([*TASK, "--config", "TASK_INSIDE"], "min_inside: expected a number in [0, 1], got -0.5"),
    (["task", "--codec", "jpeg", "--ground-truth", "labels"], "invalid choice: 'labels'"),
    ([*TASK, "--config", "TASK_JOBS_NEG"], "jobs: expected a number in [0, 4096], got -2"),
    ([*TASK, "--config", "TASK_DOWNLOAD_NUM"], "download: expected true or false, got 1"),
    ([*COCO_TASK, "--annotations", "COCO_LIST"], "must hold a JSON object"),
    ([*COCO_TASK, "--annotations", "COCO_IMAGES_OBJ"], "images: expected a list"),
    ([*COCO_TASK, "--annotations", "COCO_IMAGE_NO_ID"], "images[0]: missing 'id'"),
    ([*COCO_TASK, "--annotations", "COCO_BBOX_3"], "annotations[0].bbox: expected 4 numbers"),
    ([*COCO_TASK, "--annotations", "COCO_BBOX_NEG"], "annotations[0].bbox: expected 4 numbers"),
    ([*COCO_TASK, "--annotations", "COCO_UNKNOWN_IMAGE"], "annotations[0].image_id: 9 is not an image id"),
    ([*COCO_TASK, "--annotations", "COCO_UNKNOWN_CATEGORY"], "annotations[0].category_id: 9 is not a category"),
    ([*COCO_TASK, "--annotations", "COCO_NO_CATEGORIES"], "categories: missing"),
    ([*COCO_TASK, "--annotations", "COCO_NAME_NUM"], "images[0].file_name: expected a string, got int 7"),
    ([*COCO_TASK, "--annotations", "COCO_BBOX_NAN"], "annotations[0].bbox: expected 4 numbers"),
    ([*COCO_TASK, "--annotations", "FIFOJSON"], "named pipe"),
    # files that are not regular files: refused without being opened (no hang)
    (["compress", "--codec", "jpeg", "FIFO", "OUT/x.bin"], "it is a named pipe, not a regular file"),
    (["compress", "--codec", "jpeg", "ZERO", "OUT/x.bin"], "it is a device, not a regular file"),
    (["decompress", "FIFO", "OUT/x.png"], "it is a named pipe"),
    (["compress", "--codec", "ssic-tiny", "--mask", "FIFONPY", "IN", "OUT/x.bin"], "it is a named pipe"),
    ([*RD, "FIFOJSON"], "it is a named pipe"),
    (["train", "--config", "FIFOJSON", "--out", "OUT/t"], "it is a named pipe"),
    (["report", "--published", "FIFOJSON", "--out", "OUT/rep"], "unknown published set or file"),
    (["compress", "--codec", "ssic-tiny", "--mask", "TRUNCNPY", "IN", "OUT/x.bin"], "is not a plain .npy array"),
    # unwritable outputs: one line naming the path
    (["compress", "--codec", "jpeg", "IN", "LONG"], "File name too long"),
    (["compress", "--codec", "jpeg", "IN", "UNWRITABLE/x.bin"], "ssicbench-cannot-write-here"),
    (["decompress", "JPEGBIN", "UNWRITABLE/x.png"], "ssicbench-cannot-write-here"),
    (["rd", "--codec", "jpeg", "--dataset", "DIR", "--out", "UNWRITABLE", "--quiet"], "ssicbench-cannot-write-here"),
    ([*TASK, "--codec", "jpeg", "--out", "UNWRITABLE"], "ssicbench-cannot-write-here"),
    ([*TASK, "--codec", "jpeg", "--out", "FILE"], "is a file"),
    ([*TRAIN_RUN, "TRAIN_STEPS_NEG", "--out", "FILE"], "expected a number"),
    (["train", "--config", "TRAINOK", "--dataset", "DIR", "--out", "FILE"], "is a file"),
    (["report", "DIR", "--out", "FILE"], "is a file"),
    (["rd", "--codec", "jpeg", "--dataset", "DIR", "--out", "FILE/sub", "--quiet"], "is a file"),
    (["export", "BADRUN", "UNWRITABLE/x.pth"], "is not a checkpoint"),
    # outputs that would overwrite their input
    (["compress", "--codec", "jpeg", "IN", "IN"], "is the input"),
    (["decompress", "JPEGBIN", "JPEGBIN"], "is the input"),
    # images the suite cannot read as 8-bit RGB without guessing
    (["compress", "--codec", "jpeg", "ANIMATED", "OUT/x.bin"], "has 3 frames"),
    (["compress", "--codec", "jpeg", "FLOAT", "OUT/x.bin"], "floating-point image"),
    (["compress", "--codec", "jpeg", "CMYK", "OUT/x.bin"], "CMYK image"),
    # codecs: image sizes and options they cannot take
    (["compress", "--codec", "webp", "WIDE", "OUT/x.bin"], "webp: images up to 16383 x 16383 pixels"),
    (["compress", "--codec", "avif", "--option", "speed=abc", "IN", "OUT/x.bin"], "speed"),
    (["compress", "--codec", "avif", "--option", "speed=99", "IN", "OUT/x.bin"], "speed"),
    (["compress", "--codec", "ssic-tiny", "--option", "max_memory_mb=-5", "IN", "OUT/x.bin"], "max_memory_mb"),
    (["compress", "--codec", "ssic-tiny", "--option", "max_memory_mb=abc", "IN", "OUT/x.bin"], "max_memory_mb"),
    (["compress", "--codec", "ssic-tiny", "--device", "tpu", "IN", "OUT/x.bin"], "device"),
    (["compress", "--codec", "ssic-tiny", "--device", "cuda", "IN", "OUT/x.bin"], "no CUDA device"),
    (["compress", "--codec", "mbt2018-mse", "--device", "cuda:x", "IN", "OUT/x.bin"], "device"),
]


@pytest.fixture(scope="module")
def jpeg_container(inputs) -> Path:
    path = inputs["IN"].parent / "jpeg.bin"
    assert run_cli_plain(["compress", "--codec", "jpeg", str(inputs["IN"]), str(path)]) == 0
    return path


def run_cli_plain(argv: list[str]) -> int:
    from ssicbench.cli import main

    return main(argv)


@pytest.mark.parametrize("argv, message", CASES, ids=[" ".join(a[:2] + a[-3:]) for a, _ in CASES])
def test_bad_input_is_one_line_exit_2_and_leaves_no_output(
    argv, message, inputs, jpeg_container, tmp_path, capsys, monkeypatch
):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "")  # no GPU, whatever the machine has
    assert_refused(argv, message, {**inputs, "JPEGBIN": jpeg_container}, tmp_path, capsys)


def test_there_are_at_least_80_cases():
    assert len(CASES) >= 80
