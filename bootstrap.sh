#!/usr/bin/env bash
# Create (once) the project's virtual environment in .venv, install SSIC-Bench into it, then run the
# given command inside it. Re-installs only when pyproject.toml or constraints.txt change.
#   bash bootstrap.sh python run_bench.py rd --config configs/default.json
#   bash bootstrap.sh python -m pytest
set -euo pipefail
cd "$(dirname "$0")"
PYTHON=${PYTHON:-python3}
VENV=${SSICBENCH_VENV:-.venv}
if [ ! -x "$VENV/bin/python" ]; then
  "$PYTHON" -m venv "$VENV"
fi
stamp="$VENV/.ssicbench-installed"
want=$(cat pyproject.toml constraints.txt | sha256sum | cut -d' ' -f1)
if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  "$VENV/bin/python" -m pip install --quiet --upgrade pip
  "$VENV/bin/python" -m pip install --quiet -c constraints.txt -e '.[test]'
  echo "$want" > "$stamp"
fi
export PATH="$PWD/$VENV/bin:$PATH"
exec "$@"
