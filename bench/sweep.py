"""Rate-distortion sweep: codecs x quality points x images, one stored row per job, resumable.

A job encodes one image, serializes the container, parses it back from bytes and decodes it, so the
bpp, the metrics and the timings are those of what a receiver really gets. A job's key names the codec,
quality, dataset and image, plus a hash of the image's bytes, of the codec's options, of its weights
and the metrics asked for: a changed image, new weights or another metric is computed anew, never
taken from an old row. Any failure in a job becomes an error row (retried by the next run).

A codec's `decode` says what the receiver gets, as a transmission scenario (`ssicbench.transmission`, the one the
task study uses): a structured codec given group masks (`masks`) codes each image with its mask, and with
`decode: "objects"` the receiver gets only the side information and the object groups. Every codec given masks is
measured on them (`regions`): PSNR in the object groups, the background and the boundary band, on the pixels the
receiver decoded. The decodings of one image with one mask share one encode (`_shared_encode`). Jobs of the first
`viewer_images` images keep their decode for the browser report (`ssicbench.page_images`).
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

from ssicbench import metrics, page_images
from ssicbench.codec_spec import CodecSpec, image_digest, mask_digest
from ssicbench.codecs import Bitstream, Codec, is_structured
from ssicbench.datasets import ImageItem
from ssicbench.errors import BenchError
from ssicbench.executors import Executor
from ssicbench.files import write_atomic
from ssicbench.imageio import load_image
from ssicbench.job import guarded
from ssicbench.jobs import run_study
from ssicbench.regions import pixel_groups, region_metrics
from ssicbench.store import RowStore
from ssicbench.transmission import Encode, encode_image, parse_scenario

log = logging.getLogger(__name__)

__all__ = ["RDJob", "distortion_row", "plan_jobs", "run_rd_job", "run_sweep"]


@dataclass(frozen=True)
class RDJob:
    """One image coded by one codec at one quality point; `image_digest` and `codec_digest` identify the
    image's bytes and the codec's options and weights (see `plan_jobs`)."""

    codec: CodecSpec
    quality: Any
    dataset: str
    image: ImageItem
    metrics: tuple[str, ...] = ()  # (plan_jobs: the default set)
    image_digest: str = ""
    codec_digest: str = ""
    containers: str = ""  # where containers coded with group masks are kept for the other decoding modes
    mask_digest: str = ""  # content hash of the image's group-mask file ("": no masks)
    keep: str = ""  # the results folder where its decode is kept for the browser report ("": not kept)

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
    metric_names: Sequence[str] | None = None,
    containers: str | Path = "",
    keep: str | Path = "",
    viewer_images: int = 0,
) -> list[RDJob]:
    """Every codec x quality x image, each keyed by the content of its image, codec options and weights;
    `containers`: the folder where jobs coding with group masks share their encodes; the jobs of the first
    `viewer_images` images keep their decodes under results folder `keep` for the browser report."""
    shown = {img.path for img in images[:viewer_images]} if keep else set()
    digests = {img.path: image_digest(img.path) for img in images}
    masks = {(c.masks, img.path): mask_digest(c.mask_path(img)) for c in codecs if c.masks for img in images}
    return [
        RDJob(
            c,
            q,
            dataset,
            img,
            tuple(metrics.default_metrics() if metric_names is None else metric_names),
            digests[img.path],
            c.fingerprint(q),
            str(containers) if c.masks and is_structured(c.name) else "",
            masks.get((c.masks, img.path), ""),
            str(keep) if img.path in shown else "",
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
    height, width = image.shape[:2]
    groups = job.codec.group_mask(codec, job.image, (height, width))
    boxes = [groups.box(g) for g in groups.group_ids()] if groups is not None else []
    sent = parse_scenario(job.codec.scenario).transmit(codec, image, job.quality, groups, boxes, _shared_encode(job))
    pixels = height * width
    row.update(status="ok", height=height, width=width, bytes=sent.num_bytes, bpp=8.0 * sent.num_bytes / pixels)
    row.update(encode_s=sent.encode_s, decode_s=sent.decode_s)
    if sent.region is None:
        row.update(distortion_row(image, sent.decoded, job.metrics))
    else:  # partial decoding: whole-image metrics are undefined; the region metrics below say how good it is
        row.update(region_fraction=float(sent.region.mean()))
    if sent.coded_bytes is not None and sent.coded_bytes != sent.num_bytes:
        row["bpp_whole"] = 8.0 * sent.coded_bytes / pixels
    ids = pixel_groups(groups.mask, groups.cell, height, width) if groups is not None else None
    if sent.groups is not None:
        row["groups_sent"] = json.dumps(sorted(sent.groups))
    if groups is not None:  # every codec given masks: the region metrics of what the receiver decoded
        row.update(region_metrics(image, sent.decoded, ids, sent.region))
        if sent.group_bytes is not None:  # how the structured codec spent its bytes: per group, with its area
            area = dict(zip(*np.unique(ids, return_counts=True)))
            row["group_bytes"] = json.dumps({str(g): n for g, n in sent.group_bytes.items()})
            row["group_pixels"] = json.dumps({str(g): int(area.get(g, 0)) for g in sent.group_bytes})
    if job.keep and job.image.data is None:  # by value (a cluster node): no shared results folder to keep it in
        name, quality = job.image.name, job.quality
        kept = page_images.keep_decode(job.keep, job.codec.display, quality, name, image, sent.decoded, ids)
        if kept:
            row["kept"] = json.dumps(kept)
    if row.pop("metric_failed", False):  # this image cannot have a metric: retried next run, other values kept
        row.update(status="error", error=row["metric_error"])
    return row


def _shared_encode(job: RDJob) -> Encode:
    """The `Encode` of `job`: with group masks, the jobs decoding one image in different ways share one encode,
    the first keeping the container (and its encode time) under `job.containers`, named after everything it
    depends on. Encodes without a mask (full images, crops) are made each time."""
    spec = job.codec

    def encode(codec: Codec, image: np.ndarray, quality: Any, mask: np.ndarray | None) -> tuple[bytes, float]:
        if mask is None or not job.containers or job.image.data is not None:  # by value: no shared folder
            return encode_image(codec, image, quality, mask)
        # the row key's identity (image bytes, mask, options, weights): new weights never meet an old container
        source = [spec.name, job.mask_digest, quality, job.image_digest, job.codec_digest]
        digest = hashlib.sha1(json.dumps(source, sort_keys=True, default=str).encode()).hexdigest()[:16]
        cached = Path(job.containers) / f"{spec.name}-q{quality}-{Path(job.image.name).stem}-{digest}.ssbc"
        if cached.exists():
            try:
                data = cached.read_bytes()
                encode_s = float(json.loads(cached.with_suffix(".json").read_text())["encode_s"])
                Bitstream.from_bytes(data)
                return data, encode_s
            except (OSError, ValueError, KeyError, TypeError, BenchError) as exc:  # damaged: coded anew below
                log.warning("damaged shared container %s (%s): coding it anew", cached.name, exc)
        data, encode_s = encode_image(codec, image, quality, mask)
        cached.parent.mkdir(parents=True, exist_ok=True)  # the time first: a container on disk always has its time
        write_atomic(cached.with_suffix(".json"), json.dumps({"encode_s": encode_s}).encode())
        write_atomic(cached, data)
        return data, encode_s

    return encode


def distortion_row(image: np.ndarray, decoded: np.ndarray, names: Sequence[str]) -> dict[str, Any]:
    """The requested metrics' columns; one that cannot be computed is NaN and `metric_error` says why.

    A metric this machine cannot compute (LPIPS without its backbone weights) is NaN everywhere and the row stays
    ok; one this image cannot have (MS-SSIM under 161 px) sets `metric_failed`, and the row becomes an error row
    that keeps its other values.
    """
    values, reasons, failed = metrics.compute_metrics(image, decoded, names)
    out: dict[str, Any] = dict(values)
    if reasons:
        out["metric_error"] = reasons
    if failed:
        out["metric_failed"] = True
    return out


def run_sweep(
    codecs: Sequence[CodecSpec],
    dataset: str,
    images: Sequence[ImageItem],
    out_dir: str | Path,
    n_jobs: int = 1,
    metric_names: Sequence[str] | None = None,
    progress: bool = True,
    executor: Executor | None = None,
    viewer_images: int = 0,
) -> list[dict[str, Any]]:
    """Run every job not yet stored under `out_dir/rows` (on `executor`, default a local pool of `n_jobs`
    processes), the first `viewer_images` images keeping their decodes for the browser report, and return all
    rows of this sweep's jobs."""
    names = metrics.default_metrics() if metric_names is None else list(metric_names)
    jobs = plan_jobs(codecs, dataset, images, names, Path(out_dir) / "containers", out_dir, viewer_images)
    store = RowStore(Path(out_dir) / "rows")
    for name in names:
        if why := metrics.get_metric(name).available():
            log.warning("%s unavailable (%s): recorded as NaN", name, why)
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
