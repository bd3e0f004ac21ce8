"""A test-only transmission scenario in one file: the receiver gets the image at half size (coded by any
codec) and upsamples it; loaded with `--plugin tests/plugins/example_scenario.py task --scenario test-half`."""

import time

import numpy as np
from PIL import Image

from ssicbench.codecs import Bitstream
from ssicbench.transmission import Transmission, register_scenario


@register_scenario("test-half", False, "test only: the image coded at half size, upsampled by the receiver")
def half(codec, image, quality, groups, boxes, argument, encode):
    height, width = image.shape[:2]
    small = np.asarray(Image.fromarray(image).resize((max(1, width // 2), max(1, height // 2)), Image.BILINEAR))
    data, encode_s = encode(codec, np.ascontiguousarray(small), quality, None)
    start = time.perf_counter()
    decoded = np.asarray(Image.fromarray(codec.decode(Bitstream.from_bytes(data))).resize((width, height)))
    return Transmission(decoded, len(data), None, None, encode_s, time.perf_counter() - start)
