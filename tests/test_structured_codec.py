"""The `StructuredCodec` contract, proven by a codec written only here: `block-jpeg` codes each group's
32-px blocks as its own JPEG. Registered in this file and nowhere else, it works with `compress --mask`,
`decompress --groups`, the task scenarios (test_tasks_*) and the training mask sampler.
"""

from __future__ import annotations

import io
import struct
import zlib
from collections.abc import Iterable

import numpy as np
import pytest
from conftest import smooth_image
from PIL import Image

from ssicbench.cli import main
from ssicbench.codecs import Bitstream, StructuredCodec, create_codec, is_structured, register_codec
from ssicbench.codecs.masks import check_group_mask, sample_group_masks
from ssicbench.codecs.registry import CODECS
from ssicbench.errors import BitstreamError, MaskError

FAKE = "block-jpeg"


class BlockJPEG(StructuredCodec):
    """A "mask" section (the ids, zlib) and one "g<id>" section per group: that group's blocks as a JPEG."""

    mask_cell = 32

    def encode(self, image: np.ndarray, quality, mask: np.ndarray | None = None, **opts) -> Bitstream:
        height, width = image.shape[:2]
        shape = self.mask_shape(height, width)
        mask = np.zeros(shape, np.int64) if mask is None else check_group_mask(mask, shape)
        cell = self.mask_cell
        padded = np.pad(image, ((0, shape[0] * cell - height), (0, shape[1] * cell - width), (0, 0)), mode="edge")
        bs = self._new_bitstream(image)
        bs.sections["mask"] = struct.pack(">HH", *shape) + zlib.compress(mask.astype(np.uint8).tobytes())
        for group in np.unique(mask):
            cells = mask == group
            rows, cols = np.flatnonzero(cells.any(axis=1)), np.flatnonzero(cells.any(axis=0))
            r0, r1, c0, c1 = rows[0], rows[-1] + 1, cols[0], cols[-1] + 1
            inside = self._pixels(cells)[r0 * cell : r1 * cell, c0 * cell : c1 * cell]
            crop = np.where(inside[..., None], padded[r0 * cell : r1 * cell, c0 * cell : c1 * cell], 0)
            buf = io.BytesIO()
            Image.fromarray(crop.astype(np.uint8)).save(buf, format="JPEG", quality=int(quality))
            bs.sections[f"g{group}"] = struct.pack(">HH", r0, c0) + buf.getvalue()
        return bs

    def groups(self, bitstream: Bitstream) -> list[int]:
        return sorted(int(name[1:]) for name in bitstream.sections if name.startswith("g"))

    def receive(self, bitstream: Bitstream, groups: Iterable[int]) -> Bitstream:
        wanted = {f"g{g}" for g in groups}
        if wanted - set(bitstream.sections):
            raise BitstreamError(f"container has no {', '.join(sorted(wanted - set(bitstream.sections)))}")
        return bitstream.subset(lambda name: name == "mask" or name in wanted)

    def decode(self, bitstream: Bitstream, **opts) -> np.ndarray:
        self._check(bitstream)
        side = bitstream.section("mask")
        shape = struct.unpack(">HH", side[:4])
        full = self._pixels(np.frombuffer(zlib.decompress(side[4:]), np.uint8).reshape(shape))
        out = np.zeros(full.shape + (3,), np.uint8)
        for group in self.groups(bitstream):
            payload = bitstream.section(f"g{group}")
            r0, c0 = struct.unpack(">HH", payload[:4])
            crop = np.asarray(Image.open(io.BytesIO(payload[4:])).convert("RGB"))
            y, x = r0 * self.mask_cell, c0 * self.mask_cell
            window = full[y : y + crop.shape[0], x : x + crop.shape[1]] == group
            out[y : y + crop.shape[0], x : x + crop.shape[1]][window] = crop[window]
        return out[: bitstream.height, : bitstream.width]

    def _pixels(self, cells: np.ndarray) -> np.ndarray:
        return np.repeat(np.repeat(cells, self.mask_cell, axis=0), self.mask_cell, axis=1)


if FAKE not in CODECS:
    register_codec(FAKE, qualities=(20, 50, 90), description="test-only structured codec", structured=True)(BlockJPEG)


def _image_and_mask(height=100, width=140):
    image = smooth_image(height, width)
    mask = np.zeros((4, 5), np.int32)  # 32-px cells
    mask[0:1, 0:2] = 1
    mask[2:4, 1:2] = 2
    return image, mask


def test_the_registry_flag_says_structured_without_building_the_codec():
    assert is_structured(FAKE) and not is_structured("jpeg")
    codec = create_codec(FAKE)
    assert isinstance(codec, StructuredCodec) and codec.mask_shape(100, 140) == (4, 5)


def test_receive_cuts_exactly_the_requested_groups_and_costs_fewer_bytes():
    codec = create_codec(FAKE)
    image, mask = _image_and_mask()
    full = codec.encode(image, 95, mask=mask)
    assert codec.groups(full) == [0, 1, 2]
    partial = Bitstream.from_bytes(codec.receive(full, [1]).to_bytes())
    assert codec.groups(partial) == [1] and partial.num_bytes < full.num_bytes
    decoded = codec.decode(partial)
    inside = codec._pixels(mask == 1)[:100, :140]
    assert decoded.shape == image.shape
    assert np.abs(decoded[inside].astype(int) - image[inside]).mean() < 20
    assert (decoded[~inside] == 0).all()
    with pytest.raises(BitstreamError):
        codec.receive(partial, [2])


def test_a_mask_of_the_wrong_shape_is_refused():
    image, _ = _image_and_mask()
    with pytest.raises(MaskError, match="needs 4x5"):
        create_codec(FAKE).encode(image, 90, mask=np.zeros((7, 9), np.int32))


def test_compress_with_a_mask_and_decompress_some_groups(tmp_path, capsys):
    image, mask = _image_and_mask()
    Image.fromarray(image).save(tmp_path / "in.png")
    np.save(tmp_path / "mask.npy", mask)
    assert main(["compress", "--codec", FAKE, "--mask", str(tmp_path / "mask.npy"), str(tmp_path / "in.png"),
                 str(tmp_path / "c.bin")]) == 0  # fmt: skip
    assert "3 groups" in capsys.readouterr().out
    assert main(["decompress", str(tmp_path / "c.bin"), str(tmp_path / "two.png"), "--groups", "2"]) == 0
    part = np.asarray(Image.open(tmp_path / "two.png"))
    inside = BlockJPEG()._pixels(mask == 2)[:100, :140]
    assert part[inside].any() and not part[~inside].any()
    assert main(["decompress", str(tmp_path / "c.bin"), str(tmp_path / "x.png"), "--groups", "7"]) == 2
    assert "--groups 7: " in capsys.readouterr().err


def test_unstructured_codecs_refuse_masks_and_groups_in_one_line(tmp_path, capsys):
    image, mask = _image_and_mask()
    Image.fromarray(image).save(tmp_path / "in.png")
    np.save(tmp_path / "mask.npy", mask)
    argv = ["compress", "--codec", "jpeg", "--mask", str(tmp_path / "mask.npy"), str(tmp_path / "in.png"), "o.bin"]
    assert main(argv) == 2
    assert main(["compress", "--codec", "jpeg", str(tmp_path / "in.png"), str(tmp_path / "j.bin")]) == 0
    assert main(["decompress", str(tmp_path / "j.bin"), str(tmp_path / "j.png"), "--groups", "1"]) == 2
    errors = [line for line in capsys.readouterr().err.splitlines() if line]
    assert len(errors) == 2 and all("not structured" in line for line in errors)


def test_training_masks_sampled_for_the_codec_code_and_decode_per_group():
    codec = create_codec(FAKE)
    image = smooth_image(128, 128)
    masks = sample_group_masks(np.random.default_rng(3), 4, 128, 128, codec.mask_cell, empty_prob=0.25)
    assert masks.shape == (4, *codec.mask_shape(128, 128))
    for mask in masks:
        full = codec.encode(image, 90, mask=mask)
        assert codec.groups(full) == sorted(np.unique(mask).tolist())
        for group in codec.groups(full):
            decoded = codec.decode(codec.receive(full, [group]))
            assert not decoded[~codec._pixels(mask == group)[:128, :128]].any()
