"""What the training loop needs from a model, for SSIC variants and CompressAI architectures alike."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import torch
from compressai.entropy_models import EntropyBottleneck
from torch import nn

from ssicbench.codecs.ssic.config import LATENT_STRIDE, SSIC_VARIANTS
from ssicbench.errors import CheckpointError, UnknownNameError

__all__ = ["TABLE_BUFFERS", "RDForward", "TrainableModel", "build_trainable"]

TABLE_BUFFERS = ("_quantized_cdf", "_offset", "_cdf_length")  # rANS tables: derived, rebuilt at export


@dataclass
class TrainableModel:
    """A model plus the facts the loop needs: the group-mask cell size of structured models (None: the model
    takes no group masks), and its rate-distortion pass."""

    arch: str
    module: nn.Module
    mask_cell: int | None = None

    @property
    def structured(self) -> bool:
        return self.mask_cell is not None

    def rd_forward(
        self, x: torch.Tensor, groups: torch.Tensor | None, noisy: bool, batched: bool = True
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """(x_hat, total bits) of a training batch."""
        if self.arch in SSIC_VARIANTS:
            out = self.module.forward_train(x, groups, noisy, batched)
        else:
            out = self.module(x)
        bits = sum(torch.log(lik.float()).sum() for lik in out["likelihoods"].values()) / -math.log(2)
        return out["x_hat"], bits

    def aux_names(self) -> list[str]:
        """Parameters trained by the auxiliary loss only (entropy-bottleneck quantiles)."""
        return [name for name, _ in self.module.named_parameters() if name.endswith("quantiles")]

    def parameter_groups(self) -> tuple[list[nn.Parameter], list[nn.Parameter]]:
        aux = set(self.aux_names())
        named = list(self.module.named_parameters())
        return [p for n, p in named if n not in aux], [p for n, p in named if n in aux]

    def load_weights(self, path: str) -> None:
        """Initialise from a checkpoint in the codec's layout (official SSIC layout, or a CompressAI state dict)."""
        from ssicbench.training.checkpoint import load_checkpoint

        state = load_checkpoint(path)
        if self.arch in SSIC_VARIANTS:
            from ssicbench.codecs.ssic.checkpoint import load_state

            if not isinstance(state.get("parameters"), dict):
                raise CheckpointError(f"{path} is not a checkpoint in the SSIC layout {{'iteration', 'parameters'}}")
            load_state(self.module, state["parameters"], source=path)
        else:
            self.module.load_state_dict(state.get("state_dict", state))

    def load_training_state(self, state: dict[str, torch.Tensor]) -> None:
        """Load weights saved by the training loop; SSIC's entropy-coder tables are skipped (their sizes vary)."""
        if self.arch not in SSIC_VARIANTS:
            self.module.load_state_dict(state)  # CompressAI models resize their table buffers themselves
            return
        weights = {k: v for k, v in state.items() if not k.endswith(TABLE_BUFFERS)}
        missing, unexpected = self.module.load_state_dict(weights, strict=False)
        missing = [k for k in missing if not k.endswith(TABLE_BUFFERS)]
        if missing or unexpected:
            raise CheckpointError(
                f"training state does not fit {self.arch}: missing {missing[:5]}, unexpected {unexpected[:5]}"
            )

    def aux_loss(self) -> torch.Tensor:
        """Sum of the entropy bottlenecks' quantile losses (as CompressAI's `aux_loss`)."""
        return sum(m.loss() for m in self.module.modules() if isinstance(m, EntropyBottleneck))


class RDForward(nn.Module):
    """The training pass as a module, so DistributedDataParallel and torch.compile wrap exactly it."""

    def __init__(self, trainable: TrainableModel, noisy: bool, batched: bool = True):
        super().__init__()
        self.trainable = trainable
        self.model = trainable.module
        self.noisy = noisy
        self.batched = batched

    def forward(self, x: torch.Tensor, groups: torch.Tensor | None) -> tuple[torch.Tensor, torch.Tensor]:
        return self.trainable.rd_forward(x, groups, self.noisy, self.batched)


def build_trainable(arch: str, overrides: dict[str, Any]) -> TrainableModel:
    """An untrained model by architecture name: an SSIC variant or any CompressAI image model."""
    if arch in SSIC_VARIANTS:
        from ssicbench.codecs.ssic.config import make_config
        from ssicbench.codecs.ssic.model import SSICModel

        row = SSIC_VARIANTS[arch]
        model = SSICModel(make_config(row.variant, overrides))
        return TrainableModel(arch, model, LATENT_STRIDE if row.structured else None)
    from compressai.registry import MODELS
    from compressai.zoo.image import cfgs

    if arch not in MODELS:
        known = ", ".join(list(SSIC_VARIANTS) + sorted(MODELS))
        raise UnknownNameError(f"unknown architecture {arch!r}; known: {known}")
    overrides = dict(overrides)
    quality = overrides.pop("quality", 1)  # channel widths default to the zoo's (N, M) at that quality
    widths = dict(zip(("N", "M"), cfgs[arch][quality])) if arch in cfgs else {}
    return TrainableModel(arch, MODELS[arch](**{**widths, **overrides}))
