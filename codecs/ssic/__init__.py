"""SSIC: Semantically Structured Image Compression (ICCV 2023), ported on CompressAI.

The codecs ssic-charm, ssic-wostructure, ssic-hyper and the bundled ssic-tiny are registered by
`ssicbench.codecs.catalog`; the names below are imported on first use, so that importing a light
submodule (masks, config) does not import torch.
"""

from importlib import import_module
from typing import Any

_EXPORTS = {
    "CheckpointError": "ssicbench.codecs.ssic.checkpoint",
    "load_model": "ssicbench.codecs.ssic.checkpoint",
    "save_checkpoint": "ssicbench.codecs.ssic.checkpoint",
    "SSICCodec": "ssicbench.codecs.ssic.codec",
    "StructuredSSICCodec": "ssicbench.codecs.ssic.codec",
    "SSICConfig": "ssicbench.codecs.ssic.config",
    "SSIC_VARIANTS": "ssicbench.codecs.ssic.config",
    "make_config": "ssicbench.codecs.ssic.config",
    "SSICModel": "ssicbench.codecs.ssic.model",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name not in _EXPORTS:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(import_module(_EXPORTS[name]), name)
