"""One check of the JSON values a user writes (run configs, their sections, COCO files) against the types the
code reads them as, so a wrong type, NaN, a negative count or a huge number is a one-line UsageError naming the
key, never a traceback later.

A dataclass field states its type by annotation and its bounds and choices with `spec(...)`.
"""

from __future__ import annotations

import dataclasses
import math
import types
import typing
from collections.abc import Mapping, Sequence
from typing import Any

from ssicbench.errors import UsageError

__all__ = ["MAX_FLOAT", "MAX_INT", "check_fields", "check_value", "spec"]

MAX_INT = 2**31 - 1  # counts, sizes and seeds beyond this are mistakes (and overflow torch and numpy)
MAX_FLOAT = 1e12


def spec(default: Any = dataclasses.MISSING, *, low: float = 0, high: float | None = None, choices=(), factory=None):
    """A dataclass field with bounds (`low` <= value <= `high`, for numbers and list elements) or `choices`."""
    metadata = {"low": low, "high": high, "choices": tuple(choices)}
    if factory is not None:
        return dataclasses.field(default_factory=factory, metadata=metadata)
    return dataclasses.field(default=default, metadata=metadata)


def check_fields(cls: type, data: Mapping[str, Any], where: str, prefix: str = "") -> None:
    """Check each value of `data` against the annotation and `spec` bounds of the field of `cls` it sets;
    messages start with `where` (the file) and name the key (`prefix` + field name)."""
    hints = typing.get_type_hints(cls)
    for f in dataclasses.fields(cls):
        if f.name in data:
            check_value(data[f.name], hints[f.name], f"{where}: {prefix}{f.name}", **f.metadata)


def check_value(value: Any, kind: Any, where: str, low: float = 0, high: float | None = None, choices=()) -> None:
    """UsageError unless `value` is of type `kind` (bool, int, float, str, list[...], dict, Optional, a dataclass)
    and, for numbers, finite and inside [`low`, `high`]; for strings, one of `choices` when given. `where` is
    "<file>: <key>"."""
    origin, args = typing.get_origin(kind), typing.get_args(kind)
    if kind is Any:
        return
    if origin in (typing.Union, types.UnionType):
        if value is None and type(None) in args:
            return
        kind = next(a for a in args if a is not type(None))
        origin, args = typing.get_origin(kind), typing.get_args(kind)
    if kind is bool:
        if not isinstance(value, bool):
            raise UsageError(f"{where}: expected true or false, got {value!r}")
    elif kind in (int, float):
        _check_number(value, kind, where, low, MAX_INT if kind is int and high is None else high)
    elif kind is str:
        if not isinstance(value, str):
            raise UsageError(f"{where}: expected a string, got {_shown(value)}")
        if choices and value not in choices:
            raise UsageError(f"{where}: expected one of {', '.join(choices)}, got {value!r}")
    elif origin in (list, Sequence) or kind is list:
        if not isinstance(value, list):
            raise UsageError(f"{where}: expected a list, got {_shown(value)}")
        item = args[0] if args else Any
        for i, element in enumerate(value):
            check_value(element, item, f"{where}[{i}]", low, high, choices)
    elif origin in (dict, Mapping) or kind is dict:
        if not isinstance(value, Mapping):
            raise UsageError(f"{where}: expected an object {{...}}, got {_shown(value)}")
    elif dataclasses.is_dataclass(kind):
        if isinstance(value, str) and hasattr(kind, "of"):  # a section given by its kind, e.g. "executor": "ray"
            return
        if not isinstance(value, Mapping):
            raise UsageError(f"{where}: expected an object {{...}}, got {_shown(value)}")
        file, _, key = where.rpartition(": ")
        check_fields(kind, value, file, f"{key}.")


def _check_number(value: Any, kind: type, where: str, low: float, high: float | None) -> None:
    whole = kind is int
    if isinstance(value, bool) or not isinstance(value, int if whole else (int, float)):
        raise UsageError(f"{where}: expected a {'whole number' if whole else 'number'}, got {_shown(value)}")
    if not whole and not math.isfinite(value):
        raise UsageError(f"{where}: expected a finite number, got {value!r}")
    top = MAX_FLOAT if high is None else high
    if not low <= value <= top:
        raise UsageError(f"{where}: expected a number in [{low:g}, {top:g}], got {value!r}")


def _shown(value: Any) -> str:
    text = repr(value)
    return f"{type(value).__name__} {text if len(text) <= 40 else text[:37] + '...'}"
