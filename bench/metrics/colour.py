"""RGB -> Y'CbCr of 8-bit images for the metrics on luma and chroma: ITU-R BT.709 (JPEG AI's common test
conditions) or BT.601, full range (Y in [0, 255], Cb and Cr centred on 128), in float64 without rounding."""

from __future__ import annotations

import numpy as np

__all__ = ["LUMA_WEIGHTS", "luma", "ycbcr"]

LUMA_WEIGHTS = {"bt709": (0.2126, 0.7152, 0.0722), "bt601": (0.299, 0.587, 0.114)}  # Kr, Kg, Kb


def ycbcr(image: np.ndarray, standard: str = "bt709") -> np.ndarray:
    """HxWx3 uint8 RGB -> HxWx3 float64 Y'CbCr (full range)."""
    kr, kg, kb = LUMA_WEIGHTS[standard]
    rgb = image.astype(np.float64)
    y = rgb @ np.array([kr, kg, kb])
    cb = (rgb[..., 2] - y) / (2 * (1 - kb)) + 128.0
    cr = (rgb[..., 0] - y) / (2 * (1 - kr)) + 128.0
    return np.stack([y, cb, cr], -1)


def luma(image: np.ndarray, standard: str = "bt709") -> np.ndarray:
    """HxW float64 Y' of an HxWx3 uint8 RGB image."""
    return image.astype(np.float64) @ np.array(LUMA_WEIGHTS[standard])
