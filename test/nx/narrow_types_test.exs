if Code.ensure_loaded?(Nx) do
  defmodule Myelin.Backend.NarrowTypesTest do
    # Nx 0.13's f8 and sub-byte types on Myelin.Backend, against
    # Nx.BinaryBackend. Nx 0.7 has neither type.
    use ExUnit.Case, async: true

    alias Myelin.Backend

    @nx13 {:block, 4} in Nx.Backend.behaviour_info(:callbacks)
    unless @nx13, do: @moduletag(skip: "f8 and sub-byte types need Nx 0.13")

    defp my(t), do: Nx.backend_copy(t, Backend)

    # `fun` on BinaryBackend tensors and on their Myelin.Backend copies:
    # the same type, shape and bits.
    defp agree(fun, args) do
      expected = apply(fun, args)
      got = apply(fun, Enum.map(args, &if(is_struct(&1, Nx.Tensor), do: my(&1), else: &1)))
      assert %Nx.Tensor{data: %Backend{}} = got
      assert {got.type, got.shape} == {expected.type, expected.shape}
      assert Nx.to_binary(got) == Nx.to_binary(expected)
      got
    end

    # (No zeros: on OTP 25, Nx.Floating.load_f8 reads 0.0 as -0.0, since
    # the two are one literal there.)
    @f8_values [1.0, -2.5, 0.3, 100.0, 448.0, 1.0e5, -1.0e-3, :infinity, :nan]

    test "f8 values print, convert and compute as on BinaryBackend" do
      for type <- [:f8, :f8_e4m3fn] do
        t = Nx.tensor(@f8_values, type: type, backend: Nx.BinaryBackend)
        agree(&Function.identity/1, [t])
        agree(&Nx.as_type(&1, :f32), [t])
        agree(&Nx.as_type(&1, type), [Nx.tensor([0.1, 1.7, -3.3, 500.0, 1.0e-4])])
        # From f64, rounded once (just below 1.0625 gives 1.0 in E4M3FN, not 1.125).
        agree(&Nx.as_type(&1, type), [Nx.tensor([1.0625 - 2.0 ** -40, 3.0e-3], type: :f64)])
        agree(&Nx.multiply(&1, 3), [t])
        agree(&Nx.add/2, [t, Nx.reverse(t)])
        agree(&Nx.exp/1, [Nx.tensor([0.5, -1.0, 2.0], type: type)])
        agree(&Nx.sum/1, [Nx.tensor([1.0, 2.0, 3.5], type: type)])
        agree(&Nx.reshape(&1, {9, 1}), [t])
        assert inspect(my(t)) == inspect(t)

        # (Built from bits: OTP 25 reads the literal -0.0 as 0.0.)
        zeros = Nx.from_binary(<<0::32-native, 0x80000000::32-native>>, :f32, backend: Backend)
        assert zeros |> Nx.as_type(type) |> Nx.to_binary() == <<0, 0x80>>

        agree(&Nx.bitcast(&1, :u8), [t])
        agree(&Nx.bitcast(&1, type), [Nx.tensor([0x38, 0x7B, 0x81], type: :u8)])
        assert Nx.iota({3}, type: type, backend: Backend) |> Nx.to_flat_list() == [0.0, 1.0, 2.0]
      end
    end

    test "every f8 byte but NaN's survives a trip through the engine" do
      for type <- [:f8, :f8_e4m3fn] do
        bytes = for b <- 0..255, into: <<>>, do: <<b>>
        t = Nx.from_binary(bytes, type, backend: Nx.BinaryBackend)
        back = t |> my() |> Nx.backend_transfer(Nx.BinaryBackend)
        nan = t |> Nx.is_nan() |> Nx.to_flat_list()

        Enum.zip([:binary.bin_to_list(bytes), :binary.bin_to_list(Nx.to_binary(back)), nan])
        |> Enum.each(fn {b, got, is_nan} -> if is_nan == 0, do: assert(got == b) end)
      end
    end

    test "sub-byte integers wrap, pack and convert as on BinaryBackend" do
      for type <- [:s2, :s4, :u2, :u4] do
        {_, bits} = Nx.Type.normalize!(type)
        t = Nx.tensor([0, 1, -1, 3, 5], type: type, backend: Nx.BinaryBackend)
        got = agree(&Function.identity/1, [t])
        assert Nx.to_binary(got) == Nx.to_binary(t)
        assert bit_size(Nx.to_binary(got)) == 5 * bits
        agree(&Nx.add(&1, &1), [t])
        agree(&Nx.multiply(&1, &1), [t])
        agree(&Nx.as_type(&1, :s32), [t])
        agree(&Nx.as_type(&1, type), [Nx.tensor([7, -9, 300])])
        agree(&Nx.slice(&1, [1], [3]), [t])
        agree(&Nx.sum/1, [t])
        assert Nx.to_binary(my(t), limit: 2) == Nx.to_binary(t, limit: 2)
      end

      agree(&Nx.bitcast(&1, :u4), [Nx.tensor([-8, -1, 7], type: :s4)])

      # Floats truncate, then wrap; NaN is 0 and infinities saturate.
      floats = Nx.tensor([-1.0, 200.0, 7.9, -8.5, :infinity, :neg_infinity, :nan])
      for type <- [:s4, :u4, :s2, :u2], do: agree(&Nx.as_type(&1, type), [floats])

      # Bits are counted in the type's own width. (BinaryBackend has no
      # clz for sub-byte types.)
      t = my(Nx.tensor([0, 1, -1, 2], type: :s4))
      assert Nx.count_leading_zeros(t) |> Nx.to_flat_list() == [4, 3, 0, 2]
      assert Nx.population_count(t) |> Nx.to_flat_list() == [0, 1, 4, 1]
      u = my(Nx.tensor([0, 1, 3, 2], type: :u2))
      assert Nx.count_leading_zeros(u) |> Nx.to_flat_list() == [2, 1, 0, 0]
      assert Nx.population_count(u) |> Nx.to_flat_list() == [0, 1, 2, 1]
    end

    test "pointers to f8 and sub-byte tensors are refused" do
      assert_raise ArgumentError, ~r/pointers to \{:f, 8\} tensors are not supported/, fn ->
        Backend.to_pointer(my(Nx.tensor([1.0], type: :f8)), [])
      end

      assert_raise ArgumentError, ~r/pointers to \{:s, 4\} tensors are not supported/, fn ->
        Backend.from_pointer(%{kind: :local, address: 1}, {:s, 4}, {1}, [], [])
      end
    end
  end
end
