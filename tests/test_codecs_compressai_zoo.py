"""CompressAI zoo models behind the codec interface, with tiny weights the tests make (never downloaded).

Each test builds a model's architecture with a few channels, scales its analysis transform so the latents
are not all zero, calls update() and saves the state dict where the loader is told (or expected) to look.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from compressai.ops import compute_padding
from compressai.registry import MODELS
from compressai.zoo import image_models
from conftest import smooth_image

from ssicbench.codecs import Bitstream, create_codec, list_codecs
from ssicbench.codecs.compressai_zoo import VBR_VARIABLE_HYPERPRIOR, ZooModel, hub_checkpoint_dir, zoo_models
from ssicbench.errors import BitstreamError, MissingWeightsError

SPECS = {spec.codec_name: spec for spec in zoo_models()}
ONE_PER_MODEL = sorted({spec.model: name for name, spec in SPECS.items()}.values())
# Models whose eval-mode forward() quantizes exactly as compress() does, so decode must equal forward.
FORWARD_EQUALS_DECODE = [
    "bmshj2018-factorized-mse",
    "bmshj2018-factorized-relu-mse",
    "bmshj2018-hyperprior-mse",
    "mbt2018-mean-mse",
]


def tiny_network(model: str) -> torch.nn.Module:
    """The architecture of `model` with 8 channels, latents scaled up to be non-trivial, CDF tables built."""
    torch.manual_seed(0)
    arch = MODELS[model]
    if model.startswith("cheng2020"):
        net = arch(8)
    elif model in VBR_VARIABLE_HYPERPRIOR:
        net = arch(8, 8, vr_entbttlnck=True)
    else:
        net = arch(8, 8)
    last_conv = [m for m in net.g_a.modules() if isinstance(m, torch.nn.Conv2d)][-1]
    last_conv.weight.data *= 20
    if model in VBR_VARIABLE_HYPERPRIOR:
        net.update(force=True, scale=net.Gain[-1])
    else:
        net.update(force=True)
    return net.eval()


def save_tiny_weights(model: str, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.save(tiny_network(model).state_dict(), path)
    return path


def official_filename(spec: ZooModel, quality) -> str:
    return spec.urls[spec.weights_key(quality)].rsplit("/", 1)[-1]


@pytest.fixture(autouse=True)
def empty_torch_home(tmp_path, monkeypatch) -> Path:
    """Point the torch hub cache at an empty folder, so no test sees (or writes) the user's cache."""
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    return tmp_path / "torch"


@pytest.fixture(scope="module")
def image() -> np.ndarray:
    return smooth_image(70, 90)  # not a multiple of 64: exercises padding and cropping


@pytest.mark.parametrize("name", ONE_PER_MODEL)
def test_round_trip_with_own_weights(name, image, tmp_path):
    spec = SPECS[name]
    quality = spec.qualities[0]
    weights = save_tiny_weights(spec.model, tmp_path / "w.pth")
    codec = create_codec(name, weights={quality: weights}) if not spec.vbr else create_codec(name, weights=weights)

    bitstream = Bitstream.from_bytes(codec.encode(image, quality).to_bytes())
    decoded = codec.decode(bitstream)

    assert decoded.shape == image.shape and decoded.dtype == np.uint8
    assert np.array_equal(decoded, codec.decode(bitstream)), "decoding must be deterministic"
    assert bitstream.bpp() == 8 * len(bitstream.to_bytes()) / (image.shape[0] * image.shape[1])
    assert bitstream.params["quality"] == quality
    expected_sections = ["y"] if spec.model.startswith("bmshj2018-factorized") else ["y", "z"]
    assert list(bitstream.sections) == expected_sections and all(bitstream.sections.values())


@pytest.mark.parametrize("name", FORWARD_EQUALS_DECODE)
def test_entropy_coding_is_lossless(name, image, tmp_path):
    """decode(encode(x)) is the network's own reconstruction: the rANS strings and container lose nothing."""
    spec = SPECS[name]
    weights = save_tiny_weights(spec.model, tmp_path / "w.pth")
    codec = create_codec(name, weights={1: weights})
    decoded = codec.decode(codec.encode(image, 1))

    net = tiny_network(spec.model)
    pad, unpad = compute_padding(*image.shape[:2], min_div=64)
    x = torch.from_numpy(image).permute(2, 0, 1)[None].float() / 255
    with torch.no_grad():
        x_hat = F.pad(net(F.pad(x, pad))["x_hat"], unpad).clamp(0, 1)
    reference = (x_hat[0] * 255).round().byte().permute(1, 2, 0).numpy()
    assert np.abs(decoded.astype(int) - reference).max() <= 1


def test_variable_rate_model_changes_rate_with_the_quantization_step(image, tmp_path):
    weights = save_tiny_weights("mbt2018-mean-vbr", tmp_path / "vbr.pth")
    codec = create_codec("mbt2018-mean-vbr-mse", weights=weights)
    coarse, fine = codec.encode(image, 10.0), codec.encode(image, 1.0)
    assert coarse.num_bytes < fine.num_bytes
    assert codec.decode(coarse).shape == codec.decode(fine).shape == image.shape


def test_weights_found_in_the_torch_hub_cache(image, empty_torch_home):
    spec = SPECS["bmshj2018-hyperprior-mse"]
    save_tiny_weights(spec.model, hub_checkpoint_dir() / official_filename(spec, 2))
    assert hub_checkpoint_dir().is_relative_to(empty_torch_home)
    codec = create_codec(spec.codec_name)
    assert codec.decode(codec.encode(image, 2)).shape == image.shape


def test_weights_found_in_a_given_directory_by_official_name(image, tmp_path):
    spec = SPECS["mbt2018-mean-ms-ssim"]
    save_tiny_weights(spec.model, tmp_path / "weights" / official_filename(spec, 5))
    codec = create_codec(spec.codec_name, weights=tmp_path / "weights")
    assert codec.decode(codec.encode(image, 5)).shape == image.shape


def test_download_only_when_allowed(image, monkeypatch, tmp_path):
    spec = SPECS["bmshj2018-factorized-mse"]
    fetched = []

    def fake_download(url, dst, progress=True):
        fetched.append((url, Path(dst)))
        save_tiny_weights(spec.model, Path(dst))

    monkeypatch.setattr(torch.hub, "download_url_to_file", fake_download)
    with pytest.raises(MissingWeightsError):
        create_codec(spec.codec_name).encode(image, 3)
    assert fetched == []
    codec = create_codec(spec.codec_name, download=True)
    assert codec.decode(codec.encode(image, 3)).shape == image.shape
    assert fetched == [(spec.urls[3], hub_checkpoint_dir() / official_filename(spec, 3))]


def test_missing_weights_name_the_file_and_where_to_put_it(image):
    spec = SPECS["cheng2020-attn-mse"]
    filename = official_filename(spec, 4)
    with pytest.raises(MissingWeightsError) as info:
        create_codec(spec.codec_name).encode(image, 4)
    message = str(info.value)
    assert filename in message and str(hub_checkpoint_dir()) in message and "--option download=true" in message


def test_missing_weights_file_given_by_path(image, tmp_path):
    with pytest.raises(MissingWeightsError, match="nope.pth not found"):
        create_codec("mbt2018-mse", weights={1: tmp_path / "nope.pth"}).encode(image, 1)
    with pytest.raises(MissingWeightsError, match="no entry for quality 2"):
        create_codec("mbt2018-mse", weights={1: tmp_path / "nope.pth"}).encode(image, 2)


def test_model_without_published_weights_asks_for_a_file(image):
    with pytest.raises(MissingWeightsError, match="publishes no weights for bmshj2018-factorized-relu"):
        create_codec("bmshj2018-factorized-relu-mse").encode(image, 1)


def test_quality_outside_the_model_range(image):
    with pytest.raises(ValueError, match="quality must be one of"):
        create_codec("cheng2020-anchor-mse").encode(image, 7)
    with pytest.raises(ValueError, match="quantization step"):
        create_codec("mbt2018-vbr-mse").encode(image, 0.5)


@pytest.fixture
def hyperprior_stream(image, tmp_path):
    weights = save_tiny_weights("bmshj2018-hyperprior", tmp_path / "w.pth")
    codec = create_codec("bmshj2018-hyperprior-mse", weights=weights)
    return codec, codec.encode(image, 1)


@pytest.mark.parametrize(
    "tamper, message",
    [
        (lambda b: b.params.update(quality=9), "bad quality"),
        (lambda b: b.params.update(shape=[1, 1]), "latent shape"),
        (lambda b: b.sections.pop("z"), "not decodable"),
    ],
    ids=["quality", "shape", "missing-z"],
)
def test_inconsistent_container_is_a_bitstream_error(hyperprior_stream, tamper, message):
    codec, bitstream = hyperprior_stream
    tamper(bitstream)
    with pytest.raises(BitstreamError, match=message):
        codec.decode(bitstream)


def test_every_zoo_model_and_metric_is_registered():
    registered = {entry["name"]: entry for entry in list_codecs()}
    for model in image_models:
        metrics = ["mse"] if model.endswith("-vbr") else ["mse", "ms-ssim"]
        for metric in metrics:
            assert f"{model}-{metric}" in registered
    assert registered["cheng2020-attn-ms-ssim"]["qualities"] == (1, 2, 3, 4, 5, 6)
    assert registered["mbt2018-mse"]["qualities"] == tuple(range(1, 9))
    assert registered["mbt2018-vbr-mse"]["qualities"][0] == 10.0


@pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device here")
def test_cuda_round_trip_matches_cpu_rate(image, tmp_path):
    weights = save_tiny_weights("mbt2018-mean", tmp_path / "w.pth")
    cpu = create_codec("mbt2018-mean-mse", weights=weights)
    cuda = create_codec("mbt2018-mean-mse", weights=weights, device="cuda")
    bitstream = cuda.encode(image, 1)
    assert cuda.decode(bitstream).shape == image.shape
    assert abs(bitstream.num_bytes - cpu.encode(image, 1).num_bytes) <= 8
