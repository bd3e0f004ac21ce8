"""What the training loop needs from a model, for SSIC variants and CompressAI architectures alike."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from ssicbench.errors import UnknownNameError

SSIC_ARCHS = ("ssic-charm", "ssic-wostructure", "ssic-hyper")


@dataclass
class TrainableModel:
    """A model plus the facts the loop needs: whether it takes group masks, and how to read its output."""

    arch: str
    module: nn.Module
    structured: bool

    def outputs(self, out: dict[str, Any]) -> tuple[torch.Tensor, torch.Tensor]:
        """(x_hat, total bits) from a forward pass that returns CompressAI-style likelihoods."""
        bits = sum(torch.log(lik.float()).sum() for lik in out["likelihoods"].values()) / -math.log(2)
        return out["x_hat"], bits

    def aux_names(self) -> list[str]:
        """Parameters trained by the auxiliary loss only (entropy-bottleneck quantiles)."""
        return [name for name, _ in self.module.named_parameters() if name.endswith("quantiles")]

    def parameter_groups(self) -> tuple[list[nn.Parameter], list[nn.Parameter]]:
        aux = set(self.aux_names())
        named = list(self.module.named_parameters())
        return [p for n, p in named if n not in aux], [p for n, p in named if n in aux]

    def aux_loss(self) -> torch.Tensor:
        return self.module.aux_loss()


def build_trainable(arch: str, overrides: dict[str, Any]) -> TrainableModel:
    """An untrained model by architecture name: an SSIC variant or any CompressAI image model."""
    if arch in SSIC_ARCHS:
        from ssicbench.codecs.ssic.model import build_model

        return TrainableModel(arch, build_model(arch, **overrides), structured=arch == "ssic-charm")
    from compressai.registry import MODELS

    if arch not in MODELS:
        known = ", ".join(list(SSIC_ARCHS) + sorted(MODELS))
        raise UnknownNameError(f"unknown architecture {arch!r}; known: {known}")
    from compressai.zoo.image import cfgs

    overrides = dict(overrides)
    quality = overrides.pop("quality", 1)  # channel widths default to the zoo's (N, M) at that quality
    widths = dict(zip(("N", "M"), cfgs[arch][quality])) if arch in cfgs else {}
    return TrainableModel(arch, MODELS[arch](**{**widths, **overrides}), structured=False)
