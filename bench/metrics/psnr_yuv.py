"""PSNR on Y'CbCr (BT.709, full range, unrounded): per plane, and the 6:1:1 weighted PSNR-YUV of JPEG AI's and
MPEG's common test conditions, (6 PSNR-Y + PSNR-Cb + PSNR-Cr) / 8."""

from __future__ import annotations

import numpy as np

from ssicbench.metrics.colour import ycbcr
from ssicbench.metrics.psnr import psnr_from_mse
from ssicbench.metrics.registry import Column, Metric, register_metric

__all__ = ["psnr_yuv"]

YUV_WEIGHTS = (6, 1, 1)


def psnr_yuv(reference: np.ndarray, decoded: np.ndarray) -> dict[str, float]:
    """PSNR-Y, -U (Cb), -V (Cr) and the 6:1:1 PSNR-YUV of two uint8 RGB images, in dB (peak 255)."""
    error = ycbcr(reference) - ycbcr(decoded)
    y, u, v = (psnr_from_mse(float(np.mean(error[..., i] ** 2))) for i in range(3))
    yuv = (YUV_WEIGHTS[0] * y + YUV_WEIGHTS[1] * u + YUV_WEIGHTS[2] * v) / sum(YUV_WEIGHTS)
    return {"psnr_y": y, "psnr_u": u, "psnr_v": v, "psnr_yuv": yuv}


register_metric(
    Metric(
        "psnr-yuv",
        psnr_yuv,
        (
            Column("psnr_y", "psnr-y", "PSNR-Y (BT.709) [dB]", "PSNR-Y", True),
            Column("psnr_u", "psnr-u", short="PSNR-Cb"),
            Column("psnr_v", "psnr-v", short="PSNR-Cr"),
            Column("psnr_yuv", "psnr-yuv", "PSNR-YUV 6:1:1 (BT.709) [dB]", "PSNR-YUV", True),
        ),
        "PSNR of Y', Cb, Cr (BT.709 full range) and their 6:1:1 weighted mean",
    )
)
