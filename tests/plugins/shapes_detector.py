"""A test-only segmenter with keypoints in one file: every red blob is a person, with its mask and four labelled
keypoints at its box corners (COCO keypoints 5, 6, 11, 12: the shoulders and hips). On the synthetic fixture of
tests/test_paper_configs.py it finds exactly the annotated people of an image decoded well enough, so AP is exact.
Loaded with `run_bench.py --plugin tests/plugins/shapes_detector.py task --detector test-red-people ...`."""

import numpy as np
from pycocotools import mask as mask_utils
from scipy import ndimage

from ssicbench.tasks.detectors import DETECTORS, Detector

CORNERS = (5, 6, 11, 12)  # left/right shoulder (top corners), left/right hip (bottom corners)


def corner_keypoints(x0: float, y0: float, x1: float, y1: float) -> list[float]:
    """17 COCO keypoints, the four of `CORNERS` at the box's corners (score 1), the others zero."""
    points = [[0.0, 0.0, 0.0] for _ in range(17)]
    for index, (x, y) in zip(CORNERS, ((x0, y0), (x1, y0), (x0, y1), (x1, y1))):
        points[index] = [float(x), float(y), 1.0]
    return [v for point in points for v in point]


@DETECTORS.register(
    "test-red-people", backend="test", iou_types=("bbox", "segm", "keypoints"), categories=(1,), description="test"
)
class RedPeople(Detector):
    iou_types = ("bbox", "segm", "keypoints")

    def detect(self, image):
        image = image.astype(int)
        red = (image[..., 0] > 160) & (image[..., 1] < 90) & (image[..., 2] < 90)
        labels, _ = ndimage.label(red)
        results = []
        for index, found in enumerate(ndimage.find_objects(labels), start=1):
            blob = labels == index
            if blob.sum() < 50:
                continue
            y0, y1, x0, x1 = found[0].start, found[0].stop, found[1].start, found[1].stop
            rle = mask_utils.encode(np.asfortranarray(blob.astype(np.uint8)))
            rle["counts"] = rle["counts"].decode("ascii")
            results.append(
                {
                    "category_id": 1,
                    "bbox": [float(x0), float(y0), float(x1 - x0), float(y1 - y0)],
                    "segmentation": rle,
                    "keypoints": corner_keypoints(x0, y0, x1, y1),
                    "score": 0.9,
                }
            )
        return results
