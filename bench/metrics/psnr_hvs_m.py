"""PSNR-HVS and PSNR-HVS-M (Egiazarian et al. 2006, Ponomarenko et al. 2007): PSNR of 8x8 DCT coefficients weighted
by contrast sensitivity (and, for -M, between-coefficient masking), on BT.709 luma; the psnr-hvsm package (its C++
backend), cross-checked by its authors against the TID2013 values, one of JPEG AI's test metrics."""

from __future__ import annotations

import contextlib
import io
from functools import lru_cache

import numpy as np

from ssicbench.errors import MetricError, MissingLibraryError
from ssicbench.metrics.colour import luma
from ssicbench.metrics.registry import Column, Metric, register_metric, unavailable

__all__ = ["psnr_hvs_m"]

BLOCK = 8


@lru_cache(maxsize=1)
def _implementation():
    try:
        with contextlib.redirect_stdout(io.StringIO()):  # the package prints a note when torch_dct is absent
            from psnr_hvsm._psnr_hvsm import psnr_hvs_hvsm
    except ImportError as exc:
        raise MissingLibraryError(f"psnr-hvsm is not installed ({exc}); pip install psnr-hvsm") from None
    return psnr_hvs_hvsm


def psnr_hvs_m(reference: np.ndarray, decoded: np.ndarray) -> dict[str, float]:
    """PSNR-HVS and PSNR-HVS-M in dB over the whole 8x8 blocks of the luma (the original code's blocks; a partial
    block at the right or bottom edge is left out)."""
    height, width = (s // BLOCK * BLOCK for s in reference.shape[:2])
    if not height or not width:
        size = f"{reference.shape[0]}x{reference.shape[1]}"
        raise MetricError(f"PSNR-HVS-M needs at least one 8x8 block; image is {size}")
    a, b = (np.ascontiguousarray(luma(i)[:height, :width] / 255.0) for i in (reference, decoded))
    hvs, hvsm = _implementation()(a, b)
    return {"psnr_hvs": float(hvs), "psnr_hvsm": float(hvsm)}


register_metric(
    Metric(
        "psnr-hvs-m",
        psnr_hvs_m,
        (
            Column("psnr_hvs", "psnr-hvs", "PSNR-HVS (luma) [dB]", "PSNR-HVS"),
            Column("psnr_hvsm", "psnr-hvs-m", "PSNR-HVS-M (luma) [dB]", "PSNR-HVS-M", True, jpeg_ai=True),
        ),
        "PSNR-HVS and PSNR-HVS-M on luma (psnr-hvsm)",
        needs="psnr-hvsm",
        available=unavailable(_implementation),
    )
)
