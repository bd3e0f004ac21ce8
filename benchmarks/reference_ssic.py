"""The public SSIC reference (Amygyx/GIT-SSIC, `our_codecs.GroupChARTTC`) as a `bench_ssic.py` worker.

Imported only from a checkout the user passes (`--reference PATH`), in a Python where it imports; set-up in
benchmarks/README.md. Nothing of the reference is patched or shipped; two calling-side workarounds: its
`decompress` calls `torch.cuda.synchronize()` (a no-op here without CUDA), and it consumes the string lists
it is given (copies are passed).
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from typing import Any

FULL_SIZE = dict(
    embed_dim_g=[128, 192, 256, 320],
    depths_g=[2, 2, 5, 1],
    num_heads_g=[8, 12, 16, 16],
    embed_dim_h=[192, 192],
    window_size_g=8,
    splits=10,
)


def run_reference(job: dict[str, Any], profile_type: type, load_case: Any, outcome: Any) -> Iterator[dict]:
    """Rounds of encode, full decode and one-group decode with the reference model on the job's weights and
    image, as `bench_ssic.run_port` does them (yields each round's figures until sent True)."""
    import torch
    from torch import nn

    if not torch.cuda.is_available():
        torch.cuda.synchronize = lambda *args, **kwargs: None
    sys.path.insert(0, job["reference"])
    import our_codecs  # first: binds `data_compression` to the build installed for this Python
    from compress_multiple_images import load_codec_state_dict

    from ssicbench.codecs.ssic.sections import pad_group_mask

    torch.set_num_threads(job["threads"])
    model = our_codecs.GroupChARTTC(**FULL_SIZE, norm_layer=nn.LayerNorm).eval()
    load_codec_state_dict(model, torch.load(job["weights"])["parameters"])
    image, ids, group = load_case(job)
    height, width = image.shape[:2]
    x = torch.from_numpy(image.copy()).permute(2, 0, 1)[None].float().div(255)
    x = nn.functional.pad(x, (0, -width % 64, 0, -height % 64))
    mask = torch.from_numpy(pad_group_mask(ids, (x.shape[2] // 16, x.shape[3] // 16))).int()[None, None]
    present = [g for g in mask.unique().tolist() if g != -1]
    profile = profile_type(lambda: None)
    decoded = {}

    def decode(strings: dict[int, list[bytes]], side: bytes, wanted: list[int]) -> Any:
        pieces = [list(strings[g]) for g in wanted]
        x_hat = model.decompress((pieces, side), (height, width), mask, wanted)[0]
        pixels = x_hat[0, :, :height, :width].clamp(0, 1).mul(255).round().to(torch.uint8)
        return pixels.permute(1, 2, 0).numpy()

    with torch.no_grad():
        while True:
            figures = {}
            ((group_strings, side), _), figures["encode"] = profile.measure(lambda: model.compress(x, mask))
            strings = dict(zip(present, group_strings))
            decoded["full"], figures["decode"] = profile.measure(lambda: decode(strings, side, present))
            decoded["group"], figures["group decode"] = profile.measure(lambda: decode(strings, side, [group]))
            if (yield figures):
                break
    return outcome(job, strings, decoded, ids, group)
