"""A codec as a study names it (`CodecSpec`: registry name, options, quality points, group masks, what the
receiver decodes), built once per process, and the content hashes that key result rows (image, mask and weights
files), so the rd sweep, the task study, configs and summaries share one definition."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from functools import cache
from pathlib import Path
from typing import Any

from ssicbench.codecs import Codec, StructuredCodec, create_codec, is_structured
from ssicbench.codecs.masks import mask_file
from ssicbench.datasets import ImageItem, shipped_kodak_masks
from ssicbench.errors import BenchError, UsageError, WeightsMismatchError
from ssicbench.group_masks import GroupMask
from ssicbench.transmission import parse_scenario
from ssicbench.weights import optional_file_fingerprint

__all__ = ["MASK_SETS", "CodecSpec", "image_digest", "mask_digest"]

MASK_SETS = {"kodak": shipped_kodak_masks}  # group-mask folders shipped with the suite, by name


@dataclass(frozen=True)
class CodecSpec:
    """A codec as a sweep names it: registry name, constructor options, the quality points to run, the group
    masks (`masks`: a folder or a shipped set such as "kodak"; structured codecs code with them, every codec is
    measured on them) and what the receiver gets (`decode`: "all", or a transmission scenario such as "objects",
    "background", "category:person", "groups:1,3", "bbox-crops" or "full", which codes a structured codec's image
    as one group)."""

    name: str
    qualities: tuple[Any, ...] = ()
    options: dict[str, Any] = field(default_factory=dict, hash=False)
    label: str = ""
    masks: str = ""
    decode: str = "all"

    def __post_init__(self) -> None:
        if self.decode == "all":
            return
        try:
            scenario = parse_scenario(self.decode)
        except BenchError as exc:
            raise UsageError(f"codec {self.name}: decode must be 'all' or a scenario ({exc})") from None
        object.__setattr__(self, "decode", scenario.name)  # the canonical spelling: category:1 -> category:person
        if self.decode != "full" and not self.masks:
            raise UsageError(f"codec {self.name}: decode {self.decode!r} needs group masks ('masks')")

    @property
    def scenario(self) -> str:
        """The transmission scenario of `decode`: "all" is every group of a structured codec coding with masks,
        else the full image."""
        if self.decode != "all":
            return self.decode
        return "all-groups" if self.masks and is_structured(self.name) else "full"

    @property
    def display(self) -> str:
        if self.label or self.decode == "all":
            return self.label or self.name
        if self.decode == "full":
            return f"{self.name} (one group)" if is_structured(self.name) else f"{self.name} (full)"
        return f"{self.name} ({self.decode} only)" if self.decode == "objects" else f"{self.name} ({self.decode})"

    @property
    def uses_gpu(self) -> bool:
        return str(self.options.get("device", "")).startswith("cuda")

    def check_qualities(self) -> None:
        """UsageError, before any job runs, for a quality point the codec cannot code (a codec that cannot be
        built here is left to its jobs, whose error rows say why)."""
        try:
            codec = self.build()
        except BenchError:
            return
        for quality in self.qualities:
            codec.check_quality(quality)

    def build(self, fingerprint: str = "") -> Codec:
        """The codec, once per process, configuration and planned `fingerprint` (a run planned with other
        weights under the same paths gets a codec of its own, never one that loaded the old weights)."""
        return _cached_codec(self.name, self.options_json, fingerprint)

    @property
    def options_json(self) -> str:
        return json.dumps(self.options, sort_keys=True, default=str)

    def with_qualities(self, qualities: Sequence[Any]) -> CodecSpec:
        return replace(self, qualities=tuple(qualities))

    def fingerprint(self, quality: Any, codec: Codec | None = None) -> str:
        """Hash of the options and the weights used at `quality`; "unavailable" when they cannot be found."""
        options = hashlib.sha256(self.options_json.encode()).hexdigest()[:8]
        try:
            weights = (codec or self.build()).fingerprint(quality)
        except BenchError:
            weights = "unavailable"
        return f"{options}:{weights}" if weights else options

    def group_mask(self, codec: Codec, image: ImageItem, image_hw: tuple[int, int]) -> GroupMask | None:
        """The group mask of `image` from `masks` (a PNG or .npy named like the image), None without masks: on a
        structured codec's cells (it codes with it), else on the cells the file's grid implies (the mask then says
        where the region metrics are measured and which boxes `bbox-crops` codes)."""
        if not self.masks:
            return None
        path = self.mask_path(image)
        if path is None:
            stem = Path(image.name).stem
            raise UsageError(f"no group mask for {image.name} in {self.mask_folder} ({stem}.npy or {stem}.png)")
        return GroupMask.from_file(path, *image_hw, codec.mask_cell if isinstance(codec, StructuredCodec) else None)

    @property
    def mask_folder(self) -> Path:
        return MASK_SETS[self.masks]() if self.masks in MASK_SETS else Path(self.masks)

    def mask_path(self, image: ImageItem) -> Path | None:
        """The group-mask file of `image` in `masks` (None without masks, or when the folder has none)."""
        return mask_file(self.mask_folder, image.name) if self.masks else None

    def build_for(self, quality: Any, fingerprint: str) -> Codec:
        """The codec of a job planned with `fingerprint` (see `fingerprint`), on whatever machine runs it:
        WeightsMismatchError when the weights found here differ, so no row is computed with other weights."""
        codec = self.build(fingerprint)
        found = self.fingerprint(quality, codec)
        if fingerprint and found != fingerprint:
            raise WeightsMismatchError(
                f"{self.display}: weights here differ from those the run was planned with"
                f" (fingerprint {found} != {fingerprint})"
            )
        return codec

    @classmethod
    def from_config(cls, entry: str | dict[str, Any]) -> CodecSpec:
        """`"jpeg"` or `{"name", "qualities", "options", "label", "masks", "decode"}`; no qualities: the codec's."""
        if isinstance(entry, str):
            entry = {"name": entry}
        known = ("name", "qualities", "options", "label", "masks", "decode")
        if (
            not isinstance(entry, dict)
            or not isinstance(entry.get("name"), str)
            or not all(isinstance(entry.get(key, ""), str) for key in ("label", "masks", "decode"))
            or not isinstance(entry.get("qualities", []), list)
            or not isinstance(entry.get("options", {}), dict)
            or set(entry) - set(known)
        ):
            raise UsageError(
                f"codec entry {entry!r}: expected a name or {{'name': str, 'qualities': [...], 'options': {{...}},"
                " 'label': str, 'masks': str, 'decode': 'all' or a scenario} (no other keys)"
            )
        spec = cls(
            entry["name"],
            tuple(entry.get("qualities", ())),
            dict(entry.get("options", {})),
            entry.get("label", ""),
            entry.get("masks", ""),
            entry.get("decode", "all"),
        )
        return spec if spec.qualities else spec.with_qualities(spec.build().qualities)


@cache
def _cached_codec(name: str, options_json: str, fingerprint: str) -> Codec:
    """One codec instance per process, configuration and fingerprint (models load once, not per image)."""
    return create_codec(name, **json.loads(options_json))


def image_digest(path: Path) -> str:
    """Content hash of an image file ("missing" when it cannot be read: its job becomes an error row)."""
    return optional_file_fingerprint(path)


def mask_digest(path: Path | None) -> str:
    """Content hash of a group-mask file; "none" when the image has none (its job says so in an error row)."""
    return optional_file_fingerprint(path) if path is not None else "none"
