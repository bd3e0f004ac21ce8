"""Classical image codecs (JPEG, WebP, JPEG 2000, AVIF, JPEG XL, HEIF) run through their libraries.

Each stores the library's file byte for byte as the container's only section, so a codec's bpp is the
real file size plus the container's small fixed header (about 70 bytes).
"""

from __future__ import annotations

import importlib.util
import io
from abc import abstractmethod
from collections.abc import Callable
from typing import Any

import numpy as np
from PIL import Image

from ssicbench.codecs.base import Codec, check_image
from ssicbench.codecs.bitstream import Bitstream
from ssicbench.codecs.registry import register_codec
from ssicbench.errors import BenchError, BitstreamError, MissingLibraryError, UsageError
from ssicbench.validate import check_value

try:
    import imagecodecs
except ImportError:  # the codecs that need it say so (`run_bench.py codecs`); JPEG and HEIF still run
    imagecodecs = None

__all__ = [
    "NO_WEIGHTS",
    "PAYLOAD",
    "Avif",
    "Heif",
    "ImagecodecsCodec",
    "Jpeg2000",
    "JpegXl",
    "PillowJpeg",
    "SinglePayloadCodec",
    "Webp",
    "library_check",
]

PAYLOAD = "image"
NO_WEIGHTS = "none (classical codec)"


class SinglePayloadCodec(Codec):
    """A codec whose output is one opaque file, kept as the section `PAYLOAD` with no extra params.

    Subclasses give the valid quality range and turn an image into that file and back.
    """

    quality_range: tuple[float, float] = (0, 100)
    whole_quality: bool = True  # the library takes whole quality numbers (50.9 would be coded as 50)
    max_side: int = 65_535  # the largest width or height the format stores

    def encode(self, image: np.ndarray, quality: Any, **opts: Any) -> Bitstream:
        """Compress `image` with the library at `quality` (see the subclass for its meaning); an image the library
        cannot code (too large, ...) is a BenchError naming its size."""
        check_image(image)
        self.check_quality(quality)
        height, width = image.shape[:2]
        if max(height, width) > self.max_side:
            raise BenchError(
                f"{self.name}: images up to {self.max_side} x {self.max_side} pixels, this one is {width} x {height}"
            )
        bitstream = self._new_bitstream(image)
        try:
            payload = self._encode_payload(np.ascontiguousarray(image), quality)
        except BenchError:
            raise
        except Exception as exc:  # the libraries raise assorted types on input they cannot code
            message = " ".join(str(exc).split())
            raise BenchError(
                f"{self.name}: cannot code this {width} x {height} image ({type(exc).__name__}: {message})"
            ) from exc
        bitstream.sections[PAYLOAD] = bytes(payload)
        return bitstream

    def check_quality(self, quality: Any) -> None:
        """A number in `quality_range` (a whole number where `whole_quality`), else UsageError."""
        low, high = self.quality_range
        if isinstance(quality, bool) or not isinstance(quality, (int, float)) or not low <= quality <= high:
            raise UsageError(f"{self.name}: quality must be a number in [{low:g}, {high:g}], got {quality!r}")
        if self.whole_quality and quality != int(quality):
            raise UsageError(f"{self.name}: quality must be a whole number, got {quality!r}")

    def decode(self, bitstream: Bitstream, **opts: Any) -> np.ndarray:
        """Decode the payload; anything the library cannot decode, or of the wrong size, is a BitstreamError."""
        self._check(bitstream)
        payload = bitstream.section(PAYLOAD)
        try:
            image = np.asarray(self._decode_payload(payload, bitstream.height, bitstream.width))
        except BenchError:
            raise
        except Exception as exc:  # the libraries raise assorted types on malformed input
            message = " ".join(str(exc).split())
            raise BitstreamError(f"{self.name}: payload is not decodable ({type(exc).__name__}: {message})") from exc
        expected = (bitstream.height, bitstream.width, 3)
        if image.shape != expected or image.dtype != np.uint8:
            raise BitstreamError(
                f"{self.name}: payload decodes to {image.shape} {image.dtype}, container says {expected} uint8"
            )
        return image

    @abstractmethod
    def _encode_payload(self, image: np.ndarray, quality: Any) -> bytes:
        """The library's file for `image` (HxWx3 uint8, C-contiguous)."""

    @abstractmethod
    def _decode_payload(self, payload: bytes, height: int, width: int) -> np.ndarray:
        """The image in `payload`; may raise anything on malformed input."""


@register_codec(
    "jpeg",
    qualities=[5, 10, 20, 30, 40, 50, 60, 70, 75, 80, 90, 95],
    description="JPEG via Pillow (libjpeg-turbo), 4:2:0, quality 0-100",
    weights=NO_WEIGHTS,
)
class PillowJpeg(SinglePayloadCodec):
    """Baseline JPEG as Pillow writes it with 4:2:0 chroma, the setting of CompressAI's published curve."""

    def _encode_payload(self, image: np.ndarray, quality: Any) -> bytes:
        out = io.BytesIO()
        Image.fromarray(image).save(out, format="JPEG", quality=int(quality), subsampling="4:2:0")
        return out.getvalue()

    def _decode_payload(self, payload: bytes, height: int, width: int) -> np.ndarray:
        with Image.open(io.BytesIO(payload), formats=["JPEG"]) as img:
            return np.asarray(img.convert("RGB"))


def library_check(flag: str) -> Callable[[], str]:
    """A registry `check`: "" when imagecodecs was built with `flag`, else why not."""

    def check() -> str:
        if imagecodecs is None:
            return "library missing: imagecodecs (pip install imagecodecs)"
        return "" if getattr(imagecodecs, flag).available else f"library missing: imagecodecs without {flag}"

    return check


def _heif_check() -> str:
    return "" if importlib.util.find_spec("pillow_heif") else "library missing: pillow-heif"


class ImagecodecsCodec(SinglePayloadCodec):
    """A codec from `imagecodecs`; `library` names its feature flag (imagecodecs.<library>.available)."""

    library: str = ""

    def __init__(self) -> None:
        if imagecodecs is None:
            raise MissingLibraryError(f"{self.library} needs the imagecodecs package (pip install imagecodecs)")
        if not getattr(imagecodecs, self.library).available:
            raise MissingLibraryError(
                f"imagecodecs {imagecodecs.__version__} is built without {self.library}; "
                f"install a build that has it (pip install -U imagecodecs)"
            )


@register_codec(
    "webp",
    qualities=[0, 5, 10, 20, 30, 40, 50, 60, 70, 80, 90],
    description="lossy WebP via imagecodecs (libwebp), quality 0-100",
    check=library_check("WEBP"),
    weights=NO_WEIGHTS,
)
class Webp(ImagecodecsCodec):
    """Lossy WebP (4:2:0, libwebp's only lossy mode)."""

    library = "WEBP"
    whole_quality = False  # libwebp's quality is a float
    max_side = 16_383

    def _encode_payload(self, image: np.ndarray, quality: Any) -> bytes:
        return imagecodecs.webp_encode(image, level=float(quality), lossless=False)

    def _decode_payload(self, payload: bytes, height: int, width: int) -> np.ndarray:
        return imagecodecs.webp_decode(payload, hasalpha=False)


@register_codec(
    "jpeg2000",
    qualities=[26, 28, 30, 32, 34, 36, 38, 40, 42],
    description="JPEG 2000 codestream via imagecodecs (OpenJPEG); quality is the target PSNR in dB",
    check=library_check("JPEG2K"),
    weights=NO_WEIGHTS,
)
class Jpeg2000(ImagecodecsCodec):
    """JPEG 2000 (irreversible 9/7 wavelet, colour transform), raw J2K codestream; quality = target PSNR (dB)."""

    library = "JPEG2K"
    quality_range = (1, 100)
    whole_quality = False  # a target PSNR in dB

    def _encode_payload(self, image: np.ndarray, quality: Any) -> bytes:
        return imagecodecs.jpeg2k_encode(image, level=quality, codecformat="J2K")

    def _decode_payload(self, payload: bytes, height: int, width: int) -> np.ndarray:
        return imagecodecs.jpeg2k_decode(payload)


@register_codec(
    "avif",
    qualities=[10, 20, 30, 40, 50, 60, 70, 80],
    check=library_check("AVIF"),
    description="AVIF via imagecodecs (libavif), 4:4:4, speed 6 (option speed=0..10), quality 0-100",
    weights=NO_WEIGHTS,
)
class Avif(ImagecodecsCodec):
    """AV1 still images in AVIF, 4:4:4; `speed` is libavif's 0 (slowest) .. 10 (fastest), 6 as in avifenc."""

    library = "AVIF"

    def __init__(self, speed: int = 6, pixelformat: str = "444") -> None:
        super().__init__()
        check_value(speed, int, "avif: option speed", high=10)
        check_value(pixelformat, str, "avif: option pixelformat", choices=("444", "422", "420", "400"))
        self.speed = speed
        self.pixelformat = pixelformat

    def _encode_payload(self, image: np.ndarray, quality: Any) -> bytes:
        return imagecodecs.avif_encode(image, level=int(quality), speed=self.speed, pixelformat=self.pixelformat)

    def _decode_payload(self, payload: bytes, height: int, width: int) -> np.ndarray:
        return imagecodecs.avif_decode(payload)


@register_codec(
    "jpegxl",
    qualities=[0, 10, 20, 30, 40, 50, 60, 70, 80, 90],
    description="JPEG XL via imagecodecs (libjxl), quality 0-100 (mapped to butteraugli distance)",
    check=library_check("JPEGXL"),
    weights=NO_WEIGHTS,
)
class JpegXl(ImagecodecsCodec):
    """JPEG XL (VarDCT), bare codestream; `effort` is libjxl's 1..9 (7 is cjxl's default)."""

    library = "JPEGXL"

    def __init__(self, effort: int = 7) -> None:
        super().__init__()
        check_value(effort, int, "jpegxl: option effort", low=1, high=9)
        self.effort = effort

    def _encode_payload(self, image: np.ndarray, quality: Any) -> bytes:
        return imagecodecs.jpegxl_encode(image, level=int(quality), effort=self.effort)

    def _decode_payload(self, payload: bytes, height: int, width: int) -> np.ndarray:
        return imagecodecs.jpegxl_decode(payload)


@register_codec(
    "heif",
    qualities=[5, 10, 15, 20, 25, 30, 35, 40, 45, 50, 55, 60],
    description="HEVC still image (HEIF) via pillow-heif (libheif + x265), 4:4:4, quality 0-100",
    check=_heif_check,
    weights=NO_WEIGHTS,
)
class Heif(SinglePayloadCodec):
    """HEVC intra coding in a HEIF file; `chroma` is "444" or "420"."""

    def __init__(self, chroma: str = "444") -> None:
        check_value(chroma, str, "heif: option chroma", choices=("444", "422", "420"))
        try:
            import pillow_heif
        except ImportError as exc:
            raise MissingLibraryError(f"heif needs the pillow-heif package (pip install pillow-heif): {exc}") from None
        if not pillow_heif.libheif_info().get("HEIF"):
            raise MissingLibraryError("pillow-heif has no HEVC encoder (libheif built without x265)")
        self.chroma = chroma
        self._pillow_heif = pillow_heif

    def _encode_payload(self, image: np.ndarray, quality: Any) -> bytes:
        out = io.BytesIO()
        heif = self._pillow_heif.from_bytes(mode="RGB", size=(image.shape[1], image.shape[0]), data=image.tobytes())
        heif.save(out, quality=int(quality), chroma=int(self.chroma))
        return out.getvalue()

    def _decode_payload(self, payload: bytes, height: int, width: int) -> np.ndarray:
        return np.asarray(self._pillow_heif.open_heif(payload, convert_hdr_to_8bit=True))
