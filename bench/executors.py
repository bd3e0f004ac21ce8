"""Where jobs run: local processes (the default) or a Ray cluster. Either way rows come back to the driver,
which alone claims jobs and writes their rows (bench/jobs.py), so a run's rows do not depend on where its
jobs ran.

Jobs are `ssicbench.jobs.Job`s: the Ray executor reads `uses_gpu` (takes `gpus_per_job` of a GPU, else one
CPU), `error_row(message)` (the row stored when its worker is lost twice) and `by_value()` (the job carrying its
input, for workers that cannot read its path). Executors register in `EXECUTORS` by name; a factory's keyword
options are the executor's options (`--executor-option KEY=VALUE`, config `executor.options`).
"""

from __future__ import annotations

import ctypes
import logging
import os
import signal
import socket
import sys
import threading
from abc import ABC, abstractmethod
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from contextlib import contextmanager
from typing import Any, TypeVar

from ssicbench.errors import ExecutorError
from ssicbench.registry import Registry

__all__ = [
    "CONNECT_TIMEOUT_S",
    "EXECUTORS",
    "PR_SET_PDEATHSIG",
    "SHIP_IMAGES",
    "Executor",
    "LocalExecutor",
    "RayExecutor",
    "die_with_parent",
    "import_ray",
    "keep_freed_memory",
    "make_executor",
]

log = logging.getLogger(__name__)

J = TypeVar("J")
Work = Callable[[Any], dict[str, Any]]

SHIP_IMAGES = ("auto", "path", "value")
CONNECT_TIMEOUT_S = 10.0  # to join a cluster, so a wrong --address fails within 30 s of the start


class Executor(ABC):
    """Runs jobs somewhere and yields each finished job with its row, in completion order."""

    @abstractmethod
    def run(self, jobs: Iterable[J], work: Work) -> Iterator[tuple[J, dict[str, Any]]]:
        """Run `work(job)` for every job, taking jobs from `jobs` only as workers can start them (the driver
        claims each job as it is taken); `work` must be a module-level function (it is pickled to workers)."""

    def start(self) -> None:
        """Acquire what the jobs will run on (join a cluster) now, so a bad setup fails before any work."""
        return None

    @contextmanager
    def session(self, jobs: Sequence[Any]) -> Iterator[None]:
        """Hold what `jobs` will run on for the calls to `run` inside the block; refuse up front a setup that
        cannot run them."""
        yield

    def summary(self) -> str:
        """A line on what went wrong and was recovered (retries), or "" when nothing did."""
        return ""


def _init_worker(driver: int) -> None:
    """Die with the driver (`driver`: its pid), and one BLAS/torch thread per worker, so N workers use N cores."""
    die_with_parent(driver)
    keep_freed_memory()
    import torch

    torch.set_num_threads(1)


# glibc's mallopt parameters (malloc.h)
M_TRIM_THRESHOLD, M_TOP_PAD, M_MMAP_THRESHOLD = -1, -2, -3
MMAP_THRESHOLD = 32 << 20  # glibc's largest: blocks up to 32 MiB come from the heap
HEAP_SLACK = 1 << 30  # freed heap kept up to 1 GiB, grown 64 MiB at a time
HEAP_STEP = 64 << 20


def keep_freed_memory() -> bool:
    """Have glibc keep freed memory for the next allocation instead of handing it back to the kernel: a codec
    that allocates and frees the same large tensors for every image otherwise spends a sixth of its CPU time in
    page faults (measured on SSIC, benchmarks/bench_ssic.py). Returns whether it could (glibc only)."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL("libc.so.6")
    except OSError:  # musl and others
        return False
    settings = ((M_MMAP_THRESHOLD, MMAP_THRESHOLD), (M_TRIM_THRESHOLD, HEAP_SLACK), (M_TOP_PAD, HEAP_STEP))
    return all(libc.mallopt(param, value) == 1 for param, value in settings)


PR_SET_PDEATHSIG = 1  # linux/prctl.h


def die_with_parent(parent: int) -> None:
    """Have the kernel kill this process when its parent dies (SIGKILL, SIGTERM or a crash of the parent leave no
    orphan workers holding memory); exits at once when `parent` is already gone. Linux only, elsewhere a no-op."""
    if not sys.platform.startswith("linux"):
        return
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    if os.getppid() != parent:  # the parent died before prctl: nobody will send the signal
        os._exit(1)


class LocalExecutor(Executor):
    """This process (`n_jobs` 1) or a pool of `n_jobs` worker processes on this machine."""

    def __init__(self, n_jobs: int = 1):
        self.n_jobs = n_jobs

    def run(self, jobs: Iterable[J], work: Work) -> Iterator[tuple[J, dict[str, Any]]]:
        if self.n_jobs <= 1:
            keep_freed_memory()
            for job in jobs:
                yield job, work(job)
            return
        workers = min(self.n_jobs, os.cpu_count() or 1)
        with ProcessPoolExecutor(max_workers=workers, initializer=_init_worker, initargs=(os.getpid(),)) as pool:
            remaining = iter(jobs)
            running = {}

            def submit_next() -> None:
                job = next(remaining, None)
                if job is not None:
                    running[pool.submit(work, job)] = job

            for _ in range(2 * self.n_jobs):  # keep 2 jobs per worker in flight, no more
                submit_next()
            while running:
                finished, _ = wait(running, return_when=FIRST_COMPLETED)
                for future in finished:
                    job = running.pop(future)
                    yield job, future.result()
                    submit_next()


def import_ray():
    """The `ray` module, or a one-line error naming the extra that installs it."""
    try:
        import ray
    except ImportError:
        raise ExecutorError(
            "--executor ray needs Ray: pip install -e '.[ray]' (or pip install 'ssicbench[ray]')"
        ) from None
    return ray


class RayExecutor(Executor):
    """Ray tasks on the cluster at `address` (None: a Ray instance of `num_cpus` CPUs started for this run).

    A job whose worker is lost (process or node died) is resubmitted up to `retries` times, then stored as
    an error row; a job that raises fails the run as it would locally. Images travel by path when workers
    share the driver's storage, by value (the file's bytes) otherwise: `ship_images` "auto" picks by value
    for Ray Client addresses (`ray://`), whose driver runs outside the cluster.
    """

    def __init__(
        self,
        address: str | None = None,
        gpus_per_job: float = 0.0,
        ship_images: str = "auto",
        num_cpus: int | None = None,
        retries: int = 1,
    ):
        if ship_images not in SHIP_IMAGES:
            raise ExecutorError(f"ship_images must be one of {', '.join(SHIP_IMAGES)}, not {ship_images!r}")
        if gpus_per_job < 0:
            raise ExecutorError(f"gpus_per_job must be >= 0, not {gpus_per_job}")
        self.address = address
        self.gpus_per_job = gpus_per_job
        self.by_value = ship_images == "value" or (ship_images == "auto" and str(address).startswith("ray://"))
        self.num_cpus = num_cpus
        self.retries = retries
        self.retried = 0
        self.lost = 0
        self._started = False

    def start(self) -> None:
        """Join the cluster at `address` (or start a local instance) unless this process already has."""
        ray = import_ray()
        if ray.is_initialized():
            return
        quiet = {"logging_level": logging.WARNING, "log_to_driver": False}
        try:
            if self.address is None:
                ray.init(num_cpus=self.num_cpus, include_dashboard=False, **quiet)
            else:
                with _deadline(CONNECT_TIMEOUT_S, f"cannot reach the Ray cluster at {self.address}"):
                    if self.address != "auto":
                        _check_reachable(self.address)
                    ray.init(address=self.address, **quiet)
        except ExecutorError:
            raise
        except (ConnectionError, TimeoutError, RuntimeError, ValueError) as exc:
            first_line = (str(exc).strip().splitlines() or [exc.__class__.__name__])[0]
            raise ExecutorError(f"cannot join the Ray cluster at {self.address}: {first_line}") from None
        self._started = True

    @contextmanager
    def session(self, jobs: Sequence[Any]) -> Iterator[None]:
        """Joined to the cluster (and its resources checked against `jobs`) for the block; left afterwards
        where this executor joined it (a Ray session its caller opened stays open)."""
        ray = import_ray()
        self.start()
        try:
            self._check_resources(ray, jobs)
            yield
        finally:
            if self._started:
                ray.shutdown()
                self._started = False

    def _check_resources(self, ray, jobs: Sequence[Any]) -> None:
        """Refuse up front what no job could get: GPUs on a cluster without any, cuda jobs without a GPU share."""
        gpus = ray.cluster_resources().get("GPU", 0)
        if self.gpus_per_job > 0 and gpus == 0:
            raise ExecutorError(f"--gpus-per-job {self.gpus_per_job} asks for GPUs, but the Ray cluster has none")
        if self.gpus_per_job == 0 and any(job.uses_gpu for job in jobs):
            raise ExecutorError("jobs run on cuda (--device / --detector-device) but --gpus-per-job is 0")
        if self.by_value and jobs:
            jobs[0].by_value()  # jobs that cannot travel by value say so now, before any runs

    def run(self, jobs: Iterable[J], work: Work) -> Iterator[tuple[J, dict[str, Any]]]:
        """Run the jobs as Ray tasks on the cluster that `session` joined (call it inside that block)."""
        ray = import_ray()
        task = ray.remote(work)
        cpu_task = task.options(num_cpus=1, max_retries=0)  # lost workers are retried here, where they are counted
        gpu_task = task.options(num_cpus=1, num_gpus=self.gpus_per_job, max_retries=0)
        window = max(4, 2 * int(ray.cluster_resources().get("CPU", 1)))  # jobs in flight, no more
        fresh = enumerate(jobs)  # taken (and so claimed by the driver) only when there is room in the window
        retry: deque[tuple[int, J]] = deque()
        running: dict[Any, tuple[int, J]] = {}
        attempts: dict[int, int] = {}
        while True:
            while len(running) < window:
                index, job = retry.popleft() if retry else next(fresh, (-1, None))
                if job is None:
                    break
                shipped = job.by_value() if self.by_value else job
                running[(gpu_task if job.uses_gpu else cpu_task).remote(shipped)] = (index, job)
            if not running:
                return
            ready, _ = ray.wait(list(running), num_returns=1)
            for ref in ready:
                index, job = running.pop(ref)
                try:
                    row = ray.get(ref)
                except ray.exceptions.RayTaskError as exc:  # the job raised: fail as a local run would
                    raise (exc.cause if isinstance(exc.cause, BaseException) else exc) from None
                except ray.exceptions.RayError as exc:  # its worker or node was lost
                    attempts[index] = attempts.get(index, 0) + 1
                    if attempts[index] <= self.retries:
                        self.retried += 1
                        retry.append((index, job))
                        continue
                    self.lost += 1
                    row = job.error_row(f"worker lost {attempts[index]} times ({exc.__class__.__name__})")
                yield job, row

    def summary(self) -> str:
        if not (self.retried or self.lost):
            return ""
        return f"ray: {self.retried} job(s) rerun after a lost worker, {self.lost} stored as errors (lost again)"


def _check_reachable(address: str) -> None:
    """Fail at once where nothing answers at host:port (both Ray endpoints, the GCS `host:6379` and Ray
    Client `ray://host:10001`, are gRPC servers)."""
    import grpc

    host, _, port = address.removeprefix("ray://").rpartition(":")
    if not host or not port.isdigit():
        raise ExecutorError(f"--address must be 'auto', 'host:port' or 'ray://host:port', not {address!r}")
    try:  # a refused connection fails here at once; gRPC would keep retrying it
        socket.create_connection((host, int(port)), timeout=CONNECT_TIMEOUT_S).close()
    except OSError as exc:
        raise ExecutorError(f"cannot reach the Ray cluster at {address}: {exc.strerror or exc}") from None
    channel = grpc.insecure_channel(f"{host}:{port}")
    try:
        grpc.channel_ready_future(channel).result(timeout=CONNECT_TIMEOUT_S)
    except grpc.FutureTimeoutError:
        raise ExecutorError(f"cannot reach the Ray cluster at {address}: no answer") from None
    finally:
        channel.close()


@contextmanager
def _deadline(seconds: float, message: str) -> Iterator[None]:
    """Raise ExecutorError(message) when the block runs longer than `seconds` (Ray's own connection retries
    take a minute or more); a no-op outside the main thread, where no alarm signal can be caught."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def expire(signum: int, frame: Any) -> None:
        raise ExecutorError(f"{message}: no answer in {seconds:.0f} s")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


EXECUTORS: Registry[Executor] = Registry("executor")
EXECUTORS.register("local", LocalExecutor, description="a pool of n_jobs worker processes on this machine")


@EXECUTORS.register("ray", description="Ray tasks on a cluster (address: 'auto', ray://host:port, '' a local one)")
def ray_executor(
    n_jobs: int = 1, address: str = "", gpus_per_job: float = 0.0, ship_images: str = "auto", retries: int = 1
) -> RayExecutor:
    """The Ray executor; `n_jobs` sizes a local instance (with no `address`)."""
    import_ray()
    return RayExecutor(
        address or None, gpus_per_job, ship_images, num_cpus=n_jobs if n_jobs > 1 else None, retries=retries
    )


def make_executor(kind: str = "local", n_jobs: int = 1, **options: Any) -> Executor:
    """The executor a command line or config names, built with its options (each checked by its factory's
    signature and types); `n_jobs` sizes the local pool or a local Ray instance."""
    return EXECUTORS.create(kind, n_jobs=n_jobs, **options)
