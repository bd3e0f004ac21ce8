"""AP-versus-bits tables, plots and BD-rate on AP from the task sweep's rows.

One table row per (codec, scenario, quality point): mean bpp / PSNR over the images, and COCO AP computed
jointly over all the point's images (as COCO does, not averaged per image) for every result type the
detector gives and the ground truth has, with `<type>_AP_low` / `<type>_AP_high`: the 95 % bootstrap interval of
AP over resamples of the point's images (`AP_SAMPLES` of them, fixed seed; NaN when too few resamples hold
ground truth). The AP plot draws that interval as a shaded band.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ssicbench.bootstrap import resamples
from ssicbench.errors import BenchError
from ssicbench.figures import save_figure
from ssicbench.report import bd_table
from ssicbench.results import Curve
from ssicbench.tasks.coco_data import TaskDataset, sub_ground_truth
from ssicbench.tasks.evaluate import coco_evaluate
from ssicbench.tasks.runner import REFERENCE, curve_name

__all__ = [
    "AP_SAMPLES",
    "MEAN_COLUMNS",
    "POINT",
    "ROW_COLUMNS",
    "ap_curves",
    "ap_table",
    "bd_rate_on_ap",
    "evaluable_types",
    "plot_ap",
    "rows_table",
    "write_task_report",
]

POINT = ["codec", "scenario", "quality"]
# Bootstrap resamples per AP interval: fewer than bootstrap.SAMPLES, as each one re-accumulates precision/recall
# per category in Python (matching is done once); enough for a 95 % interval to the table's precision.
AP_SAMPLES = 200
MEAN_COLUMNS = ["bpp", "bytes", "psnr", "psnr_region", "region_fraction", "encode_s", "decode_s", "detect_s"]
ROW_COLUMNS = [
    "codec",
    "scenario",
    "quality",
    "image_id",
    "status",
    "bytes",
    "bpp",
    "psnr",
    "psnr_region",
    "region_fraction",
    "groups",
    "encode_s",
    "decode_s",
    "detect_s",
    "error",
]


def evaluable_types(detector_types: Sequence[str], dataset: TaskDataset) -> list[str]:
    """The detector's result types that the ground truth can score (keypoints need keypoint annotations)."""
    return [t for t in detector_types if t != "keypoints" or dataset.has_keypoints()]


def ap_table(
    rows: Sequence[dict[str, Any]],
    dataset: TaskDataset,
    iou_types: Sequence[str],
    category_ids: Sequence[int] | None = None,
) -> pd.DataFrame:
    """Per (codec, scenario, quality): images, mean rate/distortion/timings, GT instances, `<type>_AP...` and
    the bootstrap interval `<type>_AP_low` / `<type>_AP_high` over resamples of the point's images.

    `category_ids` limits AP to the categories a detector can find (e.g. person for OpenCV's HOG).
    """
    ok = [r for r in rows if r.get("status") == "ok"]
    by_id = {a["id"]: a for a in dataset.gt["annotations"]}
    points: dict[tuple, list[dict[str, Any]]] = {}
    for row in ok:
        points.setdefault((row["codec"], row["scenario"], str(row["quality"])), []).append(row)
    table = []
    for (codec, scenario, quality), members in points.items():
        image_ids = [r["image_id"] for r in members]
        gt = sub_ground_truth(dataset.gt, image_ids, [by_id[i] for r in members for i in r["gt_ids"]])
        detections = [d for r in members for d in r["detections"]]
        entry: dict[str, Any] = {
            "codec": codec,
            "scenario": scenario,
            "quality": quality,
            "images": len(members),
            "gt_instances": len(gt["annotations"]),
            "detections": len(detections),
        }
        with np.errstate(all="ignore"), warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # PSNR in the region of images that sent no group
            entry.update({c: float(np.nanmean([r[c] for r in members])) for c in MEAN_COLUMNS})
        draws = resamples(len(gt["images"]), AP_SAMPLES)
        for iou_type in iou_types:
            stats = coco_evaluate(gt, detections, iou_type, category_ids, draws)
            entry.update({f"{iou_type}_{k}": v for k, v in stats.items()})
        table.append(entry)
    frame = pd.DataFrame(table)
    return frame.sort_values(["codec", "scenario", "bpp"]).reset_index(drop=True) if len(frame) else frame


def rows_table(rows: Sequence[dict[str, Any]]) -> pd.DataFrame:
    """Per-image rows without detections: the rate/distortion side of every job."""
    frame = pd.DataFrame([{c: r.get(c) for c in ROW_COLUMNS} for r in rows])
    return frame.sort_values(["codec", "scenario", "image_id", "bpp"]).reset_index(drop=True) if len(frame) else frame


def ap_curves(table: pd.DataFrame, metric: str, extra: Sequence[str] = ()) -> list[Curve]:
    """One curve per (codec, scenario) with bpp, `metric` and the `extra` columns by increasing rate, and its
    points' qualities (the reference excluded)."""
    curves = []
    for (codec, scenario), part in table[table["codec"] != REFERENCE].groupby(["codec", "scenario"], sort=False):
        part = part.sort_values("bpp")
        values = {"bpp": list(part["bpp"]), **{c: list(part[c]) for c in (metric, *extra)}}
        qualities = {"quality": list(part["quality"].astype(str))}
        curves.append(Curve(curve_name(codec, scenario), values, extra=qualities))
    return curves


def bd_rate_on_ap(table: pd.DataFrame, metric: str, anchor: str | None = None) -> pd.DataFrame:
    """BD-rate (%) of every curve against `anchor` (default: the first `full` curve) at equal `metric`.

    Each curve enters by its Pareto front (`report.pareto_front`: AP on few instances is noisy); NaN where a
    front has fewer than 4 points or the AP ranges do not overlap.
    """
    curves = ap_curves(table, metric)
    if not curves:
        return pd.DataFrame()
    if anchor is None:
        anchor = next((c.name for c in curves if c.name.endswith(" full")), curves[0].name)
    if anchor not in {c.name for c in curves}:
        raise BenchError(f"BD anchor {anchor!r} is not a curve; curves: {', '.join(c.name for c in curves)}")
    with np.errstate(all="ignore"):
        bd = bd_table(curves, anchor, metrics=(metric,))
    return bd.rename(columns={"codec": "curve"}).assign(anchor=anchor)


def plot_ap(
    table: pd.DataFrame, metrics: Sequence[str], path: str | Path, title: str = "", ground_truth: str = ""
) -> Path | None:
    """AP (percent) versus bpp, one panel per metric; the uncompressed reference as a dashed line.

    COCO's -1 (nothing to score, e.g. no ground truth in the decoded region) is left out, not drawn as -100 %.
    Where the table has `<metric>_low` / `<metric>_high` (the bootstrap interval), it is shaded around each
    curve and the reference line.
    `ground_truth` says what AP is measured against (e.g. "AP vs uncompressed detections"); it heads each panel.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    metrics = [m for m in metrics if m in table]
    if not metrics:
        return None
    fig, axes = plt.subplots(1, len(metrics), figsize=(6 * len(metrics), 4.5), squeeze=False)
    reference = table[table["codec"] == REFERENCE]
    for ax, metric in zip(axes[0], metrics):
        band = [c for c in (f"{metric}_low", f"{metric}_high") if c in table]
        for curve in ap_curves(table, metric, band):
            values = np.asarray(curve.metric(metric), float)
            (line,) = ax.plot(curve.bpp, 100 * np.where(values < 0, np.nan, values), marker="o", label=curve.name)
            if len(band) == 2:
                low, high = (100 * curve.metric(c) for c in band)
                ax.fill_between(curve.bpp, low, high, color=line.get_color(), alpha=0.15, linewidth=0)
        if len(reference) and reference[metric].iloc[0] >= 0:
            ax.axhline(100 * reference[metric].iloc[0], color="k", linestyle="--", label="uncompressed")
            span = [100 * reference[c].iloc[0] for c in band]
            if len(span) == 2 and np.isfinite(span).all():
                ax.axhspan(*span, color="k", alpha=0.08, linewidth=0)
        ax.set_xlabel("bits per pixel received")
        ax.set_ylabel(f"{metric.replace('_', ' ')} [%]")
        if ground_truth:
            ax.set_title(ground_truth, fontsize=9)
        ax.grid(True, alpha=0.3)
        ax.legend(fontsize=7)
    fig.suptitle(title)
    return save_figure(fig, path)


def write_task_report(
    rows: Sequence[dict[str, Any]],
    dataset: TaskDataset,
    iou_types: Sequence[str],
    out_dir: str | Path,
    anchor: str | None = None,
    title: str = "",
    category_ids: Sequence[int] | None = None,
    ground_truth: str = "",
) -> tuple[dict[str, Path], pd.DataFrame, pd.DataFrame | None]:
    """task_rows.csv, ap_vs_bpp.csv, ap_vs_bpp.png and bd_rate_ap.csv into `out_dir`; returns what it wrote, the
    AP table and the BD-rate on AP (None without one).

    `ground_truth` (what AP is measured against) becomes a column of the AP table and the plot's panel titles.
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    written = {"rows": out_dir / "task_rows.csv", "table": out_dir / "ap_vs_bpp.csv"}
    rows_table(rows).to_csv(written["rows"], index=False)
    table = ap_table(rows, dataset, iou_types, category_ids)
    if ground_truth and len(table):
        table.insert(3, "ground_truth", ground_truth)
    table.to_csv(written["table"], index=False)
    metrics = [f"{t}_AP" for t in iou_types]
    plot = plot_ap(table, metrics, out_dir / "ap_vs_bpp.png", title, ground_truth)
    if plot:
        written["plot"] = plot
    bd = [bd_rate_on_ap(table, m, anchor) for m in metrics if m in table]
    merged = None
    if bd and any(len(b) for b in bd):
        written["bd_rate"] = out_dir / "bd_rate_ap.csv"
        merged = bd[0]
        for extra in bd[1:]:
            merged = merged.merge(extra, on=["curve", "source", "published", "points", "anchor"])
        merged.to_csv(written["bd_rate"], index=False)
    return written, table, merged
