"""The task sweep: codecs x quality points x scenarios x images, detect on what the receiver decoded.

One stored row per job (RowStore, resumable). Each row carries the rate and distortion of exactly the
image the detector saw (bytes, bpp, PSNR over the image and over the decoded region), its detections and
the ground-truth instances that count for it, so the AP tables join rate, distortion and AP row by row.
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

from ssicbench import metrics, page_images
from ssicbench.codec_spec import CodecSpec, image_digest, mask_digest
from ssicbench.codecs import StructuredCodec, is_structured
from ssicbench.codecs.masks import mask_file
from ssicbench.errors import BenchError, ExecutorError, WeightsMismatchError
from ssicbench.executors import Executor
from ssicbench.group_masks import GroupMask, detection_group_mask, gt_group_mask
from ssicbench.job import guarded
from ssicbench.jobs import run_study
from ssicbench.regions import pixel_groups
from ssicbench.store import RowStore
from ssicbench.tasks.coco_data import TaskDataset, load_task_dataset
from ssicbench.tasks.detectors import DETECTORS, cached_detector, check_category
from ssicbench.tasks.evaluate import restrict_to_region
from ssicbench.tasks.pseudo_gt import GROUND_TRUTHS, describe, pseudo_ground_truth
from ssicbench.transmission import Scenario, Transmission, parse_scenario
from ssicbench.weights import optional_file_fingerprint

__all__ = [
    "RAW_BPP",
    "REFERENCE",
    "TaskJob",
    "TaskPlan",
    "TaskSetup",
    "curve_name",
    "image_groups",
    "plan_task_jobs",
    "run_task_job",
    "run_task_sweep",
]

log = logging.getLogger(__name__)

REFERENCE = "original"  # the uncompressed image: the detector's own AP, drawn as a reference line
RAW_BPP = 24.0


@dataclass(frozen=True)
class TaskSetup:
    """What every job of a task run shares: data, detector and how group masks are made."""

    dataset: str = "embedded"
    dataset_options: str = "{}"  # JSON, so the setup stays hashable and picklable
    detector: str = "onnx-centernet"
    detector_options: str = "{}"
    masks: str = "gt"  # gt | detector | a folder of <image stem>.npy / .png group masks
    group_by: str = "instance"
    min_coverage: float = 0.0
    min_inside: float = 0.5
    mask_score: float = 0.5  # detector score a box needs to become a group (masks=detector)
    ground_truth: str = "dataset"  # one of GROUND_TRUTHS
    pseudo_score: float = 0.5  # detector score a box on the uncompressed image needs to be pseudo ground truth
    detector_fingerprint: str = ""  # of the weights file the detector options name (see `plan_task_jobs`)

    @property
    def detector_uses_gpu(self) -> bool:
        return str(json.loads(self.detector_options).get("device", "")).startswith("cuda")

    def load_dataset(self) -> TaskDataset:
        """The dataset, with the detector's uncompressed detections as ground truth when `ground_truth` says so."""
        if self.ground_truth not in GROUND_TRUTHS:
            raise BenchError(f"unknown ground truth {self.ground_truth!r}; one of {', '.join(GROUND_TRUTHS)}")
        if self.ground_truth == "detector":
            return _pseudo_dataset(
                self.dataset, self.dataset_options, self.detector, self.detector_options, self.pseudo_score
            )
        return load_task_dataset(self.dataset, **json.loads(self.dataset_options))

    @property
    def ground_truth_label(self) -> str:
        """What AP is measured against, for tables and plots."""
        if self.ground_truth == "detector":
            return describe(self.detector, self.pseudo_score)
        return "AP vs dataset annotations"

    @property
    def label(self) -> str:
        label = (
            f"{self.dataset}{self.dataset_options}|{self.detector}{self.detector_options}"
            f"{'@' + self.detector_fingerprint if self.detector_fingerprint else ''}|masks={self.masks},"
            f"{self.group_by},cov={self.min_coverage},inside={self.min_inside},score={self.mask_score}"
        )
        return label if self.ground_truth == "dataset" else f"{label}|gt=detector>={self.pseudo_score}"


@lru_cache(maxsize=2)
def _pseudo_dataset(dataset: str, dataset_options: str, detector: str, detector_options: str, score: float):
    """The dataset with pseudo ground truth, computed once per process."""
    images = load_task_dataset(dataset, **json.loads(dataset_options))
    return pseudo_ground_truth(images, cached_detector(detector, detector_options), score)


@dataclass(frozen=True)
class TaskJob:
    """One image, transmitted by one scenario with one codec at one quality point, then detected."""

    setup: TaskSetup
    codec: CodecSpec | None  # None: the uncompressed reference
    quality: Any
    scenario: str
    image_id: int
    image_digest: str = ""  # content hash of the image file
    codec_digest: str = ""  # hash of the codec's options and weights (CodecSpec.fingerprint)
    keep: str = ""  # the results folder where its decode is kept for the browser report ("": not kept)

    @property
    def curve(self) -> str:
        return curve_name(self.codec_name, self.scenario)

    @property
    def codec_name(self) -> str:
        return REFERENCE if self.codec is None else self.codec.display

    @property
    def key(self) -> str:
        return (
            f"{self.setup.label}|{self.codec_name}|q={self.quality}|{self.scenario}|{self.image_id}"
            f"|img={self.image_digest}|codec={self.codec_digest}"
        )

    @property
    def uses_gpu(self) -> bool:
        return self.setup.detector_uses_gpu or (self.codec is not None and self.codec.uses_gpu)

    @property
    def header(self) -> dict[str, Any]:
        """The columns that say which job a row belongs to."""
        return {
            "codec": self.codec_name,
            "quality": self.quality,
            "scenario": self.scenario,
            "dataset": self.setup.dataset,
            "detector": self.setup.detector,
            "image_id": self.image_id,
        }

    def error_row(self, message: str) -> dict[str, Any]:
        """The row of this job when it fails."""
        return {**self.header, "status": "error", "error": message}

    def by_value(self) -> TaskJob:
        """Task jobs read their dataset where they run: they cannot travel by value (ExecutorError)."""
        raise ExecutorError(
            "task jobs read their dataset on the workers: keep it at the same path on every node (a shared"
            " filesystem, or the embedded set) and use --ship-images path"
        )


def curve_name(codec: str, scenario: str) -> str:
    """The name of a task curve (and of its rows' decodes in the browser report): '<codec> <scenario>'."""
    return f"{codec} {scenario}"


@lru_cache(maxsize=16)
def _sender_detections(setup: TaskSetup, image_id: int) -> list[dict[str, Any]]:
    """The detector's output on the original image (what a sender would use to build detector masks)."""
    dataset = setup.load_dataset()
    return _detector(setup).detect(dataset.load(image_id))


def _detector(setup: TaskSetup):
    """The configured detector (once per process and weights); WeightsMismatchError when the weights found here
    differ from those the run was planned with."""
    found = _detector_weights(setup.detector_options)
    if setup.detector_fingerprint and found != setup.detector_fingerprint:
        raise WeightsMismatchError(
            f"detector {setup.detector}: weights here differ from those the run was planned with"
            f" (fingerprint {found or 'none'} != {setup.detector_fingerprint})"
        )
    return cached_detector(setup.detector, setup.detector_options, found)


def _detector_weights(options_json: str) -> str:
    """Content hash of the weights file the detector options name ("" when they name none)."""
    return optional_file_fingerprint(json.loads(options_json).get("weights"))


def image_groups(
    setup: TaskSetup, dataset: TaskDataset, image_id: int, cell: int | None
) -> tuple[GroupMask | None, list[list[float]]]:
    """The image's group mask on `cell`-px cells (None for a codec without groups) and its object boxes, from
    the configured source (ground truth, detector, mask files: on the structured codec's cells, else on the
    cells their grid implies)."""
    info = dataset.image_info(image_id)
    height, width = info["height"], info["width"]
    if setup.masks == "gt":
        objects = dataset.annotations(image_id)
        groups = (
            None if cell is None else gt_group_mask(objects, height, width, cell, setup.min_coverage, setup.group_by)
        )
        return groups, [a["bbox"] for a in objects]
    if setup.masks == "detector":
        objects = [d for d in _sender_detections(setup, image_id) if d["score"] >= setup.mask_score]
        groups = None
        if cell is not None:
            groups = detection_group_mask(
                objects, height, width, cell, setup.mask_score, setup.min_coverage, setup.group_by
            )
        return groups, [d["bbox"] for d in objects]
    path = mask_file(setup.masks, info["file_name"])
    if path is None:
        stem = Path(info["file_name"]).stem
        raise BenchError(f"no group mask for {info['file_name']} in {setup.masks} ({stem}.npy or {stem}.png)")
    groups = GroupMask.from_file(path, height, width, cell)
    return (None if cell is None else groups), [groups.box(g) for g in groups.group_ids()]


def _psnr_region(image: np.ndarray, decoded: np.ndarray, region: np.ndarray | None) -> float:
    if region is None:
        return metrics.psnr(image, decoded)
    if not region.any():
        return float("nan")
    return metrics.psnr(image[region][None], decoded[region][None])


def run_task_job(job: TaskJob) -> dict[str, Any]:
    """Transmit, decode, detect and keep what counts; any failure becomes a row with status 'error' and its reason."""
    return guarded(job, lambda: _task_row(job, job.header))


def _task_row(job: TaskJob, row: dict[str, Any]) -> dict[str, Any]:
    setup = job.setup
    dataset = setup.load_dataset()
    image = dataset.load(job.image_id)
    height, width = image.shape[:2]
    try:
        if job.codec is None:
            sent, groups = Transmission(image, height * width * 3, None), None
        else:
            codec = job.codec.build_for(job.quality, job.codec_digest)
            cell = codec.mask_cell if isinstance(codec, StructuredCodec) else None
            groups, boxes = image_groups(setup, dataset, job.image_id, cell)
            sent = parse_scenario(job.scenario).transmit(codec, image, job.quality, groups, boxes)
    except BenchError as exc:
        return {**row, "status": "error", "error": str(exc)}
    pictures = None  # the files kept for the browser report (`page_images`)
    if job.keep:
        ids = pixel_groups(groups.mask, groups.cell, height, width) if groups is not None else None
        name = dataset.image_info(job.image_id)["file_name"]
        pictures = page_images.keep_decode(job.keep, job.curve, job.quality, name, image, sent.decoded, ids)
    start = time.perf_counter()
    detections = _detector(setup).detect(sent.decoded)
    detect_s = time.perf_counter() - start
    gt = restrict_to_region(dataset.annotations(job.image_id), sent.region, setup.min_inside)
    kept = restrict_to_region(detections, sent.region, setup.min_inside)
    row.update(
        status="ok",
        height=height,
        width=width,
        bytes=sent.num_bytes,
        bpp=8.0 * sent.num_bytes / (height * width),
        psnr=metrics.psnr(image, sent.decoded),
        psnr_region=_psnr_region(image, sent.decoded, sent.region),
        region_fraction=1.0 if sent.region is None else float(sent.region.mean()),
        groups=sent.groups,
        gt_ids=[a["id"] for a in gt],
        detections=[{**d, "image_id": job.image_id} for d in kept],
        encode_s=sent.encode_s,
        decode_s=sent.decode_s,
        detect_s=detect_s,
    )
    if pictures:
        row["kept"] = pictures
    return row


@dataclass
class TaskPlan:
    """The jobs of a run, and per codec that is not structured the group scenarios left out."""

    jobs: list[TaskJob]
    skipped: dict[str, list[str]] = field(default_factory=dict)


def plan_task_jobs(
    setup: TaskSetup,
    codecs: Sequence[CodecSpec],
    scenarios: Sequence[str],
    keep: str | Path = "",
    viewer_images: int = 0,
) -> TaskPlan:
    """Reference jobs + every codec x quality x compatible scenario x image, keyed by the content of images,
    codec weights and detector weights (which every worker checks before using them); the jobs of the
    `viewer_images` images with the most ground-truth instances keep their decodes under results folder `keep`
    for the browser report."""
    parsed: list[Scenario] = [parse_scenario(s) for s in scenarios]
    setup = replace(setup, detector_fingerprint=_detector_weights(setup.detector_options))
    known = DETECTORS.get(setup.detector).info.get("categories")  # an unknown name fails here, before any job runs
    for scenario in parsed:
        if scenario.name.startswith("category:"):
            check_category(setup.detector, scenario.name.partition(":")[2], known)
    dataset = setup.load_dataset()
    if setup.ground_truth == "dataset" and not dataset.gt["annotations"]:
        raise BenchError(f"dataset {setup.dataset} has no annotations: use --ground-truth detector (pseudo GT)")
    image_ids = dataset.image_ids()
    digests = {i: _input_digest(setup, dataset, i) for i in image_ids}
    # the viewer shows the images with the most ground-truth instances (ties: the lowest ids): what there is to see
    shown = sorted(image_ids, key=lambda i: -len(dataset.annotations(i)))[:viewer_images]
    kept = {i: str(keep) for i in shown} if keep else {}
    jobs = [TaskJob(setup, None, "-", "full", i, digests[i], keep=kept.get(i, "")) for i in image_ids]
    skipped: dict[str, list[str]] = {}
    for codec in codecs:
        structured = is_structured(codec.name)
        for scenario in parsed:
            if scenario.needs_groups and not structured:
                skipped.setdefault(codec.display, []).append(scenario.name)
                continue
            jobs += [
                TaskJob(setup, codec, q, scenario.name, i, digests[i], codec.fingerprint(q), kept.get(i, ""))
                for q in codec.qualities
                for i in image_ids
            ]
    return TaskPlan(jobs, skipped)


def _input_digest(setup: TaskSetup, dataset: TaskDataset, image_id: int) -> str:
    """Content hash of everything a job of image `image_id` reads: the image file, its annotations (ground truth
    and group masks come from them) and its group-mask file when masks come from a folder."""
    name = dataset.image_info(image_id)["file_name"]
    labels = json.dumps(dataset.annotations(image_id), sort_keys=True, default=str)
    parts = [image_digest(dataset.images_dir / name), hashlib.sha256(labels.encode()).hexdigest()[:12]]
    if setup.masks not in ("gt", "detector"):
        parts.append(mask_digest(mask_file(setup.masks, name)))
    return "+".join(parts)


def run_task_sweep(
    plan: TaskPlan, out_dir: str | Path, n_jobs: int = 1, progress: bool = True, executor: Executor | None = None
) -> list[dict[str, Any]]:
    """Run the plan's pending jobs (on `executor`, default a local pool of `n_jobs` processes) into
    `out_dir`/task_rows and return the rows of the plan's jobs."""
    for codec, scenarios in plan.skipped.items():
        log.warning("%s is not a structured codec: runs no group scenario (%s)", codec, ", ".join(scenarios))
    store = RowStore(Path(out_dir) / "task_rows")
    run_study(plan.jobs, run_task_job, store, n_jobs=n_jobs, progress=progress, desc="task", executor=executor)
    wanted = {job.key for job in plan.jobs}
    return [row for row in store.rows() if row["key"] in wanted]
