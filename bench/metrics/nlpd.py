"""NLPD (Laparra, Balle, Berardino, Simoncelli 2016): the distance between two images after a 6-level Laplacian
pyramid whose coefficients are divided by a local weighted sum of their neighbours' magnitudes (divisive
normalization, the authors' parameters learned on McGill), averaged over levels; lower is better, one of JPEG AI's
test metrics. Written here after the authors' MATLAB `NLP_dist.m` (no maintained light library has it: pyiqa
pulls in transformers and bitsandbytes), on 8-bit BT.601 luma in [0, 1] as its MATLAB calibration used it."""

from __future__ import annotations

import numpy as np
from scipy import ndimage

from ssicbench.errors import MetricError
from ssicbench.metrics.colour import luma
from ssicbench.metrics.registry import Column, Metric, register_metric

__all__ = ["LEVELS", "nlpd"]

LEVELS = 6
MIN_SIDE = 2 ** (LEVELS - 1)  # every level of the pyramid keeps at least one pixel
_TAPS = np.array([0.05, 0.25, 0.4, 0.25, 0.05])  # Burt and Adelson's 5-tap low-pass
_LOW_PASS = np.outer(_TAPS, _TAPS)
# Divisive normalization per level (the authors' values): a constant and the weights of the neighbours' magnitudes
_SIGMAS = (0.0248, 0.0185, 0.0179, 0.0191, 0.0220, 0.2782)
_NEIGHBOURS = (  # (row offset, column offset, weight) around the coefficient, as the 5x5 kernels of the paper
    ((-1, 0, 0.1011), (0, -1, 0.1493), (0, 1, 0.1460), (0, 2, 0.0072), (1, 0, 0.1015)),
    ((-1, 0, 0.0757), (0, -1, 0.1986), (0, 1, 0.1846), (1, 0, 0.0837)),
    ((-1, 0, 0.0477), (0, -1, 0.2138), (0, 1, 0.2243), (1, 0, 0.0467)),
    ((0, -1, 0.2503), (0, 1, 0.2616)),
    ((0, -1, 0.2598), (0, 1, 0.2552)),
    ((0, -1, 0.2215), (0, 1, 0.0717)),
)


def _kernel(weights: tuple[tuple[int, int, float], ...]) -> np.ndarray:
    kernel = np.zeros((5, 5))
    for row, col, weight in weights:
        kernel[2 + row, 2 + col] = weight
    return kernel


_KERNELS = tuple(_kernel(w) for w in _NEIGHBOURS)


def _reduce(image: np.ndarray) -> np.ndarray:
    """Low-pass (mirrored edges, the edge sample repeated) and keep every other row and column."""
    return ndimage.correlate(image, _LOW_PASS, mode="reflect")[::2, ::2]


def _expand(image: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """Back to `shape`: the image with a replicated 1-pixel border, zeros between its samples (x4), low-passed
    with zero edges, the border cut away."""
    padded = np.pad(image, 1, mode="edge")
    up = np.zeros((2 * padded.shape[0], 2 * padded.shape[1]))
    up[::2, ::2] = 4 * padded
    up = ndimage.correlate(up, _LOW_PASS, mode="constant")
    return up[2 : 2 + shape[0], 2 : 2 + shape[1]]


def _normalized_pyramid(image: np.ndarray) -> list[np.ndarray]:
    levels, current = [], image
    for _ in range(LEVELS - 1):
        low = _reduce(current)
        levels.append(current - _expand(low, current.shape))
        current = low
    levels.append(current)
    return [
        level / (sigma + ndimage.convolve(np.abs(level), kernel, mode="constant"))
        for level, sigma, kernel in zip(levels, _SIGMAS, _KERNELS)
    ]


def nlpd(reference: np.ndarray, decoded: np.ndarray) -> dict[str, float]:
    """NLPD of two HxWx3 uint8 RGB images: per level the RMS difference of the normalized coefficients, averaged
    over the 6 levels."""
    if min(reference.shape[:2]) < MIN_SIDE:
        raise MetricError(f"NLPD needs both sides >= {MIN_SIDE} px; image is {reference.shape[0]}x{reference.shape[1]}")
    a, b = (_normalized_pyramid(np.round(luma(i, "bt601")) / 255.0) for i in (reference, decoded))
    return {"nlpd": float(np.mean([np.sqrt(np.mean((x - y) ** 2)) for x, y in zip(a, b)]))}


register_metric(
    Metric(
        "nlpd",
        nlpd,
        (Column("nlpd", "nlpd", "NLPD (luma)", "NLPD", True, unit="", higher_is_better=False, jpeg_ai=True),),
        "normalized Laplacian pyramid distance on luma (the authors' MATLAB algorithm)",
    )
)
