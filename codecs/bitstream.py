"""The one container every codec writes: a versioned header plus named, checksummed byte sections.

Layout (all integers big-endian), defined here once and used by every encoder and decoder:

    magic    4 bytes  b"SSBC"
    version  u8       FORMAT_VERSION
    hlen     u32      length of the header
    hcrc     u32      CRC-32 of the header
    header   hlen     UTF-8 JSON object: {"codec", "height", "width", "params"}
    count    u16      number of sections
    count x section:
        nlen   u8     length of the name
        name   nlen   ASCII section name
        plen   u32    length of the payload
        crc    u32    CRC-32 of name + payload
        payload plen

A receiver that fetches only some sections (e.g. some SSIC groups) gets a container holding only
those; its size in bytes is what bpp is computed from.
"""

from __future__ import annotations

import json
import struct
import zlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from ssicbench.errors import BitstreamError

__all__ = ["FORMAT_VERSION", "MAGIC", "MAX_HEADER_BYTES", "MAX_SECTIONS", "Bitstream"]

MAGIC = b"SSBC"
FORMAT_VERSION = 1
MAX_HEADER_BYTES = 1 << 20
MAX_SECTIONS = 1 << 15


@dataclass
class Bitstream:
    """A codec's output: who wrote it, the image size, decoding parameters and named payloads."""

    codec: str
    height: int
    width: int
    params: dict[str, Any] = field(default_factory=dict)
    sections: dict[str, bytes] = field(default_factory=dict)

    @property
    def num_pixels(self) -> int:
        return self.height * self.width

    def to_bytes(self) -> bytes:
        header = json.dumps(
            {"codec": self.codec, "height": self.height, "width": self.width, "params": self.params},
            sort_keys=True,
            separators=(",", ":"),
        ).encode()
        parts = [MAGIC, struct.pack(">BII", FORMAT_VERSION, len(header), zlib.crc32(header)), header]
        parts.append(struct.pack(">H", len(self.sections)))
        for name, payload in self.sections.items():
            raw_name = name.encode("ascii")
            if not 0 < len(raw_name) < 256:
                raise ValueError(f"section name must be 1..255 ASCII bytes: {name!r}")
            parts.append(struct.pack(">B", len(raw_name)) + raw_name)
            parts.append(struct.pack(">II", len(payload), zlib.crc32(raw_name + payload)))
            parts.append(bytes(payload))
        return b"".join(parts)

    @property
    def num_bytes(self) -> int:
        return len(self.to_bytes())

    def bpp(self) -> float:
        """Bits per pixel of the serialized container: the bytes a receiver actually gets."""
        return 8.0 * self.num_bytes / self.num_pixels

    def subset(self, keep: Callable[[str], bool] | Iterable[str]) -> Bitstream:
        """The container a receiver gets when it fetches only the sections selected by `keep`."""
        if not callable(keep):
            names = set(keep)
            missing = names - set(self.sections)
            if missing:
                raise KeyError(f"no such sections: {sorted(missing)}")
            keep = names.__contains__
        return Bitstream(
            self.codec,
            self.height,
            self.width,
            dict(self.params),
            {k: v for k, v in self.sections.items() if keep(k)},
        )

    def section(self, name: str) -> bytes:
        try:
            return self.sections[name]
        except KeyError:
            raise BitstreamError(f"container has no section {name!r}") from None

    @classmethod
    def from_bytes(cls, data: bytes) -> Bitstream:
        reader = _Reader(bytes(data))
        if reader.take(4) != MAGIC:
            raise BitstreamError("not an SSIC-Bench container (bad magic)")
        version, hlen, hcrc = reader.unpack(">BII")
        if version != FORMAT_VERSION:
            raise BitstreamError(f"unsupported container version {version} (this reader: {FORMAT_VERSION})")
        if hlen > MAX_HEADER_BYTES:
            raise BitstreamError(f"header length {hlen} is implausible")
        raw_header = reader.take(hlen)
        if zlib.crc32(raw_header) != hcrc:
            raise BitstreamError("container header fails its checksum (corrupted)")
        try:
            header = json.loads(raw_header.decode())
            codec, height, width = str(header["codec"]), int(header["height"]), int(header["width"])
            params = header["params"]
        except (ValueError, KeyError, TypeError, UnicodeDecodeError) as exc:
            raise BitstreamError(f"corrupted container header ({exc.__class__.__name__})") from None
        if not isinstance(params, dict) or height <= 0 or width <= 0:
            raise BitstreamError("corrupted container header (bad size or params)")
        (count,) = reader.unpack(">H")
        if count > MAX_SECTIONS:
            raise BitstreamError(f"section count {count} is implausible")
        sections: dict[str, bytes] = {}
        for _ in range(count):
            (nlen,) = reader.unpack(">B")
            raw_name = reader.take(nlen)
            plen, crc = reader.unpack(">II")
            payload = reader.take(plen)
            if zlib.crc32(raw_name + payload) != crc:
                raise BitstreamError(f"section {raw_name!r} fails its checksum (corrupted)")
            name = raw_name.decode("ascii", errors="replace")
            if name in sections:
                raise BitstreamError(f"section {name!r} appears twice")
            sections[name] = payload
        if reader.remaining:
            raise BitstreamError(f"{reader.remaining} trailing bytes after the last section")
        return cls(codec, height, width, params, sections)


class _Reader:
    """Bounds-checked sequential reads; running past the end is a BitstreamError, never an IndexError."""

    def __init__(self, data: bytes):
        self.data = data
        self.pos = 0

    @property
    def remaining(self) -> int:
        return len(self.data) - self.pos

    def take(self, n: int) -> bytes:
        if n > self.remaining:
            raise BitstreamError(f"truncated container: needs {n} bytes at offset {self.pos}, has {self.remaining}")
        out = self.data[self.pos : self.pos + n]
        self.pos += n
        return out

    def unpack(self, fmt: str) -> tuple:
        return struct.unpack(fmt, self.take(struct.calcsize(fmt)))
