"""Building codecs by the name a config or CLI gives: `create_codec("jpeg")`, and what the registry says of each
codec without building it. The built-in codec modules register on first use (importing them is not free)."""

from __future__ import annotations

from typing import Any

from ssicbench.codecs.base import Codec, StructuredCodec
from ssicbench.codecs.registry import CODECS, option_flag

__all__ = ["codec_takes", "create_codec", "is_structured", "list_codecs"]


def create_codec(name: str, **kwargs: Any) -> Codec:
    """Build codec `name`; keyword arguments go to its factory (e.g. `checkpoint=`, `device=`)."""
    _load_builtin_codecs()
    entry = CODECS.get(name)
    CODECS.check_options(name, kwargs, option_flag)
    codec = entry.factory(**kwargs)
    if isinstance(codec, StructuredCodec) != entry.info["structured"]:
        promised = "a StructuredCodec" if entry.info["structured"] else "a plain Codec"
        raise TypeError(f"codec {name!r} is registered as {promised} but its factory built a {type(codec).__name__}")
    codec.name = name
    if not codec.qualities:
        codec.qualities = entry.info["qualities"]
    return codec


def codec_takes(name: str, option: str) -> bool:
    """Whether codec `name`'s factory takes the constructor option `option` (nothing is built)."""
    _load_builtin_codecs()
    return CODECS.takes(name, option)


def is_structured(name: str) -> bool:
    """Whether codec `name` is registered as a `StructuredCodec` (read from the registry; nothing is built)."""
    _load_builtin_codecs()
    return bool(CODECS.get(name).info["structured"])


def list_codecs() -> list[dict[str, Any]]:
    """Name, quality points, description and `available` ("" or why it cannot run here) of every codec."""
    _load_builtin_codecs()
    listed = []
    for name in CODECS.names():
        info = dict(CODECS.get(name).info)
        check = info.pop("check", None)
        listed.append({"name": name, **info, "available": check() if check else ""})
    return listed


def _load_builtin_codecs() -> None:
    """Import the modules that register the built-in codecs (done lazily to keep `import` cheap)."""
    from ssicbench.codecs import catalog, classical, external  # noqa: F401
