"""Every extension kind plugs in through one file (CONTRIBUTING.md, "Adding one in one file"): the test-only
plug-ins in tests/plugins/ register a dataset, a detector with options, a scenario and an executor with an option,
and the command line runs them by name (in a process of its own, as a user runs it: the registrations never
leak into other tests)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from conftest import REPO, smooth_image
from PIL import Image

PLUGINS = Path(__file__).parent / "plugins"


def plugin(name: str) -> list[str]:
    return ["--plugin", str(PLUGINS / f"example_{name}.py")]


def cli(argv: list[str], **env: str) -> subprocess.CompletedProcess:
    command = [sys.executable, str(REPO / "run_bench.py"), *argv]
    return subprocess.run(command, capture_output=True, text=True, env={**os.environ, **env}, timeout=600)


def main(argv: list[str], **env: str) -> int:
    done = cli(argv, **env)
    assert "Traceback" not in done.stderr, done.stderr
    return done.returncode


def run_cli(argv: list[str]) -> tuple[int, str]:
    done = cli(argv)
    return done.returncode, done.stderr


def task_rows(out: Path) -> pd.DataFrame:
    return pd.DataFrame(json.loads(p.read_text()) for p in (out / "task_rows").glob("*.json"))


@pytest.fixture
def photos(tmp_path) -> Path:
    folder = tmp_path / "photos"
    folder.mkdir()
    for i in range(2):
        Image.fromarray(smooth_image(96, 128, seed=i)).save(folder / f"p{i}.png")
    return folder


def test_a_dataset_plugin_is_swept_by_name(tmp_path):
    argv = ["rd", "--dataset", "test-gradients", "--codec", "jpeg", "--qualities", "50", "--metrics", "psnr"]
    made = {"SSICBENCH_TEST_GRADIENTS": str(tmp_path / "made")}
    assert main([*plugin("dataset"), *argv, "--out", str(tmp_path / "run"), "--quiet"], **made) == 0
    rows = pd.read_csv(tmp_path / "run" / "rows.csv")
    assert sorted(rows["image"]) == ["gradient0.png", "gradient1.png", "gradient2.png"]
    assert (rows["status"] == "ok").all() and (rows["dataset"] == "test-gradients").all()


def test_a_detector_plugin_takes_its_options_from_the_command_line(photos, tmp_path):
    argv = ["task", "--detector", "test-fixed-boxes", "--detector-option", "boxes=2", "--codec", "jpeg",
            "--qualities", "50", "--scenario", "full", "--dataset", "images", "--images", str(photos),
            "--ground-truth", "detector", "--out", str(tmp_path / "t"), "--quiet"]  # fmt: skip
    assert main([*plugin("detector"), *argv]) == 0
    rows = task_rows(tmp_path / "t")
    assert (rows["status"] == "ok").all() and {len(d) for d in rows["detections"]} == {2}


@pytest.mark.parametrize(
    "option, message",
    [
        ("boxez=2", "detector test-fixed-boxes does not take option boxez (it takes option boxes, option score)"),
        ("boxes=two", "detector test-fixed-boxes: option boxes: expected a whole number, got str 'two'"),
    ],
)
def test_a_detector_plugin_refuses_options_it_does_not_take(option, message, photos, tmp_path):
    argv = ["task", "--detector", "test-fixed-boxes", "--detector-option", option, "--codec", "jpeg",
            "--dataset", "images", "--images", str(photos), "--ground-truth", "detector", "--out",
            str(tmp_path / "t")]  # fmt: skip
    status, err = run_cli([*plugin("detector"), *argv])
    assert status == 2 and err.strip() == f"error: {message}"
    assert not (tmp_path / "t").exists()


def test_a_scenario_plugin_is_transmitted_and_scored(photos, tmp_path):
    argv = ["task", "--codec", "jpeg", "--qualities", "50", "--scenario", "full", "--scenario", "test-half",
            "--dataset", "images", "--images", str(photos), "--ground-truth", "detector", "--out",
            str(tmp_path / "t"), "--quiet"]  # fmt: skip
    assert main([*plugin("scenario"), *argv]) == 0
    rows = task_rows(tmp_path / "t")
    coded = rows[rows["codec"] == "jpeg"].pivot(index="image_id", columns="scenario", values="bytes")
    assert len(coded) == 2 and (coded["test-half"] < coded["full"]).all()  # a quarter of the pixels costs less


def test_an_executor_plugin_runs_the_jobs_with_its_option(photos, tmp_path):
    log = tmp_path / "ran.txt"
    argv = ["rd", "--executor", "test-reverse", "--executor-option", f"log={log}", "--codec", "jpeg",
            "--qualities", "30", "60", "--dataset", str(photos), "--metrics", "psnr", "--out",
            str(tmp_path / "run"), "--quiet"]  # fmt: skip
    assert main([*plugin("executor"), *argv]) == 0
    keys = log.read_text().splitlines()
    rows = pd.read_csv(tmp_path / "run" / "rows.csv")
    assert len(keys) == len(rows) == 4 and (rows["status"] == "ok").all()
    assert keys[0].startswith("jpeg|q=60|") and keys[-1].startswith("jpeg|q=30|")  # the last job ran first


def test_an_executor_option_it_does_not_take_is_one_line(photos, tmp_path):
    argv = ["rd", "--executor", "test-reverse", "--executor-option", "speed=3", "--codec", "jpeg", "--dataset",
            str(photos), "--out", str(tmp_path / "run")]  # fmt: skip
    status, err = run_cli([*plugin("executor"), *argv])
    assert status == 2 and err.strip() == "error: executor test-reverse does not take speed (it takes n_jobs, log)"


def test_a_plugin_that_is_not_there_is_one_line():
    status, err = run_cli(["--plugin", "no/such/plugin.py", "codecs"])
    assert status == 2 and err.strip() == "error: --plugin no/such/plugin.py: no such file"
