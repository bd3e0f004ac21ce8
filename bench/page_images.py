"""The pictures the browser report shows, kept by the sweep under `report/images/<image>/`: the original, each
decode of the images it was asked to keep, and the group mask of each mask set as a coloured overlay. Decodes are
lossless WebP at the fastest effort (8x faster than the default for 10 % more bytes: about 0.35 MB per Kodak
decode), so the page shows exactly the pixels the receiver decoded."""

from __future__ import annotations

import io
import logging
import re
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from ssicbench.files import write_atomic

__all__ = ["FOLDER", "decode_file", "keep_decode", "original_file", "overlay_file", "overlay_rgba"]

log = logging.getLogger(__name__)

FOLDER = Path("report") / "images"  # under a results folder


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "_", text).strip("_") or "_"


def _image_folder(root: str | Path, image: str) -> Path:
    return Path(root) / FOLDER / _slug(Path(image).stem)


def decode_file(root: str | Path, codec: str, quality: Any, image: str) -> Path:
    """Where the decode of `image` by curve `codec` at `quality` is kept under results folder `root`."""
    return _image_folder(root, image) / f"{_slug(codec)}-q{_slug(str(quality))}.webp"


def original_file(root: str | Path, image: str) -> Path:
    return _image_folder(root, image) / "original.webp"


def overlay_file(root: str | Path, image: str, masks: str) -> Path:
    """The overlay of `image`'s group mask from mask set `masks`."""
    return _image_folder(root, image) / f"groups-{_slug(masks)}.png"


def overlay_rgba(ids: np.ndarray) -> np.ndarray:
    """HxW group ids as an RGBA overlay: each object group a distinct translucent colour, the background (group
    0) clear, and a solid line where groups meet."""
    hues = (np.asarray(ids, dtype=np.int64) * 0.618034) % 1.0  # golden-ratio steps: neighbours differ
    rgb = np.stack([_channel(hues, shift) for shift in (0.0, 1 / 3, 2 / 3)], -1)
    alpha = np.where(ids > 0, 110, 0).astype(np.uint8)
    edge = np.zeros(ids.shape, bool)
    edge[:-1] |= ids[:-1] != ids[1:]
    edge[1:] |= ids[1:] != ids[:-1]
    edge[:, :-1] |= ids[:, :-1] != ids[:, 1:]
    edge[:, 1:] |= ids[:, 1:] != ids[:, :-1]
    rgb[edge] = 255
    alpha[edge] = 230
    return np.dstack([rgb, alpha]).astype(np.uint8)


def _channel(hue: np.ndarray, shift: float) -> np.ndarray:
    return (127.5 + 127.5 * np.cos(2 * np.pi * (hue + shift))).astype(np.uint8)


def _encode(pixels: np.ndarray, fmt: str) -> bytes:
    out = io.BytesIO()
    if fmt == "WEBP":
        Image.fromarray(pixels).save(out, format="WEBP", lossless=True, quality=50, method=0)
    else:
        Image.fromarray(pixels).save(out, format=fmt)
    return out.getvalue()


def keep_decode(
    root: str | Path,
    codec: str,
    quality: Any,
    image: str,
    original: np.ndarray,
    decoded: np.ndarray,
    ids: np.ndarray | None = None,
    masks: str = "",
) -> None:
    """Keep the decode (and, once per image, the original and the overlay of `ids` from mask set `masks`); a
    failure to write is logged and never fails the job: the page then says the picture was not kept."""
    try:
        decode_file(root, codec, quality, image).parent.mkdir(parents=True, exist_ok=True)
        write_atomic(decode_file(root, codec, quality, image), _encode(decoded, "WEBP"))
        if not original_file(root, image).exists():
            write_atomic(original_file(root, image), _encode(original, "WEBP"))
        if ids is not None and masks and not overlay_file(root, image, masks).exists():
            write_atomic(overlay_file(root, image, masks), _encode(overlay_rgba(ids), "PNG"))
    except OSError as exc:
        log.warning("%s: the browser report's copy of %s q=%s was not kept (%s)", image, codec, quality, exc)
