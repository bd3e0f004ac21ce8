"""SSIC-Bench: rate-distortion and downstream-task evaluation of learned image codecs.

The package maps the repository's folders: `bench/` is `ssicbench` (harness: data, metrics, sweep,
reports, CLI), `codecs/` is `ssicbench.codecs`, `tasks/` is `ssicbench.tasks`.
"""

__all__ = []

__version__ = "0.1.0"
