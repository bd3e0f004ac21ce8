"""Crash-safe result rows: one JSON file per finished job, written to a temp file and renamed into place.

A sweep killed at any moment leaves only complete rows (rename is atomic) plus, at worst, a stray temp
file that the next run removes; resuming skips every key that has a row and never rewrites it.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


class RowStore:
    """Finished-job rows under `directory`, addressed by a job key string."""

    def __init__(self, directory: str | Path):
        self.directory = Path(directory)
        self.directory.mkdir(parents=True, exist_ok=True)
        for stray in self.directory.glob("*.tmp"):
            stray.unlink()

    def path(self, key: str) -> Path:
        digest = hashlib.sha1(key.encode()).hexdigest()[:12]
        return self.directory / f"{_UNSAFE.sub('_', key)[:80]}-{digest}.json"

    def done(self, key: str) -> bool:
        return self.path(key).exists()

    def write(self, key: str, row: dict[str, Any]) -> None:
        """Atomically store `row` for `key`; an existing row is never overwritten."""
        final = self.path(key)
        if final.exists():
            return
        tmp = final.with_name(f"{final.name}.{os.getpid()}.tmp")
        with open(tmp, "w") as f:
            json.dump({"key": key, **row}, f, sort_keys=True)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, final)

    def rows(self) -> Iterator[dict[str, Any]]:
        for path in sorted(self.directory.glob("*.json")):
            with open(path) as f:
                yield json.load(f)
