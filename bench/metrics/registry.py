"""The metric contract and its registry: every fact about a metric (row columns, CompressAI key, plot label, BD use,
direction, region form, availability) is declared once, where the metric is; the sweep, the result tables, the
figures, the BD report, the config and `--metrics` all read it from here."""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field

import numpy as np

from ssicbench.errors import MetricError, MissingLibraryError, MissingWeightsError, UsageError
from ssicbench.registry import Registry

__all__ = [
    "METRIC_REGISTRY",
    "Column",
    "Metric",
    "bd_columns",
    "check_metric_names",
    "column",
    "columns",
    "compressai_keys",
    "compute_metrics",
    "default_metrics",
    "get_metric",
    "metric_names",
    "register_metric",
    "unavailable",
]


@dataclass(frozen=True)
class Column:
    """One value a metric writes into a row, and how curves, figures and tables use it.

    `label`: the figure's y-axis label ("" = not plotted); `short`: its name in tables; `bd`: it has a BD column
    (BD-rate, and BD-quality in `unit`); `region`: "objects", "background" or "boundary" for a region form
    (measured on the group mask by `ssicbench.regions`), "" for the whole image; `jpeg_ai`: it enters the
    JPEG-AI-style average BD-rate (`ssicbench.report.JPEG_AI_METRICS`); `derive`: (column, f) to get it from
    another column of a published curve that lacks it."""

    name: str
    key: str  # CompressAI results-JSON key
    label: str = ""
    short: str = ""
    bd: bool = False
    unit: str = "dB"
    higher_is_better: bool = True
    region: str = ""
    jpeg_ai: bool = False
    derive: tuple[str, Callable[[float], float]] | None = None

    @property
    def title(self) -> str:
        return self.short or self.name


@dataclass(frozen=True)
class Metric:
    """A full-reference image metric: `compute(reference, decoded)` on two HxWx3 uint8 RGB images gives its
    columns' values. It raises `MetricError` when this image cannot have it (an error row, retried next run) and
    `MissingWeightsError` / `MissingLibraryError` when this machine cannot compute it (NaN with the reason, the row
    stays ok). `needs`: what it takes to run, as `metrics` lists it; `default`: in the default `--metrics` set."""

    name: str  # as `--metrics` and configs write it
    compute: Callable[[np.ndarray, np.ndarray], dict[str, float]]
    columns: tuple[Column, ...]
    description: str
    needs: str = "nothing beyond the suite"
    default: bool = False
    available: Callable[[], str] = field(default=lambda: "")  # "" or why it cannot run here

    def __call__(self, reference: np.ndarray, decoded: np.ndarray) -> dict[str, float]:
        return self.compute(reference, decoded)

    @property
    def image_columns(self) -> tuple[Column, ...]:
        """The columns `compute` writes (not the region forms, which `ssicbench.regions` measures)."""
        return tuple(c for c in self.columns if not c.region)


def unavailable(check: Callable[[], object]) -> Callable[[], str]:
    """A `Metric.available` from a `check` that loads what the metric needs: "" when it runs, else the message of
    the MissingWeightsError / MissingLibraryError it raises."""

    def reason() -> str:
        try:
            check()
        except (MissingWeightsError, MissingLibraryError) as exc:
            return str(exc)
        return ""

    return reason


METRIC_REGISTRY: Registry[dict[str, float]] = Registry("metric", sort=False)  # tables list them as registered


def register_metric(metric: Metric) -> Metric:
    """Make `metric` known to every part of the suite (a plug-in file calling this is a new metric)."""
    METRIC_REGISTRY.register(metric.name, metric)
    return metric


def get_metric(name: str) -> Metric:
    return METRIC_REGISTRY.get(name).factory


def metric_names() -> list[str]:
    return METRIC_REGISTRY.names()


def default_metrics() -> list[str]:
    return [n for n in metric_names() if get_metric(n).default]


def check_metric_names(names: Iterable[str], where: str = "metrics") -> list[str]:
    """`names` as a list, UsageError naming the known metrics when one is not registered."""
    names = list(names)
    unknown = [n for n in names if n not in METRIC_REGISTRY]
    if unknown:
        raise UsageError(f"{where}: unknown metric(s) {', '.join(unknown)}; known: {', '.join(metric_names())}")
    return names


def columns(names: Sequence[str] | None = None) -> list[Column]:
    """The columns of the metrics `names` (None: every registered one), in registry order, each once."""
    found: dict[str, Column] = {}
    for name in metric_names() if names is None else names:
        for c in get_metric(name).columns:
            found.setdefault(c.name, c)
    return list(found.values())


def column(name: str) -> Column | None:
    """The registered column `name` (None when no metric writes it)."""
    return next((c for c in columns() if c.name == name), None)


def compressai_keys() -> dict[str, str]:
    """Row column -> CompressAI results-JSON key, for every registered metric column."""
    return {c.name: c.key for c in columns()}


def bd_columns(region: bool = False) -> list[Column]:
    """The columns that take part in BD tables: the whole-image ones, or (`region`) the region forms."""
    return [c for c in columns() if c.bd and bool(c.region) == region]


def compute_metrics(
    reference: np.ndarray, decoded: np.ndarray, names: Sequence[str]
) -> tuple[dict[str, float], str, bool]:
    """(values, reasons, failed): the requested metrics' columns, one that cannot be had NaN; `reasons` says why
    ("" when all were computed), `failed` whether a reason is the image's own (not the machine's)."""
    out: dict[str, float] = {}
    reasons: list[str] = []
    failed = False
    for name in names:
        metric = get_metric(name)
        try:
            out.update(metric(reference, decoded))
        except (MissingWeightsError, MissingLibraryError) as exc:
            out.update({c.name: math.nan for c in metric.image_columns})
            reasons.append(f"{name} unavailable: {exc}")
        except MetricError as exc:
            out.update({c.name: math.nan for c in metric.image_columns})
            reasons.append(str(exc))
            failed = True
    return out, "; ".join(reasons), failed
