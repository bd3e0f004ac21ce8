"""Classical codecs behind the codec interface: what every one of them guarantees."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import smooth_image

from ssicbench.codecs import Bitstream, create_codec, list_codecs
from ssicbench.codecs.classical import PAYLOAD
from ssicbench.errors import BitstreamError, MissingLibraryError, UnknownNameError
from ssicbench.metrics import psnr

# codec name -> how its library's files start (offset, bytes): the payload is that file, untouched
FILE_SIGNATURES = {
    "jpeg": (0, b"\xff\xd8\xff"),
    "webp": (8, b"WEBP"),
    "jpeg2000": (0, b"\xff\x4f\xff\x51"),
    "avif": (4, b"ftypavif"),
    "jpegxl": (0, b"\xff\x0a"),
    "heif": (4, b"ftyphei"),  # brand heic, or heix for 4:4:4
}
MAX_CONTAINER_OVERHEAD_BYTES = 100


def make_codec(name: str):
    try:
        return create_codec(name)
    except MissingLibraryError as exc:
        pytest.skip(f"{name} is not available here: {exc}")


@pytest.fixture(scope="module")
def image() -> np.ndarray:
    return smooth_image(67, 93)  # odd sizes: no codec may rely on multiples of 8 or 16


@pytest.mark.parametrize("name", sorted(FILE_SIGNATURES))
class TestEveryClassicalCodec:
    def test_round_trip_is_lossy_but_close(self, name, image):
        codec = make_codec(name)
        mid = codec.qualities[len(codec.qualities) // 2]
        decoded = codec.decode(Bitstream.from_bytes(codec.encode(image, mid).to_bytes()))
        assert decoded.shape == image.shape and decoded.dtype == np.uint8
        assert 29.0 < psnr(image, decoded) < float("inf")

    def test_quality_raises_rate_and_fidelity(self, name, image):
        codec = make_codec(name)
        streams = [codec.encode(image, q) for q in codec.qualities]
        rates = [s.bpp() for s in streams]
        assert rates == sorted(rates) and rates[0] < rates[-1], rates
        low, high = (psnr(image, codec.decode(s)) for s in (streams[0], streams[-1]))
        assert low < high

    def test_bpp_counts_the_library_file_plus_a_small_header(self, name, image):
        codec = make_codec(name)
        bitstream = codec.encode(image, codec.qualities[0])
        payload, serialized = bitstream.section(PAYLOAD), bitstream.to_bytes()
        offset, signature = FILE_SIGNATURES[name]
        assert list(bitstream.sections) == [PAYLOAD]
        assert payload[offset : offset + len(signature)] == signature
        assert bitstream.bpp() == 8 * len(serialized) / (image.shape[0] * image.shape[1])
        assert 0 < len(serialized) - len(payload) < MAX_CONTAINER_OVERHEAD_BYTES

    def test_decoding_is_deterministic(self, name, image):
        codec = make_codec(name)
        bitstream = codec.encode(image, codec.qualities[0])
        assert np.array_equal(codec.decode(bitstream), codec.decode(bitstream))

    @pytest.mark.parametrize("damage", ["truncated", "garbage", "empty"])
    def test_undecodable_payload_is_a_bitstream_error(self, name, image, damage):
        codec = make_codec(name)
        bitstream = codec.encode(image, codec.qualities[0])
        payload = bitstream.section(PAYLOAD)
        bad = {"truncated": payload[: len(payload) // 2], "garbage": bytes(range(256)) * 2, "empty": b""}[damage]
        bitstream.sections[PAYLOAD] = bad
        with pytest.raises(BitstreamError, match=name):
            codec.decode(bitstream)

    def test_flipped_bit_in_serialized_container_is_a_bitstream_error(self, name, image):
        codec = make_codec(name)
        data = bytearray(codec.encode(image, codec.qualities[0]).to_bytes())
        data[-10] ^= 0x10
        with pytest.raises(BitstreamError):
            codec.decode(Bitstream.from_bytes(bytes(data)))

    def test_payload_of_another_size_is_a_bitstream_error(self, name, image):
        codec = make_codec(name)
        bitstream = codec.encode(image, codec.qualities[0])
        bitstream.width += 1
        with pytest.raises(BitstreamError, match="container says"):
            codec.decode(bitstream)

    def test_quality_outside_the_library_range_is_rejected(self, name, image):
        codec = make_codec(name)
        with pytest.raises(ValueError, match="quality"):
            codec.encode(image, 1000)


def test_container_of_another_codec_is_refused(image):
    bitstream = create_codec("jpeg").encode(image, 50)
    with pytest.raises(BitstreamError, match="'jpeg'"):
        make_codec("webp").decode(bitstream)


def test_non_rgb8_input_is_a_type_error():
    with pytest.raises(TypeError):
        create_codec("jpeg").encode(np.zeros((8, 8), np.uint8), 50)


def test_unknown_codec_name_lists_the_known_ones():
    with pytest.raises(UnknownNameError, match="unknown codec 'jpeg3000'.*jpeg2000"):
        create_codec("jpeg3000")


def test_every_classical_codec_is_registered_with_its_sweep():
    registered = {entry["name"]: entry for entry in list_codecs()}
    for name in FILE_SIGNATURES:
        assert len(registered[name]["qualities"]) >= 6
        assert registered[name]["description"]
