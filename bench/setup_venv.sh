#!/usr/bin/env bash
# Creates bench/.venv with PyTorch (CPU use) for the side-by-side benchmarks.
set -euo pipefail
cd "$(dirname "$0")"
if [ ! -x .venv/bin/python ]; then
  python3 -m venv .venv
fi
if ! .venv/bin/python -c 'import torch' 2>/dev/null; then
  .venv/bin/pip install --quiet --upgrade pip
  .venv/bin/pip install --quiet torch numpy
fi
.venv/bin/python -c 'import torch; print("torch", torch.__version__)'
