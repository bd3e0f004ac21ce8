"""Codec registry: `create_codec("jpeg")` builds any codec by the name a config or CLI gives."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ssicbench.codecs.base import Codec
from ssicbench.registry import Registry

CODECS: Registry[Codec] = Registry("codec")


def register_codec(name: str, qualities: Sequence[Any], description: str = "", **info: Any):
    """Decorator: register a Codec factory under `name` with its default sweep quality points."""
    return CODECS.register(name, qualities=tuple(qualities), description=description, **info)


def create_codec(name: str, **kwargs: Any) -> Codec:
    """Build codec `name`; keyword arguments go to its factory (e.g. `checkpoint=`, `device=`)."""
    _load_builtin_codecs()
    entry = CODECS.get(name)
    codec = entry.factory(**kwargs)
    codec.name = name
    if not codec.qualities:
        codec.qualities = entry.info["qualities"]
    return codec


def list_codecs() -> list[dict[str, Any]]:
    """Name, quality points and description of every registered codec."""
    _load_builtin_codecs()
    return [{"name": n, **CODECS.get(n).info} for n in CODECS.names()]


def _load_builtin_codecs() -> None:
    """Import the modules that register the built-in codecs (done lazily to keep `import` cheap)."""
    from ssicbench.codecs import classical, compressai_zoo, external, ssic  # noqa: F401
