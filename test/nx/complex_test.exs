if Code.ensure_loaded?(Nx) do
  defmodule Myelin.Backend.ComplexTest do
    # Complex tensors on Myelin.Backend, each op checked against
    # Nx.BinaryBackend on the same inputs.
    use ExUnit.Case, async: true

    alias Myelin.Backend

    import Myelin.NxHelpers

    # Random complex values with both parts in (-2, 2), on BinaryBackend.
    defp crand(shape, type \\ :c64, seed \\ 1) do
      key = Nx.Random.key(seed) |> Nx.backend_copy(Nx.BinaryBackend)
      {re, key} = Nx.Random.uniform(key, -2.0, 2.0, shape: shape, type: :f64)
      {im, _} = Nx.Random.uniform(key, -2.0, 2.0, shape: shape, type: :f64)
      Nx.complex(re, im) |> Nx.as_type(type) |> Nx.backend_copy(Nx.BinaryBackend)
    end

    test "the engine tensor is the pair tensor: Nx's bytes, no conversion" do
      t = Nx.tensor([Complex.new(1, 2), Complex.new(-3, 0.5)], backend: Backend)
      pair = Backend.from_nx(t)
      assert {pair.shape, pair.type} == {{2, 2}, {:f, 32}}
      assert Myelin.Tensor.to_flat_list(pair) == [1.0, 2.0, -3.0, 0.5]
      assert Nx.to_binary(t) == Nx.to_binary(Nx.backend_copy(t, Nx.BinaryBackend))
      assert inspect(t) == inspect(Nx.backend_copy(t, Nx.BinaryBackend))
      c128 = Nx.tensor([Complex.new(:nan, :infinity)], type: :c128, backend: Backend)
      assert Nx.to_flat_list(c128) == [Complex.new(:nan, :infinity)]
    end

    test "creation and type conversion" do
      for type <- [:c64, :c128] do
        assert Nx.iota({2, 3}, type: type, backend: Backend) |> Nx.to_binary() ==
                 Nx.iota({2, 3}, type: type, backend: Nx.BinaryBackend) |> Nx.to_binary()

        assert Nx.eye(3, type: type, backend: Backend) |> Nx.to_binary() ==
                 Nx.eye(3, type: type, backend: Nx.BinaryBackend) |> Nx.to_binary()

        assert Nx.tensor(Complex.new(1, -1), backend: Backend)
               |> Nx.broadcast({2})
               |> Nx.as_type(type)
               |> Nx.to_flat_list() == [Complex.new(1, -1), Complex.new(1, -1)]
      end

      z = crand({5})
      agree(&Nx.as_type(&1, :c128), [z])
      agree(&Nx.as_type(&1, :f32), [z])
      agree(&Nx.as_type(&1, :s32), [z])
      agree(&Nx.as_type(&1, :c64), [Nx.tensor([1, -2, 3])])
    end

    test "data movement keeps the pair axis last" do
      z = crand({2, 3, 4})
      agree(&Nx.reshape(&1, {6, 4}), [z])
      agree(&Nx.transpose(&1, axes: [2, 0, 1]), [z])
      agree(&Nx.broadcast(&1, {5, 2, 3, 4}), [z])
      agree(&Nx.broadcast(&1, {4, 2, 3}, axes: [0, 2]), [crand({4, 3})])
      agree(&Nx.pad(&1, Complex.new(1, 2), [{1, 0, 1}, {0, 2, 0}, {0, 0, 0}]), [z])
      agree(&Nx.slice(&1, [1, 0, 1], [1, 2, 2], strides: [1, 2, 1]), [z])
      agree(&Nx.put_slice(&1, [0, 1, 1], crand({1, 2, 2}, :c64, 2)), [z])
      agree(&Nx.concatenate([&1, &2], axis: 1), [z, crand({2, 1, 4})])
      agree(&Nx.reverse(&1, axes: [0, 2]), [z])
      agree(&Nx.take(&1, Nx.tensor([2, 0, 2]), axis: 1), [z])

      agree(&Nx.take_along_axis(&1, Nx.tensor([[[0], [2]], [[1], [1]]]), axis: 2), [
        crand({2, 2, 3})
      ])

      agree(&Nx.gather(&1, Nx.tensor([[1, 2], [0, 3]]), axes: [0, 2]), [z])
      agree(&Nx.indexed_add(&1, Nx.tensor([[0, 1], [1, 2]]), crand({2, 4})), [z])
      agree(&Nx.indexed_put(&1, Nx.tensor([[1, 2]]), crand({1, 4})), [z])

      agree(&Nx.select(Nx.tensor([[1, 0, 1], [0, 0, 1]]), &1, &2), [
        crand({2, 3}),
        crand({2, 3}, :c64, 3)
      ])

      agree(&Nx.stack([&1, &2], axis: 1), [crand({2}), crand({2})])

      batches = z |> my() |> Nx.to_batched(2) |> Enum.to_list()
      assert Enum.map(batches, &Nx.to_binary/1) == [Nx.to_binary(z)]
    end

    test "arithmetic and comparisons, with broadcasting and real operands" do
      {a, b} = {crand({3, 4}), crand({4}, :c64, 2)}
      for fun <- [&Nx.add/2, &Nx.subtract/2, &Nx.multiply/2, &Nx.divide/2], do: agree(fun, [a, b])
      agree(&Nx.pow/2, [a, b], 1.0e-5)
      agree(&Nx.multiply/2, [a, Nx.tensor([1.0, -2.0, 0.0, 3.5])])
      agree(&Nx.divide/2, [Nx.tensor(3.0), a])
      # Purely real or imaginary divisors take Complex's shortcuts.
      agree(&Nx.divide/2, [a, Nx.tensor([Complex.new(2, 0), Complex.new(0, -4), 1, 3])])
      agree(&Nx.equal/2, [a, Nx.slice(a, [0, 0], [1, 4])])
      agree(&Nx.not_equal/2, [a, a])
      agree(&Nx.complex/2, [Nx.tensor([1.0, -2.0]), Nx.tensor([0.5, 3.0])])
      # pow follows Complex.pow: 0 ** 0 = 1, exponents 1 and -1 exactly.
      zeros =
        Nx.tensor([Complex.new(0, 0), Complex.new(0, 0), Complex.new(2, 1), Complex.new(2, 1)])

      exps =
        Nx.tensor([Complex.new(0, 0), Complex.new(2, 1), Complex.new(1, 0), Complex.new(-1, 0)])

      agree(&Nx.pow/2, [zeros, exps])
      # Logical ops read non-zero complex elements as true.
      flags =
        Nx.tensor([Complex.new(0, 0), Complex.new(0, 2), Complex.new(1, 0), Complex.new(0, 0)])

      other =
        Nx.tensor([Complex.new(0, 0), Complex.new(0, 0), Complex.new(3, 1), Complex.new(0, 1)])

      assert Nx.logical_and(my(flags), my(other)) |> Nx.to_flat_list() == [0, 0, 1, 0]
      assert Nx.logical_or(my(flags), my(other)) |> Nx.to_flat_list() == [0, 1, 1, 1]
      assert Nx.logical_xor(my(flags), my(other)) |> Nx.to_flat_list() == [0, 1, 0, 1]
      assert Nx.logical_not(my(flags)) |> Nx.to_flat_list() == [1, 0, 0, 1]
    end

    test "element-wise functions" do
      z = crand({12}, :c128)

      # sign: z / |z| as in NumPy and PyTorch (BinaryBackend compares a
      # Complex struct with 0 and returns 1 for every complex element).
      sign = Nx.sign(my(Nx.tensor([Complex.new(3, -4), Complex.new(0, 0)])))

      assert Nx.to_flat_list(sign) == [
               Complex.new(0.6000000238418579, -0.800000011920929),
               Complex.new(0.0, 0.0)
             ]

      for op <- Myelin.Backend.Complex.unary_ops() -- [:conjugate, :sign] do
        agree(&apply(Nx, op, [&1]), [z], 1.0e-9)
      end

      for op <- [:abs, :real, :imag, :phase, :conjugate], type <- [:c64, :c128] do
        agree(&apply(Nx, op, [&1]), [Nx.as_type(z, type)])
      end

      special = Nx.tensor([Complex.new(:nan, 0), Complex.new(1, :infinity), Complex.new(1, 2)])
      agree(&Nx.is_nan/1, [special])
      agree(&Nx.is_infinity/1, [special])
      # |z| of exact parts is exact (scaled, so it cannot overflow).
      agree(&Nx.abs/1, [
        Nx.tensor([Complex.new(3, 4), Complex.new(0, -2), Complex.new(1.0e30, 1.0e30)])
      ])
    end

    test "reductions, dot and convolution" do
      z = crand({2, 3, 4})
      agree(&Nx.sum/1, [z])
      agree(&Nx.sum(&1, axes: [0, 2], keep_axes: true), [z])
      agree(&Nx.product(&1, axes: [1]), [z], 1.0e-5)
      agree(&Nx.product(&1, axes: [2], keep_axes: true), [z], 1.0e-5)
      agree(&Nx.product/1, [crand({7}, :c128)], 1.0e-9)
      # all/any test for non-zero elements. (BinaryBackend's all/1 compares
      # a Complex struct with 0 and finds every complex element non-zero.)
      assert Nx.all(my(Nx.tensor([Complex.new(0, 1), Complex.new(0, 0)]))) |> Nx.to_number() == 0
      agree(&Nx.all/1, [Nx.tensor([Complex.new(0, 1), Complex.new(2, 0)])])
      agree(&Nx.any(&1, axes: [0]), [Nx.tensor([[Complex.new(0, 0)], [Complex.new(0, 1)]])])
      agree(&Nx.cumulative_sum(&1, axis: 1), [z])
      agree(&Nx.window_sum(&1, {1, 2, 2}, strides: [1, 1, 2], padding: :same), [z])
      # Running products run on the engine; window products of complex
      # values on the counted fallback. (BinaryBackend has no running
      # product of its own: Nx's default computes it, on either backend.)
      want = Nx.cumulative_product(z, axis: 2, reverse: true)
      got = Nx.cumulative_product(my(z), axis: 2, reverse: true)
      compare(Nx.to_flat_list(got), Nx.to_flat_list(want), 1.0e-5)
      assert Nx.to_flat_list(Nx.cumulative_product(my(z), axis: 1)) |> length() == 24
      before = Backend.fallback_counts()[:window_product]
      agree(&Nx.window_product(&1, {1, 2, 1}), [z], 1.0e-5)
      assert Backend.fallback_counts()[:window_product] > before
      agree(&Nx.dot/2, [crand({3, 4}), crand({4, 2}, :c64, 2)], 1.0e-5)
      agree(&Nx.dot(&1, [2], [0], &2, [1], [0]), [z, crand({2, 4, 5}, :c64, 3)], 1.0e-5)
      agree(&Nx.dot/2, [crand({3, 4}), Nx.iota({4})], 1.0e-5)

      agree(
        &Nx.conv(&1, &2, strides: [1, 2], padding: :same),
        [crand({1, 2, 4, 5}), crand({3, 2, 2, 2}, :c64, 4)],
        1.0e-5
      )
    end

    test "Fourier transforms agree with BinaryBackend's" do
      x = crand({3, 8}, :c128)

      for n <- [8, 5, 12, 3] do
        agree(&Nx.fft(&1, length: n), [x], 1.0e-12)
        agree(&Nx.ifft(&1, length: n), [x], 1.0e-12)
      end

      agree(&Nx.fft(&1, axis: 0), [x], 1.0e-12)
      agree(&Nx.fft2/1, [crand({2, 3, 4})], 1.0e-6)
      agree(&Nx.ifft2(&1, lengths: [2, 6]), [crand({2, 3, 4})], 1.0e-6)
      agree(&Nx.fft/1, [Nx.tensor([1.0, 2.0, 3.0, 4.0, 5.0])], 1.0e-6)
      # Bluestein's algorithm: a length >= 1024 that is not a power of two.
      agree(&Nx.fft/1, [crand({1030}, :c128)], 1.0e-9)
      round_trip = x |> my() |> Nx.fft() |> Nx.ifft()
      compare(Nx.to_flat_list(round_trip), Nx.to_flat_list(x), 1.0e-12)
    end

    test "complex LU and triangular solves run on the explicit, counted fallback" do
      # (Nx 0.13 computes the LU of a determinant with its default
      # implementation, over engine ops, so the fallback runs only on 0.7.)
      before = Backend.fallback_counts()[:lu]
      m = crand({4, 4}, :c128)
      agree(&Nx.LinAlg.determinant/1, [m], 1.0e-9)

      if {:lu, 3} in Nx.Backend.behaviour_info(:callbacks),
        do: assert(Backend.fallback_counts()[:lu] > before)

      before = Backend.fallback_counts()[:triangular_solve]
      a = Nx.tensor([[Complex.new(2, 1), 0], [Complex.new(1, -1), Complex.new(0, 3)]])
      agree(&Nx.LinAlg.triangular_solve/2, [a, crand({2})], 1.0e-6)
      assert Backend.fallback_counts()[:triangular_solve] > before
    end

    test "ops not defined for complex numbers raise naming the op" do
      z = my(crand({3}))
      out = %{z | data: nil}

      assert_raise ArgumentError,
                   ~r/Myelin.Backend.remainder: remainder is not defined for complex/,
                   fn ->
                     Backend.remainder(out, z, z)
                   end

      assert_raise ArgumentError,
                   ~r/Myelin.Backend.greater: greater is not defined for complex/,
                   fn ->
                     Backend.greater(%{out | type: {:u, 8}}, z, z)
                   end

      assert_raise ArgumentError,
                   ~r/Myelin.Backend.sort: expected a real tensor, got a complex one/,
                   fn ->
                     Backend.sort(out, z, axis: 0, direction: :asc)
                   end

      assert_raise ArgumentError, ~r/Myelin.Backend.erf: erf is not defined for complex/, fn ->
        Backend.erf(out, z)
      end

      assert_raise ArgumentError, ~r/Myelin.Backend.reduce_max: reduce_max is not defined/, fn ->
        Backend.reduce_max(%{out | shape: {}}, z, axes: [0], keep_axes: false)
      end
    end
  end
end
