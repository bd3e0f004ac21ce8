"""Detector registry: COCO-format outputs, OpenCV offline backend, torchvision weight loading, optional detectron2."""

from __future__ import annotations

import importlib.util

import numpy as np
import pytest
import torch
from torchvision.models.detection import FasterRCNN
from torchvision.models.detection.anchor_utils import AnchorGenerator
from torchvision.ops import MultiScaleRoIAlign

from ssicbench.coco_categories import COCO_CATEGORIES
from ssicbench.errors import BenchError, MissingWeightsError, UnknownNameError
from ssicbench.tasks.coco_data import load_task_dataset
from ssicbench.tasks.detectors import (
    DETECTORS,
    TorchvisionDetector,
    create_detector,
    load_weights,
    resolve_weights,
)


def test_registry_lists_every_backend_and_rejects_unknown_names():
    backends = {DETECTORS.get(n).info["backend"] for n in DETECTORS.names()}
    assert backends == {"onnx", "opencv", "torchvision", "detectron2"}
    with pytest.raises(UnknownNameError, match="unknown detector"):
        create_detector("yolo-v99")


def test_hog_finds_a_person_box_in_coco_format():
    dataset = load_task_dataset("embedded")
    astronaut = next(i for i in dataset.image_ids() if dataset.image_info(i)["file_name"] == "astronaut.png")
    dets = create_detector("opencv-hog").detect(dataset.load(astronaut))
    assert dets, "HOG finds one (false) person on the astronaut image"
    for det in dets:
        assert det["category_id"] == 1 and len(det["bbox"]) == 4 and isinstance(det["score"], float)


@pytest.mark.parametrize("name", ["opencv-haar-fullbody", "opencv-haar-upperbody", "opencv-haar-catface"])
def test_haar_cascades_load_and_map_to_coco_categories(name):
    detector = create_detector(name)
    assert detector.detect(np.zeros((80, 80, 3), np.uint8)) == []
    assert all(c in COCO_CATEGORIES for c in DETECTORS.get(name).info["categories"])


def tiny_faster_rcnn(num_classes=3):
    """A FasterRCNN small enough to build in a test (one 8-channel stride-16 conv as backbone)."""
    torch.manual_seed(0)
    backbone = torch.nn.Sequential(torch.nn.Conv2d(3, 8, 3, stride=16, padding=1), torch.nn.ReLU())
    backbone.out_channels = 8
    return FasterRCNN(
        backbone,
        num_classes=num_classes,
        min_size=64,
        max_size=64,
        rpn_anchor_generator=AnchorGenerator(sizes=((32,),), aspect_ratios=((1.0,),)),
        box_roi_pool=MultiScaleRoIAlign(["0"], 7, 2),
        box_score_thresh=0.0,
    )


def test_weights_load_from_a_local_file_and_detect(tmp_path):
    trained = tiny_faster_rcnn()
    with torch.no_grad():
        for p in trained.parameters():
            p.add_(0.01)
    path = tmp_path / "tiny.pth"
    torch.save(trained.state_dict(), path)
    fresh = tiny_faster_rcnn()
    load_weights(fresh, resolve_weights("https://example.invalid/tiny.pth", path, download=False))
    for a, b in zip(trained.state_dict().values(), fresh.state_dict().values()):
        torch.testing.assert_close(a, b)
    detector = TorchvisionDetector(fresh, label_to_category={1: 1, 2: 17}.get)
    dets = detector.detect(np.random.default_rng(0).integers(0, 255, (64, 64, 3), dtype=np.uint8))
    for det in dets:
        assert det["category_id"] in (1, 17) and len(det["bbox"]) == 4 and 0 <= det["score"] <= 1


def test_missing_weights_are_a_clear_error(tmp_path, monkeypatch):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "hub"))
    with pytest.raises(MissingWeightsError, match="fasterrcnn_resnet50_fpn_coco"):
        create_detector("torchvision-fasterrcnn", download=False)
    with pytest.raises(MissingWeightsError, match="does not exist"):
        create_detector("torchvision-maskrcnn", weights=tmp_path / "nowhere.pth")


def test_weights_that_do_not_fit_the_model_are_a_clear_error(tmp_path):
    path = tmp_path / "other.pth"
    torch.save(tiny_faster_rcnn(num_classes=5).state_dict(), path)
    with pytest.raises(BenchError, match="do not fit FasterRCNN"):
        load_weights(tiny_faster_rcnn(num_classes=3), path)


@pytest.mark.skipif(importlib.util.find_spec("detectron2") is not None, reason="detectron2 is installed")
def test_detectron2_is_optional_and_says_so():
    with pytest.raises(BenchError, match="detectron2 is not installed"):
        create_detector("detectron2-mask-rcnn")
