"""BD-rate/BD-PSNR agree with the reference `bjontegaard` package; published curves load as curves; plots are
written."""

import bjontegaard
import numpy as np
import pytest

from ssicbench.report import bd_quality, bd_rate, bd_table, write_report
from ssicbench.results import Curve, read_compressai_json, read_curves, write_compressai_json

ANCHOR = ([0.25, 0.5, 1.0, 2.0], [28.0, 31.0, 34.5, 38.0])
TEST = ([0.22, 0.45, 0.85, 1.7], [28.4, 31.6, 35.0, 38.3])


@pytest.mark.parametrize("method", ["cubic", "pchip"])
def test_bd_rate_matches_bjontegaard_package(method):
    ours = bd_rate(*ANCHOR, *TEST, method=method)
    theirs = bjontegaard.bd_rate(*ANCHOR, *TEST, method=method)
    assert ours == pytest.approx(theirs, abs=1e-6)
    assert ours < 0  # the test codec needs fewer bits at equal PSNR


@pytest.mark.parametrize("method", ["cubic", "pchip"])
def test_bd_psnr_matches_bjontegaard_package(method):
    ours = bd_quality(*ANCHOR, *TEST, method=method)
    theirs = bjontegaard.bd_psnr(*ANCHOR, *TEST, method=method)
    assert ours == pytest.approx(theirs, abs=1e-6)
    assert ours > 0


def test_identical_curves_have_zero_delta():
    assert bd_rate(*ANCHOR, *ANCHOR) == pytest.approx(0, abs=1e-9)
    assert bd_quality(*ANCHOR, *ANCHOR) == pytest.approx(0, abs=1e-9)


def test_halving_every_rate_is_minus_50_percent():
    rates, psnr = ANCHOR
    assert bd_rate(rates, psnr, [r / 2 for r in rates], psnr) == pytest.approx(-50.0, abs=1e-6)


def test_published_kodak_curves_load_and_compare(published_dir):
    curves = read_curves([published_dir])
    names = {c.name for c in curves}
    assert {"JPEG", "VTM", "WebP"} <= names
    jpeg = next(c for c in curves if c.name == "JPEG")
    assert jpeg.published and len(jpeg.bpp) == 19 and np.all(np.diff(jpeg.bpp) > 0)
    table = bd_table(curves, "JPEG", metrics=("psnr",)).set_index("codec")
    assert table.loc["JPEG", "bd_rate_psnr_%"] == pytest.approx(0, abs=1e-9)
    assert table.loc["VTM", "bd_rate_psnr_%"] < -50  # VTM needs far fewer bits than JPEG on Kodak


def test_compressai_json_round_trip(tmp_path):
    curve = Curve("x", {"bpp": [0.1, 0.2, 0.4], "psnr": [30.0, 32.0, 34.0], "ms_ssim": [0.9, 0.95, 0.97]})
    write_compressai_json(curve, tmp_path / "x.json")
    back = read_compressai_json(tmp_path / "x.json")
    assert back.values["psnr"] == curve.values["psnr"] and back.values["bpp"] == curve.values["bpp"]
    assert back.values["ms_ssim_db"][0] == pytest.approx(10.0)


def test_report_writes_plots_and_tables(tmp_path):
    curves = [Curve("a", {"bpp": ANCHOR[0], "psnr": ANCHOR[1]}), Curve("b", {"bpp": TEST[0], "psnr": TEST[1]})]
    written = write_report(curves, tmp_path, anchor="a")
    assert written["rd_psnr"].stat().st_size > 1000
    assert "rd_ms_ssim_db" not in written  # no curve has MS-SSIM
    assert (tmp_path / "bd_table.md").read_text().count("|") > 4
