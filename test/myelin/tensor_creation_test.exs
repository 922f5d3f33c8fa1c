defmodule Myelin.TensorCreationTest do
  use ExUnit.Case, async: true
  alias Myelin.Tensor, as: T
  import Bitwise

  @all_types [u: 8, u: 16, u: 32, u: 64, s: 8, s: 16, s: 32, s: 64, f: 16, bf: 16, f: 32, f: 64]

  describe "tensor/2" do
    test "infers s64 for integers and f32 for floats" do
      assert T.type(T.tensor([1, 2])) == {:s, 64}
      assert T.type(T.tensor([1, 2.0])) == {:f, 32}
      assert T.type(T.tensor(:nan)) == {:f, 32}
      assert T.shape(T.tensor(3)) == {}
    end

    test "round-trips every type" do
      for type <- @all_types do
        t = T.tensor([[0, 1], [2, 3]], type: type)
        assert T.type(t) == type
        assert T.shape(t) == {2, 2}

        assert T.to_list(t) ==
                 if(elem(type, 0) in [:f, :bf],
                   do: [[0.0, 1.0], [2.0, 3.0]],
                   else: [[0, 1], [2, 3]]
                 )
      end
    end

    test "wraps integers that overflow the type, as Nx does" do
      assert T.to_flat_list(T.tensor([256, -1], type: :u8)) == [0, 255]

      assert T.to_flat_list(T.tensor([18_446_744_073_709_551_615], type: :u64)) == [
               18_446_744_073_709_551_615
             ]
    end

    test "zero-sized shapes" do
      assert T.shape(T.tensor([])) == {0}
      assert T.to_list(T.tensor([[], []])) == [[], []]
      assert T.shape(T.tensor([[], []])) == {2, 0}
    end

    test "rejects ragged lists, bad elements, bad options" do
      assert_raise ArgumentError, ~r/tensor: nested lists must be rectangular/, fn ->
        T.tensor([[1, 2], [3]])
      end

      assert_raise ArgumentError, ~r/tensor: expected numbers/, fn -> T.tensor([1, "2"]) end

      assert_raise ArgumentError, ~r/tensor: unknown option :typ/, fn ->
        T.tensor([1], typ: :f32)
      end

      assert_raise ArgumentError, ~r/tensor: unknown type :f8/, fn -> T.tensor([1], type: :f8) end

      assert_raise ArgumentError, ~r/cannot store :nan in a tensor of type \{:s, 32\}/, fn ->
        T.tensor([:nan], type: :s32)
      end

      assert_raise ArgumentError, ~r/does not fit in 64 bits/, fn -> T.tensor([1 <<< 70]) end
    end
  end

  describe "from_binary/3 and to_binary/1" do
    test "round-trip without changing bytes" do
      bin = <<1.5::float-32-native, -2.0::float-32-native>>
      t = T.from_binary(bin, :f32)
      assert T.shape(t) == {2}
      assert T.to_binary(t) == bin
    end

    test "to_binary hands out the tensor's own memory, not a copy" do
      t = T.iota({1000}, type: :f64)
      # Both calls return the very same binary: the one over the tensor's storage.
      assert :erts_debug.same(T.to_binary(t), T.to_binary(t))
      # A copy would be a refc binary of its own 8000 bytes; this one refers to
      # the (small) resource object that owns the tensor's storage.
      bin = T.to_binary(t)
      assert byte_size(bin) == 8000
      assert :binary.referenced_byte_size(bin) < 8000
    end

    test "reject a size mismatch, naming both sizes" do
      assert_raise ArgumentError,
                   "from_binary: binary of 3 bytes does not match shape {2} of type {:u, 16} (4 bytes expected)",
                   fn -> T.from_binary(<<1, 2, 3>>, :u16, shape: {2}) end
    end
  end

  describe "full, zeros, ones, iota, eye" do
    test "fill values of every type" do
      for type <- @all_types do
        assert T.to_flat_list(T.full({2}, 3, type: type)) |> Enum.map(&(&1 * 1.0)) == [3.0, 3.0]
      end
    end

    test "iota along each axis, and flat" do
      assert T.to_list(T.iota({2, 2, 2}, axis: 1)) == [[[0, 0], [1, 1]], [[0, 0], [1, 1]]]
      assert T.to_list(T.iota({3}, type: :bf16)) == [0.0, 1.0, 2.0]
      assert T.to_list(T.iota({2, 0})) == [[], []]
    end

    test "iota rejects an axis out of range" do
      assert_raise ArgumentError,
                   "iota: axis 2 is out of range for a tensor of shape {2, 3} (rank 2)",
                   fn ->
                     T.iota({2, 3}, axis: 2)
                   end
    end

    test "eye builds batched identities and rejects rank 1" do
      assert T.to_list(T.eye({2, 2, 3}, type: :u8)) ==
               [[[1, 0, 0], [0, 1, 0]], [[1, 0, 0], [0, 1, 0]]]

      assert_raise ArgumentError, ~r/eye: expected a shape of rank 2 or more, got \{3\}/, fn ->
        T.eye({3})
      end
    end

    test "shapes must be tuples of non-negative integers" do
      assert_raise ArgumentError, ~r/full: expected a shape tuple/, fn -> T.full([2], 1) end

      assert_raise ArgumentError,
                   ~r/zeros: expected a shape tuple|full: expected a shape tuple/,
                   fn ->
                     T.zeros({-1})
                   end
    end
  end

  describe "random" do
    test "is reproducible from the seed and differs across seeds" do
      a = T.random_uniform({100}, seed: 7) |> T.to_flat_list()
      assert a == T.random_uniform({100}, seed: 7) |> T.to_flat_list()
      refute a == T.random_uniform({100}, seed: 8) |> T.to_flat_list()
      assert Enum.all?(a, &(&1 >= 0.0 and &1 < 1.0))
    end

    test "is the same for small and large (dirty, multi-threaded) tensors" do
      small = T.random_normal({1000}, seed: 3) |> T.to_flat_list()
      large = T.random_normal({200_000}, seed: 3) |> T.to_flat_list() |> Enum.take(1000)
      assert small == large
    end

    test "pins the first values of seed 0, so generator changes are deliberate" do
      assert T.random_uniform({2}, type: :f64) |> T.to_flat_list() ==
               [0.8833108082136426, 0.43152799704850997]
    end

    test "integer uniform gives whole numbers in [min, max)" do
      v = T.random_uniform({1000}, min: 0, max: 3, type: :s32) |> T.to_flat_list()
      assert Enum.uniq(v) |> Enum.sort() == [0, 1, 2]
    end

    test "reject bad bounds, types and seeds" do
      assert_raise ArgumentError, ~r/random_uniform: expected finite bounds with min < max/, fn ->
        T.random_uniform({2}, min: 1.0, max: 0.0)
      end

      assert_raise ArgumentError, ~r/random_normal: expected a float type, got \{:s, 32\}/, fn ->
        T.random_normal({2}, type: :s32)
      end

      assert_raise ArgumentError, ~r/random_uniform: expected seed:/, fn ->
        T.random_uniform({2}, seed: -1)
      end
    end
  end
end
