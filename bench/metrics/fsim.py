"""FSIMc (Zhang et al. 2011): phase congruency and gradient similarity on YIQ luma with chroma similarity, piq's
port of the authors' MATLAB code (checked against its published values), one of JPEG AI's test metrics."""

from __future__ import annotations

from ssicbench.metrics.registry import Column, Metric, register_metric
from ssicbench.metrics.tensors import piq_missing, piq_score

__all__ = []  # (it registers its metric)

register_metric(
    Metric(
        "fsim",
        lambda reference, decoded: {"fsim": piq_score("fsim", reference, decoded, chromatic=True)},
        (Column("fsim", "fsim", "FSIMc", "FSIM", True, unit="", jpeg_ai=True),),
        "FSIMc, the feature similarity index with chroma (piq)",
        needs="piq",
        available=piq_missing,
    )
)
