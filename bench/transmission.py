"""Transmission: what a receiver gets of an image, how many bytes that costs, and what it decodes; the one
definition the rd sweep (`decode`) and the task study (`scenarios`) share.

Group scenarios need a `StructuredCodec`: they encode the image once with its group mask and hand the
receiver what `codec.receive(container, groups)` cuts; the bytes counted are those of that sub-container,
`len(codec.receive(...).to_bytes())`. Baselines code the full image, or each object's box as a separate
crop (bytes: the crop containers plus 4 bytes per crop for its position); a structured codec codes them as
one group. Every encode goes through an `Encode` function, so a caller can share one encode of an image
between several scenarios (the rd sweep keeps it on disk).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from ssicbench.coco_categories import COCO_CATEGORIES, category_id
from ssicbench.codecs import Bitstream, Codec, StructuredCodec
from ssicbench.codecs.masks import MAX_GROUP_ID
from ssicbench.errors import BenchError, MaskError
from ssicbench.group_masks import GroupMask, box_mask, roi_group_mask
from ssicbench.registry import Registry

__all__ = [
    "CANVAS_GREY",
    "CROP_POSITION_BYTES",
    "SCENARIOS",
    "Encode",
    "Scenario",
    "Transmission",
    "encode_image",
    "group_bytes",
    "parse_scenario",
    "register_scenario",
    "scenario_names",
]

CROP_POSITION_BYTES = 4  # x and y of a crop as two uint16; its size is in the crop's own container header
CANVAS_GREY = 128  # what a receiver shows where it decoded nothing (bbox-crops)


@dataclass
class Transmission:
    """What a receiver ends up with: the decoded image, the bytes it received, the decoded region."""

    decoded: np.ndarray
    num_bytes: int
    region: np.ndarray | None  # HxW bool; None means the whole image
    groups: list[int] | None = None  # groups sent (structured scenarios)
    encode_s: float = 0.0
    decode_s: float = 0.0
    coded_bytes: int | None = None  # bytes of everything the sender coded (None: `num_bytes`, all was sent)
    group_bytes: dict[int, int] | None = None  # structured containers: bytes of each group's own sections


Encode = Callable[[Codec, np.ndarray, Any, "np.ndarray | None"], tuple[bytes, float]]


def encode_image(codec: Codec, image: np.ndarray, quality: Any, mask: np.ndarray | None) -> tuple[bytes, float]:
    """The serialized container of `image` (coded with group `mask` when not None) and the seconds it took."""
    start = time.perf_counter()
    data = codec.encode(image, quality, **({} if mask is None else {"mask": mask})).to_bytes()
    return data, time.perf_counter() - start


SCENARIOS: Registry[Transmission] = Registry("scenario")


def register_scenario(
    name: str,
    needs_groups: bool,
    description: str,
    argument: Callable[[str], str] | None = None,
    placeholder: str = "name",
):
    """Decorator: register a transmit function `(codec, image, quality, groups, boxes, argument, encode) ->
    Transmission` under `name`. `needs_groups`: it needs a `StructuredCodec` and the image's group mask on its cells
    (checked before it is called). `argument`: for scenarios written `name:<argument>`, the function that checks an
    argument and gives its canonical spelling (None: the scenario takes none), `placeholder` what help texts call
    the argument. `encode` (an `Encode`) codes images."""
    return SCENARIOS.register(
        name, needs_groups=needs_groups, description=description, argument=argument, placeholder=placeholder
    )


@dataclass(frozen=True)
class Scenario:
    """A named way of transmitting an image (a registered kind, with its argument if it takes one)."""

    name: str
    needs_groups: bool
    description: str

    def transmit(
        self,
        codec: Codec,
        image: np.ndarray,
        quality: Any,
        groups: GroupMask | None,
        boxes: Sequence[Sequence[float]],
        encode: Encode = encode_image,
    ) -> Transmission:
        """Code `image`; `groups` is its group mask on the codec's cells (group scenarios), `boxes` its
        objects' [x, y, w, h] boxes."""
        kind, _, argument = self.name.partition(":")
        if self.needs_groups:
            if not isinstance(codec, StructuredCodec):
                raise BenchError(f"scenario {self.name} needs a structured codec; {codec.name!r} is not one")
            if groups is None or groups.cell != codec.mask_cell:
                cell = None if groups is None else groups.cell
                raise MaskError(f"{codec.name} needs a group mask of {codec.mask_cell}-px cells, got {cell}")
        return SCENARIOS.get(kind).factory(codec, image, quality, groups, boxes, argument, encode)


def scenario_names() -> list[str]:
    """Every registered scenario as it is written (`category:<name>` for those that take an argument)."""
    infos = {k: SCENARIOS.get(k).info for k in SCENARIOS.names()}
    return [k + (f":<{info['placeholder']}>" if info["argument"] else "") for k, info in infos.items()]


def parse_scenario(name: str) -> Scenario:
    """A registered scenario by name: `full`, `bbox-crops`, `all-groups`, `objects`, `background`, `roi`,
    `category:<COCO name or id>`, `groups:<ids>`, or one a plug-in registered."""
    kind, _, argument = name.partition(":")
    if kind not in SCENARIOS or bool(argument) != bool(SCENARIOS.get(kind).info["argument"]):
        raise BenchError(f"unknown scenario {name!r}; known: {', '.join(scenario_names())}")
    info = SCENARIOS.get(kind).info
    if argument:
        name = f"{kind}:{info['argument'](argument)}"
    return Scenario(name, info["needs_groups"], info["description"])


@register_scenario("full", False, "the whole image coded by the codec (any codec; a structured one: one group)")
def _full(codec: Codec, image: np.ndarray, quality: Any, groups, boxes, argument: str, encode: Encode) -> Transmission:
    data, encode_s = encode(codec, image, quality, None)
    start = time.perf_counter()
    decoded = codec.decode(Bitstream.from_bytes(data))
    return Transmission(decoded, len(data), None, None, encode_s, time.perf_counter() - start)


@register_scenario("bbox-crops", False, "each object's box coded as a separate crop (any codec)")
def _crops(
    codec: Codec, image: np.ndarray, quality: Any, groups, boxes: Sequence[Sequence[float]], argument, encode: Encode
) -> Transmission:
    height, width = image.shape[:2]
    canvas = np.full_like(image, CANVAS_GREY)
    region = np.zeros((height, width), bool)
    total, encode_s, decode_s = 0, 0.0, 0.0
    for box in boxes:
        pixels = box_mask(box, height, width)
        if not pixels.any():
            continue
        rows, cols = np.flatnonzero(pixels.any(axis=1)), np.flatnonzero(pixels.any(axis=0))
        y0, y1, x0, x1 = rows[0], rows[-1] + 1, cols[0], cols[-1] + 1
        data, seconds = encode(codec, np.ascontiguousarray(image[y0:y1, x0:x1]), quality, None)
        encode_s += seconds
        start = time.perf_counter()
        canvas[y0:y1, x0:x1] = codec.decode(Bitstream.from_bytes(data))
        decode_s += time.perf_counter() - start
        total += len(data) + CROP_POSITION_BYTES
        region |= pixels
    return Transmission(canvas, total, region, None, encode_s, decode_s)


@register_scenario("all-groups", True, "structured codecs: every group decoded")
def _all_groups(codec: StructuredCodec, image, quality, groups: GroupMask, boxes, argument, encode) -> Transmission:
    return _structured(codec, image, quality, groups, None, encode)


@register_scenario("objects", True, "structured codecs: side info + every object group (background group 0 not sent)")
def _objects(codec: StructuredCodec, image, quality, groups: GroupMask, boxes, argument, encode) -> Transmission:
    return _structured(codec, image, quality, groups, lambda g: g.group_ids(), encode)


@register_scenario("background", True, "structured codecs: side info + the background group 0 only")
def _background(codec: StructuredCodec, image, quality, groups: GroupMask, boxes, argument, encode) -> Transmission:
    return _structured(codec, image, quality, groups, lambda g: [0] if (g.mask == 0).any() else [], encode)


def _category_name(name: str) -> str:
    """The COCO name of category `name` (a name or an id)."""
    return COCO_CATEGORIES[category_id(name)]


@register_scenario(
    "category",
    True,
    "structured codecs: side info + the groups holding one category, e.g. category:person",
    argument=_category_name,
)
def _category(codec: StructuredCodec, image, quality, groups: GroupMask, boxes, argument: str, encode) -> Transmission:
    cat = category_id(argument)
    return _structured(codec, image, quality, groups, lambda g: g.groups_of_category(cat), encode)


def _group_list(text: str) -> str:
    """Group ids written `1,3`, checked, in ascending order without repeats."""
    try:
        ids = sorted({int(part) for part in text.split(",")})
    except ValueError:
        raise BenchError(f"groups:{text}: expected group ids separated by commas, e.g. groups:1,3") from None
    if not ids or ids[0] < 0 or ids[-1] > MAX_GROUP_ID:
        raise BenchError(f"groups:{text}: group ids are 0..{MAX_GROUP_ID}")
    return ",".join(map(str, ids))


@register_scenario(
    "groups",
    True,
    "structured codecs: side info + the listed groups, e.g. groups:1,3",
    argument=_group_list,
    placeholder="ids",
)
def _groups(codec: StructuredCodec, image, quality, groups: GroupMask, boxes, argument: str, encode) -> Transmission:
    wanted = [int(g) for g in argument.split(",")]
    present = set(np.unique(groups.mask).tolist())
    missing = [g for g in wanted if g not in present]
    if missing:
        raise MaskError(f"groups:{argument}: the image's mask has no group {', '.join(map(str, missing))}")
    return _structured(codec, image, quality, groups, lambda g: wanted, encode)


@register_scenario(
    "roi", True, "structured codecs with a rectangular mask around all objects (region-of-interest baseline)"
)
def _roi_scenario(codec: StructuredCodec, image, quality, groups: GroupMask, boxes, argument, encode) -> Transmission:
    return _structured(codec, image, quality, _roi(groups, image), lambda g: g.group_ids(), encode)


def _roi(groups: GroupMask, image: np.ndarray) -> GroupMask:
    """Group 1 = the rectangle of blocks enclosing every object group of `groups`."""
    height, width = image.shape[:2]
    cells = np.argwhere(groups.mask > 0)
    if not len(cells):
        return roi_group_mask(None, height, width, groups.cell)
    (r0, c0), (r1, c1) = cells.min(axis=0) * groups.cell, (cells.max(axis=0) + 1) * groups.cell
    return roi_group_mask([c0, r0, c1 - c0, r1 - r0], height, width, groups.cell)


def _structured(
    codec: StructuredCodec,
    image: np.ndarray,
    quality: Any,
    groups: GroupMask,
    pick: Callable[[GroupMask], list[int]] | None,
    encode: Encode,
) -> Transmission:
    """Encode with the group mask; the receiver gets what `receive` cuts for the groups `pick` selects (all if None)."""
    height, width = image.shape[:2]
    full, encode_s = encode(codec, image, quality, groups.mask)
    container = Bitstream.from_bytes(full)
    sent = None if pick is None else pick(groups)
    data = full if sent is None else codec.receive(container, sent).to_bytes()
    start = time.perf_counter()
    if sent == []:  # nothing of interest in this image: the receiver reads the side info and stops there
        decoded = np.full_like(image, CANVAS_GREY)
    else:
        decoded = codec.decode(Bitstream.from_bytes(data))
    decode_s = time.perf_counter() - start
    region = None if sent is None else groups.region(sent, height, width)
    return Transmission(
        decoded,
        len(data),
        region,
        sent if sent is not None else groups.group_ids(),
        encode_s,
        decode_s,
        coded_bytes=len(full),
        group_bytes=group_bytes(codec, container),
    )


def group_bytes(codec: StructuredCodec, container: Bitstream) -> dict[int, int]:
    """Bytes each group adds to what a receiver fetches (its sub-container minus the side information alone)."""
    side = len(codec.receive(container, []).to_bytes())
    return {g: len(codec.receive(container, [g]).to_bytes()) - side for g in codec.groups(container)}
