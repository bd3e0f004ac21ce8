"""Region metrics on an image's group mask, the quantities SSIC's claims are about, measured the same way for every
codec: MSE and PSNR inside the object groups (ids other than 0), in the background (group 0) and in the boundary
band, the pixels within `BAND_PX` of a boundary between two groups.

A pixel is in the band when the square window of side 2 * `BAND_PX` + 1 centred on it holds pixels of more than
one group (Chebyshev distance to the nearest pixel of another group at most `BAND_PX`). A partial decode is
measured only on the pixels it decoded: a region it did not decode is NaN, with the reason in `region_error`.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from scipy.ndimage import maximum_filter, minimum_filter

from ssicbench.metrics import psnr_from_mse

__all__ = ["BAND_PX", "REGIONS", "boundary_band", "pixel_groups", "region_metrics"]

BAND_PX = 4  # a quarter of the 16-px group cell of the SSIC masks: the pixels whose coding context changes
REGIONS = ("objects", "background", "boundary")


def pixel_groups(mask: np.ndarray, cell: int, height: int, width: int) -> np.ndarray:
    """The group id of every pixel of a `height` x `width` image from a mask of `cell`-px cells."""
    return np.kron(np.asarray(mask), np.ones((cell, cell), dtype=np.int64))[:height, :width]


def boundary_band(groups: np.ndarray, radius: int = BAND_PX) -> np.ndarray:
    """HxW bool: the pixels within `radius` (Chebyshev distance) of a pixel of another group."""
    size = 2 * radius + 1
    ids = groups.astype(np.uint8)  # group ids are 0..255; filters on bytes are several times faster
    return maximum_filter(ids, size=size, mode="nearest") != minimum_filter(ids, size=size, mode="nearest")


def region_metrics(
    image: np.ndarray,
    decoded: np.ndarray,
    groups: np.ndarray,
    decoded_region: np.ndarray | None = None,
    radius: int = BAND_PX,
) -> dict[str, Any]:
    """`mse_<region>` and `psnr_<region>` (PSNR capped as `metrics.psnr`) for the objects, the background and the
    boundary band of `groups` (HxW ids), on the pixels of `decoded_region` (None: all); an empty region is NaN and
    `region_error` says why."""
    decoded_region = np.ones(groups.shape, bool) if decoded_region is None else decoded_region
    masks = {"objects": groups != 0, "background": groups == 0, "boundary": boundary_band(groups, radius)}
    error = image.astype(np.float32) - decoded.astype(np.float32)  # exact: integer errors, sums below in float64
    squared = np.einsum("hwc,hwc->hw", error, error)  # per pixel, over its three samples
    out: dict[str, Any] = {}
    reasons = []
    for name, region in masks.items():
        pixels = region & decoded_region
        count = int(np.count_nonzero(pixels))
        if not count:
            out[f"mse_{name}"] = out[f"psnr_{name}"] = math.nan
            why = "the mask has none" if not region.any() else "none of it was decoded"
            reasons.append(f"{name}: {why}")
            continue
        out[f"mse_{name}"] = float(squared.sum(where=pixels, dtype=np.float64)) / (3 * count)
        out[f"psnr_{name}"] = psnr_from_mse(out[f"mse_{name}"])
    if reasons:
        out["region_error"] = "; ".join(reasons)
    return out
