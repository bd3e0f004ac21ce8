"""Result tables and RD curves: per-image rows, per-quality means, CompressAI's results-JSON format."""

from __future__ import annotations

import hashlib
import json
import math
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ssicbench import metrics
from ssicbench.errors import UsageError
from ssicbench.files import write_atomic
from ssicbench.jsonfile import read_json_object

__all__ = [
    "RATE_KEYS",
    "TIME_KEYS",
    "Curve",
    "PublishedDataError",
    "compressai_keys",
    "curve_file_name",
    "curves_from_summary",
    "mean_columns",
    "quality_columns",
    "read_compressai_json",
    "read_curves",
    "rows_frame",
    "summarize",
    "write_compressai_json",
    "write_tables",
]

# The columns of a row that are not a metric's (the metrics declare theirs, `ssicbench.metrics`) -> CompressAI key.
RATE_KEYS = {"bpp": "bpp", "bpp_whole": "bpp-whole-container", "region_fraction": "region-fraction"}
TIME_KEYS = {"encode_s": "encoding_time", "decode_s": "decoding_time"}


def compressai_keys() -> dict[str, str]:
    """Row column -> CompressAI results-JSON key: rates, every registered metric's columns, timings."""
    return {**RATE_KEYS, **metrics.compressai_keys(), **TIME_KEYS}


def mean_columns() -> list[str]:
    """The columns averaged over images per quality point, in table order."""
    return list(compressai_keys())


def quality_columns() -> list[str]:
    """The metric columns: a curve needs one of them."""
    return list(metrics.compressai_keys())


class PublishedDataError(UsageError):
    """A results JSON (published or ours) with a missing or malformed field."""


@dataclass
class Curve:
    """One RD curve: a name and, per metric, one value per rate point (sorted by rate)."""

    name: str
    values: dict[str, list[float]]
    description: str = ""
    published: bool = False
    figure_read: bool = False  # points read off a paper's figure (approximate), not measured
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def bpp(self) -> np.ndarray:
        return np.asarray(self.values["bpp"], dtype=float)

    def metric(self, name: str) -> np.ndarray | None:
        values = self.values.get(name)
        return None if values is None else np.asarray(values, dtype=float)


def rows_frame(rows: Iterable[dict[str, Any]]) -> pd.DataFrame:
    """Per-image rows as a table (failed jobs included, with their error)."""
    frame = pd.DataFrame(list(rows))
    if frame.empty:
        return frame
    for column in ("status", "error", "bpp"):  # present even when every job failed (or none did)
        if column not in frame:
            frame[column] = np.nan
    return frame.sort_values(["codec", "dataset", "image", "bpp"], na_position="last").reset_index(drop=True)


def summarize(frame: pd.DataFrame) -> pd.DataFrame:
    """Mean over images of each metric per codec, dataset and quality point (successful jobs only)."""
    ok = frame[frame["status"] == "ok"].copy()
    columns = [c for c in mean_columns() if c in ok]
    if ok.empty:
        return pd.DataFrame(columns=["codec", "dataset", "quality", *columns, "images"])
    ok["quality"] = ok["quality"].astype(str)
    grouped = ok.groupby(["codec", "dataset", "quality"], sort=False)
    summary = grouped[columns].mean()
    summary["images"] = grouped.size()
    return summary.reset_index().sort_values(["codec", "dataset", "bpp"]).reset_index(drop=True)


def curves_from_summary(summary: pd.DataFrame) -> list[Curve]:
    """One Curve per codec (and dataset), points sorted by bpp."""
    curves = []
    for (codec, dataset), part in summary.groupby(["codec", "dataset"], sort=True):
        part = part.sort_values("bpp")
        values = {k: part[k].tolist() for k in mean_columns() if k in part and part[k].notna().all()}
        curves.append(
            Curve(codec, values, description=f"SSIC-Bench on {dataset}", extra={"quality": part["quality"].tolist()})
        )
    return curves


def write_tables(frame: pd.DataFrame, out_dir: str | Path) -> pd.DataFrame:
    """Write rows and per-quality means as CSV and Parquet, and one CompressAI JSON per codec."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    frame.to_csv(out_dir / "rows.csv", index=False)
    frame.astype({"quality": str}).to_parquet(out_dir / "rows.parquet", index=False)
    summary = summarize(frame)
    summary.to_csv(out_dir / "summary.csv", index=False)
    folder = out_dir / "compressai"
    written = set()
    for curve in curves_from_summary(summary):
        written.add(write_compressai_json(curve, folder / curve_file_name(curve.name)))
    for stale in set(folder.glob("*.json")) - written:  # an earlier run's codecs: the report shows this run's
        stale.unlink()
    return summary


def curve_file_name(name: str) -> str:
    """The file of curve `name` in compressai/: the name itself where it is a safe file name, else a sanitised
    name plus a digest (a label such as '../x' or 'a/b' never writes outside the folder)."""
    safe = re.sub(r"[/\\\x00-\x1f\ud800-\udfff]", "_", name).lstrip(". ")[:100] or "_"
    if safe != name:
        safe += "-" + hashlib.sha1(name.encode("utf-8", "surrogatepass")).hexdigest()[:8]
    return f"{safe}.json"


def write_compressai_json(curve: Curve, path: str | Path) -> Path:
    """CompressAI's results format: {"name", "description", "results": {"bpp": [...], "psnr-rgb": [...]}}."""
    keys = compressai_keys()
    results = {keys[k]: [float(x) for x in v] for k, v in curve.values.items() if k in keys}
    if "quality" in curve.extra:
        results["quality"] = curve.extra["quality"]
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    text = json.dumps({"name": curve.name, "description": curve.description, "results": results}, indent=2)
    return write_atomic(path, text.encode())


def read_compressai_json(path: str | Path) -> Curve:
    """Load a published (or our own) CompressAI results JSON as a Curve, points sorted by bpp.

    Every field the suite uses is checked: a missing or malformed one is a PublishedDataError naming the file
    and the field, never a silently dropped curve or metric. Keys the suite does not know are ignored.
    """
    data = read_json_object(path, "results JSON")
    for key in ("name", "description"):
        if key in data and not isinstance(data[key], str):
            raise PublishedDataError(f"{path}: field '{key}' must be a string")
    if not isinstance(data.get("read_off_figure", False), bool):
        raise PublishedDataError(f"{path}: field 'read_off_figure' must be true or false")
    results = data.get("results")
    if not isinstance(results, dict):
        raise PublishedDataError(f"{path}: field 'results' is {'missing' if results is None else 'not an object'}")
    if "bpp" not in results:
        raise PublishedDataError(f"{path}: field 'results.bpp' is missing")
    keys = compressai_keys()
    ours = {v: k for k, v in keys.items()}
    values = {ours[k]: _numbers(path, k, v) for k, v in results.items() if k in ours}
    if not len(values["bpp"]) or min(values["bpp"]) <= 0:
        raise PublishedDataError(f"{path}: field 'results.bpp' must hold positive rates")
    rates = len(values["bpp"])
    for key, column in values.items():
        if len(column) != rates:
            raise PublishedDataError(f"{path}: field 'results.{keys[key]}' has {len(column)} values, 'bpp' has {rates}")
    if not any(k in values for k in quality_columns()):
        known = ", ".join(keys[k] for k in quality_columns())
        raise PublishedDataError(f"{path}: 'results' holds no quality metric ({known})")
    order = np.argsort(values["bpp"])
    values = {k: [v[i] for i in order] for k, v in values.items()}
    for c in metrics.columns():  # a column the curve lacks but can be had from one it has (MS-SSIM in dB)
        if c.derive and c.derive[0] in values and c.name not in values:
            values[c.name] = [c.derive[1](v) for v in values[c.derive[0]]]
    return Curve(
        data.get("name", Path(path).stem),
        values,
        data.get("description", ""),
        published=True,
        figure_read=data.get("read_off_figure", False),
        extra={"path": str(path), **_qualities(results.get("quality"), order)},
    )


def _qualities(value: Any, order: np.ndarray) -> dict[str, list[str]]:
    """{"quality": the rate points' codec qualities in bpp order} when the file has one per point (ours do)."""
    if not isinstance(value, list) or len(value) != len(order):
        return {}
    return {"quality": [str(value[i]) for i in order]}


def _numbers(path: str | Path, key: str, value: Any) -> list[float]:
    """`results.<key>` as a list of finite numbers, or a PublishedDataError naming the file and field."""
    if not isinstance(value, list) or not all(
        isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v) for v in value
    ):
        raise PublishedDataError(f"{path}: field 'results.{key}' must be a list of finite numbers")
    return [float(v) for v in value]


def read_curves(paths: Iterable[str | Path]) -> list[Curve]:
    """Curves from JSON files and folders of JSON files (e.g. ../shared/reference/compressai-kodak)."""
    curves = []
    for path in map(Path, paths):
        files = sorted(path.glob("*.json")) if path.is_dir() else [path]
        curves.extend(read_compressai_json(p) for p in files)
    return curves
