#!/usr/bin/env bash
# Creates bench/.venv with PyTorch (CPU use) for the side-by-side benchmarks,
# and JAX (CPU) with optax for the training benchmark (bench/run_train.sh).
set -euo pipefail
cd "$(dirname "$0")"
if [ ! -x .venv/bin/python ]; then
  python3 -m venv .venv
fi
if ! .venv/bin/python -c 'import torch' 2>/dev/null; then
  .venv/bin/pip install --quiet --upgrade pip
  .venv/bin/pip install --quiet torch numpy
fi
if ! .venv/bin/python -c 'import jax, optax' 2>/dev/null; then
  .venv/bin/python -m pip install --quiet "jax[cpu]" optax
fi
.venv/bin/python -c 'import torch, jax, optax; print("torch", torch.__version__, "jax", jax.__version__, "optax", optax.__version__)'
