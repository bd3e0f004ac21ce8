"""The torch device a learned codec runs on, checked when the codec is built: a misspelt device, or CUDA where
there is none, is a one-line UsageError instead of a torch error at the first image."""

from __future__ import annotations

import torch

from ssicbench.errors import UsageError

__all__ = ["compute_device"]


def compute_device(name: str | torch.device, who: str) -> torch.device:
    """`name` ("cpu", "cuda", "cuda:1", ...) as a torch device that exists on this machine."""
    try:
        device = torch.device(name)
    except (RuntimeError, TypeError):
        raise UsageError(f"{who}: device {name!r} is not a device name (cpu, cuda, cuda:N)") from None
    if device.type == "cuda":
        count = torch.cuda.device_count() if torch.cuda.is_available() else 0
        if count == 0:
            raise UsageError(f"{who}: device {name!r}: no CUDA device on this machine")
        if device.index is not None and device.index >= count:
            raise UsageError(f"{who}: device {name!r}: this machine has {count} CUDA device(s)")
    elif device.type != "cpu":
        raise UsageError(f"{who}: device {name!r}: only cpu and cuda are supported")
    return device
