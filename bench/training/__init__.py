"""Training of SSIC variants and CompressAI architectures: single process, DDP via torchrun, exact resume."""

__all__ = []
