"""Group masks: one group id per 16x16 block of the image (0 = background), from files or generated.

A mask for an H x W image is an integer array of shape (ceil(H/16), ceil(W/16)) with ids in 0..255.
PNG masks hold ids directly, as id x step (the reference figures, e.g. the conformance mask uses
step 60), or, like the Kodak masks and any binary 0/255 mask, only foreground vs background: then the
groups are the 4-connected components of the non-zero blocks, numbered from 1 in raster order (the
reference CLI).
"""

from __future__ import annotations

import math
from functools import reduce
from pathlib import Path

import numpy as np

from ssicbench.codecs.ssic.config import LATENT_STRIDE as BLOCK
from ssicbench.errors import BenchError, ImageReadError, MaskError
from ssicbench.imageio import open_image

MAX_GROUP_ID = 255
MODES = ("auto", "ids", "step", "components")
KINDS = ("single", "random")


def mask_shape(image_hw: tuple[int, int]) -> tuple[int, int]:
    """Shape of the group mask of an image of size (H, W): one cell per 16x16 block."""
    return math.ceil(image_hw[0] / BLOCK), math.ceil(image_hw[1] / BLOCK)


def check_group_mask(mask: np.ndarray, image_hw: tuple[int, int], source: str = "group mask") -> np.ndarray:
    """Validate a mask for an image of size `image_hw`; returns it as int64. MaskError names both sizes."""
    mask = np.asarray(mask)
    expected = mask_shape(image_hw)
    if mask.shape != expected:
        raise MaskError(
            f"{source} is {mask.shape[0] if mask.ndim else 0}x{mask.shape[1] if mask.ndim > 1 else 0}"
            f" ({mask.ndim}-D), but a {image_hw[0]}x{image_hw[1]} image needs {expected[0]}x{expected[1]}"
            f" (one id per {BLOCK}x{BLOCK} block)"
        )
    if mask.dtype != bool and not np.issubdtype(mask.dtype, np.integer):
        raise MaskError(f"{source} must hold integer group ids, not {mask.dtype}")
    mask = mask.astype(np.int64)
    if mask.size and (mask.min() < 0 or mask.max() > MAX_GROUP_ID):
        raise MaskError(f"{source} has ids in [{mask.min()}, {mask.max()}]; ids must be in 0..{MAX_GROUP_ID}")
    return mask


def load_group_mask(
    path: str | Path, image_hw: tuple[int, int], mode: str = "auto", step: int | None = None
) -> np.ndarray:
    """Read a mask from a .npy array of ids or a PNG, for an image of size (H, W) -> (ceil(H/16), ceil(W/16)) int64.

    PNG `mode`: "ids" (value = id), "step" (id = value / `step`, default the smallest non-zero value),
    "components" (4-connected components of value != 0) or "auto": "step" when the values are exactly
    0, s, 2s, ... for some s with at least two non-zero levels, else "components". So a binary mask
    (0/255, or 0/1) is foreground vs background: each 4-connected blob of foreground blocks is one group,
    numbered from 1 in raster order, as the SSIC reference CLI labels its masks.
    """
    path = Path(path)
    if mode not in MODES:
        raise ValueError(f"unknown mask mode {mode!r}; known: {', '.join(MODES)}")
    if not path.is_file():
        raise MaskError(f"group mask {path} does not exist")
    if path.suffix.lower() == ".npy":
        try:
            values = np.load(path, allow_pickle=False)
        except ValueError as exc:
            raise MaskError(f"group mask {path} is not a plain .npy array ({exc})") from None
        return check_group_mask(values, image_hw, str(path))
    values = _read_png(path)
    check_group_mask(np.zeros_like(values), image_hw, str(path))  # size first: the clearest error
    return check_group_mask(_ids_from_values(values, mode, step, path), image_hw, str(path))


def generate_group_mask(image_hw: tuple[int, int], kind: str = "single", seed: int = 0) -> np.ndarray:
    """A mask without a file: "single" (the whole image is group 0) or "random" irregular groups.

    "random" follows the reference's training masks: on a 32-pixel grid, about 10% of the cells seed a
    2-3 x 2-3 cell box; the groups are the 4-connected components of the boxes (background 0).
    """
    shape = mask_shape(image_hw)
    if kind == "single":
        return np.zeros(shape, dtype=np.int64)
    if kind != "random":
        raise ValueError(f"unknown mask kind {kind!r}; known: {', '.join(KINDS)}")
    rng = np.random.default_rng(seed)
    grid = (math.ceil(shape[0] / 2), math.ceil(shape[1] / 2))
    boxes = np.zeros(grid, dtype=bool)
    for i, j in zip(*np.nonzero(rng.random(grid) >= 0.9)):
        boxes[i : i + rng.integers(2, 4), j : j + rng.integers(2, 4)] = True
    ids = _components(boxes)
    return np.kron(ids, np.ones((2, 2), dtype=np.int64))[: shape[0], : shape[1]]


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


def pad_group_mask(mask: np.ndarray, latent_hw: tuple[int, int]) -> np.ndarray:
    """Extend a mask to the padded image's latent grid, repeating its last row/column (padding joins its neighbour)."""
    rows, cols = latent_hw[0] - mask.shape[0], latent_hw[1] - mask.shape[1]
    return np.pad(mask, ((0, rows), (0, cols)), mode="edge")
