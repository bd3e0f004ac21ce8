"""Every user mistake on the command line: exit status 2, one line on stderr, no traceback, no output left.

Each case names its input files by placeholder (IN, JPEGBIN, ...); they are made once per module, and a
case's outputs go to its own empty folder, which must still be empty afterwards.
"""

from __future__ import annotations

import json
import struct
import zlib
from pathlib import Path

import numpy as np
import pytest
from conftest import REPO, smooth_image
from PIL import Image

from ssicbench.cli import main
from ssicbench.codecs import Bitstream


def bomb_png(path: Path, width: int = 100_000, height: int = 100_000) -> Path:
    """A PNG whose header claims width x height pixels (no pixel data): Pillow's decompression-bomb case."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IEND", b""))
    return path


def flip_byte(data: bytes, offset: int) -> bytes:
    return data[:offset] + bytes([data[offset] ^ 0x40]) + data[offset + 1 :]


@pytest.fixture(scope="module")
def inputs(tmp_path_factory) -> dict[str, Path]:
    d = tmp_path_factory.mktemp("inputs")
    files = {"IN": d / "in.png", "BIG": d / "big.png", "DIR": d / "folder", "EMPTYDIR": d / "empty"}
    Image.fromarray(smooth_image(96, 128)).save(files["IN"])
    Image.fromarray(smooth_image(512, 512)).save(files["BIG"])
    files["DIR"].mkdir()
    files["EMPTYDIR"].mkdir()
    (files["EMPTYDIR"] / "notes.txt").write_text("no images here")
    Image.fromarray(smooth_image(64, 64)).save(files["DIR"] / "a.png")
    files["NOTIMG"] = d / "notimg.png"
    files["NOTIMG"].write_text("hello")
    files["BOMB"] = bomb_png(d / "bomb.png")
    files["FILE"] = d / "plain.txt"
    files["FILE"].write_text("a file, not a folder")
    files["NOTJSON"] = d / "notjson.json"
    files["NOTJSON"].write_text("{codecs: jpeg")
    files["BADCODECS"] = d / "badcodecs.json"
    files["BADCODECS"].write_text('{"codecs": [123]}')
    files["BADMETRICS"] = d / "badmetrics.json"
    files["BADMETRICS"].write_text('{"codecs": ["jpeg"], "metrics": ["psnr-hsv"]}')
    files["JSONLIST"] = d / "list.json"
    files["JSONLIST"].write_text("[1, 2]")
    files["BADMASK"] = d / "badmask.npy"
    np.save(files["BADMASK"], np.zeros((3, 3), np.uint8))
    files["BIGIDS"] = d / "bigids.npy"
    np.save(files["BIGIDS"], np.full((6, 8), 300, np.int64))
    checker = (np.indices((32, 32)).sum(axis=0) % 2 * 255).astype(np.uint8)  # 512 separate foreground blocks
    files["CHECKER"] = d / "checker.png"
    Image.fromarray(checker).save(files["CHECKER"])
    files["FLOATMASK"] = d / "float.npy"
    np.save(files["FLOATMASK"], np.zeros((6, 8), np.float32))

    assert main(["compress", "--codec", "jpeg", "--quality", "50", str(files["IN"]), str(d / "jpeg.bin")]) == 0
    mask = np.zeros((6, 8), np.uint8)
    mask[:3, :4] = 1
    np.save(d / "mask.npy", mask)
    ssic = ["compress", "--codec", "ssic-tiny", "--mask", str(d / "mask.npy"), str(files["IN"]), str(d / "ssic.bin")]
    assert main(ssic) == 0
    jpeg, ssic_bytes = (d / "jpeg.bin").read_bytes(), (d / "ssic.bin").read_bytes()
    containers = {
        "JPEGBIN": jpeg,
        "SSICBIN": ssic_bytes,
        "TRUNC": jpeg[:50],
        "JPEGFLIP": flip_byte(jpeg, len(jpeg) // 2),
        "SSICFLIP": flip_byte(ssic_bytes, len(ssic_bytes) - 20),
        "SSICTRUNC": ssic_bytes[:-7],
        "EMPTY": b"",
        "FOREIGN": files["IN"].read_bytes(),
        "UNKNOWNCODEC": Bitstream("no-such-codec", 8, 8, {}, {"image": b"x"}).to_bytes(),
        "GARBAGEJPEG": Bitstream("jpeg", 96, 128, {}, {"image": b"not a jpeg at all"}).to_bytes(),
        "WRONGSIZE": Bitstream("jpeg", 40, 40, {}, Bitstream.from_bytes(jpeg).sections).to_bytes(),
    }
    for codec in GARBAGE_PAYLOAD_CODECS:  # a well-formed container whose payload the codec's library refuses
        containers[f"GARBAGE-{codec}"] = Bitstream(codec, 96, 128, {}, {"image": bytes(range(200))}).to_bytes()
    ssic = Bitstream.from_bytes(ssic_bytes)
    containers["SSICPARAMS"] = Bitstream("ssic-tiny", 96, 128, {**ssic.params, "groups": [7]}, ssic.sections).to_bytes()
    containers["ZOO"] = Bitstream("mbt2018-mse", 96, 128, {"quality": 3, "shape": [2, 2]}, {"y": b"x"}).to_bytes()
    for name, data in containers.items():
        files[name] = d / f"{name.lower()}.bin"
        files[name].write_bytes(data)
    files["MISSING"] = d / "missing.bin"
    files["RESULTS"] = d / "results"
    (files["RESULTS"] / "compressai").mkdir(parents=True)
    files["TRAINCFG"] = REPO / "configs" / "train" / "ssic-tiny.json"
    return files


GARBAGE_PAYLOAD_CODECS = ("webp", "jpeg2000", "avif", "jpegxl", "heif")
RD = ["rd", "--dataset", "DIR", "--out", "OUT/rd", "--quiet"]
CASES = [
    # compress: quality, codec options, output path, input image, mask
    (["compress", "--codec", "jpeg", "--quality", "150", "IN", "OUT/x.bin"], "quality must be a number in [0, 100]"),
    (["compress", "--codec", "jpeg", "--quality", "-5", "IN", "OUT/x.bin"], "got -5"),
    (["compress", "--codec", "jpeg", "--quality", "abc", "IN", "OUT/x.bin"], "got 'abc'"),
    (["compress", "--codec", "webp", "--quality", "1e9", "IN", "OUT/x.bin"], "[0, 100]"),
    (["compress", "--codec", "ssic-tiny", "--quality", "7", "IN", "OUT/x.bin"], "no checkpoint for quality 7"),
    (["compress", "--codec", "jpeg", "--checkpoint", "IN", "IN", "OUT/x.bin"], "jpeg does not take --checkpoint"),
    (["compress", "--codec", "jpeg", "--option", "speed=4", "IN", "OUT/x.bin"], "does not take --option speed="),
    (["compress", "--codec", "avif", "--weights", "IN", "IN", "OUT/x.bin"], "takes --option speed="),
    (["compress", "--codec", "ssic-tiny", "--weights", "IN", "IN", "OUT/x.bin"], "does not take --weights"),
    (["compress", "--codec", "jpeg", "--option", "novalue", "IN", "OUT/x.bin"], "expected KEY=VALUE"),
    (["compress", "--codec", "no-such-codec", "IN", "OUT/x.bin"], "unknown codec 'no-such-codec'"),
    (["compress", "--codec", "jpeg", "IN", "OUT"], "is a folder"),
    (["compress", "--codec", "jpeg", "IN", "FILE/x.bin"], "is a file, not a folder"),
    (["compress", "--codec", "jpeg", "NOTIMG", "OUT/x.bin"], "not a readable image"),
    (["compress", "--codec", "jpeg", "MISSING", "OUT/x.bin"], "no such file"),
    (["compress", "--codec", "jpeg", "DIR", "OUT/x.bin"], "is a folder"),
    (["compress", "--codec", "jpeg", "BOMB", "OUT/x.bin"], "SSICBENCH_MAX_IMAGE_PIXELS"),
    (["compress", "--codec", "ssic-tiny", "--mask", "BOMB", "IN", "OUT/x.bin"], "decompression-bomb guard"),
    (["compress", "--codec", "ssic-tiny", "--mask", "BADMASK", "IN", "OUT/x.bin"], "needs 6x8"),
    (["compress", "--codec", "ssic-tiny", "--mask", "BIGIDS", "IN", "OUT/x.bin"], "ids must be in 0..255"),
    (["compress", "--codec", "ssic-tiny", "--mask", "CHECKER", "BIG", "OUT/x.bin"], "512 connected groups"),
    (["compress", "--codec", "ssic-tiny", "--mask", "FLOATMASK", "IN", "OUT/x.bin"], "integer group ids"),
    (["compress", "--codec", "ssic-tiny", "--mask", "MISSING", "IN", "OUT/x.bin"], "does not exist"),
    (["compress", "--codec", "jpeg", "--mask", "BADMASK", "IN", "OUT/x.bin"], "takes no --mask"),
    (["compress", "--codec", "bpg", "IN", "OUT/x.bin"], "bpgenc not found"),
    (["compress", "--codec", "ssic-charm", "IN", "OUT/x.bin"], "--checkpoint PATH"),
    (["compress", "--codec", "ssic-charm", "--checkpoint", "MISSING", "IN", "OUT/x.bin"], "does not exist"),
    (["compress", "--codec", "mbt2018-mse", "--weights", "MISSING", "IN", "OUT/x.bin"], "not found"),
    (["compress", "--codec", "jpeg", "IN"], "required: output"),
    # decompress: containers, output names, groups
    (["decompress", "TRUNC", "OUT/x.png"], "truncated container"),
    (["decompress", "MISSING", "OUT/x.png"], "cannot read"),
    (["decompress", "EMPTY", "OUT/x.png"], "truncated container"),
    (["decompress", "FOREIGN", "OUT/x.png"], "bad magic"),
    (["decompress", "JPEGFLIP", "OUT/x.png"], "fails its checksum"),
    (["decompress", "SSICFLIP", "OUT/x.png"], "fails its checksum"),
    (["decompress", "SSICTRUNC", "OUT/x.png"], "truncated container"),
    (["decompress", "UNKNOWNCODEC", "OUT/x.png"], "unknown codec 'no-such-codec'"),
    (["decompress", "GARBAGEJPEG", "OUT/x.png"], "payload is not decodable"),
    *[(["decompress", f"GARBAGE-{c}", "OUT/x.png"], f"{c}: payload is not decodable") for c in GARBAGE_PAYLOAD_CODECS],
    (["decompress", "SSICPARAMS", "OUT/x.png"], "unexpected section"),
    (["decompress", "ZOO", "OUT/x.png"], "weights file"),
    (["decompress", "WRONGSIZE", "OUT/x.png"], "container says (40, 40, 3)"),
    (["decompress", "JPEGBIN", "OUT/x.bin"], "extension .bin names no image format"),
    (["decompress", "JPEGBIN", "OUT/noext"], "no extension names no image format"),
    (["decompress", "JPEGBIN", "OUT"], "is a folder"),
    (["decompress", "SSICBIN", "OUT/x.png", "--groups", "99"], "--groups 99: "),
    (["decompress", "SSICBIN", "OUT/x.png", "--groups", "abc", "1"], "holds groups 0 1"),
    (["decompress", "JPEGBIN", "OUT/x.png", "--groups", "1"], "not a structured container"),
    (["decompress", "JPEGBIN", "OUT/x.png", "--checkpoint", "IN"], "jpeg does not take --checkpoint"),
    (["decompress", "DIR", "OUT/x.png"], "cannot read"),
    # rd
    ([*RD, "--codecs", "jpeg", "--limit", "0"], "--limit: must be at least 1"),
    ([*RD, "--codecs", "jpeg", "--limit", "-1"], "must be at least 1"),
    ([*RD, "--codecs", "jpeg", "--jobs", "0"], "--jobs: must be at least 1"),
    ([*RD, "--codecs", "jpeg", "--jobs", "two"], "expected a whole number"),
    ([*RD, "--config", "MISSING"], "sweep config (--config)"),
    ([*RD, "--config", "NOTJSON"], "is not JSON"),
    ([*RD, "--config", "JSONLIST"], "must hold a JSON object"),
    ([*RD, "--config", "BADCODECS"], "codec entry 123: expected a name"),
    ([*RD, "--config", "BADMETRICS"], "'metrics': unknown metric(s) psnr-hsv; known: psnr, ms-ssim"),
    (["rd", "--codecs", "jpeg", "--dataset", "DIR", "--out", "FILE"], "is a file"),
    ([*RD, "--codecs", "jpeg", "ssic-tiny", "--qualities", "10", "50"], "do not all fit ssic-tiny"),
    ([*RD, "--codecs", "jpeg", "--qualities", "150"], "[0, 100], got 150"),
    ([*RD, "--codecs", "jpeg", "--checkpoint", "IN"], "does not take --checkpoint"),
    (["rd", "--codecs", "jpeg", "--dataset", "EMPTYDIR", "--out", "OUT/rd"], "holds no images"),
    (["rd", "--codecs", "jpeg", "--dataset", "no-such-set", "--out", "OUT/rd"], "unknown dataset"),
    ([*RD, "--codecs", "no-such-codec"], "unknown codec"),
    ([*RD, "--codecs", "jpeg", "--metrics", "psnr-hsv"], "invalid choice: 'psnr-hsv'"),
    # report, train, task, the parser itself
    (["report", "RESULTS", "--published", "NOTJSON", "--out", "OUT/rep"], "is not JSON"),
    (["report", "RESULTS", "--published", "JSONLIST", "--out", "OUT/rep"], "must hold a JSON object"),
    (["report", "MISSING", "--out", "OUT/rep"], "not a finished `rd` results folder"),
    (["train", "--config", "MISSING", "--out", "OUT/t"], "training config (--config)"),
    (["train", "--config", "NOTJSON", "--out", "OUT/t"], "is not JSON"),
    (["train", "--config", "TRAINCFG", "--set", "steps=notjson", "--out", "OUT/t"], "expected KEY=JSON"),
    (["train", "--config", "TRAINCFG", "--set", "nokey", "--out", "OUT/t"], "expected KEY=JSON"),
    (["train", "--config", "TRAINCFG", "--set", "bogus=1", "--out", "OUT/t"], "unknown training config keys"),
    (["task", "--codec", "jpeg", "--limit", "0", "--results-dir", "OUT"], "must be at least 1"),
    (["task", "--codec", "jpeg", "--task-config", "NOTJSON", "--results-dir", "OUT"], "is not JSON"),
    (["task", "--codec", "jpeg", "--detector", "no-such", "--results-dir", "OUT"], "unknown detector 'no-such'"),
    (
        ["task", "--codec", "jpeg", "--codec", "ssic-tiny", "--qualities", "50", "--results-dir", "OUT"],
        "do not all fit",
    ),
    (["no-such-command"], "invalid choice: 'no-such-command'"),
    ([], "required: command"),
]


def run_cli(argv: list[str], capsys) -> tuple[int, str]:
    capsys.readouterr()
    try:
        status = main(argv)
    except SystemExit as exc:  # argparse
        status = exc.code
    return status, capsys.readouterr().err


def listing(folder: Path) -> list[str]:
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*"))


def assert_refused(argv: list[str], message: str, files: dict[str, Path], tmp_path: Path, capsys) -> None:
    """Run `argv` (placeholders: names of `files`, OUT/... in an empty folder) and assert the bad-input contract:
    exit 2, one line on stderr holding `message`, no traceback, nothing written anywhere."""
    out = tmp_path / "out"
    out.mkdir()
    inputs = files["IN"].parent
    before = listing(inputs)

    def resolve(arg: str) -> str:
        head, _, tail = arg.partition("/")
        base = out if head == "OUT" else files.get(head)
        return arg if base is None else str(base / tail if tail else base)

    status, err = run_cli([resolve(a) for a in argv], capsys)
    assert status == 2, err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in err, err
    assert message in lines[0]
    assert listing(out) == [] and listing(inputs) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]


@pytest.mark.parametrize("argv, message", CASES, ids=[" ".join(a)[:60] for a, _ in CASES])
def test_bad_input_is_one_line_exit_2_and_leaves_no_output(argv, message, inputs, tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path))  # no bpgenc
    monkeypatch.chdir(tmp_path)
    assert_refused(argv, message, inputs, tmp_path, capsys)


def test_there_are_at_least_40_cases():
    assert len(CASES) >= 40


def test_a_trusted_large_image_is_read_when_the_limit_is_raised(tmp_path, monkeypatch):
    from ssicbench.errors import ImageReadError
    from ssicbench.imageio import load_image

    path = tmp_path / "wide.png"
    Image.fromarray(smooth_image(64, 256)).save(path)
    monkeypatch.setenv("SSICBENCH_MAX_IMAGE_PIXELS", str(64 * 255))
    with pytest.raises(ImageReadError, match="64 = 16,384 pixels, over the limit of 16,320"):
        load_image(path)
    monkeypatch.setenv("SSICBENCH_MAX_IMAGE_PIXELS", str(64 * 256))
    assert load_image(path).shape == (64, 256, 3)


def test_missing_output_folder_is_created(inputs, tmp_path, capsys):
    target = tmp_path / "new" / "deeper" / "x.bin"
    assert run_cli(["compress", "--codec", "jpeg", str(inputs["IN"]), str(target)], capsys)[0] == 0
    assert run_cli(["decompress", str(target), str(tmp_path / "new2" / "x.png")], capsys)[0] == 0
    assert target.is_file() and (tmp_path / "new2" / "x.png").is_file()
    assert json.loads(json.dumps(listing(tmp_path)))  # nothing but what was asked for
    assert not [p for p in tmp_path.rglob("*.tmp")]
