"""The one-page summary an `rd` run writes next to its results (README.md): figures, BD tables, the region
measurements (partial decoding, structure cost, bytes per group), the machine, and what each codec's weights are,
so that a demonstration model is never taken for a paper's."""

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
from ssicbench.markdown import markdown_table
from ssicbench.regions import BAND_PX
from ssicbench.report import bd_markdown, curve_source, declared_column, format_bd, table_metrics
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
    tables: Mapping[str, pd.DataFrame],
    figures: Mapping[str, Path],
) -> Path:
    """Write `out_dir/README.md` and return its path; `tables`: the BD tables (`bd_table`, `bd_regions`), the
    `structure_cost` table and the `group_rates` summary, each where the run has one."""
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
        bd_markdown(tables["bd_table"]) if len(tables.get("bd_table", [])) else "No anchor curve, so no BD table.",
    ]
    masked = [s for s in specs if s.masks]
    if masked:
        lines += ["## Regions (group masks)", "", *_region_table(masked, summary), ""]
        if len(tables.get("bd_regions", [])):
            lines += ["BD on the region PSNRs (the bits the receiver fetched):", "", bd_markdown(tables["bd_regions"])]
        whole, region = (
            set(tables.get(n, pd.DataFrame(columns=["anchor"]))["anchor"]) for n in ("bd_table", "bd_regions")
        )
        for anchor in sorted(whole - region):
            lines.append(
                f"No region BD against `{anchor}`: it has no region PSNR (a published curve is whole-image only;"
                " run its codec here with the masks to measure it)."
            )
    if len(tables.get("structure_cost", [])):
        lines += ["## Structure cost", "", *_structure_lines(tables["structure_cost"]), ""]
    if len(tables.get("group_rates", [])):
        lines += ["## Bytes per group", "", *_group_rate_lines(tables["group_rates"]), ""]
    if len(tables.get("complexity", [])):
        lines += ["## Complexity", "", *_complexity_lines(tables["complexity"]), ""]
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
        "`containers/` (the containers coded with group masks, shared by full and object-only decoding),",
        "`index.html` (the browser report: open it in a browser; its pictures are under `report/`).",
        "",
    ]
    path = out_dir / "README.md"
    write_atomic(path, "\n".join(lines).encode())
    return path


def _region_table(masked: Sequence[CodecSpec], summary: pd.DataFrame) -> list[str]:
    """Per curve measured on group masks and rate point: bits fetched and coded, pixels decoded, region PSNRs."""
    lines = [
        "Every codec given group masks is measured on them; a structured one also codes with them. Object PSNR is",
        "over the pixels of the groups other than 0, background PSNR over group 0, boundary PSNR over the pixels",
        f"within {BAND_PX} px (Chebyshev) of a pixel of another group; each only on the pixels the receiver decoded.",
        "bpp fetched: the bytes the receiver got; bpp coded: all the sender coded (a partial decode fetches less).",
        "",
    ]
    header = ["curve", "quality", "bpp fetched", "bpp coded", "decoded [% of pixels]", "object PSNR"]
    header += ["background PSNR", "boundary PSNR"]
    rows = []
    for spec in dict.fromkeys(masked):
        for _, row in summary[summary["codec"] == spec.display].iterrows():
            coded = row.get("bpp_whole", float("nan"))
            decoded = row.get("region_fraction", float("nan"))
            cells = [
                spec.display,
                str(row["quality"]),
                f"{row['bpp']:.3f}",
                _number(row["bpp"] if pd.isna(coded) else coded, ".3f"),
                _number(100.0 if pd.isna(decoded) else 100 * decoded, ".1f"),
                *(_number(row.get(f"psnr_{r}", float("nan")), ".2f") for r in ("objects", "background", "boundary")),
            ]
            rows.append(cells)
    return lines + markdown_table(header, rows)


def _structure_lines(cost: pd.DataFrame) -> list[str]:
    """One line per structured curve: its BD against the same codec coding each image as one group."""
    lines = [
        "The structured curve against the same model coding each image as one group, on whole-image quality; its",
        "bits include everything the receiver fetches, the group mask (side information) too.",
        "",
    ]
    for _, row in cost.iterrows():
        parts = []
        for metric in table_metrics(cost):
            name, unit = declared_column(metric).title, declared_column(metric).unit
            rate = format_bd(row, f"bd_rate_{metric}_%", "+.1f")
            quality = format_bd(row, f"bd_{metric}", "+.2f" if unit else "+.4f")
            parts.append(f"BD-rate ({name}) {rate} %, BD-{name} {quality}" + (f" {unit}" if unit else ""))
        notes = (row.get(f"{m}_note") for m in table_metrics(cost))
        note = "; ".join(str(n) for n in notes if isinstance(n, str) and n)
        lines.append(
            f"- `{row['codec']}` vs `{row['one_group']}`: " + "; ".join(parts) + (f" ({note})" if note else "")
        )
    return lines


def _complexity_lines(table: pd.DataFrame) -> list[str]:
    lines = [
        "Parameters and multiply-accumulates per pixel of the learned codecs' networks (torch's FLOP counter,",
        "MAC = FLOP / 2; rANS and element-wise operations are not counted), on the run's first image at the middle",
        "rate point, coded with its group mask; beside them the measured seconds per image (mean of the rows).",
        "Decode kMAC/px of a partial decode is fitted as fixed + per-area x the fraction of pixels decoded.",
        "",
    ]
    header = ["curve", "quality", "parameters", "encode kMAC/px", "decode kMAC/px", "encode s", "decode s"]
    header += ["objects only: decoded %, kMAC/px", "decode kMAC/px: fixed + per area"]
    rows = []
    for _, row in table.iterrows():
        objects = row.get("objects_fraction", float("nan"))
        rows.append(
            [
                row["codec"],
                str(row["quality"]),
                f"{int(row['parameters']):,}",
                f"{row['encode_kmac_px']:.1f}",
                f"{row['decode_kmac_px']:.1f}",
                _number(row["encode_s"], ".3f"),
                _number(row["decode_s"], ".3f"),
                "n/a" if pd.isna(objects) else f"{100 * objects:.1f} %, {row['objects_decode_kmac_px']:.1f}",
                "n/a"
                if pd.isna(row.get("decode_fixed_kmac_px", float("nan")))
                else f"{row['decode_fixed_kmac_px']:.2f} + {row['decode_kmac_px_per_area']:.2f} x area",
            ]
        )
    return lines + markdown_table(header, rows)


def _group_rate_lines(rates: pd.DataFrame) -> list[str]:
    lines = [
        "Bits per pixel spent inside the object groups and inside the background (each kind's bits over its pixels,",
        "all images), and the bytes per image no group owns (header, side information, mask); figure",
        "`group_rates.png` plots every group's bytes against its area.",
        "",
    ]
    header = ["curve", "quality", "bpp in objects", "bpp in background", "side bytes per image"]
    rows = [
        [
            row["codec"],
            row["quality"],
            _number(row.get("bpp_objects", float("nan")), ".3f"),
            _number(row.get("bpp_background", float("nan")), ".3f"),
            f"{row['side_bytes_per_image']:.0f}",
        ]
        for _, row in rates.iterrows()
    ]
    return lines + markdown_table(header, rows)


def _number(value: float, fmt: str) -> str:
    return "n/a" if pd.isna(value) else format(value, fmt)
