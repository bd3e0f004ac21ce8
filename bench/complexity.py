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

from ssicbench.codec_spec import CodecSpec
from ssicbench.codecs import Codec, StructuredCodec
from ssicbench.datasets import ImageItem
from ssicbench.errors import BenchError
from ssicbench.imageio import load_image
from ssicbench.regions import pixel_groups

__all__ = ["Complexity", "area_fit", "complexity_table", "count_macs", "measure_complexity"]


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


def complexity_table(specs: Sequence[CodecSpec], images: Sequence[ImageItem], summary: pd.DataFrame) -> pd.DataFrame:
    """One row per codec of an rd run that has networks: its complexity on the first readable image of `images`
    at its middle rate point (with its group mask when it codes with one), beside the mean measured encode and
    decode seconds per image of its rows (`summary`); a codec that cannot be built here is left out (its error
    rows say why), and so is everything when no image is readable."""
    rows = []
    image, pixels = _first_readable(images)
    for spec in specs:
        if image is None:
            break
        if spec.decode != "all" or not spec.qualities:
            continue  # the same network as the entry that decodes everything
        quality = spec.qualities[len(spec.qualities) // 2]
        try:
            codec = spec.build()
            groups = spec.group_mask(codec, image, pixels.shape[:2]) if isinstance(codec, StructuredCodec) else None
            found = measure_complexity(codec, quality, pixels, None if groups is None else groups.mask)
        except BenchError:
            continue
        if found is None:
            continue
        means = summary[summary["codec"] == spec.display]
        row = {
            "codec": spec.display,
            "quality": str(quality),
            "image": image.name,
            "parameters": found.parameters,
            "encode_kmac_px": found.encode_kmac_px,
            "decode_kmac_px": found.decode_kmac_px,
            "encode_s": float(means["encode_s"].mean()) if len(means) else np.nan,
            "decode_s": float(means["decode_s"].mean()) if len(means) else np.nan,
        }
        for name, fraction, kmac in found.partial:
            if name == "objects":
                row.update(objects_fraction=fraction, objects_decode_kmac_px=kmac)
        row["decode_fixed_kmac_px"], row["decode_kmac_px_per_area"] = area_fit(found)
        rows.append(row)
    return pd.DataFrame(rows)


def _first_readable(images: Sequence[ImageItem]) -> tuple[ImageItem | None, np.ndarray | None]:
    for image in images:
        try:
            return image, load_image(image.path, image.data)
        except BenchError:
            continue  # an unreadable image is an error row of the sweep already
    return None, None
