"""Crash-safe result rows shared by concurrent runs: one JSON file per job, claimed before it runs.

Rows are written to a temp file and renamed into place (atomic), so a run killed at any moment leaves only
complete rows. A row with status "ok" is never rewritten; an error row is replaced when a later run
retries its job. Several processes (or machines' executors on one host) may run on one results folder:

    if store.claim(key):         # non-blocking; False while another live process holds the key
        try:
            store.write(key, row)
        finally:
            store.release(key)

A claim is an exclusive `flock` on `claims/<row>.lock`, so the operating system drops the claim of a
process that dies, and the next run (or a waiting one) takes the job over. Claims need a local
filesystem (flock on network filesystems varies). Temp files carry their writer's pid; only those of
dead processes are removed.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import logging
import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from ssicbench.files import safe_name, write_atomic

__all__ = ["QUARANTINE", "RowStore"]

log = logging.getLogger(__name__)

_TMP = re.compile(r"\.(\d+)\.tmp$")
QUARANTINE = "quarantine"  # damaged row files are moved here (kept for a look, never read again)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class RowStore:
    """Finished-job rows under `directory`, addressed by a job key string."""

    def __init__(self, directory: str | Path):
        self.directory = Path(directory)
        self.claims = self.directory / "claims"
        self.claims.mkdir(parents=True, exist_ok=True)
        self._held: dict[str, int] = {}
        for stray in self.directory.glob("*.tmp"):
            match = _TMP.search(stray.name)
            if match and not _alive(int(match.group(1))):
                stray.unlink(missing_ok=True)

    def path(self, key: str) -> Path:
        digest = hashlib.sha1(key.encode("utf-8", "surrogatepass")).hexdigest()[:12]
        return self.directory / f"{safe_name(key)}-{digest}.json"

    def row(self, key: str) -> dict[str, Any] | None:
        """The stored row of `key`, or None (also for a damaged file, which is quarantined: its job runs again)."""
        row = self._read(self.path(key))
        if row is not None and row.get("key") != key:  # a file of another key under this name: not this job's row
            self._quarantine(self.path(key), "it holds the row of another job")
            return None
        return row

    def _read(self, path: Path) -> dict[str, Any] | None:
        """The row in `path`; None when it is missing or damaged (truncated, empty, not a row object), the
        latter moved to `quarantine/` with a warning."""
        try:
            with open(path, "rb") as f:
                row = json.loads(f.read())
        except FileNotFoundError:  # not written yet, or replaced (an error row retried) between listing and reading
            return None
        except (ValueError, RecursionError, UnicodeDecodeError) as exc:
            self._quarantine(path, f"not a JSON row ({type(exc).__name__})")
            return None
        if not isinstance(row, dict) or not isinstance(row.get("key"), str):
            self._quarantine(path, "not a row object with a key")
            return None
        return row

    def _quarantine(self, path: Path, why: str) -> None:
        folder = self.directory / QUARANTINE
        folder.mkdir(exist_ok=True)
        try:
            os.replace(path, folder / path.name)
        except FileNotFoundError:
            return
        log.warning("damaged row file %s (%s): moved to %s; its job runs again", path.name, why, folder)

    def done(self, key: str) -> bool:
        """Whether `key` has a successful row (an error row does not count: it is retried)."""
        row = self.row(key)
        return row is not None and row.get("status", "ok") == "ok"

    def written_since(self, key: str, since: float) -> bool:
        """Whether a row (ok or error) for `key` was written at or after time `since` (e.g. by another run)."""
        try:
            return self.path(key).stat().st_mtime >= since
        except FileNotFoundError:
            return False

    def write(self, key: str, row: dict[str, Any]) -> None:
        """Atomically store `row` for `key`; an existing ok row is never overwritten, an error row is."""
        if self.done(key):
            return
        write_atomic(self.path(key), json.dumps({"key": key, **row}, sort_keys=True).encode())

    def claim(self, key: str) -> bool:
        """Try to take `key` for this process (non-blocking): True when held, False while another process holds it."""
        if key in self._held:
            return True
        lock = self.claims / self.path(key).with_suffix(".lock").name
        fd = os.open(lock, os.O_CREAT | os.O_RDWR, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            if os.fstat(fd).st_ino != os.stat(lock).st_ino:  # the file was released (unlinked) meanwhile
                raise BlockingIOError
        except (BlockingIOError, FileNotFoundError):
            os.close(fd)
            return False
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode())
        self._held[key] = fd
        return True

    def release(self, key: str) -> None:
        """Give up the claim on `key` (after writing its row, or on failure)."""
        fd = self._held.pop(key, None)
        if fd is not None:
            (self.claims / self.path(key).with_suffix(".lock").name).unlink(missing_ok=True)
            os.close(fd)

    def release_all(self) -> None:
        """Give up every claim this store holds (a run that stops early)."""
        for key in list(self._held):
            self.release(key)

    def rows(self) -> Iterator[dict[str, Any]]:
        """Every stored row (damaged files are quarantined and left out)."""
        for path in sorted(self.directory.glob("*.json")):
            row = self._read(path)
            if row is not None:
                yield row
