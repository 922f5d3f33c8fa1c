# Issue 4's benchmark: Myelin.Backend against Nx.BinaryBackend, and against
# calling Myelin's engine directly (Myelin.Tensor), in one run. Needs Nx:
#
#     NX_PATH=/path/to/nx/nx bench/run_nx.sh
#
# (docs/NX_BACKEND.md says how to build a local Nx without Hex.)
Code.require_file("bench_lib.exs", __DIR__)

defmodule NxBench do
  alias Myelin.Tensor, as: MT

  # Ten elementwise ops on a 10-element tensor (each stays in range).
  def chain(x) do
    x
    |> Nx.add(1.0)
    |> Nx.multiply(0.5)
    |> Nx.exp()
    |> Nx.log()
    |> Nx.tanh()
    |> Nx.abs()
    |> Nx.sqrt()
    |> Nx.subtract(0.25)
    |> Nx.negate()
    |> Nx.sigmoid()
  end

  def mt_chain(x) do
    x
    |> MT.add(1.0)
    |> MT.multiply(0.5)
    |> MT.exp()
    |> MT.log()
    |> MT.tanh()
    |> MT.abs()
    |> MT.sqrt()
    |> MT.subtract(0.25)
    |> MT.negate()
    |> MT.sigmoid()
  end

  def run do
    key = Nx.Random.key(42) |> Nx.backend_transfer(Nx.BinaryBackend)
    on = fn t, backend -> Nx.backend_copy(t, backend) end

    small = Nx.iota({10}, type: :f32, backend: Nx.BinaryBackend) |> Nx.divide(10)
    {a512, _} = Nx.Random.uniform(key, shape: {512, 512}, type: :f32)
    {img, _} = Nx.Random.uniform(key, shape: {128, 1, 28, 28}, type: :f32)
    {ker, _} = Nx.Random.uniform(key, shape: {32, 1, 3, 3}, type: :f32)
    big = Nx.iota({16_777_216}, type: :f32, backend: Nx.BinaryBackend) |> Nx.divide(1.0e6)

    IO.puts("# Myelin.Backend vs Nx.BinaryBackend and the engine called directly")

    # Small ops: per op, through Nx's dispatch.
    s_my = on.(small, Myelin.Backend)
    s_mt = Myelin.Backend.from_nx(s_my)
    per_op_my = Bench.per_call(fn -> chain(s_my) end, 20_000) / 10
    per_op_bin = Bench.per_call(fn -> chain(small) end, 2_000) / 10
    per_op_mt = Bench.per_call(fn -> mt_chain(s_mt) end, 20_000) / 10
    Bench.report("small_op_myelin_backend_us", per_op_my * 1.0e6, "us")
    Bench.report("small_op_engine_direct_us", per_op_mt * 1.0e6, "us")
    Bench.report("small_op_binary_backend_us", per_op_bin * 1.0e6, "us")

    # dot 512x512.
    a_my = on.(a512, Myelin.Backend)
    a_mt = Myelin.Backend.from_nx(a_my)
    dot_my = Bench.time(fn -> Nx.dot(a_my, a_my) end, 30)
    dot_mt = Bench.time(fn -> MT.dot(a_mt, a_mt) end, 30)
    dot_bin = Bench.time(fn -> Nx.dot(a512, a512) end, 1)
    Bench.report("dot512_myelin_backend_ms", dot_my * 1.0e3, "ms")
    Bench.report("dot512_engine_direct_ms", dot_mt * 1.0e3, "ms")
    Bench.report("dot512_binary_backend_ms", dot_bin * 1.0e3, "ms")
    Bench.report("dot512_backend_over_direct", dot_my / dot_mt, "x")

    # conv2d: 32 3x3 filters over 128x1x28x28 (BinaryBackend: 8 images, scaled).
    i_my = on.(img, Myelin.Backend)
    k_my = on.(ker, Myelin.Backend)
    {i_mt, k_mt} = {Myelin.Backend.from_nx(i_my), Myelin.Backend.from_nx(k_my)}
    conv_my = Bench.time(fn -> Nx.conv(i_my, k_my) end, 30)
    conv_mt = Bench.time(fn -> MT.conv(i_mt, k_mt) end, 30)
    conv_bin = Bench.time(fn -> Nx.conv(img[0..7], ker) end, 1) * 16
    Bench.report("conv_myelin_backend_ms", conv_my * 1.0e3, "ms")
    Bench.report("conv_engine_direct_ms", conv_mt * 1.0e3, "ms")
    Bench.report("conv_binary_backend_ms_scaled_from_8_images", conv_bin * 1.0e3, "ms")
    Bench.report("conv_backend_over_direct", conv_my / conv_mt, "x")

    # sum over 2^24 elements.
    b_my = on.(big, Myelin.Backend)
    b_mt = Myelin.Backend.from_nx(b_my)
    sum_my = Bench.time(fn -> Nx.sum(b_my) end, 30)
    sum_mt = Bench.time(fn -> MT.sum(b_mt) end, 30)
    sum_bin = Bench.time(fn -> Nx.sum(big) end, 1)
    Bench.report("sum_2^24_myelin_backend_ms", sum_my * 1.0e3, "ms")
    Bench.report("sum_2^24_engine_direct_ms", sum_mt * 1.0e3, "ms")
    Bench.report("sum_2^24_binary_backend_ms", sum_bin * 1.0e3, "ms")
    Bench.report("sum_backend_over_direct", sum_my / sum_mt, "x")
  end
end

NxBench.run()
