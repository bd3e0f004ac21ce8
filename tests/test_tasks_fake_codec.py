"""A tiny structured codec that obeys SSIC's container convention, for testing the task pipeline without SSIC.

`fake-ssic` stores the group mask in a `side` section and each group's 32-px blocks as a JPEG in its own
`group/<id>` section; a receiver given `side` + some groups reconstructs exactly those blocks (others 0).
"""

from __future__ import annotations

import io
import struct
import zlib

import numpy as np
import pytest
from conftest import smooth_image
from PIL import Image

from ssicbench.codecs import Bitstream, Codec, register_codec
from ssicbench.codecs.registry import CODECS
from ssicbench.errors import MaskError
from ssicbench.tasks.group_masks import MASK_STRIDE, mask_shape, padded_size
from ssicbench.tasks.scenarios import SIDE_SECTION, group_section

FAKE = "fake-ssic"


class FakeStructuredCodec(Codec):
    """Per-group JPEG sections plus a zlib'd mask as side info."""

    def encode(self, image: np.ndarray, quality, mask: np.ndarray | None = None, **opts) -> Bitstream:
        height, width = image.shape[:2]
        if mask is None or mask.shape != mask_shape(height, width):
            raise MaskError(f"fake-ssic needs a mask of shape {mask_shape(height, width)}")
        ph, pw = padded_size(height, width)
        padded = np.pad(image, ((0, ph - height), (0, pw - width), (0, 0)), mode="edge")
        bs = self._new_bitstream(image)
        bs.sections[SIDE_SECTION] = struct.pack(">HH", *mask.shape) + zlib.compress(mask.astype(np.uint8).tobytes())
        for group in np.unique(mask):
            cells = mask == group
            rows, cols = np.flatnonzero(cells.any(axis=1)), np.flatnonzero(cells.any(axis=0))
            r0, r1, c0, c1 = rows[0], rows[-1] + 1, cols[0], cols[-1] + 1
            pixels = _full_res(cells)[r0 * 16 : r1 * 16, c0 * 16 : c1 * 16]
            crop = np.where(pixels[..., None], padded[r0 * 16 : r1 * 16, c0 * 16 : c1 * 16], 0).astype(np.uint8)
            buf = io.BytesIO()
            Image.fromarray(crop).save(buf, format="JPEG", quality=int(quality))
            bs.sections[group_section(int(group))] = struct.pack(">HH", r0, c0) + buf.getvalue()
        return bs

    def decode(self, bitstream: Bitstream, **opts) -> np.ndarray:
        self._check(bitstream)
        side = bitstream.section(SIDE_SECTION)
        shape = struct.unpack(">HH", side[:4])
        mask = np.frombuffer(zlib.decompress(side[4:]), np.uint8).reshape(shape)
        full = _full_res(mask)
        out = np.zeros(full.shape + (3,), np.uint8)
        for name, payload in bitstream.sections.items():
            if not name.startswith("group/"):
                continue
            group = int(name.split("/")[1])
            r0, c0 = struct.unpack(">HH", payload[:4])
            crop = np.asarray(Image.open(io.BytesIO(payload[4:])).convert("RGB"))
            y, x = r0 * 16, c0 * 16
            window = full[y : y + crop.shape[0], x : x + crop.shape[1]] == group
            out[y : y + crop.shape[0], x : x + crop.shape[1]][window] = crop[window]
        return out[: bitstream.height, : bitstream.width]


def _full_res(cells: np.ndarray) -> np.ndarray:
    return np.repeat(np.repeat(cells, MASK_STRIDE, axis=0), MASK_STRIDE, axis=1)


if FAKE not in CODECS:
    register_codec(FAKE, qualities=(20, 50, 90), description="test-only structured codec")(FakeStructuredCodec)


def _image_and_mask(height=100, width=140):
    image = smooth_image(height, width)
    mask = np.zeros(mask_shape(height, width), np.int32)
    mask[0:2, 0:4] = 1
    mask[4:8, 2:4] = 2
    return image, mask


def test_fake_codec_writes_side_and_one_section_per_group():
    image, mask = _image_and_mask()
    bs = FakeStructuredCodec().encode(image, 90, mask=mask)
    assert set(bs.sections) == {"side", "group/0", "group/1", "group/2"}


def test_fake_codec_decodes_only_the_groups_it_receives():
    codec = FakeStructuredCodec()
    codec.name = FAKE
    image, mask = _image_and_mask()
    bs = codec.encode(image, 95, mask=mask)
    partial = Bitstream.from_bytes(bs.subset(lambda n: n in {"side", "group/1"}).to_bytes())
    decoded = codec.decode(partial)
    inside = _full_res(mask == 1)[:100, :140]
    assert decoded.shape == image.shape
    assert np.abs(decoded[inside].astype(int) - image[inside]).mean() < 20
    assert (decoded[~inside] == 0).all()


def test_fake_codec_rejects_a_missing_mask():
    image, _ = _image_and_mask()
    with pytest.raises(MaskError):
        FakeStructuredCodec().encode(image, 90)
