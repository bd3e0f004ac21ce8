"""Entropy models and rANS coding of SSIC latents on CompressAI (`GaussianConditional`, `EntropyBottleneck`, `ans`).

The reference semantics kept here: Gaussian scales clamped to [0.11, 256] and coded with the scale-table
entry *nearest* to them (CompressAI's `build_indexes` would pick the next larger one, which does not
decode the reference's strings); hyper latents coded as `round(z)` with integer-aligned tables (no
median offset); likelihoods lower-bounded by 1e-9. CompressAI's rANS is the same Rans64 coder the
reference ships, so with the checkpoint's stored tables the strings are byte-identical.
"""

from __future__ import annotations

import array
import math
from dataclasses import dataclass

import torch
from compressai.ans import RansDecoder, RansEncoder
from compressai.entropy_models import EntropyBottleneck, GaussianConditional
from torch import Tensor

from ssicbench.errors import BitstreamError

__all__ = [
    "LIKELIHOOD_BOUND",
    "MAX_SYMBOL",
    "PRECISION",
    "TAIL_MASS",
    "RansTables",
    "build_factorized_tables",
    "build_tables",
    "check_tables",
    "clamp_scales",
    "factorized_bits",
    "factorized_model",
    "gaussian_bits",
    "gaussian_model",
    "scale_indexes",
    "scale_table",
]

SCALE_MIN, SCALE_MAX, NUM_SCALES = 0.11, 256.0, 64
TAIL_MASS = 2**-8
LIKELIHOOD_BOUND = 1e-9
PRECISION = 16
MAX_SYMBOL = 1 << 24  # far beyond any latent value; a decoded symbol past it means a corrupted string


def scale_table() -> Tensor:
    """The reference's 64 log-spaced Gaussian scales in [0.11, 256] (computed exactly as it does, in float32)."""
    offset = math.log(SCALE_MIN)
    factor = (math.log(SCALE_MAX) - math.log(SCALE_MIN)) / (NUM_SCALES - 1)
    return torch.exp(offset + factor * torch.arange(NUM_SCALES))


def gaussian_model() -> GaussianConditional:
    return GaussianConditional(scale_table().tolist(), scale_bound=SCALE_MIN, tail_mass=TAIL_MASS)


def factorized_model(channels: int) -> EntropyBottleneck:
    return EntropyBottleneck(channels, filters=(3, 3, 3), tail_mass=TAIL_MASS)


def clamp_scales(scales: Tensor) -> Tensor:
    return scales.clamp(SCALE_MIN, SCALE_MAX)


def scale_indexes(scales: Tensor, table: Tensor) -> Tensor:
    """Index of the table entry nearest to each (clamped) scale, ties to the smaller one, as the reference."""
    return (clamp_scales(scales).unsqueeze(-1) - table.to(scales)).abs().argmin(-1).int()


def gaussian_bits(em: GaussianConditional, symbols: Tensor, scales: Tensor) -> Tensor:
    """-log2 likelihood of integer `symbols` (y - mean, rounded) under N(0, clamped scale)."""
    likelihood = em._likelihood(symbols, clamp_scales(scales)).clamp_min(LIKELIHOOD_BOUND)
    return -torch.log2(likelihood)


def factorized_bits(em: EntropyBottleneck, z_hat: Tensor) -> Tensor:
    """-log2 likelihood of the integer hyper latent (1, C, h, w) under the factorized prior."""
    values = z_hat[0].reshape(z_hat.shape[1], 1, -1)
    _, lower, upper = em._likelihood(values)
    sign = -torch.sign(lower + upper)  # evaluate the tail that keeps float32 precision
    likelihood = (torch.sigmoid(sign * upper) - torch.sigmoid(sign * lower)).abs()
    return -torch.log2(likelihood.clamp_min(LIKELIHOOD_BOUND))


@torch.no_grad()
def build_factorized_tables(em: EntropyBottleneck) -> None:
    """Integer-aligned rANS tables for `round(z)` from the prior's tails (fresh models; checkpoints store theirs)."""
    em._update_quantiles()
    minima = torch.floor(em.quantiles[:, 0, 0]).int()
    maxima = torch.ceil(em.quantiles[:, 0, 2]).int()
    length = maxima - minima + 1
    samples = minima[:, None] + torch.arange(int(length.max()), device=minima.device)[None, :]
    pmf, lower, upper = em._likelihood(samples[:, None, :].float(), stop_gradient=True)
    last = (length - 1).long()[:, None]
    tail = torch.sigmoid(lower[:, 0, :1]) + torch.sigmoid(-upper[:, 0, :].gather(1, last))
    em._quantized_cdf = em._pmf_to_cdf(pmf[:, 0, :], tail, length, int(length.max()))
    em._offset = minima
    em._cdf_length = length + 2


@torch.no_grad()
def build_tables(y_em: GaussianConditional, z_em: EntropyBottleneck) -> None:
    """Fill both entropy models' rANS tables from their current parameters."""
    y_em.update_scale_table(scale_table().tolist(), force=True)
    build_factorized_tables(z_em)


def check_tables(cdf: Tensor, lengths: Tensor, offsets: Tensor, what: str) -> None:
    """Reject tables the C++ coder would misread (it does not check them): ValueError naming `what`."""
    if cdf.dim() != 2 or lengths.shape != offsets.shape or lengths.shape != cdf.shape[:1]:
        shapes = f"{tuple(cdf.shape)}, {tuple(lengths.shape)}, {tuple(offsets.shape)}"
        raise ValueError(f"{what}: table shapes {shapes} disagree")
    for i, (row, n) in enumerate(zip(cdf.tolist(), lengths.tolist())):
        if not 3 <= n <= len(row) or row[0] != 0 or row[n - 1] != 1 << PRECISION:
            raise ValueError(f"{what}: CDF {i} is not a {PRECISION}-bit CDF of length {n}")
        if any(b <= a for a, b in zip(row[: n - 1], row[1:n])):
            raise ValueError(f"{what}: CDF {i} is not strictly increasing")


@dataclass
class RansTables:
    """One entropy model's tables as the Python lists the C++ coder takes (converted once)."""

    cdf: list[list[int]]
    lengths: list[int]
    offsets: list[int]

    @classmethod
    def of(cls, em: GaussianConditional | EntropyBottleneck) -> RansTables:
        """The model's tables, each CDF cut to its length: the C++ coder converts every table it is given on
        every call, and the padded ones are 7x longer (a fixed cost of milliseconds per slice string)."""
        lengths = em._cdf_length.tolist()
        cdf = [row[:n] for row, n in zip(em._quantized_cdf.tolist(), lengths)]
        return cls(cdf, lengths, em._offset.tolist())

    def encode(self, symbols: Tensor, indexes: Tensor) -> bytes:
        """rANS string of integer `symbols` coded with the tables `indexes` (same shapes, flattened row-major)."""
        flat = symbols.reshape(-1).long()
        if flat.numel() and int(flat.abs().max()) >= MAX_SYMBOL:
            raise ValueError("latent value beyond the entropy coder's range")
        return self._encode(flat.tolist(), indexes.reshape(-1).tolist())

    def _encode(self, symbols: list[int], indexes: list[int]) -> bytes:
        return RansEncoder().encode_with_indexes(symbols, indexes, self.cdf, self.lengths, self.offsets)

    def decode(self, string: bytes, indexes: Tensor) -> Tensor:
        """Symbols of `string` for `indexes`; a string that is not exactly the encoder's output raises BitstreamError.

        CompressAI's decoder does not know where its input ends, so the string is followed by enough zero
        bytes to cover the most a corrupted string can make it read (every symbol consumes at most 16
        bits plus its escape nibbles, which the data bounds). The decoded symbols are then checked.
        """
        count, index_list = indexes.numel(), indexes.reshape(-1).tolist()
        guard = 16 * len(string) + 138 * count + 64
        values = RansDecoder().decode_with_indexes(
            bytes(string) + bytes(guard), index_list, self.cdf, self.lengths, self.offsets
        )
        symbols = torch.zeros(count, dtype=torch.int64)
        if count:  # array -> tensor: faster than torch.tensor(list)
            symbols = torch.frombuffer(array.array("q", values), dtype=torch.int64)
            if int(symbols.abs().max()) >= MAX_SYMBOL:
                raise BitstreamError("an entropy-coded string is corrupted (it decodes beyond the coder's range)")
        self.check(values, index_list, string)
        return symbols.view(indexes.shape)

    def check(self, symbols: list[int], indexes: list[int], string: bytes) -> None:
        """BitstreamError unless `string` is what the encoder writes for `symbols`: rANS is deterministic, so
        any other string (corrupted, truncated, padded) is caught."""
        if self._encode(symbols, indexes) != string:
            raise BitstreamError("an entropy-coded string is corrupted (it does not decode to what it encodes)")
