"""The contract every unit of work of a study meets (rd and task jobs, and any new study's), and the one wrapper
that turns a job's failure into its error row, so a bad image or a codec's crash never stops a sweep."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any, Protocol, runtime_checkable

from ssicbench.errors import BenchError

__all__ = ["Job", "guarded"]

log = logging.getLogger(__name__)


@runtime_checkable
class Job(Protocol):
    """One job: picklable, so executors can send it to worker processes or cluster nodes."""

    @property
    def key(self) -> str:
        """The identity of its row: everything the result depends on (names and content hashes)."""

    @property
    def header(self) -> dict[str, Any]:
        """The columns that say which job a row belongs to."""

    @property
    def uses_gpu(self) -> bool:
        """Whether it runs on CUDA (a cluster gives it a GPU share)."""

    def error_row(self, message: str) -> dict[str, Any]:
        """Its row when it fails with `message`."""

    def by_value(self) -> Job:
        """The job carrying its input data, for workers that cannot read its paths (ExecutorError if it cannot)."""


def guarded(job: Job, compute: Callable[[], dict[str, Any]]) -> dict[str, Any]:
    """`compute()`, or the job's error row when it raises: a BenchError's message as it is, any other exception
    (a bug, a library failure on this input) with its type; the traceback goes to the debug log."""
    try:
        return compute()
    except BenchError as exc:
        return job.error_row(str(exc))
    except Exception as exc:
        log.debug("job %s failed", job.key, exc_info=True)
        return job.error_row(f"{type(exc).__name__}: {' '.join(str(exc).split())}")
