"""The SSIC codecs through the registry: weights handling, the container, variants and error reporting."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from ssic_helpers import SMALL, photo, pixel_groups, random_codec, random_model

from ssicbench.codecs.bitstream import Bitstream
from ssicbench.codecs.factory import create_codec, list_codecs
from ssicbench.codecs.ssic import CheckpointError, SSICModel, load_model, make_config, save_checkpoint
from ssicbench.codecs.ssic.checkpoint import export_state_dict
from ssicbench.codecs.ssic.coding import ENTROPY_MODULES, Coder
from ssicbench.codecs.ssic.sections import pad_group_mask
from ssicbench.errors import BitstreamError, MissingWeightsError

IMAGE = photo(80, 112, seed=5)
MASK = np.zeros((5, 7), dtype=np.int64)
MASK[0:2, 2:4], MASK[2:4, 4:6] = 3, 7


@pytest.fixture(scope="module")
def checkpoints(tmp_path_factory):
    """Reference-layout checkpoints of the small architecture with random weights, one per variant."""
    folder = tmp_path_factory.mktemp("ssic")
    paths = {}
    for variant in ("charm", "wostructure", "hyper"):
        paths[variant] = folder / f"{variant}.pth"
        save_checkpoint(random_model(variant, seed=7), paths[variant])
    paths["other"] = folder / "other.pth"
    save_checkpoint(random_model("charm", seed=8), paths["other"])
    return paths


def test_registry_lists_the_three_variants():
    names = {entry["name"] for entry in list_codecs()}
    assert {"ssic-charm", "ssic-wostructure", "ssic-hyper"} <= names


def test_codec_needs_weights():
    with pytest.raises(MissingWeightsError, match="--checkpoint PATH"):
        create_codec("ssic-charm")
    with pytest.raises(MissingWeightsError, match="nowhere.pth"):
        create_codec("ssic-charm", checkpoint="/nowhere.pth")


def test_checkpoint_round_trip_keeps_weights_and_tables(checkpoints):
    model = load_model(checkpoints["charm"], "charm", SMALL)
    original = random_model("charm", seed=7)
    for key, value in export_state_dict(original).items():
        assert torch.equal(export_state_dict(model)[key], value), key


def test_checkpoint_of_another_architecture_names_the_offending_keys(checkpoints, tmp_path):
    with pytest.raises(CheckpointError, match=r"missing keys g_a_m\.2\.blocks\.2\..*config="):
        load_model(checkpoints["charm"], "charm")  # full-size config for small weights
    wider = r"shapes .* h_a_m\.0\.weight \(32, 40, 3, 3\) \(model \(48, 40, 3, 3\)\)"
    with pytest.raises(CheckpointError, match=wider):
        load_model(checkpoints["charm"], "charm", {**SMALL, "embed_dim_h": [48, 48]})
    with pytest.raises(CheckpointError, match=r"missing keys char_m_means"):
        load_model(checkpoints["hyper"], "charm", SMALL)
    state = torch.load(checkpoints["charm"], weights_only=True)
    state["parameters"]["extra.weight"] = torch.zeros(1)
    del state["parameters"]["h_a_m.0.bias"]
    torch.save(state, tmp_path / "bad.pth")
    with pytest.raises(CheckpointError, match=r"missing keys h_a_m\.0\.bias; unexpected keys extra\.weight"):
        load_model(tmp_path / "bad.pth", "charm", SMALL)


@pytest.mark.parametrize("variant, sections", [("charm", 4), ("hyper", 4), ("wostructure", 2)])
def test_round_trip_through_bytes(checkpoints, variant, sections):
    codec = create_codec(f"ssic-{variant}", checkpoint=checkpoints[variant], config=SMALL)
    bitstream = codec.encode(IMAGE, 1, mask=None if variant == "wostructure" else MASK)
    assert len(bitstream.sections) == sections
    restored = Bitstream.from_bytes(bitstream.to_bytes())
    decoded = codec.decode(restored)
    assert decoded.shape == IMAGE.shape and decoded.dtype == np.uint8
    assert np.array_equal(decoded, codec.decode(bitstream))
    assert bitstream.bpp() == pytest.approx(8 * len(bitstream.to_bytes()) / (80 * 112))


def test_container_layout(checkpoints):
    codec = create_codec("ssic-charm", checkpoint={1: checkpoints["charm"], 2: checkpoints["other"]}, config=SMALL)
    assert codec.qualities == (1, 2)
    bitstream = codec.encode(IMAGE, 2, mask=MASK)
    assert bitstream.params["quality"] == 2 and bitstream.params["groups"] == [0, 3, 7]
    assert bitstream.params["mask_block"] == 32  # the mask is constant on 2 x 2 cells
    assert sorted(bitstream.sections) == ["group/0", "group/3", "group/7", "side"]
    assert codec.encode(IMAGE, 1).params["groups"] == [0]  # default: one group


def test_decoding_needs_the_same_weights_and_existing_groups(checkpoints):
    codec = create_codec("ssic-charm", checkpoint=checkpoints["charm"], config=SMALL)
    bitstream = codec.encode(IMAGE, 1, mask=MASK)
    other = create_codec("ssic-charm", checkpoint=checkpoints["other"], config=SMALL)
    with pytest.raises(BitstreamError, match="other ssic-charm weights"):
        other.decode(bitstream)
    with pytest.raises(BitstreamError, match="no section for group 5"):
        codec.decode(bitstream, groups=[5])
    with pytest.raises(BitstreamError, match="no section for group 3"):
        codec.decode(bitstream.subset(["side", "group/7"]), groups=[3])
    with pytest.raises(BitstreamError, match="no section 'side'"):
        codec.decode(bitstream.subset(["group/3"]))
    hyper = create_codec("ssic-hyper", checkpoint=checkpoints["hyper"], config=SMALL)
    with pytest.raises(BitstreamError, match="written by codec 'ssic-charm'"):
        hyper.decode(bitstream)


def test_encode_rejects_bad_requests(checkpoints):
    codec = create_codec("ssic-charm", checkpoint=checkpoints["charm"], config=SMALL)
    with pytest.raises(ValueError, match="no checkpoint for quality 3"):
        codec.encode(IMAGE, 3)
    with pytest.raises(TypeError, match="unknown SSIC option"):
        codec.encode(IMAGE, 1, groups=[1])
    plain = create_codec("ssic-wostructure", checkpoint=checkpoints["wostructure"], config=SMALL)
    with pytest.raises(ValueError, match="takes no --mask"):
        plain.encode(IMAGE, 1, mask=MASK)


def test_configs_that_could_write_one_symbol_strings_are_refused():
    """CompressAI's rANS encoder crashes on a one-symbol string: a 1-channel slice of a one-cell group would be one."""
    with pytest.raises(ValueError, match="need >= 2 channels"):
        make_config("charm", {**SMALL, "splits": 40})
    with pytest.raises(ValueError, match="need >= 2 channels"):
        make_config("charm", {**SMALL, "embed_dim_h": [32, 1]})


def test_a_memory_budget_changes_batching_but_never_the_bytes_or_pixels(checkpoints):
    """max_memory_mb sizes the transforms' window batches (here a few windows each); results are identical."""
    default = create_codec("ssic-charm", checkpoint=checkpoints["charm"], config=SMALL)
    tight = create_codec("ssic-charm", checkpoint=checkpoints["charm"], config=SMALL, max_memory_mb=1.6)
    bitstream = default.encode(IMAGE, 1, mask=MASK)
    assert tight.encode(IMAGE, 1, mask=MASK).to_bytes() == bitstream.to_bytes()
    assert np.array_equal(tight.decode(bitstream), default.decode(bitstream))
    assert np.array_equal(tight.decode(bitstream, groups=[7]), default.decode(bitstream, groups=[7]))
    too_small = create_codec("ssic-charm", checkpoint=checkpoints["charm"], config=SMALL, max_memory_mb=1)
    with pytest.raises(ValueError, match=r"a 128x128 image needs max_memory_mb >= 2"):
        too_small.encode(IMAGE, 1, mask=MASK)
    with pytest.raises(ValueError, match=r"option max_memory_mb: expected a number in \[1, "):
        create_codec("ssic-charm", checkpoint=checkpoints["charm"], config=SMALL, max_memory_mb=-5)


def test_dense_decode_fills_undecoded_groups_from_zero_latents(checkpoints):
    codec = create_codec("ssic-charm", checkpoint=checkpoints["charm"], config=SMALL)
    bitstream = codec.encode(IMAGE, 1, mask=MASK)
    sparse, dense = codec.decode(bitstream, groups=[3]), codec.decode(bitstream, groups=[3], dense=True)
    inside = pixel_groups(MASK, IMAGE.shape[:2]) == 3
    assert np.array_equal(sparse[inside], dense[inside])
    assert not sparse[~inside].any() and dense[~inside].any()


def test_entropy_parameters_come_from_a_cpu_copy_when_the_model_is_on_another_device(monkeypatch):
    """Device-independent containers: a model on another device codes with a CPU copy of its parameter path.

    The model only *reports* another device (meta; its tensors stay on the CPU, so the transforms run).
    Its own parameter path is then perturbed, as another device's arithmetic would be (amplified so it
    shows): the coder still writes exactly the strings of a CPU coder, which a CPU decoder reads.
    """
    x = torch.from_numpy(np.pad(IMAGE, ((0, 48), (0, 16), (0, 0)))).permute(2, 0, 1)[None].float().div(255)
    groups = torch.from_numpy(pad_group_mask(MASK, (8, 8)))
    on_cpu = Coder(random_model("charm", seed=3))
    assert on_cpu.entropy is on_cpu.model  # on the CPU nothing is copied
    expected = on_cpu.compress(x, groups)

    device_model = random_model("charm", seed=3)
    with monkeypatch.context() as patch:
        patch.setattr(SSICModel, "device", property(lambda self: torch.device("meta")))
        on_device = Coder(device_model)
    assert sorted(name for name, _ in on_device.entropy.named_children()) == sorted(ENTROPY_MODULES)
    tensors = [*on_device.entropy.parameters(), *on_device.entropy.buffers()]
    assert all(t.device.type == "cpu" for t in tensors)
    with torch.no_grad():
        for name in ENTROPY_MODULES[:3]:
            for weight in getattr(device_model, name).parameters():
                weight.mul_(1 + 1e-2 * torch.randn_like(weight))
    assert Coder(device_model).compress(x, groups) != expected  # the perturbation matters where it is used
    assert on_device.compress(x, groups) == expected
    decoded = on_cpu.decompress(expected, groups)
    assert decoded.shape == x.shape


@pytest.mark.parametrize("size", [(64, 64), (200, 300), (427, 448)])
def test_encoder_and_decoder_compute_bit_identical_entropy_parameters(size, monkeypatch):
    """The decoder must reproduce every mean and scale of the encoder exactly, whatever memory layout the
    encoder's tensors happen to have (its z_hat comes out of the analysis with channels-last strides)."""
    codec = random_codec(seed=3)
    seen: list[tuple[torch.Tensor, torch.Tensor]] = []
    original = SSICModel.slice_parameters

    def record(self, index, hyper_rows, decoded):
        means, scales = original(self, index, hyper_rows, decoded)
        seen.append((means.clone(), scales.clone()))
        return means, scales

    monkeypatch.setattr(SSICModel, "slice_parameters", record)
    bitstream = codec.encode(photo(*size, seed=5), 1)
    encoder = list(seen)
    seen.clear()
    codec.decode(Bitstream.from_bytes(bitstream.to_bytes()))
    assert len(encoder) == len(seen) > 0
    for (m1, s1), (m2, s2) in zip(encoder, seen):
        assert torch.equal(m1, m2) and torch.equal(s1, s2)
