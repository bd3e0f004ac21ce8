"""Our JPEG reproduces CompressAI's published JPEG curve on Kodak (the benchmark's anchor for classical codecs).

The published `jpeg.json` (Pillow 7.1.2) has 19 points, at Pillow qualities 5, 10, ..., 95. Our bpp is that
of the serialized container (the JPEG file plus ~80 header bytes), so it sits slightly above the file-only
figure at low rates; PSNR is per image on 8-bit RGB, then averaged, as in CompressAI's evaluation.
"""

from __future__ import annotations

import json

import numpy as np
import pytest

from ssicbench.codecs import create_codec
from ssicbench.imageio import load_image
from ssicbench.metrics import psnr

PUBLISHED_QUALITIES = list(range(5, 100, 5))
BPP_RELATIVE_TOLERANCE = 0.01
PSNR_TOLERANCE_DB = 0.2


@pytest.fixture(scope="module")
def published(published_dir) -> dict[str, list[float]]:
    results = json.loads((published_dir / "jpeg.json").read_text())["results"]
    assert len(results["bpp"]) == len(PUBLISHED_QUALITIES)
    return results


@pytest.fixture(scope="module")
def kodak(kodak_dir) -> list[np.ndarray]:
    paths = [kodak_dir / f"kodim{i:02d}.png" for i in range(1, 25)]
    missing = [p.name for p in paths if not p.is_file()]
    if missing:
        pytest.skip(f"Kodak images missing in {kodak_dir}: {missing}")
    return [load_image(p) for p in paths]


def test_jpeg_matches_published_kodak_curve(published, kodak, capsys):
    codec = create_codec("jpeg")
    rows = []
    for i, quality in enumerate(PUBLISHED_QUALITIES):
        bpps, payload_bpps, psnrs = [], [], []
        for image in kodak:
            bitstream = codec.encode(image, quality)
            bpps.append(bitstream.bpp())
            payload_bpps.append(8 * len(bitstream.section("image")) / bitstream.num_pixels)
            psnrs.append(psnr(image, codec.decode(bitstream)))
        rows.append(
            (
                quality,
                published["bpp"][i],
                np.mean(bpps),
                np.mean(payload_bpps),
                published["psnr-rgb"][i],
                np.mean(psnrs),
            )
        )

    with capsys.disabled():
        print("\nJPEG on Kodak (24 images): published jpeg.json vs ours")
        print(" q  | bpp pub | bpp ours (file only) |  diff  | PSNR pub | PSNR ours |  diff")
        for q, bpp_pub, bpp, bpp_file, psnr_pub, psnr_ours in rows:
            print(
                f"{q:3d} | {bpp_pub:7.4f} | {bpp:8.4f} ({bpp_file:7.4f}) | {100 * (bpp / bpp_pub - 1):+5.2f}% "
                f"| {psnr_pub:8.3f} | {psnr_ours:9.3f} | {psnr_ours - psnr_pub:+5.3f}"
            )

    for q, bpp_pub, bpp, _, psnr_pub, psnr_ours in rows:
        assert bpp == pytest.approx(bpp_pub, rel=BPP_RELATIVE_TOLERANCE), f"quality {q}"
        assert psnr_ours == pytest.approx(psnr_pub, abs=PSNR_TOLERANCE_DB), f"quality {q}"
