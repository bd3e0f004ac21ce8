"""Registers the learned codecs (SSIC, CompressAI's zoo) by name without importing torch or CompressAI.

Their factories import the model code on first use; `zoo_catalog.json` lists the zoo's codecs, quality
points and official weight files (regenerate it with `python -m ssicbench.codecs.compressai_zoo`; a test
keeps it equal to the installed CompressAI's zoo). Each entry's `check` says whether it can run here.
"""

from __future__ import annotations

import importlib.util
import json
from collections.abc import Callable
from importlib import resources

from ssicbench.codecs.registry import LazyFactory, register_codec
from ssicbench.codecs.ssic.bundled import TINY_QUALITIES, TINY_WEIGHTS
from ssicbench.codecs.ssic.config import SSIC_VARIANTS
from ssicbench.weights import hub_checkpoint_dir

__all__ = ["ZOO_CATALOG"]


def _missing_libraries() -> str:
    missing = [m for m in ("torch", "compressai") if importlib.util.find_spec(m) is None]
    return f"library missing: {', '.join(missing)}" if missing else ""


def _needs_checkpoint() -> str:
    return _missing_libraries() or "checkpoint needed: --checkpoint PATH (official SSIC weights)"


def _tiny_check() -> str:
    absent = [str(path) for path in TINY_WEIGHTS.values() if not path.is_file()]
    return _missing_libraries() or (f"weights missing: {', '.join(absent)}" if absent else "")


def _zoo_check(files: list[str]) -> Callable[[], str]:
    def check() -> str:
        if _missing_libraries():
            return _missing_libraries()
        if not files:
            return "checkpoint needed: CompressAI publishes no weights; --weights FILE"
        folder = hub_checkpoint_dir()
        absent = [f for f in files if not (folder / f).is_file()]
        if absent:
            return f"weights missing: {len(absent)} of {len(files)} files not in {folder} (or --weights)"
        return ""

    return check


for _row in SSIC_VARIANTS.values():
    register_codec(
        _row.name,
        qualities=[1],
        description=_row.description,
        structured=_row.structured,
        check=_needs_checkpoint,
        weights="the official SSIC checkpoints (linked from the SSIC repository), given with --checkpoint",
    )(LazyFactory("ssicbench.codecs.ssic.codec", "make_ssic_codec", _row.variant))

register_codec(
    "ssic-tiny",
    qualities=TINY_QUALITIES,
    description="small SSIC (structured, channel-AR; 1.5 M parameters) bundled with the suite; one model per lambda",
    structured=True,
    check=_tiny_check,
    weights="demonstration weights, not the paper's model: trained on package photos, see configs/train/README.md",
)(LazyFactory("ssicbench.codecs.ssic.bundled", "ssic_tiny"))

ZOO_CATALOG = json.loads((resources.files("ssicbench.codecs") / "zoo_catalog.json").read_text())
for _name, _entry in ZOO_CATALOG["codecs"].items():
    register_codec(
        _name,
        qualities=_entry["qualities"],
        description=_entry["description"],
        check=_zoo_check(_entry["weights"]),
        weights="CompressAI's pretrained weights: torch hub cache or --weights",
    )(LazyFactory("ssicbench.codecs.compressai_zoo", "make_zoo_codec", _name))
