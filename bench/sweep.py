"""Rate-distortion sweep: codecs x quality points x images, one stored row per job, resumable.

A job encodes one image, serializes the container, parses it back from bytes and decodes it, so the
bpp, the metrics and the timings are those of what a receiver really gets. A job's key names the codec,
quality, dataset and image, plus a hash of the image's bytes, of the codec's options, of its weights
and the metrics asked for: a changed image, new weights or another metric is computed anew, never
taken from an old row. Any failure in a job becomes an error row (retried by the next run).

A structured codec given group masks (`masks`) codes each image with its mask; with `decode: "objects"` the
receiver gets only the side information and the object groups (`received_part`), and PSNR is measured
inside the decoded region. Full and object-only decoding of one image share one encode (`_encode`).
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
import time
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

from ssicbench import metrics
from ssicbench.codec_spec import CodecSpec, image_digest, mask_digest
from ssicbench.codecs import Bitstream, Codec, StructuredCodec, is_structured
from ssicbench.datasets import ImageItem
from ssicbench.errors import BenchError, MetricError, MissingWeightsError
from ssicbench.executors import Executor
from ssicbench.files import write_atomic
from ssicbench.imageio import load_image
from ssicbench.job import guarded
from ssicbench.jobs import run_study
from ssicbench.regions import pixel_groups, region_metrics
from ssicbench.store import RowStore

log = logging.getLogger(__name__)

__all__ = ["RDJob", "distortion_row", "plan_jobs", "received_part", "run_rd_job", "run_sweep"]


@dataclass(frozen=True)
class RDJob:
    """One image coded by one codec at one quality point; `image_digest` and `codec_digest` identify the
    image's bytes and the codec's options and weights (see `plan_jobs`)."""

    codec: CodecSpec
    quality: Any
    dataset: str
    image: ImageItem
    metrics: tuple[str, ...] = metrics.METRICS
    image_digest: str = ""
    codec_digest: str = ""
    containers: str = ""  # where containers coded with group masks are kept for the other decoding modes
    mask_digest: str = ""  # content hash of the image's group-mask file ("": no masks)

    @property
    def key(self) -> str:
        return (
            f"{self.codec.display}|q={self.quality}|{self.dataset}|{self.image.name}"
            f"|img={self.image_digest}|codec={self.codec_digest}|metrics={','.join(sorted(self.metrics))}"
            + (f"|mask={self.mask_digest}" if self.mask_digest else "")
        )

    @property
    def uses_gpu(self) -> bool:
        return self.codec.uses_gpu

    def by_value(self) -> RDJob:
        """This job carrying its image's bytes (for workers that cannot read the image's path)."""
        return replace(self, image=self.image.by_value())

    @property
    def header(self) -> dict[str, Any]:
        """The columns that say which job a row belongs to."""
        return {
            "codec": self.codec.display,
            "quality": self.quality,
            "dataset": self.dataset,
            "image": self.image.name,
            "image_sha256": self.image_digest,
        }

    def error_row(self, message: str) -> dict[str, Any]:
        """The row of this job when it fails."""
        return {**self.header, "status": "error", "error": message}


def plan_jobs(
    codecs: Sequence[CodecSpec],
    dataset: str,
    images: Sequence[ImageItem],
    metric_names=metrics.METRICS,
    containers: str | Path = "",
) -> list[RDJob]:
    """Every codec x quality x image, each keyed by the content of its image, codec options and weights;
    `containers`: the folder where jobs coding with group masks share their encodes."""
    digests = {img.path: image_digest(img.path) for img in images}
    masks = {(c.masks, img.path): mask_digest(c.mask_path(img)) for c in codecs if c.masks for img in images}
    return [
        RDJob(
            c,
            q,
            dataset,
            img,
            tuple(metric_names),
            digests[img.path],
            c.fingerprint(q),
            str(containers) if c.masks and is_structured(c.name) else "",
            masks.get((c.masks, img.path), ""),
        )
        for c in codecs
        for q in c.qualities
        for img in images
    ]


def run_rd_job(job: RDJob) -> dict[str, Any]:
    """Code one image; any failure (bad image, quality, codec, weights, metric) becomes a row with status
    'error' and its reason, never a crash of the sweep."""
    return guarded(job, lambda: _rd_row(job))


def _rd_row(job: RDJob) -> dict[str, Any]:
    row = job.header
    codec = job.codec.build_for(job.quality, job.codec_digest)
    codec.check_quality(job.quality)
    image = load_image(job.image.path, job.image.data)
    grouping = job.codec.group_mask(codec, job.image, image.shape[:2])
    mask = grouping[0] if grouping and isinstance(codec, StructuredCodec) else None  # what the codec codes with
    bitstream, full, encode_s = _encode(job, codec, image, mask)
    data, region = received_part(codec, bitstream, full, mask, job.codec.decode)
    start = time.perf_counter()
    decoded = codec.decode(Bitstream.from_bytes(data))
    decode_s = time.perf_counter() - start
    height, width = image.shape[:2]
    row.update(status="ok", height=height, width=width, bytes=len(data), bpp=8.0 * len(data) / (height * width))
    row.update(encode_s=encode_s, decode_s=decode_s)
    if region is None:
        row.update(distortion_row(image, decoded, job.metrics))
    else:  # partial decoding: only PSNR is defined on an irregular region
        row.update(bpp_whole=8.0 * len(full) / (height * width), region_fraction=float(region.mean()))
        row["psnr_region"] = metrics.psnr(image[region], decoded[region])
    if grouping is not None:  # every codec given masks: the region metrics of what the receiver decoded
        row.update(region_metrics(image, decoded, pixel_groups(grouping[0], grouping[1], height, width), region))
    if row.get("metric_error") and any(math.isnan(row.get(c, 0.0)) for c in IMAGE_METRIC_COLUMNS):
        row.update(status="error", error=row["metric_error"])
    return row


IMAGE_METRIC_COLUMNS = ("psnr", "ms_ssim", "ms_ssim_db")  # a NaN here is this image's failure, not the setup's


def _encode(job: RDJob, codec: Codec, image: np.ndarray, mask: np.ndarray | None) -> tuple[Bitstream, bytes, float]:
    """The container of `job` (parsed, serialized) and its encode time.

    With group masks, full and object-only decoding of one image share one encode: the first job to code it
    keeps the container (and its encode time) under `job.containers`, named after everything it depends on.
    """
    spec = job.codec
    cached = None
    if job.containers and job.image.data is None:  # an image sent by value: no shared folder to share it in
        # the row key's identity (image bytes, options, weights): new weights never meet an old container
        source = [spec.name, job.mask_digest, job.quality, job.image_digest, job.codec_digest]
        digest = hashlib.sha1(json.dumps(source, sort_keys=True, default=str).encode()).hexdigest()[:16]
        cached = Path(job.containers) / f"{spec.name}-q{job.quality}-{Path(job.image.name).stem}-{digest}.ssbc"
        if cached.exists():
            try:
                data = cached.read_bytes()
                encode_s = float(json.loads(cached.with_suffix(".json").read_text())["encode_s"])
                return Bitstream.from_bytes(data), data, encode_s
            except (OSError, ValueError, KeyError, TypeError, BenchError) as exc:  # damaged: coded anew below
                log.warning("damaged shared container %s (%s): coding it anew", cached.name, exc)
    start = time.perf_counter()
    bitstream = codec.encode(image, job.quality, **({} if mask is None else {"mask": mask}))
    data = bitstream.to_bytes()
    encode_s = time.perf_counter() - start
    if cached is not None:  # the time first, then the container: a container on disk always has its time
        cached.parent.mkdir(parents=True, exist_ok=True)
        write_atomic(cached.with_suffix(".json"), json.dumps({"encode_s": encode_s}).encode())
        write_atomic(cached, data)
    return bitstream, data, encode_s


def received_part(
    codec: Codec, bitstream: Bitstream, full: bytes, mask: np.ndarray | None, decode: str
) -> tuple[bytes, np.ndarray | None]:
    """What the receiver gets (serialized) and the pixels it decodes (None: the whole image).

    "all": the whole container. "objects": what the structured codec's `receive` gives a receiver fetching
    the groups other than 0 (`groups`), so the bytes counted are those of the received part only.
    """
    if decode == "all":
        return full, None
    if not isinstance(codec, StructuredCodec) or mask is None:
        raise BenchError(f"codec {codec.name!r}: decode {decode!r} needs a structured codec and group masks")
    objects = [g for g in codec.groups(bitstream) if g != 0]
    if not objects:
        raise BenchError("the group mask has no object group (only background 0): nothing to decode")
    data = codec.receive(bitstream, objects).to_bytes()
    cells = np.isin(mask, objects)
    region = np.kron(cells, np.ones((codec.mask_cell, codec.mask_cell), dtype=bool))[
        : bitstream.height, : bitstream.width
    ]
    return data, region


def distortion_row(image, decoded, names: Sequence[str]) -> dict[str, Any]:
    """The requested metrics; one that cannot be computed is NaN and `metric_error` says why.

    LPIPS without its backbone weights is unavailable everywhere (NaN, the row stays ok); a metric this
    image cannot have (MS-SSIM under 161 px) makes the row an error row that keeps its other values.
    """
    out: dict[str, Any] = {}
    reasons: list[str] = []
    if "psnr" in names:
        out["psnr"] = metrics.psnr(image, decoded)
    if "ms-ssim" in names:
        try:
            value = metrics.ms_ssim(image, decoded)
            out["ms_ssim"], out["ms_ssim_db"] = value, metrics.ms_ssim_db(value)
        except MetricError as exc:
            out["ms_ssim"] = out["ms_ssim_db"] = math.nan
            reasons.append(str(exc))
    if "lpips" in names:
        try:
            out["lpips"] = metrics.lpips_distance(image, decoded)
        except MissingWeightsError as exc:
            out["lpips"] = math.nan
            reasons.append(f"LPIPS unavailable: {exc}")
    if reasons:
        out["metric_error"] = "; ".join(reasons)
    return out


def run_sweep(
    codecs: Sequence[CodecSpec],
    dataset: str,
    images: Sequence[ImageItem],
    out_dir: str | Path,
    n_jobs: int = 1,
    metric_names: Sequence[str] = metrics.METRICS,
    progress: bool = True,
    executor: Executor | None = None,
) -> list[dict[str, Any]]:
    """Run every job not yet stored under `out_dir/rows` (on `executor`, default a local pool of `n_jobs`
    processes) and return all rows of this sweep's jobs."""
    jobs = plan_jobs(codecs, dataset, images, metric_names, Path(out_dir) / "containers")
    store = RowStore(Path(out_dir) / "rows")
    if "lpips" in metric_names and not metrics.lpips_available():
        log.warning("LPIPS unavailable (backbone weights missing): recorded as NaN")
    counts = run_study(jobs, run_rd_job, store, n_jobs=n_jobs, progress=progress, desc="rd sweep", executor=executor)
    log.info(
        "%d jobs: %d run here, %d already done, %d done by another run on %s",
        len(jobs),
        counts.ran,
        counts.already_done,
        counts.by_others,
        out_dir,
    )
    wanted = {job.key for job in jobs}
    return [row for row in store.rows() if row["key"] in wanted]
