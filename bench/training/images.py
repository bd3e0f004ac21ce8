"""Training images that are not the test set: colour photographs shipped inside installed packages, and
procedurally generated dead-leaves images, all made on the training machine (nothing is downloaded).

Dead-leaves images (occluding discs with a power-law size distribution) share the scale invariance and edge
statistics of natural photographs and are known to train usable image models; textured, blurred discs
add the fine detail that flat discs lack. Kodak is what the codecs are judged on, so it is refused here.
"""

from __future__ import annotations

from collections.abc import Sequence
from importlib import resources
from pathlib import Path

import numpy as np
from PIL import Image, ImageFilter

from ssicbench.errors import BenchError
from ssicbench.imageio import load_image

__all__ = [
    "DISCS",
    "PACKAGE_PHOTOS",
    "PHOTO_SCALES",
    "VALIDATION_PHOTOS",
    "dead_leaves",
    "dead_leaves_pool",
    "load_training_images",
    "multiscale",
    "package_photo_paths",
    "photo_palette",
]

# (package, path inside it) of every colour photograph these packages ship.
PACKAGE_PHOTOS = (
    ("skimage", "data/astronaut.png"),
    ("skimage", "data/chelsea.png"),
    ("skimage", "data/coffee.png"),
    ("skimage", "data/rocket.jpg"),
    ("skimage", "data/hubble_deep_field.jpg"),
    ("skimage", "data/ihc.png"),
    ("skimage", "data/retina.jpg"),
    ("skimage", "data/motorcycle_left.png"),
    ("skimage", "data/motorcycle_right.png"),
    ("matplotlib", "mpl-data/sample_data/grace_hopper.jpg"),
    ("matplotlib", "mpl-data/sample_data/Minduka_Present_Blue_Pack.png"),
)
# Photographs no training run uses: the held-out validation set (never Kodak, which is the test set).
VALIDATION_PHOTOS = (
    ("sklearn", "datasets/images/china.jpg"),
    ("sklearn", "datasets/images/flower.jpg"),
)
PHOTO_SCALES = (1.0, 0.75, 0.5)  # each photo also downscaled: sharper content at the same crop size
DISCS = 4000  # per dead-leaves image: enough that the smallest discs make fine detail everywhere


def package_photo_paths(photos: Sequence[tuple[str, str]] = PACKAGE_PHOTOS) -> list[Path]:
    """The package photographs of `photos` present on this machine (a package version may lack some)."""
    paths = []
    for package, relative in photos:
        try:
            path = Path(str(resources.files(package) / relative))
        except ModuleNotFoundError:
            continue
        if path.is_file():
            paths.append(path)
    return paths


def multiscale(images: Sequence[np.ndarray], min_size: int) -> list[np.ndarray]:
    """Every image at each of `PHOTO_SCALES` whose result still holds a `min_size` crop."""
    out = []
    for image in images:
        for scale in PHOTO_SCALES:
            height, width = round(image.shape[0] * scale), round(image.shape[1] * scale)
            if min(height, width) < min_size:
                continue
            resized = image if scale == 1 else Image.fromarray(image).resize((width, height), Image.LANCZOS)
            out.append(np.asarray(resized))
    return out


def dead_leaves(size: int, seed: int, palette: np.ndarray | None = None) -> np.ndarray:
    """One (size, size, 3) uint8 dead-leaves image: discs of radius density ~ r^-3 (scale invariant), each with a
    colour (drawn from `palette`, e.g. photo pixels, else uniform), a linear shading and a noise texture, painted
    one over the other on a shaded ground, then a random blur."""
    rng = np.random.default_rng(seed)

    def colour() -> np.ndarray:
        if palette is None:
            return rng.uniform(0, 255, 3).astype(np.float32)
        return palette[rng.integers(len(palette))].astype(np.float32)

    yy, xx = np.mgrid[0:size, 0:size].astype(np.float32)
    canvas = colour() + (rng.normal(0, 0.1) * yy + rng.normal(0, 0.1) * xx)[..., None]
    min_radius, max_radius = size / 200, size / 3
    for _ in range(DISCS):
        u = rng.random()  # inverse CDF of p(r) ~ r^-3 on [min_radius, max_radius]
        radius = (min_radius**-2 - u * (min_radius**-2 - max_radius**-2)) ** -0.5
        cy, cx = rng.uniform(0, size, 2)
        top, bottom = max(int(cy - radius), 0), min(int(cy + radius) + 1, size)
        left, right = max(int(cx - radius), 0), min(int(cx + radius) + 1, size)
        dy, dx = yy[top:bottom, left:right] - cy, xx[top:bottom, left:right] - cx
        inside = dy**2 + dx**2 <= radius**2
        gradient = rng.normal(0, 30 / radius, 2)
        texture = rng.normal(0, rng.uniform(0, 10), inside.shape)
        value = (gradient[0] * dy + gradient[1] * dx + texture)[inside]
        canvas[top:bottom, left:right][inside] = colour() + value[:, None]
    image = Image.fromarray(np.clip(canvas, 0, 255).astype(np.uint8))
    blur = rng.uniform(0, 1.5)
    if blur > 0.3:
        image = image.filter(ImageFilter.GaussianBlur(blur))
    return np.asarray(image)


def photo_palette(images: Sequence[np.ndarray], count: int = 65536, seed: int = 0) -> np.ndarray:
    """`count` pixel colours drawn from `images`: dead leaves then have the colours of photographs."""
    rng = np.random.default_rng(seed)
    pixels = np.concatenate([image.reshape(-1, 3) for image in images])
    return pixels[rng.integers(len(pixels), size=count)]


def load_training_images(spec: str, patch_size: int) -> list[np.ndarray]:
    """Photos for training: `package-photos` (multi-scale), or a dataset name / folder. Kodak is the test set, so
    a training set named so, or holding any of its images (by sha256), is refused."""
    if spec == "package-photos":
        paths = package_photo_paths()
        if not paths:
            raise BenchError("no package photographs found (scikit-image and matplotlib ship them)")
        return multiscale([load_image(p) for p in paths], patch_size)
    from ssicbench.datasets import file_digest, kodak_checksums, load_dataset

    if spec.lower() == "kodak":
        raise BenchError("training on Kodak is refused: it is the test set the codecs are judged on")
    paths = [item.path for item in load_dataset(spec)]
    kodak = set(kodak_checksums().values())
    for path in paths:
        if file_digest(path, "sha256") in kodak:
            raise BenchError(f"training image {path} is a Kodak image (the test set); refused")
    return [load_image(p) for p in paths]


def dead_leaves_pool(
    count: int, size: int, seed: int, palette: np.ndarray | None = None, workers: int = 1
) -> list[np.ndarray]:
    """`count` dead-leaves images, image i drawn from seed (seed, i): the same pool whatever `workers`."""
    seeds = [int(np.random.default_rng([seed, i]).integers(2**63)) for i in range(count)]
    if workers <= 1 or count < 2:
        return [dead_leaves(size, s, palette) for s in seeds]
    from concurrent.futures import ProcessPoolExecutor

    with ProcessPoolExecutor(workers) as pool:
        return list(pool.map(dead_leaves, [size] * count, seeds, [palette] * count, chunksize=4))
