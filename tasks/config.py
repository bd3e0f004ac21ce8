"""The `task` run configuration: a typed, versioned JSON file whose keys the `task` flags override."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ssicbench.config import CONFIG_VERSION, ExecutorConfig, RunConfig
from ssicbench.page_images import VIEWER_IMAGES
from ssicbench.tasks.pseudo_gt import GROUND_TRUTHS
from ssicbench.validate import spec

__all__ = ["TaskConfig"]


DATASET_FLAGS = {"images": "--images", "annotations": "--annotations", "root": "--coco-root"}


@dataclass
class TaskConfig(RunConfig):
    """A `task` sweep: codecs x quality points x scenarios x images, a detector on what the receiver decoded."""

    KIND = "task config"

    version: int = CONFIG_VERSION
    description: str = ""
    codecs: list[Any] = field(default_factory=list)  # as for `rd` (ssicbench.config.codec_specs)
    scenarios: list[str] = field(default_factory=lambda: ["full", "objects"])
    detector: str = "onnx-centernet"
    detector_weights: str = ""  # "": torch hub cache / official URL
    detector_options: dict[str, Any] = field(default_factory=dict)  # other options of the detector's factory
    detector_device: str = ""  # cpu or cuda (torchvision / detectron2 detectors)
    # lowest detection score kept (onnx-*, detectron2-*; None: the detector's)
    score_threshold: float | None = spec(None, high=1)
    # dataset: its annotations; detector: its detections on the uncompressed images
    ground_truth: str = spec("dataset", choices=GROUND_TRUTHS)
    pseudo_score: float = spec(0.5, high=1)  # score a detection on the uncompressed image needs to be pseudo GT
    dataset: str = "embedded"
    images: str = ""  # image folder (datasets "coco" and "images")
    annotations: str = ""  # COCO-format annotation JSON (dataset "coco")
    coco_root: str = ""  # folder holding val2017/ and annotations/ (dataset "coco-val2017")
    download: bool = True  # may download data and detector weights
    limit: int = 0  # only the first N images by id (0: all)
    masks: str = "gt"  # gt | detector | a folder of <image stem>.npy / .png group masks
    group_by: str = "instance"
    min_coverage: float = spec(0.0, high=1)  # block coverage an object needs to own the block
    min_inside: float = spec(0.5, high=1)  # share of an instance inside the decoded region for it to count
    anchor: str = ""  # curve '<codec> <scenario>' of the BD-rate on AP ("": the first full-image curve)
    viewer_images: int = spec(VIEWER_IMAGES, high=100_000)  # the N images with most instances keep their decodes
    out: str = "results/task"
    jobs: int = spec(1, high=4096)
    executor: ExecutorConfig = field(default_factory=ExecutorConfig)
    quiet: bool = False

    def __post_init__(self) -> None:
        self.executor = ExecutorConfig.of(self.executor)

    def dataset_options(self) -> dict[str, Any]:
        """Keyword arguments of the dataset loader (`load_task_dataset`): the keys that are set; the dataset's
        factory says which it takes and which it needs (`--images`, `--annotations`, `--coco-root`)."""
        from ssicbench.datasets import DATASETS

        given = {"images": self.images, "annotations": self.annotations, "root": self.coco_root}
        options: dict[str, Any] = {key: value for key, value in given.items() if value}
        if not self.download and DATASETS.takes(self.dataset, "download"):
            options["download"] = False
        DATASETS.check_options(self.dataset, options, lambda key: DATASET_FLAGS.get(key, key), required=True)
        return {**options, "limit": self.limit} if self.limit else options
