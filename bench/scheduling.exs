# Measures how long the slowest per-element ops hold a normal scheduler at
# the dirty threshold, to check that no normal-scheduler call exceeds ~1 ms.
#   MIX_ENV=prod mix run bench/scheduling.exs
alias Myelin.{Native, Tensor}

n = Tensor.dirty_threshold() - 1
IO.puts("elements per call just below the dirty threshold: #{n}")

time = fn fun ->
  for _ <- 1..5, do: fun.()
  samples = for _ <- 1..50, do: elem(:timer.tc(fun), 0)
  Enum.at(Enum.sort(samples), 25)
end

for type <- [{:f, 64}, {:f, 32}, {:bf, 16}] do
  t = Tensor.random_uniform({n}, min: 0.1, max: 0.9, type: type)

  for op <- [:erf, :erfc, :sin, :tan, :atanh, :cbrt, :exp, :log, :sigmoid] do
    us = time.(fn -> Native.unary(op, t.ref) end)
    IO.puts("#{inspect(type)} #{op}: median #{us} us")
  end
end

list = Enum.to_list(1..n)
IO.puts("from_list s64: median #{time.(fn -> Native.from_list(list, {:s, 64}, {n}) end)} us")

IO.puts(
  "to_flat_list f64: median #{time.(fn -> Native.to_flat_list(Tensor.iota({n}, type: :f64).ref, n) end)} us"
)

IO.puts(
  "random_normal f64: median #{time.(fn -> Native.random_normal(1, 0.0, 1.0, {:f, 64}, {n}) end)} us"
)
