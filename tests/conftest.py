"""Shared fixtures: the ../shared data (skipped with a reason when absent) and small synthetic images."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"


@pytest.fixture(scope="session")
def shared_dir() -> Path:
    if not SHARED.is_dir():
        pytest.skip(f"{SHARED} is absent (shared datasets/reference data not available)")
    return SHARED


@pytest.fixture(scope="session")
def kodak_dir(shared_dir: Path) -> Path:
    path = shared_dir / "datasets" / "kodak"
    if not path.is_dir():
        pytest.skip(f"{path} is absent")
    return path


def smooth_image(height: int, width: int, seed: int = 0) -> np.ndarray:
    """A natural-ish test image: smooth gradients plus mild noise (compresses like a photo, not like noise)."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:height, 0:width] / max(height, width)
    base = np.stack([np.sin(6 * x + seed), np.cos(5 * y), np.sin(4 * (x + y))], axis=-1)
    image = 127.5 + 100 * base + rng.normal(0, 6, (height, width, 3))
    return np.clip(image, 0, 255).astype(np.uint8)


@pytest.fixture
def image_folder(tmp_path: Path) -> Path:
    folder = tmp_path / "images"
    folder.mkdir()
    for i in range(4):
        Image.fromarray(smooth_image(96 + 16 * i, 128, seed=i)).save(folder / f"img{i}.png")
    return folder
