"""IW-SSIM (Wang and Li 2011): information-weighted multi-scale SSIM on YIQ luma, piq's port of the authors' MATLAB
code (checked against its published values), one of JPEG AI's test metrics; images over 160 px a side."""

from __future__ import annotations

from ssicbench.metrics.registry import Column, Metric, register_metric
from ssicbench.metrics.tensors import piq_missing, piq_score

__all__ = []  # (it registers its metric)

register_metric(
    Metric(
        "iw-ssim",
        lambda reference, decoded: {"iw_ssim": piq_score("information_weighted_ssim", reference, decoded)},
        (Column("iw_ssim", "iw-ssim", "IW-SSIM (luma)", "IW-SSIM", True, unit="", jpeg_ai=True),),
        "IW-SSIM, information-weighted SSIM on luma (piq)",
        needs="piq",
        available=piq_missing,
    )
)
