"""Image reading/writing with the conversions a benchmark needs stated, never silent.

Reading refuses images whose header claims more pixels than `max_image_pixels()` (Pillow's
decompression-bomb guard, raised with $SSICBENCH_MAX_IMAGE_PIXELS); writing is atomic and refuses
output names whose extension is not an image format, so a failed write leaves no file behind.
"""

from __future__ import annotations

import io
import logging
import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np
from PIL import Image, UnidentifiedImageError

from ssicbench.errors import ImageReadError, UsageError

log = logging.getLogger(__name__)

MAX_PIXELS_ENV = "SSICBENCH_MAX_IMAGE_PIXELS"
DEFAULT_MAX_PIXELS = 89_478_485  # Pillow's own default


def max_image_pixels() -> int:
    """The largest image (in pixels) read: $SSICBENCH_MAX_IMAGE_PIXELS, else Pillow's limit (about 89 M)."""
    value = os.environ.get(MAX_PIXELS_ENV, "")
    try:
        return int(value) if value else int(Image.MAX_IMAGE_PIXELS or DEFAULT_MAX_PIXELS)
    except ValueError:
        raise UsageError(f"${MAX_PIXELS_ENV}={value!r} is not a whole number of pixels") from None


@contextmanager
def open_image(path: str | Path, what: str = "image", data: bytes | None = None) -> Iterator[Image.Image]:
    """Open an image file (or its `data`, already read) with the size guard applied before any pixel is
    decoded; errors are ImageReadError naming `path`."""
    path = Path(path)
    limit = max_image_pixels()
    try:
        saved, Image.MAX_IMAGE_PIXELS = Image.MAX_IMAGE_PIXELS, None  # checked below, against our limit
        try:
            img = Image.open(path if data is None else io.BytesIO(data))
        finally:
            Image.MAX_IMAGE_PIXELS = saved
    except FileNotFoundError:
        raise ImageReadError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise ImageReadError(f"{path}: is a folder, not an {what}") from None
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError) as exc:
        raise ImageReadError(f"{path}: not a readable {what} ({exc.__class__.__name__})") from None
    with img:
        width, height = img.size
        if width * height > limit:
            raise _too_large(path, (width, height), limit, what)
        yield img


def _too_large(path: Path, size: tuple[int, int], limit: int, what: str) -> ImageReadError:
    claimed = f"claims {size[0]}x{size[1]} = {size[0] * size[1]:,} pixels"
    return ImageReadError(
        f"{path}: {what} header {claimed}, over the limit of {limit:,} (decompression-bomb guard);"
        f" if the file is trusted, raise it with {MAX_PIXELS_ENV}=N"
    )


def load_image(path: str | Path, data: bytes | None = None) -> np.ndarray:
    """Read an image file (or its `data`, already read) as HxWx3 uint8 RGB; 16-bit, alpha, palette and
    greyscale are converted (logged)."""
    path = Path(path)
    with open_image(path, data=data) as img:
        try:
            img.load()
            mode = img.mode
            array = _to_rgb8(img)
        except (OSError, ValueError, SyntaxError, EOFError) as exc:
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


def image_format(path: str | Path) -> str:
    """The Pillow format an output file name asks for by its extension; UsageError when none or unknown."""
    suffix = Path(path).suffix.lower()
    formats = Image.registered_extensions()
    if suffix not in formats or formats[suffix] not in Image.SAVE:
        Image.init()  # load every plugin, then ask again
        formats = Image.registered_extensions()
    if suffix in formats and formats[suffix] in Image.SAVE:
        return formats[suffix]
    known = ", ".join(s for s in (".png", ".bmp", ".ppm", ".tif", ".webp", ".jpg"))
    said = f"extension {suffix}" if suffix else "no extension"
    raise UsageError(f"{path}: {said} names no image format to write (e.g. {known})")


def check_output_path(path: str | Path, create: bool = False) -> Path:
    """An output file path; a folder, or a parent that is a file, is a UsageError. `create` makes its folder."""
    path = Path(path)
    if path.is_dir():
        raise UsageError(f"{path} is a folder; give an output file name")
    if any(p.exists() and not p.is_dir() for p in path.parents):
        raise UsageError(
            f"{path}: {next(p for p in path.parents if p.exists() and not p.is_dir())} is a file, not a folder"
        )
    if not create:
        return path
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except (FileExistsError, NotADirectoryError):
        raise UsageError(f"{path}: {path.parent} is a file, not a folder") from None
    except OSError as exc:
        raise UsageError(f"{path}: cannot create its folder ({exc.strerror})") from None
    return path


def write_atomic(path: str | Path, data: bytes) -> None:
    """Write `data` to `path` through a temp file in the same folder (renamed into place): all or nothing."""
    path = check_output_path(path, create=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def save_image(image: np.ndarray, path: str | Path) -> None:
    """Write an HxWx3 uint8 array atomically; the format follows the file extension (UsageError if none)."""
    fmt = image_format(path)
    out = io.BytesIO()
    Image.fromarray(image).save(out, format=fmt)
    write_atomic(path, out.getvalue())
