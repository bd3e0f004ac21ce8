"""Run configs are typed and versioned: a misspelt key is refused with the known ones listed, flags override
keys of the same name, and `rd` and `task` read codecs the same way and share flag spellings."""

from __future__ import annotations

import json

import pytest

from ssicbench.cli import build_parser, main
from ssicbench.config import RDConfig, codec_specs
from ssicbench.errors import BenchError
from ssicbench.tasks.cli import task_config
from ssicbench.tasks.config import TaskConfig
from ssicbench.training.config import TrainConfig

KINDS = [RDConfig, TaskConfig, TrainConfig]


@pytest.mark.parametrize("kind", KINDS)
def test_unknown_keys_are_refused_with_the_known_ones_listed(kind, tmp_path):
    (tmp_path / "c.json").write_text(json.dumps({"description": "a run", "datset": "kodak"}))
    with pytest.raises(BenchError, match=r"unknown .*config keys: datset .*; known: version, description, .*dataset"):
        kind.load(tmp_path / "c.json")


@pytest.mark.parametrize("kind", KINDS)
def test_other_versions_are_refused(kind):
    assert kind.from_dict({}).version == 1
    with pytest.raises(BenchError, match="version 2"):
        kind.from_dict({"version": 2})


def test_rd_report_section_and_metrics_are_checked():
    with pytest.raises(BenchError, match=r"unknown report keys: anker; known: published, anchor"):
        RDConfig.from_dict({"report": {"anker": "jpeg"}})
    known = r"'metrics': unknown metric\(s\) psnr-hsv; known: psnr, ms-ssim, .*psnr-hvs-m"
    with pytest.raises(BenchError, match=known):
        RDConfig.from_dict({"metrics": ["psnr", "psnr-hsv"]})


def test_every_shipped_config_loads():
    from conftest import REPO

    cfg = RDConfig.load(REPO / "configs" / "default.json")
    assert cfg.codecs and cfg.out == "results/default"
    assert cfg.report.anchors == ["jpeg", "VTM"] and cfg.report.published == ["kodak"] and cfg.jobs == 0
    for path in sorted((REPO / "configs" / "tasks").glob("*.json")):
        assert TaskConfig.load(path).codecs
    for path in sorted((REPO / "configs" / "train").glob("*.json")):
        assert TrainConfig.load(path).arch.startswith("ssic-")


def test_codec_entries_are_read_once_for_both_sweeps():
    specs = codec_specs(["jpeg", {"name": "webp", "qualities": [50], "label": "WebP"}], "rd")
    from ssicbench.codecs import create_codec

    jpeg = ("jpeg", tuple(create_codec("jpeg").qualities), "jpeg")
    assert [(s.name, s.qualities, s.display) for s in specs] == [jpeg, ("webp", (50,), "WebP")]
    with pytest.raises(BenchError, match="no other keys"):
        codec_specs([{"name": "jpeg", "quality": [50]}], "task")
    with pytest.raises(BenchError, match="share a name"):
        codec_specs(["jpeg", "jpeg"], "rd")


def test_flags_override_config_keys_and_old_spellings_still_parse(tmp_path):
    config = tmp_path / "t.json"
    config.write_text(json.dumps({"codecs": ["webp"], "scenarios": ["full"], "limit": 5, "masks": "detector"}))
    parser = build_parser()
    old = parser.parse_args(["task", "--task-config", str(config), "--codecs", "jpeg", "--run", "r", "--limit", "2"])
    new = parser.parse_args(["task", "--config", str(config), "--codec", "jpeg", "--out", "results/r", "--limit", "2"])
    for args in (old, new):
        cfg = task_config(args)
        assert [c["name"] for c in cfg.codecs] == ["jpeg"] and cfg.limit == 2 and cfg.out == "results/r"
        assert cfg.scenarios == ["full"] and cfg.masks == "detector"  # keys no flag overrides keep their value
    study = task_config(parser.parse_args(["task", "--task-config", "configs/tasks/kodak.json", "--results-dir", "R"]))
    assert study.out == "R/tasks-kodak" and study.ground_truth == "detector" and study.pseudo_score == 0.3
    rd = parser.parse_args(["rd", "--codecs", "jpeg", "--codec", "webp", "--config", str(config)])
    assert rd.codec == ["jpeg", "webp"]


def test_a_bad_config_is_one_line_and_exit_status_2(tmp_path, capsys):
    (tmp_path / "bad.json").write_text('{"codecs": ["jpeg"], "jobz": 2}')
    (tmp_path / "broken.json").write_text('{"codecs": [')
    assert main(["rd", "--config", str(tmp_path / "bad.json")]) == 2
    assert main(["task", "--config", str(tmp_path / "broken.json")]) == 2
    assert main(["rd", "--config", str(tmp_path / "absent.json")]) == 2
    lines = capsys.readouterr().err.splitlines()
    assert len(lines) == 3 and "jobz" in lines[0] and "is not JSON" in lines[1] and "does not exist" in lines[2]
