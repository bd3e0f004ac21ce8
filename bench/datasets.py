"""Image datasets by name: a folder, Kodak (verified download), COCO val2017 images, and an embedded default.

`load_dataset("kodak")`, `load_dataset("embedded")` or `load_dataset("/path/to/folder")` gives a sorted
list of `ImageItem`s. Downloads are verified against known checksums before they are kept.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
import urllib.request
import zipfile
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

from ssicbench.errors import BenchError, UnknownNameError
from ssicbench.files import printable_name, require_regular_file
from ssicbench.registry import Registry

__all__ = [
    "COCO_ANNOTATIONS_2017",
    "COCO_VAL2017",
    "DATASETS",
    "EMBEDDED_IMAGES",
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
]

IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".ppm", ".webp"}
KODAK_URL = "http://r0k.us/graphics/kodak/kodak/"
COCO_VAL2017 = {"url": "http://images.cocodataset.org/zips/val2017.zip", "md5": "442b8da7639aecaf257c1dceb8ba8c80"}
COCO_ANNOTATIONS_2017 = {
    "url": "http://images.cocodataset.org/annotations/annotations_trainval2017.zip",
    "md5": "f4bbac642086de4f52a3fdda2de5fa2c",
}
EMBEDDED_IMAGES = ("astronaut.png", "coffee.png", "chelsea.png", "rocket.jpg")


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


DATASETS: Registry[list[ImageItem]] = Registry("dataset")


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


def load_dataset(spec: str) -> list[ImageItem]:
    """A registered dataset name (`kodak`, `embedded`, `coco-val2017`) or a folder path."""
    if spec in DATASETS:
        return DATASETS.create(spec)
    if Path(spec).is_dir():
        return folder_dataset(spec)
    raise UnknownNameError(f"unknown dataset {spec!r}: not a folder, and not one of {', '.join(DATASETS.names())}")


@DATASETS.register("embedded", description="4 photos shipped with scikit-image; needs no download")
def embedded_dataset() -> list[ImageItem]:
    """A few photographs that ship inside the scikit-image wheel, so the main job runs offline."""
    root = Path(str(resources.files("skimage") / "data"))
    return [ImageItem(name, root / name) for name in EMBEDDED_IMAGES]


def kodak_checksums() -> dict[str, str]:
    """SHA-256 of the 24 Kodak PNGs."""
    return json.loads((resources.files("ssicbench") / "data" / "kodak_sha256.json").read_text())


def shipped_kodak() -> Path:
    """The folder of the 24 Kodak images shipped with the suite (see data/kodak/PROVENANCE.md)."""
    return Path(str(resources.files("ssicbench") / "data" / "kodak"))


@DATASETS.register("kodak", description="24 Kodak PhotoCD images (shipped with the suite, sha256-verified)")
def kodak_dataset(root: str | Path | None = None, download: bool = True, base_url: str = KODAK_URL) -> list[ImageItem]:
    """Kodak from `root`, $SSICBENCH_KODAK, the shipped copy, or the data home (downloaded there when missing)."""
    sums = kodak_checksums()
    if root is None and not os.environ.get("SSICBENCH_KODAK"):
        shipped = shipped_kodak()
        if all((shipped / name).exists() for name in sums):
            return [ImageItem(name, shipped / name) for name in sorted(sums)]
    root = Path(root or os.environ.get("SSICBENCH_KODAK") or data_home() / "kodak")
    missing = [name for name in sums if not (root / name).exists()]
    if missing:
        if not download:
            raise BenchError(
                f"Kodak is incomplete in {root}: {len(missing)} files missing (run `run_bench.py data fetch kodak`)"
            )
        for name in missing:
            download_file(base_url + name, root / name, sha256=sums[name])
    return [ImageItem(name, root / name) for name in sorted(sums)]


@DATASETS.register("coco-val2017", description="COCO val2017 images (5000; downloaded once, md5-verified)")
def coco_val2017_dataset(root: str | Path | None = None, download: bool = True) -> list[ImageItem]:
    """COCO val2017 images from $SSICBENCH_COCO/val2017, `root`, or the data home (downloaded when missing)."""
    root = Path(root or os.environ.get("SSICBENCH_COCO") or data_home() / "coco")
    images = root / "val2017"
    if not images.is_dir():
        if not download:
            raise BenchError(f"COCO val2017 images not found in {images}")
        fetch_zip(COCO_VAL2017["url"], root, md5=COCO_VAL2017["md5"])
    return folder_dataset(images)


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
