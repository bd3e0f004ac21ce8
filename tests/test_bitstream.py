"""The container: exact round trip, bpp from serialized bytes, partial views, clean errors on bad bytes."""

import random

import pytest

from ssicbench.codecs import Bitstream, BitstreamError


def example() -> Bitstream:
    return Bitstream(
        "demo", 32, 48, {"quality": 3, "model": "m"}, {"side": b"\x01\x02", "group/0": b"abc", "group/1": b""}
    )


def test_round_trip_is_exact():
    bs = example()
    back = Bitstream.from_bytes(bs.to_bytes())
    assert back == bs
    assert list(back.sections) == ["side", "group/0", "group/1"]


def test_bpp_counts_every_serialized_byte():
    bs = example()
    assert bs.bpp() == 8 * len(bs.to_bytes()) / (32 * 48)


def test_subset_is_what_a_receiver_gets():
    bs = example()
    part = bs.subset(["side", "group/1"])
    assert list(part.sections) == ["side", "group/1"]
    assert part.num_bytes < bs.num_bytes
    assert Bitstream.from_bytes(part.to_bytes()) == part
    with pytest.raises(KeyError):
        bs.subset(["group/7"])


def test_every_truncation_is_a_bitstream_error():
    data = example().to_bytes()
    for n in range(len(data)):
        with pytest.raises(BitstreamError):
            Bitstream.from_bytes(data[:n])


def test_random_corruption_never_passes_silently():
    """Header and every section are checksummed: any changed byte is reported, never decoded as data."""
    data = example().to_bytes()
    rng = random.Random(0)
    for _ in range(1000):
        mutated = bytearray(data)
        for _ in range(rng.randint(1, 3)):
            mutated[rng.randrange(len(mutated))] ^= rng.randrange(1, 256)
        with pytest.raises(BitstreamError):
            Bitstream.from_bytes(bytes(mutated))


def test_missing_section_is_a_bitstream_error():
    with pytest.raises(BitstreamError, match="group/5"):
        example().section("group/5")
