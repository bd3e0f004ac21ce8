"""Region metrics (bench/regions.py): PSNR and MSE inside the object groups, the background and the boundary band,
checked against values computed by hand, and carried by the rows of every codec that is given group masks."""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest
from conftest import smooth_image
from PIL import Image

from ssicbench.cli import main
from ssicbench.codecs import Bitstream, create_codec
from ssicbench.regions import boundary_band, pixel_groups, region_metrics


def test_pixel_groups_and_the_boundary_band_by_hand():
    mask = np.array([[1, 0], [0, 0]])  # 4-px cells: group 1 is the top-left 4x4 pixels of an 8x8 image
    groups = pixel_groups(mask, 4, 8, 8)
    assert (groups[:4, :4] == 1).all() and groups.sum() == 16
    band = boundary_band(groups, radius=1)  # 3x3 windows: within one pixel of the other group
    expected = np.zeros((8, 8), bool)
    expected[:5, :5] = True
    expected[:3, :3] = False  # deep inside group 1
    assert (band == expected).all() and band.sum() == 16


def test_region_psnr_and_mse_by_hand():
    image = np.full((8, 8, 3), 100, np.uint8)
    decoded = image.copy()
    decoded[:4, :4] += 2  # every object sample off by 2: MSE 4
    decoded[6:, 6:] += 10  # 4 background pixels off by 10 (of 48): MSE 100 * 4 / 48
    groups = pixel_groups(np.array([[1, 0], [0, 0]]), 4, 8, 8)
    got = region_metrics(image, decoded, groups, radius=1)
    assert got["mse_objects"] == 4.0 and got["psnr_objects"] == pytest.approx(10 * math.log10(255**2 / 4))
    assert got["mse_background"] == pytest.approx(100 * 4 / 48)
    # the band's 16 pixels: the object block's last row and column (7 pixels, off by 2) and 9 exact background ones
    band_object_pixels = 16 - 9  # the 4x4 object block minus its 3x3 interior
    band_mse = 4 * band_object_pixels / 16
    assert got["mse_boundary"] == pytest.approx(band_mse)
    assert got["psnr_boundary"] == pytest.approx(10 * math.log10(255**2 / band_mse))
    assert "region_error" not in got


def test_a_partial_decode_is_measured_only_where_it_decoded():
    image = smooth_image(8, 8)
    groups = pixel_groups(np.array([[1, 0], [0, 0]]), 4, 8, 8)
    got = region_metrics(image, image, groups, decoded_region=groups == 1, radius=1)
    assert got["psnr_objects"] == 100.0  # identical pixels: the PSNR cap
    assert math.isnan(got["psnr_background"]) and math.isnan(got["mse_background"])
    assert got["region_error"] == "background: none of it was decoded"
    assert got["psnr_boundary"] == 100.0  # the object side of the band


def test_a_mask_without_objects_gives_nan_and_a_reason_not_a_crash():
    image = smooth_image(8, 8)
    got = region_metrics(image, image, np.zeros((8, 8), np.int64), radius=1)
    assert math.isnan(got["psnr_objects"]) and math.isnan(got["psnr_boundary"]) and got["psnr_background"] == 100
    assert got["region_error"] == "objects: the mask has none; boundary: the mask has none"


def test_every_codec_given_masks_gets_region_columns_from_what_it_decoded(tmp_path):
    folder = tmp_path / "imgs"
    folder.mkdir()
    image = smooth_image(96, 128)
    Image.fromarray(image).save(folder / "a.png")
    masks = tmp_path / "masks"
    masks.mkdir()
    mask = np.zeros((6, 8), np.uint8)  # 16-px cells, as the SSIC masks
    mask[1:4, 2:5] = 1
    np.save(masks / "a.npy", mask)
    entry = {"qualities": [1], "masks": str(masks)}
    config = {
        "codecs": [
            {"name": "jpeg", "qualities": [50], "masks": str(masks)},  # a full-image codec: masks only measure
            {"name": "ssic-tiny", **entry},
            {"name": "ssic-tiny", **entry, "decode": "objects"},
        ],
        "dataset": str(folder),
        "metrics": ["psnr"],
        "quiet": True,
    }
    (tmp_path / "c.json").write_text(json.dumps(config))
    assert main(["rd", "--config", str(tmp_path / "c.json"), "--out", str(tmp_path / "run")]) == 0
    rows = pd.read_csv(tmp_path / "run" / "rows.csv").set_index("codec")
    jpeg = create_codec("jpeg")
    decoded = jpeg.decode(Bitstream.from_bytes(jpeg.encode(image, 50).to_bytes()))
    expected = region_metrics(image, decoded, pixel_groups(mask, 16, 96, 128))
    for key in ("psnr_objects", "psnr_background", "psnr_boundary", "mse_objects"):
        assert rows.loc["jpeg", key] == pytest.approx(expected[key])
    objects_only = rows.loc["ssic-tiny (objects only)"]
    full = rows.loc["ssic-tiny"]  # group independence: the object pixels decode alike with or without the rest
    assert objects_only["psnr_objects"] == pytest.approx(full["psnr_objects"], abs=1e-9)
    assert objects_only["bpp"] < objects_only["bpp_whole"] == full["bpp"]
    assert math.isnan(objects_only["psnr_background"]) and "background: none of it" in objects_only["region_error"]
    assert rows.loc["ssic-tiny", "psnr_background"] > 0  # the full decode: every region
    assert not (tmp_path / "run" / "containers").exists() or all(
        "jpeg" not in p.name for p in (tmp_path / "run" / "containers").iterdir()
    )


def test_rd_measures_each_decode_of_a_structured_codec_and_the_crop_baseline_on_the_pixels_it_decoded(tmp_path):
    """By hand, on a 96x128 image with 32-px cells: group 1 = the cells (1, 1..2), group 3 = the cell (0, 3)."""
    from test_structured_codec import FAKE

    from ssicbench.codec_spec import CodecSpec
    from ssicbench.datasets import folder_dataset
    from ssicbench.sweep import run_sweep
    from ssicbench.transmission import CROP_POSITION_BYTES

    folder, masks = tmp_path / "imgs", tmp_path / "masks"
    folder.mkdir(), masks.mkdir()
    image = smooth_image(96, 128)
    Image.fromarray(image).save(folder / "a.png")
    mask = np.zeros((3, 4), np.uint8)
    mask[1, 1:3], mask[0, 3] = 1, 3
    np.save(masks / "a.npy", mask)
    decodes = ("all", "objects", "background", "groups:3", "full")
    specs = [CodecSpec(FAKE, (50,), masks=str(masks), decode=d) for d in decodes]
    specs.append(CodecSpec("jpeg", (50,), masks=str(masks), decode="bbox-crops"))
    rows = run_sweep(
        specs, "synthetic", folder_dataset(folder), tmp_path / "out", metric_names=["psnr"], progress=False
    )
    rows = {r["codec"]: r for r in rows}
    assert all(r["status"] == "ok" for r in rows.values()), rows

    one, three = np.zeros((96, 128), bool), np.zeros((96, 128), bool)
    one[32:64, 32:96], three[0:32, 96:128] = True, True
    band = np.zeros((96, 128), bool)  # within 4 px of another group; the image's edges are no boundary
    band[28:68, 28:100], band[0:36, 92:128] = True, True
    band[36:60, 36:92], band[0:28, 100:128] = False, False

    def psnr_on(decoded, pixels):
        mse = ((image.astype(float) - decoded) ** 2)[pixels].mean()
        return 10 * math.log10(255**2 / mse)

    codec = create_codec(FAKE)
    coded = codec.encode(image, 50, mask=mask)
    total = len(coded.to_bytes())
    for name, groups, region in (
        (f"{FAKE} (objects only)", [1, 3], one | three),
        (f"{FAKE} (background)", [0], ~(one | three)),
        (f"{FAKE} (groups:3)", [3], three),
    ):
        received = codec.receive(coded, groups)
        decoded = codec.decode(Bitstream.from_bytes(received.to_bytes()))
        row = rows[name]
        assert row["bytes"] == len(received.to_bytes()) < total and row["bpp_whole"] == 8 * total / (96 * 128)
        assert row["region_fraction"] == pytest.approx(region.mean())
        for key, pixels in (
            ("psnr_objects", one | three),
            ("psnr_background", ~(one | three)),
            ("psnr_boundary", band),
        ):
            if (pixels & region).any():
                assert row[key] == pytest.approx(psnr_on(decoded, pixels & region)), (name, key)
            else:
                assert math.isnan(row[key]) and "none of it was decoded" in row["region_error"]
    whole = rows[FAKE]
    assert whole["bytes"] == total and "bpp_whole" not in whole
    assert json.loads(whole["group_bytes"]).keys() == {"0", "1", "3"}
    assert json.loads(whole["group_pixels"]) == {"0": 96 * 128 - 3 * 32 * 32, "1": 2 * 32 * 32, "3": 32 * 32}
    assert rows[f"{FAKE} (one group)"]["bytes"] == len(codec.encode(image, 50).to_bytes())

    jpeg = create_codec("jpeg")
    crops = rows["jpeg (bbox-crops)"]
    canvas = np.full_like(image, 128)
    size = 0
    for y0, y1, x0, x1 in ((32, 64, 32, 96), (0, 32, 96, 128)):
        data = jpeg.encode(np.ascontiguousarray(image[y0:y1, x0:x1]), 50).to_bytes()
        canvas[y0:y1, x0:x1] = jpeg.decode(Bitstream.from_bytes(data))
        size += len(data) + CROP_POSITION_BYTES
    assert crops["bytes"] == size and crops["psnr_objects"] == pytest.approx(psnr_on(canvas, one | three))
    assert crops["psnr_boundary"] == pytest.approx(psnr_on(canvas, band & (one | three)))
    assert math.isnan(crops["psnr_background"])
