"""SSIC models that ship inside the package (no download): `ssic-tiny`, trained offline by the recipe in
configs/train/ssic-tiny.json on the embedded scikit-image photos (log in configs/train/logs/)."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

import torch

from ssicbench.codecs.registry import register_codec
from ssicbench.codecs.ssic.codec import SSICCodec

ZOO = Path(str(resources.files("ssicbench.codecs.ssic") / "zoo"))


@register_codec(
    "ssic-tiny",
    qualities=[1],
    description="small SSIC (structured, channel-AR; 1.5 M parameters) bundled with the suite; one rate point",
)
def ssic_tiny(device: str | torch.device = "cpu") -> SSICCodec:
    """The bundled small SSIC model: per-group sections and partial decoding without any download."""
    return SSICCodec("charm", {1: ZOO / "ssic-tiny.pth"}, ZOO / "ssic-tiny.json", device)
