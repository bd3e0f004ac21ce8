"""Shared fixtures: the data shipped with the suite, the ../shared conformance data (skipped with a reason
when absent), small synthetic images and a sweep started until it has written some rows."""

from __future__ import annotations

import subprocess
import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="session")
def kodak_dir() -> Path:
    """The 24 Kodak images shipped as package data."""
    from ssicbench.datasets import shipped_kodak

    return shipped_kodak()


@pytest.fixture(scope="session")
def published_dir() -> Path:
    """The published Kodak results shipped as package data."""
    from importlib import resources

    return Path(str(resources.files("ssicbench") / "data" / "published"))


def start_until_rows(cmd: list[str], rows_dir: Path, count: int, timeout: float) -> subprocess.Popen:
    """Start a sweep command and return it still running once `rows_dir` holds `count` row files (or after
    `timeout` seconds): the moment an interruption test kills it."""
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + timeout
    while time.time() < deadline and (not rows_dir.is_dir() or len(list(rows_dir.glob("*.json"))) < count):
        time.sleep(0.005)
    return proc


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
