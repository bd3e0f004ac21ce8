"""The one-page summary an `rd` run writes next to its results (README.md): figures, BD table, partial
decoding, the machine, and what each codec's weights are, so that a demonstration model is never taken
for a paper's."""

from __future__ import annotations

import json
import os
import platform
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from ssicbench.codec_spec import CodecSpec
from ssicbench.files import write_atomic
from ssicbench.report import bd_markdown, curve_source
from ssicbench.results import Curve

__all__ = ["RunInfo", "machine", "write_summary"]


@dataclass
class RunInfo:
    """What a summary says about how the run was made."""

    command: str
    dataset: str
    images: int
    elapsed_s: float
    cpu_s: float
    jobs_run: int
    jobs_reused: int
    workers: int


def machine() -> str:
    """CPU model, cores, OS and the versions that matter for the numbers."""
    import torch

    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as f:
            cpu = next((line.split(":", 1)[1].strip() for line in f if line.startswith("model name")), cpu)
    except OSError:
        pass
    gpu = f", CUDA {torch.cuda.get_device_name(0)}" if torch.cuda.is_available() else ""
    return (
        f"{cpu}, {os.cpu_count()} cores{gpu}; {platform.system()} {platform.release()}; "
        f"Python {platform.python_version()}, torch {torch.__version__}"
    )


def write_summary(
    out_dir: str | Path,
    run: RunInfo,
    specs: Sequence[CodecSpec],
    summary: pd.DataFrame,
    curves: Sequence[Curve],
    bd: pd.DataFrame,
    figures: Mapping[str, Path],
) -> Path:
    """Write `out_dir/README.md` and return its path."""
    from ssicbench.codecs import list_codecs

    out_dir = Path(out_dir)
    registry = {entry["name"]: entry for entry in list_codecs()}
    reused = f", {run.jobs_reused} rows reused from an earlier run" if run.jobs_reused else ""
    lines = [
        f"# RD study: {run.dataset} ({run.images} images)",
        "",
        f"Written by `{run.command}` on {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}.",
        f"Machine: {machine()}.",
        f"Time: {run.elapsed_s:.0f} s wall clock, {run.cpu_s:.0f} s CPU (all processes), {run.jobs_run} jobs coded"
        f" with {run.workers} worker processes{reused}; load average {os.getloadavg()[1]:.1f} (5 min) at the end.",
        "",
        "Rates are bits per pixel of the whole container a receiver gets (the library's file plus the suite's",
        "container header); PSNR and MS-SSIM are per image on 8-bit RGB, then averaged. Published curves are",
        "dashed; a curve read off a paper's figure is dotted with hollow markers and approximate.",
        "",
        "## Figures",
        "",
        *[f"![{name}]({path.name})" for name, path in figures.items() if path.suffix == ".png"],
        "",
        "## BD table",
        "",
        bd_markdown(bd) if len(bd) else "No anchor curve was available, so no BD table.",
    ]
    partial = [s for s in specs if s.decode != "all"]
    if partial:
        lines += ["## Partial decoding", "", *_partial_table(partial, summary), ""]
    lines += ["## Codecs and their weights", ""]
    for name, options in dict.fromkeys((s.name, json.dumps(s.options, sort_keys=True)) for s in specs):
        entry = registry.get(name, {})
        given = f" (options {options})" if options != "{}" else ""
        lines.append(
            f"- `{name}`{given}: weights: {entry.get('weights', 'not stated')}. {entry.get('description', '')}"
        )
    published = [c for c in curves if c.published]
    if published:
        lines += ["", "## Published curves overlaid", ""]
        for curve in published:
            where = Path(curve.extra.get("path", "")).name
            lines.append(f"- {curve.name} ({curve_source(curve)}, `{where}`): {curve.description}")
    lines += [
        "",
        "## Files",
        "",
        "`rows.csv` (one row per image and rate point, failures included), `summary.csv` (means per rate point),",
        "`compressai/` (our curves in CompressAI's JSON format), `bd_table.csv` / `bd_table.md`, the figures,",
        "`containers/` (the containers coded with group masks, shared by full and object-only decoding).",
        "",
    ]
    path = out_dir / "README.md"
    write_atomic(path, "\n".join(lines).encode())
    return path


def _partial_table(partial: Sequence[CodecSpec], summary: pd.DataFrame) -> list[str]:
    """Per rate point: bits received vs the whole container, the share of pixels decoded, PSNR inside them."""
    lines = [
        "The receiver fetches the `side` section and the object groups (non-zero ids of the group masks) only;",
        "bpp counts the bytes of that sub-container over all the image's pixels. PSNR is measured inside the",
        "decoded region only (the object groups' pixels), so it is not comparable with whole-image PSNR.",
        "",
        "| curve | quality | bpp received | bpp whole container | region [% of pixels] | PSNR in decoded region [dB] |",
        "|---|---|---|---|---|---|",
    ]
    for spec in partial:
        for _, row in summary[summary["codec"] == spec.display].iterrows():
            lines.append(
                f"| {spec.display} | {row['quality']} | {row['bpp']:.3f} | {row['bpp_whole']:.3f} |"
                f" {100 * row['region_fraction']:.1f} | {row['psnr_region']:.2f} |"
            )
    return lines
