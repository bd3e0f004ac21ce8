"""MS-SSIM (Wang et al. 2003) as CompressAI's evaluation computes it (pytorch-msssim), on RGB and on BT.709 luma;
curves and BD tables use it in dB, -10 log10(1 - MS-SSIM)."""

from __future__ import annotations

import math
from functools import lru_cache

import numpy as np

from ssicbench.errors import MetricError
from ssicbench.metrics.colour import luma
from ssicbench.metrics.registry import Column, Metric, register_metric

__all__ = ["MS_SSIM_MIN_SIDE", "ms_ssim", "ms_ssim_db"]

MS_SSIM_MIN_SIDE = 160  # pytorch-msssim: the smaller side must exceed (11 - 1) * 2**4

# MS-SSIM as Wang et al. 2003 and pytorch-msssim (CompressAI's evaluation): 11-tap Gaussian of sigma 1.5 on the
# valid region, K = (0.01, 0.03), five scales with these weights, 2x2 average pooling (odd sides zero-padded)
MS_SSIM_WEIGHTS = np.array([0.0448, 0.2856, 0.3001, 0.2363, 0.1333])
_WINDOW, _SIGMA, _K1, _K2 = 11, 1.5, 0.01, 0.03
DTYPE = np.float64  # float32 loses ~1e-5 of MS-SSIM to cancellation in E[x^2] - E[x]^2 (pytorch-msssim ~1e-6)


@lru_cache(maxsize=1)
def _gaussian() -> np.ndarray:
    """The filter taps exactly as pytorch-msssim makes them (torch's float32 exp), for the float64 filters."""
    import torch

    taps = torch.arange(_WINDOW, dtype=torch.float32) - _WINDOW // 2
    g = torch.exp(-(taps**2) / (2 * _SIGMA**2))
    return (g / g.sum()).numpy().astype(DTYPE)


@lru_cache(maxsize=1)
def _opencv():
    """OpenCV, serial: a process that never starts OpenCV's thread pool can fork workers safely (a pool inherited
    across fork hangs their first parallel call), and each worker already has a core of its own."""
    import cv2

    cv2.setNumThreads(1)
    return cv2


def _blur(plane: np.ndarray, g: np.ndarray) -> np.ndarray:
    """Separable Gaussian of an HxWxC float64 image, on the pixels where the window fits (valid region)."""
    cv2 = _opencv()
    half = _WINDOW // 2
    blurred = cv2.sepFilter2D(plane, -1, g, g, borderType=cv2.BORDER_CONSTANT)
    return blurred.reshape(plane.shape)[half:-half, half:-half]  # (OpenCV drops a single channel's axis)


def _halve(image: np.ndarray) -> np.ndarray:
    """2x2 average pooling, an odd side padded with a zero row/column on both ends (as avg_pool2d's padding)."""
    ph, pw = image.shape[0] % 2, image.shape[1] % 2
    if ph or pw:
        image = np.pad(image, ((ph, ph), (pw, pw), (0, 0)))
    h, w = image.shape[0] // 2 * 2, image.shape[1] // 2 * 2
    z = image[:h, :w]
    return (z[0::2, 0::2] + z[1::2, 0::2] + z[0::2, 1::2] + z[1::2, 1::2]) * DTYPE(0.25)


def ms_ssim(reference: np.ndarray, decoded: np.ndarray) -> float:
    """MS-SSIM (data range 255) of two HxWxC (or HxW) images of 8-bit values, per channel then averaged:
    pytorch-msssim's value computed in double precision, faster than its float32 one (OpenCV's separable filter);
    needs sides > 160 px."""
    height, width = reference.shape[:2]
    if min(height, width) <= MS_SSIM_MIN_SIDE:
        raise MetricError(
            f"MS-SSIM needs both sides over {MS_SSIM_MIN_SIDE} px (5 scales, 11-px window); image is {height}x{width}"
        )
    g = _gaussian()
    c1, c2 = DTYPE((_K1 * 255) ** 2), DTYPE((_K2 * 255) ** 2)
    x, y = (np.atleast_3d(np.asarray(i, DTYPE)) for i in (reference, decoded))
    channels = x.shape[2]
    factors = []
    for scale in range(len(MS_SSIM_WEIGHTS)):
        mx, my = _blur(x, g), _blur(y, g)
        vx, vy, cxy = _blur(x * x, g) - mx * mx, _blur(y * y, g) - my * my, _blur(x * y, g) - mx * my
        cs = (2 * cxy + c2) / (vx + vy + c2)
        if scale < len(MS_SSIM_WEIGHTS) - 1:  # contrast-structure at the finer scales, SSIM at the coarsest
            factors.append(cs.reshape(-1, channels).mean(0, dtype=np.float64))
            x, y = _halve(x), _halve(y)
        else:
            ssim = (2 * mx * my + c1) / (mx * mx + my * my + c1) * cs
            factors.append(ssim.reshape(-1, channels).mean(0, dtype=np.float64))
    per_channel = np.prod(np.maximum(np.stack(factors), 0.0) ** MS_SSIM_WEIGHTS[:, None], axis=0)
    return float(per_channel.mean())


def ms_ssim_db(value: float) -> float:
    """MS-SSIM in dB, -10 log10(1 - MS-SSIM), as in the published curves."""
    return float("inf") if value >= 1.0 else -10.0 * math.log10(1.0 - value)


def _rgb(reference: np.ndarray, decoded: np.ndarray) -> dict[str, float]:
    value = ms_ssim(reference, decoded)
    return {"ms_ssim": value, "ms_ssim_db": ms_ssim_db(value)}


def _luma(reference: np.ndarray, decoded: np.ndarray) -> dict[str, float]:
    value = ms_ssim(luma(reference), luma(decoded))
    return {"ms_ssim_y": value, "ms_ssim_y_db": ms_ssim_db(value)}


register_metric(
    Metric(
        "ms-ssim",
        _rgb,
        (
            Column("ms_ssim", "ms-ssim-rgb", short="MS-SSIM (linear)", unit=""),
            Column("ms_ssim_db", "ms-ssim-db-rgb", "MS-SSIM RGB [dB]", "MS-SSIM", True, derive=("ms_ssim", ms_ssim_db)),
        ),
        "MS-SSIM over R, G, B (averaged), as CompressAI; images over 160 px a side",
        default=True,
    )
)
register_metric(
    Metric(
        "ms-ssim-y",
        _luma,
        (
            Column("ms_ssim_y", "ms-ssim-y", short="MS-SSIM-Y (linear)", unit=""),
            Column(
                "ms_ssim_y_db",
                "ms-ssim-db-y",
                "MS-SSIM Y (BT.709) [dB]",
                "MS-SSIM-Y",
                True,
                jpeg_ai=True,
                derive=("ms_ssim_y", ms_ssim_db),
            ),
        ),
        "MS-SSIM of BT.709 luma, as JPEG AI's test conditions; images over 160 px a side",
    )
)
