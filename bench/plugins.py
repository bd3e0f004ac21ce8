"""Plug-ins: a Python file (or an importable module) that registers codecs, datasets, detectors, scenarios or
executors by being imported. `run_bench.py --plugin my_codec.py rd ...` or
`SSICBENCH_PLUGINS=my_codec.py:other_module` loads them before the command line is read, so what they register
appears in choices and help. Each is loaded once per process (local worker processes inherit it)."""

from __future__ import annotations

import hashlib
import importlib
import importlib.util
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from types import ModuleType

from ssicbench.errors import UsageError

__all__ = ["PLUGINS_ENV", "load_plugin", "load_plugins", "plugins_in"]

PLUGINS_ENV = "SSICBENCH_PLUGINS"


def plugins_in(argv: Sequence[str]) -> list[str]:
    """The plug-ins named by `--plugin X` / `--plugin=X` among the options before the sub-command, then those of
    $SSICBENCH_PLUGINS (separated by the path separator)."""
    found, args = [], list(argv)
    for i, arg in enumerate(args):
        if not arg.startswith("-"):
            break  # the sub-command: what follows is its own
        if arg == "--plugin" and i + 1 < len(args):
            found.append(args[i + 1])
        elif arg.startswith("--plugin="):
            found.append(arg.partition("=")[2])
    return found + [p for p in os.environ.get(PLUGINS_ENV, "").split(os.pathsep) if p]


def load_plugin(spec: str) -> ModuleType:
    """Import the plug-in `spec`: a `.py` file path or a module name (UsageError when it cannot be imported)."""
    path = Path(spec)
    if spec.endswith(".py"):
        if not path.is_file():
            raise UsageError(f"--plugin {spec}: no such file")
        name = f"ssicbench_plugin_{path.stem}_{hashlib.sha1(str(path.resolve()).encode()).hexdigest()[:8]}"
        if name in sys.modules:
            return sys.modules[name]
        module_spec = importlib.util.spec_from_file_location(name, path)
        module = importlib.util.module_from_spec(module_spec)
        sys.modules[name] = module
        try:
            module_spec.loader.exec_module(module)
        except BaseException:
            del sys.modules[name]
            raise
        return module
    try:
        return importlib.import_module(spec)
    except ImportError as exc:
        raise UsageError(f"--plugin {spec}: cannot import it ({exc})") from None


def load_plugins(argv: Sequence[str]) -> list[ModuleType]:
    """Load every plug-in `plugins_in(argv)` names."""
    return [load_plugin(spec) for spec in plugins_in(argv)]
