"""Executors: jobs run on Ray give the rows the local executor gives; the driver claims each job before Ray runs
it (another run's claims are waited for); a killed driver resumes; a lost worker is rerun once; models load once
per process and the weights are checked where a job runs; bad setups fail up front."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pytest
from conftest import REPO, start_until_rows

from ssicbench.codec_spec import CodecSpec
from ssicbench.errors import BenchError, ExecutorError, UsageError, WeightsMismatchError
from ssicbench.executors import RayExecutor, make_executor
from ssicbench.jobs import run_study
from ssicbench.store import RowStore
from ssicbench.sweep import run_sweep
from ssicbench.tasks.runner import TaskSetup, plan_task_jobs, run_task_sweep

ray = pytest.importorskip("ray", reason="the `ray` extra is not installed")

TIMING = ["encode_s", "decode_s", "detect_s"]
NOT_MEASURED = [*TIMING, "kept"]  # wall-clock times, and the pictures the browser report keeps (an rd option)
JPEG = CodecSpec("jpeg", (20, 80))


def comparable(rows) -> pd.DataFrame:
    """Rows without wall-clock columns and kept pictures, in a fixed order."""
    frame = pd.DataFrame(list(rows))
    return frame.drop(columns=[c for c in NOT_MEASURED if c in frame]).sort_values("key").reset_index(drop=True)


# --- bad setups (before any Ray session runs in this process) -------------------------------------------


def test_ray_missing_names_the_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "ray", None)  # `import ray` now raises ImportError
    with pytest.raises(ExecutorError, match=r"\.\[ray\]"):
        make_executor("ray")


def test_unreachable_address_fails_within_30_s_with_one_line():
    refused = socket.socket()
    refused.bind(("127.0.0.1", 0))
    silent = socket.socket()  # accepts connections (backlog) but never speaks
    silent.bind(("127.0.0.1", 0))
    silent.listen()
    addresses = [f"127.0.0.1:{refused.getsockname()[1]}", f"ray://127.0.0.1:{silent.getsockname()[1]}"]
    refused.close()
    for address in addresses:
        start = time.monotonic()
        with pytest.raises(ExecutorError) as failure:
            RayExecutor(address).start()
        assert time.monotonic() - start < 30
        assert "\n" not in str(failure.value) and address in str(failure.value)
        assert not ray.is_initialized()
    silent.close()


def test_local_executor_takes_no_cluster_options():
    with pytest.raises(UsageError, match=r"executor local does not take address \(it takes n_jobs\)"):
        make_executor("local", address="auto")


# --- a local Ray instance of 2 CPUs ----------------------------------------------------------------------


@pytest.fixture(scope="module")
def ray_session():
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    ray.cloudpickle.register_pickle_by_value(sys.modules[__name__])  # workers cannot import tests/
    yield
    ray.shutdown()


def test_gpus_on_a_cluster_without_any_fail_before_any_job(ray_session, tmp_path, kodak_dir):
    from ssicbench.datasets import folder_dataset

    images = folder_dataset(kodak_dir)[:2]
    with pytest.raises(ExecutorError, match="has none"):
        run_sweep([JPEG], "kodak", images, tmp_path, metric_names=["psnr"], executor=RayExecutor(gpus_per_job=0.25))
    cuda = CodecSpec("jpeg", (20,), {"device": "cuda"})
    with pytest.raises(ExecutorError, match="gpus-per-job is 0"):
        run_sweep([cuda], "kodak", images, tmp_path, metric_names=["psnr"], executor=RayExecutor())
    assert not list((tmp_path / "rows").glob("*.json")) and not list((tmp_path / "rows" / "claims").iterdir())
    assert ray.is_initialized()  # the caller's session stays open


@pytest.mark.parametrize("ship_images", ["path", "value"])
def test_rd_rows_on_ray_equal_local_rows(ray_session, tmp_path, kodak_dir, ship_images):
    from ssicbench.datasets import folder_dataset

    images = folder_dataset(kodak_dir)[:3]
    metric_names = ["psnr", "ms-ssim"]
    local = run_sweep([JPEG], "kodak", images, tmp_path / "local", metric_names=metric_names, progress=False)
    on_ray = run_sweep(
        [JPEG],
        "kodak",
        images,
        tmp_path / "ray",
        metric_names=metric_names,
        progress=False,
        executor=RayExecutor(ship_images=ship_images),
    )
    assert len(on_ray) == 2 * 3 and all(r["status"] == "ok" for r in on_ray)
    pd.testing.assert_frame_equal(comparable(local), comparable(on_ray))


def test_task_rows_on_ray_equal_local_rows(ray_session, tmp_path):
    setup = TaskSetup(dataset_options=json.dumps({"limit": 3}), detector="opencv-hog")
    plan = plan_task_jobs(setup, [CodecSpec("jpeg", (30, 80))], ["full", "objects"])
    assert plan.skipped == {"jpeg": ["objects"]}
    local = run_task_sweep(plan, tmp_path / "local", progress=False)
    on_ray = run_task_sweep(plan, tmp_path / "ray", progress=False, executor=RayExecutor())
    assert len(on_ray) == 3 + 2 * 3 and all(r["status"] == "ok" for r in on_ray)
    pd.testing.assert_frame_equal(comparable(local), comparable(on_ray))


@dataclass(frozen=True)
class DyingJob:
    """A job whose worker process dies on its first `deaths` attempts (counted in a file)."""

    name: str
    deaths: int
    counter: str
    uses_gpu: bool = False

    @property
    def key(self) -> str:
        return self.name

    @property
    def header(self) -> dict:
        return {"name": self.name}

    def error_row(self, message: str) -> dict:
        return {**self.header, "status": "error", "error": message}

    def by_value(self) -> DyingJob:
        return self


def die_then_work(job: DyingJob) -> dict:
    path = Path(job.counter)
    attempt = int(path.read_text()) + 1 if path.exists() else 1
    path.write_text(str(attempt))
    if attempt <= job.deaths:
        os._exit(1)
    return {"name": job.name, "status": "ok", "attempts": attempt}


def test_lost_worker_is_rerun_once_then_stored_as_error(ray_session, tmp_path):
    jobs = [DyingJob(name, deaths, str(tmp_path / f"{name}.count")) for name, deaths in [("a", 0), ("b", 1), ("c", 9)]]
    store = RowStore(tmp_path / "rows")
    executor = RayExecutor()
    assert run_study(jobs, die_then_work, store, progress=False, executor=executor).ran == 3
    rows = {row["name"]: row for row in store.rows()}
    assert rows["a"]["attempts"] == 1 and rows["b"]["attempts"] == 2  # rerun once after its worker died
    assert rows["c"]["status"] == "error" and "lost 2 times" in rows["c"]["error"]
    assert (tmp_path / "c.count").read_text() == "2"  # not tried a third time
    assert (executor.retried, executor.lost) == (2, 1)
    assert "2 job(s) rerun" in executor.summary()


def test_driver_claims_jobs_and_waits_for_those_another_run_holds(ray_session, tmp_path):
    jobs = [DyingJob(name, 0, str(tmp_path / f"{name}.count")) for name in "abcd"]
    store = RowStore(tmp_path / "rows")
    other = RowStore(tmp_path / "rows")  # another run on the same folder (its own lock file handles)
    assert other.claim("b")
    finish_b = threading.Timer(
        3.0, lambda: (other.write("b", {"name": "b", "status": "ok", "by": "other"}), other.release("b"))
    )
    finish_b.start()
    counts = run_study(jobs, die_then_work, store, progress=False, executor=RayExecutor())
    finish_b.join()
    assert (counts.ran, counts.by_others) == (3, 1)
    assert not (tmp_path / "b.count").exists()  # never handed to Ray: the other run held it
    rows = {row["name"]: row for row in store.rows()}
    assert rows["b"]["by"] == "other" and all(rows[n]["attempts"] == 1 for n in "acd")
    assert not list((tmp_path / "rows" / "claims").iterdir())  # every claim released


# --- a killed driver ------------------------------------------------------------------------------------


QUALITIES = (10, 30, 50, 70, 90)


def _ray_sweep_cmd(images: Path, out: Path) -> list[str]:
    qualities = [str(q) for q in QUALITIES]
    return [
        *[sys.executable, str(REPO / "run_bench.py"), "rd", "--codecs", "jpeg", "--qualities", *qualities],
        *["--dataset", str(images), "--out", str(out), "--metrics", "psnr", "--quiet", "--jobs", "2"],
        *["--executor", "ray"],
    ]


def _children(pid: int) -> list[int]:
    """Processes whose parent is `pid` (the Ray services a driver started)."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            found.append(int(stat.parent.name))
    return found


def test_killed_ray_driver_resumes_to_the_rows_of_an_uninterrupted_run(tmp_path, kodak_dir):
    from ssicbench.datasets import folder_dataset

    total = len(QUALITIES) * 24
    reference = tmp_path / "reference"
    run_sweep([CodecSpec("jpeg", QUALITIES)], "kodak", folder_dataset(kodak_dir), reference, metric_names=["psnr"])

    killed = tmp_path / "killed"
    rows_dir = killed / "rows"
    proc = start_until_rows(_ray_sweep_cmd(kodak_dir, killed), rows_dir, 10, timeout=180)
    services = _children(proc.pid)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    done_at_kill = len(list(rows_dir.glob("*.json")))
    assert 10 <= done_at_kill < total, "the kill must land mid-sweep"
    for pid in services:  # Ray's services die with their driver; end any that did not, so none leaks
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass

    subprocess.run(_ray_sweep_cmd(kodak_dir, killed), check=True, capture_output=True)

    def load(folder: Path) -> pd.DataFrame:
        return comparable(json.loads(p.read_text()) for p in (folder / "rows").glob("*.json"))

    pd.testing.assert_frame_equal(load(reference), load(killed))
    assert len(list(rows_dir.glob("*.json"))) == total  # one row per job, none twice
    assert not list(rows_dir.glob("*.tmp"))


# --- models load once per process; weights checked where the job runs ------------------------------------


def test_codec_loads_once_per_process_and_refuses_weights_the_run_was_not_planned_with(tmp_path, kodak_dir):
    from importlib import resources

    from ssicbench.datasets import folder_dataset
    from ssicbench.sweep import plan_jobs, run_rd_job

    zoo = Path(str(resources.files("ssicbench.codecs.ssic") / "zoo"))
    checkpoint = tmp_path / "ssic.pth"
    checkpoint.write_bytes((zoo / "ssic-tiny-q1.pth").read_bytes())
    spec = CodecSpec("ssic-charm", (1,), {"checkpoint": str(checkpoint), "config": str(zoo / "ssic-tiny.json")})
    (job,) = plan_jobs([spec], "kodak", folder_dataset(kodak_dir)[:1], ["psnr"])
    first = spec.build_for(1, job.codec_digest)
    assert spec.build_for(1, job.codec_digest) is first  # once per process, not per job
    checkpoint.write_bytes(checkpoint.read_bytes() + b"retrained")  # other weights under the same path
    with pytest.raises(WeightsMismatchError, match="differ"):
        spec.build_for(1, job.codec_digest)
    row = run_rd_job(job)  # as a worker with other files runs it: an error row, no row of another model
    assert row["status"] == "error" and "differ" in row["error"]
    (replanned,) = plan_jobs([spec], "kodak", folder_dataset(kodak_dir)[:1], ["psnr"])
    assert replanned.key != job.key and spec.build_for(1, replanned.codec_digest) is not first  # loaded anew


def test_flags_and_config_name_the_executor(tmp_path):
    """The config's "executor" entry is a typed section of the rd and task configs; each flag overrides its key."""
    from ssicbench.cli import build_parser
    from ssicbench.config import RDConfig
    from ssicbench.tasks.cli import task_config

    config = tmp_path / "c.json"
    config.write_text(json.dumps({"codecs": ["jpeg"], "executor": {"kind": "local", "address": "auto"}}))
    argv = ["--config", str(config), "--executor", "ray", "--gpus-per-job", "0.5", "--jobs", "3"]
    for command, load in (("rd", _rd_config), ("task", task_config)):
        cfg = load(build_parser().parse_args([command, *argv]))  # flags win
        executor = cfg.executor.build(cfg.jobs)
        assert isinstance(executor, RayExecutor) and executor.gpus_per_job == 0.5 and executor.num_cpus == 3
        assert executor.address == "auto" and not executor.by_value
    executor = RDConfig.from_dict({"executor": {"kind": "ray", "address": "ray://head:10001"}}).executor.build(1)
    assert executor.address == "ray://head:10001" and executor.by_value  # Ray Client: images go by value
    assert RDConfig.from_dict({"executor": "ray"}).executor.kind == "ray"
    with pytest.raises(BenchError, match="unknown executor keys: gpus"):
        RDConfig.from_dict({"executor": {"kind": "ray", "gpus": 1}})


def _rd_config(args):
    from ssicbench.cli_options import sweep_overrides
    from ssicbench.config import RDConfig

    return RDConfig.load(args.config, sweep_overrides(args))


def test_workers_keep_freed_memory_where_glibc_lets_them():
    """Local workers set glibc's malloc to reuse freed blocks (SSIC's per-image tensors otherwise fault back in)."""
    from ssicbench.executors import keep_freed_memory

    glibc = sys.platform.startswith("linux") and os.confstr("CS_GNU_LIBC_VERSION") is not None
    assert keep_freed_memory() is glibc
