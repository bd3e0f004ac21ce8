"""Reports: Bjontegaard deltas (BD-rate, BD-PSNR) against anchors, with the reason where a delta cannot be had."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd
from scipy.interpolate import PchipInterpolator

from ssicbench.figures import PLOT_METRICS, plot_rd
from ssicbench.files import write_atomic
from ssicbench.results import Curve

__all__ = [
    "METRIC_NAMES",
    "MIN_BD_POINTS",
    "bd_markdown",
    "bd_quality",
    "bd_rate",
    "bd_table",
    "bd_tables",
    "curve_source",
    "pareto_front",
    "write_bd_table",
    "write_report",
]

METRIC_NAMES = {"psnr": "PSNR", "ms_ssim_db": "MS-SSIM", "psnr_region": "region PSNR"}


def _integral(x: np.ndarray, y: np.ndarray, low: float, high: float, method: str) -> float:
    """Integral over [low, high] of y(x) interpolated through the points (cubic fit or PCHIP)."""
    order = np.argsort(x)
    x, y = x[order], y[order]
    if method == "cubic":
        poly = np.polyint(np.polyfit(x, y, 3))
        return float(np.polyval(poly, high) - np.polyval(poly, low))
    if method == "pchip":
        return float(PchipInterpolator(x, y).integrate(low, high))
    raise ValueError(f"unknown BD interpolation {method!r} (cubic, pchip)")


def _delta(xa: np.ndarray, ya: np.ndarray, xt: np.ndarray, yt: np.ndarray, method: str) -> float:
    """Mean vertical gap between two curves y(x) over the overlap of their x ranges."""
    low, high = max(xa.min(), xt.min()), min(xa.max(), xt.max())
    if high <= low:
        return float("nan")
    return (_integral(xt, yt, low, high, method) - _integral(xa, ya, low, high, method)) / (high - low)


def bd_rate(
    rate_a: Sequence[float],
    dist_a: Sequence[float],
    rate_t: Sequence[float],
    dist_t: Sequence[float],
    method: str = "cubic",
) -> float:
    """Bjontegaard delta rate in percent: average rate change of the test curve at equal quality (<0 is better)."""
    log_a, log_t = np.log10(np.asarray(rate_a, float)), np.log10(np.asarray(rate_t, float))
    gap = _delta(np.asarray(dist_a, float), log_a, np.asarray(dist_t, float), log_t, method)
    return float((10.0**gap - 1.0) * 100.0)


def bd_quality(
    rate_a: Sequence[float],
    dist_a: Sequence[float],
    rate_t: Sequence[float],
    dist_t: Sequence[float],
    method: str = "cubic",
) -> float:
    """Bjontegaard delta quality (e.g. BD-PSNR in dB): average quality gain at equal rate (>0 is better)."""
    log_a, log_t = np.log10(np.asarray(rate_a, float)), np.log10(np.asarray(rate_t, float))
    return _delta(log_a, np.asarray(dist_a, float), log_t, np.asarray(dist_t, float), method)


def bd_table(
    curves: Sequence[Curve], anchor: str, metrics: Sequence[str] = ("psnr", "ms_ssim_db"), method: str = "cubic"
) -> pd.DataFrame:
    """BD-rate and BD-quality of every curve against the curve named `anchor`, per metric.

    A cell that cannot be computed is NaN and its reason is in the `<metric>_note` column (empty when computed).
    """
    by_name = {c.name: c for c in curves}
    if anchor not in by_name:
        raise KeyError(f"anchor {anchor!r} is not among the curves: {', '.join(sorted(by_name))}")
    ref = by_name[anchor]
    rows = []
    for curve in curves:
        row = {"codec": curve.name, "source": curve_source(curve), "published": curve.published}
        row["points"] = len(curve.bpp)
        for metric in metrics:
            rate, quality, note = _bd_cells(ref, curve, metric, method)
            row[f"bd_rate_{metric}_%"], row[f"bd_{metric}"], row[f"{metric}_note"] = rate, quality, note
        rows.append(row)
    return pd.DataFrame(rows)


MIN_BD_POINTS = 4  # the cubic fit of the Bjontegaard method needs four points


def _bd_cells(ref: Curve, curve: Curve, metric: str, method: str) -> tuple[float, float, str]:
    """(BD-rate %, BD-quality, reason) of `curve` against `ref`; the reason is empty when both are computed."""
    name = METRIC_NAMES.get(metric, metric)
    a, t = ref.metric(metric), curve.metric(metric)
    if t is None:
        if metric == "psnr" and curve.metric("psnr_region") is not None:
            return np.nan, np.nan, "measured inside the decoded region only (partial decoding), not whole-image"
        return np.nan, np.nan, f"curve has no {name}"
    if a is None:
        return np.nan, np.nan, f"anchor has no {name}"
    (ref_bpp, a), (bpp, t) = pareto_front(ref.bpp, a), pareto_front(curve.bpp, t)
    for who, values, total in (("curve", t, curve.bpp), ("anchor", a, ref.bpp)):
        if len(values) < MIN_BD_POINTS:
            beaten = f" ({len(total) - len(values)} beaten by a cheaper point)" if len(total) > len(values) else ""
            return np.nan, np.nan, f"{who} has {len(values)} rate point(s){beaten}; BD needs >= {MIN_BD_POINTS}"
    with np.errstate(all="ignore"):
        rate = bd_rate(ref_bpp, a, bpp, t, method)
        quality = bd_quality(ref_bpp, a, bpp, t, method)
    reasons = []
    if not np.isfinite(rate):
        reasons.append(f"BD-rate: {name} ranges do not overlap" if _disjoint(a, t) else "BD-rate: not finite")
    if not np.isfinite(quality):
        reasons.append(
            "BD-quality: rate ranges do not overlap" if _disjoint(ref.bpp, curve.bpp) else "BD-quality: not finite"
        )
    rate, quality = (v if np.isfinite(v) else np.nan for v in (rate, quality))
    return rate, quality, "; ".join(reasons)


def pareto_front(bpp: Sequence[float], quality: Sequence[float]) -> tuple[np.ndarray, np.ndarray]:
    """The points of a curve that no cheaper point beats (quality rising with rate), by increasing rate.

    BD-rate integrates rate as a function of quality, which needs quality to rise with rate; a point whose
    quality a cheaper point already reaches (noisy metrics such as AP on few instances) is not an operating
    point anyone would choose, so BD uses the front, as operational rate-distortion curves do.
    """
    order = np.argsort(np.asarray(bpp, float), kind="stable")
    rates, values = np.asarray(bpp, float)[order], np.asarray(quality, float)[order]
    keep = values > np.concatenate([[-np.inf], np.maximum.accumulate(values)[:-1]])
    return rates[keep], values[keep]


def _disjoint(a: np.ndarray, b: np.ndarray) -> bool:
    return min(a.max(), b.max()) <= max(a.min(), b.min())


def curve_source(curve: Curve) -> str:
    """Where a curve's numbers come from, as tables and legends say it."""
    if curve.figure_read:
        return "read off a figure"
    return "published" if curve.published else "measured"


def bd_tables(curves: Sequence[Curve], anchors: Sequence[str], method: str = "cubic") -> pd.DataFrame:
    """`bd_table` against each anchor that is among the curves, stacked with an `anchor` column."""
    names = {c.name for c in curves}
    tables = [bd_table(curves, a, method=method).assign(anchor=a) for a in anchors if a in names]
    if not tables:
        return pd.DataFrame()
    table = pd.concat(tables, ignore_index=True)
    return table[["anchor", *[c for c in table.columns if c != "anchor"]]]


def bd_markdown(table: pd.DataFrame) -> str:
    """The BD table as Markdown, one section per anchor; cells that cannot be computed say n/a and why."""
    metrics = [c[len("bd_rate_") : -len("_%")] for c in table.columns if c.startswith("bd_rate_")]
    parts = []
    for anchor, part in table.groupby("anchor", sort=False):
        header = ["curve", "source", "points"]
        for m in metrics:
            header += [f"BD-rate {METRIC_NAMES.get(m, m)} [%]", f"BD-{METRIC_NAMES.get(m, m)} [dB]"]
        lines = ["| " + " | ".join([*header, "why n/a"]) + " |", "|" + "---|" * (len(header) + 1)]
        for _, row in part.iterrows():
            cells = [str(row["codec"]), str(row["source"]), str(row["points"])]
            notes = []
            for m in metrics:
                cells += [_cell(row[f"bd_rate_{m}_%"], "+.1f"), _cell(row[f"bd_{m}"], "+.2f")]
                if row.get(f"{m}_note"):
                    notes.append(f"{METRIC_NAMES.get(m, m)}: {row[f'{m}_note']}")
            lines.append("| " + " | ".join([*cells, "; ".join(notes)]) + " |")
        parts.append(f"BD against `{anchor}` (negative BD-rate = fewer bits at equal quality)\n\n" + "\n".join(lines))
    return "\n\n".join(parts) + "\n"


def _cell(value: float, fmt: str) -> str:
    return "n/a" if pd.isna(value) else format(value, fmt)


def write_bd_table(table: pd.DataFrame, out_dir: str | Path) -> Path:
    """A BD table (from `bd_tables`) as CSV (returned) and Markdown in `out_dir`."""
    out_dir = Path(out_dir)
    table.to_csv(out_dir / "bd_table.csv", index=False)
    write_atomic(out_dir / "bd_table.md", bd_markdown(table).encode())
    return out_dir / "bd_table.csv"


def write_report(
    curves: Sequence[Curve], out_dir: str | Path, anchors: Sequence[str] = (), title: str = ""
) -> dict[str, Path]:
    """RD plots for PSNR and MS-SSIM and, against each anchor among the curves, BD tables (CSV + Markdown)."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    written: dict[str, Path] = {}
    for metric in PLOT_METRICS:
        path = plot_rd(curves, metric, out_dir / f"rd_{metric}.png", title)
        if path:
            written[f"rd_{metric}"] = path
    table = bd_tables(curves, anchors)
    if len(table):
        written["bd_table"] = write_bd_table(table, out_dir)
    return written
