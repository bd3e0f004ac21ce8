"""Run independent jobs, in parallel processes if asked, storing each finished row atomically (resumable)."""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from typing import Any, TypeVar

from tqdm import tqdm

from ssicbench.store import RowStore

J = TypeVar("J")


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
) -> int:
    """Run every job whose key has no row yet and store its row; returns how many jobs ran.

    `work` must be a module-level function (it is pickled to worker processes when `n_jobs > 1`).
    """
    pending = [job for job in jobs if not store.done(key(job))]
    bar = tqdm(total=len(jobs), initial=len(jobs) - len(pending), desc=desc, disable=not progress, unit="job")
    if n_jobs <= 1:
        for job in pending:
            store.write(key(job), work(job))
            bar.update()
    else:
        with ProcessPoolExecutor(max_workers=min(n_jobs, os.cpu_count() or 1), initializer=_init_worker) as pool:
            remaining = iter(pending)
            running = {}

            def submit_next() -> None:
                job = next(remaining, None)
                if job is not None:
                    running[pool.submit(work, job)] = job

            for _ in range(2 * n_jobs):  # keep 2 jobs per worker in flight, no more
                submit_next()
            while running:
                finished, _ = wait(running, return_when=FIRST_COMPLETED)
                for future in finished:
                    job = running.pop(future)
                    store.write(key(job), future.result())
                    bar.update()
                    submit_next()
    bar.close()
    return len(pending)
