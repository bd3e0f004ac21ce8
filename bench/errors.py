"""Errors a user can act on; the CLI prints them as one line instead of a traceback."""

__all__ = [
    "BenchError",
    "BitstreamError",
    "CheckpointError",
    "ExecutorError",
    "ExternalProgramError",
    "ImageReadError",
    "MaskError",
    "MetricError",
    "MissingBinaryError",
    "MissingLibraryError",
    "MissingWeightsError",
    "UnknownNameError",
    "UsageError",
    "WeightsMismatchError",
]


class BenchError(Exception):
    """Base of every error SSIC-Bench reports to the user as a one-line message."""


class BitstreamError(BenchError, ValueError):
    """A container or codec payload that is truncated, corrupted or otherwise not decodable."""


class UnknownNameError(BenchError, KeyError):
    """A codec, dataset or detector name that no registry knows."""

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0])


class MissingWeightsError(BenchError, FileNotFoundError):
    """Pretrained weights that are neither cached nor at the given path."""


class MissingBinaryError(BenchError, FileNotFoundError):
    """An external encoder/decoder program (bpgenc, EncoderApp, ...) that is not installed."""


class MissingLibraryError(BenchError, ImportError):
    """A codec library (or one of its codecs) that is not installed or was built without it."""


class ExternalProgramError(BenchError, RuntimeError):
    """An external encoder/decoder program that ran and failed."""


class CheckpointError(BenchError, ValueError):
    """A weights file that is not a checkpoint of the expected layout (missing/unexpected/misshaped keys)."""


class ImageReadError(BenchError, ValueError):
    """A file that cannot be read as an image."""


class MaskError(BenchError, ValueError):
    """A group mask of the wrong size or type."""


class UsageError(BenchError, ValueError):
    """A command-line argument or option that does not fit (quality, codec option, output path, config)."""


class MetricError(BenchError, ValueError):
    """A metric that cannot be computed for this image (e.g. MS-SSIM on an image under 161 px)."""


class WeightsMismatchError(BenchError, ValueError):
    """Model files on a worker that differ from those the driver planned the run with."""


class ExecutorError(BenchError, RuntimeError):
    """An executor that cannot run the jobs: Ray not installed, a cluster not reachable, resources it lacks."""
