"""Group masks on a structured codec's cells (16 px here, as SSIC's): block geometry and the snapping rule."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ssicbench import group_masks
from ssicbench.codecs.masks import cell_grid
from ssicbench.errors import MaskError
from ssicbench.group_masks import block_coverage, block_size, snap_objects

CELL = 16
BLOCK = 32


def gt_group_mask(anns, height, width, **kw):
    return group_masks.gt_group_mask(anns, height, width, CELL, **kw)


def detection_group_mask(dets, height, width, **kw):
    return group_masks.detection_group_mask(dets, height, width, CELL, **kw)


def roi_group_mask(box, height, width):
    return group_masks.roi_group_mask(box, height, width, CELL)


def mask_file(path, height, width):
    return group_masks.GroupMask.from_file(path, height, width, CELL)


def rect_ann(ann_id, x, y, w, h, category=1):
    return {"id": ann_id, "category_id": category, "bbox": [x, y, w, h]}


def test_objects_snap_to_the_32_px_grid_or_to_whole_cells_when_coarser():
    assert [block_size(cell) for cell in (8, 16, 32, 64)] == [32, 32, 32, 64]
    coarse = group_masks.gt_group_mask([rect_ann(1, 70, 0, 10, 10)], 128, 128, 64)
    np.testing.assert_array_equal(coarse.mask, [[0, 1], [0, 0]])
    np.testing.assert_array_equal(coarse.region([1], 128, 128)[:64, 64:], np.ones((64, 64), bool))


def test_blocks_lie_on_the_padded_grid_and_are_cropped_to_the_mask():
    gm = gt_group_mask([rect_ann(1, 60, 60, 10, 10)], 80, 80)  # touches blocks (1,1), (1,2), (2,1), (2,2)
    assert gm.mask.shape == (5, 5)
    expected = np.zeros((5, 5), np.int32)
    expected[2:5, 2:5] = 1  # block rows/cols 2 are cells 4..5, cropped to cell 4
    np.testing.assert_array_equal(gm.mask, expected)


def test_a_block_aligned_object_gets_exactly_its_blocks():
    gm = gt_group_mask([rect_ann(7, 32, 64, 64, 32, category=17)], 128, 128)
    expected = np.zeros((8, 8), np.int32)
    expected[4:6, 2:6] = 1
    np.testing.assert_array_equal(gm.mask, expected)
    assert gm.groups == {1: {"category_ids": [17], "annotation_ids": [7]}}


def test_one_pixel_is_enough_by_default_and_min_coverage_raises_the_bar():
    ann = rect_ann(1, 31, 0, 2, 32)  # 1 px column in block 0, 1 px in block 1: 1/32 of each
    assert np.unique(gt_group_mask([ann], 64, 64).mask[:2, :4]).tolist() == [1]
    assert gt_group_mask([ann], 64, 64, min_coverage=0.5).group_ids() == []


def test_the_larger_cover_wins_a_shared_block_and_ties_go_to_the_smaller_object():
    big = rect_ann(1, 0, 0, 64, 64)  # covers the whole 2x2 blocks
    small = rect_ann(2, 0, 0, 32, 32, category=47)  # covers block (0, 0) fully too: tie -> smaller wins
    gm = gt_group_mask([big, small], 64, 64)
    blocks = gm.mask[::2, ::2]
    assert blocks[0, 0] == gm.groups_of_category(47)[0]
    assert (blocks.ravel()[1:] == gm.groups_of_category(1)[0]).all()


def test_groupings_instance_category_component():
    anns = [rect_ann(1, 0, 0, 32, 32), rect_ann(2, 32, 0, 32, 32), rect_ann(3, 128, 128, 32, 32, category=17)]
    by_instance = gt_group_mask(anns, 192, 192, group_by="instance")
    by_category = gt_group_mask(anns, 192, 192, group_by="category")
    by_component = gt_group_mask(anns, 192, 192, group_by="component")
    assert len(by_instance.group_ids()) == 3
    assert by_category.groups == {
        1: {"category_ids": [1], "annotation_ids": [1, 2]},
        2: {"category_ids": [17], "annotation_ids": [3]},
    }
    assert by_component.groups == by_category.groups  # the two persons touch: one connected component
    with pytest.raises(MaskError):
        gt_group_mask(anns, 192, 192, group_by="colour")


def test_region_is_the_pixels_of_the_chosen_groups_cropped_to_the_image():
    gm = gt_group_mask([rect_ann(1, 0, 0, 10, 10), rect_ann(2, 70, 40, 10, 10)], 70, 90)
    region = gm.region([1], 70, 90)
    assert region.shape == (70, 90)
    assert region[:32, :32].all() and region.sum() == 32 * 32


def test_detection_masks_keep_confident_boxes_only():
    dets = [
        {"category_id": 1, "bbox": [0, 0, 20, 20], "score": 0.9},
        {"category_id": 1, "bbox": [40, 40, 20, 20], "score": 0.2},
    ]
    gm = detection_group_mask(dets, 64, 64, score_threshold=0.5)
    assert gm.group_ids() == [1] and gm.mask[:2, :2].all() and not gm.mask[2:, 2:].any()


def test_roi_is_one_group_of_every_block_the_box_touches():
    gm = roi_group_mask([40, 10, 30, 60], 128, 128)
    blocks = gm.mask[::2, ::2]
    expected = np.zeros((4, 4), np.int32)
    expected[0:3, 1:3] = 1
    np.testing.assert_array_equal(blocks, expected)


def test_mask_files_are_checked_for_shape_and_type(tmp_path):
    good = np.zeros((4, 8), np.uint8)
    good[1, 2] = 3
    np.save(tmp_path / "a.npy", good)
    assert mask_file(tmp_path / "a.npy", 64, 128).group_ids() == [3]
    with pytest.raises(MaskError, match="needs 8x8"):
        mask_file(tmp_path / "a.npy", 128, 128)
    np.save(tmp_path / "f.npy", good.astype(float))
    with pytest.raises(MaskError, match="integer"):
        mask_file(tmp_path / "f.npy", 64, 128)


@st.composite
def scenes(draw):
    """An image size and 1..4 random rectangular or elliptical object masks."""
    height, width = draw(st.integers(16, 150)), draw(st.integers(16, 150))
    masks = []
    for _ in range(draw(st.integers(1, 4))):
        x0, y0 = draw(st.integers(0, width - 1)), draw(st.integers(0, height - 1))
        x1, y1 = draw(st.integers(x0 + 1, width)), draw(st.integers(y0 + 1, height))
        yy, xx = np.mgrid[0:height, 0:width]
        if draw(st.booleans()):
            m = (yy >= y0) & (yy < y1) & (xx >= x0) & (xx < x1)
        else:
            cy, cx, ry, rx = (y0 + y1) / 2, (x0 + x1) / 2, max((y1 - y0) / 2, 1), max((x1 - x0) / 2, 1)
            m = ((yy - cy) / ry) ** 2 + ((xx - cx) / rx) ** 2 <= 1
        if m.any():
            masks.append(m)
    return height, width, masks


@settings(max_examples=60, deadline=None)
@given(scenes(), st.sampled_from([0.0, 0.25, 0.6]))
def test_snapping_rule_property(scene, min_coverage):
    height, width, masks = scene
    objects = [{"id": i + 1, "category_id": 1} for i in range(len(masks))]
    gm = snap_objects(masks, objects, height, width, CELL, min_coverage=min_coverage)
    cover = block_coverage(masks, height, width, BLOCK)
    blocks = gm.mask[::2, ::2]
    # the mask is made of whole 32-px blocks (cropped to the mask's shape)
    assert gm.mask.shape == cell_grid(height, width, CELL)
    np.testing.assert_array_equal(
        gm.mask, np.repeat(np.repeat(blocks, 2, 0), 2, 1)[: gm.mask.shape[0], : gm.mask.shape[1]]
    )
    cover = cover[:, : blocks.shape[0], : blocks.shape[1]]  # blocks wholly in the padding are never foreground
    group_of = {ann: g for g, info in gm.groups.items() for ann in info["annotation_ids"]}
    owner_cover = np.zeros(blocks.shape)  # how much of each block its owning object covers
    for i in range(len(masks)):
        owner_cover[blocks == group_of.get(i + 1, -1)] = cover[i][blocks == group_of.get(i + 1, -1)]
    for i, m in enumerate(masks):
        own = blocks == group_of.get(i + 1, -1)
        eligible = (cover[i] > 0) & (cover[i] >= min_coverage)
        # an eligible block goes to this object or to one covering at least as much of it
        assert (own | ~eligible | ((blocks > 0) & (owner_cover >= cover[i]))).all()
        # a block of its group is covered by it at least min_coverage (and > 0)
        assert (cover[i][own] > 0).all() and (cover[i][own] >= min_coverage).all()
        if min_coverage == 0.0:
            # every pixel of the object lies in a foreground block; in a block of its own group wherever
            # no other object covers more of that block
            pixel_blocks = np.argwhere(m) // BLOCK
            assert (blocks[pixel_blocks[:, 0], pixel_blocks[:, 1]] > 0).all()
            others = np.delete(cover, i, axis=0).max(axis=0) if len(masks) > 1 else np.zeros_like(cover[i])
            uncontested = others < cover[i]
            assert own[uncontested & eligible].all()
