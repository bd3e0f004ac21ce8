"""VIFp (Sheikh and Bovik 2006, pixel domain) on YIQ luma, piq's port of the authors' MATLAB code (checked against
its published values), one of JPEG AI's test metrics."""

from __future__ import annotations

from ssicbench.metrics.registry import Column, Metric, register_metric
from ssicbench.metrics.tensors import piq_missing, piq_score

__all__ = []  # (it registers its metric)

register_metric(
    Metric(
        "vif",
        lambda reference, decoded: {"vif": piq_score("vif_p", reference, decoded)},
        (Column("vif", "vif", "VIFp (luma)", "VIF", True, unit="", jpeg_ai=True),),
        "VIFp, pixel-domain visual information fidelity on luma (piq)",
        needs="piq",
        available=piq_missing,
    )
)
