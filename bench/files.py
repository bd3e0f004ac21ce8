"""Files a user names: only regular files are opened (a pipe or a device would block or never end), and every
file the suite writes is written all or nothing (temp file in the same folder, renamed into place)."""

from __future__ import annotations

import os
import re
import stat
import tempfile
from pathlib import Path

from ssicbench.errors import BenchError, UsageError

__all__ = ["printable_name", "require_regular_file", "safe_name", "write_atomic"]


def require_regular_file(path: str | Path, what: str = "file", error: type[BenchError] = UsageError) -> Path:
    """`path` if it is a regular file (or a link to one), checked without opening it; else `error` saying what it
    is instead (missing, a folder, a pipe, a device, unreadable)."""
    path = Path(path)
    try:
        mode = path.stat().st_mode
    except FileNotFoundError:
        raise error(f"{path}: cannot read {what}: no such file") from None
    except OSError as exc:
        raise error(f"{path}: cannot read {what}: {exc.strerror or type(exc).__name__}") from None
    if stat.S_ISDIR(mode):
        raise error(f"{path}: cannot read {what}: it is a folder")
    if not stat.S_ISREG(mode):
        kind = "a named pipe" if stat.S_ISFIFO(mode) else "a socket" if stat.S_ISSOCK(mode) else "a device"
        raise error(f"{path}: cannot read {what}: it is {kind}, not a regular file (refused without opening it)")
    return path


_UNSAFE = re.compile(r"[^A-Za-z0-9._+-]+")


def safe_name(text: str, limit: int = 80) -> str:
    """`text` as a file name that stays inside its folder on every filesystem: runs of other characters
    (`/`, spaces, non-ASCII, ...) become `_`, leading dots go (no `..`, no hidden files), at most `limit` chars.
    Add a digest of `text` where two texts must not share a name."""
    return _UNSAFE.sub("_", text).lstrip(".")[:limit] or "_"


def printable_name(name: str) -> str:
    """A file name as text that JSON, CSV, Parquet and terminals hold: bytes that are not UTF-8 (which Python keeps
    as surrogates) are written as \\xNN."""
    return os.fsencode(name).decode("utf-8", "backslashreplace")


def write_atomic(path: str | Path, data: bytes) -> Path:
    """Write `data` to `path` through a temp file in the same folder: readers see the old file or the new one. The
    temp file's name ends in `.<pid>.tmp`, so a stray one (its writer killed) is known by its dead writer."""
    path = Path(path)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name[:200]}.", suffix=f".{os.getpid()}.tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path
