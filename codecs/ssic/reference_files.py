"""Reader for the files the reference CLI (`compress_multiple_images.py`) writes for one image.

    <stem>_sideInfo       u32 H, u32 W, u32 n, hyper string (n bytes)          (big-endian)
    <stem>_group_<g>      10 x (u32 n, slice string)  -- structured model, one file per group
    <stem>_woStructure    10 x (u32 n, slice string)  -- model without structure
    <stem>_GroupmaskInfo  u32 block size, u32 n, mask coded with torchac (n bytes)

The strings are CompressAI-compatible rANS strings (see `entropy.py`), so `coding.Coder` decodes them.
The torchac-coded mask is returned as is (decoding it needs torchac); take the mask from its PNG.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field
from pathlib import Path

from ssicbench.codecs.ssic.coding import CodedImage
from ssicbench.errors import BitstreamError

__all__ = ["SLICES", "ReferenceFiles", "read_reference_files"]

SLICES = 10


@dataclass
class ReferenceFiles:
    """Strings of one image as written by the reference CLI."""

    height: int
    width: int
    hyper: bytes
    groups: dict[int, list[bytes]]
    mask_block: int | None = None
    mask_torchac: bytes = field(default=b"", repr=False)

    def coded(self) -> CodedImage:
        return CodedImage(self.hyper, self.groups)


def read_reference_files(folder: str | Path, stem: str) -> ReferenceFiles:
    """Read `<folder>/<stem>_*`; group files become groups by their suffix, woStructure becomes group 0."""
    folder = Path(folder)
    side = _read(folder / f"{stem}_sideInfo")
    (height, width), rest = _uints(side, 2, "sideInfo"), side[8:]
    hyper = _strings(rest, 1, "sideInfo")[0]
    groups: dict[int, list[bytes]] = {}
    for path in sorted(folder.glob(f"{stem}_group_*")):
        suffix = path.name[len(f"{stem}_group_") :]
        if suffix.isdigit():
            groups[int(suffix)] = _strings(_read(path), SLICES, path.name)
    plain = folder / f"{stem}_woStructure"
    if plain.is_file():
        groups[0] = _strings(_read(plain), SLICES, plain.name)
    if not groups:
        raise BitstreamError(f"no group or woStructure files for {stem!r} in {folder}")
    block, mask = None, b""
    info = folder / f"{stem}_GroupmaskInfo"
    if info.is_file():
        data = _read(info)
        block, size = _uints(data, 2, info.name)
        mask = data[8 : 8 + size]
        if len(mask) != size:
            raise BitstreamError(f"{info.name} is truncated")
    return ReferenceFiles(height, width, hyper, groups, block, mask)


def _read(path: Path) -> bytes:
    if not path.is_file():
        raise BitstreamError(f"reference file {path} does not exist")
    return path.read_bytes()


def _uints(data: bytes, count: int, what: str) -> tuple[int, ...]:
    if len(data) < 4 * count:
        raise BitstreamError(f"{what} is truncated")
    return struct.unpack(f">{count}I", data[: 4 * count])


def _strings(data: bytes, count: int, what: str) -> list[bytes]:
    """Exactly `count` u32-length-prefixed strings filling `data`."""
    out, pos = [], 0
    for _ in range(count):
        (size,) = _uints(data[pos:], 1, what)
        pos += 4
        if size > len(data) - pos:
            raise BitstreamError(f"{what}: string overruns the file")
        out.append(data[pos : pos + size])
        pos += size
    if pos != len(data):
        raise BitstreamError(f"{what}: {len(data) - pos} trailing bytes")
    return out
