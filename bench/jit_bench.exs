# Myelin's side of bench/run_jit.sh (issue 6): a chain of 10 elementwise
# ops on 2^20 f32 called eagerly and compiled with Myelin.jit, and the
# per-call cost of a compiled small function. Prints `name value unit`
# lines for bench/compare.py. Alone:
#   MIX_ENV=prod mix run bench/jit_bench.exs
alias Myelin.Tensor, as: T
Code.require_file("bench_lib.exs", __DIR__)

# A residual GELU (tanh approximation), 10 elementwise ops:
# x + 0.5 * x * (1 + tanh(0.7978845608 * (x + 0.044715 * x^3))).
chain = fn x ->
  inner = x |> T.multiply(x) |> T.multiply(x) |> T.multiply(0.044715) |> T.add(x)
  t = inner |> T.multiply(0.7978845608) |> T.tanh()
  t |> T.add(1.0) |> T.multiply(x) |> T.multiply(0.5) |> T.add(x)
end

x = T.random_normal({1_048_576}, seed: 1)
jitted = Myelin.jit(chain)
eager_out = chain.(x)
jit_out = jitted.(x)
max_diff = eager_out |> T.subtract(jit_out) |> T.abs() |> T.reduce_max() |> T.to_number()
IO.puts("# jit vs eager max abs difference: #{max_diff}")

eager_s = Bench.time(fn -> chain.(x) end, 40)
jit_s = Bench.time(fn -> jitted.(x) end, 40)
Bench.report("chain10_2p20_eager_us", eager_s * 1.0e6, "us")
Bench.report("chain10_2p20_jit_us", jit_s * 1.0e6, "us")
IO.puts("# jit speed-up over eager: #{Float.round(eager_s / jit_s, 2)}x")

# Per-call cost of a compiled small function (2 ops on 10 elements): the
# whole call from Elixir (signature, cache lookup, one engine call).
small = T.random_normal({10}, seed: 2)
small_fun = fn v -> v |> T.multiply(2.0) |> T.add(1.0) end
small_jit = Myelin.jit(small_fun)

Bench.report(
  "small_jit_call_us",
  Bench.per_call(fn -> small_jit.(small) end, 100_000) * 1.0e6,
  "us"
)

Bench.report(
  "small_eager_call_us",
  Bench.per_call(fn -> small_fun.(small) end, 100_000) * 1.0e6,
  "us"
)

Bench.report("chain10_10_jit_us", Bench.per_call(fn -> jitted.(small) end, 100_000) * 1.0e6, "us")
