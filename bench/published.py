"""Published Kodak RD curves shipped with the suite: curated sets by name, or files, folders and globs.

The curves are in data/published/ (see its PROVENANCE.md); the curated sets are in
data/published_sets.json. Loaded curves get unique labels: the training metric and the device that
CompressAI's file names carry (`compressai-mbt2018_mse_cpu.json` -> "mbt2018 (MSE, CPU)").
"""

from __future__ import annotations

import glob
import json
from collections.abc import Sequence
from importlib import resources
from pathlib import Path
from typing import Any

from ssicbench.errors import UnknownNameError
from ssicbench.results import Curve, PublishedDataError, read_compressai_json

__all__ = ["QUALIFIERS", "curated_sets", "load_published", "published_dir", "resolve_published", "unique_labels"]

QUALIFIERS = {"mse": "MSE", "ms-ssim": "MS-SSIM", "cpu": "CPU", "cuda": "CUDA"}


def published_dir() -> Path:
    """The folder of the shipped published results."""
    return Path(str(resources.files("ssicbench") / "data" / "published"))


def curated_sets() -> dict[str, dict[str, Any]]:
    """Name -> {"description", "files"} of the curated sets (file names or globs inside `published_dir()`)."""
    return json.loads((resources.files("ssicbench") / "data" / "published_sets.json").read_text())


def resolve_published(specs: Sequence[str]) -> list[Path]:
    """JSON files named by curated set names, files, folders (their *.json) or globs; duplicates dropped."""
    sets = curated_sets()
    paths: list[Path] = []
    for spec in specs:
        if spec in sets:
            found = [p for pattern in sets[spec]["files"] for p in sorted(published_dir().glob(pattern))]
        elif Path(spec).is_dir():
            found = sorted(Path(spec).glob("*.json"))
        elif Path(spec).is_file():
            found = [Path(spec)]
        elif glob.has_magic(spec):
            found = [Path(p) for p in sorted(glob.glob(spec))]
            if not found:
                raise UnknownNameError(f"published glob {spec!r} matches no file")
        else:
            raise UnknownNameError(
                f"unknown published set or file {spec!r}; curated sets: {', '.join(sets)}"
                " (or give JSON files, folders or a glob)"
            )
        paths.extend(p for p in found if p not in paths)
    return paths


def load_published(specs: Sequence[str]) -> list[Curve]:
    """The curves of `resolve_published(specs)`, validated, with unique labels."""
    curves = [read_compressai_json(p) for p in resolve_published(specs)]
    return unique_labels(curves)


def unique_labels(curves: list[Curve]) -> list[Curve]:
    """Name each curve after its file's qualifiers (metric, device) and, if names still repeat, its file."""
    for curve in curves:
        stem = Path(curve.extra.get("path", curve.name)).stem
        qualifiers = [QUALIFIERS[t] for t in stem.split("_")[1:] if t in QUALIFIERS]
        if qualifiers:
            curve.name = f"{curve.name} ({', '.join(qualifiers)})"
    names = [c.name for c in curves]
    for curve in curves:
        if names.count(curve.name) > 1:
            curve.name = f"{curve.name} [{Path(curve.extra.get('path', '')).name}]"
    if len({c.name for c in curves}) != len(curves):
        raise PublishedDataError("published curves with the same name and file name were given twice")
    return curves
