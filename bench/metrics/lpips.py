"""LPIPS (Zhang et al. 2018, AlexNet): a learned distance that needs torchvision's ImageNet backbone weights;
without them it is unavailable (NaN with the reason), never estimated."""

from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache

import numpy as np

from ssicbench.errors import MissingWeightsError
from ssicbench.metrics.registry import Column, Metric, register_metric, unavailable
from ssicbench.metrics.tensors import to_tensor
from ssicbench.weights import hub_checkpoint

__all__ = ["lpips_available", "lpips_distance"]


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
        a = to_tensor(reference) / 127.5 - 1.0
        b = to_tensor(decoded) / 127.5 - 1.0
        return float(model(a, b))


def lpips_available() -> bool:
    return not _unavailable()


_unavailable = unavailable(_lpips_model)


register_metric(
    Metric(
        "lpips",
        lambda reference, decoded: {"lpips": lpips_distance(reference, decoded)},
        (Column("lpips", "lpips", "LPIPS (AlexNet)", "LPIPS", True, unit="", higher_is_better=False),),
        "LPIPS distance with the AlexNet backbone (lower is better)",
        needs="torchvision's AlexNet ImageNet weights in the torch hub cache",
        default=True,
        available=_unavailable,
    )
)
