"""Structure cost (one group vs the group masks, on the same structured model) and the bytes each group costs:
the two studies of SSIC's rate claims an rd run writes."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from ssicbench.codec_spec import CodecSpec
from ssicbench.group_rates import group_rate_summary, group_rates
from ssicbench.results import Curve
from ssicbench.structure_cost import structure_cost, structure_pairs

RATES, PSNR = np.array([0.2, 0.4, 0.8, 1.6]), np.array([27.0, 30.0, 33.0, 36.0])


def test_one_group_and_masks_on_the_same_model_pair_up_and_nothing_else_does():
    grouped = CodecSpec("ssic-tiny", masks="kodak")
    one = CodecSpec("ssic-tiny", masks="kodak", decode="full")
    fewer = CodecSpec("ssic-tiny", (2, 3, 4, 5), masks="kodak", decode="full", label="one group, q2-5")
    unrelated = [CodecSpec("ssic-tiny", masks="kodak", decode="objects"), CodecSpec("jpeg", masks="kodak")]
    assert structure_pairs([grouped, one, fewer, *unrelated]) == [(one, grouped), (fewer, grouped)]
    twin = CodecSpec("ssic-wostructure", (1,), {"checkpoint": "x.pth"})
    official = CodecSpec("ssic-charm", (1,), {"checkpoint": "y.pth"}, masks="kodak")
    assert structure_pairs([official, twin]) == [(twin, official)]
    assert structure_pairs([CodecSpec("ssic-tiny", decode="full"), CodecSpec("ssic-tiny")]) == []  # no masks


def test_the_structure_cost_is_the_bd_rate_of_the_grouped_curve_against_the_one_group_curve():
    grouped, one = CodecSpec("ssic-tiny", masks="kodak"), CodecSpec("ssic-tiny", masks="kodak", decode="full")
    curves = [
        Curve(one.display, {"bpp": RATES, "psnr": PSNR}),
        Curve(grouped.display, {"bpp": 1.1 * RATES, "psnr": PSNR}),  # 10 % more bits at every quality
    ]
    (row,) = structure_cost([grouped, one], curves).to_dict("records")
    assert row["one_group"] == "ssic-tiny (one group)" and row["codec"] == "ssic-tiny"
    assert row["bd_rate_psnr_%"] == pytest.approx(10.0) and row["bd_psnr"] < 0
    assert structure_cost([grouped, one], curves[:1]).empty  # a curve missing (its rows failed): no line


def test_bytes_per_group_with_the_side_information_make_up_the_container():
    row = dict(codec="ssic-tiny", quality=1, image="a.png", status="ok", height=64, width=64, bpp=0.5)
    row.update(bpp_whole=1.0, group_bytes=json.dumps({"0": 300, "1": 150}))  # 1 bpp coded: 512 bytes
    row["group_pixels"] = json.dumps({"0": 3072, "1": 1024})
    groups = group_rates(pd.DataFrame([row, {**row, "status": "error"}]))
    assert groups[["group", "bytes", "pixels", "side_bytes"]].values.tolist() == [
        [0, 300, 3072, 62],
        [1, 150, 1024, 62],
    ]
    assert groups["share"].tolist() == [0.75, 0.25] and groups["bpp"].tolist() == [8 * 300 / 3072, 8 * 150 / 1024]
    (summary,) = group_rate_summary(groups).to_dict("records")
    assert summary["bpp_objects"] == pytest.approx(150 * 8 / 1024) and summary["side_bytes_per_image"] == 62
    assert group_rates(pd.DataFrame([{k: v for k, v in row.items() if "group" not in k}])).empty
    objects_only = {**row, "codec": "ssic-tiny (objects only)", "bpp": 0.2}  # the same container, decoded in part
    assert group_rates(pd.DataFrame([row, objects_only]))["codec"].tolist() == ["ssic-tiny", "ssic-tiny"]
