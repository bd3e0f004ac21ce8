"""Training batches drawn as a pure function of (seed, step): resumed and distributed runs see exactly the
batches of an uninterrupted single-process run, with no data-loader state to save."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch

from ssicbench.errors import BenchError
from ssicbench.imageio import load_image

__all__ = ["PatchSampler", "random_group_masks"]


class PatchSampler:
    """Random square crops with random flips from images held in memory: each crop comes from pool k (e.g.
    photos, dead leaves) with probability shares[k], then from a uniformly drawn image of that pool."""

    def __init__(
        self,
        images: Sequence[np.ndarray],
        patch_size: int,
        seed: int,
        extra: Sequence[np.ndarray] = (),
        extra_share: float = 0.0,
    ):
        small = [img.shape[:2] for img in [*images, *extra] if min(img.shape[:2]) < patch_size]
        if small:
            raise BenchError(f"training images smaller than the {patch_size}px patch: {small[:3]}")
        self.pools = [list(images)] + ([list(extra)] if len(extra) else [])
        self.extra_share = extra_share if len(extra) else 0.0
        self.patch = patch_size
        self.seed = seed

    @classmethod
    def from_paths(cls, paths: Sequence[Path], patch_size: int, seed: int) -> PatchSampler:
        return cls([load_image(p) for p in paths], patch_size, seed)

    def global_batch(self, step: int, batch_size: int) -> tuple[torch.Tensor, np.random.Generator]:
        """The whole batch of `step` (B,3,P,P) in [0,1], and a generator for further per-step draws."""
        rng = np.random.default_rng([self.seed, step])
        crops = []
        for _ in range(batch_size):
            pool = self.pools[1] if self.extra_share and rng.random() < self.extra_share else self.pools[0]
            img = pool[rng.integers(len(pool))]
            top = rng.integers(img.shape[0] - self.patch + 1)
            left = rng.integers(img.shape[1] - self.patch + 1)
            crop = img[top : top + self.patch, left : left + self.patch]
            if rng.random() < 0.5:
                crop = crop[:, ::-1]
            crops.append(np.ascontiguousarray(crop))
        batch = torch.from_numpy(np.stack(crops)).permute(0, 3, 1, 2).float() / 255.0
        return batch, rng


def random_group_masks(rng: np.random.Generator, batch: int, size: int, empty_prob: float, cell: int) -> torch.Tensor:
    """Irregular group masks (B, size/cell, size/cell) for a structured model with `cell`-px mask cells, as the
    reference trains with; a share `empty_prob` of the samples gets a single group (no objects)."""
    from ssicbench.codecs.masks import sample_group_masks

    return torch.from_numpy(sample_group_masks(rng, batch, size, size, cell, empty_prob))
