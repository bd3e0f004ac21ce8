"""Image reading converts odd formats visibly; metrics match their definitions; LPIPS is never faked."""

import math

import numpy as np
import pytest
from conftest import smooth_image
from PIL import Image

from ssicbench import metrics
from ssicbench.errors import ImageReadError, MissingWeightsError
from ssicbench.imageio import load_image


def test_not_an_image_is_a_one_line_error(tmp_path):
    bad = tmp_path / "notes.png"
    bad.write_text("hello")
    with pytest.raises(ImageReadError, match="notes.png"):
        load_image(bad)
    with pytest.raises(ImageReadError, match="no such file"):
        load_image(tmp_path / "absent.png")


@pytest.mark.parametrize("mode", ["L", "RGBA", "I;16", "P"])
def test_odd_modes_become_rgb8(tmp_path, mode):
    array = (np.arange(64 * 48) % 251).reshape(48, 64)
    if mode == "I;16":
        img = Image.fromarray((array * 256).astype(np.uint16))
    elif mode == "RGBA":
        img = Image.fromarray(np.stack([array] * 4, -1).astype(np.uint8), "RGBA")
    else:
        img = Image.fromarray(array.astype(np.uint8)).convert(mode)
    img.save(tmp_path / "x.png")
    out = load_image(tmp_path / "x.png")
    assert out.shape == (48, 64, 3) and out.dtype == np.uint8


def test_psnr_definition():
    a = np.zeros((4, 4, 3), np.uint8)
    b = a.copy()
    b[0, 0, 0] = 255  # MSE = 255^2 / 48
    assert metrics.psnr(a, b) == pytest.approx(10 * math.log10(48))
    assert metrics.psnr(a, a) == metrics.PSNR_CAP_DB == 100.0  # identical images: the cap, never inf


def test_ms_ssim_and_its_db_form():
    rng = np.random.default_rng(0)
    a = rng.integers(0, 256, (192, 192, 3), dtype=np.uint8)
    assert metrics.ms_ssim(a, a) == pytest.approx(1.0, abs=1e-6)
    noisy = np.clip(a + rng.normal(0, 20, a.shape), 0, 255).astype(np.uint8)
    value = metrics.ms_ssim(a, noisy)
    assert 0 < value < 1
    assert metrics.ms_ssim_db(value) == pytest.approx(-10 * math.log10(1 - value))


@pytest.mark.parametrize("size", [(161, 161), (192, 255), (333, 200), (512, 768)])
def test_ms_ssim_equals_pytorch_msssim(size):
    """The suite's MS-SSIM (OpenCV filters) is pytorch-msssim's, CompressAI's evaluation metric, in double
    precision to 1e-9, and its float32 value to 2e-6: odd sides (zero-padded pooling) and mild to strong
    distortion included."""
    import torch
    from pytorch_msssim import ms_ssim as reference

    rng = np.random.default_rng(sum(size))
    smooth = np.cumsum(np.cumsum(rng.normal(0, 1, (*size, 3)), 0), 1)  # image-like: correlated, not white noise
    a = ((smooth - smooth.min()) / np.ptp(smooth) * 255).astype(np.uint8)
    for sigma in (2, 10, 40):
        b = np.clip(a + rng.normal(0, sigma, a.shape), 0, 255).astype(np.uint8)
        value = metrics.ms_ssim(a, b)
        for dtype, tolerance in ((torch.float64, 1e-9), (torch.float32, 2e-6)):
            images = (torch.from_numpy(i).permute(2, 0, 1)[None].to(dtype) for i in (a, b))
            assert value == pytest.approx(float(reference(*images, 255.0)), abs=tolerance)


def test_lpips_without_backbone_weights_is_unavailable_not_faked(monkeypatch, tmp_path):
    import torch

    monkeypatch.setattr(torch.hub, "get_dir", lambda: str(tmp_path))
    metrics.lpips._lpips_model.cache_clear()
    a = np.zeros((64, 64, 3), np.uint8)
    with pytest.raises(MissingWeightsError, match="alexnet"):
        metrics.lpips_distance(a, a)
    assert not metrics.lpips_available()
    metrics.lpips._lpips_model.cache_clear()


def test_dists_needs_both_weight_files_and_runs_on_weights_the_test_makes(monkeypatch, tmp_path):
    import piq.perceptual
    import torch
    import torchvision

    from ssicbench.metrics import dists as dists_metric

    monkeypatch.setattr(torch.hub, "get_dir", lambda: str(tmp_path))
    dists_metric._model.cache_clear()
    a = smooth_image(64, 96, seed=1)
    with pytest.raises(MissingWeightsError, match="vgg16-397923af.pth .*dists_weights.pt"):
        dists_metric.dists(a, a)
    # self-made weights: DISTS alpha/beta of the real shapes, and a VGG16 of random features in place of
    # ImageNet's (its 528 MB file is only checked for presence here; torchvision reads it)
    (tmp_path / "checkpoints").mkdir()
    channels = 3 + 64 + 128 + 256 + 512 + 512
    generator = torch.Generator().manual_seed(0)
    alpha, beta = (torch.rand(1, channels, 1, 1, generator=generator) for _ in range(2))
    total = alpha.sum() + beta.sum()  # normalized to sum 1 over both terms, as DISTS uses them: DISTS(x, x) = 0
    alpha, beta = alpha / total, beta / total
    torch.save({"alpha": alpha, "beta": beta}, tmp_path / "checkpoints" / "dists_weights.pt")
    (tmp_path / "checkpoints" / "vgg16-397923af.pth").write_bytes(b"")
    torch.manual_seed(0)
    monkeypatch.setattr(piq.perceptual, "vgg16", lambda **_: torchvision.models.vgg16(weights=None))
    dists_metric._model.cache_clear()
    noisy = np.clip(a.astype(int) + np.random.default_rng(0).integers(-40, 41, a.shape), 0, 255).astype(np.uint8)
    assert dists_metric.dists(a, a)["dists"] == pytest.approx(0.0, abs=1e-4)
    assert dists_metric.dists(a, noisy)["dists"] > 1e-3
    dists_metric._model.cache_clear()
