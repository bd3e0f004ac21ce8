"""Codecs behind one interface (`Codec`, `StructuredCodec`, `Bitstream`) and a registry (`create_codec`)."""

from ssicbench.codecs.base import Codec, StructuredCodec
from ssicbench.codecs.bitstream import Bitstream
from ssicbench.codecs.factory import create_codec, is_structured, list_codecs
from ssicbench.codecs.registry import register_codec
from ssicbench.errors import BitstreamError

__all__ = [
    "Bitstream",
    "BitstreamError",
    "Codec",
    "StructuredCodec",
    "create_codec",
    "is_structured",
    "list_codecs",
    "register_codec",
]
