#!/usr/bin/env bash
# Issue 6's benchmark: Myelin eager vs Myelin.jit on a 10-op elementwise
# chain, beside PyTorch eager and torch.compile, in one run (2 threads each).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup
bench/setup_venv.sh
mkdir -p bench/out
export MYELIN_NUM_THREADS=${MYELIN_NUM_THREADS:-2}
MIX_ENV=prod mix run bench/jit_bench.exs | tee bench/out/myelin_jit.txt
bench/.venv/bin/python bench/jit_torch.py | tee bench/out/torch_jit.txt
echo
echo "Machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs); $(date -u +%Y-%m-%d)"
bench/.venv/bin/python bench/compare.py bench/out/myelin_jit.txt bench/out/torch_jit.txt
