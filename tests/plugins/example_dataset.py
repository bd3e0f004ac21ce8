"""A test-only dataset in one file: three generated images, made where it is first loaded (the folder is the
option `root`), so an `rd` sweep runs on it by name: `--plugin tests/plugins/example_dataset.py rd --dataset
test-gradients`."""

import os
from pathlib import Path

import numpy as np
from PIL import Image

from ssicbench.datasets import DATASETS, Dataset, folder_dataset


@DATASETS.register("test-gradients", description="test only: three generated gradients")
def gradients(root: str = "") -> Dataset:
    folder = Path(root or os.environ.get("SSICBENCH_TEST_GRADIENTS", "gradients"))
    folder.mkdir(parents=True, exist_ok=True)
    for i in range(3):
        y, x = np.mgrid[0:64, 0:96]
        image = np.stack([(x * (i + 2)) % 256, (y * 3) % 256, (x + y + 40 * i) % 256], axis=-1).astype(np.uint8)
        Image.fromarray(image).save(folder / f"gradient{i}.png")
    return Dataset("test-gradients", tuple(folder_dataset(folder)))  # no labels: a task scores it on pseudo GT
