"""Reports: Bjontegaard deltas (BD-rate, BD-PSNR) against an anchor, and RD plots with published curves."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd
from scipy.interpolate import PchipInterpolator

from ssicbench.results import Curve

PLOT_METRICS = {"psnr": "PSNR RGB [dB]", "ms_ssim_db": "MS-SSIM RGB [dB]"}


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
    """BD-rate and BD-quality of every curve against the curve named `anchor`, per metric."""
    by_name = {c.name: c for c in curves}
    if anchor not in by_name:
        raise KeyError(f"anchor {anchor!r} is not among the curves: {', '.join(sorted(by_name))}")
    ref = by_name[anchor]
    rows = []
    for curve in curves:
        row = {"codec": curve.name, "published": curve.published, "points": len(curve.bpp)}
        for metric in metrics:
            a, t = ref.metric(metric), curve.metric(metric)
            usable = a is not None and t is not None and len(a) >= 4 and len(t) >= 4
            row[f"bd_rate_{metric}_%"] = bd_rate(ref.bpp, a, curve.bpp, t, method) if usable else np.nan
            row[f"bd_{metric}"] = bd_quality(ref.bpp, a, curve.bpp, t, method) if usable else np.nan
        rows.append(row)
    return pd.DataFrame(rows)


def plot_rd(curves: Sequence[Curve], metric: str, path: str | Path, title: str = "") -> Path | None:
    """Plot bpp vs `metric` for every curve that has it; published curves dashed. None if no curve has it."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    drawable = [c for c in curves if c.metric(metric) is not None]
    if not drawable:
        return None
    fig, ax = plt.subplots(figsize=(7, 5))
    for curve in drawable:
        style = dict(linestyle="--", marker=".", alpha=0.7) if curve.published else dict(linestyle="-", marker="o")
        label = f"{curve.name} (published)" if curve.published else curve.name
        ax.plot(curve.bpp, curve.metric(metric), label=label, **style)
    ax.set_xlabel("bits per pixel")
    ax.set_ylabel(PLOT_METRICS.get(metric, metric))
    ax.set_title(title)
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize=7, loc="lower right")
    return save_figure(fig, path)


def save_figure(fig, path: str | Path) -> Path:
    """Write a matplotlib figure as a PNG (creating its folder) and release it."""
    import matplotlib.pyplot as plt

    fig.tight_layout()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path


def write_report(curves: Sequence[Curve], out_dir: str | Path, anchor: str | None, title: str = "") -> dict[str, Path]:
    """BD tables (CSV + Markdown) and RD plots for PSNR and MS-SSIM into `out_dir`."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    written: dict[str, Path] = {}
    for metric in PLOT_METRICS:
        path = plot_rd(curves, metric, out_dir / f"rd_{metric}.png", title)
        if path:
            written[f"rd_{metric}"] = path
    if anchor:
        written["bd_table"] = write_bd_table(bd_table(curves, anchor), anchor, out_dir)
    return written


def write_bd_table(table: pd.DataFrame, anchor: str, out_dir: str | Path) -> Path:
    """A BD table as CSV (returned) and Markdown in `out_dir`."""
    out_dir = Path(out_dir)
    table.to_csv(out_dir / "bd_table.csv", index=False)
    (out_dir / "bd_table.md").write_text(
        f"BD against anchor `{anchor}`\n\n" + table.to_markdown(index=False, floatfmt=".2f") + "\n"
    )
    return out_dir / "bd_table.csv"
