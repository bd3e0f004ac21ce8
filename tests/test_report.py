"""BD-rate/BD-PSNR agree with the reference `bjontegaard` package; published curves load as curves; plots are
written."""

import bjontegaard
import numpy as np
import pytest

from ssicbench.report import PerImage, bd_markdown, bd_quality, bd_rate, bd_table, bd_tables, write_report
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
    written, tables = write_report(curves, tmp_path, anchors=["a"])
    assert written["rd_psnr"].stat().st_size > 1000
    assert "rd_ms_ssim_db" not in written  # no curve has MS-SSIM
    assert (tmp_path / "bd_table.md").read_text().count("|") > 4
    assert list(tables) == ["bd_table"] and tables["bd_table"].set_index("codec").loc["a", "bd_rate_psnr_%"] == 0


def test_bd_uses_each_curve_pareto_front_so_a_noisy_dip_cannot_fake_a_gain():
    """A point beaten by a cheaper one (AP on few instances is noisy) is dropped before the BD fit."""
    anchor = Curve("a", {"bpp": ANCHOR[0], "psnr": ANCHOR[1]})
    clean = Curve("b", {"bpp": TEST[0], "psnr": TEST[1]})
    dip = Curve("dip", {"bpp": [*TEST[0], 0.5 * (TEST[0][1] + TEST[0][2])], "psnr": [*TEST[1], TEST[1][0] - 1.0]})
    table = bd_table([anchor, clean, dip], "a").set_index("codec")
    assert table.loc["dip", "bd_rate_psnr_%"] == pytest.approx(table.loc["b", "bd_rate_psnr_%"])
    three = Curve("three", {"bpp": [0.1, 0.2, 0.3, 0.4], "psnr": [30.0, 31.0, 30.5, 32.0]})
    note = bd_table([anchor, three], "a").set_index("codec").loc["three", "psnr_note"]
    assert note == "curve has 3 rate point(s) (1 beaten by a cheaper point); BD needs >= 4"


def test_a_bd_cell_that_cannot_be_computed_says_why():
    anchor = Curve("a", {"bpp": ANCHOR[0], "psnr": ANCHOR[1], "ms_ssim_db": [10.0, 12.0, 14.0, 16.0]})
    curves = [
        anchor,
        Curve("b", {"bpp": TEST[0], "psnr": TEST[1]}),
        Curve("one-point", {"bpp": [0.3], "psnr": [30.0], "ms_ssim_db": [11.0]}),
        Curve("far", {"bpp": [8.0, 9.0, 10.0, 11.0], "psnr": [50.0, 51.0, 52.0, 53.0]}),
        Curve("region", {"bpp": [0.2, 0.3, 0.4, 0.5], "psnr_objects": [30.0, 31.0, 32.0, 33.0]}),
    ]
    table = bd_table(curves, "a").set_index("codec")
    assert np.isfinite(table.loc["b", "bd_rate_psnr_%"]) and np.isfinite(table.loc["b", "bd_psnr"])
    assert table.loc["b", "psnr_note"] == (  # computed, with what to bear in mind: 38.3 dB is past the anchor's top
        "BD-rate: 3 anchor point(s) inside the overlap of the PSNR ranges; "
        "BD-rate: 3 curve point(s) inside the overlap of the PSNR ranges"
    )
    assert table.loc["b", "ms_ssim_db_note"] == "curve has no MS-SSIM"
    assert "1 rate point(s); BD needs >= 4" in table.loc["one-point", "psnr_note"]
    assert "PSNR ranges do not overlap" in table.loc["far", "psnr_note"]
    assert "rate ranges do not overlap" in table.loc["far", "psnr_note"]
    assert table.loc["region", "psnr_note"] == "a partial decode has no whole-image quality (see the region table)"
    for _, row in table.iterrows():  # every NaN cell has a reason
        for metric in ("psnr", "ms_ssim_db"):
            if np.isnan(row[f"bd_rate_{metric}_%"]) or np.isnan(row[f"bd_{metric}"]):
                assert row[f"{metric}_note"]
    markdown = bd_markdown(bd_tables(curves, ["a", "b", "not-a-curve"]))
    assert "BD against `a`" in markdown and "BD against `b`" in markdown and "not-a-curve" not in markdown
    assert "nan" not in markdown.lower() and "n/a" in markdown and "BD needs >= 4" in markdown


def paired_study(images: int, seed: int = 0):
    """An anchor and a test codec measured on the same `images`: per image the test spends 0-20 % fewer bits for
    the same PSNR; images differ in difficulty (rate and PSNR offsets)."""
    rng = np.random.default_rng(seed)
    rates, psnr = np.array([0.25, 0.5, 1.0, 2.0]), np.array([28.0, 31.0, 34.5, 38.0])
    anchor_bpp = rates[:, None] * rng.uniform(0.8, 1.25, (1, images))
    anchor_psnr = psnr[:, None] + rng.normal(0.0, 1.0, (1, images))
    test_bpp = anchor_bpp * rng.uniform(0.8, 1.0, (1, images))
    names = [f"im{i}" for i in range(images)]
    per = {"a": PerImage(names, {"bpp": anchor_bpp, "psnr": anchor_psnr})}
    per["t"] = PerImage(names, {"bpp": test_bpp, "psnr": anchor_psnr})
    curves = [Curve(n, {"bpp": p.values["bpp"].mean(1), "psnr": p.values["psnr"].mean(1)}) for n, p in per.items()]
    return bd_table(curves, "a", ("psnr",), images=per).set_index("codec")


def test_bootstrap_intervals_over_images_hold_the_estimate_and_shrink_with_more_images():
    widths = {}
    for images in (6, 48):
        row = paired_study(images).loc["t"]
        assert row["bd_rate_psnr_%_low"] <= row["bd_rate_psnr_%"] <= row["bd_rate_psnr_%_high"] < 0
        assert 0 < row["bd_psnr_low"] <= row["bd_psnr"] <= row["bd_psnr_high"]
        widths[images] = row["bd_rate_psnr_%_high"] - row["bd_rate_psnr_%_low"]
    assert widths[48] < 0.6 * widths[6]  # ~1/sqrt(images): 0.35 expected
    anchor = paired_study(6).loc["a"]  # the anchor against itself, resampled in pairs: exactly no difference
    assert anchor["bd_rate_psnr_%_low"] == pytest.approx(0, abs=1e-9) == anchor["bd_rate_psnr_%_high"]


def test_bootstrap_interval_is_the_percentile_interval_of_bd_on_every_resample():
    """The table's interval is exactly that of BD (cubic, each curve's Pareto front) on each resample of images,
    including resamples where a noisy point drops off a front."""
    from ssicbench import bootstrap
    from ssicbench.report import pareto_front

    rng = np.random.default_rng(3)
    images = 8
    names = [f"im{i}" for i in range(images)]
    rates, psnr = np.array([0.25, 0.5, 0.55, 1.0, 2.0]), np.array([28.0, 31.0, 31.2, 34.5, 38.0])
    per = {}
    for name, gain in (("a", 1.0), ("t", 0.9)):
        per[name] = PerImage(
            names,
            {
                "bpp": rates[:, None] * gain * rng.uniform(0.8, 1.25, (1, images)),
                "psnr": psnr[:, None] + rng.normal(0.0, 0.3, (len(rates), images)),
            },
        )
    curves = [Curve(n, {"bpp": p.values["bpp"].mean(1), "psnr": p.values["psnr"].mean(1)}) for n, p in per.items()]
    row = bd_table(curves, "a", ("psnr",), images=per).set_index("codec").loc["t"]
    draws = bootstrap.resamples(images)
    expected_rate, expected_psnr, dropped = [], [], 0
    for draw in draws:
        a = pareto_front(per["a"].values["bpp"][:, draw].mean(1), per["a"].values["psnr"][:, draw].mean(1))
        t = pareto_front(per["t"].values["bpp"][:, draw].mean(1), per["t"].values["psnr"][:, draw].mean(1))
        dropped += min(len(a[0]), len(t[0])) < len(rates)
        ok = min(len(a[0]), len(t[0])) >= 4
        expected_rate.append(bd_rate(*a, *t) if ok else np.nan)
        expected_psnr.append(bd_quality(*a, *t) if ok else np.nan)
    assert 0 < dropped < len(draws)  # both kinds of resample occur
    low, high = bootstrap.interval(np.array(expected_rate))
    assert (row["bd_rate_psnr_%_low"], row["bd_rate_psnr_%_high"]) == (pytest.approx(low), pytest.approx(high))
    low, high = bootstrap.interval(np.array(expected_psnr))
    assert (row["bd_psnr_low"], row["bd_psnr_high"]) == (pytest.approx(low), pytest.approx(high))
