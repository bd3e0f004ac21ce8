"""The pictures the browser report shows, kept by the sweep under `report/images/<image>/`: each decode of the
images it was asked to keep, their originals, and their group masks as coloured overlays. Decodes are
lossless WebP at the fastest effort (8x faster than the default for 10 % more bytes: about 0.35 MB per Kodak
decode), so the page shows exactly the pixels the receiver decoded."""

from __future__ import annotations

import hashlib
import io
import logging
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from ssicbench.files import safe_name, write_atomic

__all__ = ["FOLDER", "VIEWER_IMAGES", "keep_decode", "overlay_rgba"]

log = logging.getLogger(__name__)

FOLDER = Path("report") / "images"  # under a results folder
VIEWER_IMAGES = 2  # by default the first 2 images of a study keep their decodes (config key viewer_images)


def _digest(pixels: np.ndarray) -> str:
    return hashlib.sha1(np.ascontiguousarray(pixels).tobytes()).hexdigest()[:12]


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
    curve: str,
    quality: Any,
    image: str,
    original: np.ndarray,
    decoded: np.ndarray,
    ids: np.ndarray | None = None,
) -> dict[str, str] | None:
    """Keep the decode of `image` by `curve` at `quality` under results folder `root`, with the original and the
    overlay of the group ids `ids` (both named by their content, so a changed image or mask never meets an old
    picture); returns the kept files relative to `root` ("decode", "original", "overlay"), which the job's row
    records for the page. A failure to write is logged and gives None: the page then says it was not kept."""
    folder = Path(root) / FOLDER / safe_name(image)
    kept = {"decode": folder / f"{safe_name(curve)}-q{safe_name(str(quality))}.webp"}
    kept["original"] = folder / f"original-{_digest(original)}.webp"
    if ids is not None:
        kept["overlay"] = folder / f"groups-{_digest(ids)}.png"
    try:
        folder.mkdir(parents=True, exist_ok=True)
        write_atomic(kept["decode"], _encode(decoded, "WEBP"))
        if not kept["original"].exists():  # (named by its content: one there is this one)
            write_atomic(kept["original"], _encode(original, "WEBP"))
        if ids is not None and not kept["overlay"].exists():
            write_atomic(kept["overlay"], _encode(overlay_rgba(ids), "PNG"))
    except OSError as exc:
        log.warning("%s: the browser report's copy of %s q=%s was not kept (%s)", image, curve, quality, exc)
        return None
    return {name: path.relative_to(root).as_posix() for name, path in kept.items()}
