#!/usr/bin/env bash
# Issue 3's training benchmark: Myelin, PyTorch and JAX on Fashion-MNIST,
# each workload of each framework in its own OS process (so each peak-memory
# figure is one training run's), on 2 threads each. Prints one Markdown table
# with the ratios and targets (bench/compare_train.py) and the machine.
#
#   bench/run_train.sh
#
# Environment: BENCH_EPOCHS (timed MLP epochs after 1 warm-up, default 3),
# BENCH_CNN=0 skips the CNN (about a minute per framework on 2 cores),
# BENCH_CNN_WARMUP (CNN warm-up steps, 20), BENCH_INFER_CALLS (batch-1
# predictions, 5000), BENCH_DATA (default /usr/share/datasets/fashion-mnist).
# Run it on a quiet machine: PyTorch's OpenMP threads slow down by 10x or
# more when another process holds a core.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ -n "${BENCH_DATA:-}" ]; then scripts/setup; else scripts/setup --fashion-mnist; fi
bench/setup_venv.sh
mkdir -p bench/out

export MYELIN_NUM_THREADS=2
export XLA_FLAGS="--xla_cpu_multi_thread_eigen=true intra_op_parallelism_threads=2"
export JAX_PLATFORMS=cpu
export BENCH_EPOCHS=${BENCH_EPOCHS:-3}
BENCH_CNN=${BENCH_CNN:-1}
PY=bench/.venv/bin/python

# On a bigger machine every process gets the same 2 cores.
PIN=()
if [ "$(nproc)" -gt 2 ] && command -v taskset >/dev/null; then PIN=(taskset -c 0,1); fi

load=$(cut -d' ' -f1 /proc/loadavg)
if awk -v l="$load" 'BEGIN { exit !(l > 0.5) }'; then
  echo "run_train: warning: load average is $load; the figures will be noisy" >&2
fi

MIX_ENV=prod mix compile >/dev/null
workloads=(mlp)
[ "$BENCH_CNN" != 0 ] && workloads+=(cnn)
for f in myelin torch jax; do : >"bench/out/train_$f.txt"; done
for w in "${workloads[@]}"; do
  echo "== $w: Myelin" >&2
  "${PIN[@]}" env MIX_ENV=prod mix run bench/train_bench.exs "$w" | tee -a bench/out/train_myelin.txt
  echo "== $w: PyTorch" >&2
  "${PIN[@]}" $PY bench/train_torch.py "$w" | tee -a bench/out/train_torch.txt
  echo "== $w: JAX" >&2
  "${PIN[@]}" $PY bench/train_jax.py "$w" | tee -a bench/out/train_jax.txt
done

echo
echo "Machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs);" \
  "$(free -g | awk '/^Mem:/ { print $2 }') GiB; $(date -u +%Y-%m-%d)"
echo "Versions: Myelin $(git rev-parse --short HEAD), $(elixir --version | tail -1)," \
  "OTP $(erl -noshell -eval 'io:put_chars(erlang:system_info(otp_release)), halt().');" \
  "$($PY --version), $($PY -c 'import torch, jax, jaxlib, optax, numpy;
print("torch", torch.__version__, "jax", jax.__version__, "jaxlib", jaxlib.__version__,
      "optax", optax.__version__, "numpy", numpy.__version__)')"
echo "Settings: $BENCH_EPOCHS timed MLP epochs after 1 warm-up; batch 128; Adam 1e-3; 2 threads each"
echo
$PY bench/compare_train.py bench/out/train_{myelin,torch,jax}.txt
