"""Codecs that exist only as command-line programs: BPG (bpgenc/bpgdec) and VVC's reference software VTM.

Each run writes the image to a temporary directory, calls the encoder, and keeps its output file byte for
byte as the container's one section; decoding calls the decoder on that file the same way.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from abc import abstractmethod
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from ssicbench.codecs.classical import SinglePayloadCodec
from ssicbench.codecs.registry import register_codec
from ssicbench.errors import BenchError, BitstreamError, ExternalProgramError, MissingBinaryError

__all__ = [
    "STDERR_TAIL_CHARS",
    "STDERR_TAIL_LINES",
    "Bpg",
    "ExternalCodec",
    "Vtm",
    "find_program",
    "programs_check",
    "rgb_to_ycbcr",
    "ycbcr_to_rgb",
]

STDERR_TAIL_LINES = 3
STDERR_TAIL_CHARS = 300


def find_program(name: str, given: str | os.PathLike | None, env_var: str, argument: str) -> Path:
    """Locate program `name`: the path `given`, else $`env_var`, else the PATH; absent -> MissingBinaryError."""
    how = f"put {name} on PATH, set {env_var}=/path/to/{name}, or pass --option {argument}=PATH"
    candidate = given or os.environ.get(env_var)
    if candidate:
        path = Path(candidate).expanduser()
        if not (path.is_file() and os.access(path, os.X_OK)):
            raise MissingBinaryError(f"{name}: {path} is not an executable file ({how})")
        return path
    found = shutil.which(name)
    if found is None:
        raise MissingBinaryError(f"{name} not found ({how})")
    return Path(found)


def programs_check(*programs: tuple[str, str]) -> Callable[[], str]:
    """A registry `check`: "" when every (program, env var) is found, else which binary is missing."""

    def check() -> str:
        for name, env_var in programs:
            try:
                find_program(name, None, env_var, name)
            except MissingBinaryError:
                return f"binary missing: {name} (PATH or ${env_var})"
        return ""

    return check


class ExternalCodec(SinglePayloadCodec):
    """A single-payload codec whose encoder and decoder are programs run on files in a temporary directory."""

    def _run(self, cmd: list[Any], failure: type[BenchError]) -> None:
        """Run `cmd`; a nonzero exit raises `failure` with the exit status and the tail of stderr."""
        args = [str(a) for a in cmd]
        try:
            result = subprocess.run(args, stdin=subprocess.DEVNULL, capture_output=True)
        except OSError as exc:
            raise MissingBinaryError(f"{self.name}: cannot run {args[0]}: {exc.strerror}") from None
        if result.returncode != 0:
            lines = (result.stderr or result.stdout).decode(errors="replace").strip().splitlines()
            tail = " | ".join(line.strip() for line in lines[-STDERR_TAIL_LINES:])[-STDERR_TAIL_CHARS:]
            raise failure(f"{self.name}: {Path(args[0]).name} exited with status {result.returncode}: {tail}")

    def _encode_payload(self, image: np.ndarray, quality: Any) -> bytes:
        with tempfile.TemporaryDirectory(prefix=f"ssicbench-{self.name}-") as tmp:
            return self._encode_files(image, quality, Path(tmp))

    def _decode_payload(self, payload: bytes, height: int, width: int) -> np.ndarray:
        with tempfile.TemporaryDirectory(prefix=f"ssicbench-{self.name}-") as tmp:
            return self._decode_files(payload, height, width, Path(tmp))

    @abstractmethod
    def _encode_files(self, image: np.ndarray, quality: Any, tmp: Path) -> bytes:
        """Write `image` under `tmp`, run the encoder there and return the file it wrote."""

    @abstractmethod
    def _decode_files(self, payload: bytes, height: int, width: int, tmp: Path) -> np.ndarray:
        """Write `payload` under `tmp`, run the decoder there and return the image it wrote."""


@register_codec(
    "bpg",
    qualities=[46, 42, 38, 34, 30, 26, 22],
    description="BPG (HEVC, x265) via bpgenc/bpgdec, 4:4:4 YCbCr 8 bit; quality is the QP 0-51 (lower = better)",
    check=programs_check(("bpgenc", "SSICBENCH_BPGENC"), ("bpgdec", "SSICBENCH_BPGDEC")),
    weights="none (classical codec, external program)",
)
class Bpg(ExternalCodec):
    """Fabrice Bellard's BPG; settings as in CompressAI's published BPG curve (4:4:4, x265, YCbCr, 8 bit)."""

    quality_range = (0, 51)

    def __init__(
        self,
        bpgenc: str | os.PathLike | None = None,
        bpgdec: str | os.PathLike | None = None,
        subsampling: str = "444",
        encoder: str = "x265",
        colorspace: str = "ycbcr",
        bitdepth: int = 8,
    ) -> None:
        self.bpgenc = find_program("bpgenc", bpgenc, "SSICBENCH_BPGENC", "bpgenc")
        self.bpgdec = find_program("bpgdec", bpgdec, "SSICBENCH_BPGDEC", "bpgdec")
        self.options = ["-f", subsampling, "-e", encoder, "-c", colorspace, "-b", bitdepth]

    def _encode_files(self, image: np.ndarray, quality: Any, tmp: Path) -> bytes:
        source, coded = tmp / "in.png", tmp / "out.bpg"
        Image.fromarray(image).save(source)
        self._run([self.bpgenc, "-q", int(quality), *self.options, "-o", coded, source], ExternalProgramError)
        return coded.read_bytes()

    def _decode_files(self, payload: bytes, height: int, width: int, tmp: Path) -> np.ndarray:
        coded, decoded = tmp / "in.bpg", tmp / "out.png"
        coded.write_bytes(payload)
        self._run([self.bpgdec, "-o", decoded, coded], BitstreamError)
        with Image.open(decoded) as img:
            return np.asarray(img.convert("RGB"))


@register_codec(
    "vtm",
    qualities=[42, 37, 32, 27, 22, 17],
    description="VVC intra via VTM's EncoderApp/DecoderApp, YCbCr 4:4:4 8 bit; quality is the QP 0-63",
    check=programs_check(("EncoderApp", "SSICBENCH_VTM_ENCODER"), ("DecoderApp", "SSICBENCH_VTM_DECODER")),
    weights="none (classical codec, external program)",
)
class Vtm(ExternalCodec):
    """VVC reference software on one 4:4:4 frame, as in CompressAI's VTM curve.

    `config` is an encoder configuration, normally VTM's cfg/encoder_intra_vtm.cfg; `rgb=True` codes RGB
    (as GBR) instead of converting to YCbCr (BT.601, full range).
    """

    quality_range = (0, 63)

    def __init__(
        self,
        encoder: str | os.PathLike | None = None,
        decoder: str | os.PathLike | None = None,
        config: str | os.PathLike | None = None,
        rgb: bool = False,
    ) -> None:
        self.encoder = find_program("EncoderApp", encoder, "SSICBENCH_VTM_ENCODER", "encoder")
        self.decoder = find_program("DecoderApp", decoder, "SSICBENCH_VTM_DECODER", "decoder")
        config = config or os.environ.get("SSICBENCH_VTM_CONFIG")
        if config and not Path(config).is_file():
            raise MissingBinaryError(
                f"VTM configuration {config} does not exist (pass --option config=PATH or set SSICBENCH_VTM_CONFIG)"
            )
        self.config = Path(config) if config else None
        self.rgb = rgb

    def _encode_files(self, image: np.ndarray, quality: Any, tmp: Path) -> bytes:
        source, coded = tmp / "in.yuv", tmp / "out.bin"
        planes = image.transpose(2, 0, 1) if self.rgb else rgb_to_ycbcr(image).transpose(2, 0, 1)
        source.write_bytes(np.ascontiguousarray(planes).tobytes())
        height, width = image.shape[:2]
        cmd = [self.encoder] + (["-c", self.config] if self.config else [])
        cmd += ["-i", source, "-b", coded, "-o", os.devnull, "-q", int(quality), "-wdt", width, "-hgt", height]
        cmd += ["-fr", 1, "-f", 1, "--InputChromaFormat=444", "--InputBitDepth=8", "--ConformanceWindowMode=1"]
        if self.rgb:
            cmd += ["--InputColourSpaceConvert=RGBtoGBR", "--SNRInternalColourSpace=1", "--OutputInternalColourSpace=0"]
        self._run(cmd, ExternalProgramError)
        return coded.read_bytes()

    def _decode_files(self, payload: bytes, height: int, width: int, tmp: Path) -> np.ndarray:
        coded, decoded = tmp / "in.bin", tmp / "out.yuv"
        coded.write_bytes(payload)
        cmd = [self.decoder, "-b", coded, "-o", decoded, "-d", 8]
        if self.rgb:
            cmd.append("--OutputInternalColourSpace=GBRtoRGB")
        self._run(cmd, BitstreamError)
        raw = np.frombuffer(decoded.read_bytes(), dtype=np.uint8)
        if raw.size != 3 * height * width:
            raise BitstreamError(f"{self.name}: decoder wrote {raw.size} samples, expected 3x{height}x{width} (4:4:4)")
        planes = raw.reshape(3, height, width).transpose(1, 2, 0)
        return planes.copy() if self.rgb else ycbcr_to_rgb(planes)


KR, KB = 0.299, 0.114  # BT.601 luma weights, as in CompressAI's rgb2ycbcr


def rgb_to_ycbcr(image: np.ndarray) -> np.ndarray:
    """Full-range BT.601 YCbCr of an RGB uint8 image, rounded to uint8."""
    r, g, b = np.moveaxis(image.astype(np.float64) / 255.0, -1, 0)
    y = KR * r + (1 - KR - KB) * g + KB * b
    cb = 0.5 * (b - y) / (1 - KB) + 0.5
    cr = 0.5 * (r - y) / (1 - KR) + 0.5
    return _to_uint8(np.stack([y, cb, cr], axis=-1))


def ycbcr_to_rgb(image: np.ndarray) -> np.ndarray:
    """Inverse of `rgb_to_ycbcr`."""
    y, cb, cr = np.moveaxis(image.astype(np.float64) / 255.0, -1, 0)
    r = y + (2 - 2 * KR) * (cr - 0.5)
    b = y + (2 - 2 * KB) * (cb - 0.5)
    g = (y - KR * r - KB * b) / (1 - KR - KB)
    return _to_uint8(np.stack([r, g, b], axis=-1))


def _to_uint8(image: np.ndarray) -> np.ndarray:
    return np.clip(np.rint(image * 255.0), 0, 255).astype(np.uint8)
