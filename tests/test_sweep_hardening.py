"""Sweeps that never die, rows that are never stale, and two runs sharing one results folder."""

from __future__ import annotations

import json
import math
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
from conftest import REPO, smooth_image
from PIL import Image
from test_bad_input import bomb_png

from ssicbench.cli import main
from ssicbench.codec_spec import CodecSpec
from ssicbench.datasets import folder_dataset
from ssicbench.job import Job
from ssicbench.jobs import run_study
from ssicbench.results import rows_frame
from ssicbench.store import RowStore
from ssicbench.sweep import run_sweep

TIMING = ["encode_s", "decode_s"]


def comparable(rows) -> pd.DataFrame:
    frame = rows_frame(rows)
    return frame.drop(columns=[c for c in TIMING if c in frame]).sort_values("key").reset_index(drop=True)


def good_images(folder: Path, count: int = 3) -> Path:
    folder.mkdir()
    for i in range(count):
        Image.fromarray(smooth_image(176, 208, seed=i)).save(folder / f"good{i}.png")
    return folder


def test_bad_images_and_a_bad_quality_among_good_ones_become_error_rows(tmp_path):
    clean = good_images(tmp_path / "clean")
    mixed = good_images(tmp_path / "mixed")
    Image.fromarray(smooth_image(1, 1)).save(mixed / "tiny1x1.png")
    Image.fromarray(smooth_image(128, 128)).save(mixed / "small128.png")
    bomb_png(mixed / "bomb.png")
    metrics = ["psnr", "ms-ssim"]

    reference = run_sweep([CodecSpec("jpeg", (30,))], "set", folder_dataset(clean), tmp_path / "a", 1, metrics, False)
    rows = run_sweep([CodecSpec("jpeg", (30, 150))], "set", folder_dataset(mixed), tmp_path / "b", 1, metrics, False)

    frame = rows_frame(rows).set_index(["image", "quality"])
    assert len(frame) == 6 * 2
    good = comparable(r for r in rows if r["image"].startswith("good") and r["quality"] == 30)
    pd.testing.assert_frame_equal(good, comparable(reference))
    assert (frame.loc[[(f"good{i}.png", 30) for i in range(3)], "status"] == "ok").all()
    for image in ("tiny1x1.png", "small128.png"):  # PSNR kept, MS-SSIM NaN with its reason
        row = frame.loc[(image, 30)]
        assert row["status"] == "error" and "MS-SSIM needs both sides over 160 px" in row["error"]
        assert math.isnan(row["ms_ssim"]) and row["psnr"] > 20 and row["metric_error"] == row["error"]
    assert "decompression-bomb guard" in frame.loc[("bomb.png", 30), "error"]
    assert all("quality must be a number in [0, 100], got 150" in e for e in frame.xs(150, level="quality")["error"])


def test_rd_exits_1_when_rows_failed_and_still_writes_everything(tmp_path, capsys):
    folder = good_images(tmp_path / "imgs", 1)
    (folder / "broken.png").write_bytes(b"not a png")
    config = tmp_path / "c.json"
    config.write_text(json.dumps({"codecs": [{"name": "jpeg", "qualities": [20, 40, 60, 80]}], "metrics": ["psnr"]}))
    argv = ["rd", "--config", str(config), "--dataset", str(folder), "--out", str(tmp_path / "out"), "--quiet"]
    assert main(argv) == 1
    assert "4 failed" in capsys.readouterr().out
    assert (tmp_path / "out" / "rows.csv").is_file() and (tmp_path / "out" / "compressai" / "jpeg.json").is_file()
    (folder / "broken.png").unlink()
    assert main(argv) == 0


def written(rows_dir: Path, before: dict[str, int]) -> set[str]:
    """Row files new or rewritten since `before` (name -> mtime_ns)."""
    now = {p.name: p.stat().st_mtime_ns for p in rows_dir.glob("*.json")}
    return {name for name, mtime in now.items() if before.get(name) != mtime}


def snapshot(rows_dir: Path) -> dict[str, int]:
    return {p.name: p.stat().st_mtime_ns for p in rows_dir.glob("*.json")}


def test_changed_image_new_metric_and_failed_rows_recompute_exactly_what_is_missing(tmp_path):
    image_folder = good_images(tmp_path / "imgs", 4)
    jpeg, out = CodecSpec("jpeg", (20, 80)), tmp_path / "out"
    rows_dir = out / "rows"

    def sweep(metrics):
        return run_sweep([jpeg], "imgs", folder_dataset(image_folder), out, metric_names=metrics, progress=False)

    first = {(r["image"], r["quality"]): r for r in sweep(["psnr"])}
    assert len(first) == 8

    before = snapshot(rows_dir)
    Image.fromarray(smooth_image(176, 208, seed=99)).save(image_folder / "good1.png")  # same name, new content
    second = {(r["image"], r["quality"]): r for r in sweep(["psnr"])}
    new = written(rows_dir, before)
    assert len(second) == 8 and len(new) == 2  # only good1 at both qualities
    assert all(second[k]["psnr"] != first[k]["psnr"] for k in (("good1.png", 20), ("good1.png", 80)))
    assert all(second[k] == first[k] for k in first if k[0] != "good1.png")

    before = snapshot(rows_dir)
    third = sweep(["psnr", "ms-ssim"])  # another metric: every row lacks it
    assert len(written(rows_dir, before)) == 8 and all("ms_ssim" in r for r in third)
    before = snapshot(rows_dir)
    sweep(["ms-ssim", "psnr"])
    assert written(rows_dir, before) == set()

    (image_folder / "good2.png").write_bytes(b"broken for now")  # an error row ...
    rows = sweep(["psnr"])
    assert sum(r["status"] == "error" for r in rows) == 2
    before = snapshot(rows_dir)
    sweep(["psnr"])  # ... is retried by every run (here it fails again, in place)
    assert len(written(rows_dir, before)) == 2


@dataclass(frozen=True)
class NamedJob:
    """The smallest `Job`: its name is its key."""

    key: str
    uses_gpu: bool = False

    @property
    def header(self) -> dict:
        return {"job": self.key}

    def error_row(self, message: str) -> dict:
        return {**self.header, "status": "error", "error": message}

    def by_value(self) -> NamedJob:
        return self


def echo_work(job: NamedJob) -> dict:
    return {"status": "ok", "job": job.key}


def fail_work(job: NamedJob) -> dict:
    return {"status": "error", "error": "transient"}


def test_store_retries_error_rows_and_never_rewrites_ok_rows(tmp_path):
    store = RowStore(tmp_path / "rows")
    jobs = [NamedJob("a"), NamedJob("b")]
    assert isinstance(jobs[0], Job)
    assert run_study(jobs, fail_work, store, progress=False).ran == 2
    assert not store.done("a") and store.row("a")["error"] == "transient"
    assert run_study(jobs, echo_work, store, progress=False).ran == 2
    assert store.done("a") and store.row("a")["job"] == "a"
    counts = run_study(jobs, fail_work, store, progress=False)
    assert counts.ran == 0 and counts.already_done == 2 and store.done("b")


CLAIM_AND_DIE = """
import os, sys
from ssicbench.store import RowStore
store = RowStore(sys.argv[1])
assert store.claim("job")
print("claimed", flush=True)
sys.stdin.readline()
os._exit(0)  # dies holding the claim, without releasing it
"""


def test_a_claim_is_exclusive_while_its_process_lives_and_free_once_it_dies(tmp_path):
    holder = subprocess.Popen(
        [sys.executable, "-c", CLAIM_AND_DIE, str(tmp_path / "rows")],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert holder.stdout.readline().strip() == "claimed"
    store = RowStore(tmp_path / "rows")
    assert not store.claim("job")
    holder.communicate("\n")
    assert store.claim("job")  # the dead process's claim is taken over
    store.release("job")
    other_tmp = tmp_path / "rows" / f"x.json.{holder.pid}.tmp"
    live_tmp = tmp_path / "rows" / f"y.json.{1}.tmp"  # pid 1 is alive: not ours to delete
    other_tmp.write_text("{")
    live_tmp.write_text("{")
    RowStore(tmp_path / "rows")
    assert not other_tmp.exists() and live_tmp.exists()


def test_two_concurrent_rd_runs_on_one_folder_do_each_job_once(tmp_path):
    folder = tmp_path / "images"
    folder.mkdir()
    for i in range(8):
        Image.fromarray(smooth_image(192, 256, seed=i)).save(folder / f"img{i}.png")
    qualities = [str(q) for q in range(10, 96, 5)]
    total = len(qualities) * 8

    def cmd(out: Path) -> list[str]:
        args = ["rd", "--codecs", "jpeg", "--qualities", *qualities, "--dataset", str(folder), "--out", str(out)]
        return [sys.executable, str(REPO / "run_bench.py"), *args, "--metrics", "psnr", "--quiet"]

    subprocess.run(cmd(tmp_path / "single"), check=True, capture_output=True)
    shared = tmp_path / "shared"
    procs = [subprocess.Popen(cmd(shared), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for _ in "ab"]
    outputs = [p.communicate(timeout=300) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], outputs
    ran = [int(re.search(r"(\d+) run here", err).group(1)) for _, err in outputs]
    assert sum(ran) == total, outputs  # each job done by exactly one of the two

    def load(out: Path) -> pd.DataFrame:
        return comparable(json.loads(p.read_text()) for p in (out / "rows").glob("*.json"))

    pd.testing.assert_frame_equal(load(tmp_path / "single"), load(shared))
    assert len(list((shared / "rows").glob("*.json"))) == total
    assert not list((shared / "rows").glob("*.tmp")) and not list((shared / "rows" / "claims").iterdir())
