"""Random argument lists and random bytes as inputs to `compress`, `decompress` and `rd`: every run ends in
exit status 0, 1 (rd rows failed) or 2 (bad input, one line on stderr), never in a traceback or a hang."""

from __future__ import annotations

import contextlib
import io
import os
import tempfile
from datetime import timedelta
from pathlib import Path

import numpy as np
from conftest import smooth_image
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

from ssicbench.cli import main

SETTINGS = settings(
    max_examples=110, deadline=timedelta(seconds=60), suppress_health_check=[HealthCheck.too_slow], derandomize=True
)
WORDS = st.sampled_from(
    ["jpeg", "webp", "ssic-tiny", "nope", "0", "1", "50", "-5", "150", "abc", "1e9", "nan", "all", "x=1", "", "-"]
)
FLAGS = st.sampled_from(
    ["--codec", "--quality", "--option", "--checkpoint", "--weights", "--device", "--mask", "--groups", "--help"]
)


@contextlib.contextmanager
def workdir():
    """A fresh folder holding a good image, a container, a good image folder; the test runs inside it."""
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        Image.fromarray(smooth_image(32, 48)).save(folder / "good.png")
        (folder / "set").mkdir()
        Image.fromarray(smooth_image(24, 24, seed=1)).save(folder / "set" / "a.png")
        (folder / "bad").mkdir()
        (folder / "bad" / "a.png").write_bytes(b"\x89PNG not really")
        with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
            main(["compress", "--codec", "jpeg", "--quality", "40", str(folder / "good.png"), str(folder / "good.bin")])
        cwd = os.getcwd()
        os.chdir(folder)
        try:
            yield folder
        finally:
            os.chdir(cwd)


def run(argv: list[str]) -> tuple[int, str]:
    err = io.StringIO()
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(err):
        try:
            status = main(argv)
        except SystemExit as exc:
            status = exc.code
    return status, err.getvalue()


def check(status: int, err: str) -> None:
    assert "Traceback" not in err
    assert status in (0, 1, 2), (status, err)
    if status == 2:
        assert len(err.strip().splitlines()) == 1, err


def mutate(data: bytes, flips: list[tuple[int, int]], cut: int | None) -> bytes:
    raw = bytearray(data)
    for position, value in flips:
        if raw:
            raw[position % len(raw)] = value
    return bytes(raw[:cut] if cut is not None else raw)


@SETTINGS
@given(
    payload=st.one_of(st.binary(max_size=300), st.just(None)),
    flips=st.lists(st.tuples(st.integers(0, 10_000), st.integers(0, 255)), max_size=4),
    cut=st.one_of(st.none(), st.integers(0, 400)),
    extra=st.lists(st.one_of(FLAGS, WORDS), max_size=6),
)
def test_compress_random_bytes_and_arguments(payload, flips, cut, extra):
    with workdir() as folder:
        source = folder / "in.png"
        good = (folder / "good.png").read_bytes()
        source.write_bytes(payload if payload is not None else mutate(good, flips, cut))
        check(*run(["compress", *extra, "--codec", "jpeg", str(source), "out/x.bin"]))
        check(*run(["compress", *extra, str(source), "out/y.bin"]))


@SETTINGS
@given(
    flips=st.lists(st.tuples(st.integers(0, 10_000), st.integers(0, 255)), max_size=3),
    cut=st.one_of(st.none(), st.integers(0, 2000)),
    random_bytes=st.one_of(st.none(), st.binary(max_size=200)),
    output=st.sampled_from(["o.png", "o.bmp", "o.bin", "o", "out/o.ppm", ".", "good.bin/o.png"]),
    extra=st.lists(st.one_of(FLAGS, WORDS), max_size=5),
)
def test_decompress_random_containers_and_arguments(flips, cut, random_bytes, output, extra):
    with workdir() as folder:
        data = (folder / "good.bin").read_bytes()
        (folder / "in.bin").write_bytes(random_bytes if random_bytes is not None else mutate(data, flips, cut))
        check(*run(["decompress", "in.bin", output, *extra]))


RD_FLAGS = st.sampled_from(
    ["--codecs", "--qualities", "--limit", "--jobs", "--metrics", "--dataset", "--config", "--anchor", "--option"]
)
RD_WORDS = st.sampled_from(
    ["jpeg", "ssic-tiny", "nope", "set", "bad", "good.png", "psnr", "0", "1", "30", "150", "-2", "abc", "x=y"]
)


@SETTINGS
@given(
    extra=st.lists(st.one_of(RD_FLAGS, RD_WORDS), max_size=7),
    image_bytes=st.one_of(st.none(), st.binary(max_size=120)),
    dataset=st.sampled_from(["set", "bad"]),
)
def test_rd_random_arguments_and_image_bytes(extra, image_bytes, dataset):
    with workdir() as folder:
        if image_bytes is not None:
            (folder / dataset / "b.png").write_bytes(image_bytes)
        base = ["rd", "--codecs", "jpeg", "--qualities", "30", "--metrics", "psnr", "--dataset", dataset]
        check(*run([*base, "--out", "res", "--quiet", *extra]))


def test_fuzz_runs_at_least_300_examples():
    assert 3 * SETTINGS.max_examples >= 300


def test_random_masks_never_crash_compress(tmp_path):
    """Masks of random ids and shapes (near the right one) are used or refused in one line."""
    rng = np.random.default_rng(0)
    Image.fromarray(smooth_image(48, 64)).save(tmp_path / "in.png")
    for i in range(12):
        shape = (3 + rng.integers(-1, 2), 4 + rng.integers(-1, 2))
        np.save(tmp_path / "m.npy", rng.integers(-2, 300, shape) if i % 2 else rng.integers(0, 3, shape))
        argv = ["compress", "--codec", "ssic-tiny", "--mask", str(tmp_path / "m.npy"), str(tmp_path / "in.png")]
        check(*run([*argv, str(tmp_path / f"o{i}.bin")]))
