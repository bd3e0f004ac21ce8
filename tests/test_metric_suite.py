"""The metric suite: every metric reproduces an independent value (the published test vectors of the reference
implementations, or a value worked out by hand), lower-is-better metrics enter BD the right way round, the
JPEG-AI-style average says what it averages, and a metric added in one file reaches rows, CompressAI JSON,
figures and BD tables."""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from conftest import REPO, smooth_image
from PIL import Image

from ssicbench import metrics
from ssicbench.report import JPEG_AI_METRICS, bd_markdown, bd_tables
from ssicbench.results import Curve

VECTORS = Path(__file__).parent / "data" / "metric_vectors"  # provenance: data/metric_vectors/README.md


def rgb(name: str) -> np.ndarray:
    """A test vector as HxWx3 uint8 (a greyscale one as three equal channels: its luma is its grey value)."""
    return np.asarray(Image.open(VECTORS / name).convert("RGB"))


# (metric, column, reference, decoded, published value, where it comes from); rtol 1e-3
PUBLISHED = [
    ("fsim", "fsim", "goldhill.png", "goldhill_jpeg.png", 0.89691, "FSIM, authors' MATLAB (piq tests)"),
    ("fsim", "fsim", "tid2013_I01.png", "tid2013_i01_01_5.png", 0.92587, "FSIMc, authors' MATLAB (piq tests)"),
    ("vif", "vif", "goldhill.png", "goldhill_jpeg.png", 0.2665, "VIFp, authors' MATLAB (piq tests)"),
    ("vif", "vif", "tid2013_I01.png", "tid2013_i01_01_5.png", 0.3147, "VIFp on YIQ luma, MATLAB (piq tests)"),
    ("iw-ssim", "iw_ssim", "goldhill.png", "goldhill_jpeg.png", 0.886297251092821, "authors' MATLAB (piq tests)"),
    # piq's RGB vector was computed with the pristine image as the first argument: decoded and reference swap
    ("iw-ssim", "iw_ssim", "tid2013_i01_01_5.png", "tid2013_I01.png", 0.946804801436296, "MATLAB (piq tests)"),
    ("nlpd", "nlpd", "pyiqa_I03.png", "pyiqa_I03_dist.png", 0.5616, "the authors' MATLAB (pyiqa's calibration)"),
    ("nlpd", "nlpd", "pyiqa_I04.png", "pyiqa_I04_dist.png", 0.0195, "the authors' MATLAB (pyiqa's calibration)"),
    ("psnr-hvs-m", "psnr_hvs", "baboon.png", "baboon_msk.png", 34.42705450576435, "Octave (psnr-hvsm tests)"),
    ("psnr-hvs-m", "psnr_hvsm", "baboon.png", "baboon_msk.png", 51.64722121999962, "Octave (psnr-hvsm tests)"),
]


@pytest.mark.parametrize("name, column, reference, decoded, value, source", PUBLISHED)
def test_each_metric_reproduces_its_published_test_vector(name, column, reference, decoded, value, source):
    got = metrics.get_metric(name)(rgb(reference), rgb(decoded))[column]
    assert got == pytest.approx(value, rel=1e-3), source


def test_vmaf_reproduces_libvmafs_published_score_on_a_test_pair():
    """The first frame of ffmpeg-quality-metrics' test pair, the distorted one scaled to 1280x720 bicubic as that
    project did (provenance: data/vmaf/README.md): libvmaf v0.6.1 gave 14.051072."""
    import subprocess

    from ssicbench.metrics.vmaf import _ffmpeg, vmaf_raw

    if why := metrics.get_metric("vmaf").available():
        pytest.skip(why)

    def first_frame(name: str) -> bytes:
        scale = "scale=1280:720:flags=bicubic," if name.startswith("dist") else ""
        command = [_ffmpeg(), "-v", "error", "-i", str(VECTORS.parent / "vmaf" / name), "-frames:v", "1"]
        command += ["-vf", f"{scale}format=yuv420p", "-f", "rawvideo", "-"]
        return subprocess.run(command, capture_output=True, check=True).stdout

    reference, distorted = first_frame("ref-1280x720.mkv"), first_frame("dist-854x480.mkv")
    assert vmaf_raw(reference, distorted, 1280, 720, "yuv420p") == pytest.approx(14.051072, rel=1e-3)


def test_vmaf_of_rgb_images_ranks_decodes_and_stays_below_100():
    if why := metrics.get_metric("vmaf").available():
        pytest.skip(why)
    image = smooth_image(192, 256, seed=5)
    noisy = [
        np.clip(image + np.random.default_rng(0).normal(0, s, image.shape), 0, 255).astype(np.uint8) for s in (4, 16)
    ]
    same, light, heavy = (metrics.get_metric("vmaf")(image, other)["vmaf"] for other in (image, *noisy))
    assert 90 < same <= 100 and same > light > heavy  # VMAF(x, x) of one frame is not 100: libvmaf's FAQ


def test_psnr_yuv_is_bt709_full_range_weighted_6_1_1():
    """Decoded = reference + 10 in red only: worked out by hand from BT.709 (Kr 0.2126, Kb 0.0722), the errors
    are Y 2.126, Cb -2.126 / 1.8556, Cr 7.874 / 1.5748 = 5 everywhere."""
    reference = np.full((16, 16, 3), 100, np.uint8)
    decoded = reference.copy()
    decoded[..., 0] += 10
    got = metrics.get_metric("psnr-yuv")(reference, decoded)
    expect = {k: 10 * math.log10(255**2 / e**2) for k, e in (("y", 2.126), ("u", 2.126 / 1.8556), ("v", 5.0))}
    for plane in "yuv":
        assert got[f"psnr_{plane}"] == pytest.approx(expect[plane], rel=1e-9)
    assert got["psnr_yuv"] == pytest.approx((6 * expect["y"] + expect["u"] + expect["v"]) / 8, rel=1e-9)


def test_ms_ssim_y_is_pytorch_msssim_on_bt709_luma():
    import torch
    from pytorch_msssim import ms_ssim as reference_ms_ssim

    a = smooth_image(200, 240, seed=3)
    b = np.clip(a + np.random.default_rng(1).normal(0, 12, a.shape), 0, 255).astype(np.uint8)
    y = [torch.from_numpy(i.astype(np.float64) @ np.array([0.2126, 0.7152, 0.0722]))[None, None] for i in (a, b)]
    expect = float(reference_ms_ssim(*y, data_range=255, size_average=True))
    got = metrics.get_metric("ms-ssim-y")(a, b)
    assert got["ms_ssim_y"] == pytest.approx(expect, rel=1e-6)
    assert got["ms_ssim_y_db"] == pytest.approx(-10 * math.log10(1 - expect), rel=1e-5)


def test_a_metric_this_image_cannot_have_is_nan_with_the_reason_and_marks_the_failure():
    small = smooth_image(64, 64)
    values, reasons, failed = metrics.compute_metrics(small, small, ["psnr", "iw-ssim"])
    assert values["psnr"] == metrics.PSNR_CAP_DB and math.isnan(values["iw_ssim"])
    assert "information_weighted_ssim" in reasons and failed


def test_every_registered_column_has_one_compressai_key_and_each_metric_says_what_it_needs():
    keys = metrics.compressai_keys()
    assert len(set(keys.values())) == len(keys)
    for name in metrics.metric_names():
        metric = metrics.get_metric(name)
        assert metric.description and metric.needs and metric.columns
    assert metrics.default_metrics() == ["psnr", "ms-ssim", "lpips"]


def curve(name: str, bpp: list[float], **values: list[float]) -> Curve:
    return Curve(name, {"bpp": bpp, **values})


def test_a_lower_is_better_metric_enters_bd_negated_and_reports_its_own_direction():
    """A curve with lower LPIPS at every rate needs fewer bits for the same LPIPS: negative BD-rate, and its
    BD-LPIPS (mean LPIPS difference) is negative too."""
    bpp = [0.2, 0.4, 0.8, 1.6]
    anchor = curve("anchor", bpp, lpips=[0.40, 0.30, 0.20, 0.12])
    better = curve("better", bpp, lpips=[0.35, 0.26, 0.17, 0.10])
    row = bd_tables([anchor, better], ["anchor"], metrics=["lpips"]).set_index("codec").loc["better"]
    assert row["bd_rate_lpips_%"] < 0 and row["bd_lpips"] < 0
    assert row["bd_lpips"] == pytest.approx(-0.035, abs=0.01)


def test_the_jpeg_ai_mean_averages_the_jpeg_ai_bd_rates_and_names_them():
    bpp = [0.2, 0.4, 0.8, 1.6]
    anchor = curve("anchor", bpp, fsim=[0.90, 0.93, 0.95, 0.97], vif=[0.30, 0.40, 0.50, 0.60], psnr=[28, 30, 32, 34])
    test = curve("test", [b * 0.9 for b in bpp], fsim=anchor.values["fsim"], vif=[0.31, 0.41, 0.52, 0.61])
    test.values["psnr"] = anchor.values["psnr"]
    table = bd_tables([anchor, test], ["anchor"])
    row = table.set_index("codec").loc["test"]
    assert row["bd_rate_jpeg_ai_mean_%"] == pytest.approx((row["bd_rate_fsim_%"] + row["bd_rate_vif_%"]) / 2)
    assert "bd_rate_psnr_%" in table and not math.isnan(row["bd_rate_psnr_%"])  # PSNR: in the table, not the mean
    assert row["jpeg_ai_mean_of"].startswith("mean of FSIM, VIF; not measured: MS-SSIM, IW-SSIM, NLPD")
    text = bd_markdown(table)
    assert "BD-rate JPEG-AI mean [%]" in text and "JPEG-AI mean BD-rate: the mean of FSIM, VIF" in text
    assert set(JPEG_AI_METRICS) >= {"MS-SSIM", "IW-SSIM", "VIF", "FSIM", "NLPD", "PSNR-HVS-M", "VMAF"}


def run_bench(*argv: str) -> subprocess.CompletedProcess:
    command = [sys.executable, str(REPO / "run_bench.py"), *argv]
    return subprocess.run(command, capture_output=True, text=True, env=dict(os.environ), timeout=600)


def test_a_metric_added_in_one_file_reaches_rows_json_figures_and_bd_tables(tmp_path):
    folder = tmp_path / "photos"
    folder.mkdir()
    for i in range(2):
        Image.fromarray(smooth_image(96, 128, seed=i)).save(folder / f"p{i}.png")
    out = tmp_path / "run"
    plugin = ["--plugin", str(Path(__file__).parent / "plugins" / "example_metric.py")]
    argv = ["rd", "--dataset", str(folder), "--codecs", "jpeg", "webp", "--qualities", "20", "40", "60", "80"]
    argv += ["--anchor", "jpeg"]
    done = run_bench(*plugin, *argv, "--metrics", "psnr", "test-psnr-green", "--out", str(out), "--quiet")
    assert done.returncode == 0, done.stderr
    rows = pd.read_csv(out / "rows.csv")
    assert (rows["status"] == "ok").all() and rows["psnr_green"].notna().all()
    jpeg = next(p for p in (out / "compressai").glob("*.json") if json.loads(p.read_text())["name"] == "jpeg")
    assert len(json.loads(jpeg.read_text())["results"]["psnr-green"]) == 4
    assert (out / "rd_psnr_green.png").exists()
    table = pd.read_csv(out / "bd_table.csv")
    assert np.isfinite(table.set_index("codec").loc["webp", "bd_rate_psnr_green_%"])
    assert "BD-rate PSNR-G [%]" in (out / "bd_table.md").read_text()
    listed = run_bench(*plugin, "metrics")
    assert listed.returncode == 0 and "test-psnr-green" in listed.stdout
