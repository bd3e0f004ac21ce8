"""PSNR on 8-bit RGB (CompressAI's `psnr-rgb`), with its region forms: inside the object groups, the background
and the boundary band of a group mask (measured by `ssicbench.regions` on every row that has a mask)."""

from __future__ import annotations

import math

import numpy as np

from ssicbench.metrics.registry import Column, Metric, register_metric

__all__ = ["PSNR_CAP_DB", "psnr", "psnr_from_mse"]

PSNR_CAP_DB = 100.0  # identical images (MSE 0): a finite value, so means, curves and BD stay defined


def psnr(reference: np.ndarray, decoded: np.ndarray) -> float:
    """PSNR in dB over all samples of two uint8 images (peak 255), capped at `PSNR_CAP_DB`."""
    return psnr_from_mse(float(np.mean((reference.astype(np.float64) - decoded.astype(np.float64)) ** 2)))


def psnr_from_mse(mse: float) -> float:
    """PSNR in dB of a mean squared error of 8-bit samples (peak 255), capped at `PSNR_CAP_DB`."""
    return PSNR_CAP_DB if mse == 0 else min(PSNR_CAP_DB, 10.0 * math.log10(255.0**2 / mse))


register_metric(
    Metric(
        "psnr",
        lambda reference, decoded: {"psnr": psnr(reference, decoded)},
        (
            Column("psnr", "psnr-rgb", "PSNR RGB [dB]", "PSNR", bd=True),
            Column(
                "psnr_objects",
                "psnr-rgb-objects",
                "PSNR in the object groups [dB]",
                "object PSNR",
                True,
                region="objects",
            ),
            Column(
                "psnr_background",
                "psnr-rgb-background",
                "PSNR in the background group [dB]",
                "background PSNR",
                region="background",
            ),
            Column(
                "psnr_boundary",
                "psnr-rgb-boundary",
                "PSNR in the boundary band [dB]",
                "boundary PSNR",
                True,
                region="boundary",
            ),
        ),
        "PSNR over the RGB samples (peak 255, capped at 100 dB); region forms on group masks",
        default=True,
    )
)
