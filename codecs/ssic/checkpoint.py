"""Official SSIC checkpoints (`{'iteration', 'parameters': state_dict}`) to `SSICModel` and back.

Our modules carry the reference's names, so most keys are identical. The documented differences, all in
the entropy models (ours are CompressAI's):

    reference key                        SSICModel key
    y_em._cdf / z_em._cdf                y_em._quantized_cdf / z_em._quantized_cdf
    y_em._cdf_offset / z_em._cdf_offset  y_em._offset / z_em._offset
    y_em._cdf_length / z_em._cdf_length  (same name)
    y_em._cdf_shape / z_em._cdf_shape    (none: the shape of _cdf, checked)
    z_em._prior._base.{matrices,biases,factors}.i (1, C, a, b)  z_em.{matrices,biases,factors}.i (C, a, b)

The other buffers of our entropy models (scale table and bounds, `z_em.quantiles`/`target`, which only
serve to build tables for fresh models) are fixed by construction and not stored.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch
from torch import Tensor

from ssicbench.codecs.ssic.config import SSICConfig, make_config
from ssicbench.codecs.ssic.entropy import NUM_SCALES, check_tables
from ssicbench.codecs.ssic.model import SSICModel
from ssicbench.errors import CheckpointError, MissingWeightsError

__all__ = [
    "PRIOR",
    "PRIOR_PARAMETERS",
    "TABLES",
    "export_state_dict",
    "fingerprint",
    "load_model",
    "load_state",
    "save_checkpoint",
    "to_reference_key",
]

PRIOR_PARAMETERS = ("matrices.", "biases.", "factors.")
TABLES = {"_cdf": "_quantized_cdf", "_cdf_offset": "_offset", "_cdf_length": "_cdf_length"}
PRIOR = "z_em._prior._base."


def to_reference_key(key: str) -> str | None:
    """The reference checkpoint key of a model key (None for the entropy models' derived buffers)."""
    module, _, name = key.partition(".")
    if module not in ("y_em", "z_em"):
        return key
    for ref, ours in TABLES.items():
        if name == ours:
            return f"{module}.{ref}"
    if module == "z_em" and name.startswith(PRIOR_PARAMETERS):
        return PRIOR + name
    return None


def export_state_dict(model: SSICModel) -> dict[str, Tensor]:
    """The model's weights in the reference layout (what `load_model` reads)."""
    out: dict[str, Tensor] = {}
    for key, value in model.state_dict().items():
        ref = to_reference_key(key)
        if ref is None:
            continue
        out[ref] = value.unsqueeze(0) if ref.startswith(PRIOR) else value
        if ref.endswith("._cdf"):
            out[ref + "_shape"] = torch.tensor(value.shape, dtype=torch.int32)
    return out


def save_checkpoint(model: SSICModel, path: str | Path, iteration: int = 0) -> None:
    """Write `model` as a reference-layout checkpoint."""
    torch.save({"iteration": iteration, "parameters": export_state_dict(model)}, Path(path))


def load_state(model: SSICModel, state: Mapping[str, Tensor], source: str = "checkpoint") -> None:
    """Load a reference-layout state dict into `model`; CheckpointError listing missing/unexpected/misshaped keys."""
    expected = export_state_dict(model)
    missing, unexpected = sorted(set(expected) - set(state)), sorted(set(state) - set(expected))
    if missing or unexpected:
        raise CheckpointError(
            f"{source} does not fit SSIC {model.config.variant} {_arch(model.config)}: "
            f"missing keys {_few(missing)}; unexpected keys {_few(unexpected)}"
            " (is config= the architecture the checkpoint was trained with?)"
        )
    tables = {k for k in expected if k.startswith(("y_em._cdf", "z_em._cdf"))}
    misshaped = [
        f"{k} {tuple(state[k].shape)} (model {tuple(v.shape)})"
        for k, v in expected.items()
        if k not in tables and state[k].shape != v.shape
    ]
    if misshaped:
        raise CheckpointError(
            f"{source} has shapes that differ from the configured architecture: {_few(misshaped)}"
            " (is config= the architecture the checkpoint was trained with?)"
        )
    for module in ("y_em", "z_em"):
        cdf = state[f"{module}._cdf"]
        if state[f"{module}._cdf_shape"].tolist() != list(cdf.shape):
            raise CheckpointError(f"{source}: {module}._cdf_shape disagrees with {module}._cdf {tuple(cdf.shape)}")
        try:
            check_tables(cdf, state[f"{module}._cdf_length"], state[f"{module}._cdf_offset"], f"{source} {module}")
        except ValueError as exc:
            raise CheckpointError(str(exc)) from None
    if state["y_em._cdf"].shape[0] != NUM_SCALES:
        raise CheckpointError(f"{source}: y_em tables have {state['y_em._cdf'].shape[0]} scales, not {NUM_SCALES}")
    own = {}
    for key in model.state_dict():
        ref = to_reference_key(key)
        if ref is not None:
            own[key] = state[ref].squeeze(0) if ref.startswith(PRIOR) else state[ref]
    table_keys = {f"{module}.{name}" for module in ("y_em", "z_em") for name in TABLES.values()}
    model.load_state_dict({k: v for k, v in own.items() if k not in table_keys}, strict=False)
    for key in table_keys:  # table buffers take the checkpoint's sizes
        module, name = key.split(".")
        setattr(getattr(model, module), name, own[key].to(model.device, torch.int32).clone())


def load_model(
    path: str | Path,
    variant: str,
    config: str | Path | Mapping[str, Any] | None = None,
    device: str | torch.device = "cpu",
) -> SSICModel:
    """Build the `variant` architecture (with `config` overrides) and load the reference checkpoint at `path`."""
    path = Path(path)
    if not path.is_file():
        raise MissingWeightsError(f"SSIC checkpoint {path} does not exist")
    try:
        checkpoint = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # torch raises assorted types for files that are not checkpoints
        raise CheckpointError(f"{path} is not a readable PyTorch checkpoint ({type(exc).__name__})") from None
    if not isinstance(checkpoint, dict) or not isinstance(checkpoint.get("parameters"), Mapping):
        raise CheckpointError(f"{path} is not in the SSIC layout {{'iteration', 'parameters': state_dict}}")
    model = SSICModel(make_config(variant, config)).to(device).eval()
    load_state(model, checkpoint["parameters"], source=str(path))
    return model


def fingerprint(model: SSICModel) -> str:
    """Short hash of the weights and tables, written into containers so a decoder can tell it has the same model."""
    digest = hashlib.blake2b(digest_size=6)
    for key, value in sorted(export_state_dict(model).items()):
        digest.update(key.encode())
        digest.update(value.detach().cpu().contiguous().numpy().tobytes())
    return digest.hexdigest()


def _arch(config: SSICConfig) -> str:
    return f"(embed_dim_g={list(config.embed_dim_g)}, embed_dim_h={list(config.embed_dim_h)})"


def _few(items: list[str], limit: int = 8) -> str:
    if not items:
        return "none"
    more = f" ... and {len(items) - limit} more" if len(items) > limit else ""
    return ", ".join(items[:limit]) + more
