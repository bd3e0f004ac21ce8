"""A test-only detector in one file, with an option of its own: `boxes` fixed detections of category person.
Loaded with `run_bench.py --plugin tests/plugins/example_detector.py task --detector test-fixed-boxes
--detector-option boxes=2 ...`."""

from ssicbench.tasks.detectors import DETECTORS, Detector


@DETECTORS.register("test-fixed-boxes", backend="test", iou_types=("bbox",), categories=None, description="test only")
class FixedBoxes(Detector):
    """Finds `boxes` people on a diagonal, whatever the image shows (so AP depends only on the ground truth)."""

    def __init__(self, boxes: int = 1, score: float = 0.9):
        self.boxes, self.score = boxes, score

    def detect(self, image):
        height, width = image.shape[:2]
        size = min(height, width) / (self.boxes + 1)
        return [
            {"category_id": 1, "bbox": [i * size, i * size, size, size], "score": self.score} for i in range(self.boxes)
        ]
