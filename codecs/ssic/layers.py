"""Group-independent Swin blocks that compute only the tokens a pass needs, in bounded memory.

A token attends only to tokens of its own group inside its (shifted) window. The reference adds -100 to
the logits of other-group pairs; in float32 those weights (e^-100 relative) vanish below the rounding of
any output, so excluding them exactly (-inf) gives the same numbers while making group independence
exact. Feature maps that are not a multiple of the window size are padded together with the group map
(edge-replicated ids), never resized, so a token's group is the same at every stage and image size.
Shifted windows key each token on the pair (group, Swin region); the reference adds the region number
to the group id, which lets e.g. region 1 of group 1 and region 2 of group 0 attend to each other.

Features travel as a compact row list (`StageGrid.positions` says where each row sits on the map), so a
partial decode runs attention only on windows holding requested tokens, and the per-token layers only
on those tokens. A block runs window batch by window batch (attention, then the MLP, written back in
place), so its working memory is a budget (`StageGrid.batch_bytes`), not a multiple of the map, and its
temporaries stay small enough to be reused by the allocator. Windows whose tokens all share one key (most
of them) need no group mask; the others come first in the plan, with their mask. The arithmetic is the
reference's, operation for operation (logits + position bias + mask, softmax), so the strings are its own.
Every batch holds whole windows (multiples of 64 rows) and row lists are padded to `ROW_BLOCK`, so matrix
products see the same kernels whatever the subset, which keeps partial decodes bit-identical to full ones.

Whole feature maps of a batch (training) take the dense path instead: maps of shape (B, H, W, C), windows
cut by reshapes, and one per-sample group bias per window (`DenseWindows`), so a batch of images with
different group masks runs in one call. Both paths give the same numbers to float tolerance
(tests/test_ssic_batched.py).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor, nn

__all__ = [
    "BATCH_BYTES",
    "FLOATS_PER_TOKEN",
    "ROW_BLOCK",
    "WINDOW_CHUNK",
    "DenseWindows",
    "GroupBasicLayer",
    "GroupSwinBlock",
    "Mlp",
    "PatchEmbed",
    "PatchUnEmbed",
    "StageGrid",
    "WindowAttention",
    "WindowPlan",
    "from_windows",
    "pad_rows",
    "relative_position_index",
    "round_rows",
    "same_key_bias",
    "to_windows",
    "window_keys",
]

ROW_BLOCK = 64
WINDOW_CHUNK = 512  # windows per attention batch of the dense (training) path
# Default working memory of one window batch of the row path. Its largest temporaries (the MLP's hidden layer)
# stay under glibc's 32 MB mmap threshold: larger blocks are mapped afresh and page-faulted in on every
# allocation, which cost a third of the transforms' time (measured at 256 MB: 1M page faults per image).
BATCH_BYTES = 64 << 20
FLOATS_PER_TOKEN = 16  # live float32 values per token and channel inside a block (qkv, MLP hidden, ...), about


def round_rows(count: int) -> int:
    return max(ROW_BLOCK, -(-count // ROW_BLOCK) * ROW_BLOCK)


def pad_rows(rows: Tensor, count: int) -> Tensor:
    """`rows` with zero rows appended up to `count`."""
    return F.pad(rows, (0, 0, 0, count - rows.shape[0]))


@dataclass
class WindowPlan:
    """The windows a pass computes (those with more than one attention key first) and where their rows are."""

    rows: Tensor  # (windows, N) row of each window slot (0 for padding and skipped slots, see `blank`)
    blank: Tensor | None  # (windows, N, 1) True where a slot reads zeros (padding, or a token the pass skips)
    bias: Tensor  # (mixed, 1, N, N) attention mask of the first `mixed` windows: 0 where allowed, -inf elsewhere
    kept: Tensor  # flat slots (window * N + slot) of the computed tokens, ascending
    kept_rows: Tensor  # the row of each of them

    def batches(self, size: int) -> Iterator[tuple[slice, Tensor | None]]:
        """Ranges of at most `size` windows, each all mixed (with its mask) or all single-key (mask None)."""
        mixed, total = self.bias.shape[0], self.rows.shape[0]
        for start, stop, masked in ((0, mixed, True), (mixed, total, False)):
            for i in range(start, stop, size):
                span = slice(i, min(i + size, stop))
                yield span, self.bias[span] if masked else None

    def scatter(self, x: Tensor, span: slice, out: Tensor) -> None:
        """Write the computed tokens of windows `span` (outputs (windows, N, C)) back to their rows of `x`."""
        n = self.rows.shape[1]
        lo, hi = torch.searchsorted(self.kept, self.kept.new_tensor([span.start * n, span.stop * n])).tolist()
        x[self.kept_rows[lo:hi]] = out.reshape(-1, out.shape[-1])[self.kept[lo:hi] - span.start * n]


class StageGrid:
    """One stage's feature map: group id of every token and the tokens this pass computes (rows)."""

    def __init__(self, groups: Tensor, positions: Tensor, window: int, batch_bytes: int = BATCH_BYTES):
        self.groups = groups
        self.height, self.width = groups.shape
        self.positions = positions
        self.count = int(positions.numel())
        self.rows = round_rows(self.count)
        self.window = window
        self.batch_bytes = batch_bytes
        self._plans: dict[int, WindowPlan] = {}

    @classmethod
    def select(
        cls, groups: Tensor, window: int, requested: Tensor | None = None, batch_bytes: int = BATCH_BYTES
    ) -> StageGrid:
        """All tokens (raster order), or only those whose group id is in `requested`."""
        flat = groups.flatten()
        if requested is None:
            positions = torch.arange(flat.numel(), device=groups.device)
        else:
            positions = torch.isin(flat, requested).nonzero().squeeze(1)
        return cls(groups, positions, window, batch_bytes)

    def upsampled(self) -> StageGrid:
        """The grid after a 2x PixelShuffle: each row's four children, in row-major child order."""
        groups = self.groups.repeat_interleave(2, 0).repeat_interleave(2, 1)
        i, j = self.positions // self.width, self.positions % self.width
        a = torch.tensor([0, 0, 1, 1], device=i.device)
        b = torch.tensor([0, 1, 0, 1], device=i.device)
        children = ((2 * i[:, None] + a) * (2 * self.width) + 2 * j[:, None] + b).flatten()
        return StageGrid(groups, children, self.window, self.batch_bytes)

    def batch_windows(self, channels: int) -> int:
        """Windows per batch of a block with `channels` channels, so that a batch fits `batch_bytes`."""
        per_window = self.window**2 * channels * FLOATS_PER_TOKEN * 4
        return max(1, self.batch_bytes // per_window)

    def plan(self, shift: int) -> WindowPlan:
        if shift not in self._plans:
            self._plans[shift] = self._make_plan(shift)
        return self._plans[shift]

    def _make_plan(self, shift: int) -> WindowPlan:
        ws, height, width = self.window, self.height, self.width
        device = self.groups.device
        hp, wp = -(-height // ws) * ws, -(-width // ws) * ws
        r = (torch.arange(hp, device=device) + shift) % hp
        c = (torch.arange(wp, device=device) + shift) % wp
        inside = (r[:, None] < height) & (c[None, :] < width)
        flat = r.clamp(max=height - 1)[:, None] * width + c.clamp(max=width - 1)[None, :]
        index = torch.full((height * width,), -1, dtype=torch.long, device=device)
        index[self.positions] = torch.arange(self.count, device=device)
        row = to_windows(torch.where(inside, index[flat], -1)[None], ws)
        key = to_windows(window_keys(self.groups, ws, shift)[None], ws)
        keep = (row >= 0).any(1)
        row, key = row[keep], key[keep]
        mixed = (key != key[:, :1]).any(1)
        order = torch.cat([mixed.nonzero().squeeze(1), (~mixed).nonzero().squeeze(1)])
        row, key = row[order], key[order]
        blank = row < 0
        kept = (~blank).flatten().nonzero().squeeze(1)
        return WindowPlan(
            rows=row.clamp(min=0),
            blank=blank[..., None] if bool(blank.any()) else None,
            bias=same_key_bias(key[: int(mixed.sum())]),
            kept=kept,
            kept_rows=row.flatten()[kept],
        )


def window_keys(groups: Tensor, window: int, shift: int) -> Tensor:
    """Attention key of every token of the padded, rolled map(s) `groups` (..., H, W) -> (..., Hp, Wp).

    Padding tokens take the group of the nearest edge token; with a shift, the key also holds the Swin region
    so that tokens wrapped around the border never attend to each other. Two tokens of one window may attend
    to each other exactly when their keys are equal.
    """
    height, width = groups.shape[-2:]
    hp, wp = -(-height // window) * window, -(-width // window) * window
    device = groups.device
    # Rolled (cyclically shifted) padded coordinates -> coordinates on the unpadded map (edge-clamped).
    r = ((torch.arange(hp, device=device) + shift) % hp).clamp(max=height - 1)
    c = ((torch.arange(wp, device=device) + shift) % wp).clamp(max=width - 1)
    key = groups[..., r, :][..., c].long()
    if shift:

        def region(n: int) -> Tensor:
            k = torch.arange(n, device=device)
            return (k >= n - window).long() + (k >= n - shift).long()

        key = key * 9 + region(hp)[:, None] * 3 + region(wp)[None, :]
    return key


def same_key_bias(keys: Tensor) -> Tensor:
    """(windows, N) keys -> (windows, 1, N, N) attention bias: 0 between equal keys, -inf elsewhere."""
    bias = torch.zeros(keys.shape[0], 1, keys.shape[1], keys.shape[1], device=keys.device)
    return bias.masked_fill_(keys[:, None, :, None] != keys[:, None, None, :], float("-inf"))


def to_windows(t: Tensor, window: int) -> Tensor:
    """(B, Hp, Wp, ...) -> (B * windows, window^2, ...), windows in raster order."""
    b, hp, wp = t.shape[:3]
    rest = t.shape[3:]
    t = t.reshape(b, hp // window, window, wp // window, window, *rest).transpose(2, 3)
    return t.reshape(b * (hp // window) * (wp // window), window * window, *rest)


def from_windows(t: Tensor, window: int, batch: int, hp: int, wp: int) -> Tensor:
    """Inverse of `to_windows`: (B * windows, window^2, C) -> (B, Hp, Wp, C)."""
    t = t.reshape(batch, hp // window, wp // window, window, window, t.shape[-1]).transpose(2, 3)
    return t.reshape(batch, hp, wp, -1)


class DenseWindows:
    """Window layout of whole maps of a batch with per-sample group maps (B, H, W): one bias per shift."""

    def __init__(self, groups: Tensor, window: int):
        self.groups = groups
        self.window = window
        self.batch, self.height, self.width = groups.shape
        self.hp = -(-self.height // window) * window
        self.wp = -(-self.width // window) * window
        self._bias: dict[int, Tensor] = {}

    def bias(self, shift: int) -> Tensor:
        if shift not in self._bias:
            self._bias[shift] = same_key_bias(to_windows(window_keys(self.groups, self.window, shift), self.window))
        return self._bias[shift]


def relative_position_index(window: int) -> Tensor:
    """Swin's index of each (query, key) offset inside a window into the relative-bias table."""
    coords = torch.stack(torch.meshgrid(torch.arange(window), torch.arange(window), indexing="ij")).flatten(1)
    rel = (coords[:, :, None] - coords[:, None, :]).permute(1, 2, 0) + (window - 1)
    return rel[..., 0] * (2 * window - 1) + rel[..., 1]


class WindowAttention(nn.Module):
    """Multi-head self-attention inside windows with Swin's relative position bias."""

    def __init__(self, dim: int, window: int, num_heads: int, qkv_bias: bool = True):
        super().__init__()
        self.num_heads = num_heads
        self.scale = (dim // num_heads) ** -0.5
        self.relative_position_bias_table = nn.Parameter(torch.zeros((2 * window - 1) ** 2, num_heads))
        nn.init.trunc_normal_(self.relative_position_bias_table, std=0.02)
        self.register_buffer("relative_position_index", relative_position_index(window))
        self.qkv = nn.Linear(dim, dim * 3, bias=qkv_bias)
        self.proj = nn.Linear(dim, dim)

    def forward(self, windows: Tensor, bias: Tensor | None) -> Tensor:
        """Windows (W, N, C) -> (W, N, C); `bias` (W, 1, N, N) masks other groups (None: one key per window)."""
        count, n, dim = windows.shape
        qkv = self.qkv(windows).reshape(count, n, 3, self.num_heads, dim // self.num_heads).permute(2, 0, 3, 1, 4)
        q, k, v = qkv.unbind(0)
        position = self.relative_position_bias_table[self.relative_position_index.view(-1)]
        attn = (q * self.scale) @ k.transpose(-2, -1)
        attn += position.view(n, n, -1).permute(2, 0, 1)
        if bias is not None:
            attn += bias
        out = (attn.softmax(-1) @ v).transpose(1, 2).reshape(count, n, dim)
        return self.proj(out)


class Mlp(nn.Module):
    """Swin's two-layer GELU feed-forward network."""

    def __init__(self, dim: int, hidden: int):
        super().__init__()
        self.fc1 = nn.Linear(dim, hidden)
        self.act = nn.GELU()
        self.fc2 = nn.Linear(hidden, dim)

    def forward(self, x: Tensor) -> Tensor:
        return self.fc2(self.act(self.fc1(x)))


class GroupSwinBlock(nn.Module):
    """Pre-norm Swin block (window or shifted-window attention, then MLP) restricted to same-group pairs."""

    def __init__(self, dim: int, num_heads: int, window: int, shift: int, mlp_ratio: float, qkv_bias: bool):
        super().__init__()
        self.shift = shift
        self.norm1 = nn.LayerNorm(dim)
        self.attn = WindowAttention(dim, window, num_heads, qkv_bias)
        self.norm2 = nn.LayerNorm(dim)
        self.mlp = Mlp(dim, int(dim * mlp_ratio))

    def forward(self, x: Tensor, grid: StageGrid) -> Tensor:
        """Rows (grid.rows, C) -> the same rows after the block, updated in place, one window batch at a time."""
        plan = grid.plan(self.shift)
        for span, bias in plan.batches(grid.batch_windows(x.shape[1])):
            tokens = x[plan.rows[span]]
            normed = self.norm1(tokens)
            if plan.blank is not None:
                normed = normed.masked_fill(plan.blank[span], 0.0)
            tokens = tokens + self.attn(normed, bias)
            plan.scatter(x, span, tokens + self.mlp(self.norm2(tokens)))
        return x

    def forward_dense(self, x: Tensor, layout: DenseWindows) -> Tensor:
        """The same block on whole maps (B, H, W, C) of a batch, each sample with its own groups."""
        ws, shift, hp, wp = layout.window, self.shift, layout.hp, layout.wp
        normed = F.pad(self.norm1(x), (0, 0, 0, wp - layout.width, 0, hp - layout.height))
        if shift:
            normed = torch.roll(normed, (-shift, -shift), (1, 2))
        windows, bias = to_windows(normed, ws), layout.bias(shift)
        out = torch.cat(
            [
                self.attn(windows[i : i + WINDOW_CHUNK], bias[i : i + WINDOW_CHUNK])
                for i in range(0, windows.shape[0], WINDOW_CHUNK)
            ]
        )
        out = from_windows(out, ws, layout.batch, hp, wp)
        if shift:
            out = torch.roll(out, (shift, shift), (1, 2))
        x = x + out[:, : layout.height, : layout.width]
        return x + self.mlp(self.norm2(x))


class GroupBasicLayer(nn.Module):
    """One stage of blocks alternating plain and shifted windows (reference name kept for checkpoint keys)."""

    def __init__(self, dim: int, depth: int, num_heads: int, window: int, mlp_ratio: float, qkv_bias: bool):
        super().__init__()
        self.blocks = nn.ModuleList(
            GroupSwinBlock(dim, num_heads, window, 0 if i % 2 == 0 else window // 2, mlp_ratio, qkv_bias)
            for i in range(depth)
        )

    def forward(self, x: Tensor, grid: StageGrid) -> Tensor:
        for block in self.blocks:
            x = block(x, grid)
        return x

    def forward_dense(self, x: Tensor, layout: DenseWindows) -> Tensor:
        for block in self.blocks:
            x = block.forward_dense(x, layout)
        return x


class PatchEmbed(nn.Module):
    """2x2 stride-2 convolution that halves the resolution (analysis)."""

    def __init__(self, in_channels: int, out_channels: int):
        super().__init__()
        self.proj = nn.Conv2d(in_channels, out_channels, kernel_size=2, stride=2)

    def forward(self, x: Tensor) -> Tensor:
        return self.proj(x)


class _PixelShuffleUp(nn.Module):
    """Holds the 1x1 convolution under the reference's key (`proj.m.0`); `PatchUnEmbed` applies it to rows."""

    def __init__(self, in_channels: int, out_channels: int):
        super().__init__()
        self.m = nn.Sequential(nn.Conv2d(in_channels, out_channels * 4, 1), nn.PixelShuffle(2))


class PatchUnEmbed(nn.Module):
    """1x1 convolution + PixelShuffle that doubles the resolution (synthesis), applied to computed rows only."""

    def __init__(self, in_channels: int, out_channels: int):
        super().__init__()
        self.out_channels = out_channels
        self.proj = _PixelShuffleUp(in_channels, out_channels)

    def forward(self, x: Tensor, grid: StageGrid) -> tuple[Tensor, StageGrid]:
        conv = self.proj.m[0]
        out = F.linear(x, conv.weight.flatten(1), conv.bias)[: grid.count]
        child_grid = grid.upsampled()
        children = out.new_zeros(child_grid.rows, self.out_channels)  # one copy, already padded to ROW_BLOCK
        # PixelShuffle: output channel c at child (a, b) is input channel 4c + 2a + b.
        children[: 4 * grid.count].view(grid.count, 4, -1).copy_(out.view(grid.count, -1, 4).transpose(1, 2))
        return children, child_grid

    def forward_dense(self, x: Tensor) -> Tensor:
        """Whole maps (B, H, W, C) -> (B, 2H, 2W, C_out)."""
        conv = self.proj.m[0]
        out = F.linear(x, conv.weight.flatten(1), conv.bias).permute(0, 3, 1, 2)
        return F.pixel_shuffle(out, 2).permute(0, 2, 3, 1)
