"""Codecs behind one interface (`Codec`, `Bitstream`) and a registry (`create_codec`)."""

from ssicbench.codecs.base import Codec
from ssicbench.codecs.bitstream import Bitstream
from ssicbench.codecs.registry import create_codec, list_codecs, register_codec
from ssicbench.errors import BitstreamError

__all__ = ["Bitstream", "BitstreamError", "Codec", "create_codec", "list_codecs", "register_codec"]
