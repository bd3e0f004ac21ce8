"""Training images: package photographs and generated dead leaves, reproducible, and never Kodak (the test set)."""

from __future__ import annotations

import shutil

import numpy as np
import pytest

from ssicbench.errors import BenchError
from ssicbench.training.data import PatchSampler
from ssicbench.training.images import dead_leaves_pool, load_training_images, photo_palette


def test_dead_leaves_are_reproducible_whatever_the_number_of_workers():
    palette = np.array([[10, 20, 30], [200, 100, 50]], dtype=np.uint8)
    one = dead_leaves_pool(3, 64, seed=5, palette=palette, workers=1)
    two = dead_leaves_pool(3, 64, seed=5, palette=palette, workers=2)
    assert all(np.array_equal(a, b) for a, b in zip(one, two))
    assert one[0].shape == (64, 64, 3) and one[0].dtype == np.uint8
    assert not np.array_equal(one[0], one[1])  # every image of the pool differs
    assert one[0].std() > 10  # not a flat canvas


def test_package_photos_are_colour_photographs_large_enough_for_the_crops():
    photos = load_training_images("package-photos", 256)
    assert len(photos) >= 8
    assert all(p.ndim == 3 and p.shape[2] == 3 and min(p.shape[:2]) >= 256 for p in photos)
    assert photo_palette(photos, count=100).shape == (100, 3)


def test_kodak_is_refused_as_training_data_by_name_and_by_content(tmp_path, kodak_dir):
    with pytest.raises(BenchError, match="test set"):
        load_training_images("kodak", 256)
    folder = tmp_path / "innocent-name"
    folder.mkdir()
    shutil.copy(kodak_dir / "kodim07.png", folder / "holiday.png")
    with pytest.raises(BenchError, match="Kodak image"):
        load_training_images(str(folder), 256)


def test_crops_come_from_the_extra_pool_at_its_share():
    black, white = [np.zeros((64, 64, 3), np.uint8)], [np.full((64, 64, 3), 255, np.uint8)]
    sampler = PatchSampler(black, 32, seed=0, extra=white, extra_share=0.25)
    means = np.concatenate([sampler.global_batch(step, 16)[0].mean((1, 2, 3)).numpy() for step in range(50)])
    assert set(np.unique(means)) == {0.0, 1.0}
    assert abs(means.mean() - 0.25) < 0.05
    again = PatchSampler(black, 32, seed=0, extra=white, extra_share=0.25).global_batch(7, 16)[0]
    assert np.array_equal(again.numpy(), sampler.global_batch(7, 16)[0].numpy())  # a pure function of the step
