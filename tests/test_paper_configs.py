"""The paper's studies as configs: `configs/paper/ssic-kodak-rd.json` runs on official-layout checkpoints found by
quality in a folder (`--checkpoint-dir`), here random-weight ones of the small architecture the test writes, and
every way a checkpoint folder can be wrong is one line naming what was found and what was expected."""

from __future__ import annotations

import json
import subprocess
import sys

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
