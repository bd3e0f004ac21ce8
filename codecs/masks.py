"""Group masks of structured codecs: integer ids 0..255, one per square cell of `mask_cell` pixels.

A mask for an H x W image has shape `StructuredCodec.mask_shape(H, W)` = (ceil(H/cell), ceil(W/cell)).
Files are .npy arrays of ids or PNGs at that resolution: ids directly, id x step (the reference figures,
e.g. the SSIC conformance mask uses step 60), or, like the Kodak masks and any binary 0/255 mask, only
foreground vs background: then the groups are the 4-connected components of the non-zero cells, numbered
from 1 in raster order (the reference CLI).
"""

from __future__ import annotations

import math
from functools import reduce
from pathlib import Path

import numpy as np

from ssicbench.errors import BenchError, ImageReadError, MaskError
from ssicbench.files import require_regular_file
from ssicbench.imageio import open_image

__all__ = [
    "file_cell",
    "MASK_SUFFIXES",
    "MAX_GROUP_ID",
    "MODES",
    "REFERENCE_GRID",
    "cell_grid",
    "check_group_mask",
    "load_group_mask",
    "mask_file",
    "random_group_mask",
    "sample_group_masks",
]

MAX_GROUP_ID = 255
MODES = ("auto", "ids", "step", "components")
REFERENCE_GRID = 32  # pixels: the SSIC reference draws its random training groups on a 32-px grid


def cell_grid(height: int, width: int, cell: int) -> tuple[int, int]:
    """(rows, columns) of the mask of a `height` x `width` image with `cell`-pixel cells."""
    return math.ceil(height / cell), math.ceil(width / cell)


def check_group_mask(mask: np.ndarray, shape: tuple[int, int], source: str = "group mask") -> np.ndarray:
    """Validate a mask against the `shape` the codec needs; returns it as int64. MaskError names both shapes."""
    mask = np.asarray(mask)
    if mask.shape != tuple(shape):
        rows, cols = (mask.shape + (0, 0))[:2]
        raise MaskError(f"{source} is {rows}x{cols} ({mask.ndim}-D), but the image needs {shape[0]}x{shape[1]} ids")
    if mask.dtype != bool and not np.issubdtype(mask.dtype, np.integer):
        raise MaskError(f"{source} must hold integer group ids, not {mask.dtype}")
    mask = mask.astype(np.int64)
    if mask.size and (mask.min() < 0 or mask.max() > MAX_GROUP_ID):
        raise MaskError(f"{source} has ids in [{mask.min()}, {mask.max()}]; ids must be in 0..{MAX_GROUP_ID}")
    return mask


def load_group_mask(
    path: str | Path, shape: tuple[int, int], mode: str = "auto", step: int | None = None
) -> np.ndarray:
    """Read a mask of `shape` (the codec's `mask_shape`) from a .npy array of ids or a PNG, as int64.

    PNG `mode`: "ids" (value = id), "step" (id = value / `step`, default the smallest non-zero value),
    "components" (4-connected components of value != 0) or "auto": "step" when the values are exactly
    0, s, 2s, ... for some s with at least two non-zero levels, else "components". So a binary mask
    (0/255, or 0/1) is foreground vs background: each 4-connected blob of foreground blocks is one group,
    numbered from 1 in raster order, as the SSIC reference CLI labels its masks.
    """
    path = Path(path)
    if mode not in MODES:
        raise MaskError(f"unknown mask mode {mode!r}; known: {', '.join(MODES)}")
    if not path.exists():
        raise MaskError(f"group mask {path} does not exist")
    require_regular_file(path, "group mask", MaskError)
    if path.suffix.lower() == ".npy":
        try:
            values = np.load(path, allow_pickle=False)
        except (ValueError, EOFError, OSError) as exc:
            raise MaskError(f"group mask {path} is not a plain .npy array ({exc})") from None
        return check_group_mask(values, shape, str(path))
    values = _read_png(path)
    check_group_mask(np.zeros_like(values), shape, str(path))  # size first: the clearest error
    return check_group_mask(_ids_from_values(values, mode, step, path), shape, str(path))


MASK_SUFFIXES = (".npy", ".png")  # the order a mask folder is searched in: exact ids first, then a PNG's


def mask_file(folder: str | Path, image_name: str) -> Path | None:
    """The group mask of image `image_name` in `folder`: `<stem>.npy`, else `<stem>.png`; None when neither exists.
    The one lookup of every command (rd and task) that reads a mask folder."""
    stem = Path(image_name).stem
    return next((p for p in (Path(folder) / f"{stem}{s}" for s in MASK_SUFFIXES) if p.is_file()), None)


def file_cell(path: str | Path, height: int) -> int:
    """The cell size in pixels of a mask file for an image `height` px high (a file stores ids, not its cell)."""
    path = Path(path)
    if not path.exists():
        raise MaskError(f"group mask {path} does not exist")
    require_regular_file(path, "group mask", MaskError)
    if path.suffix.lower() == ".npy":
        try:
            rows = np.load(path, mmap_mode="r", allow_pickle=False).shape[0]
        except (ValueError, IndexError) as exc:
            raise MaskError(f"group mask {path} is not a plain 2-D .npy array ({exc})") from None
    else:
        with open_image(path, "group mask") as image:
            rows = image.size[1]
    if not 1 <= rows <= height:
        raise MaskError(f"group mask {path} has {rows} rows, which fit no cell size of a {height}-px high image")
    return math.ceil(height / rows)


def random_group_mask(shape: tuple[int, int], cell: int, seed: int = 0) -> np.ndarray:
    """Irregular groups as the SSIC reference trains with, on a grid of `shape` cells of `cell` pixels.

    On a 32-pixel grid (the reference's), about 10% of the grid squares seed a 2-3 x 2-3 square box; the
    groups are the 4-connected components of the boxes (background 0).
    """
    unit = max(1, REFERENCE_GRID // cell)
    rng = np.random.default_rng(seed)
    grid = (math.ceil(shape[0] / unit), math.ceil(shape[1] / unit))
    boxes = np.zeros(grid, dtype=bool)
    for i, j in zip(*np.nonzero(rng.random(grid) >= 0.9)):
        boxes[i : i + rng.integers(2, 4), j : j + rng.integers(2, 4)] = True
    ids = _components(boxes)
    return np.kron(ids, np.ones((unit, unit), dtype=np.int64))[: shape[0], : shape[1]]


def sample_group_masks(
    rng: np.random.Generator, batch: int, height: int, width: int, cell: int, empty_prob: float
) -> np.ndarray:
    """The training mask sampler: `batch` masks (B, rows, cols) for `height` x `width` patches of a structured
    codec with `cell`-pixel mask cells; a share `empty_prob` of them is one group (no objects)."""
    shape = cell_grid(height, width, cell)
    masks = []
    for _ in range(batch):
        single = rng.random() < empty_prob
        seed = int(rng.integers(2**31))
        masks.append(np.zeros(shape, np.int64) if single else random_group_mask(shape, cell, seed))
    return np.stack(masks)


def _read_png(path: Path) -> np.ndarray:
    try:
        with open_image(path, "group mask") as image:
            if image.mode in ("RGB", "RGBA"):
                rgb = np.asarray(image.convert("RGB"))
                if not (rgb[..., 0] == rgb[..., 1]).all() or not (rgb[..., 1] == rgb[..., 2]).all():
                    raise MaskError(f"group mask {path} is a colour image; masks are grey levels or ids")
                return rgb[..., 0].astype(np.int64)
            if image.mode in ("L", "P", "I", "I;16", "1"):
                return np.asarray(image).astype(np.int64)
            raise MaskError(f"group mask {path} has unsupported image mode {image.mode}")
    except BenchError:
        raise
    except (OSError, ValueError, SyntaxError, EOFError) as exc:
        raise ImageReadError(f"cannot read group mask {path} as an image ({exc.__class__.__name__})") from None


def _ids_from_values(values: np.ndarray, mode: str, step: int | None, path: Path) -> np.ndarray:
    levels = np.unique(values)
    nonzero = levels[levels > 0]
    if mode == "auto":
        gcd = reduce(math.gcd, nonzero.tolist(), 0)
        regular = len(nonzero) > 1 and np.array_equal(nonzero // gcd, np.arange(1, len(nonzero) + 1))
        mode, step = ("step", gcd) if regular or not len(nonzero) else ("components", None)
    if mode == "ids":
        return values
    if mode == "components":
        return _components(values != 0)
    step = step or (int(nonzero.min()) if len(nonzero) else 1)
    if (values % step).any():
        raise MaskError(f"group mask {path} has values that are not multiples of step {step}")
    return values // step


def _components(foreground: np.ndarray) -> np.ndarray:
    """4-connected components of `foreground`, numbered from 1 in raster order; background 0."""
    from scipy import ndimage  # imported here: scipy.ndimage costs half a second of start-up

    labels, count = ndimage.label(foreground)
    if count > MAX_GROUP_ID:
        raise MaskError(f"group mask has {count} connected groups; at most {MAX_GROUP_ID} are supported")
    return labels.astype(np.int64)
