"""The SSIC payloads inside a `Bitstream`, defined once for encoder and decoder.

    params   {"quality", "model" (fingerprint of the weights), "groups": [ids present],
              "mask_block": 16 | 32 | 64 (structured variants only)}
    "side"   varint height, varint width (repeating the header's, which no checksum covers),
             varint n, hyper string (n bytes), then the group mask (structured variants only):
             zlib(deflate) of the uint8 ids of the padded image's latent grid subsampled to the coarsest
             block size (16, 32 or 64 px) on which it is constant (the reference uses 32-px blocks).
    "group/<id>"  for each of the model's slices (10; 1 for the hyperprior variant): varint length, string.

Varints are unsigned LEB128. Every malformed payload raises BitstreamError. The section names are private
to this module: other code asks the codec (`groups`, `receive`).
"""

from __future__ import annotations

import zlib
from collections.abc import Iterable

import numpy as np

from ssicbench.codecs.bitstream import Bitstream
from ssicbench.codecs.ssic.config import LATENT_STRIDE
from ssicbench.errors import BitstreamError

__all__ = [
    "GROUP_PREFIX",
    "MASK_BLOCKS",
    "MAX_VARINT_BYTES",
    "SIDE",
    "decode_mask",
    "encode_mask",
    "group_section",
    "keep_groups",
    "pack_side",
    "pack_strings",
    "pad_group_mask",
    "present_groups",
    "section_group",
    "unpack_side",
    "unpack_strings",
]

SIDE = "side"
GROUP_PREFIX = "group/"
MASK_BLOCKS = (64, 32, 16)
MAX_VARINT_BYTES = 5


def group_section(group: int) -> str:
    return f"{GROUP_PREFIX}{group}"


def section_group(name: str) -> int | None:
    """The group id of a section name `group/<id>`, None for other names."""
    if not name.startswith(GROUP_PREFIX):
        return None
    digits = name[len(GROUP_PREFIX) :]
    if not digits.isdigit() or str(int(digits)) != digits:
        raise BitstreamError(f"malformed SSIC section name {name!r}")
    return int(digits)


def present_groups(bitstream: Bitstream) -> list[int]:
    """Ids of the group sections a container holds, ascending."""
    return sorted(g for g in map(section_group, bitstream.sections) if g is not None)


def keep_groups(bitstream: Bitstream, groups: Iterable[int]) -> Bitstream:
    """The side section plus the sections of `groups`; BitstreamError names groups the container lacks."""
    wanted = sorted({int(g) for g in groups})
    missing = [g for g in wanted if group_section(g) not in bitstream.sections]
    if missing:
        have = present_groups(bitstream)
        raise BitstreamError(f"container has no group {', '.join(map(str, missing))} (it has groups {have})")
    return bitstream.subset({SIDE, *(group_section(g) for g in wanted)}.__contains__)


def pad_group_mask(mask: np.ndarray, latent_hw: tuple[int, int]) -> np.ndarray:
    """Extend a mask to the padded image's latent grid, repeating its last row/column (padding joins its neighbour)."""
    rows, cols = latent_hw[0] - mask.shape[0], latent_hw[1] - mask.shape[1]
    return np.pad(mask, ((0, rows), (0, cols)), mode="edge")


def pack_strings(strings: list[bytes]) -> bytes:
    return b"".join(_varint(len(s)) + s for s in strings)


def unpack_strings(payload: bytes, count: int, what: str) -> list[bytes]:
    """Exactly `count` length-prefixed strings filling `payload`."""
    strings, pos = [], 0
    for _ in range(count):
        size, pos = _read_varint(payload, pos, what)
        if size > len(payload) - pos:
            raise BitstreamError(f"{what}: string of {size} bytes overruns the section")
        strings.append(payload[pos : pos + size])
        pos += size
    if pos != len(payload):
        raise BitstreamError(f"{what}: {len(payload) - pos} bytes after its {count} strings")
    return strings


def pack_side(image_hw: tuple[int, int], hyper: bytes, mask_payload: bytes = b"") -> bytes:
    return _varint(image_hw[0]) + _varint(image_hw[1]) + _varint(len(hyper)) + hyper + mask_payload


def unpack_side(payload: bytes, image_hw: tuple[int, int]) -> tuple[bytes, bytes]:
    """(hyper string, mask payload) of the side section of a container for an image of size `image_hw`."""
    height, pos = _read_varint(payload, 0, "side section")
    width, pos = _read_varint(payload, pos, "side section")
    if (height, width) != tuple(image_hw):
        header = f"{image_hw[0]}x{image_hw[1]}"
        raise BitstreamError(f"side section is for a {height}x{width} image, the header says {header}")
    size, pos = _read_varint(payload, pos, "side section")
    if size > len(payload) - pos:
        raise BitstreamError("side section: hyper string overruns the section")
    return payload[pos : pos + size], payload[pos + size :]


def encode_mask(mask: np.ndarray) -> tuple[int, bytes]:
    """(block size in px, payload) of a latent-grid mask of uint8 ids."""
    for block in MASK_BLOCKS:
        f = block // LATENT_STRIDE
        if mask.shape[0] % f == 0 and mask.shape[1] % f == 0:
            coarse = mask[::f, ::f]
            if np.array_equal(np.kron(coarse, np.ones((f, f), dtype=mask.dtype)), mask):
                return block, zlib.compress(coarse.astype(np.uint8).tobytes(), 9)
    raise AssertionError("16-px blocks always fit")


def decode_mask(payload: bytes, block: int, latent_hw: tuple[int, int]) -> np.ndarray:
    """The latent-grid mask (int64) from its payload; BitstreamError unless it is exactly that size."""
    if block not in MASK_BLOCKS:
        raise BitstreamError(f"mask block size {block!r} is not one of {MASK_BLOCKS}")
    f = block // LATENT_STRIDE
    if latent_hw[0] % f or latent_hw[1] % f:
        raise BitstreamError(f"mask block size {block} does not tile the {latent_hw} latent grid")
    shape = (latent_hw[0] // f, latent_hw[1] // f)
    expected = shape[0] * shape[1]
    inflater = zlib.decompressobj()
    try:
        raw = inflater.decompress(payload, expected + 1)
    except zlib.error:
        raise BitstreamError("group mask payload is corrupted (zlib)") from None
    if len(raw) != expected or not inflater.eof or inflater.unused_data or inflater.unconsumed_tail:
        raise BitstreamError(f"group mask payload does not hold exactly {shape[0]}x{shape[1]} ids")
    coarse = np.frombuffer(raw, dtype=np.uint8).reshape(shape).astype(np.int64)
    return np.kron(coarse, np.ones((f, f), dtype=np.int64))


def _varint(value: int) -> bytes:
    out = bytearray()
    while True:
        byte, value = value & 0x7F, value >> 7
        out.append(byte | (0x80 if value else 0))
        if not value:
            return bytes(out)


def _read_varint(data: bytes, pos: int, what: str) -> tuple[int, int]:
    value = 0
    for i in range(MAX_VARINT_BYTES):
        if pos + i >= len(data):
            raise BitstreamError(f"{what}: truncated length field")
        byte = data[pos + i]
        value |= (byte & 0x7F) << (7 * i)
        if not byte & 0x80:
            if i and not byte:
                raise BitstreamError(f"{what}: non-canonical length field")
            return value, pos + i + 1
    raise BitstreamError(f"{what}: length field too long")
