"""The browser report of a task study (`index.html`, as `ssicbench.html_report` draws it): AP versus bpp per
result type, the AP and BD-rate-on-AP tables, and the decodes the sweep kept with the detector's detections and
keypoints drawn, one curve per codec and scenario."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from ssicbench.coco_categories import COCO_CATEGORIES
from ssicbench.html_report import curve_data, finite, frame_table, page_dict, viewer_image, write_page_data
from ssicbench.tasks.ap_report import ap_curves
from ssicbench.tasks.coco_data import TaskDataset
from ssicbench.tasks.runner import REFERENCE, curve_name

__all__ = ["DRAW_SCORE", "write_task_page"]

DRAW_SCORE = 0.3  # detections drawn on the decodes: those scoring at least this (AP counts every one)
TABLE_COLUMNS = ["codec", "scenario", "quality", "images", "bpp", "psnr", "psnr_region", "region_fraction"]


def _detections(row: dict[str, Any], names: dict[int, str]) -> list[dict[str, Any]]:
    drawn = []
    for d in sorted(row.get("detections") or [], key=lambda d: -d["score"]):
        if d["score"] < DRAW_SCORE:
            break
        flat = d.get("keypoints") or []
        keypoints = [flat[i : i + 3] for i in range(0, len(flat) - 2, 3)]
        label = names.get(d.get("category_id"), str(d.get("category_id")))
        drawn.append({"box": d["bbox"], "label": label, "score": float(d["score"]), "keypoints": keypoints})
    return drawn


def _viewer(rows: Sequence[dict[str, Any]], dataset: TaskDataset, out_dir: Path) -> list[dict[str, Any]]:
    names = {c["id"]: c["name"] for c in dataset.gt.get("categories") or []} or dict(COCO_CATEGORIES)
    by_image: dict[int, list[dict[str, Any]]] = {}
    for row in rows:
        if row.get("status") == "ok":
            by_image.setdefault(row["image_id"], []).append(row)
    images = []
    for image_id, members in by_image.items():
        info = dataset.image_info(image_id)
        decodes = []
        for row in sorted(members, key=lambda r: (r["codec"], r["scenario"], r["bpp"])):
            shown = [["PSNR", f"{row['psnr']:.2f} dB"]]
            received = None
            if row.get("groups") is not None:
                received = f"groups {', '.join(map(str, row['groups']))}; {100 * row['region_fraction']:.1f} % decoded"
                shown.append(["PSNR of the decoded region", f"{row['psnr_region']:.2f} dB"])
            decodes.append(
                {
                    "curve": curve_name(row["codec"], row["scenario"]),
                    "quality": str(row["quality"]),
                    "bpp": float(row["bpp"]),
                    "metrics": shown,
                    "received": received,
                    "detections": _detections(row, names),
                    "kept": row.get("kept"),
                }
            )
        # the study's own reference rows ("original full") show the originals, with their detections
        found = viewer_image(
            info["file_name"], info["width"], info["height"], decodes, out_dir, out_dir, with_original=False
        )
        if found:
            images.append(found)
    return images


def write_task_page(
    rows: Sequence[dict[str, Any]],
    table: pd.DataFrame,
    iou_types: Sequence[str],
    dataset: TaskDataset,
    out_dir: str | Path,
    title: str,
    bd: pd.DataFrame | None = None,
) -> Path:
    """Write `index.html` of a task run into `out_dir` from its rows, its AP table (`ap_table`) and BD-rate on AP."""
    out_dir = Path(out_dir)
    metrics = [f"{t}_AP" for t in iou_types if f"{t}_AP" in table and table[f"{t}_AP"].notna().any()]
    shown = [
        {"name": m, "label": f"{m.removesuffix('_AP')} AP", "title": m.replace("_", " "), "higher_is_better": True}
        for m in metrics
    ]
    curves = [curve_data(c, metrics) for c in ap_curves(table, metrics[0], metrics[1:])] if metrics else []
    columns = [c for c in TABLE_COLUMNS if c in table] + [
        c for c in table if c.endswith(("_AP", "_AP_low", "_AP_high"))
    ]
    tables = [frame_table("ap_vs_bpp", "AP versus bpp (every rate point; AP over its images)", table[columns])]
    if bd is not None and len(bd):
        tables.append(frame_table("bd_rate_ap", "BD-rate on AP", bd))
    data = page_dict(title, shown, curves, tables, _viewer(rows, dataset, out_dir))
    reference = table[table["codec"] == REFERENCE]
    if len(reference):  # the detector on the uncompressed images: a horizontal line on each AP chart
        values = {m: finite(reference[m].iloc[0]) for m in metrics}
        data["references"] = [{"name": f"{REFERENCE} (uncompressed)", "values": values}]
    return write_page_data(out_dir, data)
