#!/usr/bin/env bash
# Runs Myelin's and PyTorch's benchmarks in one go and prints them side by
# side. PyTorch is pip-installed into bench/.venv on first use.
# Both sides use 2 threads (MYELIN_NUM_THREADS / torch.set_num_threads).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup
bench/setup_venv.sh
mkdir -p bench/out
export MYELIN_NUM_THREADS=${MYELIN_NUM_THREADS:-2}
MIX_ENV=prod mix run bench/tensor_bench.exs | tee bench/out/myelin.txt
bench/.venv/bin/python bench/torch_bench.py | tee bench/out/torch.txt
echo
echo "Machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs); $(date -u +%Y-%m-%d)"
bench/.venv/bin/python bench/compare.py bench/out/myelin.txt bench/out/torch.txt
