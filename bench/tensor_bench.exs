# Myelin's side of bench/run.sh (issue 2's workloads). Prints one
# `name value unit` line per figure; bench/compare.py sets them beside
# PyTorch's. Run through bench/run.sh, or alone with:
#   MIX_ENV=prod mix run bench/tensor_bench.exs
alias Myelin.Tensor, as: T

defmodule Bench do
  # Median seconds per call of `fun` over `reps` calls, after a warm-up.
  def time(fun, reps) do
    for _ <- 1..max(div(reps, 10), 1), do: fun.()

    samples =
      for _ <- 1..reps do
        {us, _} = :timer.tc(fun)
        us
      end

    Enum.at(Enum.sort(samples), div(reps, 2)) / 1.0e6
  end

  # Mean seconds per call over a tight loop of `n` calls (for tiny ops, where
  # :timer.tc's own cost would dominate one call).
  def per_call(fun, n) do
    for _ <- 1..1000, do: fun.()
    {us, _} = :timer.tc(fn -> loop(fun, n) end)
    us / n / 1.0e6
  end

  defp loop(_fun, 0), do: :ok

  defp loop(fun, n) do
    fun.()
    loop(fun, n - 1)
  end

  def report(name, value, unit), do: IO.puts("#{name} #{Float.round(value * 1.0, 3)} #{unit}")
end

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
