"""Codec complexity: MACs are those of the network arithmetic (a convolution's count worked out by hand), a
structured codec's partial decode costs in proportion to the area it decodes, and codecs without networks have
no MAC count rather than a made-up one."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from ssic_helpers import photo, random_codec

from ssicbench.codecs import create_codec
from ssicbench.complexity import area_fit, count_macs, measure_complexity


def test_macs_of_a_convolution_are_cout_cin_k2_per_output_pixel():
    conv = torch.nn.Conv2d(3, 8, 5, padding=2, bias=False)
    x = torch.zeros(1, 3, 32, 48)
    _, macs = count_macs(lambda: conv(x))
    assert macs == 8 * 3 * 5 * 5 * 32 * 48


def test_a_partial_decode_costs_in_proportion_to_the_area_it_decodes():
    codec = random_codec("charm")
    image = photo(128, 192)
    mask = np.zeros(codec.mask_shape(128, 192), np.uint8)
    mask[:, :4] = 1  # a third of the image is group 1
    found = measure_complexity(codec, 1, image, mask)
    assert found.parameters == sum(p.numel() for p in codec.networks(1)[0].parameters())
    assert found.encode_kmac_px > 0 and found.decode_kmac_px > 0
    partial = {name: (fraction, kmac) for name, fraction, kmac in found.partial}
    assert partial["objects"][0] == pytest.approx(1 / 3) and partial["background"][0] == pytest.approx(2 / 3)
    assert partial["objects"][1] < partial["background"][1] < found.decode_kmac_px
    fixed, per_area = area_fit(found)
    assert 0 <= fixed < 0.2 * found.decode_kmac_px and per_area > 0.8 * found.decode_kmac_px


def test_a_codec_without_networks_has_no_mac_count():
    assert measure_complexity(create_codec("jpeg"), 50, photo(64, 64)) is None


def test_a_resumed_run_reuses_its_counts_and_recounts_when_the_codec_changes():
    import pandas as pd

    from ssicbench.codec_spec import CodecSpec
    from ssicbench.complexity import complexity_table
    from ssicbench.datasets import load_dataset

    images = load_dataset("kodak")[:1]
    summary = pd.DataFrame({"codec": ["ssic-tiny"], "encode_s": [0.5], "decode_s": [0.4]})
    spec = CodecSpec("ssic-tiny", (1,))
    first = complexity_table([spec], images, summary)
    assert first.loc[0, "parameters"] > 0 and first.loc[0, "encode_s"] == 0.5
    earlier = first.assign(parameters=-1)  # a count only the earlier table has: reused, not counted again
    assert complexity_table([spec], images, summary, earlier).loc[0, "parameters"] == -1
    changed = earlier.assign(key="ssic-tiny|1|other image or weights")
    assert complexity_table([spec], images, summary, changed).loc[0, "parameters"] == first.loc[0, "parameters"]
