"""Turn a training run's weights into files the codecs load: the official SSIC checkpoint layout
({'iteration', 'parameters'}) or a CompressAI state dict with its entropy tables."""

from __future__ import annotations

import copy
from pathlib import Path

import torch

from ssicbench.codecs.ssic.config import SSIC_VARIANTS
from ssicbench.training.checkpoint import load_checkpoint
from ssicbench.training.config import TrainConfig
from ssicbench.training.models import TrainableModel, build_trainable

__all__ = ["coding_copy", "export_checkpoint", "write_weights"]


def coding_copy(trainable: TrainableModel) -> torch.nn.Module:
    """A copy of the model in eval mode on the CPU with rANS tables built from its current weights."""
    model = copy.deepcopy(trainable.module).cpu().eval()
    if trainable.arch in SSIC_VARIANTS:
        model.build_tables()
    else:
        model.update(force=True)
    return model


def write_weights(trainable: TrainableModel, path: str | Path, step: int) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    model = coding_copy(trainable)
    if trainable.arch in SSIC_VARIANTS:
        from ssicbench.codecs.ssic.checkpoint import save_checkpoint

        save_checkpoint(model, path, iteration=step)
    else:
        torch.save({"state_dict": model.state_dict()}, path)
    return path


def export_checkpoint(run_dir: str | Path, output: str | Path) -> Path:
    """Export the last checkpoint of `run_dir` (which holds the run's config) to `output`."""
    state = load_checkpoint(Path(run_dir) / "last.pt")
    cfg = TrainConfig.from_dict(state["config"])
    trainable = build_trainable(cfg.arch, cfg.model)
    trainable.load_training_state(state["model"])
    return write_weights(trainable, output, state["step"])
