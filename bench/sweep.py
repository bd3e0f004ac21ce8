"""Rate-distortion sweep: codecs x quality points x images, one stored row per job, resumable.

A job encodes one image, serializes the container, parses it back from bytes and decodes it, so the
bpp, the metrics and the timings are those of what a receiver really gets.
"""

from __future__ import annotations

import json
import logging
import math
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

from ssicbench import metrics
from ssicbench.codecs import Bitstream, Codec, create_codec
from ssicbench.datasets import ImageItem
from ssicbench.errors import BenchError, MissingWeightsError
from ssicbench.imageio import load_image
from ssicbench.jobs import run_jobs
from ssicbench.store import RowStore

log = logging.getLogger(__name__)

METRICS = ("psnr", "ms-ssim", "lpips")


@dataclass(frozen=True)
class CodecSpec:
    """A codec as a sweep names it: registry name, constructor options and the quality points to run."""

    name: str
    qualities: tuple[Any, ...] = ()
    options: dict[str, Any] = field(default_factory=dict, hash=False)
    label: str = ""

    @property
    def display(self) -> str:
        return self.label or self.name

    def build(self) -> Codec:
        return _cached_codec(self.name, json.dumps(self.options, sort_keys=True))

    @classmethod
    def from_config(cls, entry: str | dict[str, Any]) -> CodecSpec:
        """`"jpeg"` or `{"name": "jpeg", "qualities": [...], "options": {...}, "label": "..."}`."""
        if isinstance(entry, str):
            entry = {"name": entry}
        spec = cls(
            entry["name"], tuple(entry.get("qualities", ())), dict(entry.get("options", {})), entry.get("label", "")
        )
        return spec if spec.qualities else cls(spec.name, tuple(spec.build().qualities), spec.options, spec.label)


@cache
def _cached_codec(name: str, options_json: str) -> Codec:
    """One codec instance per process and configuration (models load once, not per image)."""
    return create_codec(name, **json.loads(options_json))


@dataclass(frozen=True)
class RDJob:
    """One image coded by one codec at one quality point."""

    codec: CodecSpec
    quality: Any
    dataset: str
    image: ImageItem
    metrics: tuple[str, ...] = METRICS

    @property
    def key(self) -> str:
        return f"{self.codec.display}|q={self.quality}|{self.dataset}|{self.image.name}"


def job_key(job: RDJob) -> str:
    return job.key


def plan_jobs(
    codecs: Sequence[CodecSpec], dataset: str, images: Sequence[ImageItem], metric_names=METRICS
) -> list[RDJob]:
    return [RDJob(c, q, dataset, img, tuple(metric_names)) for c in codecs for q in c.qualities for img in images]


def run_rd_job(job: RDJob) -> dict[str, Any]:
    """Code one image; failures (bad image, codec error) become a row with status 'error', not a crash."""
    row: dict[str, Any] = {
        "codec": job.codec.display,
        "quality": job.quality,
        "dataset": job.dataset,
        "image": job.image.name,
    }
    try:
        image = load_image(job.image.path)
        codec = job.codec.build()
        start = time.perf_counter()
        data = codec.encode(image, job.quality).to_bytes()
        encode_s = time.perf_counter() - start
        start = time.perf_counter()
        decoded = codec.decode(Bitstream.from_bytes(data))
        decode_s = time.perf_counter() - start
    except BenchError as exc:
        return {**row, "status": "error", "error": str(exc)}
    height, width = image.shape[:2]
    row.update(status="ok", height=height, width=width, bytes=len(data), bpp=8.0 * len(data) / (height * width))
    row.update(encode_s=encode_s, decode_s=decode_s)
    row.update(distortion_row(image, decoded, job.metrics))
    return row


def distortion_row(image, decoded, names: Sequence[str]) -> dict[str, Any]:
    """The requested metrics; LPIPS without its backbone weights is recorded as unavailable (NaN)."""
    out: dict[str, Any] = {}
    if "psnr" in names:
        out["psnr"] = metrics.psnr(image, decoded)
    if "ms-ssim" in names:
        value = metrics.ms_ssim(image, decoded)
        out["ms_ssim"], out["ms_ssim_db"] = value, metrics.ms_ssim_db(value)
    if "lpips" in names:
        try:
            out["lpips"] = metrics.lpips_distance(image, decoded)
        except MissingWeightsError:
            out["lpips"] = math.nan
    return out


def run_sweep(
    codecs: Sequence[CodecSpec],
    dataset: str,
    images: Sequence[ImageItem],
    out_dir: str | Path,
    n_jobs: int = 1,
    metric_names: Sequence[str] = METRICS,
    progress: bool = True,
) -> list[dict[str, Any]]:
    """Run every job not yet stored under `out_dir/rows` and return all rows of this sweep's jobs."""
    jobs = plan_jobs(codecs, dataset, images, metric_names)
    store = RowStore(Path(out_dir) / "rows")
    if "lpips" in metric_names and not metrics.lpips_available():
        log.warning("LPIPS unavailable (backbone weights missing): recorded as NaN")
    run_jobs(jobs, run_rd_job, store, job_key, n_jobs=n_jobs, progress=progress, desc="rd sweep")
    wanted = {job.key for job in jobs}
    return [row for row in store.rows() if row["key"] in wanted]
