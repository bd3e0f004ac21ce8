"""Partial decoding: any subset of groups decodes exactly as in the full decode, at any image size and mask,
and costs work in proportion to the decoded area."""

from __future__ import annotations

import math

import numpy as np
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from ssic_helpers import photo, pixel_groups, random_codec, random_model

from ssicbench.codecs.ssic.coding import Coder
from ssicbench.codecs.ssic.config import PAD_MULTIPLE
from ssicbench.codecs.ssic.layers import StageGrid
from ssicbench.codecs.ssic.sections import pad_group_mask

_CACHE: dict[str, object] = {}


def coder() -> Coder:
    if "coder" not in _CACHE:
        _CACHE["coder"] = Coder(random_model("charm", seed=1))
    return _CACHE["coder"]


@st.composite
def masked_images(draw):
    """An image of arbitrary size (stages not always multiples of the window), an irregular mask, a group subset."""
    height, width = draw(st.integers(8, 200)), draw(st.integers(8, 200))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    shape = (math.ceil(height / 16), math.ceil(width / 16))
    if draw(st.booleans()):  # scattered cells
        mask = rng.integers(0, draw(st.integers(1, 4)), shape)
    else:  # blobs on a background
        mask = np.zeros(shape, dtype=np.int64)
        for group in range(1, draw(st.integers(1, 5))):
            i, j = rng.integers(0, shape[0]), rng.integers(0, shape[1])
            mask[i : i + rng.integers(1, 5), j : j + rng.integers(1, 5)] = group
    present = sorted(np.unique(mask).tolist())
    subset = draw(st.lists(st.sampled_from(present), min_size=1, unique=True))
    return photo(height, width, seed=int(rng.integers(100))), mask, sorted(subset)


def padded_input(image: np.ndarray, mask: np.ndarray) -> tuple[torch.Tensor, torch.Tensor]:
    height, width = image.shape[:2]
    hp, wp = -(-height // PAD_MULTIPLE) * PAD_MULTIPLE, -(-width // PAD_MULTIPLE) * PAD_MULTIPLE
    x = torch.from_numpy(image).permute(2, 0, 1)[None].float() / 255
    x = torch.nn.functional.pad(x, (0, wp - width, 0, hp - height))
    return x, torch.from_numpy(pad_group_mask(mask, (hp // 16, wp // 16)))


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(masked_images())
def test_any_group_subset_decodes_bit_identical_to_the_full_decode(case):
    image, mask, subset = case
    x, groups = padded_input(image, mask)
    coded = coder().compress(x, groups)
    full = coder().decompress(coded, groups)
    partial = coder().decompress(coded, groups, subset)
    dense = coder().decompress(coded, groups, subset, dense=True)
    inside = torch.isin(groups, torch.tensor(subset)).repeat_interleave(16, 0).repeat_interleave(16, 1)
    assert torch.equal(partial[0][:, inside], full[0][:, inside])
    assert torch.equal(dense[0][:, inside], full[0][:, inside])
    assert not partial[0][:, ~inside].any()


def test_codec_decodes_the_groups_a_subset_container_holds():
    codec = random_codec(seed=2)
    image = photo(96, 144, seed=3)
    mask = np.zeros((6, 9), dtype=np.int64)
    mask[1:4, 2:5], mask[3:6, 6:9] = 1, 2
    bitstream = codec.encode(image, 1, mask=mask)
    full = codec.decode(bitstream)
    owner = pixel_groups(mask, (96, 144))
    for keep in ([1], [0, 2], [1, 2]):
        subset = codec.receive(bitstream, keep)
        assert subset.num_bytes < bitstream.num_bytes
        image_part = codec.decode(subset)
        inside = np.isin(owner, keep)
        assert np.array_equal(image_part[inside], full[inside])
        assert not image_part[~inside].any()
        assert np.array_equal(codec.decode(bitstream, groups=keep), image_part)


def test_partial_synthesis_computes_only_windows_and_tokens_of_the_requested_groups():
    groups = torch.zeros(64, 96, dtype=torch.long)
    groups[8:20, 40:52] = 1  # 144 tokens touching 2 x 2 windows of 8 x 8 (plain layout)
    grid = StageGrid.select(groups, 8, torch.tensor([1]))
    assert grid.count == 144
    assert grid.plan(0).rows.shape[0] == 4
    assert grid.plan(4).rows.shape[0] == 4  # rolled by 4: rows 4..15, columns 36..47 -> 2 x 2 windows
    full = StageGrid.select(groups, 8)
    assert full.plan(0).rows.shape[0] == 8 * 12
    child = grid.upsampled()
    assert child.count == 4 * 144 and set(child.groups.flatten()[child.positions].tolist()) == {1}


def test_attention_ignores_other_groups_exactly_in_plain_and_shifted_windows():
    torch.manual_seed(0)
    layer = random_model(seed=4).g_s_m[-1]  # a 2-block stage: plain then shifted windows
    groups = torch.randint(0, 3, (20, 28))  # not a multiple of the window: padded, never resized
    grid = StageGrid.select(groups, 8)
    x = torch.randn(grid.rows, layer.blocks[0].norm1.normalized_shape[0])
    other = grid.groups.flatten()[grid.positions] != 1
    y = x.clone()
    y[: grid.count][other] = torch.randn(int(other.sum()), x.shape[1]) * 10
    out_x, out_y = layer(x, grid), layer(y, grid)
    assert torch.equal(out_x[: grid.count][~other], out_y[: grid.count][~other])
