"""Sweeps that meet damage or changed inputs: a damaged results folder is repaired (quarantined rows recomputed,
equal to a fresh run's), changed masks, labels or images are never answered from an old row, labels never write
outside the results folder, the report shows exactly this run's curves, odd image files are converted by the
stated rules, and a killed driver takes its workers with it."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from conftest import REPO, smooth_image, start_until_rows
from PIL import Image

from ssicbench.cli import main
from ssicbench.imageio import load_image

TIMING = ["encode_s", "decode_s"]


def images(folder: Path, count: int = 2, size: tuple[int, int] = (64, 96)) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for i in range(count):
        Image.fromarray(smooth_image(*size, seed=i)).save(folder / f"img{i}.png")
    return folder


def rd(folder: Path, out: Path, *extra: str, codecs: tuple[str, ...] | list[str] = ("jpeg",)) -> int:
    argv = ["rd", "--codec", *codecs, "--dataset", str(folder), "--out", str(out), "--metrics", "psnr", "--quiet"]
    return main([*argv, *extra])


def rows(out: Path) -> pd.DataFrame:
    frame = pd.DataFrame(json.loads(p.read_text()) for p in sorted((out / "rows").glob("*.json")))
    return frame.drop(columns=TIMING).sort_values("key").reset_index(drop=True)


# --- a damaged results folder ---------------------------------------------------------------------------------

DAMAGE = {
    "truncated": lambda data: data[: len(data) // 2],
    "empty": lambda data: b"",
    "garbage": lambda data: bytes(range(256)),
    "a list": lambda data: b"[1, 2, 3]",
    "no key": lambda data: json.dumps({"status": "ok", "psnr": 99.0}).encode(),
    "another job's row": lambda data: json.dumps({**json.loads(data), "key": "someone else"}).encode(),
    "not UTF-8": lambda data: b"\xff\xfe" + data,
}


@pytest.mark.parametrize("damage", DAMAGE, ids=list(DAMAGE))
def test_damaged_row_files_are_quarantined_and_recomputed_equal_to_a_fresh_run(damage, tmp_path, caplog):
    folder = images(tmp_path / "imgs")
    assert rd(folder, tmp_path / "fresh", "--qualities", "30", "70") == 0
    assert rd(folder, tmp_path / "run", "--qualities", "30", "70") == 0
    victims = sorted((tmp_path / "run" / "rows").glob("*.json"))[:2]
    for path in victims:
        path.write_bytes(DAMAGE[damage](path.read_bytes()))
    assert rd(folder, tmp_path / "run", "--qualities", "30", "70") == 0
    assert "damaged row file" in caplog.text
    pd.testing.assert_frame_equal(rows(tmp_path / "run"), rows(tmp_path / "fresh"))
    assert sorted(p.name for p in (tmp_path / "run" / "rows" / "quarantine").iterdir()) == [p.name for p in victims]


def test_a_damaged_shared_container_is_coded_anew(kodak_dir, tmp_path):
    folder = tmp_path / "imgs"
    folder.mkdir()
    (folder / "kodim05.png").write_bytes((kodak_dir / "kodim05.png").read_bytes())
    config = {
        "codecs": [
            {"name": "ssic-tiny", "qualities": [1], "masks": "kodak"},
            {"name": "ssic-tiny", "qualities": [1], "masks": "kodak", "decode": "objects"},
        ],
        "dataset": str(folder),
        "metrics": ["psnr"],
        "quiet": True,
    }
    (tmp_path / "c.json").write_text(json.dumps(config))
    assert main(["rd", "--config", str(tmp_path / "c.json"), "--out", str(tmp_path / "fresh")]) == 0
    run = tmp_path / "run"
    assert main(["rd", "--config", str(tmp_path / "c.json"), "--out", str(run)]) == 0
    (container,) = (run / "containers").glob("*.ssbc")
    container.write_bytes(container.read_bytes()[:100])  # truncated, as by a full disk
    for row in (run / "rows").glob("*.json"):
        row.unlink()
    assert main(["rd", "--config", str(tmp_path / "c.json"), "--out", str(run)]) == 0
    pd.testing.assert_frame_equal(rows(run), rows(tmp_path / "fresh"))


# --- changed inputs are never answered from an old row ----------------------------------------------------------


def test_changed_group_masks_are_coded_anew_equal_to_a_fresh_run(kodak_dir, tmp_path):
    folder = tmp_path / "imgs"
    folder.mkdir()
    (folder / "kodim05.png").write_bytes((kodak_dir / "kodim05.png").read_bytes())
    masks = tmp_path / "masks"
    masks.mkdir()
    first = np.zeros((32, 48), np.uint8)
    first[8:16, 8:24] = 1
    np.save(masks / "kodim05.npy", first)
    entry = {"name": "ssic-tiny", "qualities": [1], "masks": str(masks)}
    config = {"codecs": [entry, {**entry, "decode": "objects"}], "dataset": str(folder), "metrics": ["psnr"]}
    (tmp_path / "c.json").write_text(json.dumps({**config, "quiet": True}))
    run = tmp_path / "run"
    assert main(["rd", "--config", str(tmp_path / "c.json"), "--out", str(run)]) == 0
    before = rows(run)
    second = first.copy()
    second[20:28, 30:40] = 2  # another object group: more bytes received, another region
    np.save(masks / "kodim05.npy", second)
    assert main(["rd", "--config", str(tmp_path / "c.json"), "--out", str(run)]) == 0
    assert main(["rd", "--config", str(tmp_path / "c.json"), "--out", str(tmp_path / "fresh")]) == 0
    now = rows(run)[lambda f: f["key"].isin(rows(tmp_path / "fresh")["key"])].reset_index(drop=True)
    pd.testing.assert_frame_equal(now, rows(tmp_path / "fresh"))
    objects = lambda frame: frame[frame["codec"].str.contains("objects")].iloc[0]  # noqa: E731
    assert objects(now)["bytes"] > objects(before)["bytes"]


def test_changed_labels_give_new_task_rows(tmp_path):
    from ssicbench.datasets import EMBEDDED_ANNOTATIONS
    from ssicbench.tasks.coco_data import load_task_dataset

    dataset = load_task_dataset("embedded", limit=1)
    gt = json.loads((REPO / "bench" / "data" / EMBEDDED_ANNOTATIONS).read_text())
    image = next(i for i in gt["images"] if i["id"] == dataset.image_ids()[0])
    gt = {**gt, "images": [image], "annotations": [a for a in gt["annotations"] if a["image_id"] == image["id"]]}
    labels = tmp_path / "labels.json"
    labels.write_text(json.dumps(gt))
    argv = [
        "task",
        "--codec",
        "jpeg",
        "--qualities",
        "50",
        "--scenario",
        "full",
        "--dataset",
        "coco",
        "--images",
        str(dataset.images_dir),
        "--annotations",
        str(labels),
        "--out",
        str(tmp_path / "t"),
        "--quiet",
    ]
    assert main(argv) == 0
    first = {json.loads(p.read_text())["key"] for p in (tmp_path / "t" / "task_rows").glob("*.json")}
    box = gt["annotations"][0]["bbox"]
    gt["annotations"][0]["bbox"] = [box[0] + 8, *box[1:]]  # a label moved: ground truth and group masks differ
    labels.write_text(json.dumps(gt))
    assert main(argv) == 0
    second = {json.loads(p.read_text())["key"] for p in (tmp_path / "t" / "task_rows").glob("*.json")}
    assert len(second - first) == len(first)  # every job of the run was computed anew
    fresh = [*argv[:-2], str(tmp_path / "fresh"), "--quiet"]
    assert main(fresh) == 0

    def task_rows(out: Path, keys: set[str]) -> pd.DataFrame:
        found = [json.loads(p.read_text()) for p in (out / "task_rows").glob("*.json")]
        frame = pd.DataFrame([r for r in found if r["key"] in keys]).sort_values("key").reset_index(drop=True)
        return frame.drop(columns=["encode_s", "decode_s", "detect_s"])

    pd.testing.assert_frame_equal(task_rows(tmp_path / "t", second - first), task_rows(tmp_path / "fresh", second))


# --- what the suite writes stays inside its folder and matches this run ---------------------------------------------


@pytest.mark.parametrize("label", ["../escaped", "a/b", ".hidden", "x" * 300])
def test_labels_never_write_outside_the_results_folder(label, tmp_path):
    folder = images(tmp_path / "imgs", 1)
    config = {
        "codecs": [{"name": "jpeg", "qualities": [30, 70], "label": label}],
        "dataset": str(folder),
        "metrics": ["psnr"],
        "quiet": True,
    }
    (tmp_path / "c.json").write_text(json.dumps(config))
    out = tmp_path / "results" / "run"
    assert main(["rd", "--config", str(tmp_path / "c.json"), "--out", str(out)]) == 0
    outside = [p for p in tmp_path.rglob("*") if not p.is_relative_to(out) and not p.is_relative_to(folder)]
    assert sorted(p.name for p in outside) == ["c.json", "results"]
    (curve,) = (out / "compressai").glob("*.json")
    assert json.loads(curve.read_text())["name"] == label


def test_report_after_a_narrower_rerun_shows_only_this_runs_curves(tmp_path):
    folder = images(tmp_path / "imgs", 1)
    out = tmp_path / "run"
    for codecs, curves in ((["jpeg"], ["jpeg"]), (["jpeg", "webp"], ["jpeg", "webp"]), (["webp"], ["webp"])):
        assert rd(folder, out, "--qualities", "30", "70", codecs=codecs) == 0
        assert sorted(p.stem for p in (out / "compressai").glob("*.json")) == curves
    assert set(pd.read_csv(out / "summary.csv")["codec"]) == {"webp"}


def test_a_flat_image_gets_the_psnr_cap_and_its_curve_reports(tmp_path):
    folder = tmp_path / "imgs"
    folder.mkdir()
    Image.fromarray(np.full((64, 64, 3), 128, np.uint8)).save(folder / "flat.png")  # JPEG codes it exactly
    for _ in range(2):  # the rerun reads the curve files the first run wrote
        assert rd(folder, tmp_path / "run", "--qualities", "90", "95") == 0
    assert set(rows(tmp_path / "run")["psnr"]) == {100.0}
    assert main(["report", str(tmp_path / "run"), "--out", str(tmp_path / "rep")]) == 0


def test_an_image_that_is_a_named_pipe_is_an_error_row_not_a_hang(tmp_path, capsys):
    folder = images(tmp_path / "imgs", 1)
    os.mkfifo(folder / "pipe.png")
    assert rd(folder, tmp_path / "run", "--qualities", "30") == 1
    frame = rows(tmp_path / "run").set_index("image")
    assert frame.loc["img0.png", "status"] == "ok"
    assert "it is a named pipe, not a regular file" in frame.loc["pipe.png", "error"]


def test_non_utf8_file_names_are_coded_and_reported(tmp_path):
    folder = images(tmp_path / "imgs", 1)
    name = os.fsdecode(b"caf\xe9.png")  # Latin-1 bytes: not UTF-8
    os.rename(folder / "img0.png", folder / name)
    assert rd(folder, tmp_path / "run", "--qualities", "30") == 0
    assert main(["compress", "--codec", "jpeg", str(folder / name), str(tmp_path / os.fsdecode(b"\xe9.bin"))]) == 0


# --- images: the conversion rules of the README --------------------------------------------------------------


def test_16_bit_images_are_scaled_not_truncated(tmp_path):
    import imagecodecs

    rgb = (np.arange(4 * 6 * 3).reshape(4, 6, 3) * 900 + 200).astype(np.uint16)
    (tmp_path / "rgb16.png").write_bytes(imagecodecs.png_encode(rgb))
    expected = np.round(rgb.astype(np.float64) * 255 / 65535).astype(np.uint8)
    np.testing.assert_array_equal(load_image(tmp_path / "rgb16.png"), expected)
    grey = np.full((4, 6), 200, np.uint16)  # a dark 16-bit image: 200 of 65535, not 200 of 255
    (tmp_path / "grey16.png").write_bytes(imagecodecs.png_encode(grey))
    assert (load_image(tmp_path / "grey16.png") == 1).all()


def test_palette_alpha_and_exif_rotation_are_converted(tmp_path):
    image = smooth_image(32, 48)
    quantized = Image.fromarray(image).quantize(16)
    quantized.save(tmp_path / "palette.png")
    np.testing.assert_array_equal(load_image(tmp_path / "palette.png"), np.asarray(quantized.convert("RGB")))
    rgba = np.dstack([image, np.full((32, 48), 0, np.uint8)])  # fully transparent: white
    Image.fromarray(rgba).save(tmp_path / "rgba.png")
    assert (load_image(tmp_path / "rgba.png") == 255).all()
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90 degrees clockwise to display
    Image.fromarray(image).save(tmp_path / "rotated.jpg", exif=exif, quality=95)
    assert load_image(tmp_path / "rotated.jpg").shape == (48, 32, 3)


# --- a killed driver leaves no worker ---------------------------------------------------------------------------


def children(pid: int) -> list[int]:
    """The pids whose parent is `pid` (from /proc)."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rpartition(")")[2].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            found.append(int(stat.parent.name))
    return found


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()[0]
    except OSError:
        return False
    return state != "Z"


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="parent-death signal is Linux's")
@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGTERM], ids=["SIGKILL", "SIGTERM"])
def test_killing_rd_jobs_2_leaves_no_worker_alive_within_5_s(sig, tmp_path):
    folder = images(tmp_path / "imgs", 8, (256, 256))
    cmd = [
        sys.executable,
        str(REPO / "run_bench.py"),
        "rd",
        "--codec",
        "jpeg",
        "--qualities",
        *map(str, range(5, 96, 5)),
        "--dataset",
        str(folder),
        "--out",
        str(tmp_path / "run"),
        "--jobs",
        "2",
        "--metrics",
        "psnr",
        "--quiet",
    ]
    proc = start_until_rows(cmd, tmp_path / "run" / "rows", 4, timeout=120)
    workers = children(proc.pid)
    assert len(workers) >= 2, "the kill must land while the pool runs"
    os.kill(proc.pid, sig)
    proc.wait()
    deadline = time.time() + 5
    while time.time() < deadline and any(alive(w) for w in workers):
        time.sleep(0.05)
    assert not [w for w in workers if alive(w)]
    assert subprocess.run(cmd, capture_output=True).returncode == 0  # and the sweep resumes
