"""SSIC models that ship inside the package (no download): `ssic-tiny`, a small structured SSIC at four rate
points (one model per lambda), trained offline by the recipe in configs/train/ (README.md there; logs in
configs/train/logs/) on photos that packages ship and generated dead leaves, never on Kodak."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

import torch

from ssicbench.codecs.registry import register_codec
from ssicbench.codecs.ssic.codec import SSICCodec

ZOO = Path(str(resources.files("ssicbench.codecs.ssic") / "zoo"))


TINY_QUALITIES = (1, 2, 3, 4)  # rate points, low to high (configs/train/ssic-tiny-q<N>.json)


@register_codec(
    "ssic-tiny",
    qualities=TINY_QUALITIES,
    description="small SSIC (structured, channel-AR; 1.5 M parameters) bundled with the suite; 4 rate points",
)
def ssic_tiny(device: str | torch.device = "cpu") -> SSICCodec:
    """The bundled small SSIC family: per-group sections and partial decoding without any download."""
    weights = {q: ZOO / f"ssic-tiny-q{q}.pth" for q in TINY_QUALITIES}
    return SSICCodec("charm", weights, ZOO / "ssic-tiny.json", device)
