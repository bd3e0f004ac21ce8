"""SSIC models that ship inside the package (no download): `ssic-tiny`, a small structured SSIC at five rate
points (one model per lambda), trained offline by the recipe in configs/train/ (README.md there; logs in
configs/train/logs/) on photos that packages ship and generated dead leaves, never on Kodak."""

from __future__ import annotations

from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ssicbench.codecs.ssic.codec import StructuredSSICCodec

__all__ = ["TINY_CONFIG", "TINY_QUALITIES", "TINY_WEIGHTS", "ZOO", "ssic_tiny"]

ZOO = Path(str(resources.files("ssicbench.codecs.ssic") / "zoo"))
TINY_QUALITIES = (1, 2, 3, 4, 5)  # rate points, low to high (configs/train/ssic-tiny-q<N>.json)
TINY_WEIGHTS = {q: ZOO / f"ssic-tiny-q{q}.pth" for q in TINY_QUALITIES}
TINY_CONFIG = ZOO / "ssic-tiny.json"


def ssic_tiny(device: str = "cpu", max_memory_mb: float | None = None) -> StructuredSSICCodec:
    """The bundled small SSIC family: per-group sections and partial decoding without any download."""
    from ssicbench.codecs.ssic.codec import StructuredSSICCodec

    return StructuredSSICCodec("charm", TINY_WEIGHTS, TINY_CONFIG, device, max_memory_mb)
