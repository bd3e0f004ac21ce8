"""Group masks of structured codecs from PNG (ids, id x step, connected components), .npy, or sampled for
training; wrong sizes are MaskErrors. SSIC's mask payload on its latent grid is exact."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image
from ssic_helpers import CONFORMANCE

from ssicbench.codecs.masks import cell_grid, load_group_mask, random_group_mask, sample_group_masks
from ssicbench.codecs.ssic.sections import decode_mask, encode_mask, pad_group_mask
from ssicbench.errors import BitstreamError, MaskError

KODAK_MASKS = CONFORMANCE.parents[1] / "datasets" / "kodak_group_masks"
IDS = np.array([[0, 0, 1, 1], [0, 2, 2, 1], [3, 3, 0, 0]])


def save(path, values, mode="L"):
    Image.fromarray(np.asarray(values).astype(np.uint8), mode=mode).save(path)
    return path


def test_mask_has_one_cell_per_block_rounding_up():
    assert cell_grid(256, 384, 16) == (16, 24)
    assert cell_grid(33, 17, 16) == (3, 2)
    assert cell_grid(33, 17, 32) == (2, 1)


def test_png_modes(tmp_path):
    assert np.array_equal(load_group_mask(save(tmp_path / "ids.png", IDS), (3, 4)), IDS)
    assert np.array_equal(load_group_mask(save(tmp_path / "step.png", IDS * 60), (3, 4)), IDS)
    assert np.array_equal(load_group_mask(save(tmp_path / "ids.png", IDS), (3, 4), mode="ids"), IDS)
    rgb = np.repeat((IDS * 85)[..., None], 3, axis=2)
    Image.fromarray(rgb.astype(np.uint8)).save(tmp_path / "rgb.png")
    assert np.array_equal(load_group_mask(tmp_path / "rgb.png", (3, 4)), IDS)


def test_foreground_png_becomes_4_connected_components(tmp_path):
    values = np.array([[0, 9, 9, 0], [0, 0, 9, 0], [7, 0, 0, 5], [7, 7, 0, 5]])  # not a multiple pattern
    expected = np.array([[0, 1, 1, 0], [0, 0, 1, 0], [2, 0, 0, 3], [2, 2, 0, 3]])
    assert np.array_equal(load_group_mask(save(tmp_path / "fg.png", values), (4, 4)), expected)
    diagonal = np.array([[5, 0], [0, 5]])  # touching corners are separate groups (4-connectivity)
    labels = load_group_mask(save(tmp_path / "d.png", diagonal), (2, 2), mode="components")
    assert np.array_equal(labels, [[1, 0], [0, 2]])


def test_npy_holds_ids(tmp_path):
    np.save(tmp_path / "m.npy", IDS)
    assert np.array_equal(load_group_mask(tmp_path / "m.npy", (3, 4)), IDS)


def test_wrong_size_names_both_sizes(tmp_path):
    with pytest.raises(MaskError, match=r"is 3x4 .* needs 4x4"):
        load_group_mask(save(tmp_path / "m.png", IDS), (4, 4))
    np.save(tmp_path / "negative.npy", -IDS)
    with pytest.raises(MaskError, match=r"ids must be in 0\.\.255"):
        load_group_mask(tmp_path / "negative.npy", (3, 4))
    with pytest.raises(MaskError, match="does not exist"):
        load_group_mask(tmp_path / "absent.png", (3, 4))


def test_random_masks_are_irregular_groups_on_the_reference_32_px_grid():
    random = random_group_mask((32, 48), 16, seed=1)
    assert random.shape == (32, 48) and len(np.unique(random)) > 2
    assert np.array_equal(random, random_group_mask((32, 48), 16, seed=1))
    assert (random[::2, ::2].repeat(2, 0).repeat(2, 1) == random).all()  # constant on 2x2 cells = 32 px
    coarse = random_group_mask((16, 24), 32, seed=1)
    assert np.array_equal(coarse, random[::2, ::2])  # the same groups on a 32-px-cell codec


def test_training_sampler_draws_the_codec_shape_and_empty_masks_at_the_asked_rate():
    masks = sample_group_masks(np.random.default_rng(0), 200, 256, 240, 16, empty_prob=0.5)
    assert masks.shape == (200, 16, 15)
    empty = (masks == 0).all(axis=(1, 2)).mean()
    assert 0.38 < empty < 0.62
    again = sample_group_masks(np.random.default_rng(0), 200, 256, 240, 16, empty_prob=0.5)
    assert np.array_equal(masks, again)


def test_kodak_masks_give_the_reference_groups():
    path = KODAK_MASKS / "kodim01.png"
    if not path.is_file():
        pytest.skip(f"{path} is absent")
    mask = load_group_mask(path, (32, 48))
    grey = np.asarray(Image.open(path).convert("L"))
    assert mask.shape == (32, 48)
    assert len(np.unique(mask)) == len(np.unique(grey))  # one group per grey level, background 0
    assert np.array_equal(mask == 0, grey == 0)


def test_mask_payload_is_compact_and_exact():
    mask = pad_group_mask(np.kron(IDS, np.ones((2, 2), dtype=np.int64)), (8, 8))
    block, payload = encode_mask(mask)
    assert block == 32 and len(payload) < mask.size
    assert np.array_equal(decode_mask(payload, block, (8, 8)), mask)
    with pytest.raises(BitstreamError):
        decode_mask(payload, 16, (8, 8))
    with pytest.raises(BitstreamError):
        decode_mask(payload[:-1], block, (8, 8))
