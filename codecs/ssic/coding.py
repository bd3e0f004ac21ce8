"""Entropy coding of a whole image: the hyper latent as one string, each group's latents as per-slice strings.

Within a group, slice strings hold the symbols channel-major then in raster order of the group's
latent positions (the reference's `masked_select` order). The entropy parameters of a group are computed
from that group's positions only, with identical tensor shapes in encoder and decoder, so the decoder
reproduces the encoder's scale indexes bit for bit and never needs other groups. Everything the coding
depends on is computed on the CPU (see `entropy_parameter_model`), so containers decode on any device.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterable
from dataclasses import dataclass

import torch
from torch import Tensor

from ssicbench.codecs.ssic.config import LATENT_STRIDE, PAD_MULTIPLE
from ssicbench.codecs.ssic.entropy import RansTables, scale_indexes
from ssicbench.codecs.ssic.layers import BATCH_BYTES
from ssicbench.codecs.ssic.model import SSICModel, rows_of

__all__ = ["ENTROPY_MODULES", "HYPER_STRIDE", "CodedImage", "Coder", "entropy_parameter_model", "group_positions"]

HYPER_STRIDE = PAD_MULTIPLE // LATENT_STRIDE  # z is at 1/4 of the latent resolution
ENTROPY_MODULES = ("h_s_m", "char_m_means", "char_m_scales", "y_em", "z_em")  # the entropy-parameter path


@dataclass
class CodedImage:
    """The strings of one image: `hyper` for z, and per group id its slice strings."""

    hyper: bytes
    groups: dict[int, list[bytes]]


class Coder:
    """A model plus its rANS tables (converted to lists once) and its entropy-parameter path on the CPU."""

    def __init__(self, model: SSICModel):
        self.model = model
        self.entropy = entropy_parameter_model(model)
        self.y_tables = RansTables.of(self.entropy.y_em)
        self.z_tables = RansTables.of(self.entropy.z_em)
        self.scale_table = self.entropy.y_em.scale_table

    @torch.inference_mode()
    def compress(self, x: Tensor, groups: Tensor, batch_bytes: int = BATCH_BYTES) -> CodedImage:
        """Image (1, 3, H, W) padded to 64 and its latent group map -> strings of every group present.
        `batch_bytes`: working memory of the analysis' window batches."""
        y = self.model.analysis(x, groups, batch_bytes)
        z_hat = torch.round(self.model.hyper_analysis(y)).cpu().float()  # coded: the decoder gets it exactly
        y, groups = y.cpu().float(), groups.cpu()
        hyper = self.entropy.hyper_synthesis(z_hat)
        strings: dict[int, list[bytes]] = {}
        for group in torch.unique(groups).tolist():
            positions = group_positions(groups, group)
            y_rows = rows_of(y, positions)
            out: list[bytes] = []

            def encode(index: int, means: Tensor, scales: Tensor) -> Tensor:
                symbols = torch.round(y_rows[:, self.entropy.slice_channels(index)] - means)
                out.append(self.y_tables.encode(symbols.T, scale_indexes(scales, self.scale_table).T))
                return symbols

            self._slices(rows_of(hyper, positions), encode)
            strings[group] = out
        return CodedImage(self.z_tables.encode(z_hat, self._z_indexes(z_hat.shape)), strings)

    @torch.inference_mode()
    def decompress(
        self,
        coded: CodedImage,
        groups: Tensor,
        requested: Iterable[int] | None = None,
        dense: bool = False,
        batch_bytes: int = BATCH_BYTES,
    ) -> Tensor:
        """Decode the groups in `coded` (or `requested` of them) -> image (1, 3, H, W) padded to 64.

        Latents of groups not decoded are zero. Unless `dense`, only the decoded groups' pixels are
        synthesized (the rest is 0), at a cost that follows their area.
        """
        model = self.model
        wanted = sorted(coded.groups if requested is None else requested)
        height, width = groups.shape
        z_shape = (1, model.config.hyper_channels, height // HYPER_STRIDE, width // HYPER_STRIDE)
        z_hat = self.z_tables.decode(coded.hyper, self._z_indexes(z_shape)).float()
        hyper = self.entropy.hyper_synthesis(z_hat)
        y_hat = torch.zeros(1, model.config.latent_channels, height, width)
        cpu_groups = groups.cpu()
        for group in wanted:
            positions = group_positions(cpu_groups, group)
            strings = iter(coded.groups[group])

            def decode(index: int, means: Tensor, scales: Tensor) -> Tensor:
                indexes = scale_indexes(scales, self.scale_table).T
                return self.y_tables.decode(next(strings), indexes).T.to(means)

            y_hat[0].view(y_hat.shape[1], -1)[:, positions] = self._slices(rows_of(hyper, positions), decode).T
        requested_ids = None if dense else torch.tensor(wanted, device=groups.device)
        return model.synthesis(y_hat.to(model.device), groups, requested_ids, batch_bytes)

    def _slices(self, hyper_rows: Tensor, code: Callable[[int, Tensor, Tensor], Tensor]) -> Tensor:
        """The channel-autoregressive loop over slices; `code` encodes or decodes one slice's symbols."""
        decoded: list[Tensor] = []
        for index in range(self.entropy.config.num_slices):
            means, scales = self.entropy.slice_parameters(index, hyper_rows, decoded)
            decoded.append(code(index, means, scales) + means)
        return torch.cat(decoded, 1)

    @staticmethod
    def _z_indexes(shape: tuple[int, ...] | torch.Size) -> Tensor:
        _, c, h, w = shape
        return torch.arange(c, dtype=torch.int32).view(1, c, 1, 1).expand(1, c, h, w)


def entropy_parameter_model(model: SSICModel) -> SSICModel:
    """What computes the entropy parameters: `model` itself on the CPU, else a CPU float32 copy of its
    entropy-parameter path (`ENTROPY_MODULES`: hyper synthesis, channel-AR nets, entropy models).

    Why the CPU, whatever device runs the transforms: the decoder must reproduce the encoder's scale
    indexes and the means it rounds against bit for bit, and CUDA and CPU kernels differ in the last
    bits, so parameters computed on the device would make containers decode only on the device kind
    that encoded them. On the CPU, with identical tensor shapes in encoder and decoder, the bitstream
    is device-independent. The transforms (analysis, synthesis) stay on the model's device: their
    results are coded (y) or decoded into (x_hat), never recomputed on the other side.
    """
    if model.device.type == "cpu":
        return model
    path = copy.copy(model)  # shares everything; then keep only the parameter path
    path._modules = {name: module for name, module in model._modules.items() if name in ENTROPY_MODULES}
    return copy.deepcopy(path).to("cpu", torch.float32)


def group_positions(groups: Tensor, group: int) -> Tensor:
    """Flat raster positions of `group` in the latent group map."""
    return (groups.flatten() == group).nonzero().squeeze(1)
