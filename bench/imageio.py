"""Image reading/writing with the conversions a benchmark needs stated, never silent.

Reading refuses images whose header claims more pixels than `max_image_pixels()` (Pillow's
decompression-bomb guard, raised with $SSICBENCH_MAX_IMAGE_PIXELS); writing is atomic and refuses
output names whose extension is not an image format, so a failed write leaves no file behind.
"""

from __future__ import annotations

import io
import logging
import os
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from ssicbench import files
from ssicbench.errors import ImageReadError, UsageError

__all__ = [
    "DEFAULT_MAX_PIXELS",
    "MAX_PIXELS_ENV",
    "REFUSED_MODES",
    "check_output_folder",
    "check_output_path",
    "image_format",
    "load_image",
    "max_image_pixels",
    "open_image",
    "save_image",
    "to_rgb8",
    "write_atomic",
]

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
    if data is None:
        files.require_regular_file(path, what, ImageReadError)
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
    """Read an image file (or its `data`, already read) as HxWx3 uint8 RGB, by the rules of `to_rgb8`."""
    path = Path(path)
    with open_image(path, data=data) as img:
        try:
            array, conversion = to_rgb8(img, path, data)
        except ImageReadError:
            raise
        except (OSError, ValueError, SyntaxError, EOFError) as exc:
            raise ImageReadError(f"{path}: not a readable image ({exc.__class__.__name__})") from None
    if conversion:
        log.warning("%s: %s", path, conversion)
    return array


REFUSED_MODES = {
    "F": "a floating-point image (its value range is not stated); give an 8- or 16-bit image",
    "I": "a 32-bit integer image (its value range is not stated); give an 8- or 16-bit image",
    "CMYK": "a CMYK image; convert it to RGB with its colour profile first",
    "YCbCr": "a YCbCr image; convert it to RGB first",
    "LAB": "a Lab image; convert it to RGB first",
    "HSV": "an HSV image; convert it to RGB first",
}


def to_rgb8(img: Image.Image, path: Path, data: bytes | None = None) -> tuple[np.ndarray, str]:
    """The pixels of `img` (opened from `path`, or from its bytes `data`) as HxWx3 uint8 RGB and what was converted
    ("" when nothing was).

    8-bit RGB is read as it is; greyscale is copied to the three channels; palette images are expanded; alpha
    is composited on white; 16-bit images are scaled (value * 255 / 65535, rounded); the EXIF orientation is
    applied (what a viewer shows). Refused (ImageReadError): several frames (animations), floating-point and
    32-bit integer images, CMYK, YCbCr, Lab and HSV (no single right conversion).
    """
    frames = getattr(img, "n_frames", 1)
    if frames > 1:
        raise ImageReadError(f"{path}: has {frames} frames (an animation); give a still image")
    if img.mode in REFUSED_MODES:
        raise ImageReadError(f"{path}: {REFUSED_MODES[img.mode]}")
    notes = []
    sixteen = any(";16" in str(tile.args) for tile in img.tile) or img.mode.startswith("I;16")
    orientation = img.getexif().get(0x0112, 1)
    if sixteen:
        import imagecodecs  # only here: 16-bit files are rare, and its import costs a tenth of a second

        raw = path.read_bytes() if data is None else data
        pixels = np.asarray(imagecodecs.imread(raw), dtype=np.float64)
        if pixels.ndim == 3 and pixels.shape[2] == 4:  # RGBA: alpha on white
            alpha = pixels[..., 3:] / 65535
            pixels = pixels[..., :3] * alpha + 65535 * (1 - alpha)
        array = np.round(pixels * 255 / 65535).astype(np.uint8)
        array = np.repeat(array[..., None], 3, axis=2) if array.ndim == 2 else array[..., :3]
        notes.append("16-bit image scaled to 8 bits")
        img = Image.fromarray(np.ascontiguousarray(array))
    elif img.mode in ("RGBA", "LA", "PA") or (img.mode == "P" and "transparency" in img.info):
        notes.append(f"{img.mode} image composited on white")
        img = Image.alpha_composite(Image.new("RGBA", img.size, (255, 255, 255, 255)), img.convert("RGBA"))
    elif img.mode != "RGB":
        notes.append(f"{img.mode} image converted to RGB")
    if orientation != 1:
        img = ImageOps.exif_transpose(img.convert("RGB"))
        notes.append(f"EXIF orientation {orientation} applied")
    return np.asarray(img.convert("RGB"), dtype=np.uint8).copy(), "; ".join(notes)


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


def check_output_path(path: str | Path, create: bool = False, inputs: Sequence[str | Path] = ()) -> Path:
    """An output file path; a folder, a parent that is a file, or one of the `inputs` (it would be overwritten) is a
    UsageError. `create` makes its folder."""
    path = Path(path)
    for source in inputs:
        if path.exists() and Path(source).exists() and os.path.samefile(path, source):
            raise UsageError(f"{path} is the input {source}; give another output file name")
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


def check_output_folder(path: str | Path, flag: str = "--out") -> Path:
    """A results folder to write into (it may not exist yet); UsageError when it, or a folder above it, is a file."""
    path = Path(path)
    for folder in (path, *path.parents):
        if folder.exists() and not folder.is_dir():
            where = "is a file" if folder == path else f"is under {folder}, which is a file"
            raise UsageError(f"{flag} {path} {where}; give a results folder")
    return path


def write_atomic(path: str | Path, data: bytes) -> None:
    """Write `data` to a user-named output `path` (checked, its folder created): all or nothing."""
    files.write_atomic(check_output_path(path, create=True), data)


def save_image(image: np.ndarray, path: str | Path) -> None:
    """Write an HxWx3 uint8 array atomically; the format follows the file extension (UsageError if none)."""
    fmt = image_format(path)
    out = io.BytesIO()
    Image.fromarray(image).save(out, format=fmt)
    write_atomic(path, out.getvalue())
