"""Where pretrained weights are looked for: torch.hub's checkpoint cache, as CompressAI and torchvision use."""

from __future__ import annotations

from pathlib import Path

import torch


def hub_checkpoint_dir() -> Path:
    """torch.hub's cache of downloaded checkpoints ($TORCH_HOME/hub/checkpoints)."""
    return Path(torch.hub.get_dir()) / "checkpoints"


def hub_checkpoint(url: str) -> Path:
    """The cached file of the checkpoint at `url` (it may not exist)."""
    return hub_checkpoint_dir() / url.rsplit("/", 1)[-1]
