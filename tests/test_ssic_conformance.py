"""SSIC against the public reference implementation's outputs, checkpoint layout and bitstream files.

Data: ../shared/conformance/ssic_reference (see its README); every test skips when it is absent.
"""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from PIL import Image
from ssic_helpers import conformance_dir, pixel_groups

from ssicbench.codecs.factory import create_codec
from ssicbench.codecs.masks import cell_grid, load_group_mask
from ssicbench.codecs.ssic import SSICModel, load_model, make_config
from ssicbench.codecs.ssic.checkpoint import export_state_dict
from ssicbench.codecs.ssic.coding import Coder
from ssicbench.codecs.ssic.reference_files import read_reference_files
from ssicbench.codecs.ssic.sections import group_section, unpack_strings

TOLERANCE = 1e-4


@pytest.fixture(scope="module")
def ref():
    root = conformance_dir()
    image = np.asarray(Image.open(root / "image.png").convert("RGB"))
    mask = load_group_mask(root / "group_mask.png", cell_grid(*image.shape[:2], 16))
    return {
        "root": root,
        "image": image,
        "mask": mask,
        "outputs": dict(np.load(root / "reference_outputs.npz")),
        "model": load_model(root / "ssic_small.pth", "charm", root / "ssic_small_config.json"),
    }


def small_codec(root):
    return create_codec("ssic-charm", checkpoint=root / "ssic_small.pth", config=root / "ssic_small_config.json")


def as_input(image: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(image.copy()).permute(2, 0, 1)[None].float().div(255)


def close(ours: torch.Tensor, theirs: np.ndarray) -> float:
    assert tuple(ours.shape) == theirs.shape
    return float(np.abs(ours.cpu().numpy() - theirs).max())


@pytest.mark.parametrize(
    "manifest", ["ssic_full_state_dict_manifest.json", "ssic_wostructure_full_state_dict_manifest.json"]
)
def test_full_size_model_has_exactly_the_official_checkpoint_keys_and_shapes(manifest):
    official = json.loads((conformance_dir() / manifest).read_text())
    variant = "wostructure" if "wostructure" in manifest else "charm"
    ours = {k: list(v.shape) for k, v in export_state_dict(SSICModel(make_config(variant))).items()}
    assert set(ours) == set(official)
    tables = {k for k in official if "._cdf" in k}
    assert {k: v for k, v in ours.items() if k not in tables} == {k: v for k, v in official.items() if k not in tables}


def test_mask_png_reads_as_group_ids(ref):
    assert ref["mask"].shape == (16, 24)
    assert sorted(np.unique(ref["mask"])) == [0, 1, 2, 3]


def test_forward_pass_matches_reference(ref):
    out = ref["model"](as_input(ref["image"]), torch.from_numpy(ref["mask"]))
    expected = ref["outputs"]
    assert close(out["y"], expected["y"]) < TOLERANCE
    assert close(out["z_hat"], expected["z_hat"]) < TOLERANCE
    assert close(out["x_hat"], expected["x_hat_full"]) < TOLERANCE
    assert out["bits_y"].item() == pytest.approx(float(expected["bits_y_est"]), rel=1e-3)
    assert out["bits_z"].item() == pytest.approx(float(expected["bits_z_est"]), rel=1e-3)


def test_one_group_forward_matches_reference(ref):
    out = ref["model"](as_input(ref["image"]), torch.ones(16, 24, dtype=torch.long))
    assert close(out["x_hat"], ref["outputs"]["x_hat_onegroup"]) < TOLERANCE
    assert out["bits_y"].item() == pytest.approx(float(ref["outputs"]["bits_y_est_onegroup"]), rel=1e-3)


def test_our_strings_are_the_reference_strings(ref):
    """CompressAI's rANS with the checkpoint's tables writes the reference's files byte for byte."""
    coded = Coder(ref["model"]).compress(as_input(ref["image"]), torch.from_numpy(ref["mask"]))
    files = read_reference_files(ref["root"] / "bitstream", "image")
    assert coded.hyper == files.hyper
    assert coded.groups == files.groups


def test_container_sections_are_the_reference_group_sizes(ref):
    bitstream = small_codec(ref["root"]).encode(ref["image"], 1, mask=ref["mask"])
    expected = ref["outputs"]
    for group, size in zip(expected["group_ids"].tolist(), expected["group_bytes"].tolist()):
        payload = bitstream.sections[group_section(group)]
        strings = unpack_strings(payload, 10, group_section(group))
        assert sum(map(len, strings)) == size  # the same rANS bytes as the reference
        assert len(payload) - size <= 2 * len(strings)  # plus one varint length per slice string
    mask_bytes = len(bitstream.sections["side"]) - int(expected["side_bytes"]) - 6  # 3 varints: height, width, length
    assert 0 < mask_bytes < (ref["root"] / "bitstream" / "image_GroupmaskInfo").stat().st_size


def test_reference_files_decode_with_our_reader(ref):
    files = read_reference_files(ref["root"] / "bitstream", "image")
    assert (files.height, files.width, files.mask_block) == (256, 384, 32)
    coder, groups = Coder(ref["model"]), torch.from_numpy(ref["mask"])
    expected = ref["outputs"]
    assert close(coder.decompress(files.coded(), groups), expected["x_hat_dec_all"]) < TOLERANCE
    assert close(coder.decompress(files.coded(), groups, [1, 2, 3], dense=True), expected["x_hat_dec_fg"]) < TOLERANCE
    assert close(coder.decompress(files.coded(), groups, [2], dense=True), expected["x_hat_dec_g2"]) < TOLERANCE


@pytest.mark.parametrize("groups, key", [((1, 2, 3), "x_hat_dec_fg"), ((2,), "x_hat_dec_g2")])
def test_partial_decode_equals_reference_inside_the_decoded_groups(ref, groups, key):
    files = read_reference_files(ref["root"] / "bitstream", "image")
    x_hat = Coder(ref["model"]).decompress(files.coded(), torch.from_numpy(ref["mask"]), groups)
    inside = np.isin(pixel_groups(ref["mask"], (256, 384)), groups)
    diff = np.abs(x_hat[0].numpy() - ref["outputs"][key][0])
    assert diff[:, inside].max() < TOLERANCE
    assert (x_hat[0].numpy()[:, ~inside] == 0).all()


def test_codec_decodes_a_subset_container_like_the_reference(ref):
    codec = small_codec(ref["root"])
    bitstream = codec.encode(ref["image"], 1, mask=ref["mask"])
    image = codec.decode(bitstream.subset(["side", "group/2"]))
    expected = np.round(np.clip(ref["outputs"]["x_hat_dec_g2"][0], 0, 1) * 255).transpose(1, 2, 0)
    inside = pixel_groups(ref["mask"], (256, 384)) == 2
    assert np.abs(image[inside].astype(int) - expected[inside]).max() <= 1
