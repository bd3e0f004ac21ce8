"""Run a study's jobs (`ssicbench.job.Job`s) on an executor (local processes by default, or Ray), storing each
finished row atomically on the driver (resumable).

Each job is claimed in the row store by the driver before it is handed to the executor (see
`RowStore.claim`), so several runs on one results folder share the work, wherever their jobs run: a job
claimed by another live process is waited for, not redone, and one whose claimant died is taken over.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import nullcontext
from dataclasses import dataclass
from typing import Any, TypeVar

from tqdm import tqdm
from tqdm.contrib.logging import logging_redirect_tqdm

from ssicbench.executors import Executor, LocalExecutor
from ssicbench.job import Job
from ssicbench.store import RowStore

__all__ = ["POLL_S", "JobCounts", "run_study"]

log = logging.getLogger(__name__)

J = TypeVar("J", bound=Job)
POLL_S = 0.2  # how often a run checks on jobs another process holds


@dataclass
class JobCounts:
    """What `run_study` did: jobs it ran, found done before it started, and saw finished by another run."""

    ran: int = 0
    already_done: int = 0
    by_others: int = 0


def run_study(
    jobs: Sequence[J],
    work: Callable[[J], dict[str, Any]],
    store: RowStore,
    n_jobs: int = 1,
    progress: bool = True,
    desc: str = "jobs",
    executor: Executor | None = None,
) -> JobCounts:
    """Run every job whose key has no successful row yet (error rows are retried) and store its row.

    `work` must be a module-level function (it is pickled to worker processes when `n_jobs > 1` or when the
    executor is remote) and should turn its own failures into error rows. Without an `executor`, jobs run
    on a local pool of `n_jobs` processes.
    """
    executor = executor or LocalExecutor(n_jobs)
    start = time.time()
    pending = [job for job in jobs if not store.done(job.key)]
    counts = JobCounts(already_done=len(jobs) - len(pending))
    bar = tqdm(total=len(jobs), initial=counts.already_done, desc=desc, disable=not progress, unit="job")
    busy: list[J] = []

    def claimed(queue: Iterator[J]) -> Iterator[J]:
        """The jobs of `queue` this process claims, as the executor asks for them; those another process
        holds go to `busy`."""
        for job in queue:
            k = job.key
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
            store.write(job.key, row)
        finally:
            store.release(job.key)
        counts.ran += 1
        bar.update()

    queue: list[J] = pending
    try:
        session = executor.session(pending) if pending else nullcontext()  # no cluster joined for nothing to do
        with logging_redirect_tqdm() if progress else nullcontext(), session:
            while queue:
                for job, row in executor.run(claimed(iter(queue)), work):
                    finish(job, row)
                queue, busy = busy, []
                if queue:
                    time.sleep(POLL_S)
    finally:
        store.release_all()
        bar.close()
    if executor.summary():
        log.warning("%s", executor.summary())
    return counts
