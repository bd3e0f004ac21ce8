"""The browser report, `index.html` in a results folder: interactive RD curves of every metric (measured and
published), the BD tables sortable with their intervals and the reasons for n/a, and an image viewer that
compares two decodes side by side or with a slider, zoomable, with the group-mask overlay and the groups each
partial decode received. Self-contained: its data is inlined and its script, style and pictures are files beside
it (`report/`), so it opens from file:// with no network."""

from __future__ import annotations

import html
import json
import math
import shutil
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ssicbench.figures import plotted_columns
from ssicbench.files import write_atomic
from ssicbench.metrics import column, columns
from ssicbench.report import bd_interval_note, bd_sections, curve_source
from ssicbench.results import Curve

__all__ = [
    "ASSETS",
    "PAGE",
    "curve_data",
    "finite",
    "disk_bytes",
    "frame_table",
    "page_data",
    "page_dict",
    "viewer_image",
    "write_page",
    "write_page_data",
]

PAGE = "index.html"
ASSETS = Path(__file__).parent / "data" / "page"  # report.js, report.css: copied to <results>/report/
TABLE_TITLES = {"bd_table": "BD, whole image", "bd_regions": "BD, regions (on the group masks)"}


def finite(value: Any) -> float | None:
    """A finite float for the page's JSON, None for NaN / missing (JSON has no NaN)."""
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


def curve_data(curve: Curve, metrics: Sequence[str]) -> dict[str, Any]:
    """A curve as the page draws it: its points' bpp, quality and the values of `metrics`."""
    qualities = curve.extra.get("quality") or [None] * len(curve.bpp)
    points = []
    for i, bpp in enumerate(curve.bpp):
        values = {m: finite(curve.values[m][i]) for m in metrics if m in curve.values}
        points.append({"bpp": finite(bpp), "quality": qualities[i], "values": values})
    return {"name": curve.name, "source": curve_source(curve), "description": curve.description, "points": points}


def _table_data(name: str, table: pd.DataFrame) -> dict[str, Any]:
    sections = [
        {
            "anchor": s.anchor,
            "header": s.header,
            "rows": [{"cells": c, "values": [finite(v) for v in v_]} for c, v_ in zip(s.cells, s.values)],
            "mean_of": s.mean_of,
        }
        for s in bd_sections(table)
    ]
    return {
        "name": name,
        "title": TABLE_TITLES[name],
        "interval": bd_interval_note(table),
        "sections": sections,
    }


def _received(row: Mapping[str, Any]) -> str | None:
    """'groups 1, 2 of 0, 1, 2, 3; 40.0 % of the pixels decoded' for a structured decode, None otherwise."""
    sent, held = row.get("groups_sent"), row.get("group_pixels")
    if not isinstance(sent, str) or not isinstance(held, str):
        return None
    sent_ids, held_ids = json.loads(sent), sorted(int(g) for g in json.loads(held))
    area = finite(row.get("region_fraction"))
    share = f"; {100 * area:.1f} % of the pixels decoded" if area is not None else ""
    return f"groups {', '.join(map(str, sent_ids))} of {', '.join(map(str, held_ids))}{share}"


def _decode_metrics(row: Mapping[str, Any]) -> list[list[str]]:
    shown = []
    for col in columns():
        value = finite(row.get(col.name))
        if value is not None:
            shown.append([col.title, f"{value:.4f}" if not col.unit else f"{value:.2f} {col.unit}"])
    return shown


def _viewer_data(rows: pd.DataFrame, out_dir: Path) -> list[dict[str, Any]]:
    """The viewer's images of rd runs' rows (`_root`: the results folder of each row): the decodes their sweeps
    kept (the row's `kept` files), and how many decodes of the image were not kept."""
    if rows.empty or "_root" not in rows or "kept" not in rows:
        return []
    roots = list(dict.fromkeys(rows["_root"]))
    images = []
    for (root, name), part in rows[rows["status"] == "ok"].groupby(["_root", "image"], sort=False):
        decodes = [
            {
                "curve": row["codec"],
                "quality": str(row["quality"]),
                "bpp": float(row["bpp"]),
                "metrics": _decode_metrics(row),
                "received": _received(row),
                "kept": json.loads(row["kept"]) if isinstance(row["kept"], str) else None,
            }
            for _, row in part.sort_values(["codec", "bpp"]).iterrows()
        ]
        first = part.iloc[0]
        tag = f"run{roots.index(root) + 1}"
        found = viewer_image(name, int(first["width"]), int(first["height"]), decodes, Path(root), out_dir, tag)
        if found:
            images.append(found)
    return images


def viewer_image(
    name: str,
    width: int,
    height: int,
    decodes: Sequence[dict[str, Any]],
    root: Path,
    out_dir: Path,
    tag: str = "",
    with_original: bool = True,
) -> dict[str, Any] | None:
    """One image of the viewer from its `decodes` (each with curve, quality, bpp, metrics as [name, text] pairs,
    the files `kept` for it under results folder `root` or None, and optionally what it received and its
    detections), linked from `out_dir` (copied under `report/from/<tag>/` when `root` is another folder), and
    `with_original` the original as one more choice ("original", 24 bpp); None when no decode of it was kept."""
    shown = []
    for decode in decodes:
        kept = decode.get("kept") or {}
        if kept and all((root / path).is_file() for path in kept.values()):
            links = {key: _place(root / path, root, out_dir, tag) for key, path in kept.items()}
            entry = {k: v for k, v in decode.items() if k != "kept"}
            entry.update(src=links["decode"], original=links["original"], overlay=links.get("overlay"))
            shown.append(entry)
    if not shown:
        return None
    not_kept = len(decodes) - len(shown)
    if with_original:  # the uncompressed image, to compare any decode with
        first = shown[0]
        source = {"curve": "original", "quality": "-", "bpp": 24.0, "metrics": [], "received": None}
        shown.append({**source, "src": first["original"], "original": first["original"], "overlay": first["overlay"]})
    return {
        "name": name,
        "width": width,
        "height": height,
        "decodes": shown,
        "not_kept": not_kept,
    }


def frame_table(name: str, title: str, frame: pd.DataFrame, digits: int = 4) -> dict[str, Any]:
    """Any table (an AP table, a BD-rate on AP) as one sortable section of the page: whole numbers as they are,
    other numbers to `digits`, NaN as n/a, text as it is."""
    header = [str(c) for c in frame.columns]
    rows = []
    for _, row in frame.iterrows():
        cells, values = [], []
        for value in row:
            text = isinstance(value, (str, bool))
            number = None if text else finite(value)
            values.append(number)
            if text:
                cells.append(str(value))
            elif number is None:
                cells.append("n/a")
            else:
                cells.append(str(int(number)) if float(number).is_integer() else f"{number:.{digits}f}")
        rows.append({"cells": cells, "values": values})
    section = {"anchor": "", "header": header, "rows": rows, "mean_of": ""}
    return {"name": name, "title": title, "interval": "", "sections": [section]}


def _place(path: Path, root: Path, out_dir: Path, tag: str) -> str:
    """`path` (under results folder `root`) as the page in `out_dir` links it: where it is when `root` is
    `out_dir`, else copied to `report/from/<tag>/` there (each run its own folder: no picture overwrites another)."""
    relative = path.relative_to(root)
    if root.resolve() == out_dir.resolve():
        return relative.as_posix()
    target = Path("report") / "from" / tag / relative
    (out_dir / target).parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(path, out_dir / target)
    return target.as_posix()


def page_data(
    curves: Sequence[Curve],
    tables: Mapping[str, pd.DataFrame],
    title: str,
    rows: pd.DataFrame | None,
    out_dir: str | Path,
) -> dict[str, Any]:
    """Everything the page of an rd run shows, as JSON-ready data: metrics, curves, BD tables and the image
    viewer's images (`rows`: per-image rows with a `_root` column naming the results folder each came from)."""
    plotted = [m for m in plotted_columns() if any(_has_values(c, m) for c in curves)]
    metrics = []
    for name in plotted:
        col = column(name)
        metrics.append({"name": name, "label": col.label, "title": col.title, "higher_is_better": col.higher_is_better})
    tables_data = [_table_data(name, t) for name, t in tables.items() if name in TABLE_TITLES and len(t)]
    images = _viewer_data(rows if rows is not None else pd.DataFrame(), Path(out_dir))
    return page_dict(title, metrics, [curve_data(c, plotted) for c in curves], tables_data, images)


def _has_values(curve: Curve, metric: str) -> bool:
    values = curve.metric(metric)
    return values is not None and bool(np.isfinite(values).any())


def page_dict(
    title: str, metrics: Sequence[dict], curves: Sequence[dict], tables: Sequence[dict], images: Sequence[dict]
) -> dict[str, Any]:
    """The page's data from its parts: `metrics` (name, label, title, higher_is_better), `curves` (`curve_data`),
    `tables` (`frame_table` or the BD sections) and the viewer's `images` (`viewer_image`)."""
    return {
        "title": title or "SSIC-Bench results",
        "generated": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "metrics": list(metrics),
        "curves": list(curves),
        "tables": list(tables),
        "images": list(images),
    }


def write_page(
    out_dir: str | Path,
    curves: Sequence[Curve],
    tables: Mapping[str, pd.DataFrame],
    title: str,
    rows: pd.DataFrame | None = None,
) -> Path:
    """Write the page of an rd run (`page_data`) and its assets into `out_dir`; returns the page's path."""
    return write_page_data(out_dir, page_data(curves, tables, title, rows, out_dir))


def write_page_data(out_dir: str | Path, data: Mapping[str, Any]) -> Path:
    """Write `index.html` showing `data` (as `page_data` makes it) and its script and style into `out_dir`."""
    out_dir = Path(out_dir)
    assets = out_dir / "report"
    assets.mkdir(parents=True, exist_ok=True)
    for name in ("report.js", "report.css"):
        write_atomic(assets / name, (ASSETS / name).read_bytes())
    inline = json.dumps(data, allow_nan=False).replace("</", "<\\/")  # no "</script>" can end the data early
    title = html.escape(data["title"], quote=False)
    page = (ASSETS / "index.html").read_text().replace("{{title}}", title).replace("{{data}}", inline)
    return write_atomic(out_dir / PAGE, page.encode())


def disk_bytes(out_dir: str | Path) -> int:
    """The page's size on disk: `index.html` plus everything under `report/`."""
    out_dir = Path(out_dir)
    files = [out_dir / PAGE, *(p for p in (out_dir / "report").rglob("*") if p.is_file())]
    return sum(p.stat().st_size for p in files if p.is_file())
