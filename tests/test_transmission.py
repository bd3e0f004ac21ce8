"""Transmission (bench/transmission.py): the bytes counted are exactly what the receiver gets; partial decodes cover
their groups; the group-subset scenarios check what they are asked for."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import smooth_image
from test_structured_codec import FAKE, BlockJPEG

from ssicbench.codecs import Bitstream, create_codec
from ssicbench.errors import BenchError, MaskError
from ssicbench.group_masks import gt_group_mask
from ssicbench.transmission import CROP_POSITION_BYTES, parse_scenario

H, W = 130, 200
ANNS = [
    {"id": 1, "category_id": 1, "bbox": [10, 10, 40, 60]},
    {"id": 2, "category_id": 17, "bbox": [120, 50, 50, 50]},
]


@pytest.fixture(scope="module")
def scene():
    return smooth_image(H, W), gt_group_mask(ANNS, H, W, BlockJPEG.mask_cell), [a["bbox"] for a in ANNS]


def test_scenario_names_are_validated():
    assert parse_scenario("category:1").name == "category:person"
    assert parse_scenario("objects").needs_groups and not parse_scenario("bbox-crops").needs_groups
    for bad in ("everything", "category", "objects:person", "category:unicorn"):
        with pytest.raises(BenchError):
            parse_scenario(bad)


def test_partial_scenarios_count_side_plus_requested_groups(scene):
    image, groups, boxes = scene
    codec = create_codec(FAKE)
    full = codec.encode(image, 50, mask=groups.mask)
    cat = groups.groups_of_category(17)
    expected = {
        "all-groups": len(full.to_bytes()),
        "objects": len(codec.receive(full, groups.group_ids()).to_bytes()),
        "category:cat": len(codec.receive(full, cat).to_bytes()),
    }
    for name, num_bytes in expected.items():
        sent = parse_scenario(name).transmit(codec, image, 50, groups, boxes)
        assert sent.num_bytes == num_bytes, name
    assert expected["category:cat"] < expected["objects"] < expected["all-groups"]


def test_a_partial_decode_reconstructs_its_region_only(scene):
    image, groups, boxes = scene
    sent = parse_scenario("category:person").transmit(create_codec(FAKE), image, 90, groups, boxes)
    assert sent.groups == groups.groups_of_category(1)
    assert sent.region.shape == (H, W) and sent.region[10:70, 10:50].all()
    err = np.abs(sent.decoded.astype(int) - image)
    assert err[sent.region].mean() < 10 and (sent.decoded[~sent.region] == 0).all()


def test_roi_sends_one_rectangle_around_all_objects(scene):
    image, groups, boxes = scene
    sent = parse_scenario("roi").transmit(create_codec(FAKE), image, 50, groups, boxes)
    assert sent.groups == [1]
    # blocks rows 0..3 (person y 10..70, cat y 50..100) and columns 0..5 (x 10..170)
    assert sent.region[0:128, 0:192].all() and not sent.region[128:].any() and not sent.region[:, 192:].any()


def test_full_and_bbox_crops_work_with_any_codec(scene):
    image, groups, boxes = scene
    jpeg = create_codec("jpeg")
    full = parse_scenario("full").transmit(jpeg, image, 50, groups, boxes)
    assert full.num_bytes == len(jpeg.encode(image, 50).to_bytes()) and full.region is None
    crops = parse_scenario("bbox-crops").transmit(jpeg, image, 50, groups, boxes)
    crop_bytes = [
        len(jpeg.encode(np.ascontiguousarray(image[y : y + h, x : x + w]), 50).to_bytes()) for x, y, w, h in boxes
    ]
    assert crops.num_bytes == sum(crop_bytes) + CROP_POSITION_BYTES * len(boxes)
    assert crops.region.sum() == 40 * 60 + 50 * 50


def test_group_scenarios_refuse_an_unstructured_codec(scene):
    image, groups, boxes = scene
    with pytest.raises(BenchError, match="structured codec"):
        parse_scenario("objects").transmit(create_codec("jpeg"), image, 50, groups, boxes)


def test_structured_codecs_code_whole_images_as_one_group(scene):
    image, groups, boxes = scene
    sent = parse_scenario("full").transmit(create_codec(FAKE), image, 50, groups, boxes)
    assert sent.region is None
    assert np.abs(sent.decoded.astype(int) - image).mean() < 10


def test_the_side_information_plus_each_groups_bytes_is_the_whole_container(scene):
    image, groups, boxes = scene
    codec = create_codec(FAKE)
    sent = parse_scenario("all-groups").transmit(codec, image, 50, groups, boxes)
    side = len(codec.receive(Bitstream.from_bytes(codec.encode(image, 50, mask=groups.mask).to_bytes()), []).to_bytes())
    assert set(sent.group_bytes) == {0, 1, 2} and all(n > 0 for n in sent.group_bytes.values())
    assert side + sum(sent.group_bytes.values()) == sent.num_bytes == sent.coded_bytes


def test_background_and_group_lists_send_exactly_those_groups(scene):
    image, groups, boxes = scene
    codec = create_codec(FAKE)
    background = parse_scenario("background").transmit(codec, image, 50, groups, boxes)
    assert background.groups == [0] and (background.region == (groups.region([0], H, W))).all()
    assert not background.region[10:50, 10:40].any()  # the person's blocks are not decoded
    listed = parse_scenario("groups:2,1,2")
    assert listed.name == "groups:1,2"  # canonical: ascending, no repeats
    sent = listed.transmit(codec, image, 50, groups, boxes)
    assert sent.groups == [1, 2] and sent.num_bytes < sent.coded_bytes
    objects = parse_scenario("objects").transmit(codec, image, 50, groups, boxes)
    assert sent.num_bytes == objects.num_bytes and (sent.region == objects.region).all()


def test_a_bad_group_list_or_a_group_the_mask_lacks_is_a_clear_error(scene):
    image, groups, boxes = scene
    for bad in ("groups:", "groups:a", "groups:1;3", "groups:-1", "groups:256"):
        with pytest.raises(BenchError, match="groups:"):
            parse_scenario(bad)
    with pytest.raises(MaskError, match="groups:1,7: the image's mask has no group 7"):
        parse_scenario("groups:1,7").transmit(create_codec(FAKE), image, 50, groups, boxes)
