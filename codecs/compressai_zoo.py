"""CompressAI's pretrained image models (the zoo) as codecs, coded with CompressAI's own rANS coder.

Every model of `compressai.zoo.image_models` is registered once per trained metric as "<model>-<metric>"
(e.g. "mbt2018-mean-mse", "cheng2020-attn-ms-ssim"). Weights are never fetched unless `download=True`.

Container layout (the one place it is defined): one section per string list that `compress` returns, in
its order, named by `STRING_SECTIONS` ("y", then "z" for models with a hyperprior); params hold
"quality" (the model's quality level, or the quantization step of a variable-rate model) and "shape"
(the latent shape `compress` returns, needed by `decompress`).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import compressai
import numpy as np
import torch
import torch.nn.functional as F
from compressai.ops import compute_padding
from compressai.registry import MODELS
from compressai.zoo import image, image_models, image_vbr
from compressai.zoo.pretrained import load_pretrained

from ssicbench.codecs.base import Codec, check_image
from ssicbench.codecs.bitstream import Bitstream
from ssicbench.codecs.devices import compute_device
from ssicbench.errors import BenchError, BitstreamError, MissingWeightsError, UnknownNameError, UsageError
from ssicbench.weights import file_fingerprint, hub_checkpoint_dir

__all__ = [
    "METRICS",
    "PAD_MULTIPLE",
    "STRING_SECTIONS",
    "VBR_HYPERPRIOR_TABLES",
    "VBR_QUANT_STEPS",
    "VBR_QUANT_STEP_RANGE",
    "VBR_VARIABLE_HYPERPRIOR",
    "CompressAIZooCodec",
    "WeightsArg",
    "ZooModel",
    "make_zoo_codec",
    "zoo_catalog",
    "zoo_models",
]

STRING_SECTIONS = ("y", "z")
PAD_MULTIPLE = 64  # six stride-2 stages: the input size every zoo model accepts
METRICS = ("mse", "ms-ssim")
# Quantization steps of CompressAI's own evaluation of its variable-rate models (10 = lowest rate).
VBR_QUANT_STEPS = (10.0, 7.1715, 5.1832, 3.7211, 2.6833, 1.9305, 1.3897, 1.0)
VBR_QUANT_STEP_RANGE = (1.0, 10.0)
# Variable-rate models whose hyperprior entropy model also depends on the quantization step.
VBR_VARIABLE_HYPERPRIOR = ("bmshj2018-hyperprior-vbr", "mbt2018-mean-vbr")
VBR_HYPERPRIOR_TABLES = tuple(f"entropy_bottleneck.{b}" for b in ("_offset", "_quantized_cdf", "_cdf_length"))

WeightsArg = str | os.PathLike | Mapping[Any, str | os.PathLike] | None


@dataclass(frozen=True)
class ZooModel:
    """One zoo family: CompressAI model name, trained metric, quality points and official weight URLs.

    A variable-rate ("vbr") model has one checkpoint for all its quality points (quantization steps),
    stored under the key None of `urls`.
    """

    model: str
    metric: str
    qualities: tuple[Any, ...]
    urls: dict[Any, str] = field(default_factory=dict)

    @property
    def vbr(self) -> bool:
        return self.model.endswith("-vbr")

    @property
    def codec_name(self) -> str:
        return f"{self.model}-{self.metric}"

    def weights_key(self, quality: Any) -> Any:
        """Which checkpoint serves `quality`: the quality itself, or None for a variable-rate model."""
        return None if self.vbr else quality


def zoo_models() -> list[ZooModel]:
    """Every (model, metric) of CompressAI's image zoo with its quality points and official URLs."""
    found = []
    for model in image_models:
        if model in image_vbr.model_urls:
            for metric, url in image_vbr.model_urls[model].items():
                found.append(ZooModel(model, metric, VBR_QUANT_STEPS, {None: url}))
        else:
            for metric in METRICS:
                urls = image.model_urls.get(model, {}).get(metric, {})
                found.append(ZooModel(model, metric, tuple(image.cfgs[model]), dict(urls)))
    return found


class CompressAIZooCodec(Codec):
    """A CompressAI zoo model behind the codec interface.

    `weights`: a checkpoint file (used for every quality, e.g. a variable-rate model), a directory holding
    the official file names, or a mapping quality -> file. Otherwise the torch hub cache is used, and with
    `download=True` a missing official checkpoint is downloaded there. `device` is "cpu" or "cuda"; decode
    on the kind of device that encoded: CompressAI's entropy parameters are not bit-exact across CPU and
    GPU, and a cheng2020 stream encoded on a GPU decodes to garbage on a CPU.
    """

    def __init__(self, spec: ZooModel, weights: WeightsArg = None, download: bool = False, device: str = "cpu"):
        self.spec = spec
        self.weights = weights
        self.download = download
        self.device = compute_device(device, f"{spec.model}-{spec.metric}")
        self._networks: dict[Any, torch.nn.Module] = {}
        self._vbr_scale: float | None = None

    def encode(self, image: np.ndarray, quality: Any, **opts: Any) -> Bitstream:
        """Compress with the model of `quality`; the image is zero-padded to a multiple of 64 as in CompressAI."""
        check_image(image)
        self._check_quality(quality)
        net = self._network(quality)
        height, width = image.shape[:2]
        pad, _ = compute_padding(height, width, min_div=PAD_MULTIPLE)
        x = torch.from_numpy(np.ascontiguousarray(image)).to(self.device)
        x = x.permute(2, 0, 1).unsqueeze(0).float().div(255.0)
        with torch.no_grad():
            out = net.compress(F.pad(x, pad, mode="constant", value=0), **self._rate_args(net, quality))
        bitstream = self._new_bitstream(image, quality=quality, shape=[int(s) for s in out["shape"]])
        names = STRING_SECTIONS[: len(out["strings"])]
        for name, strings in zip(names, out["strings"], strict=True):
            bitstream.sections[name] = strings[0]
        return bitstream

    def decode(self, bitstream: Bitstream, **opts: Any) -> np.ndarray:
        """Reconstruct with the model named by the container's quality, then crop the padding."""
        self._check(bitstream)
        quality, shape = bitstream.params.get("quality"), bitstream.params.get("shape")
        try:
            self._check_quality(quality)
        except (TypeError, ValueError) as exc:
            raise BitstreamError(f"{self.name}: bad quality in container ({exc})") from None
        net = self._network(quality)
        pad, unpad = compute_padding(bitstream.height, bitstream.width, min_div=PAD_MULTIPLE)
        expected = [
            (bitstream.height + pad[2] + pad[3]) // net.downsampling_factor,
            (bitstream.width + pad[0] + pad[1]) // net.downsampling_factor,
        ]
        if shape != expected:
            size = f"{bitstream.height}x{bitstream.width}"
            raise BitstreamError(f"{self.name}: latent shape {shape} does not fit a {size} image")
        strings = [[bitstream.section(name)] for name in STRING_SECTIONS if name in bitstream.sections]
        try:
            with torch.no_grad():
                x_hat = net.decompress(strings, shape, **self._rate_args(net, quality))["x_hat"]
        except Exception as exc:  # CompressAI asserts or fails in C++ on malformed strings
            reason = " ".join(f"{type(exc).__name__}: {exc}".split())
            raise BitstreamError(f"{self.name}: strings are not decodable ({reason})") from exc
        x_hat = F.pad(x_hat, unpad).clamp(0, 1)
        return x_hat[0].mul(255.0).round().byte().permute(1, 2, 0).cpu().numpy()

    def fingerprint(self, quality: Any) -> str:
        """Content hash of the weights file of `quality` (MissingWeightsError when there is none)."""
        self._check_quality(quality)
        return file_fingerprint(self._weights_path(quality))

    def check_quality(self, quality: Any) -> None:
        """Refuse a quality point this model has no weights or range for (UsageError)."""
        self._check_quality(quality)

    def _check_quality(self, quality: Any) -> None:
        if self.spec.vbr:
            low, high = VBR_QUANT_STEP_RANGE
            if not isinstance(quality, (int, float)) or not low <= quality <= high:
                raise UsageError(f"{self.name}: quality is a quantization step in [{low}, {high}], got {quality!r}")
        elif quality not in image.cfgs[self.spec.model]:
            levels = list(image.cfgs[self.spec.model])
            raise UsageError(f"{self.name}: quality must be one of {levels}, got {quality!r}")

    def _rate_args(self, net: torch.nn.Module, quality: Any) -> dict[str, Any]:
        """Extra `compress`/`decompress` arguments: for a variable-rate model, its quantization step."""
        if not self.spec.vbr:
            return {}
        scale = torch.tensor(1.0 / float(quality), device=self.device)
        if self.spec.model in VBR_VARIABLE_HYPERPRIOR and self._vbr_scale != float(quality):
            net.update(force=True, scale=scale)
            self._vbr_scale = float(quality)
        return {"stage": 2, "s": 0, "inputscale": scale}

    def networks(self, quality: Any) -> list[torch.nn.Module]:
        self._check_quality(quality)
        return [self._network(quality)]

    def _network(self, quality: Any) -> torch.nn.Module:
        key = self.spec.weights_key(quality)
        if key not in self._networks:
            self._networks[key] = self._load(quality).to(self.device).eval()
        return self._networks[key]

    def _load(self, quality: Any) -> torch.nn.Module:
        """Build the model of `quality` from its checkpoint and make sure its CDF tables exist."""
        path = self._weights_path(quality)
        try:
            state = torch.load(path, map_location="cpu", weights_only=True)
            for key in ("state_dict", "network", "model_state_dict"):  # training checkpoints wrap the weights
                state = state.get(key, state)
            state = load_pretrained(state)
            arch = MODELS[self.spec.model]
            if self.spec.model in VBR_VARIABLE_HYPERPRIOR:
                # its hyperprior tables depend on the quantization step: emptied here, built per step by update()
                state = {**state, **{k: torch.empty(0, dtype=torch.int32) for k in VBR_HYPERPRIOR_TABLES}}
                net = arch.from_state_dict(state, vr_entbttlnck=True)
            else:
                net = arch.from_state_dict(state)
        except Exception as exc:
            reason = " ".join(f"{type(exc).__name__}: {exc}".split())
            raise BenchError(f"{self.name}: cannot load {path} as {self.spec.model} weights ({reason})") from exc
        if self.spec.vbr:
            net.no_quantoffset = False  # settings of CompressAI's own evaluation
            if self.spec.model == "mbt2018-vbr":
                net.scl2ctx = True
        if self.spec.model in VBR_VARIABLE_HYPERPRIOR:
            net.update(force=True, scale=net.Gain[-1])
        else:
            net.update()
        return net

    def _weights_path(self, quality: Any) -> Path:
        """The checkpoint file for `quality`: given, cached, or downloaded; MissingWeightsError if none."""
        key = self.spec.weights_key(quality)
        url = self.spec.urls.get(key)
        filename = url.rsplit("/", 1)[-1] if url else None
        label = f"{self.name}" + ("" if key is None else f" quality {quality}")
        given = self.weights
        if isinstance(given, Mapping):
            if quality not in given:
                raise MissingWeightsError(f"{label}: the weights mapping has no entry for quality {quality}")
            given = given[quality]
        path = None if given is None else Path(given).expanduser()
        if path is not None and not path.is_dir():
            if not path.is_file():
                raise MissingWeightsError(f"{label}: weights file {path} not found")
            return path
        if filename is None:
            raise MissingWeightsError(
                f"{label}: CompressAI publishes no weights for {self.spec.model}; "
                "pass --weights FILE (a checkpoint for every quality)"
            )
        folder = path or hub_checkpoint_dir()
        if not (folder / filename).is_file() and self.download:
            folder.mkdir(parents=True, exist_ok=True)
            torch.hub.download_url_to_file(url, str(folder / filename), progress=False)
        if not (folder / filename).is_file():
            raise MissingWeightsError(
                f"{label}: weights file {filename} not found in {folder}; put it there (from {url}), "
                "pass --weights FILE_OR_FOLDER, or --option download=true"
            )
        return folder / filename


def make_zoo_codec(
    codec_name: str, weights: WeightsArg = None, download: bool = False, device: str = "cpu"
) -> CompressAIZooCodec:
    """The zoo codec registered as `codec_name` ("<model>-<metric>"); see `CompressAIZooCodec`."""
    spec = next((s for s in zoo_models() if s.codec_name == codec_name), None)
    if spec is None:
        raise UnknownNameError(f"CompressAI {compressai.__version__} has no zoo model {codec_name!r}")
    return CompressAIZooCodec(spec, weights, download, device)


def zoo_catalog() -> dict[str, dict[str, Any]]:
    """What `codecs/zoo_catalog.json` holds, so the registry can list the zoo without importing CompressAI."""
    catalog = {}
    for spec in zoo_models():
        kind = "variable-rate, quality = quantization step" if spec.vbr else "quality level"
        files = sorted({url.rsplit("/", 1)[-1] for url in spec.urls.values()})
        catalog[spec.codec_name] = {
            "qualities": list(spec.qualities),
            "description": f"CompressAI {spec.model} ({spec.metric}; {kind})",
            "weights": files,
        }
    return catalog


if __name__ == "__main__":  # python -m ssicbench.codecs.compressai_zoo > codecs/zoo_catalog.json
    import json

    entries = ",\n".join(f"  {json.dumps(k)}: {json.dumps(v)}" for k, v in zoo_catalog().items())
    print(f'{{"compressai": "{compressai.__version__}", "codecs": {{\n{entries}\n}}}}')
