"""Bootstrap over images: the spread a figure averaged over a test set would have on another draw of images of
the same kind. Resamples are drawn with a fixed seed, so a table is the same every time it is written."""

from __future__ import annotations

import numpy as np

__all__ = ["CONFIDENCE", "SAMPLES", "interval", "resamples"]

SAMPLES = 1000  # resamples per interval
CONFIDENCE = 0.95  # two-sided percentile interval
MIN_FINITE = 0.9  # share of resamples that must give a value (a BD fit can fail on a resample)


def resamples(items: int, samples: int = SAMPLES, seed: int = 0) -> np.ndarray:
    """(samples, items) indices: each row draws `items` of 0..items-1 with replacement."""
    return np.random.default_rng(seed).integers(0, items, size=(samples, items))


def interval(values: np.ndarray, confidence: float = CONFIDENCE) -> tuple[float, float]:
    """Percentile interval of the finite `values`; NaN when fewer than `MIN_FINITE` of them are finite."""
    values = np.asarray(values, float)
    finite = values[np.isfinite(values)]
    if not len(values) or len(finite) < MIN_FINITE * len(values):
        return float("nan"), float("nan")
    tail = 100 * (1 - confidence) / 2
    low, high = np.percentile(finite, [tail, 100 - tail])
    return float(low), float(high)
