"""RD figures that stay readable for any number of curves.

Each curve gets its own colour x marker pair (10 colours x 11 markers: 110 distinct pairs); the line style
says where its numbers come from (measured: solid, partial decoding: dash-dot, published: dashed, read off a
paper's figure: dotted with hollow markers). The legend sits outside the axes, split into "measured" and
"published" blocks; the figure grows around a fixed-size axes box, and the legend's font and layout
(right of the axes or below them) are chosen so that the axes keep at least `MIN_AXES_FRACTION` of the figure.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from ssicbench.metrics import column, columns
from ssicbench.results import Curve

__all__ = [
    "AXES_SCALES",
    "COLOURS",
    "FONT_SIZES",
    "MARKERS",
    "MAX_LABEL",
    "MIN_AXES_FRACTION",
    "RATE_LABEL",
    "curve_label",
    "plot_rd",
    "plotted_columns",
    "rd_figure",
    "save_figure",
]


def plotted_columns() -> list[str]:
    """The metric columns that have an RD figure (those declaring a y-axis label), in registry order; the region
    ones are measured on the pixels the receiver decoded."""
    return [c.name for c in columns() if c.label]


COLOURS = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"]
MARKERS = ["o", "s", "^", "D", "v", "P", "X", "*", "h", "<", ">"]
AXES_W, AXES_H = 7.0, 4.8  # inches: the axes box is the same for any number of curves
LEFT, RIGHT, BOTTOM, TOP, GAP = 0.85, 0.15, 0.7, 0.55, 0.2  # margins (inches) for tick labels, labels, title
MIN_AXES_FRACTION = 0.6
FONT_SIZES = (8, 7, 6, 5)
AXES_SCALES = (1.0, 1.25, 1.5)  # the axes may grow (text keeps its size) before the font shrinks
MAX_LABEL = 48  # longer labels are shortened (with an ellipsis) only if nothing else keeps the axes large
RATE_LABEL = "rate [bpp] (measured: the bytes the receiver fetched, headers included)"


def curve_label(curve: Curve, metric: str) -> str:
    """The legend text: the curve's name plus where its numbers come from."""
    if curve.figure_read:
        return f"{curve.name}, read off figure (approx.)"
    return curve.name


def rd_figure(curves: Sequence[Curve], metric: str, title: str = ""):
    """bpp vs `metric` for every curve that has it (None if none has), legend outside the axes."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.lines import Line2D

    drawable = [(i, c) for i, c in enumerate(curves) if c.metric(metric) is not None]
    if not drawable:
        return None
    fig = plt.figure()
    ax = fig.add_axes((0, 0, 1, 1))
    blocks: dict[str, list] = {"measured (this run)": [], "published": []}
    for index, curve in drawable:  # a curve's style follows its place among all curves: the same in every figure
        colour, marker = COLOURS[index % len(COLOURS)], MARKERS[index % len(MARKERS)]
        style = dict(color=colour, marker=marker, markersize=5, linewidth=1.3, linestyle="-")
        if curve.figure_read:
            style.update(linestyle=":", markerfacecolor="none", linewidth=1.6)
        elif curve.published:
            style.update(linestyle="--", linewidth=1.0, markersize=4, alpha=0.85)
        elif curve.metric("bpp_whole") is not None:  # a partial decode: fewer bytes than were coded
            style.update(linestyle="-.")
        (line,) = ax.plot(curve.bpp, curve.metric(metric), label=curve_label(curve, metric), **style)
        blocks["published" if curve.published else "measured (this run)"].append(line)
    _limits(ax, [c for _, c in drawable], metric)
    ax.set_xlabel(RATE_LABEL)
    declared = column(metric)
    ax.set_ylabel(declared.label if declared and declared.label else metric)
    ax.set_title(title)
    ax.grid(True, alpha=0.3)
    groups = [[Line2D([], [], linestyle="none", label=heading), *lines] for heading, lines in blocks.items() if lines]
    _layout(fig, ax, groups)
    return fig


def plot_rd(curves: Sequence[Curve], metric: str, path: str | Path, title: str = "") -> Path | None:
    """Write `rd_figure` as a PNG; None if no curve has `metric`."""
    fig = rd_figure(curves, metric, title)
    return None if fig is None else save_figure(fig, path, tight=False)


@dataclass
class _Layout:
    fontsize: int
    scale: float
    where: str
    entries: list
    ncol: int
    width: float
    height: float
    legend_h: float
    shorten: bool

    @property
    def axes_w(self) -> float:
        return AXES_W * self.scale

    @property
    def axes_h(self) -> float:
        return AXES_H * self.scale

    @property
    def axes_fraction(self) -> float:
        return self.axes_w * self.axes_h / (self.width * self.height)


def _layout(fig, ax, groups: list[list]) -> None:
    """Place the axes and the legend: the largest font whose layout keeps the axes >= MIN_AXES_FRACTION."""
    options = []
    for shorten in (False, True):
        for fontsize in FONT_SIZES:
            for scale in AXES_SCALES:
                for where in ("right", "below"):
                    option = _measure(fig, groups, fontsize, scale, where, shorten)
                    if option.axes_fraction >= MIN_AXES_FRACTION:
                        return _apply(fig, ax, option)
                    options.append(option)
    _apply(fig, ax, max(options, key=lambda o: o.axes_fraction))


def _arrange(groups: list[list], max_cols: int | None = None, max_rows: int | None = None) -> tuple[list, int]:
    """Legend entries (padded with blanks) and column count such that each group starts a new column.

    `max_rows`: the fewest columns of at most that many rows; `max_cols`: the fewest rows in that many columns.
    """
    from matplotlib.lines import Line2D

    total = sum(len(g) for g in groups)
    flat = [e for g in groups for e in g]
    if max_rows is not None:
        if total <= max_rows:
            return flat, 1
        columns = _columns(groups, max_rows)
        rows = min(r for r in range(1, max_rows + 1) if _columns(groups, r) == columns)
    else:
        if max_cols is None or max_cols < len(groups):
            return flat, max(1, max_cols or 1)
        rows = min(r for r in range(1, total + 1) if _columns(groups, r) <= max_cols)
    blank = Line2D([], [], linestyle="none", label=" ")
    entries = [e for g in groups for e in g + [blank] * (-len(g) % rows)]
    return entries, _columns(groups, rows)


def _columns(groups: list[list], rows: int) -> int:
    return sum(math.ceil(len(g) / rows) for g in groups)


def _legend(fig, entries: list, fontsize: int, ncol: int, shorten: bool, **place):
    labels = [_shorten(e.get_label()) if shorten else e.get_label() for e in entries]
    legend = fig.legend(entries, labels, fontsize=fontsize, ncol=ncol, frameon=False, handlelength=3.0, **place)
    for entry, text in zip(entries, legend.get_texts()):
        if entry.get_linestyle() == "None" and entry.get_marker() in ("None", None, ""):
            text.set_fontweight("bold")
    return legend


def _size(fig, legend) -> tuple[float, float]:
    box = legend.get_window_extent(fig.canvas.get_renderer())
    return box.width / fig.dpi, box.height / fig.dpi


def _measure(fig, groups: list[list], fontsize: int, scale: float, where: str, shorten: bool) -> _Layout:
    axes_w, axes_h = AXES_W * scale, AXES_H * scale
    flat = [e for g in groups for e in g]
    legend = _legend(fig, flat, fontsize, 1, shorten)
    one_w, one_h = _size(fig, legend)
    legend.remove()
    if where == "right":
        entries, ncol = _arrange(groups, max_rows=max(1, int(axes_h / (one_h / len(flat)))))
    else:
        entries, ncol = _arrange(groups, max_cols=max(1, int((LEFT + axes_w + RIGHT - 0.1) // one_w)))
    legend = _legend(fig, entries, fontsize, ncol, shorten)
    legend_w, legend_h = _size(fig, legend)
    legend.remove()
    if where == "right":
        width = LEFT + axes_w + GAP + legend_w + RIGHT
        height = max(BOTTOM + axes_h + TOP, legend_h + TOP + 0.1)
    else:
        width = max(LEFT + axes_w + RIGHT, legend_w + 0.2)
        height = GAP + legend_h + BOTTOM + axes_h + TOP
    return _Layout(fontsize, scale, where, entries, ncol, width, height, legend_h, shorten)


def _apply(fig, ax, layout: _Layout) -> None:
    width, height = layout.width, layout.height
    fig.set_size_inches(width, height)
    if layout.where == "right":
        bottom = height - TOP - layout.axes_h
        anchor, loc = ((LEFT + layout.axes_w + GAP) / width, (height - TOP) / height), "upper left"
    else:
        bottom = GAP + layout.legend_h + BOTTOM
        anchor, loc = (0.5, (GAP / 2 + layout.legend_h) / height), "upper center"
    ax.set_position((LEFT / width, bottom / height, layout.axes_w / width, layout.axes_h / height))
    place = dict(loc=loc, bbox_to_anchor=anchor, bbox_transform=fig.transFigure, borderaxespad=0.0)
    _legend(fig, layout.entries, layout.fontsize, layout.ncol, layout.shorten, **place)


def _limits(ax, curves: Sequence[Curve], metric: str) -> None:
    """Zoom on the measured curves' rates (published ones often run far beyond) when there are any."""
    import numpy as np

    measured = [c for c in curves if not c.published]
    if not measured:
        return
    high = 1.15 * max(float(c.bpp.max()) for c in measured)
    inside = [c.metric(metric)[c.bpp <= high] for c in curves]
    values = np.concatenate([v[np.isfinite(v)] for v in inside])
    ax.set_xlim(0, high)
    if len(values):
        pad = 0.04 * (values.max() - values.min() or 1.0)
        ax.set_ylim(values.min() - pad, values.max() + pad)


def _shorten(label: str) -> str:
    return label if len(label) <= MAX_LABEL else label[: MAX_LABEL - 1] + "…"


def save_figure(fig, path: str | Path, tight: bool = True) -> Path:
    """Write a matplotlib figure as a PNG (creating its folder) and release it; `tight` runs tight_layout first."""
    import matplotlib.pyplot as plt

    if tight:
        fig.tight_layout()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path
