"""External-program codecs (BPG, VTM), driven against fake programs that the tests write.

The fakes behave like the real tools at their command line: they read the input file the wrapper wrote,
write a "coded" file (a quantized copy, zlib-packed, behind a magic tag) and decode it back; every call is
logged, so the tests pin the exact command lines, the temp-file handling and the error paths.
"""

from __future__ import annotations

import json
import os
import stat
import sys
from pathlib import Path

import numpy as np
import pytest
from conftest import smooth_image

from ssicbench.codecs import Bitstream, create_codec
from ssicbench.codecs.external import ExternalProgramError, rgb_to_ycbcr, ycbcr_to_rgb
from ssicbench.errors import BitstreamError, MissingBinaryError

FAKE_PROGRAM = r"""
import io, json, os, sys, zlib
import numpy as np
from PIL import Image

name, args = os.path.basename(sys.argv[0]), sys.argv[1:]
with open(os.environ["FAKE_LOG"], "a") as log:
    log.write(json.dumps({"program": name, "args": args, "last_arg_exists": os.path.exists(args[-1])}) + "\n")
if os.environ.get("FAKE_FAIL") == name:
    sys.stderr.write("lots of noise\n" * 200 + f"{name}: simulated failure\n")
    sys.exit(3)

def opt(flag):
    return args[args.index(flag) + 1]

def quantize(data, qp):
    step = 1 + qp // 4
    return np.clip(data // step * step + step // 2, 0, 255).astype(np.uint8)

def unpack(path):
    data = open(path, "rb").read()
    if not data.startswith(b"FAKE"):
        sys.stderr.write(f"{name}: {path} is not a stream I wrote\n")
        sys.exit(1)
    return zlib.decompress(data[4:])

if name == "bpgenc":
    image = np.asarray(Image.open(args[-1]).convert("RGB"))
    buf = io.BytesIO()
    Image.fromarray(quantize(image, int(opt("-q")))).save(buf, format="PNG")
    open(opt("-o"), "wb").write(b"FAKE" + zlib.compress(buf.getvalue()))
elif name == "bpgdec":
    open(opt("-o"), "wb").write(unpack(args[-1]))
elif name == "EncoderApp":
    raw = np.fromfile(opt("-i"), dtype=np.uint8)
    if "--InputChromaFormat=444" not in args or raw.size != 3 * int(opt("-wdt")) * int(opt("-hgt")):
        sys.stderr.write("EncoderApp: input size does not match -wdt/-hgt at 4:4:4\n")
        sys.exit(2)
    open(opt("-b"), "wb").write(b"FAKE" + zlib.compress(quantize(raw, int(opt("-q"))).tobytes()))
elif name == "DecoderApp":
    raw = unpack(opt("-b"))
    open(opt("-o"), "wb").write(raw[: len(raw) // 2] if os.environ.get("FAKE_SHORT") else raw)
"""

BPG_PROGRAMS = ("bpgenc", "bpgdec")
VTM_PROGRAMS = ("EncoderApp", "DecoderApp")


def write_fake(folder: Path, name: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text(f"#!{sys.executable}\n{FAKE_PROGRAM}")
    path.chmod(path.stat().st_mode | stat.S_IXUSR)
    return path


@pytest.fixture
def fake_log(tmp_path, monkeypatch) -> Path:
    log = tmp_path / "calls.jsonl"
    monkeypatch.setenv("FAKE_LOG", str(log))
    for program in ("BPGENC", "BPGDEC", "VTM_ENCODER", "VTM_DECODER", "VTM_CONFIG"):
        monkeypatch.delenv(f"SSICBENCH_{program}", raising=False)
    return log


@pytest.fixture
def fake_path(tmp_path, monkeypatch, fake_log) -> Path:
    """A PATH holding only the four fake programs."""
    folder = tmp_path / "bin"
    for name in BPG_PROGRAMS + VTM_PROGRAMS:
        write_fake(folder, name)
    monkeypatch.setenv("PATH", str(folder))
    return folder


def calls(log: Path) -> list[dict]:
    return [json.loads(line) for line in log.read_text().splitlines()]


@pytest.fixture(scope="module")
def image() -> np.ndarray:
    return smooth_image(67, 93)


class TestBpg:
    def test_round_trip_through_the_programs_on_path(self, fake_path, fake_log, image):
        codec = create_codec("bpg")
        bitstream = Bitstream.from_bytes(codec.encode(image, 30).to_bytes())
        decoded = codec.decode(bitstream)
        assert bitstream.section("image").startswith(b"FAKE")
        assert np.abs(decoded.astype(int) - image).max() <= (1 + 30 // 4) // 2 + 1
        assert bitstream.bpp() == 8 * len(bitstream.to_bytes()) / (image.shape[0] * image.shape[1])

    def test_command_lines_and_temp_files(self, fake_path, fake_log, image):
        codec = create_codec("bpg")
        codec.decode(codec.encode(image, 30))
        enc, dec = calls(fake_log)
        assert enc["program"] == "bpgenc" and dec["program"] == "bpgdec"
        coded, source = enc["args"][-2:]
        assert enc["args"] == ["-q", "30", "-f", "444", "-e", "x265", "-c", "ycbcr", "-b", "8", "-o", coded, source]
        assert source.endswith(".png") and coded.endswith(".bpg") and enc["last_arg_exists"]
        assert dec["args"][0] == "-o" and dec["args"][1].endswith(".png") and dec["args"][2].endswith(".bpg")
        assert dec["last_arg_exists"]
        for path in (source, coded, *dec["args"][1:]):
            assert not Path(path).parent.exists(), "temporary directory left behind"

    def test_options_reach_the_encoder(self, fake_path, fake_log, image):
        create_codec("bpg", subsampling="420", colorspace="rgb", bitdepth=10).encode(image, 40)
        assert calls(fake_log)[0]["args"][:10] == ["-q", "40", "-f", "420", "-e", "x265", "-c", "rgb", "-b", "10"]

    def test_programs_given_by_argument_or_environment(self, tmp_path, monkeypatch, fake_log, image):
        monkeypatch.setenv("PATH", str(tmp_path / "empty"))
        encoder = write_fake(tmp_path / "opt" / "enc", "bpgenc")
        decoder = write_fake(tmp_path / "opt" / "dec", "bpgdec")
        monkeypatch.setenv("SSICBENCH_BPGDEC", str(decoder))
        codec = create_codec("bpg", bpgenc=encoder)
        codec.decode(codec.encode(image, 30))
        assert (codec.bpgenc, codec.bpgdec) == (encoder, decoder)

    def test_missing_program_says_how_to_provide_it(self, tmp_path, monkeypatch, fake_log):
        monkeypatch.setenv("PATH", str(tmp_path / "empty"))
        with pytest.raises(MissingBinaryError, match="bpgenc not found.*PATH.*SSICBENCH_BPGENC"):
            create_codec("bpg")

    def test_given_path_that_is_not_a_program(self, tmp_path, fake_path):
        text_file = tmp_path / "bpgenc.txt"
        text_file.write_text("not a program")
        with pytest.raises(MissingBinaryError, match="bpgenc.txt is not an executable"):
            create_codec("bpg", bpgenc=text_file)

    def test_failing_encoder_reports_status_and_stderr_tail(self, fake_path, monkeypatch, image):
        monkeypatch.setenv("FAKE_FAIL", "bpgenc")
        with pytest.raises(ExternalProgramError, match="bpgenc exited with status 3:.*simulated failure") as info:
            create_codec("bpg").encode(image, 30)
        assert "\n" not in str(info.value) and len(str(info.value)) < 400

    def test_corrupted_payload_is_a_bitstream_error_with_the_decoder_message(self, fake_path, image):
        codec = create_codec("bpg")
        bitstream = codec.encode(image, 30)
        bitstream.sections["image"] = b"garbage"
        with pytest.raises(BitstreamError, match="bpgdec exited with status 1:.*not a stream I wrote"):
            codec.decode(bitstream)

    def test_qp_range(self, fake_path, image):
        with pytest.raises(ValueError, match=r"\[0, 51\]"):
            create_codec("bpg").encode(image, 52)


class TestVtm:
    def test_round_trip_through_ycbcr_444(self, fake_path, fake_log, image):
        codec = create_codec("vtm")
        decoded = codec.decode(Bitstream.from_bytes(codec.encode(image, 22).to_bytes()))
        assert decoded.shape == image.shape
        assert np.abs(decoded.astype(int) - image).max() <= 12  # quantized in YCbCr, then converted back

    def test_command_lines(self, fake_path, fake_log, tmp_path, image):
        config = tmp_path / "encoder_intra_vtm.cfg"
        config.write_text("# intra configuration\n")
        codec = create_codec("vtm", config=config)
        codec.decode(codec.encode(image, 37))
        enc, dec = calls(fake_log)
        args = enc["args"]
        assert args[:2] == ["-c", str(config)]
        assert args[args.index("-q") + 1] == "37"
        assert (args[args.index("-wdt") + 1], args[args.index("-hgt") + 1]) == ("93", "67")
        for flag in ("--InputChromaFormat=444", "--InputBitDepth=8", "--ConformanceWindowMode=1"):
            assert flag in args
        assert args[args.index("-o") + 1] == os.devnull and args[args.index("-i") + 1].endswith(".yuv")
        assert dec["args"][-2:] == ["-d", "8"] and not Path(dec["args"][1]).parent.exists()

    def test_rgb_mode_codes_gbr(self, fake_path, fake_log, image):
        codec = create_codec("vtm", rgb=True)
        decoded = codec.decode(codec.encode(image, 0))
        enc, dec = calls(fake_log)
        assert "--InputColourSpaceConvert=RGBtoGBR" in enc["args"]
        assert "--OutputInternalColourSpace=GBRtoRGB" in dec["args"]
        assert np.abs(decoded.astype(int) - image).max() == 0  # QP 0 quantizes nothing in the fake

    def test_config_from_environment_must_exist(self, fake_path, monkeypatch, tmp_path):
        monkeypatch.setenv("SSICBENCH_VTM_CONFIG", str(tmp_path / "nope.cfg"))
        with pytest.raises(MissingBinaryError, match="nope.cfg does not exist"):
            create_codec("vtm")

    def test_missing_decoder_names_it(self, tmp_path, monkeypatch, fake_log):
        write_fake(tmp_path / "only-encoder", "EncoderApp")
        monkeypatch.setenv("PATH", str(tmp_path / "only-encoder"))
        with pytest.raises(MissingBinaryError, match="DecoderApp not found.*SSICBENCH_VTM_DECODER"):
            create_codec("vtm")

    def test_decoder_output_of_wrong_size_is_a_bitstream_error(self, fake_path, monkeypatch, image):
        codec = create_codec("vtm")
        bitstream = codec.encode(image, 32)
        monkeypatch.setenv("FAKE_SHORT", "1")
        with pytest.raises(BitstreamError, match="expected 3x67x93"):
            codec.decode(bitstream)


def test_ycbcr_conversion_round_trips_within_one_level():
    image = smooth_image(32, 48, seed=3)
    assert np.abs(ycbcr_to_rgb(rgb_to_ycbcr(image)).astype(int) - image).max() <= 1
