"""Images as the torch metric libraries take them, and those libraries imported with a clear error when absent."""

from __future__ import annotations

from types import ModuleType

import numpy as np

from ssicbench.errors import MetricError, MissingLibraryError
from ssicbench.metrics.registry import unavailable

__all__ = ["piq", "piq_missing", "piq_score", "to_tensor"]


def to_tensor(image: np.ndarray, dtype=None):
    """HxWxC uint8 -> (1, C, H, W) float tensor of 0..255 values (float32 unless `dtype`)."""
    import torch

    return torch.tensor(image).permute(2, 0, 1)[None].to(dtype or torch.float32)  # (a copy: inputs may be read-only)


def piq() -> ModuleType:
    """The piq package (PyTorch Image Quality, MIT), which the suite installs."""
    try:
        import piq as module
    except ImportError as exc:
        raise MissingLibraryError(f"piq is not installed ({exc}); pip install piq") from None
    return module


piq_missing = unavailable(piq)  # why the piq metrics cannot run here ("" when they can)


def piq_score(function: str, reference: np.ndarray, decoded: np.ndarray, **options) -> float:
    """`piq.<function>(decoded, reference, data_range=255, ...)` on two uint8 RGB images; piq's size and value
    checks become `MetricError`s (this image cannot have the metric). In float32: on a Kodak image within 2e-6 of
    float64, and 3-17x faster (float64 convolutions are slow on CPUs)."""
    import torch

    x, y = to_tensor(decoded), to_tensor(reference)
    try:
        with torch.no_grad():
            return float(getattr(piq(), function)(x, y, data_range=255.0, **options))
    except (ValueError, AssertionError) as exc:
        raise MetricError(f"{function}: {exc}") from None
