"""Structure cost: what coding an image as irregular groups costs over coding it as one group, as BD on
whole-image quality. The bits of the structured curve include everything its receiver fetches: the group mask
travels in the side information of the container."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import pandas as pd

from ssicbench.codec_spec import CodecSpec
from ssicbench.codecs import is_structured
from ssicbench.report import PerImage, bd_table
from ssicbench.results import Curve

__all__ = ["UNSTRUCTURED_TWINS", "structure_cost", "structure_pairs"]

UNSTRUCTURED_TWINS = {"ssic-charm": "ssic-wostructure"}  # structured codec -> the same network without groups


def structure_pairs(specs: Sequence[CodecSpec]) -> list[tuple[CodecSpec, CodecSpec]]:
    """(one group, with the group masks) pairs among `specs`: a structured codec given masks with `decode: "full"`
    (its image coded as one group) and the same codec and options decoding every group; or a structured codec with
    masks beside its unstructured twin (`UNSTRUCTURED_TWINS`). Their rate points may differ: BD compares the curves
    where they overlap, and its notes say when few points do."""
    structured = [s for s in specs if s.masks and s.decode == "all" and is_structured(s.name)]
    pairs = []
    for spec in specs:
        for other in structured:
            same = other.name == spec.name and other.options_json == spec.options_json and spec.decode == "full"
            twin = UNSTRUCTURED_TWINS.get(other.name) == spec.name and spec.decode == "all"
            if same or twin:
                pairs.append((spec, other))
    return pairs


def structure_cost(
    specs: Sequence[CodecSpec], curves: Sequence[Curve], images: Mapping[str, PerImage] | None = None
) -> pd.DataFrame:
    """Per pair of `structure_pairs`: BD-rate and BD-quality (every whole-image BD metric measured) of the structured
    curve against the one-group curve, with bootstrap intervals over images (paired) when `images` has both."""
    by_name = {c.name: c for c in curves}
    tables = []
    for one_group, grouped in structure_pairs(specs):
        if one_group.display not in by_name or grouped.display not in by_name:
            continue
        pair = [by_name[one_group.display], by_name[grouped.display]]
        table = bd_table(pair, one_group.display, images=images)
        tables.append(table[table["codec"] == grouped.display].assign(one_group=one_group.display))
    if not tables:
        return pd.DataFrame()
    table = pd.concat(tables, ignore_index=True)
    return table[["one_group", *[c for c in table.columns if c != "one_group"]]]
