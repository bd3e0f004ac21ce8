"""Run independent jobs, in parallel processes if asked, storing each finished row atomically (resumable).

Each job is claimed in the row store before it runs (see `RowStore.claim`), so several runs on one
results folder share the work: a job claimed by another live process is waited for, not redone, and
one whose claimant died is taken over.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from contextlib import nullcontext
from dataclasses import dataclass
from typing import Any, TypeVar

from tqdm import tqdm
from tqdm.contrib.logging import logging_redirect_tqdm

from ssicbench.store import RowStore

J = TypeVar("J")
POLL_S = 0.2  # how often a run checks on jobs another process holds


@dataclass
class JobCounts:
    """What `run_jobs` did: jobs it ran, found done before it started, and saw finished by another run."""

    ran: int = 0
    already_done: int = 0
    by_others: int = 0


def _init_worker() -> None:
    """One BLAS/torch thread per worker process, so N workers use N cores, not N x N."""
    import torch

    torch.set_num_threads(1)


def run_jobs(
    jobs: Sequence[J],
    work: Callable[[J], dict[str, Any]],
    store: RowStore,
    key: Callable[[J], str],
    n_jobs: int = 1,
    progress: bool = True,
    desc: str = "jobs",
) -> JobCounts:
    """Run every job whose key has no successful row yet (error rows are retried) and store its row.

    `work` must be a module-level function (it is pickled to worker processes when `n_jobs > 1`) and
    should turn its own failures into error rows.
    """
    start = time.time()
    pending = [job for job in jobs if not store.done(key(job))]
    counts = JobCounts(already_done=len(jobs) - len(pending))
    bar = tqdm(total=len(jobs), initial=counts.already_done, desc=desc, disable=not progress, unit="job")
    busy: list[J] = []

    def claimed(queue: Iterator[J]) -> Iterator[J]:
        """The jobs of `queue` this process claims; those another process holds go to `busy`."""
        for job in queue:
            k = key(job)
            if not store.claim(k):
                busy.append(job)
            elif store.done(k) or store.written_since(k, start):  # finished by another run meanwhile
                store.release(k)
                counts.by_others += 1
                bar.update()
            else:
                yield job

    def finish(job: J, row: dict[str, Any]) -> None:
        try:
            store.write(key(job), row)
        finally:
            store.release(key(job))
        counts.ran += 1
        bar.update()

    queue: list[J] = pending
    try:
        with logging_redirect_tqdm() if progress else nullcontext():  # log lines print above the bar
            while queue:
                _run(claimed(iter(queue)), work, finish, n_jobs)
                queue, busy = busy, []
                if queue:
                    time.sleep(POLL_S)
    finally:
        store.release_all()
        bar.close()
    return counts


def _run(jobs: Iterator[J], work: Callable[[J], dict[str, Any]], finish: Callable, n_jobs: int) -> None:
    if n_jobs <= 1:
        for job in jobs:
            finish(job, work(job))
        return
    with ProcessPoolExecutor(max_workers=min(n_jobs, os.cpu_count() or 1), initializer=_init_worker) as pool:
        running = {}

        def submit_next() -> None:
            job = next(jobs, None)
            if job is not None:
                running[pool.submit(work, job)] = job

        for _ in range(2 * n_jobs):  # keep 2 jobs per worker in flight, no more
            submit_next()
        while running:
            finished, _ = wait(running, return_when=FIRST_COMPLETED)
            for future in finished:
                finish(running.pop(future), future.result())
                submit_next()
