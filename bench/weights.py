"""Where pretrained weights are looked for (torch.hub's checkpoint cache, as CompressAI and torchvision use) and
which weights a model was built from (a content hash of its files)."""

from __future__ import annotations

import errno
import hashlib
import os
import sys
from functools import lru_cache
from pathlib import Path
from stat import S_ISREG

__all__ = ["file_fingerprint", "hub_checkpoint", "hub_checkpoint_dir", "optional_file_fingerprint"]


def hub_checkpoint_dir() -> Path:
    """torch.hub's cache of downloaded checkpoints ($TORCH_HOME/hub/checkpoints).

    Follows torch.hub.get_dir()'s rule without importing torch (so listing codecs stays fast); once torch
    is imported, asks it (a `torch.hub.set_dir` is then honoured).
    """
    if "torch" in sys.modules:
        return Path(sys.modules["torch"].hub.get_dir()) / "checkpoints"
    cache = os.environ.get("XDG_CACHE_HOME", os.path.join("~", ".cache"))
    home = os.environ.get("TORCH_HOME", os.path.join(cache, "torch"))
    return Path(os.path.expanduser(home)) / "hub" / "checkpoints"


def hub_checkpoint(url: str) -> Path:
    """The cached file of the checkpoint at `url` (it may not exist)."""
    return hub_checkpoint_dir() / url.rsplit("/", 1)[-1]


def file_fingerprint(path: str | os.PathLike) -> str:
    """First 16 hex digits of the SHA-256 of a file's bytes (cached while its size and mtime are unchanged)."""
    stat = os.stat(path)
    if not S_ISREG(stat.st_mode):  # a pipe or device would block or never end: never opened
        raise OSError(errno.EINVAL, "not a regular file", str(path))
    return _file_digest(os.path.abspath(path), stat.st_size, stat.st_mtime_ns)


@lru_cache(maxsize=256)
def _file_digest(path: str, size: int, mtime_ns: int) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()[:16]


def optional_file_fingerprint(path: str | os.PathLike | None) -> str:
    """`file_fingerprint` of a file an option may name: "" when none is named, "missing" when it cannot be read."""
    if not path:
        return ""
    try:
        return file_fingerprint(path)
    except OSError:
        return "missing"
