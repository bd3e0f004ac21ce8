"""Codec complexity as papers report it: parameter count and kMAC per pixel of encode and decode, counted by
torch's own FLOP counter (`torch.utils.flop_counter`: convolutions, matrix products and attention; element-wise
operations, rANS and the classical codecs' C code are not MACs of a network), and, for a structured codec, the
decode MACs of each partial decode against the area it decodes."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from ssicbench.codec_spec import CodecSpec, image_digest, mask_digest
from ssicbench.codecs import Codec, StructuredCodec
from ssicbench.datasets import ImageItem
from ssicbench.errors import BenchError
from ssicbench.imageio import load_image
from ssicbench.regions import pixel_groups

# the columns a codec's counts fill (the objects-only ones only for a structured codec given masks)
COUNTS = (
    "parameters",
    "encode_kmac_px",
    "decode_kmac_px",
    "objects_fraction",
    "objects_decode_kmac_px",
    "decode_fixed_kmac_px",
    "decode_kmac_px_per_area",
)

__all__ = ["COUNTS", "Complexity", "area_fit", "complexity_table", "count_macs", "measure_complexity"]


@dataclass(frozen=True)
class Complexity:
    """What coding one image at one rate point costs in network arithmetic; `partial`: per partial decode of a
    structured codec, (name, fraction of the pixels decoded, decode kMAC per pixel of the whole image)."""

    parameters: int
    encode_kmac_px: float
    decode_kmac_px: float
    partial: tuple[tuple[str, float, float], ...] = ()


def area_fit(found: Complexity) -> tuple[float, float]:
    """(fixed, per decoded area) kMAC per pixel: the least-squares line decode kMAC/px = fixed + slope x fraction
    through the partial decodes and the full one (NaN without partial decodes)."""
    if not found.partial:
        return np.nan, np.nan
    fractions = [1.0, *(f for _, f, _ in found.partial)]
    kmacs = [found.decode_kmac_px, *(k for _, _, k in found.partial)]
    slope, fixed = np.polyfit(fractions, kmacs, 1)
    return float(fixed), float(slope)


def count_macs(run: Callable[[], Any]) -> tuple[Any, int]:
    """(what `run()` returns, the multiply-accumulates of the torch operations it ran: FLOPs / 2)."""
    from torch.utils.flop_counter import FlopCounterMode

    counter = FlopCounterMode(display=False)
    with counter:
        out = run()
    return out, counter.get_total_flops() // 2


def measure_complexity(
    codec: Codec, quality: Any, image: np.ndarray, mask: np.ndarray | None = None
) -> Complexity | None:
    """The complexity of coding `image` at `quality` (with group `mask` for a structured codec, which then also
    decodes the objects alone, the background alone and the largest object group alone); None for a codec
    without networks."""
    networks = codec.networks(quality)
    if not networks:
        return None
    parameters = sum(p.numel() for p in {id(p): p for n in networks for p in n.parameters()}.values())
    height, width = image.shape[:2]
    pixels = height * width
    structured = isinstance(codec, StructuredCodec)
    bitstream, encode_macs = count_macs(
        lambda: codec.encode(image, quality, mask) if structured and mask is not None else codec.encode(image, quality)
    )
    _, decode_macs = count_macs(lambda: codec.decode(bitstream))
    partial = []
    if structured and mask is not None:
        ids = pixel_groups(mask, codec.mask_cell, height, width)
        objects = [g for g in codec.groups(bitstream) if g != 0]
        subsets = {"objects": objects, "background": [0]} if objects and 0 in ids else {}
        if len(objects) > 1:
            largest = max(objects, key=lambda g: int((ids == g).sum()))
            subsets[f"group {largest}"] = [largest]
        for name, chosen in subsets.items():
            _, macs = count_macs(lambda chosen=chosen: codec.decode(codec.receive(bitstream, chosen)))
            partial.append((name, float(np.isin(ids, chosen).mean()), macs / pixels / 1000))
    return Complexity(parameters, encode_macs / pixels / 1000, decode_macs / pixels / 1000, tuple(partial))


def complexity_table(
    specs: Sequence[CodecSpec],
    images: Sequence[ImageItem],
    summary: pd.DataFrame,
    previous: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """One row per codec of an rd run that has networks: its complexity on the first readable image of `images`
    at its middle rate point (with its group mask when it codes with one), beside the mean measured encode and
    decode seconds per image of its rows (`summary`). Counts of the same codec, weights, quality and image in
    `previous` (the run's earlier table) are reused, not counted again; a codec that cannot be built here is left
    out (its error rows say why), and so is everything when no image is readable."""
    rows = []
    image, pixels = _first_readable(images)
    done = {} if previous is None or "key" not in previous else {r["key"]: r for _, r in previous.iterrows()}
    for spec in specs:
        if image is None:
            break
        if spec.decode != "all" or not spec.qualities:
            continue  # the same network as the entry that decodes everything
        quality = spec.qualities[len(spec.qualities) // 2]
        weights, mask = spec.fingerprint(quality), mask_digest(spec.mask_path(image))
        key = f"{spec.display}|{quality}|{image_digest(image.path)}|{weights}|{mask}"
        counts = (
            {c: done[key][c] for c in COUNTS if c in done[key]}
            if key in done
            else _counts(spec, quality, image, pixels)
        )
        if counts is None:
            continue
        means = summary[summary["codec"] == spec.display]
        rows.append(
            {
                "codec": spec.display,
                "quality": str(quality),
                "image": image.name,
                **counts,
                "encode_s": float(means["encode_s"].mean()) if len(means) else np.nan,
                "decode_s": float(means["decode_s"].mean()) if len(means) else np.nan,
                "key": key,
            }
        )
    return pd.DataFrame(rows)


def _counts(spec: CodecSpec, quality: Any, image: ImageItem, pixels: np.ndarray) -> dict[str, Any] | None:
    """The complexity columns of `spec` at `quality` on `image`; None without networks or when it cannot be
    built here."""
    try:
        codec = spec.build()
        groups = spec.group_mask(codec, image, pixels.shape[:2]) if isinstance(codec, StructuredCodec) else None
        found = measure_complexity(codec, quality, pixels, None if groups is None else groups.mask)
    except BenchError:
        return None
    if found is None:
        return None
    row = {
        "parameters": found.parameters,
        "encode_kmac_px": found.encode_kmac_px,
        "decode_kmac_px": found.decode_kmac_px,
    }
    for name, fraction, kmac in found.partial:
        if name == "objects":
            row.update(objects_fraction=fraction, objects_decode_kmac_px=kmac)
    row["decode_fixed_kmac_px"], row["decode_kmac_px_per_area"] = area_fit(found)
    return row


def _first_readable(images: Sequence[ImageItem]) -> tuple[ImageItem | None, np.ndarray | None]:
    for image in images:
        try:
            return image, load_image(image.path, image.data)
        except BenchError:
            continue  # an unreadable image is an error row of the sweep already
    return None, None
