"""Training configuration: a plain JSON file under configs/train/, loaded into one dataclass."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ssicbench.config import CONFIG_VERSION, RunConfig
from ssicbench.errors import UsageError
from ssicbench.validate import spec

__all__ = ["MASK_SOURCES", "TrainConfig", "set_overrides"]

MASK_SOURCES = ("random", "none")


@dataclass
class TrainConfig(RunConfig):
    """Everything a training run depends on; the run directory keeps a copy next to its checkpoints."""

    KIND = "training config"

    version: int = CONFIG_VERSION
    description: str = ""
    arch: str = "ssic-charm"  # ssic-charm | ssic-wostructure | ssic-hyper | a CompressAI architecture name
    model: dict[str, Any] = field(default_factory=dict)  # constructor overrides (e.g. the tiny config)
    init: str = ""  # start from these weights (the codec's checkpoint layout) instead of random ones
    lmbda: float = 0.0130  # loss = lmbda * 255^2 * MSE + bpp  (or lmbda * (1 - MS-SSIM) + bpp)
    metric: str = spec("mse", choices=("mse", "ms-ssim"))  # the distortion term of the loss
    dataset: str = "embedded"  # package-photos | a dataset name | an image folder (never Kodak: the test set)
    dead_leaves: int = 0  # generated dead-leaves images added to the training pool (0: none)
    dead_leaves_size: int = spec(512, low=16, high=8192)
    dead_leaves_share: float = spec(0.5, high=1)  # share of crops taken from the dead-leaves pool
    patch_size: int = spec(256, low=16, high=8192)
    batch_size: int = spec(8, low=1, high=65536)  # global batch, split evenly over DDP processes
    steps: int = 1000
    lr: float = 1e-4
    aux_lr: float = 1e-3
    milestones: list[int] = field(default_factory=lambda: [800])
    gamma: float = 0.1
    warmup_steps: int = 0  # learning rate ramped up linearly over the run's first steps (0: none)
    clip_grad: float = 1.0
    # random: irregular groups as the reference samples them; none: one group
    masks: str = spec("random", choices=MASK_SOURCES)
    mask_empty_prob: float = spec(0.5, high=1)  # share of samples trained with a single group, as the reference does
    noisy: bool = True  # uniform-noise quantization proxy (False: straight-through rounding)
    batched_transforms: bool = True  # SSIC transforms on the whole batch at once (False: one image at a time)
    seed: int = 0
    amp: bool = False
    compile: bool = False
    device: str = "auto"
    log_every: int = spec(10, low=1)
    eval_every: int = 250
    checkpoint_every: int = spec(100, low=1)
    eval_dataset: str = "embedded"
    eval_images: int = spec(4, low=1)
    time_budget_s: float = 0  # stop (checkpointed) when the run has trained this long; 0: no limit

    @classmethod
    def load(cls, path: str | Path, **overrides: Any) -> TrainConfig:  # type: ignore[override]
        """The config file at `path` with the `overrides` that are not None applied."""
        return super().load(path, overrides)


def set_overrides(items: Sequence[str]) -> dict[str, Any]:
    """`--set KEY=JSON` flags as config overrides (UsageError for one that is not KEY=JSON)."""
    overrides = {}
    for item in items:
        key, sep, value = item.partition("=")
        try:
            if not (sep and key):
                raise ValueError
            overrides[key] = json.loads(value)
        except ValueError:
            raise UsageError(
                f"--set {item}: expected KEY=JSON, e.g. steps=100, milestones=[900], device='\"cpu\"'"
            ) from None
    return overrides
