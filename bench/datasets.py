"""The one dataset catalog: every registered dataset gives its image files and, for annotated sets, its COCO-format
ground truth, so `rd` and `task` read the same images under the same name.

`load_dataset("kodak")`, `load_dataset("embedded")` or `load_dataset("/path/to/folder")` gives the sorted
`ImageItem`s an `rd` sweep codes; `DATASETS.create(name, **options).ground_truth()` the labels a `task` study
scores against (images without labels where a set has none: for pseudo ground truth). Downloads are verified
against known checksums before they are kept; COCO files are checked by `check_coco`.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import shutil
import tempfile
import urllib.request
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

from ssicbench.errors import BenchError, UnknownNameError, UsageError
from ssicbench.files import printable_name, require_regular_file
from ssicbench.imageio import load_image
from ssicbench.jsonfile import read_json_object
from ssicbench.registry import Registry
from ssicbench.validate import MAX_FLOAT, check_value

__all__ = [
    "COCO_ANNOTATIONS_2017",
    "COCO_VAL2017",
    "DATASETS",
    "EMBEDDED_ANNOTATIONS",
    "Dataset",
    "check_coco",
    "coco_format_dataset",
    "embedded_dataset",
    "images_dataset",
    "IMAGE_SUFFIXES",
    "KODAK_URL",
    "DownloadError",
    "ImageItem",
    "coco_val2017_dataset",
    "data_home",
    "download_file",
    "embedded_dataset",
    "fetch_coco_annotations",
    "fetch_zip",
    "file_digest",
    "folder_dataset",
    "kodak_checksums",
    "kodak_dataset",
    "load_dataset",
    "shipped_kodak",
    "shipped_kodak_masks",
    "verify_kodak",
]

IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".ppm", ".webp"}
KODAK_URL = "http://r0k.us/graphics/kodak/kodak/"
COCO_VAL2017 = {"url": "http://images.cocodataset.org/zips/val2017.zip", "md5": "442b8da7639aecaf257c1dceb8ba8c80"}
COCO_ANNOTATIONS_2017 = {
    "url": "http://images.cocodataset.org/annotations/annotations_trainval2017.zip",
    "md5": "f4bbac642086de4f52a3fdda2de5fa2c",
}
EMBEDDED_ANNOTATIONS = "embedded_coco.json"  # in bench/data: hand-traced COCO labels of six scikit-image photos


class DownloadError(BenchError):
    """A download that failed or whose checksum does not match."""


@dataclass(frozen=True)
class ImageItem:
    """One image of a dataset: a stable name (used in result keys) and its file, or the file's bytes when it
    travels by value to a machine that cannot read `path`."""

    name: str
    path: Path
    data: bytes | None = field(default=None, repr=False)

    def by_value(self) -> ImageItem:
        """The same item carrying its file's bytes."""
        try:
            return self if self.data is not None else ImageItem(self.name, self.path, Path(self.path).read_bytes())
        except OSError:  # unreadable here too: the job reports it as an error row
            return self


@dataclass(frozen=True)
class Dataset:
    """A registered dataset: its images (`items`, in file-name order, all in one folder) and, for annotated sets,
    the reader of its COCO-format labels (`annotations`, called only when a study asks for them)."""

    name: str
    items: tuple[ImageItem, ...]
    annotations: Callable[[], dict[str, Any]] | None = field(default=None, compare=False, repr=False)

    @property
    def folder(self) -> Path:
        return self.items[0].path.parent

    @property
    def labelled(self) -> bool:
        return self.annotations is not None

    def ground_truth(self) -> dict[str, Any]:
        """COCO-format ground truth: the set's labels, or (without labels) its images with ids 1.. in file-name
        order, their sizes, and no annotations or categories."""
        if self.annotations is not None:
            return self.annotations()
        images = []
        for image_id, item in enumerate(self.items, 1):
            height, width = load_image(item.path).shape[:2]  # as read (EXIF orientation applied)
            images.append({"id": image_id, "file_name": item.path.name, "height": height, "width": width})
        return {"images": images, "annotations": [], "categories": []}


DATASETS: Registry[Dataset] = Registry("dataset")


def data_home() -> Path:
    """Where downloaded datasets live: $SSICBENCH_DATA or ~/.cache/ssicbench."""
    return Path(os.environ.get("SSICBENCH_DATA", Path.home() / ".cache" / "ssicbench"))


def folder_dataset(path: str | Path) -> list[ImageItem]:
    """Every image file directly inside `path`, sorted by name."""
    path = Path(path)
    if not path.is_dir():
        raise BenchError(f"dataset folder {path} does not exist")
    items = [ImageItem(printable_name(p.name), p) for p in sorted(path.iterdir()) if p.suffix.lower() in IMAGE_SUFFIXES]
    if not items:
        raise BenchError(f"dataset folder {path} holds no images ({', '.join(sorted(IMAGE_SUFFIXES))})")
    return items


def load_dataset(spec: str, **options: Any) -> list[ImageItem]:
    """The images of a registered dataset (`kodak`, `embedded`, `coco-val2017`, ...) or of a folder path."""
    if spec in DATASETS:
        return list(DATASETS.create(spec, **options).items)
    if Path(spec).is_dir():
        return folder_dataset(spec)
    raise UnknownNameError(f"unknown dataset {spec!r}: not a folder, and not one of {', '.join(DATASETS.names())}")


@DATASETS.register("embedded", description="6 scikit-image photos with hand-traced COCO labels; needs no download")
def embedded_dataset() -> Dataset:
    """Photographs that ship inside the scikit-image wheel, labelled by hand (persons, cat, cup, spoon, motorcycle,
    horse), so the main job and the task study run offline."""
    gt = check_coco(json.loads((resources.files("ssicbench") / "data" / EMBEDDED_ANNOTATIONS).read_text()), "embedded")
    root = Path(str(resources.files("skimage") / "data"))
    items = tuple(ImageItem(name, root / name) for name in sorted(img["file_name"] for img in gt["images"]))
    return Dataset("embedded", items, lambda: gt)


@DATASETS.register("images", description="any folder of images, no labels (--images DIR; task: pseudo GT)")
def images_dataset(images: str | Path) -> Dataset:
    """Every image directly inside the folder `images`, without labels."""
    return Dataset(Path(images).name, tuple(folder_dataset(images)))


@DATASETS.register("coco", description="any COCO-format dataset: --images DIR --annotations JSON")
def coco_format_dataset(images: str | Path, annotations: str | Path) -> Dataset:
    """The images of the COCO-format file `annotations`, found in the folder `images`, and its labels."""
    images, annotations = Path(images), Path(annotations)
    if not images.is_dir():
        raise BenchError(f"image folder {images} does not exist")
    gt = check_coco(read_json_object(annotations, "COCO annotations"), str(annotations))
    names = sorted(img["file_name"] for img in gt["images"])
    return Dataset(annotations.stem, tuple(ImageItem(printable_name(n), images / n) for n in names), lambda: gt)


def kodak_checksums() -> dict[str, str]:
    """SHA-256 of the 24 Kodak PNGs."""
    return json.loads((resources.files("ssicbench") / "data" / "kodak_sha256.json").read_text())


def shipped_kodak() -> Path:
    """The folder of the 24 Kodak images shipped with the suite (see data/kodak/PROVENANCE.md)."""
    return Path(str(resources.files("ssicbench") / "data" / "kodak"))


def verify_kodak(dataset: Dataset) -> None:
    """BenchError naming the Kodak files whose SHA-256 is not the published one (`data verify kodak`)."""
    sums = kodak_checksums()
    bad = [i.name for i in dataset.items if file_digest(i.path, "sha256") != sums[i.name]]
    if bad:
        raise BenchError(f"checksum mismatch: {', '.join(bad)}")


@DATASETS.register(
    "kodak",
    description="24 Kodak PhotoCD images (shipped with the suite, sha256-verified), no labels",
    verify=verify_kodak,
)
def kodak_dataset(root: str | Path | None = None, download: bool = True, base_url: str = KODAK_URL) -> Dataset:
    """Kodak from `root`, $SSICBENCH_KODAK, the shipped copy, or the data home (downloaded there when missing)."""
    sums = kodak_checksums()
    if root is None and not os.environ.get("SSICBENCH_KODAK"):
        shipped = shipped_kodak()
        if all((shipped / name).exists() for name in sums):
            return Dataset("kodak", tuple(ImageItem(name, shipped / name) for name in sorted(sums)))
    root = Path(root or os.environ.get("SSICBENCH_KODAK") or data_home() / "kodak")
    missing = [name for name in sums if not (root / name).exists()]
    if missing:
        if not download:
            raise BenchError(
                f"Kodak is incomplete in {root}: {len(missing)} files missing (run `run_bench.py data fetch kodak`)"
            )
        for name in missing:
            download_file(base_url + name, root / name, sha256=sums[name])
    return Dataset("kodak", tuple(ImageItem(name, root / name) for name in sorted(sums)))


@DATASETS.register(
    "coco-val2017", description="COCO val2017: 5000 images, instance labels (downloaded once, md5-verified)"
)
def coco_val2017_dataset(root: str | Path | None = None, download: bool = True) -> Dataset:
    """COCO val2017 images from $SSICBENCH_COCO/val2017, `root`, or the data home (downloaded when missing); its
    instance labels are read (and downloaded) only when a study asks for them."""
    root = Path(root or os.environ.get("SSICBENCH_COCO") or data_home() / "coco")
    images = root / "val2017"
    if not images.is_dir():
        if not download:
            raise BenchError(f"COCO val2017 images not found in {images}")
        fetch_zip(COCO_VAL2017["url"], root, md5=COCO_VAL2017["md5"])

    def labels() -> dict[str, Any]:
        annotations = root / "annotations" / "instances_val2017.json"
        if not annotations.exists():
            if not download:
                raise BenchError(f"COCO annotations not found at {annotations}")
            fetch_coco_annotations(root)
        return check_coco(read_json_object(annotations, "COCO annotations"), str(annotations))

    return Dataset("coco-val2017", tuple(folder_dataset(images)), labels)


def fetch_coco_annotations(root: str | Path | None = None) -> Path:
    """The COCO 2017 annotations folder, downloaded and verified when missing."""
    root = Path(root or os.environ.get("SSICBENCH_COCO") or data_home() / "coco")
    if not (root / "annotations" / "instances_val2017.json").exists():
        fetch_zip(COCO_ANNOTATIONS_2017["url"], root, md5=COCO_ANNOTATIONS_2017["md5"])
    return root / "annotations"


def file_digest(path: Path, algorithm: str) -> str:
    """Hex digest of a regular file's bytes (anything else is refused unopened)."""
    digest = hashlib.new(algorithm)
    with open(require_regular_file(path, "file", BenchError), "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def download_file(url: str, dest: Path, sha256: str | None = None, md5: str | None = None) -> Path:
    """Download `url` to `dest` through a temp file; kept only if the checksum matches."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(dir=dest.parent, prefix=f".{dest.name}.", suffix=".part")
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "wb") as out, urllib.request.urlopen(url, timeout=60) as response:
            shutil.copyfileobj(response, out)
        for algorithm, expected in (("sha256", sha256), ("md5", md5)):
            if expected and file_digest(tmp, algorithm) != expected:
                raise DownloadError(f"{url}: {algorithm} mismatch (expected {expected}); file discarded")
        os.replace(tmp, dest)
    except OSError as exc:
        raise DownloadError(f"cannot download {url}: {exc}") from None
    finally:
        tmp.unlink(missing_ok=True)
    return dest


def fetch_zip(url: str, dest_dir: Path, md5: str | None = None, sha256: str | None = None) -> None:
    """Download a zip archive, verify it and extract it into `dest_dir`."""
    archive = download_file(url, dest_dir / url.rsplit("/", 1)[-1], sha256=sha256, md5=md5)
    with zipfile.ZipFile(archive) as zf:
        zf.extractall(dest_dir)
    archive.unlink()


def shipped_kodak_masks() -> Path:
    """The SSIC paper's Kodak group masks shipped with the suite (see data/kodak_group_masks/PROVENANCE.md)."""
    return Path(str(resources.files("ssicbench") / "data" / "kodak_group_masks"))


def check_coco(gt: dict[str, Any], source: str) -> dict[str, Any]:
    """`gt` if it is COCO-format ground truth pycocotools can evaluate, else a UsageError naming the first bad
    entry (`source`: the file): images, annotations and categories lists with typed fields, boxes of 4 finite
    numbers with non-negative size, annotations of known images and categories, keypoints in triples."""
    for key in ("images", "annotations", "categories"):
        if key not in gt:
            raise UsageError(f"{source}: {key}: missing (a COCO file has images, annotations and categories)")
        check_value(gt[key], list, f"{source}: {key}")

    def entry(kind: str, i: int, item: Any, fields: dict[str, type]) -> None:
        if not isinstance(item, dict):
            raise UsageError(f"{source}: {kind}[{i}]: expected an object {{...}}, got {type(item).__name__}")
        for name, typ in fields.items():
            if name not in item:
                raise UsageError(f"{source}: {kind}[{i}]: missing {name!r}")
            check_value(item[name], typ, f"{source}: {kind}[{i}].{name}")

    for i, img in enumerate(gt["images"]):
        entry("images", i, img, {"id": int, "file_name": str, "width": int, "height": int})
    for i, cat in enumerate(gt["categories"]):
        entry("categories", i, cat, {"id": int, "name": str})
    image_ids, category_ids = {img["id"] for img in gt["images"]}, {cat["id"] for cat in gt["categories"]}
    for i, ann in enumerate(gt["annotations"]):
        entry("annotations", i, ann, {"image_id": int, "category_id": int})
        where = f"{source}: annotations[{i}]"
        if ann["image_id"] not in image_ids:
            raise UsageError(f"{where}.image_id: {ann['image_id']} is not an image id of the file")
        if ann["category_id"] not in category_ids:
            raise UsageError(f"{where}.category_id: {ann['category_id']} is not a category id of the file")
        box = ann.get("bbox")
        if box is not None and not (
            isinstance(box, list)
            and len(box) == 4
            and all(isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v) for v in box)
            and box[2] >= 0
            and box[3] >= 0
        ):
            raise UsageError(f"{where}.bbox: expected 4 numbers [x, y, width >= 0, height >= 0], got {box!r}")
        for name in ("area", "iscrowd", "num_keypoints"):
            if name in ann:
                check_value(ann[name], float, f"{where}.{name}")
        if "keypoints" in ann:
            check_value(ann["keypoints"], list[float], f"{where}.keypoints", low=-MAX_FLOAT)
            if len(ann["keypoints"]) % 3:
                raise UsageError(f"{where}.keypoints: expected (x, y, visibility) triples, got {len(ann['keypoints'])}")
    return gt
