"""Distortion metrics on 8-bit RGB images, computed per image as CompressAI's evaluation does."""

from __future__ import annotations

import math
from collections.abc import Callable
from functools import lru_cache

import numpy as np

from ssicbench.errors import MetricError, MissingWeightsError
from ssicbench.weights import hub_checkpoint

__all__ = [
    "METRICS",
    "MS_SSIM_MIN_SIDE",
    "PSNR_CAP_DB",
    "lpips_available",
    "lpips_distance",
    "ms_ssim",
    "ms_ssim_db",
    "psnr",
    "psnr_from_mse",
]

METRICS = ("psnr", "ms-ssim", "lpips")  # the names `--metrics` and configs take
MS_SSIM_MIN_SIDE = 160  # pytorch-msssim: the smaller side must exceed (11 - 1) * 2**4


PSNR_CAP_DB = 100.0  # identical images (MSE 0): a finite value, so means, curves and BD stay defined


def psnr(reference: np.ndarray, decoded: np.ndarray) -> float:
    """PSNR in dB over all RGB samples of two uint8 images (peak 255), capped at `PSNR_CAP_DB`."""
    return psnr_from_mse(float(np.mean((reference.astype(np.float64) - decoded.astype(np.float64)) ** 2)))


def psnr_from_mse(mse: float) -> float:
    """PSNR in dB of a mean squared error of 8-bit samples (peak 255), capped at `PSNR_CAP_DB`."""
    return PSNR_CAP_DB if mse == 0 else min(PSNR_CAP_DB, 10.0 * math.log10(255.0**2 / mse))


def _to_tensor(image: np.ndarray):
    import torch

    return torch.from_numpy(np.array(image, dtype=np.float32)).permute(2, 0, 1)[None]


def ms_ssim(reference: np.ndarray, decoded: np.ndarray) -> float:
    """MS-SSIM (pytorch-msssim, data range 255) of two uint8 RGB images; needs sides > 160 px (MetricError)."""
    import torch
    from pytorch_msssim import ms_ssim as _ms_ssim

    height, width = reference.shape[:2]
    if min(height, width) <= MS_SSIM_MIN_SIDE:
        raise MetricError(
            f"MS-SSIM needs both sides over {MS_SSIM_MIN_SIDE} px (5 scales, 11-px window); image is {height}x{width}"
        )

    with torch.no_grad():
        return float(_ms_ssim(_to_tensor(reference), _to_tensor(decoded), data_range=255.0))


def ms_ssim_db(value: float) -> float:
    """MS-SSIM in dB, -10 log10(1 - MS-SSIM), as in the published curves."""
    return float("inf") if value >= 1.0 else -10.0 * math.log10(1.0 - value)


@lru_cache(maxsize=1)
def _lpips_model(net: str = "alex") -> Callable:
    """LPIPS needs torchvision's ImageNet backbone weights; absent (offline) -> MissingWeightsError."""
    import lpips
    from torchvision.models import get_weight

    weights = get_weight({"alex": "AlexNet_Weights.IMAGENET1K_V1", "vgg": "VGG16_Weights.IMAGENET1K_V1"}[net])
    cached = hub_checkpoint(weights.url)
    if not cached.exists():
        raise MissingWeightsError(
            f"LPIPS needs the {net} backbone weights: put {cached.name} in {cached.parent} (from {weights.url})"
        )
    return lpips.LPIPS(net=net, verbose=False).eval()


def lpips_distance(reference: np.ndarray, decoded: np.ndarray) -> float:
    """LPIPS (AlexNet) distance; raises MissingWeightsError when the backbone weights are not available."""
    import torch

    model = _lpips_model()
    with torch.no_grad():
        a = _to_tensor(reference) / 127.5 - 1.0
        b = _to_tensor(decoded) / 127.5 - 1.0
        return float(model(a, b))


def lpips_available() -> bool:
    try:
        _lpips_model()
    except MissingWeightsError:
        return False
    return True
