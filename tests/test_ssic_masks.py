"""Group masks from PNG (ids, id x step, connected components), .npy, or generated; wrong sizes are MaskErrors."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image
from ssic_helpers import CONFORMANCE

from ssicbench.codecs.ssic import generate_group_mask, load_group_mask, mask_shape
from ssicbench.codecs.ssic.masks import pad_group_mask
from ssicbench.codecs.ssic.sections import decode_mask, encode_mask
from ssicbench.errors import BitstreamError, MaskError

KODAK_MASKS = CONFORMANCE.parents[1] / "datasets" / "kodak_group_masks"
IDS = np.array([[0, 0, 1, 1], [0, 2, 2, 1], [3, 3, 0, 0]])


def save(path, values, mode="L"):
    Image.fromarray(np.asarray(values).astype(np.uint8), mode=mode).save(path)
    return path


def test_mask_has_one_cell_per_16_pixel_block():
    assert mask_shape((256, 384)) == (16, 24)
    assert mask_shape((33, 17)) == (3, 2)


def test_png_modes(tmp_path):
    assert np.array_equal(load_group_mask(save(tmp_path / "ids.png", IDS), (48, 64)), IDS)
    assert np.array_equal(load_group_mask(save(tmp_path / "step.png", IDS * 60), (48, 64)), IDS)
    assert np.array_equal(load_group_mask(save(tmp_path / "ids.png", IDS), (48, 64), mode="ids"), IDS)
    rgb = np.repeat((IDS * 85)[..., None], 3, axis=2)
    Image.fromarray(rgb.astype(np.uint8)).save(tmp_path / "rgb.png")
    assert np.array_equal(load_group_mask(tmp_path / "rgb.png", (48, 64)), IDS)


def test_foreground_png_becomes_4_connected_components(tmp_path):
    values = np.array([[0, 9, 9, 0], [0, 0, 9, 0], [7, 0, 0, 5], [7, 7, 0, 5]])  # not a multiple pattern
    expected = np.array([[0, 1, 1, 0], [0, 0, 1, 0], [2, 0, 0, 3], [2, 2, 0, 3]])
    assert np.array_equal(load_group_mask(save(tmp_path / "fg.png", values), (64, 64)), expected)
    diagonal = np.array([[5, 0], [0, 5]])  # touching corners are separate groups (4-connectivity)
    labels = load_group_mask(save(tmp_path / "d.png", diagonal), (32, 32), mode="components")
    assert np.array_equal(labels, [[1, 0], [0, 2]])


def test_npy_holds_ids(tmp_path):
    np.save(tmp_path / "m.npy", IDS)
    assert np.array_equal(load_group_mask(tmp_path / "m.npy", (40, 50)), IDS)


def test_wrong_size_names_both_sizes(tmp_path):
    with pytest.raises(MaskError, match=r"is 3x4 .* 64x64 image needs 4x4"):
        load_group_mask(save(tmp_path / "m.png", IDS), (64, 64))
    np.save(tmp_path / "negative.npy", -IDS)
    with pytest.raises(MaskError, match=r"ids must be in 0\.\.255"):
        load_group_mask(tmp_path / "negative.npy", (48, 64))
    with pytest.raises(MaskError, match="does not exist"):
        load_group_mask(tmp_path / "absent.png", (48, 64))


def test_generated_masks():
    assert not generate_group_mask((100, 150)).any()
    random = generate_group_mask((512, 768), "random", seed=1)
    assert random.shape == (32, 48) and len(np.unique(random)) > 2
    assert np.array_equal(random, generate_group_mask((512, 768), "random", seed=1))


def test_kodak_masks_give_the_reference_groups():
    path = KODAK_MASKS / "kodim01.png"
    if not path.is_file():
        pytest.skip(f"{path} is absent")
    mask = load_group_mask(path, (512, 768))
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
