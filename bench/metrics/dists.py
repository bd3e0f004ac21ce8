"""DISTS (Ding, Ma, Wang, Simoncelli 2020): a learned distance combining structure and texture similarity of VGG16
features, by piq (which ports the authors' weights); lower is better. It needs torchvision's VGG16 ImageNet weights
and the DISTS weights in the torch hub cache; without them it is unavailable (NaN with the reason), never
estimated. As the authors recommend, piq resizes images to a shorter side of 256 px first."""

from __future__ import annotations

from functools import lru_cache
from typing import Any

import numpy as np

from ssicbench.errors import MissingWeightsError
from ssicbench.metrics.registry import Column, Metric, register_metric, unavailable
from ssicbench.metrics.tensors import piq, to_tensor
from ssicbench.weights import hub_checkpoint

__all__ = ["dists"]


def _weight_urls() -> list[str]:
    from torchvision.models import get_weight

    return [get_weight("VGG16_Weights.IMAGENET1K_V1").url, piq().DISTS._weights_url]


@lru_cache(maxsize=1)
def _model() -> Any:
    missing = [(hub_checkpoint(u), u) for u in _weight_urls() if not hub_checkpoint(u).exists()]
    if missing:
        where = missing[0][0].parent
        files = ", ".join(f"{path.name} (from {url})" for path, url in missing)
        raise MissingWeightsError(f"DISTS needs its weights in {where}: {files}")
    return piq().DISTS().eval()


def dists(reference: np.ndarray, decoded: np.ndarray) -> dict[str, float]:
    import torch

    model = _model()
    with torch.no_grad():
        return {"dists": float(model(to_tensor(reference) / 255.0, to_tensor(decoded) / 255.0))}


register_metric(
    Metric(
        "dists",
        dists,
        (Column("dists", "dists", "DISTS (VGG16)", "DISTS", True, unit="", higher_is_better=False),),
        "DISTS distance, VGG16 structure and texture similarity (piq; lower is better)",
        needs="torchvision's VGG16 ImageNet weights and piq's DISTS weights in the torch hub cache",
        available=unavailable(_model),
    )
)
