"""The codec registry: `register_codec` records a factory by name with its quality points and facts; building
by name is `ssicbench.codecs.factory.create_codec`.

Classical codecs register when their module is imported; learned codecs register from `catalog` with
factories that import torch / CompressAI only when such a codec is built, so listing codecs and running
JPEG stay fast.
"""

from __future__ import annotations

import importlib
import inspect
from collections.abc import Callable, Sequence
from typing import Any

from ssicbench.codecs.base import Codec
from ssicbench.registry import Registry

__all__ = ["CODECS", "OPTION_FLAGS", "LazyFactory", "option_flag", "register_codec"]

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

    def target(self) -> Callable[..., Codec]:
        """The factory itself (importing its module)."""
        return getattr(importlib.import_module(self.module), self.attribute)

    def resolve(self) -> Callable[..., Codec]:
        factory = self.target()
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
