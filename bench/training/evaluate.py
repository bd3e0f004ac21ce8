"""Periodic evaluation during training: encode held-out images to real bytes with the codec built from the
current weights, decode them, and report mean bpp and PSNR."""

from __future__ import annotations

import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ssicbench.codecs import Bitstream, Codec, create_codec
from ssicbench.codecs.ssic.config import SSIC_VARIANTS
from ssicbench.datasets import load_dataset
from ssicbench.imageio import load_image
from ssicbench.metrics import psnr
from ssicbench.training.config import TrainConfig
from ssicbench.training.export import write_weights
from ssicbench.training.models import TrainableModel

__all__ = ["code_images", "evaluate_model"]


def code_images(codec: Codec, images: Sequence[np.ndarray], quality: Any) -> dict[str, float]:
    """Mean bpp (from the serialized bytes), MSE (on [0, 1] samples) and PSNR (per image, then averaged) of
    `images` coded and decoded by `codec` at `quality`."""
    bpps, mses, psnrs = [], [], []
    for image in images:
        data = codec.encode(image, quality).to_bytes()
        decoded = codec.decode(Bitstream.from_bytes(data))
        bpps.append(8 * len(data) / (image.shape[0] * image.shape[1]))
        mses.append(float(np.mean((image.astype(np.float64) - decoded.astype(np.float64)) ** 2)) / 255**2)
        psnrs.append(psnr(image, decoded))
    return {"bpp": float(np.mean(bpps)), "mse": float(np.mean(mses)), "psnr": float(np.mean(psnrs))}


def evaluate_model(
    trainable: TrainableModel, cfg: TrainConfig, run_dir: Path, device: torch.device
) -> dict[str, float]:
    images = [load_image(item.path) for item in load_dataset(cfg.eval_dataset)[: cfg.eval_images]]
    with tempfile.TemporaryDirectory(dir=run_dir) as tmp:
        weights = write_weights(trainable, Path(tmp) / "weights.pth", step=0)
        if trainable.arch in SSIC_VARIANTS:
            codec = create_codec(trainable.arch, checkpoint=str(weights), config=cfg.model)
            quality = 1
        else:
            quality = cfg.model.get("quality", 1)
            codec = create_codec(f"{trainable.arch}-{cfg.metric}", weights=str(weights))
        coded = code_images(codec, images, quality)
    return {"bpp": coded["bpp"], "psnr": coded["psnr"], "images": len(images)}
