"""JSON files a user names on the command line (configs, published curves): read with one-line errors."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from ssicbench.errors import UsageError
from ssicbench.files import require_regular_file

__all__ = ["read_json_file", "read_json_object"]


def read_json_file(path: str | Path, what: str = "JSON file") -> Any:
    """The JSON value in `path`; a missing, unreadable or non-JSON file is a UsageError naming `what`."""
    path = Path(path)
    if path.exists():
        require_regular_file(path, what)
    try:
        text = path.read_text()
    except FileNotFoundError:
        raise UsageError(f"{what} {path} does not exist") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise UsageError(
            f"{what} {path} cannot be read ({getattr(exc, 'strerror', None) or exc.__class__.__name__})"
        ) from None
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise UsageError(f"{what} {path} is not JSON ({exc.msg} at line {exc.lineno} column {exc.colno})") from None
    except RecursionError:
        raise UsageError(f"{what} {path} is nested too deeply to be a config or curve file") from None
    except ValueError as exc:  # e.g. an integer of more digits than Python converts
        raise UsageError(f"{what} {path} is not usable JSON ({exc})") from None


def read_json_object(path: str | Path, what: str = "JSON file") -> dict[str, Any]:
    """Like `read_json_file`, and the value must be a JSON object."""
    value = read_json_file(path, what)
    if not isinstance(value, dict):
        raise UsageError(f"{what} {path} must hold a JSON object, not a {type(value).__name__}")
    return value
