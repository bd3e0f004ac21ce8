"""Small name -> factory registries (one per kind: codecs, datasets, detectors, executors), as in detectron2/timm.

A factory owns its options: `create(name, **options)` refuses options the factory's signature does not take,
naming the ones it takes, so no caller needs to know which entry takes what.
"""

from __future__ import annotations

import functools
import inspect
import typing
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from ssicbench.errors import UnknownNameError, UsageError
from ssicbench.validate import MAX_FLOAT, check_value

__all__ = ["Entry", "Registry", "factory_options"]

T = TypeVar("T")


@dataclass
class Entry(Generic[T]):
    name: str
    factory: Callable[..., T]
    info: dict[str, Any] = field(default_factory=dict)


class Registry(Generic[T]):
    """Maps names to factories; `create(name, **kwargs)` builds an object from a string a config names."""

    def __init__(self, kind: str, sort: bool = True):
        self.kind = kind
        self.sort = sort  # names() sorted, or (False) in the order they were registered
        self._entries: dict[str, Entry[T]] = {}

    def register(self, name: str, factory: Callable[..., T] | None = None, **info: Any):
        """Register `factory` under `name`; usable as a decorator when `factory` is omitted."""

        def add(f: Callable[..., T]) -> Callable[..., T]:
            if name in self._entries:
                raise ValueError(f"{self.kind} {name!r} is already registered")
            self._entries[name] = Entry(name, f, dict(info))
            return f

        return add(factory) if factory is not None else add

    def get(self, name: str) -> Entry[T]:
        try:
            return self._entries[name]
        except KeyError:
            known = ", ".join(sorted(self._entries))
            raise UnknownNameError(f"unknown {self.kind} {name!r}; known: {known}") from None

    def create(self, name: str, **kwargs: Any) -> T:
        """Build `name` with `kwargs` (UsageError for an option its factory does not take)."""
        self.check_options(name, kwargs)
        return self.get(name).factory(**kwargs)

    def options(self, name: str) -> list[str] | None:
        """The options the factory of `name` takes (None: any, it takes **kwargs)."""
        return factory_options(self.get(name).factory)

    def takes(self, name: str, option: str) -> bool:
        """Whether the factory of `name` takes `option` (a factory of **kwargs takes every option)."""
        accepted = self.options(name)
        return accepted is None or option in accepted

    def check_options(
        self, name: str, options: Mapping[str, Any], spell: Callable[[str], str] = str, required: bool = False
    ) -> None:
        """UsageError naming the options of `options` that `name` does not take, and those it does (`spell`: how
        the command line writes an option); with `required`, also those it needs and `options` lacks."""
        if required:
            missing = [k for k in factory_required(self.get(name).factory) if k not in options]
            if missing:
                raise UsageError(f"{self.kind} {name} needs {' and '.join(map(spell, missing))}")
        accepted = self.options(name)
        unknown = [k for k in options if accepted is not None and k not in accepted]
        if unknown:
            takes = ", ".join(spell(a) for a in accepted or ()) or "no options"
            raise UsageError(f"{self.kind} {name} does not take {', '.join(map(spell, unknown))} (it takes {takes})")
        hints = factory_types(self.get(name).factory)
        for key, value in options.items():
            if key in hints:
                check_value(value, hints[key], f"{self.kind} {name}: {spell(key)}", low=-MAX_FLOAT)

    def names(self) -> list[str]:
        return sorted(self._entries) if self.sort else list(self._entries)

    def __contains__(self, name: str) -> bool:
        return name in self._entries


def factory_options(factory: Callable[..., Any]) -> list[str] | None:
    """The keyword options `factory` takes (None when it takes **kwargs)."""
    params = _signature(factory).parameters.values()
    if any(p.kind is p.VAR_KEYWORD for p in params):
        return None
    return [p.name for p in params if p.kind in (p.KEYWORD_ONLY, p.POSITIONAL_OR_KEYWORD)]


SIMPLE_TYPES = (bool, int, float, str)


def factory_types(factory: Callable[..., Any]) -> dict[str, Any]:
    """The options of `factory` annotated with a plain type (bool, int, float, str, or one of them or None), which
    `Registry.check_options` checks values against; options of other types are the factory's to check."""
    target = factory
    while isinstance(target, functools.partial):
        target = target.func
    if hasattr(target, "target"):  # a lazily imported factory
        target = target.target()
    try:
        hints = typing.get_type_hints(target.__init__ if inspect.isclass(target) else target)
    except Exception:  # annotations that do not resolve: nothing to check here
        return {}
    simple = {}
    for key, hint in hints.items():
        arms = [a for a in typing.get_args(hint) if a is not type(None)] if typing.get_args(hint) else [hint]
        if len(arms) == 1 and arms[0] in SIMPLE_TYPES and typing.get_origin(arms[0]) is None:
            simple[key] = hint
    return simple


def factory_required(factory: Callable[..., Any]) -> list[str]:
    """The keyword options `factory` has no default for."""
    return [
        p.name
        for p in _signature(factory).parameters.values()
        if p.default is p.empty and p.kind in (p.KEYWORD_ONLY, p.POSITIONAL_OR_KEYWORD)
    ]


def _signature(factory: Callable[..., Any]) -> inspect.Signature:
    """The factory's signature; a factory may state its own with a `signature()` method (a lazily imported one)."""
    return factory.signature() if hasattr(factory, "signature") else inspect.signature(factory)
