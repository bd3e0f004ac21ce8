"""VMAF (Netflix; model vmaf_v0.6.1, libvmaf's default): a learned fusion of VIF, DLM and motion features, here on
one frame (motion 0), one of JPEG AI's test metrics. libvmaf runs inside the static ffmpeg that the
imageio-ffmpeg wheel ships (built with --enable-libvmaf); RGB images go to it as BT.709 limited-range Y'CbCr
4:4:4 (ffmpeg's own conversion), as video codecs and VMAF's training data carry them."""

from __future__ import annotations

import json
import subprocess
import tempfile
from functools import lru_cache
from pathlib import Path

import numpy as np

from ssicbench.errors import MetricError, MissingLibraryError
from ssicbench.metrics.registry import Column, Metric, register_metric, unavailable

__all__ = ["vmaf", "vmaf_raw"]

TIMEOUT_S = 120


@lru_cache(maxsize=1)
def _ffmpeg() -> str:
    """The ffmpeg executable with libvmaf (imageio-ffmpeg's); MissingLibraryError when it is absent."""
    try:
        import imageio_ffmpeg

        exe = imageio_ffmpeg.get_ffmpeg_exe()
    except (ImportError, RuntimeError) as exc:
        raise MissingLibraryError(f"VMAF needs imageio-ffmpeg's ffmpeg ({exc}); pip install imageio-ffmpeg") from None
    filters = subprocess.run([exe, "-hide_banner", "-filters"], capture_output=True, text=True, timeout=30).stdout
    if " libvmaf " not in filters:
        raise MissingLibraryError(f"VMAF needs an ffmpeg built with libvmaf; {exe} has no libvmaf filter")
    return exe


def vmaf_raw(reference: bytes, distorted: bytes, width: int, height: int, pix_fmt: str, convert: str = "") -> float:
    """The VMAF of raw frames of `pix_fmt` (e.g. yuv420p, rgb24) at `width` x `height` (the mean over frames,
    libvmaf's pooling); `convert`: an ffmpeg filter applied to both before libvmaf (e.g. a colour conversion)."""
    with tempfile.TemporaryDirectory(prefix="ssicbench-vmaf-") as folder:
        ref, dist, log = (Path(folder) / name for name in ("ref.raw", "dist.raw", "vmaf.json"))
        ref.write_bytes(reference)
        dist.write_bytes(distorted)
        raw = ["-f", "rawvideo", "-pix_fmt", pix_fmt, "-s", f"{width}x{height}"]
        step = f"{convert}," if convert else ""
        graph = (
            f"[0]{step}setpts=PTS-STARTPTS[r];[1]{step}setpts=PTS-STARTPTS[d];[d][r]libvmaf=log_fmt=json:log_path={log}"
        )
        command = [_ffmpeg(), "-hide_banner", "-nostdin", *raw, "-i", str(ref), *raw, "-i", str(dist)]
        done = subprocess.run(
            [*command, "-lavfi", graph, "-f", "null", "-"], capture_output=True, text=True, timeout=TIMEOUT_S
        )
        if done.returncode != 0 or not log.is_file():
            tail = " ".join(done.stderr.strip().splitlines()[-2:])
            raise MetricError(f"VMAF: ffmpeg failed ({tail})")
        pooled = json.loads(log.read_text())["pooled_metrics"]["vmaf"]["mean"]
    return float(pooled)


def vmaf(reference: np.ndarray, decoded: np.ndarray) -> dict[str, float]:
    """VMAF of two HxWx3 uint8 RGB images, each one frame."""
    height, width = reference.shape[:2]
    if width % 2 or height % 2 or min(width, height) < 32:
        raise MetricError(f"VMAF needs even sides of at least 32 px; image is {height}x{width}")
    convert = "scale=out_color_matrix=bt709:out_range=tv,format=yuv444p"
    score = vmaf_raw(reference.tobytes(), decoded.tobytes(), width, height, "rgb24", convert)
    return {"vmaf": score}


register_metric(
    Metric(
        "vmaf",
        vmaf,
        (Column("vmaf", "vmaf", "VMAF (v0.6.1)", "VMAF", True, unit="", jpeg_ai=True),),
        "VMAF v0.6.1 on one frame (libvmaf in imageio-ffmpeg's ffmpeg)",
        needs="imageio-ffmpeg (its ffmpeg has libvmaf)",
        available=unavailable(_ffmpeg),
    )
)
