#!/usr/bin/env python3
"""SSIC-Bench command line: `python run_bench.py --help` (the package must be installed; see README)."""

import sys

try:
    from ssicbench.cli import main
except ModuleNotFoundError as exc:
    if exc.name != "ssicbench":
        raise
    sys.exit("ssicbench is not installed: run `bash bootstrap.sh python run_bench.py ...` (see README.md)")

if __name__ == "__main__":
    sys.exit(main())
