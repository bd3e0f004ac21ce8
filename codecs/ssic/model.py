"""SSIC networks: group-independent Swin transforms, conv hyperprior, channel-autoregressive entropy parameters.

Module names follow the reference (`g_a_pe`, `g_a_m`, `h_a_m`, `g_s_m`, `g_s_pe`, `h_s_m`,
`char_m_means`, `char_m_scales`, `y_em`, `z_em`) so checkpoints map key for key (see `checkpoint.py`).
Group maps are at the latent resolution (1/16). The analysis and the training pass take a batch of images,
each with its own group map (B, h, w); the codec's synthesis takes one image (batch 1) and computes only the
requested groups' pixels.
"""

from __future__ import annotations

import copy
from typing import Any

import torch
import torch.nn.functional as F
from compressai.ops import quantize_ste
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
from ssicbench.codecs.ssic.layers import (
    BATCH_BYTES,
    DenseWindows,
    GroupBasicLayer,
    PatchEmbed,
    PatchUnEmbed,
    StageGrid,
    pad_rows,
)

__all__ = ["LIKELIHOOD_BOUND", "SSICModel", "apply_pointwise", "batch_rows", "rows_of", "upsample_groups"]

Y_MIN, Y_MAX = -255.5, 256.49
LIKELIHOOD_BOUND = 1e-9  # lower bound of training likelihoods, as the reference


def batch_rows(t: Tensor) -> Tensor:
    """(B, C, h, w) -> (B*h*w, C): one row per latent position, the layout the parameter networks take."""
    return t.permute(0, 2, 3, 1).reshape(-1, t.shape[1])


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
            GroupBasicLayer(c, d, h, **layer) for c, d, h in zip(rdims, config.depths_g[::-1], config.num_heads_g[::-1])
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

    def analysis(self, x: Tensor, groups: Tensor, batch_bytes: int = BATCH_BYTES) -> Tensor:
        """Images (B, 3, H, W), H and W multiples of 64, and group maps (B, H/16, W/16) (or one (H/16, W/16) for
        all) -> latents y (B, M, H/16, W/16), clamped as the reference; one image at a time on the row path, with
        window batches of about `batch_bytes` (the codec's encoder)."""
        out = []
        for image, image_groups in zip(x.split(1), groups.expand(x.shape[0], *groups.shape[-2:])):
            for i, (embed, layer) in enumerate(zip(self.g_a_pe, self.g_a_m)):
                image = embed(image)
                factor = 2 ** (len(self.g_a_pe) - 1 - i)
                grid = StageGrid.select(
                    upsample_groups(image_groups, factor), self.config.window_size_g, batch_bytes=batch_bytes
                )
                _, c, h, w = image.shape
                rows = layer(pad_rows(image[0].flatten(1).T, grid.rows), grid)
                image = rows[: h * w].T.reshape(1, c, h, w)
            out.append(image)
        return torch.cat(out).clamp(Y_MIN, Y_MAX)

    def analysis_dense(self, x: Tensor, groups: Tensor) -> Tensor:
        """`analysis` of a whole batch in one call on the dense path (training): same numbers to float tolerance."""
        groups = groups.expand(x.shape[0], *groups.shape[-2:])
        for i, (embed, layer) in enumerate(zip(self.g_a_pe, self.g_a_m)):
            layout = DenseWindows(upsample_groups(groups, 2 ** (len(self.g_a_pe) - 1 - i)), self.config.window_size_g)
            x = layer.forward_dense(embed(x).permute(0, 2, 3, 1), layout).permute(0, 3, 1, 2)
        return x.clamp(Y_MIN, Y_MAX)

    def synthesis(
        self, y_hat: Tensor, groups: Tensor, requested: Tensor | None = None, batch_bytes: int = BATCH_BYTES
    ) -> Tensor:
        """Latent -> image (1, 3, 16h, 16w); with `requested` group ids only their pixels are computed (others 0).
        Window batches take about `batch_bytes`."""
        grid = StageGrid.select(groups, self.config.window_size_g, requested, batch_bytes)
        x = pad_rows(rows_of(y_hat, grid.positions), grid.rows)
        for layer, unembed in zip(self.g_s_m, self.g_s_pe):
            x = layer(x, grid)
            x, grid = unembed(x, grid)
        image = torch.zeros(3, grid.height * grid.width, device=x.device, dtype=x.dtype)
        image[:, grid.positions] = x[: grid.count].T
        return image.view(1, 3, grid.height, grid.width)

    def synthesis_dense(self, y_hat: Tensor, groups: Tensor) -> Tensor:
        """Latents (B, M, h, w) with group maps (B, h, w) -> images (B, 3, 16h, 16w), whole maps in one call."""
        x = y_hat.permute(0, 2, 3, 1)
        for layer, unembed in zip(self.g_s_m, self.g_s_pe):
            x = unembed.forward_dense(layer.forward_dense(x, DenseWindows(groups, self.config.window_size_g)))
            groups = upsample_groups(groups, 2)
        return x.permute(0, 3, 1, 2)

    def map_bytes(self, height: int, width: int) -> int:
        """Bytes of the largest feature map (float32) a transform of a padded `height` x `width` image holds."""
        return max((height >> (i + 1)) * (width >> (i + 1)) * c * 4 for i, c in enumerate(self.config.embed_dim_g))

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

    # --- the differentiable training pass ---------------------------------------------------------

    def forward_train(
        self,
        x: Tensor,
        groups: Tensor | None = None,
        noisy: bool = True,
        batched: bool = True,
        gain: Tensor | None = None,
    ) -> dict[str, Any]:
        """Rate-distortion pass on a batch, as the reference trains; CompressAI's output shape
        `{"x_hat", "likelihoods": {"y", "z"}}` (likelihoods lower-bounded by 1e-9).

        The rate uses additive uniform noise (`noisy`) or straight-through rounding; y_hat = round(y - mu) + mu
        (straight-through) feeds the synthesis and the channel context. `groups` (B, H/16, W/16): one group
        map per sample (None: one group). `batched=False` runs the transforms one image at a time on the
        row-list path, as training did before the dense path (kept to measure the speed-up). `gain` (B, M), for
        variable-rate training: each sample's latent channels are multiplied by it before quantization and divided
        by it before the synthesis (a per-channel step size; pointwise, so groups stay independent).
        """
        batch = x.shape[0]
        if groups is None:
            groups = torch.zeros(batch, x.shape[2] // 16, x.shape[3] // 16, dtype=torch.long, device=x.device)
        y = self.analysis_dense(x, groups) if batched else self.analysis(x, groups)
        if gain is not None:
            y = y * gain[:, :, None, None]
        z = self.hyper_analysis(y)
        if noisy:
            z_hat, z_lik = self.z_em(z, training=True)
        else:  # straight-through rounding: CompressAI has no public likelihood call for it
            z_hat = quantize_ste(z)
            values = z_hat.permute(1, 0, 2, 3).reshape(z.shape[1], 1, -1)  # the (C, 1, N) layout it takes
            z_lik = self.z_em._likelihood(values)[0].reshape(z.shape[1], batch, *z.shape[2:]).permute(1, 0, 2, 3)
        hyper_rows, y_rows = batch_rows(self.hyper_synthesis(z_hat)), batch_rows(y)
        decoded, y_liks = [], []
        for index in range(self.config.num_slices):
            means, scales = self.slice_parameters(index, hyper_rows, decoded)
            y_slice = y_rows[:, self.slice_channels(index)]
            if noisy:
                _, likelihood = self.y_em(y_slice, scales, means, training=True)
            else:
                likelihood = self.y_em._likelihood(quantize_ste(y_slice - means), scales)
            y_liks.append(likelihood)
            decoded.append(quantize_ste(y_slice - means) + means)
        y_hat = torch.cat(decoded, 1).reshape(batch, y.shape[2], y.shape[3], -1).permute(0, 3, 1, 2)
        if gain is not None:
            y_hat = y_hat / gain[:, :, None, None]
        if batched:
            x_hat = self.synthesis_dense(y_hat, groups)
        else:
            x_hat = torch.cat([self.synthesis(y_hat[b : b + 1], groups[b]) for b in range(batch)])
        bound = LIKELIHOOD_BOUND
        return {"x_hat": x_hat, "likelihoods": {"y": torch.cat(y_liks).clamp_min(bound), "z": z_lik.clamp_min(bound)}}

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
    """Group map(s) (..., h, w) at `factor` times the resolution (each cell covers factor x factor tokens)."""
    return groups.repeat_interleave(factor, -2).repeat_interleave(factor, -1)
