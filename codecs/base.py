"""The codec interface: every codec, classical or learned, encodes an RGB image to a `Bitstream` and back."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np

from ssicbench.codecs.bitstream import Bitstream
from ssicbench.errors import BitstreamError, UsageError

__all__ = ["Codec", "StructuredCodec", "check_image"]


class Codec(ABC):
    """One image codec. Images are HxWx3 uint8 RGB arrays; quality points are codec-specific numbers.

    Subclasses set `qualities` (the default points of an RD sweep, low rate to high rate) and implement
    `encode`/`decode`. `decode` learns everything it needs from the container; keyword options only carry
    what a container cannot (a checkpoint path, the groups to decode, a device).
    """

    name: str = ""
    qualities: Sequence[Any] = ()

    @abstractmethod
    def encode(self, image: np.ndarray, quality: Any, **opts: Any) -> Bitstream:
        """Compress `image` at `quality` into a container."""

    @abstractmethod
    def decode(self, bitstream: Bitstream, **opts: Any) -> np.ndarray:
        """Reconstruct the image (HxWx3 uint8) from a container written by `encode`."""

    def check_quality(self, quality: Any) -> None:
        """Raise UsageError when `quality` is not a point this codec can encode at (checked before any work).

        This default asks only for a value a container header can carry (a number or a string).
        """
        if isinstance(quality, bool) or not isinstance(quality, (int, float, str)):
            raise UsageError(f"{self.name}: quality must be a number or a name, got {quality!r}")

    def fingerprint(self, quality: Any) -> str:
        """What identifies the weights used at `quality` (a content hash; "" for codecs without weights).

        Result rows are keyed by it, so new weights under the same name are never mistaken for old ones.
        """
        return ""

    def networks(self, quality: Any) -> list[Any]:
        """The neural networks (torch modules) that code at `quality`, for parameter and MAC counts
        (`ssicbench.complexity`); [] for a codec that has none."""
        return []

    def _new_bitstream(self, image: np.ndarray, **params: Any) -> Bitstream:
        height, width = image.shape[:2]
        return Bitstream(self.name, int(height), int(width), params)

    def _check(self, bitstream: Bitstream) -> None:
        if bitstream.codec != self.name:
            raise BitstreamError(f"container was written by codec {bitstream.codec!r}, not {self.name!r}")

    def __repr__(self) -> str:
        return f"{self.__class__.__name__}(name={self.name!r})"


class StructuredCodec(Codec):
    """A codec that codes an image as independently decodable groups of cells (SSIC's partial decoding).

    The caller gives a group mask: ids 0..255, one per square cell of `mask_cell` pixels, of shape
    `mask_shape(H, W)`. `receive` cuts what a receiver fetching only some groups gets: a container that
    `decode` reads and whose serialized size is what those groups cost. How groups are laid out inside the
    container is the codec's own business. Register with `register_codec(..., structured=True)`.
    """

    mask_cell: int  # pixels per side of a mask cell; every subclass sets it

    @abstractmethod
    def encode(self, image: np.ndarray, quality: Any, mask: np.ndarray | None = None, **opts: Any) -> Bitstream:
        """Compress `image`, one group per id of `mask` (shape `mask_shape(H, W)`; None: one group 0)."""

    @abstractmethod
    def groups(self, bitstream: Bitstream) -> list[int]:
        """The ids of the groups whose data the container holds, ascending."""

    @abstractmethod
    def receive(self, bitstream: Bitstream, groups: Iterable[int]) -> Bitstream:
        """What a receiver fetching only `groups` of a full container gets; BitstreamError for absent groups.

        With no groups it is the side information alone (what a receiver reads before choosing groups).
        """

    def mask_shape(self, height: int, width: int) -> tuple[int, int]:
        """Shape of the group mask of a `height` x `width` image: one id per `mask_cell`-pixel cell."""
        return -(-height // self.mask_cell), -(-width // self.mask_cell)


def check_image(image: np.ndarray) -> np.ndarray:
    """Validate the interface's image type: HxWx3 uint8."""
    if not isinstance(image, np.ndarray) or image.dtype != np.uint8 or image.ndim != 3 or image.shape[2] != 3:
        raise TypeError(f"codecs take HxWx3 uint8 RGB arrays, got {getattr(image, 'shape', type(image))}")
    return image
