"""The SSIC codecs, registered as the variant table (`config.SSIC_VARIANTS`) names them: ssic-charm and
ssic-hyper are `StructuredCodec`s, ssic-wostructure a plain `Codec` (the whole image as one group).

Each takes trained weights: `checkpoint=` one reference-layout checkpoint (quality `quality`, default 1)
or a mapping {quality: checkpoint}; `config=` architecture overrides (dict or JSON path, e.g. the small
conformance config); `device=`; `max_memory_mb=` a working-memory budget for the transforms (beyond the
model), which sizes their window batches (default: batches of `layers.BATCH_BYTES`).
`encode(image, quality, mask=None)` (mask: ids array, a mask file, or None for one group) and
`decode(bitstream, groups=None, dense=False)`; see `SSICCodec`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from ssicbench.codecs.base import Codec, StructuredCodec, check_image
from ssicbench.codecs.bitstream import Bitstream
from ssicbench.codecs.devices import compute_device
from ssicbench.codecs.masks import cell_grid, check_group_mask, load_group_mask
from ssicbench.codecs.ssic.checkpoint import fingerprint, load_model
from ssicbench.codecs.ssic.coding import CodedImage, Coder
from ssicbench.codecs.ssic.config import LATENT_STRIDE, PAD_MULTIPLE, variant_info
from ssicbench.codecs.ssic.layers import BATCH_BYTES, FLOATS_PER_TOKEN
from ssicbench.codecs.ssic.model import SSICModel
from ssicbench.codecs.ssic.sections import (
    SIDE,
    decode_mask,
    encode_mask,
    group_section,
    keep_groups,
    pack_side,
    pack_strings,
    pad_group_mask,
    present_groups,
    section_group,
    unpack_side,
    unpack_strings,
)
from ssicbench.errors import BitstreamError, MissingWeightsError, UsageError
from ssicbench.validate import check_value
from ssicbench.weights import file_fingerprint

__all__ = [
    "CHECKPOINT_NAME",
    "IMAGE_COPIES",
    "MAPS_HELD",
    "MAX_PIXELS",
    "MAX_SIDE",
    "SSICCodec",
    "StructuredSSICCodec",
    "checkpoints_in",
    "make_ssic_codec",
]

MAX_SIDE = 1 << 15
MAX_PIXELS = 1 << 26
MAPS_HELD = 3  # largest feature maps a transform holds at once besides its window batch (rows, conv output, ...)
IMAGE_COPIES = 3  # float32 copies of the image (input, padded, output)


@dataclass
class _Header:
    quality: Any
    model: str
    groups: list[int]
    mask_block: int | None


class SSICCodec(Codec):
    """SSIC at one or more rate points; `models` maps quality -> checkpoint path (loaded on first use) or model.

    This class codes any variant; `for_variant` builds the registered kind (`StructuredSSICCodec` for the
    structured variants).
    """

    def __init__(
        self,
        variant: str,
        models: Mapping[Any, str | Path | SSICModel],
        config: str | Path | Mapping[str, Any] | None = None,
        device: str | torch.device = "cpu",
        max_memory_mb: float | None = None,
    ):
        self.structured = variant_info(variant).structured
        self.name = f"ssic-{variant}"
        if max_memory_mb is not None:  # megabytes of working memory for the transforms
            check_value(max_memory_mb, float, f"{self.name}: option max_memory_mb", low=1)
        self.max_memory_mb = max_memory_mb
        if not models:
            raise MissingWeightsError(f"ssic-{variant} needs at least one checkpoint")
        self.variant = variant
        self.config = config
        self.device = compute_device(device, self.name)
        self.qualities = tuple(sorted(models))
        self._sources = dict(models)
        self._coders: dict[Any, tuple[Coder, str]] = {}

    def check_quality(self, quality: Any) -> None:
        """Refuse a rate point this codec has no checkpoint for (UsageError naming the ones it has)."""
        if isinstance(quality, bool) or not isinstance(quality, (int, float, str)) or quality not in self._sources:
            known = ", ".join(str(q) for q in self.qualities)
            raise UsageError(f"{self.name} has no checkpoint for quality {quality!r}; it has quality {known}")

    def fingerprint(self, quality: Any) -> str:
        """Content hash of the checkpoint file of `quality` (of the weights, for an in-memory model)."""
        self.check_quality(quality)
        source = self._sources[quality]
        if isinstance(source, SSICModel):
            return fingerprint(source)
        return file_fingerprint(source)

    @classmethod
    def for_variant(
        cls,
        variant: str,
        models: Mapping[Any, str | Path | SSICModel],
        config: str | Path | Mapping[str, Any] | None = None,
        device: str | torch.device = "cpu",
        max_memory_mb: float | None = None,
    ) -> SSICCodec:
        """The codec of `variant` as registered: a `StructuredSSICCodec` when the variant codes groups."""
        kind = StructuredSSICCodec if variant_info(variant).structured else SSICCodec
        return kind(variant, models, config, device, max_memory_mb)

    def coder(self, quality: Any) -> tuple[Coder, str]:
        """The coder and weights fingerprint of rate point `quality` (loading its checkpoint once)."""
        if quality not in self._coders:
            if quality not in self._sources:
                self.check_quality(quality)
            source = self._sources[quality]
            if isinstance(source, SSICModel):
                model = source.to(self.device).eval()
                if model.config.variant != self.variant:
                    raise ValueError(f"{self.name} was given a {model.config.variant} model")
            else:
                model = load_model(source, self.variant, self.config, self.device)
            self._coders[quality] = (Coder(model), fingerprint(model))
        return self._coders[quality]

    def networks(self, quality: Any) -> list[torch.nn.Module]:
        """The model of rate point `quality` (its entropy-parameter copy shares the same weights)."""
        self.check_quality(quality)
        return [self.coder(quality)[0].model]

    def encode(
        self, image: np.ndarray, quality: Any, mask: np.ndarray | str | Path | None = None, **opts: Any
    ) -> Bitstream:
        """Compress `image`; `mask` gives the groups (one id per 16x16 block; default: one group)."""
        _no_options(opts)
        check_image(image)
        height, width = image.shape[:2]
        if max(height, width) > MAX_SIDE or height * width > MAX_PIXELS:
            raise UsageError(f"{self.name}: a {height}x{width} image exceeds the supported size")
        coder, model_id = self.coder(quality)
        if not self.structured and mask is not None:
            raise UsageError(f"{self.name} codes the image as one group; it takes no --mask")
        shape = cell_grid(height, width, LATENT_STRIDE)
        if mask is None:
            ids = np.zeros(shape, np.int64)
        elif isinstance(mask, (str, Path)):
            ids = load_group_mask(mask, shape)
        else:
            ids = check_group_mask(mask, shape)
        groups = pad_group_mask(ids, _latent_hw(height, width))
        x = torch.from_numpy(np.array(image)).permute(2, 0, 1)[None].float().div(255)
        ph, pw = (-height) % PAD_MULTIPLE, (-width) % PAD_MULTIPLE
        x = F.pad(x, (0, pw, 0, ph)).to(coder.model.device)
        budget = self._batch_bytes(coder.model, *x.shape[2:])
        coded = coder.compress(x, torch.from_numpy(groups).to(coder.model.device), budget)

        params: dict[str, Any] = {"quality": quality, "model": model_id, "groups": sorted(coded.groups)}
        mask_payload = b""
        if self.structured:
            params["mask_block"], mask_payload = encode_mask(groups)
        bitstream = self._new_bitstream(image, **params)
        bitstream.sections[SIDE] = pack_side((height, width), coded.hyper, mask_payload)
        for group, strings in coded.groups.items():
            bitstream.sections[group_section(group)] = pack_strings(strings)
        return bitstream

    def decode(
        self, bitstream: Bitstream, groups: Iterable[int] | None = None, dense: bool = False, **opts: Any
    ) -> np.ndarray:
        """Reconstruct the image from the groups present (or `groups`); latents of other groups are zero.

        By default only the decoded groups' pixels are synthesized (others are black) at a cost that
        follows their area; `dense=True` synthesizes every pixel as the reference does.
        """
        _no_options(opts)
        self._check(bitstream)
        header = self._read_header(bitstream)
        coder, model_id = self.coder(header.quality)
        if header.model != model_id:
            raise BitstreamError(
                f"container was written with other {self.name} weights ({header.model}, not {model_id})"
            )
        latent_hw = _latent_hw(bitstream.height, bitstream.width)
        hyper, mask_payload = unpack_side(bitstream.section(SIDE), (bitstream.height, bitstream.width))
        if header.mask_block is None:
            if mask_payload:
                raise BitstreamError("side section has trailing bytes")
            group_map = np.zeros(latent_hw, dtype=np.int64)
        else:
            group_map = decode_mask(mask_payload, header.mask_block, latent_hw)
        if sorted(np.unique(group_map).tolist()) != header.groups:
            raise BitstreamError("the group mask and the container's group list disagree")

        present = [g for g in header.groups if group_section(g) in bitstream.sections]
        wanted = present if groups is None else sorted(set(int(g) for g in groups))
        if not wanted:
            raise BitstreamError("container holds no group sections to decode")
        strings = {}
        for group in wanted:
            if group not in present:
                raise BitstreamError(f"container has no section for group {group} (it has groups {present})")
            payload = bitstream.section(group_section(group))
            strings[group] = unpack_strings(payload, coder.model.config.num_slices, f"section {group_section(group)}")
        device = coder.model.device
        budget = self._batch_bytes(coder.model, *(side * LATENT_STRIDE for side in latent_hw))
        x_hat = coder.decompress(
            CodedImage(hyper, strings), torch.from_numpy(group_map).to(device), wanted, dense, budget
        )
        pixels = x_hat[0, :, : bitstream.height, : bitstream.width].clamp(0, 1).mul(255).round()
        return pixels.to(torch.uint8).permute(1, 2, 0).cpu().numpy()

    def _batch_bytes(self, model: SSICModel, height: int, width: int) -> int:
        """Window-batch memory of the transforms of a padded `height` x `width` image under `max_memory_mb`:
        what the budget leaves after the feature maps held at once, at most the default; UsageError when it
        leaves too little."""
        if self.max_memory_mb is None:
            return BATCH_BYTES
        held = MAPS_HELD * model.map_bytes(height, width) + IMAGE_COPIES * 3 * 4 * height * width
        smallest = model.config.window_size_g**2 * max(model.config.embed_dim_g) * FLOATS_PER_TOKEN * 4
        budget = int(self.max_memory_mb * 2**20) - held
        if budget < smallest:
            need = -(-(held + smallest) // 2**20)
            raise UsageError(f"{self.name}: a {height}x{width} image needs max_memory_mb >= {need}")
        return min(budget, BATCH_BYTES)  # larger batches only cost page faults

    def _read_header(self, bitstream: Bitstream) -> _Header:
        """The container's SSIC params, validated: every inconsistency is a BitstreamError."""
        p = bitstream.params
        try:
            quality, model, groups, mask_block = p["quality"], p["model"], p["groups"], p.get("mask_block")
        except (KeyError, TypeError):
            raise BitstreamError(f"{self.name}: container params are incomplete") from None
        if set(p) - {"quality", "model", "groups", "mask_block"}:
            raise BitstreamError(f"{self.name}: unknown container params {sorted(set(p))}")
        if not isinstance(quality, (int, float, str)) or isinstance(quality, bool) or quality not in self._sources:
            raise BitstreamError(f"container quality {quality!r} is not one of this codec's {list(self.qualities)}")
        if not isinstance(model, str):
            raise BitstreamError("container model id is malformed")
        if (
            not isinstance(groups, list)
            or not groups
            or not all(type(g) is int and 0 <= g <= 255 for g in groups)
            or groups != sorted(set(groups))
        ):
            raise BitstreamError("container group list is malformed")
        if (mask_block is None) == self.structured or (mask_block is not None and type(mask_block) is not int):
            raise BitstreamError("container mask block size is missing or malformed")
        height, width = bitstream.height, bitstream.width
        if max(height, width) > MAX_SIDE or height * width > MAX_PIXELS:
            raise BitstreamError(f"container image size {height}x{width} is beyond the supported size")
        for name in bitstream.sections:
            group = section_group(name)
            if name != SIDE and (group is None or group not in groups):
                raise BitstreamError(f"unexpected section {name!r} in an {self.name} container")
        return _Header(quality, model, groups, mask_block)


class StructuredSSICCodec(SSICCodec, StructuredCodec):
    """SSIC with group structure (ssic-charm, ssic-hyper): one `group/<id>` section per group."""

    mask_cell = LATENT_STRIDE

    def groups(self, bitstream: Bitstream) -> list[int]:
        self._check(bitstream)
        return present_groups(bitstream)

    def receive(self, bitstream: Bitstream, groups: Iterable[int]) -> Bitstream:
        self._check(bitstream)
        return keep_groups(bitstream, groups)


def _latent_hw(height: int, width: int) -> tuple[int, int]:
    """The latent grid of the padded image: the group map and y have this size."""
    return tuple(-(-side // PAD_MULTIPLE) * PAD_MULTIPLE // LATENT_STRIDE for side in (height, width))


def _no_options(opts: Mapping[str, Any]) -> None:
    if opts:
        raise TypeError(f"unknown SSIC option(s): {', '.join(sorted(opts))}")


CHECKPOINT_NAME = re.compile(r"(?:^|.*[-_.])q(\d+)\.pth(?:\.tar)?$")  # ssic-charm-q3.pth, q3.pth.tar, ...


def checkpoints_in(folder: str | Path) -> dict[int, Path]:
    """{quality: file} of the checkpoints in `folder`, one per rate point, named `...q<N>.pth` (or `.pth.tar`)
    with N the quality, lowest rate first; MissingWeightsError naming what it found otherwise."""
    folder = Path(folder)
    if not folder.is_dir():
        raise MissingWeightsError(f"checkpoint folder {folder} does not exist (--checkpoint-dir)")
    found: dict[int, Path] = {}
    for path in sorted(folder.iterdir()):
        match = CHECKPOINT_NAME.match(path.name)
        if match is None or not path.is_file():
            continue
        quality = int(match.group(1))
        if quality in found:
            raise UsageError(f"{folder} holds two checkpoints of quality {quality}: {found[quality].name}, {path.name}")
        found[quality] = path
    if not found:
        names = ", ".join(sorted(p.name for p in folder.iterdir())[:5]) or "nothing"
        raise MissingWeightsError(
            f"{folder} holds no checkpoint named <anything>q<N>.pth (e.g. q1.pth ... q6.pth, N = quality); it holds"
            f" {names}"
        )
    return dict(sorted(found.items()))


def make_ssic_codec(
    variant: str,
    checkpoint: str | Path | Mapping[Any, str | Path] | None = None,
    config: str | Path | Mapping[str, Any] | None = None,
    device: str | torch.device = "cpu",
    quality: Any = 1,
    max_memory_mb: float | None = None,
    checkpoint_dir: str | Path | None = None,
) -> SSICCodec:
    """ssic-<variant> from trained checkpoint(s): one file (rate point `quality`), {quality: file}, or a folder
    of `...q<N>.pth` files (`checkpoint_dir`, one per quality N)."""
    if checkpoint is not None and checkpoint_dir is not None:
        raise UsageError(f"ssic-{variant}: give --checkpoint or --checkpoint-dir, not both")
    if checkpoint_dir is not None:
        checkpoint = checkpoints_in(checkpoint_dir)
    if checkpoint is None:
        raise MissingWeightsError(
            f"ssic-{variant} needs trained weights: pass --checkpoint PATH or --checkpoint-dir DIR (the official"
            " checkpoints are linked from the SSIC repository README)"
        )
    mapping = dict(checkpoint) if isinstance(checkpoint, Mapping) else {quality: checkpoint}
    for path in mapping.values():
        if not Path(path).is_file():
            raise MissingWeightsError(f"SSIC checkpoint {path} does not exist (--checkpoint)")
    return SSICCodec.for_variant(variant, mapping, config, device, max_memory_mb)
