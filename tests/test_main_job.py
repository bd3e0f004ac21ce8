"""The README's main job is the Kodak RD study: its config, and what an `rd` run writes (figures, BD tables
against two anchors, the summary page, the elapsed time)."""

import json

from conftest import REPO

from ssicbench.cli import main
from ssicbench.codec_spec import CodecSpec
from ssicbench.codecs import create_codec
from ssicbench.published import load_published


def test_the_default_config_is_the_kodak_study_with_every_ssic_rate_point():
    config = json.loads((REPO / "configs" / "default.json").read_text())
    assert config["dataset"] == "kodak"
    specs = [CodecSpec.from_config(entry) for entry in config["codecs"]]
    assert {"jpeg", "webp", "avif", "ssic-tiny"} <= {s.name for s in specs}
    ssic = [s for s in specs if s.name == "ssic-tiny"]
    assert {s.decode for s in ssic} == {"all", "objects", "full"} and all(s.masks == "kodak" for s in ssic)
    assert any(s.name == "jpeg" and s.decode == "bbox-crops" for s in specs)  # the rectangular-crop baseline
    assert all("qualities" not in e for e in config["codecs"] if e["name"] == "ssic-tiny")
    assert all(s.qualities == tuple(create_codec("ssic-tiny").qualities) for s in ssic)
    published = {c.name for c in load_published(config["report"]["published"])}
    names = published | {s.display for s in specs}
    assert set(config["report"]["anchors"]) == {"jpeg", "VTM"} and set(config["report"]["anchors"]) <= names


def test_an_rd_run_writes_figures_bd_tables_against_both_anchors_and_a_summary(tmp_path, capsys):
    out = tmp_path / "run"
    argv = ["rd", "--codecs", "jpeg", "--qualities", "10", "30", "50", "80", "--dataset", "kodak", "--limit", "1"]
    argv += ["--metrics", "psnr", "ms-ssim", "--out", str(out), "--published", "kodak", "--anchor", "jpeg", "VTM"]
    assert main([*argv, "--quiet"]) == 0
    printed = capsys.readouterr().out
    assert "elapsed:" in printed.splitlines()[-1]
    assert (out / "rd_psnr.png").stat().st_size > 10_000 and (out / "rd_ms_ssim_db.png").stat().st_size > 10_000
    bd = (out / "bd_table.md").read_text()
    assert "BD against `jpeg`" in bd and "BD against `VTM`" in bd and "nan" not in bd.lower()
    summary = (out / "README.md").read_text()
    assert "# RD study: kodak (1 images)" in summary and "Machine:" in summary
    assert "![rd_psnr](rd_psnr.png)" in summary and "BD against `VTM`" in summary
    assert "- `jpeg`: weights: none (classical codec)." in summary
    assert "SSIC paper (structured ChARM) (read off a figure" in summary
