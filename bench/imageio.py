"""Image reading/writing with the conversions a benchmark needs stated, never silent."""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
from PIL import Image, UnidentifiedImageError

from ssicbench.errors import ImageReadError

log = logging.getLogger(__name__)


def load_image(path: str | Path) -> np.ndarray:
    """Read an image file as HxWx3 uint8 RGB; 16-bit, alpha, palette and greyscale are converted (logged)."""
    path = Path(path)
    try:
        with Image.open(path) as img:
            img.load()
            mode = img.mode
            array = _to_rgb8(img)
    except FileNotFoundError:
        raise ImageReadError(f"{path}: no such file") from None
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError) as exc:
        raise ImageReadError(f"{path}: not a readable image ({exc.__class__.__name__})") from None
    if mode != "RGB":
        log.warning("%s: converted %s image to 8-bit RGB", path, mode)
    return array


def _to_rgb8(img: Image.Image) -> np.ndarray:
    if img.mode in ("I;16", "I;16B", "I;16L", "I"):  # 16-bit greyscale: keep the top 8 bits
        grey = np.asarray(img, dtype=np.uint32)
        scale = 65535 if grey.max() > 255 else 255
        grey8 = np.round(grey.astype(np.float64) * 255 / scale).astype(np.uint8)
        return np.repeat(grey8[..., None], 3, axis=2)
    if img.mode in ("RGBA", "LA", "PA") or (img.mode == "P" and "transparency" in img.info):
        img = img.convert("RGBA")
        background = Image.new("RGBA", img.size, (255, 255, 255, 255))
        img = Image.alpha_composite(background, img)
    return np.asarray(img.convert("RGB"), dtype=np.uint8).copy()


def save_image(image: np.ndarray, path: str | Path) -> None:
    """Write an HxWx3 uint8 array; the format follows the file extension."""
    Image.fromarray(image).save(path)
