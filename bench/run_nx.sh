#!/usr/bin/env bash
# Issue 4's benchmark: Myelin.Backend vs Nx.BinaryBackend and vs the engine
# called directly. Needs NX_PATH: a local Nx 0.7 checkout (docs/NX_BACKEND.md).
set -euo pipefail
cd "$(dirname "$0")/.."
: "${NX_PATH:?set NX_PATH to a local Nx 0.7 checkout (see docs/NX_BACKEND.md)}"
export MYELIN_NUM_THREADS=${MYELIN_NUM_THREADS:-2}
mkdir -p bench/out
MIX_ENV=prod mix run bench/nx_backend_bench.exs | tee bench/out/nx_backend.txt
echo "Machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs); $(date -u +%Y-%m-%d)"
