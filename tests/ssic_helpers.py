"""Shared pieces of the SSIC tests: the small architecture with seeded random weights, and the conformance data."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from ssicbench.codecs.ssic import SSICCodec, SSICModel, make_config

CONFORMANCE = Path(__file__).resolve().parents[1].parent / "shared" / "conformance" / "ssic_reference"

# The conformance checkpoint's reduced architecture: fast enough for property tests with random weights.
SMALL = {
    "embed_dim_g": [16, 24, 32, 40],
    "depths_g": [2, 2, 2, 2],
    "num_heads_g": [2, 2, 4, 4],
    "embed_dim_h": [32, 32],
}


def conformance_dir() -> Path:
    if not (CONFORMANCE / "README.md").is_file():
        pytest.skip(f"SSIC conformance data not found at {CONFORMANCE}")
    return CONFORMANCE


def random_model(variant: str = "charm", seed: int = 0) -> SSICModel:
    """The small architecture with seeded random weights (latents scaled up so strings are not trivial)."""
    torch.manual_seed(seed)
    model = SSICModel(make_config(variant, SMALL)).eval()
    with torch.no_grad():
        model.g_a_pe[-1].proj.weight.mul_(8)
    model.build_tables()
    return model


def random_codec(variant: str = "charm", seed: int = 0) -> SSICCodec:
    return SSICCodec.for_variant(variant, {1: random_model(variant, seed)})


def photo(height: int, width: int, seed: int = 0) -> np.ndarray:
    """Smooth gradients plus mild noise: compresses like a photo rather than like noise."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:height, 0:width] / max(height, width)
    base = np.stack([np.sin(6 * x + seed), np.cos(5 * y), np.sin(4 * (x + y))], axis=-1)
    return np.clip(127.5 + 100 * base + rng.normal(0, 6, (height, width, 3)), 0, 255).astype(np.uint8)


def pixel_groups(mask: np.ndarray, image_hw: tuple[int, int]) -> np.ndarray:
    """The group id of every pixel of an image of size `image_hw` (16x16 blocks)."""
    return np.kron(mask, np.ones((16, 16), dtype=mask.dtype))[: image_hw[0], : image_hw[1]]
