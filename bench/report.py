"""Reports: Bjontegaard deltas (BD-rate, BD-PSNR) against anchors, with the reason where a delta cannot be had and,
for curves measured here, a bootstrap confidence interval over images."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from scipy.interpolate import PchipInterpolator

from ssicbench import bootstrap
from ssicbench.figures import plot_rd, plotted_columns
from ssicbench.files import write_atomic
from ssicbench.markdown import markdown_table
from ssicbench.metrics import Column, bd_columns, column, columns
from ssicbench.results import Curve

__all__ = [
    "JPEG_AI_METRICS",
    "MIN_BD_POINTS",
    "PerImage",
    "BDSection",
    "bd_interval_note",
    "bd_markdown",
    "bd_sections",
    "bd_metrics",
    "bd_quality",
    "bd_rate",
    "bd_table",
    "bd_tables",
    "table_metrics",
    "curve_source",
    "declared_column",
    "format_bd",
    "pareto_front",
    "per_image",
    "write_bd_table",
    "write_report",
]

# JPEG AI's common test conditions judge codecs on these seven metrics, BD-rate per metric and averaged; the
# average here is over those the suite has (the `jpeg_ai` columns) and says which entered.
JPEG_AI_METRICS = ("MS-SSIM", "IW-SSIM", "VIF", "FSIM", "NLPD", "PSNR-HVS-M", "VMAF")


def bd_metrics(curves: Sequence[Curve], region: bool = False) -> list[str]:
    """The BD columns (`metrics.bd_columns`) some curve of `curves` has, in registry order."""
    return [c.name for c in bd_columns(region) if any(curve.metric(c.name) is not None for curve in curves)]


def declared_column(name: str) -> Column:
    """The registered column `name`, or a plain higher-is-better one in dB for a column no metric declares."""
    return column(name) or Column(name, name, short=name)


def _sign(name: str) -> float:
    """+1 for a quality (higher is better), -1 for a distance such as LPIPS: BD fits quality rising with rate."""
    return 1.0 if declared_column(name).higher_is_better else -1.0


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


@dataclass
class PerImage:
    """One measured curve's per-image values: `values[column]` is (rate points x images), rate points in the
    curve's order (by mean bpp), images in `images`' order; only images measured at every rate point."""

    images: list[str]
    values: dict[str, np.ndarray]

    def take(self, column: str, images: Sequence[str]) -> np.ndarray | None:
        """The (rate points x `images`) values of `column`; None when it was not measured on every one."""
        if column not in self.values:
            return None
        where = {name: i for i, name in enumerate(self.images)}
        return self.values[column][:, [where[name] for name in images]]


def per_image(frame: pd.DataFrame) -> dict[str, PerImage]:
    """Curve name -> its per-image values, from the rows of a run (successful rows only)."""
    ok = frame[frame["status"] == "ok"] if "status" in frame else frame
    out = {}
    for codec, part in ok.groupby("codec", sort=False):
        bpp = part.pivot_table(index="quality", columns="image", values="bpp", aggfunc="first")
        bpp = bpp.dropna(axis=1)
        if bpp.empty:
            continue
        order = bpp.mean(axis=1).sort_values(kind="stable").index
        bpp = bpp.loc[order]
        values = {"bpp": bpp.to_numpy(float)}
        for name in (c.name for c in columns() if c.bd):
            if name in part:
                table = part.pivot_table(index="quality", columns="image", values=name, aggfunc="first", dropna=False)
                table = table.reindex(index=order, columns=bpp.columns)
                if table.notna().all().all():
                    values[name] = table.to_numpy(float)
        out[str(codec)] = PerImage([str(c) for c in bpp.columns], values)
    return out


def bd_table(
    curves: Sequence[Curve],
    anchor: str,
    metrics: Sequence[str] | None = None,
    method: str = "cubic",
    images: Mapping[str, PerImage] | None = None,
) -> pd.DataFrame:
    """BD-rate and BD-quality of every curve against the curve named `anchor`, per metric (None: every whole-image
    BD column some curve has), and the JPEG-AI-style mean BD-rate (`jpeg_ai_mean`) when the metrics hold some of
    `JPEG_AI_METRICS`.

    A cell that cannot be computed is NaN and its reason is in the `<metric>_note` column (empty when computed).
    With `images` (from `per_image`), each computed cell of a measured curve gets a bootstrap interval over its
    images (`bd_rate_<metric>_%_low`/`_high`, `bd_<metric>_low`/`_high`): the anchor's images are resampled with
    the same draw when it was measured too (paired), a published anchor stays fixed.
    """
    by_name = {c.name: c for c in curves}
    if anchor not in by_name:
        raise KeyError(f"anchor {anchor!r} is not among the curves: {', '.join(sorted(by_name))}")
    ref = by_name[anchor]
    images = images or {}
    metrics = bd_metrics(curves) if metrics is None else list(metrics)
    rows = []
    for curve in curves:
        row = {"codec": curve.name, "source": curve_source(curve), "published": curve.published}
        row["points"] = len(curve.bpp)
        for metric in metrics:
            rate, quality, note = _bd_cells(ref, curve, metric, method)
            row[f"bd_rate_{metric}_%"], row[f"bd_{metric}"], row[f"{metric}_note"] = rate, quality, note
            if images and not curve.published and (np.isfinite(rate) or np.isfinite(quality)):
                (rate_low, rate_high), (low, high) = _bd_interval(
                    ref, images.get(ref.name), images.get(curve.name), metric, method
                )
                keep_rate, keep_quality = np.isfinite(rate), np.isfinite(quality)
                row[f"bd_rate_{metric}_%_low"] = rate_low if keep_rate else np.nan
                row[f"bd_rate_{metric}_%_high"] = rate_high if keep_rate else np.nan
                row[f"bd_{metric}_low"], row[f"bd_{metric}_high"] = (low, high) if keep_quality else (np.nan, np.nan)
        row.update(_jpeg_ai_mean(row, metrics))
        rows.append(row)
    return pd.DataFrame(rows)


def _jpeg_ai_mean(row: Mapping[str, object], metrics: Sequence[str]) -> dict[str, object]:
    """The mean BD-rate over the `jpeg_ai` columns among `metrics` (as JPEG AI averages its metrics' BD-rates),
    only when every one of them has a BD-rate (a mean over fewer would not compare across rows); `jpeg_ai_mean_of`
    names the metrics that entered and those of `JPEG_AI_METRICS` the suite does not measure."""
    entered = [m for m in metrics if declared_column(m).jpeg_ai]
    if not entered:
        return {}
    names = [declared_column(m).title for m in entered]
    missing = [m for m in JPEG_AI_METRICS if not any(n.startswith(m) for n in names)]
    rates = [float(row[f"bd_rate_{m}_%"]) for m in entered]
    of = f"mean of {', '.join(names)}" + (f"; not measured: {', '.join(missing)}" if missing else "")
    finite = all(np.isfinite(rates))
    return {
        "bd_rate_jpeg_ai_mean_%": float(np.mean(rates)) if finite else np.nan,
        "jpeg_ai_mean_of": of,
        "jpeg_ai_mean_note": "" if finite else "n/a where one of its BD-rates is",
    }


def _bd_interval(
    ref: Curve, ref_images: PerImage | None, test: PerImage | None, metric: str, method: str
) -> tuple[tuple[float, float], tuple[float, float]]:
    """Bootstrap intervals of (BD-rate, BD-quality) of `test` against `ref`, resampling images."""
    none = ((np.nan, np.nan), (np.nan, np.nan))
    if test is None or (ref_images is None and not ref.published):
        return none
    names = test.images if ref_images is None else [n for n in test.images if n in set(ref_images.images)]
    sign = _sign(metric)
    curve = test.take("bpp", names), test.take(metric, names)
    anchor = (ref_images.take("bpp", names), ref_images.take(metric, names)) if ref_images is not None else None
    if len(names) < 2 or curve[1] is None or (anchor is not None and anchor[1] is None):
        return none
    curve = curve[0], sign * curve[1]
    if anchor is not None:
        anchor = anchor[0], sign * anchor[1]
    draws = bootstrap.resamples(len(names))
    rt, qt = (m[:, draws].mean(axis=2).T for m in curve)  # (samples, rate points)
    if anchor is not None:
        ra, qa = (m[:, draws].mean(axis=2).T for m in anchor)
    else:  # a published anchor: the same curve in every sample
        front = pareto_front(ref.bpp, sign * ref.metric(metric))
        ra, qa = (np.broadcast_to(v, (len(draws), len(v))) for v in front)
    rates, qualities = np.full(len(draws), np.nan), np.full(len(draws), np.nan)
    whole = _on_front(ra, qa) & _on_front(rt, qt)  # no point of either curve beaten: one batched fit
    if method == "cubic" and min(ra.shape[1], rt.shape[1]) >= MIN_BD_POINTS:
        with np.errstate(all="ignore"):
            rates[whole], qualities[whole] = _cubic_bd(ra[whole], qa[whole], rt[whole], qt[whole])
        rest = np.flatnonzero(~whole)
    else:
        rest = np.arange(len(draws))
    with np.errstate(all="ignore"):
        for s in rest:
            (a_rate, a_quality), (t_rate, t_quality) = pareto_front(ra[s], qa[s]), pareto_front(rt[s], qt[s])
            if min(len(a_quality), len(t_quality)) >= MIN_BD_POINTS:
                rates[s] = bd_rate(a_rate, a_quality, t_rate, t_quality, method)
                qualities[s] = bd_quality(a_rate, a_quality, t_rate, t_quality, method)
    return bootstrap.interval(rates), bootstrap.interval(sign * qualities)


def _on_front(bpp: np.ndarray, quality: np.ndarray) -> np.ndarray:
    """Per row of (samples, points): True when every point is on the row's Pareto front (`pareto_front`)."""
    order = np.argsort(bpp, axis=1, kind="stable")
    return (np.diff(np.take_along_axis(quality, order, axis=1), axis=1) > 0).all(axis=1)


def _cubic_integrals(x: np.ndarray, y: np.ndarray, low: np.ndarray, high: np.ndarray) -> np.ndarray:
    """Per row of (samples, points): the integral over [low, high] of the least-squares cubic y(x), fitted as
    `np.polyfit` fits it (column-scaled Vandermonde matrix), for all rows at once."""
    vander = x[..., None] ** np.arange(3, -1, -1)  # (samples, points, 4): x^3 .. x^0
    scale = np.sqrt((vander * vander).sum(axis=1, keepdims=True))
    q, r = np.linalg.qr(vander / scale)
    coef = np.linalg.solve(r, np.einsum("spk,sp->sk", q, y)[..., None])[..., 0] / scale[:, 0]
    powers = np.arange(4, 0, -1)  # the antiderivative of c x^(k-1) is c x^k / k

    def antiderivative(t: np.ndarray) -> np.ndarray:
        return (coef / powers * t[:, None] ** powers).sum(axis=1)

    return antiderivative(high) - antiderivative(low)


def _cubic_bd(ra: np.ndarray, qa: np.ndarray, rt: np.ndarray, qt: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """`bd_rate` and `bd_quality` (cubic) of every row of (samples, points) anchor and test curves at once."""
    la, lt = np.log10(ra), np.log10(rt)

    def delta(xa: np.ndarray, ya: np.ndarray, xt: np.ndarray, yt: np.ndarray) -> np.ndarray:
        low, high = np.maximum(xa.min(axis=1), xt.min(axis=1)), np.minimum(xa.max(axis=1), xt.max(axis=1))
        gap = (_cubic_integrals(xt, yt, low, high) - _cubic_integrals(xa, ya, low, high)) / (high - low)
        return np.where(high > low, gap, np.nan)

    return (10.0 ** delta(qa, la, qt, lt) - 1.0) * 100.0, delta(la, qa, lt, qt)


MIN_BD_POINTS = 4  # the cubic fit of the Bjontegaard method needs four points


def _bd_cells(ref: Curve, curve: Curve, metric: str, method: str) -> tuple[float, float, str]:
    """(BD-rate %, BD-quality, reason) of `curve` against `ref`; the reason is empty when both are computed. A
    distance (lower is better) is fitted negated, and its BD-quality is given back in its own direction."""
    col, sign = declared_column(metric), _sign(metric)
    name = col.title
    a, t = ref.metric(metric), curve.metric(metric)
    if t is None:
        partial = any(curve.metric(c.name) is not None for c in bd_columns(region=True))
        if not col.region and partial:
            return np.nan, np.nan, "a partial decode has no whole-image quality (see the region table)"
        return np.nan, np.nan, f"curve has no {name}"
    if a is None:
        return np.nan, np.nan, f"anchor has no {name}"
    a, t = sign * a, sign * t
    (ref_bpp, a), (bpp, t) = pareto_front(ref.bpp, a), pareto_front(curve.bpp, t)
    for who, values, total in (("curve", t, curve.bpp), ("anchor", a, ref.bpp)):
        if len(values) < MIN_BD_POINTS:
            beaten = f" ({len(total) - len(values)} beaten by a cheaper point)" if len(total) > len(values) else ""
            return np.nan, np.nan, f"{who} has {len(values)} rate point(s){beaten}; BD needs >= {MIN_BD_POINTS}"
    with np.errstate(all="ignore"):
        rate = bd_rate(ref_bpp, a, bpp, t, method)
        quality = sign * bd_quality(ref_bpp, a, bpp, t, method)
    reasons = []
    if not np.isfinite(rate):
        reasons.append(f"BD-rate: {name} ranges do not overlap" if _disjoint(a, t) else "BD-rate: not finite")
    if not np.isfinite(quality):
        reasons.append(
            "BD-quality: rate ranges do not overlap" if _disjoint(ref.bpp, curve.bpp) else "BD-quality: not finite"
        )
    low, high = max(a.min(), t.min()), min(a.max(), t.max())
    for who, values in (("anchor", a), ("curve", t)):
        inside = int(((values >= low) & (values <= high)).sum())
        if np.isfinite(rate) and inside < MIN_BD_POINTS:
            reasons.append(f"BD-rate: {inside} {who} point(s) inside the overlap of the {name} ranges")
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


def bd_tables(
    curves: Sequence[Curve],
    anchors: Sequence[str],
    method: str = "cubic",
    metrics: Sequence[str] | None = None,
    images: Mapping[str, PerImage] | None = None,
) -> pd.DataFrame:
    """`bd_table` against each anchor that is among the curves, stacked with an `anchor` column."""
    names = {c.name for c in curves}
    tables = [bd_table(curves, a, metrics, method, images).assign(anchor=a) for a in anchors if a in names]
    if not tables:
        return pd.DataFrame()
    table = pd.concat(tables, ignore_index=True)
    return table[["anchor", *[c for c in table.columns if c != "anchor"]]]


@dataclass(frozen=True)
class BDSection:
    """The rows of a BD table against one anchor as readers see them (Markdown, the browser report): `cells` are
    the texts (value with its interval, n/a, and the notes last), `values` the numbers they show (NaN for text
    and n/a), `mean_of` what the JPEG-AI mean averages."""

    anchor: str
    header: list[str]
    cells: list[list[str]]
    values: list[list[float]]
    mean_of: str = ""


def bd_sections(table: pd.DataFrame) -> list[BDSection]:
    """The BD table (from `bd_tables`) per anchor: a BD-rate and a BD-quality cell per metric, the JPEG-AI mean
    when there is one, and the notes saying why a cell is n/a (or what to bear in mind)."""
    metrics = table_metrics(table)
    mean = "bd_rate_jpeg_ai_mean_%" in table.columns
    sections = []
    for anchor, part in table.groupby("anchor", sort=False):
        header = ["curve", "source", "points"]
        for m in metrics:
            col = declared_column(m)
            header += [f"BD-rate {col.title} [%]", f"BD-{col.title}" + (f" [{col.unit}]" if col.unit else "")]
        header += ["BD-rate JPEG-AI mean [%]"] if mean else []
        cells, values = [], []
        for _, row in part.iterrows():
            texts, numbers = (
                [str(row["codec"]), str(row["source"]), str(row["points"])],
                [np.nan, np.nan, row["points"]],
            )
            notes: dict[str, list[str]] = {}  # note -> the metrics it is about (one line for a shared reason)
            for m in metrics:
                rate, quality = f"bd_rate_{m}_%", f"bd_{m}"
                texts += [
                    format_bd(row, rate, "+.1f"),
                    format_bd(row, quality, "+.2f" if declared_column(m).unit else "+.4f"),
                ]
                numbers += [float(row[rate]), float(row[quality])]
                note = row.get(f"{m}_note")
                if isinstance(note, str) and note:  # (a table read back from CSV has NaN for no note)
                    notes.setdefault(note, []).append(declared_column(m).title)
            if mean:
                texts.append(format_bd(row, "bd_rate_jpeg_ai_mean_%", "+.1f"))
                numbers.append(float(row["bd_rate_jpeg_ai_mean_%"]))
                note = row.get("jpeg_ai_mean_note")
                if isinstance(note, str) and note:
                    notes.setdefault(note, []).append("JPEG-AI mean")
            cells.append([*texts, "; ".join(f"{', '.join(names)}: {note}" for note, names in notes.items())])
            values.append([*numbers, np.nan])
        of = part["jpeg_ai_mean_of"].dropna().unique() if mean else []
        sections.append(BDSection(str(anchor), [*header, "notes"], cells, values, of[0] if len(of) == 1 else ""))
    return sections


def bd_markdown(table: pd.DataFrame) -> str:
    """The BD table as Markdown, one section per anchor, with the bootstrap interval where there is one; cells
    that cannot be computed say n/a, and the notes say why (or what to bear in mind)."""
    ci = f"; {note}" if (note := bd_interval_note(table)) else ""
    parts = []
    for section in bd_sections(table):
        average = f"\n\nJPEG-AI mean BD-rate: the {section.mean_of}." if section.mean_of else ""
        parts.append(
            f"BD against `{section.anchor}` (negative BD-rate = fewer bits at equal quality{ci}){average}\n\n"
            + "\n".join(markdown_table(section.header, section.cells))
        )
    return "\n\n".join(parts) + "\n"


def bd_interval_note(table: pd.DataFrame) -> str:
    """What the `[low, high]` of a BD table's cells are, or "" when it has no intervals."""
    if not any(c.endswith("_low") for c in table.columns):
        return ""
    return f"[low, high]: {bootstrap.CONFIDENCE:.0%} bootstrap interval over images ({bootstrap.SAMPLES} resamples)"


def table_metrics(table: pd.DataFrame) -> list[str]:
    """The metrics a BD table (from `bd_table`) has a BD-rate column for, the JPEG-AI mean aside."""
    found = [c[len("bd_rate_") : -len("_%")] for c in table.columns if c.startswith("bd_rate_") and c.endswith("_%")]
    return [m for m in found if m != "jpeg_ai_mean"]


def format_bd(row: pd.Series, column: str, fmt: str) -> str:
    """A BD value with its interval `[low, high]` when the table has one."""
    value = row[column]
    if pd.isna(value):
        return "n/a"
    low, high = row.get(f"{column}_low", np.nan), row.get(f"{column}_high", np.nan)
    interval = "" if pd.isna(low) or pd.isna(high) else f" [{low:{fmt}}, {high:{fmt}}]"
    return f"{value:{fmt}}{interval}"


def write_bd_table(table: pd.DataFrame, out_dir: str | Path, name: str = "bd_table") -> Path:
    """A BD table (from `bd_tables`) as CSV (returned) and Markdown in `out_dir`, as `name`.csv / .md."""
    out_dir = Path(out_dir)
    table.to_csv(out_dir / f"{name}.csv", index=False)
    write_atomic(out_dir / f"{name}.md", bd_markdown(table).encode())
    return out_dir / f"{name}.csv"


def write_report(
    curves: Sequence[Curve],
    out_dir: str | Path,
    anchors: Sequence[str] = (),
    title: str = "",
    images: Mapping[str, PerImage] | None = None,
) -> tuple[dict[str, Path], dict[str, pd.DataFrame]]:
    """RD plots of every plotted metric some curve has and, against each anchor among the curves, the BD tables
    (CSV + Markdown) of whole-image quality (`bd_table`) and of the regions (`bd_regions`: the curves measured on
    group masks, against the anchors that were), with bootstrap intervals for the curves `images` has; returns
    (files by name, BD tables by name)."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    written: dict[str, Path] = {}
    tables: dict[str, pd.DataFrame] = {}
    for metric in plotted_columns():
        path = plot_rd(curves, metric, out_dir / f"rd_{metric}.png", title)
        if path:
            written[f"rd_{metric}"] = path
    regions = [c for c in curves if bd_metrics([c], region=True)]
    for name, among, region in (("bd_table", curves, False), ("bd_regions", regions, True)):
        table = bd_tables(among, anchors, metrics=bd_metrics(among, region), images=images)
        if len(table):
            written[name], tables[name] = write_bd_table(table, out_dir, name), table
    return written, tables
