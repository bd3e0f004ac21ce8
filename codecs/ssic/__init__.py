"""SSIC: Semantically Structured Image Compression (ICCV 2023), ported on CompressAI.

Importing this package registers the codecs ssic-charm, ssic-wostructure, ssic-hyper and the bundled ssic-tiny.
"""

from ssicbench.codecs.ssic import bundled  # noqa: F401  (registers ssic-tiny)
from ssicbench.codecs.ssic.checkpoint import CheckpointError, load_model, save_checkpoint
from ssicbench.codecs.ssic.codec import SSICCodec
from ssicbench.codecs.ssic.config import SSICConfig, make_config
from ssicbench.codecs.ssic.masks import generate_group_mask, load_group_mask, mask_shape
from ssicbench.codecs.ssic.model import SSICModel

__all__ = [
    "CheckpointError",
    "SSICCodec",
    "SSICConfig",
    "SSICModel",
    "generate_group_mask",
    "load_group_mask",
    "load_model",
    "make_config",
    "mask_shape",
    "save_checkpoint",
]
