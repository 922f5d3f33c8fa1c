# Myelin's side of bench/run.sh (issue 2's workloads). Prints one
# `name value unit` line per figure; bench/compare.py sets them beside
# PyTorch's. Run through bench/run.sh, or alone with:
#   MIX_ENV=prod mix run bench/tensor_bench.exs
alias Myelin.Tensor, as: T

Code.require_file("bench_lib.exs", __DIR__)

# 1. Small-op overhead: one elementwise op on a 1-element tensor, called from Elixir.
one = T.tensor([1.0])
Bench.report("small_op_negate_us", Bench.per_call(fn -> T.negate(one) end, 200_000) * 1.0e6, "us")

if function_exported?(T, :add, 2) do
  Bench.report(
    "small_op_add_us",
    Bench.per_call(fn -> T.add(one, one) end, 200_000) * 1.0e6,
    "us"
  )
end

# 2. Elementwise add of 2^24 f32 (bytes moved: two reads and one write),
#    against copying the same bytes (one read, one write).
n = 16_777_216
a = T.random_uniform({n}, seed: 1)
b = T.random_uniform({n}, seed: 2)
bin = T.to_binary(a)
copy_s = Bench.time(fn -> :binary.copy(bin) end, 20)
Bench.report("memcpy_gbs", 2 * 4 * n / copy_s / 1.0e9, "GB/s")

if function_exported?(T, :add, 2) do
  add_s = Bench.time(fn -> T.add(a, b) end, 20)
  Bench.report("add_2p24_gbs", 3 * 4 * n / add_s / 1.0e9, "GB/s")
end

# 3. GEMM GFLOP/s, f32, square.
if function_exported?(T, :dot, 2) do
  for size <- [128, 512, 2048] do
    x = T.random_uniform({size, size}, seed: 3)
    y = T.random_uniform({size, size}, seed: 4)
    reps = if size == 2048, do: 5, else: 30
    s = Bench.time(fn -> T.dot(x, y) end, reps)
    Bench.report("gemm_#{size}_gflops", 2 * size * size * size / s / 1.0e9, "GFLOP/s")
  end
end
