"""SSIC networks: group-independent Swin transforms, conv hyperprior, channel-autoregressive entropy parameters.

Module names follow the reference (`g_a_pe`, `g_a_m`, `h_a_m`, `g_s_m`, `g_s_pe`, `h_s_m`,
`char_m_means`, `char_m_scales`, `y_em`, `z_em`) so checkpoints map key for key (see `checkpoint.py`).
All passes take one image (batch 1) and a group map at the latent resolution (1/16).
"""

from __future__ import annotations

import copy

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ssicbench.codecs.ssic.config import SSICConfig
from ssicbench.codecs.ssic.entropy import (
    build_tables,
    clamp_scales,
    factorized_bits,
    factorized_model,
    gaussian_bits,
    gaussian_model,
)
from ssicbench.codecs.ssic.layers import GroupBasicLayer, PatchEmbed, PatchUnEmbed, StageGrid, pad_rows

Y_MIN, Y_MAX = -255.5, 256.49


def rows_of(t: Tensor, positions: Tensor) -> Tensor:
    """(1, C, H, W) map -> (len(positions), C) rows at the flat raster `positions`."""
    return t[0].flatten(1)[:, positions].T


def apply_pointwise(net: nn.Sequential, rows: Tensor) -> Tensor:
    """Run a stack of 1x1 convolutions and ReLUs on rows (one row per latent position)."""
    for layer in net:
        rows = F.linear(rows, layer.weight.flatten(1), layer.bias) if isinstance(layer, nn.Conv2d) else layer(rows)
    return rows


class SSICModel(nn.Module):
    """One SSIC network (any variant); weights from `checkpoint.load_model` or random for tests."""

    def __init__(self, config: SSICConfig):
        super().__init__()
        self.config = config
        dims, window = config.embed_dim_g, config.window_size_g
        layer = dict(window=window, mlp_ratio=config.mlp_ratio, qkv_bias=config.qkv_bias)
        self.g_a_pe = nn.ModuleList(PatchEmbed(c_in, c) for c_in, c in zip((3,) + dims[:-1], dims))
        self.g_a_m = nn.ModuleList(
            GroupBasicLayer(c, d, h, **layer) for c, d, h in zip(dims, config.depths_g, config.num_heads_g)
        )
        rdims = dims[::-1]
        self.g_s_m = nn.ModuleList(
            GroupBasicLayer(c, d, h, **layer)
            for c, d, h in zip(rdims, config.depths_g[::-1], config.num_heads_g[::-1])
        )
        self.g_s_pe = nn.ModuleList(PatchUnEmbed(c, c_out) for c, c_out in zip(rdims, rdims[1:] + (3,)))

        m, h = config.latent_channels, tuple(config.embed_dim_h) + (config.embed_dim_h[-1],)
        self.h_a_m = nn.Sequential(
            nn.Conv2d(m, h[0], 3, 1, 1),
            nn.ReLU(),
            nn.Conv2d(h[0], h[1], 5, 2, 2),
            nn.ReLU(),
            nn.Conv2d(h[1], h[2], 5, 2, 2),
        )
        self.h_s_m = nn.Sequential(
            nn.ConvTranspose2d(h[2], h[1], 5, 2, 2, 1),
            nn.ReLU(),
            nn.ConvTranspose2d(h[1], h[0], 5, 2, 2, 1),
            nn.ReLU(),
            nn.Conv2d(h[0], 2 * m, 3, 1, 1),
        )
        if config.variant != "hyper":
            cs = m // config.splits
            self.char_m_means = nn.ModuleList(
                nn.Sequential(
                    nn.Conv2d(2 * cs + i * cs, m, 1), nn.ReLU(), nn.Conv2d(m, m, 1), nn.ReLU(), nn.Conv2d(m, cs, 1)
                )
                for i in range(config.splits)
            )
            self.char_m_scales = copy.deepcopy(self.char_m_means)
        self.y_em = gaussian_model()
        self.z_em = factorized_model(config.hyper_channels)

    @property
    def device(self) -> torch.device:
        return self.y_em.scale_table.device

    def build_tables(self) -> None:
        """Derive the rANS tables from the current weights (a trained checkpoint brings its own)."""
        build_tables(self.y_em, self.z_em)

    # --- transforms -------------------------------------------------------------------------------

    def analysis(self, x: Tensor, groups: Tensor) -> Tensor:
        """Image (1, 3, H, W), H and W multiples of 64 -> latent y (1, M, H/16, W/16), clamped as the reference."""
        for i, (embed, layer) in enumerate(zip(self.g_a_pe, self.g_a_m)):
            x = embed(x)
            factor = 2 ** (len(self.g_a_pe) - 1 - i)
            grid = StageGrid.select(upsample_groups(groups, factor), self.config.window_size_g)
            _, c, h, w = x.shape
            rows = layer(pad_rows(x[0].flatten(1).T, grid.rows), grid)
            x = rows[: h * w].T.reshape(1, c, h, w)
        return x.clamp(Y_MIN, Y_MAX)

    def synthesis(self, y_hat: Tensor, groups: Tensor, requested: Tensor | None = None) -> Tensor:
        """Latent -> image (1, 3, 16h, 16w); with `requested` group ids only their pixels are computed (others 0)."""
        grid = StageGrid.select(groups, self.config.window_size_g, requested)
        x = pad_rows(rows_of(y_hat, grid.positions), grid.rows)
        for layer, unembed in zip(self.g_s_m, self.g_s_pe):
            x = layer(x, grid)
            x, grid = unembed(x, grid)
        image = torch.zeros(3, grid.height * grid.width, device=x.device, dtype=x.dtype)
        image[:, grid.positions] = x[: grid.count].T
        return image.view(1, 3, grid.height, grid.width)

    def hyper_analysis(self, y: Tensor) -> Tensor:
        return self.h_a_m(y)

    def hyper_synthesis(self, z_hat: Tensor) -> Tensor:
        """Hyper output from z_hat in standard (NCHW-contiguous) layout: the encoder's z_hat inherits the
        analysis' channels-last strides, the decoder's does not, and convolution kernels chosen per layout
        differ in the last bits, enough to flip a scale index between encoder and decoder."""
        return self.h_s_m(z_hat.contiguous())

    # --- entropy parameters -------------------------------------------------------------------------

    def slice_channels(self, index: int) -> slice:
        """Channels of latent slice `index` (the whole latent for the hyperprior variant)."""
        m = self.config.latent_channels
        if self.config.variant == "hyper":
            return slice(0, m)
        cs = m // self.config.splits
        return slice(index * cs, (index + 1) * cs)

    def slice_parameters(self, index: int, hyper_rows: Tensor, decoded: list[Tensor]) -> tuple[Tensor, Tensor]:
        """Means and clamped scales (rows) of slice `index` from the hyper rows and the slices decoded before it."""
        if self.config.variant == "hyper":
            means, scales = hyper_rows.chunk(2, 1)
        else:
            cs = self.config.latent_channels // self.config.splits
            support = torch.cat([hyper_rows[:, 2 * cs * index : 2 * cs * (index + 1)], *decoded], 1)
            means = apply_pointwise(self.char_m_means[index], support)
            scales = apply_pointwise(self.char_m_scales[index], support)
        return means, clamp_scales(scales)

    # --- the reference's forward pass (quantized, no noise) -----------------------------------------

    @torch.no_grad()
    def forward(self, x: Tensor, groups: Tensor) -> dict[str, Tensor]:
        """y, z_hat, y_hat, x_hat and rate estimates (bits) of the whole image, as the reference's eval pass."""
        y = self.analysis(x, groups)
        z_hat = torch.round(self.hyper_analysis(y))
        hyper = self.hyper_synthesis(z_hat)
        positions = torch.arange(y.shape[2] * y.shape[3], device=y.device)
        hyper_rows, y_rows = rows_of(hyper, positions), rows_of(y, positions)
        decoded, bits_y = [], y.new_zeros(())
        for index in range(self.config.num_slices):
            means, scales = self.slice_parameters(index, hyper_rows, decoded)
            symbols = torch.round(y_rows[:, self.slice_channels(index)] - means)
            bits_y = bits_y + gaussian_bits(self.y_em, symbols, scales).sum()
            decoded.append(symbols + means)
        y_hat = torch.cat(decoded, 1).T.reshape(y.shape)
        return {
            "y": y,
            "z_hat": z_hat,
            "y_hat": y_hat,
            "x_hat": self.synthesis(y_hat, groups),
            "bits_y": bits_y,
            "bits_z": factorized_bits(self.z_em, z_hat).sum(),
        }


def upsample_groups(groups: Tensor, factor: int) -> Tensor:
    """Group map at `factor` times the latent resolution (each latent cell covers factor x factor tokens)."""
    return groups.repeat_interleave(factor, 0).repeat_interleave(factor, 1)
