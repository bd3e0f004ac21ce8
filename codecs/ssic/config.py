"""Architecture settings of the SSIC models: the published full-size defaults plus overrides (e.g. a small config)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import asdict, dataclass, fields, replace
from pathlib import Path
from typing import Any

__all__ = [
    "LATENT_STRIDE",
    "PAD_MULTIPLE",
    "SSIC_VARIANTS",
    "VARIANTS",
    "SSICConfig",
    "Variant",
    "make_config",
    "variant_info",
]

LATENT_STRIDE = 16  # pixels per side of a latent cell of y, and of a group-mask cell: SSIC's one block size
PAD_MULTIPLE = 64  # images are padded right/bottom to this multiple (the hyper latent is at 1/64)


@dataclass(frozen=True)
class Variant:
    """One SSIC codec as the suite names it (codec registry and training `arch`): its entropy model and
    whether it codes groups (a `StructuredCodec`, trained with group masks)."""

    name: str
    variant: str
    structured: bool
    description: str


SSIC_VARIANTS: dict[str, Variant] = {
    v.name: v
    for v in (
        Variant(
            "ssic-charm",
            "charm",
            True,
            "SSIC (ICCV 2023): semantically structured, one decodable section per group, channel-autoregressive",
        ),
        Variant(
            "ssic-wostructure", "wostructure", False, "SSIC network without structure: the whole image as one group"
        ),
        Variant("ssic-hyper", "hyper", True, "SSIC structured, hyperprior-only entropy model"),
    )
}
VARIANTS = tuple(v.variant for v in SSIC_VARIANTS.values())


def variant_info(variant: str) -> Variant:
    """The table row of entropy-model `variant` ("charm", "wostructure" or "hyper")."""
    for row in SSIC_VARIANTS.values():
        if row.variant == variant:
            return row
    raise ValueError(f"unknown SSIC variant {variant!r}; known: {', '.join(VARIANTS)}")


@dataclass(frozen=True)
class SSICConfig:
    """Constructor arguments of the reference `GroupChARTTC` family, under the reference's own names.

    `variant` picks the entropy model: "charm" (structured, channel-autoregressive), "wostructure"
    (same network coded as one group) or "hyper" (hyperprior means/scales only).
    """

    variant: str = "charm"
    embed_dim_g: tuple[int, ...] = (128, 192, 256, 320)
    depths_g: tuple[int, ...] = (2, 2, 5, 1)
    num_heads_g: tuple[int, ...] = (8, 12, 16, 16)
    embed_dim_h: tuple[int, ...] = (192, 192)
    window_size_g: int = 8
    mlp_ratio: float = 4.0
    qkv_bias: bool = True
    splits: int = 10

    def __post_init__(self) -> None:
        variant_info(self.variant)  # an unknown variant fails here
        stages = len(self.embed_dim_g)
        if not (len(self.depths_g) == len(self.num_heads_g) == stages == 4):
            raise ValueError("embed_dim_g, depths_g and num_heads_g need 4 stages each (1/16 latent)")
        if any(c % h for c, h in zip(self.embed_dim_g, self.num_heads_g)):
            raise ValueError("every embed_dim_g must be a multiple of its num_heads_g")
        if self.latent_channels % self.splits:
            raise ValueError(f"latent channels {self.latent_channels} are not a multiple of splits={self.splits}")
        if self.window_size_g < 2 or self.window_size_g % 2:
            raise ValueError("window_size_g must be an even number >= 2")
        if self.latent_channels // self.splits < 2 or self.hyper_channels < 2:  # strings of >= 2 symbols
            raise ValueError(
                "each latent slice and the hyper latent need >= 2 channels: CompressAI's rANS encoder crashes on"
                " a one-symbol string"
            )

    @property
    def latent_channels(self) -> int:
        return self.embed_dim_g[-1]

    @property
    def hyper_channels(self) -> int:
        return self.embed_dim_h[-1]

    @property
    def num_slices(self) -> int:
        """Entropy-coded strings per group: the channel slices (ChARM) or one string (hyperprior)."""
        return 1 if self.variant == "hyper" else self.splits

    def to_dict(self) -> dict[str, Any]:
        return {k: list(v) if isinstance(v, tuple) else v for k, v in asdict(self).items()}


def make_config(variant: str, overrides: str | Path | Mapping[str, Any] | None = None) -> SSICConfig:
    """The full-size `variant` config with `overrides` (a dict or a JSON file of reference argument names)."""
    if overrides is None:
        values: dict[str, Any] = {}
    elif isinstance(overrides, Mapping):
        values = dict(overrides)
    else:
        path = Path(overrides)
        if not path.is_file():
            raise FileNotFoundError(f"SSIC config file {path} does not exist")
        values = json.loads(path.read_text())
    known = {f.name for f in fields(SSICConfig)}
    unknown = sorted(set(values) - known)
    if unknown:
        raise ValueError(f"unknown SSIC config keys {unknown}; known: {sorted(known)}")
    values = {k: tuple(v) if isinstance(v, list) else v for k, v in values.items()}
    values.setdefault("variant", variant)
    if values["variant"] != variant:
        raise ValueError(f"config says variant {values['variant']!r} but {variant!r} was asked for")
    return replace(SSICConfig(), **values)
