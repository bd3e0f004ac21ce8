"""The RD sweep: rows from real bytes, failures recorded, resumable after SIGKILL, parallel = serial."""

import json
import os
import signal
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from conftest import REPO, smooth_image, start_until_rows
from PIL import Image

from ssicbench.codec_spec import CodecSpec
from ssicbench.codecs import create_codec
from ssicbench.datasets import folder_dataset
from ssicbench.errors import BenchError
from ssicbench.imageio import load_image
from ssicbench.results import rows_frame
from ssicbench.sweep import run_sweep

TIMING = ["encode_s", "decode_s"]
JPEG = CodecSpec("jpeg", (20, 80))


def comparable(rows) -> pd.DataFrame:
    """Rows without wall-clock columns, in a fixed order."""
    return rows_frame(rows).drop(columns=TIMING).sort_values("key").reset_index(drop=True)


def test_rows_report_the_bytes_a_receiver_gets(image_folder, tmp_path):
    rows = run_sweep(
        [JPEG], "imgs", folder_dataset(image_folder), tmp_path / "out", metric_names=["psnr"], progress=False
    )
    assert len(rows) == 2 * 4 and all(r["status"] == "ok" for r in rows)
    codec = create_codec("jpeg")
    for row in rows:
        image = load_image(image_folder / row["image"])
        data = codec.encode(image, row["quality"]).to_bytes()
        assert row["bytes"] == len(data)
        assert row["bpp"] == 8 * len(data) / (image.shape[0] * image.shape[1])
    by_quality = pd.DataFrame(rows).groupby("quality")[["bpp", "psnr"]].mean()
    assert (
        by_quality.loc[80, "bpp"] > by_quality.loc[20, "bpp"]
        and by_quality.loc[80, "psnr"] > by_quality.loc[20, "psnr"]
    )


def test_a_bad_image_is_recorded_and_the_sweep_goes_on(image_folder, tmp_path):
    (image_folder / "broken.png").write_bytes(b"not a png")
    rows = run_sweep(
        [JPEG], "imgs", folder_dataset(image_folder), tmp_path / "out", metric_names=["psnr"], progress=False
    )
    failed = [r for r in rows if r["status"] == "error"]
    assert len(failed) == 2 and all("broken.png" in r["error"] for r in failed)
    assert sum(r["status"] == "ok" for r in rows) == 8


def test_resume_never_redoes_a_finished_row(image_folder, tmp_path):
    images = folder_dataset(image_folder)
    run_sweep([CodecSpec("jpeg", (20,))], "imgs", images, tmp_path / "out", metric_names=["psnr"], progress=False)
    rows_dir = tmp_path / "out" / "rows"
    before = {p.name: p.stat().st_mtime_ns for p in rows_dir.glob("*.json")}
    rows = run_sweep([JPEG], "imgs", images, tmp_path / "out", metric_names=["psnr"], progress=False)
    after = {p.name: p.stat().st_mtime_ns for p in rows_dir.glob("*.json")}
    assert len(rows) == 8 and len(after) == 8
    assert all(after[name] == mtime for name, mtime in before.items())


def test_two_workers_give_the_same_rows_as_one(image_folder, tmp_path):
    images = folder_dataset(image_folder)
    serial = run_sweep([JPEG], "imgs", images, tmp_path / "a", metric_names=["psnr"], progress=False)
    parallel = run_sweep([JPEG], "imgs", images, tmp_path / "b", n_jobs=2, metric_names=["psnr"], progress=False)
    pd.testing.assert_frame_equal(comparable(serial), comparable(parallel))


def _sweep_cmd(folder: Path, out: Path) -> list[str]:
    return [
        sys.executable,
        str(REPO / "run_bench.py"),
        "rd",
        "--codecs",
        "jpeg",
        "--qualities",
        *map(str, range(10, 96, 5)),
        "--dataset",
        str(folder),
        "--out",
        str(out),
        "--metrics",
        "psnr",
        "--quiet",
    ]


def test_sigkill_mid_sweep_then_resume_equals_uninterrupted_run(tmp_path):
    folder = tmp_path / "images"
    folder.mkdir()
    for i in range(12):
        Image.fromarray(smooth_image(256, 384, seed=i)).save(folder / f"img{i:02d}.png")
    total = 18 * 12

    reference = tmp_path / "reference"
    subprocess.run(_sweep_cmd(folder, reference), check=True, capture_output=True)

    killed = tmp_path / "killed"
    rows_dir = killed / "rows"
    proc = start_until_rows(_sweep_cmd(folder, killed), rows_dir, 10, timeout=120)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    done_at_kill = len(list(rows_dir.glob("*.json")))
    assert 10 <= done_at_kill < total, "the kill must land mid-sweep"
    for path in rows_dir.glob("*.json"):
        json.loads(path.read_text())  # every stored row is complete

    subprocess.run(_sweep_cmd(folder, killed), check=True, capture_output=True)

    def load(folder: Path) -> pd.DataFrame:
        return comparable(json.loads(p.read_text()) for p in (folder / "rows").glob("*.json"))

    pd.testing.assert_frame_equal(load(reference), load(killed))
    assert not list(rows_dir.glob("*.tmp"))


def test_object_only_decoding_counts_the_received_sections_and_measures_psnr_in_the_objects(kodak_dir, tmp_path):
    """The paper's Kodak masks: the receiver of the object groups gets `side` + those groups' sections only."""
    from ssicbench.codecs import Bitstream
    from ssicbench.codecs.masks import load_group_mask
    from ssicbench.datasets import ImageItem, shipped_kodak_masks
    from ssicbench.metrics import psnr

    image_item = ImageItem("kodim05.png", kodak_dir / "kodim05.png")
    full, objects = CodecSpec("ssic-tiny", masks="kodak"), CodecSpec("ssic-tiny", masks="kodak", decode="objects")
    specs = [CodecSpec.from_config(vars(s) | {"qualities": []}) for s in (full, objects)]
    assert specs[0].qualities == tuple(create_codec("ssic-tiny").qualities)  # rate points from the registry
    specs = [replace(s, qualities=s.qualities[:1]) for s in specs]
    rows = {
        r["codec"]: r for r in run_sweep(specs, "kodak", [image_item], tmp_path, metric_names=["psnr"], progress=False)
    }
    whole, part = rows["ssic-tiny"], rows["ssic-tiny (objects only)"]
    assert whole["status"] == part["status"] == "ok"
    assert len(list((tmp_path / "containers").glob("*.ssbc"))) == 1  # both decoding modes share one encode
    assert part["encode_s"] == whole["encode_s"]

    image = load_image(image_item.path)
    codec = create_codec("ssic-tiny")
    mask = load_group_mask(shipped_kodak_masks() / "kodim05.png", codec.mask_shape(*image.shape[:2]))
    bitstream = codec.encode(image, specs[0].qualities[0], mask=mask)
    sent = [n for n in bitstream.sections if n == "side" or (n.startswith("group/") and n != "group/0")]
    received = bitstream.subset(sent).to_bytes()
    assert whole["bytes"] == len(bitstream.to_bytes()) and part["bytes"] == len(received) < whole["bytes"]
    assert part["bpp_whole"] == whole["bpp"]
    region = np.kron(mask != 0, np.ones((16, 16), bool))[: image.shape[0], : image.shape[1]]
    assert part["region_fraction"] == pytest.approx(region.mean())
    decoded = codec.decode(Bitstream.from_bytes(received))
    assert part["psnr_objects"] == pytest.approx(psnr(image[region], decoded[region]))
    assert "psnr" not in part and "ms_ssim" not in part  # whole-image metrics mean nothing for a partial image


def test_new_weights_under_the_same_path_are_coded_anew_not_decoded_from_the_old_container(kodak_dir, tmp_path):
    from ssicbench.codecs.ssic.bundled import TINY_CONFIG, TINY_WEIGHTS

    checkpoint = tmp_path / "ssic.pth"
    spec = CodecSpec("ssic-charm", (1,), {"checkpoint": str(checkpoint), "config": str(TINY_CONFIG)}, masks="kodak")
    image = folder_dataset(kodak_dir)[4:5]
    rows = []
    for weights in (TINY_WEIGHTS[1], TINY_WEIGHTS[2]):  # retrained weights, same file name: a user's next run
        checkpoint.write_bytes(weights.read_bytes())
        (row,) = run_sweep([spec], "kodak", image, tmp_path / "out", metric_names=["psnr"], progress=False)
        rows.append(row)
    assert [r["status"] for r in rows] == ["ok", "ok"] and rows[0]["bytes"] != rows[1]["bytes"]
    assert len(list((tmp_path / "out" / "containers").glob("*.ssbc"))) == 2


def test_masks_on_a_codec_without_groups_measure_regions_and_objects_only_needs_groups(image_folder, tmp_path):
    with pytest.raises(BenchError, match="needs group masks"):
        CodecSpec("ssic-tiny", (1,), decode="objects")
    (tmp_path / "masks").mkdir()
    for i in range(4):
        np.save(tmp_path / "masks" / f"img{i}.npy", np.ones(((96 + 16 * i) // 16, 8), np.uint8))
    specs = [
        CodecSpec("jpeg", (50,), masks=str(tmp_path / "masks")),  # coded whole, measured per region
        CodecSpec("jpeg", (50,), masks=str(tmp_path / "masks"), decode="objects", label="jpeg objects"),
    ]
    rows = run_sweep(
        specs, "imgs", folder_dataset(image_folder), tmp_path / "out", metric_names=["psnr"], progress=False
    )
    full = [r for r in rows if r["codec"] == "jpeg"]
    assert {r["status"] for r in full} == {"ok"} and all(r["psnr_objects"] > 20 for r in full)
    partial = [r for r in rows if r["codec"] == "jpeg objects"]
    assert {r["status"] for r in partial} == {"error"} and "needs a structured codec" in partial[0]["error"]
