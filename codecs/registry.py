"""Codec registry: `create_codec("jpeg")` builds any codec by the name a config or CLI gives.

Classical codecs register when their module is imported; learned codecs register from `catalog` with
factories that import torch / CompressAI only when such a codec is built, so listing codecs and running
JPEG stay fast.
"""

from __future__ import annotations

import importlib
import inspect
from collections.abc import Callable, Sequence
from typing import Any

from ssicbench.codecs.base import Codec, StructuredCodec
from ssicbench.errors import UsageError
from ssicbench.registry import Registry

CODECS: Registry[Codec] = Registry("codec")

# Codec constructor options that have their own command-line flag; the others are `--option NAME=VALUE`.
OPTION_FLAGS = {"checkpoint": "--checkpoint", "config": "--model-config", "weights": "--weights", "device": "--device"}


def register_codec(name: str, qualities: Sequence[Any], description: str = "", structured: bool = False, **info: Any):
    """Decorator: register a Codec factory under `name` with its default sweep quality points.

    `structured=True` promises a `StructuredCodec` (group masks, partial decoding); planners read the flag
    without building the codec, and `create_codec` holds the factory to it. `info` may hold `check`: a
    callable returning "" when the codec can run here, else why not (binary missing, weights missing,
    checkpoint needed), shown by `run_bench.py codecs`.
    """
    return CODECS.register(name, qualities=tuple(qualities), description=description, structured=structured, **info)


class LazyFactory:
    """A factory named by module and attribute, imported on first call (keeps torch out of start-up)."""

    def __init__(self, module: str, attribute: str, *args: Any):
        self.module, self.attribute, self.args = module, attribute, args

    def resolve(self) -> Callable[..., Codec]:
        factory = getattr(importlib.import_module(self.module), self.attribute)
        return lambda **kwargs: factory(*self.args, **kwargs)

    def signature(self) -> inspect.Signature:
        factory = getattr(importlib.import_module(self.module), self.attribute)
        params = list(inspect.signature(factory).parameters.values())[len(self.args) :]
        return inspect.Signature(params)

    def __call__(self, **kwargs: Any) -> Codec:
        return self.resolve()(**kwargs)


def option_flag(name: str) -> str:
    """How a codec constructor option is spelled on the command line."""
    return OPTION_FLAGS.get(name, f"--option {name}=")


def check_options(name: str, factory: Callable[..., Codec], options: dict[str, Any]) -> None:
    """Refuse constructor options the codec does not take, naming them and the ones it does take (CLI terms)."""
    signature = factory.signature() if isinstance(factory, LazyFactory) else inspect.signature(factory)
    params = signature.parameters.values()
    if any(p.kind is p.VAR_KEYWORD for p in params):
        return
    accepted = [p.name for p in params if p.kind in (p.KEYWORD_ONLY, p.POSITIONAL_OR_KEYWORD)]
    unknown = [k for k in options if k not in accepted]
    if unknown:
        takes = ", ".join(option_flag(a) for a in accepted) or "no options"
        raise UsageError(f"codec {name} does not take {', '.join(option_flag(k) for k in unknown)} (it takes {takes})")


def create_codec(name: str, **kwargs: Any) -> Codec:
    """Build codec `name`; keyword arguments go to its factory (e.g. `checkpoint=`, `device=`)."""
    _load_builtin_codecs()
    entry = CODECS.get(name)
    check_options(name, entry.factory, kwargs)
    codec = entry.factory(**kwargs)
    if isinstance(codec, StructuredCodec) != entry.info["structured"]:
        promised = "a StructuredCodec" if entry.info["structured"] else "a plain Codec"
        raise TypeError(f"codec {name!r} is registered as {promised} but its factory built a {type(codec).__name__}")
    codec.name = name
    if not codec.qualities:
        codec.qualities = entry.info["qualities"]
    return codec


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
