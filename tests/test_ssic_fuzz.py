"""1000 corrupted SSIC containers: never a crash or a hang; a BitstreamError for all but valid streams.

Half the cases corrupt the serialized bytes (caught mostly by the container's checks); the other half
corrupt a section payload or a header param and re-serialize, so the section CRCs are valid and the
SSIC parsers and the rANS string verification are what must catch it. rANS codes values beyond its
tables with raw "escape" bits, so flipping one of those gives a valid string of another latent: such a
container decodes (to a well-formed image), as it must.
"""

from __future__ import annotations

import json
import time

import numpy as np
import pytest
from ssic_helpers import photo, random_codec

from ssicbench.codecs.bitstream import Bitstream
from ssicbench.codecs.ssic.sections import pack_strings
from ssicbench.errors import BitstreamError

CASES = 1000


@pytest.fixture(scope="module")
def sample():
    codec = random_codec(seed=11)
    mask = np.zeros((4, 6), dtype=np.int64)
    mask[0:2, 2:4], mask[2:4, 0:2] = 1, 2
    return codec, codec.encode(photo(64, 96, seed=2), 1, mask=mask)


def corrupt_bytes(data: bytes, rng: np.random.Generator) -> bytes:
    if rng.random() < 0.3:
        return data[: rng.integers(0, len(data))]
    out = bytearray(data)
    for _ in range(rng.integers(1, 4)):
        out[rng.integers(0, len(out))] ^= int(rng.integers(1, 256))
    return bytes(out)


def corrupt_container(bitstream: Bitstream, rng: np.random.Generator) -> Bitstream:
    corrupted = Bitstream(bitstream.codec, bitstream.height, bitstream.width, json.loads(json.dumps(bitstream.params)))
    corrupted.sections = dict(bitstream.sections)
    if rng.random() < 0.15:  # a header param, re-serialized so that its checksum holds
        header = json.dumps(corrupted.params).encode()
        try:
            corrupted.params = json.loads(corrupt_bytes(header, rng))
        except ValueError:
            corrupted.params = {}
        if not isinstance(corrupted.params, dict):
            corrupted.params = {}
        if corrupted.params == bitstream.params:
            corrupted.height += 16
        return corrupted
    name = sorted(corrupted.sections)[rng.integers(0, len(corrupted.sections))]
    payload = corrupted.sections[name]
    corrupted.sections[name] = corrupt_bytes(payload, rng) if payload else b"\x00"
    return corrupted


def test_corrupted_containers_raise_bitstream_errors_only(sample):
    codec, bitstream = sample
    data = bitstream.to_bytes()
    rng = np.random.default_rng(2024)
    slowest, valid = 0.0, 0
    for case in range(CASES):
        start = time.perf_counter()
        try:
            if case % 2:
                image = codec.decode(Bitstream.from_bytes(corrupt_bytes(data, rng)))
            else:
                image = codec.decode(Bitstream.from_bytes(corrupt_container(bitstream, rng).to_bytes()))
        except BitstreamError:
            pass
        else:
            assert image.shape == (64, 96, 3) and image.dtype == np.uint8
            valid += 1
        slowest = max(slowest, time.perf_counter() - start)
    assert valid <= CASES // 100
    assert slowest < 5.0


def test_garbage_strings_are_rejected_without_reading_past_them(sample):
    codec, bitstream = sample
    rng = np.random.default_rng(7)
    for size in (0, 1, 3, 4, 7, 8, 64, 1000):
        for fill in (b"\xff", b"\x00", None):
            garbage = bytes(rng.integers(0, 256, size, dtype=np.uint8)) if fill is None else fill * size
            corrupted = Bitstream(bitstream.codec, bitstream.height, bitstream.width, dict(bitstream.params))
            corrupted.sections = dict(bitstream.sections)
            corrupted.sections["group/1"] = pack_strings([garbage] * 10)
            with pytest.raises(BitstreamError):
                codec.decode(corrupted)


def test_every_damaged_container_file_is_a_bitstream_error(sample):
    """1000 truncated or bit-flipped container files (what storage or transport damage looks like): the
    checksummed header and sections turn each one into a BitstreamError before any entropy decoding."""
    codec, bitstream = sample
    data = bitstream.to_bytes()
    rng = np.random.default_rng(7)
    for _ in range(CASES):
        damaged = corrupt_bytes(data, rng)
        if damaged == data:
            continue
        with pytest.raises(BitstreamError):
            codec.decode(Bitstream.from_bytes(damaged))
