#!/usr/bin/env bash
# Runs Myelin's and PyTorch's benchmarks in one go and prints them side by
# side. PyTorch is pip-installed into bench/.venv on first use.
# Both sides use 2 threads (MYELIN_NUM_THREADS / torch.set_num_threads).
# BENCH_ROUNDS (default 3) rounds alternate the two sides; compare.py sets
# each side's best round side by side and shows the spread.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup
bench/setup_venv.sh
mkdir -p bench/out
export MYELIN_NUM_THREADS=${MYELIN_NUM_THREADS:-2}
MIX_ENV=prod mix compile
: > bench/out/myelin.txt
: > bench/out/torch.txt
for round in $(seq "${BENCH_ROUNDS:-3}"); do
  echo "round $round"
  MIX_ENV=prod mix run bench/tensor_bench.exs | tee -a bench/out/myelin.txt
  bench/.venv/bin/python bench/torch_bench.py | tee -a bench/out/torch.txt
done
echo
echo "Machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs); $(date -u +%Y-%m-%d)"
bench/.venv/bin/python bench/compare.py bench/out/myelin.txt bench/out/torch.txt
