if Code.ensure_loaded?(Nx) do
  defmodule Myelin.BackendTest do
    use ExUnit.Case, async: true

    alias Myelin.Backend

    import Myelin.NxHelpers

    defp rand(shape, type \\ :f32, seed \\ 1) do
      key = Nx.Random.key(seed) |> Nx.backend_copy(Nx.BinaryBackend)
      {t, _} = Nx.Random.uniform(key, -2.0, 2.0, shape: shape, type: :f32)
      Nx.as_type(t, type) |> Nx.backend_copy(Nx.BinaryBackend)
    end

    test "to_nx and from_nx share the engine's memory" do
      mt = Myelin.Tensor.iota({2, 3}, type: :f32)
      nx = Backend.to_nx(mt, names: [:rows, nil])
      assert nx.names == [:rows, nil]
      assert Backend.from_nx(nx).ref == mt.ref
      assert Nx.to_binary(nx) == Myelin.Tensor.to_binary(mt)
    end

    test "transfers to and from Nx.BinaryBackend keep the data" do
      t = rand({3, 4}, :f64)
      back = t |> Nx.backend_transfer(Backend) |> Nx.backend_transfer(Nx.BinaryBackend)
      assert %Nx.Tensor{data: %Nx.BinaryBackend{}} = back
      assert Nx.to_binary(back) == Nx.to_binary(t)
      assert Nx.backend_deallocate(my(t)) == :ok
    end

    test "mixed backends: a BinaryBackend operand is read into the engine" do
      a = my(Nx.tensor([1, 2, 3], type: :u8))
      assert %Nx.Tensor{data: %Backend{}} = r = Nx.add(a, Nx.tensor(250, type: :u8))
      assert Nx.to_flat_list(r) == [251, 252, 253]
      # A number takes the tensor's type (Nx's weak scalars) and wraps.
      assert Nx.to_flat_list(Nx.add(a, 255)) == [0, 1, 2]
      assert Nx.type(Nx.add(a, 255)) == {:u, 8}
    end

    test "elementwise ops, type promotion and broadcasting agree with BinaryBackend" do
      x = rand({3, 4})
      y = rand({4}, :f64, 2)
      i = Nx.tensor([[1, -7, 3, 0]], type: :s32)

      for op <- [:add, :subtract, :multiply, :divide, :atan2, :min, :max, :pow],
          do: agree(&apply(Nx, op, [&1, &2]), [Nx.abs(x), y], 1.0e-5)

      for op <- [:equal, :less, :greater_equal, :logical_and, :logical_xor],
          do: agree(&apply(Nx, op, [&1, &2]), [x, y])

      for op <- [:quotient, :remainder, :bitwise_and, :left_shift, :right_shift],
          do: agree(&apply(Nx, op, [&1, &2]), [Nx.add(i, 9), Nx.tensor([1, 2, 3, 4], type: :s8)])

      for op <- [:exp, :log1p, :sigmoid, :tanh, :erf, :erf_inv, :sin, :round, :sign, :cbrt],
          do: agree(&apply(Nx, op, [Nx.divide(&1, 2.5)]), [x], 1.0e-6)

      agree(&Nx.count_leading_zeros/1, [i])
      agree(&Nx.population_count/1, [i])
      agree(&Nx.is_nan/1, [Nx.tensor([1.0, :nan, :infinity])])
      agree(&Nx.as_type(&1, :s16), [Nx.multiply(x, 100)])
      agree(&Nx.bitcast(&1, :u32), [x])
      agree(&Nx.select(Nx.greater(&1, 0), &1, &2), [x, y])
      agree(&Nx.clip(&1, -0.5, 0.5), [x])
    end

    test "reductions, arg-reductions, cumulative ops and sorting agree" do
      x = rand({3, 4, 5})
      i = Nx.tensor([[3, 1, 3], [2, 2, 0]], type: :u8)

      for op <- [:sum, :product, :reduce_max, :reduce_min, :all, :any] do
        agree(&apply(Nx, op, [&1, [axes: [0, 2]]]), [x], 1.0e-5)
        agree(&apply(Nx, op, [&1, [axes: [1], keep_axes: true]]), [i])
      end

      agree(&Nx.argmax(&1, axis: 1, tie_break: :high), [i])
      agree(&Nx.argmin(&1, axis: 2, keep_axis: true), [x])
      agree(&Nx.cumulative_sum(&1, axis: 1, reverse: true), [i])
      agree(&Nx.cumulative_max(&1, axis: 2), [x])
      agree(&Nx.sort(&1, axis: 1, direction: :desc), [x])
      agree(&Nx.argsort(&1, axis: 1), [i])
      agree(&Nx.sum(&1), [i])
      agree(&Nx.mean(&1, axes: [1]), [x], 1.0e-5)
      agree(&Nx.logsumexp(&1, axes: [2]), [x], 1.0e-5)
    end

    test "shape ops and indexing agree, including axes: permutations" do
      x = rand({3, 4, 5})

      agree(&Nx.transpose(&1, axes: [2, 0, 1]), [x])
      agree(&Nx.reshape(&1, {4, 15}), [x])
      agree(&Nx.pad(&1, 0.5, [{1, -1, 1}, {0, 2, 0}, {-2, 0, 0}]), [x])
      agree(&Nx.reverse(&1, axes: [1]), [x])
      agree(&Nx.slice(&1, [1, 0, 2], [2, 3, 2], strides: [1, 2, 1]), [x])
      # Start indices are clamped so the slice fits.
      agree(&Nx.slice(&1, [2, 3, 4], [2, 2, 2]), [x])
      agree(&Nx.put_slice(&1, [2, 3, 0], Nx.broadcast(9.0, {2, 2, 5})), [x])
      agree(&Nx.concatenate([&1, &1], axis: 1), [x])
      agree(&Nx.broadcast(&1, {2, 3, 4, 5}), [x])
      agree(&Nx.take(&1, Nx.tensor([3, 0, 3]), axis: 1), [x])

      agree(
        &Nx.take_along_axis(&1, Nx.broadcast(Nx.tensor([[[1], [0], [3], [2]]]), {3, 4, 1}),
          axis: 2
        ),
        [x]
      )

      idx = Nx.tensor([[1, 4], [0, 2], [2, 2]])
      agree(&Nx.gather(&1, idx, axes: [0, 2]), [x])
      agree(&Nx.indexed_add(&1, idx, Nx.broadcast(1.0, {3, 4}), axes: [0, 2]), [x])

      agree(
        &Nx.indexed_put(&1, Nx.tensor([[1, 1]]), Nx.tensor([[7.0, 8, 9, 10, 11]]), axes: [0, 1]),
        [x]
      )

      agree(&Nx.dot(&1, [2], [0], &2, [1], [0]), [x, rand({3, 5, 2}, :f32, 3)], 1.0e-5)
      agree(&Nx.dot(&1, &2), [rand({4, 5}), rand({5, 3}, :s64, 4)], 1.0e-5)
    end

    test "to_batched repeats or discards the leftover" do
      t = my(Nx.iota({5, 2}))
      assert [_, _, last] = t |> Nx.to_batched(2) |> Enum.to_list()
      assert Nx.to_flat_list(last) == [8, 9, 0, 1]
      assert [_, _] = t |> Nx.to_batched(2, leftover: :discard) |> Enum.to_list()
    end

    test "conv agrees with BinaryBackend, with groups, dilation, padding and permutations" do
      x = rand({2, 4, 7, 6})
      k = rand({6, 2, 3, 2}, :f32, 5)
      opts = [strides: [2, 1], padding: [{1, 2}, {0, 1}], feature_group_size: 2]
      agree(&Nx.conv(&1, &2, opts), [x, k], 1.0e-5)

      agree(
        &Nx.conv(&1, &2, kernel_dilation: [2, 1], input_dilation: [1, 2]),
        [x, rand({3, 4, 2, 2})],
        1.0e-5
      )

      nhwc = Nx.transpose(x, axes: [0, 2, 3, 1])
      perm = [input_permutation: [0, 3, 1, 2], output_permutation: [0, 3, 1, 2], padding: :same]
      agree(&Nx.conv(&1, &2, perm), [nhwc, rand({5, 4, 3, 3})], 1.0e-5)
      # Integer operands give a float result.
      agree(&Nx.conv(&1, &2), [Nx.iota({1, 1, 4}), Nx.tensor([[[1, -1]]])])
      # A case the engine does not cover falls back, counted.
      # Negative padding (crops), batch groups: on the engine too.
      before = Backend.fallback_counts()[:conv]
      agree(&Nx.conv(&1, &2, padding: [{-1, 0}, {0, -2}]), [x, rand({6, 4, 3, 2})], 1.0e-5)

      agree(
        &Nx.conv(&1, &2, padding: [{-1, 2}, {1, -1}], strides: [2, 1]),
        [x, rand({6, 4, 2, 2})],
        1.0e-5
      )

      batches = rand({4, 3, 5, 5}, :f32, 7)
      agree(&Nx.conv(&1, &2, batch_group_size: 2), [batches, rand({6, 3, 2, 2}, :f32, 8)], 1.0e-5)

      agree(
        &Nx.conv(&1, &2, batch_group_size: 4, padding: :same),
        [batches, rand({4, 3, 3, 3})],
        1.0e-5
      )

      assert Backend.fallback_counts()[:conv] == before

      # A crop of a dilated input: the counted fallback.
      agree(
        &Nx.conv(&1, &2, padding: [{-1, 0}, {0, 0}], input_dilation: [2, 1]),
        [x, rand({6, 4, 3, 2})],
        1.0e-5
      )

      assert Backend.fallback_counts()[:conv] == before + 1
    end

    # Nx.map/3 exists up to Nx 0.12.
    @tag skip: if(function_exported?(Nx, :map, 3), do: false, else: "Nx.map/3 is gone in this Nx")
    test "user functions run through the counted fallback" do
      before = Backend.fallback_counts()[:map]
      t = my(Nx.tensor([1, 2, 3]))
      assert apply(Nx, :map, [t, &Nx.add(&1, 1)]) |> Nx.to_flat_list() == [2, 3, 4]
      assert Backend.fallback_counts()[:map] == before + 1
    end

    test "numbers in expressions reuse one engine scalar per process" do
      scalar = Nx.tensor(1.5, backend: Nx.BinaryBackend)
      again = Nx.tensor(1.5, backend: Nx.BinaryBackend)
      assert Backend.from_nx(scalar).ref == Backend.from_nx(again).ref
      other = Nx.tensor(1.5, type: :f64, backend: Nx.BinaryBackend)
      refute Backend.from_nx(other).ref == Backend.from_nx(scalar).ref
      assert Myelin.Tensor.to_number(Backend.from_nx(other)) == 1.5
    end

    # Nx 0.13's callbacks are defined whichever Nx is compiled in; these
    # call them directly so they are tested on Nx 0.7 too.
    test "stack/3 casts, adds the axis and concatenates" do
      a = my(Nx.tensor([1, 2], type: :s32))
      b = my(Nx.tensor([3.5, 4.5]))
      out = %{Nx.iota({2, 2}, type: :f32) | names: [nil, nil]}
      got = Backend.stack(out, [a, b], 1)
      assert Nx.to_flat_list(got) == [1.0, 3.5, 2.0, 4.5]
      assert Nx.type(got) == {:f, 32}
    end

    test "block/4 runs the blocks the engine has and defers the rest to Nx's default" do
      t = my(Nx.tensor([[3, 1], [4, 2]]))
      never = fn _, _ -> flunk("the default must not run for a native block") end
      take = %{__struct__: Nx.Block.Take, axis: 1}
      out = %{t | shape: {2, 1}, names: [nil, nil]}
      got = Backend.block(take, out, [t, my(Nx.tensor([1]))], fn _, _, _ -> flunk("default") end)
      assert Nx.to_flat_list(got) == [1, 2]

      cum = %{__struct__: Nx.Block.CumulativeSum, axis: 0, reverse: true}
      assert Backend.block(cum, t, [t], never) |> Nx.to_flat_list() == [7, 3, 4, 2]

      unknown = %{__struct__: Nx.Block.SomethingElse}

      assert Backend.block(unknown, t, [t], fn ^unknown, x -> Nx.negate(x) end)
             |> Nx.to_flat_list() ==
               [-3, -1, -4, -2]
    end

    test "local pointers share the engine's memory; foreign ones are refused" do
      t = my(Nx.tensor([[1.5, 2.0], [3.0, 4.0]]))
      pointer = Backend.to_pointer(t, mode: :local)
      assert %{kind: :local, data_size: 16, handle: nil, address: address} = pointer
      assert is_integer(address) and address > 0

      same = Backend.from_pointer(pointer, {:f, 32}, {4}, [], names: [:x])
      assert Nx.to_flat_list(same) == [1.5, 2.0, 3.0, 4.0]
      assert same.names == [:x]
      # The same memory, not a copy.
      assert Backend.to_pointer(same, []).address == address
      # Another type of the same size reads the same bytes (a copy).
      bits = Backend.from_pointer(pointer, {:u, 32}, {2, 2}, [], [])
      assert Nx.to_binary(bits) == Nx.to_binary(t)

      z = my(Nx.tensor([Complex.new(1, -2)]))
      zp = Backend.to_pointer(z, [])

      assert Backend.from_pointer(zp, {:c, 64}, {1}, [], []) |> Nx.to_flat_list() == [
               Complex.new(1, -2)
             ]

      assert_raise ArgumentError,
                   ~r/from_pointer: address 0x3039 is not the memory of a live Myelin tensor/,
                   fn ->
                     Backend.from_pointer(%{pointer | address: 12345}, {:f, 32}, {4}, [], [])
                   end

      assert_raise ArgumentError, ~r/from_pointer: the memory at .* holds 16 bytes/, fn ->
        Backend.from_pointer(pointer, {:f, 32}, {3}, [], [])
      end

      assert_raise ArgumentError, ~r/only mode: :local pointers are supported, got :ipc/, fn ->
        Backend.to_pointer(t, mode: :ipc)
      end

      assert_raise ArgumentError, ~r/only mode: :local pointers are supported, got :ipc/, fn ->
        Backend.from_pointer(%{pointer | kind: :ipc}, {:f, 32}, {4}, [], [])
      end
    end

    test "inspect prints as BinaryBackend does" do
      t = Nx.iota({2, 3}, type: :f32, names: [:x, nil])
      assert inspect(my(t)) == inspect(t)
      assert inspect(my(t), limit: 2) == inspect(t, limit: 2)
    end

    test "backend options are validated" do
      assert Nx.iota({2}, backend: {Backend, device: :cpu}) |> Nx.to_flat_list() == [0, 1]

      assert_raise ArgumentError, ~r/unknown option \{:device, :gpu\}/, fn ->
        Nx.default_backend({Backend, device: :gpu})
      end
    end
  end
end
