"""SSIC: Semantically Structured Image Compression (ICCV 2023), ported on CompressAI."""
