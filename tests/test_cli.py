"""The command line: containers decode without naming the codec; bad input is one line on stderr, exit 2."""

import numpy as np
import pytest
from conftest import smooth_image
from PIL import Image

from ssicbench.cli import main


@pytest.fixture
def png(tmp_path):
    path = tmp_path / "in.png"
    Image.fromarray(smooth_image(96, 128)).save(path)
    return path


def test_compress_then_decompress_reads_the_codec_from_the_container(png, tmp_path, capsys):
    assert main(["compress", "--codec", "jpeg", "--quality", "60", str(png), str(tmp_path / "x.bin")]) == 0
    assert main(["decompress", str(tmp_path / "x.bin"), str(tmp_path / "out.png")]) == 0
    out = np.asarray(Image.open(tmp_path / "out.png"))
    assert out.shape == (96, 128, 3)
    assert "decoded jpeg" in capsys.readouterr().out


def test_partial_decode_of_the_bundled_ssic(png, tmp_path, capsys):
    mask = np.zeros((6, 8), np.uint8)
    mask[:4, :4] = 1
    np.save(tmp_path / "mask.npy", mask)
    assert (
        main(
            [
                "compress",
                "--codec",
                "ssic-tiny",
                "--mask",
                str(tmp_path / "mask.npy"),
                str(png),
                str(tmp_path / "s.bin"),
            ]
        )
        == 0
    )
    assert main(["decompress", str(tmp_path / "s.bin"), str(tmp_path / "all.png")]) == 0
    assert main(["decompress", str(tmp_path / "s.bin"), str(tmp_path / "one.png"), "--groups", "1"]) == 0
    lines = capsys.readouterr().out.splitlines()
    full_bytes, part_bytes = (int(line.split(", ")[1].split()[0]) for line in lines[-2:])
    assert part_bytes < full_bytes
