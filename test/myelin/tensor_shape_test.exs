defmodule Myelin.TensorShapeTest do
  use ExUnit.Case, async: true
  alias Myelin.Tensor, as: T
  import Myelin.TensorHelpers

  @types [u: 8, s: 64, bf: 16, f: 32]

  describe "transpose/2" do
    test "reverses axes by default and takes any permutation, for several types" do
      for type <- @types do
        t = T.iota({2, 3}, type: type)
        assert T.to_list(T.transpose(t)) == vals(type, [[0, 3], [1, 4], [2, 5]])
        assert T.type(T.transpose(t)) == type
      end

      t = T.iota({2, 3, 4})
      p = T.transpose(t, axes: [2, 0, 1])
      assert T.shape(p) == {4, 2, 3}
      assert T.to_list(p) |> hd() == [[0, 4, 8], [12, 16, 20]]
      assert T.shape(T.transpose(t, axes: [-1, -2, -3])) == {4, 3, 2}
      assert T.to_list(T.transpose(T.tensor(5))) == 5
      assert T.shape(T.transpose(T.iota({0, 3}))) == {3, 0}
    end

    test "large transposes match a small-model computation" do
      t = T.iota({300, 200})
      tt = T.transpose(t)
      assert T.shape(tt) == {200, 300}
      flat = T.to_flat_list(tt)
      assert Enum.at(flat, 1) == 200
      assert Enum.at(flat, 300) == 1
    end

    test "rejects bad permutations" do
      assert_raise ArgumentError, ~r/transpose: expected axes to be a permutation/, fn ->
        T.transpose(T.iota({2, 3}), axes: [0, 0])
      end

      assert_raise ArgumentError,
                   ~r/transpose: expected axes to be a permutation of the 2 axes/,
                   fn ->
                     T.transpose(T.iota({2, 3}), axes: [0])
                   end

      assert_raise ArgumentError, ~r/transpose: axis 2 is out of range/, fn ->
        T.transpose(T.iota({2, 3}), axes: [0, 2])
      end

      assert_raise ArgumentError, ~r/transpose: unknown option :axis/, fn ->
        T.transpose(T.iota({2, 3}), axis: [0, 1])
      end
    end
  end

  describe "squeeze/2 and new_axis/2" do
    test "squeeze removes size-1 axes" do
      assert T.shape(T.squeeze(T.iota({1, 2, 1}))) == {2}
      assert T.shape(T.squeeze(T.iota({1, 2, 1}), axes: [0])) == {2, 1}
      assert T.shape(T.squeeze(T.iota({1, 0, 1}), axes: [-1])) == {1, 0}
      assert T.to_list(T.squeeze(T.tensor([[7]]))) == 7
    end

    test "squeeze of an axis not of size 1 fails" do
      assert_raise ArgumentError,
                   "squeeze: cannot squeeze axis 1 of size 2 in a tensor of shape {1, 2}: only axes of size 1 can be squeezed",
                   fn -> T.squeeze(T.iota({1, 2}), axes: [1]) end
    end

    test "new_axis inserts" do
      assert T.shape(T.new_axis(T.iota({2, 3}), 1)) == {2, 1, 3}
      assert T.shape(T.new_axis(T.iota({2, 3}), -1)) == {2, 3, 1}
      assert T.shape(T.new_axis(T.tensor(1), 0)) == {1}

      assert_raise ArgumentError, ~r/new_axis: axis 3 is out of range/, fn ->
        T.new_axis(T.iota({2, 3}), 3)
      end
    end
  end

  describe "broadcast/3" do
    test "right-aligned and with axes" do
      for type <- @types do
        t = T.tensor([1, 2], type: type)
        assert T.to_list(T.broadcast(t, {2, 2})) == vals(type, [[1, 2], [1, 2]])
        assert T.to_list(T.broadcast(t, {2, 2}, axes: [0])) == vals(type, [[1, 1], [2, 2]])
      end

      assert T.to_list(T.broadcast(3, {2})) == [3, 3]
      assert T.shape(T.broadcast(T.iota({1, 3}), T.iota({0, 3}))) == {0, 3}
      assert T.to_flat_list(T.broadcast(T.tensor([1]), {100_000})) |> Enum.uniq() == [1]
    end

    test "rejects incompatible shapes" do
      assert_raise ArgumentError,
                   "broadcast: cannot broadcast a tensor of shape {2} to shape {2, 3}",
                   fn -> T.broadcast(T.iota({2}), {2, 3}) end

      assert_raise ArgumentError, ~r/broadcast: .*axes must be in increasing order/, fn ->
        T.broadcast(T.iota({1, 1}), {2, 3}, axes: [1, 0])
      end
    end
  end

  describe "slice/4 and put_slice/3" do
    test "slices with clamping and strides" do
      t = T.iota({6})
      assert T.to_list(T.slice(t, [1], [3])) == [1, 2, 3]
      assert T.to_list(T.slice(t, [5], [2])) == [4, 5]
      assert T.to_list(T.slice(t, [-3], [2])) == [0, 1]
      assert T.to_list(T.slice(t, [0], [6], strides: 4)) == [0, 4]
      assert T.to_list(T.slice(t, [T.tensor(2)], [2])) == [2, 3]
      assert T.shape(T.slice(t, [3], [0])) == {0}

      for type <- @types do
        m = T.iota({3, 4}, type: type)

        assert T.to_list(T.slice(m, [1, 1], [2, 3], strides: [1, 2])) ==
                 vals(type, [[5, 7], [9, 11]])
      end
    end

    test "slice errors" do
      assert_raise ArgumentError,
                   ~r/slice: length 7 at axis 0 does not fit in a tensor of shape \{6\}/,
                   fn ->
                     T.slice(T.iota({6}), [0], [7])
                   end

      assert_raise ArgumentError, ~r/slice: expected 1 start indices .* got 2/, fn ->
        T.slice(T.iota({6}), [0, 0], [1])
      end

      assert_raise ArgumentError, ~r/slice: stride 0 at axis 0 must be positive/, fn ->
        T.slice(T.iota({6}), [0], [1], strides: [0])
      end
    end

    test "put_slice writes with clamping and type merge" do
      t = T.iota({2, 3}, type: :u8)
      r = T.put_slice(t, [1, 2], T.tensor([[10, 11]], type: :u8))
      assert T.to_list(r) == [[0, 1, 2], [3, 10, 11]]
      r = T.put_slice(t, [0, 0], T.tensor([[0.5]]))
      assert T.type(r) == {:f, 32}
      assert T.to_list(r) == [[0.5, 1.0, 2.0], [3.0, 4.0, 5.0]]

      assert_raise ArgumentError,
                   ~r/put_slice: a slice of shape \{3\} does not fit in a tensor of shape \{2\}/,
                   fn ->
                     T.put_slice(T.iota({2}), [0], T.iota({3}))
                   end
    end
  end

  describe "concatenate/2 and stack/2" do
    test "joins along an axis, merging types" do
      a = T.tensor([[1, 2]], type: :u8)
      b = T.tensor([[3, 4]], type: :s64)
      c = T.concatenate([a, b])
      assert T.type(c) == {:s, 64}
      assert T.to_list(c) == [[1, 2], [3, 4]]

      assert T.to_list(T.concatenate([a, T.tensor([[0.5]], type: :bf16)], axis: -1)) == [
               [1.0, 2.0, 0.5]
             ]

      assert T.shape(T.concatenate([T.iota({0, 2}), T.iota({1, 2})])) == {1, 2}
    end

    test "names mismatched shapes" do
      assert_raise ArgumentError,
                   "concatenate: expected all shapes to match except on axis 0, got {1, 2} and {1, 3}",
                   fn -> T.concatenate([T.iota({1, 2}), T.iota({1, 3})]) end

      assert_raise ArgumentError, ~r/concatenate: expected a non-empty list/, fn ->
        T.concatenate([])
      end
    end

    test "stack" do
      assert T.to_list(T.stack([T.tensor([1, 2]), T.tensor([3, 4])])) == [[1, 2], [3, 4]]
      assert T.to_list(T.stack([1, 2])) == [1, 2]

      assert_raise ArgumentError,
                   ~r/stack: expected all tensors to have the same shape, got \{2\} and \{3\}/,
                   fn ->
                     T.stack([T.iota({2}), T.iota({3})])
                   end

      assert_raise ArgumentError,
                   "stack: axis 2 is out of range for inserting an axis into a tensor of shape {2} (expected -2 to 1)",
                   fn -> T.stack([T.iota({2}), T.iota({2})], axis: 2) end
    end
  end

  describe "pad/3" do
    test "low, high, interior and negative padding" do
      for type <- @types do
        t = T.tensor([1, 2, 3], type: type)
        assert T.type(T.pad(t, 0, [{1, 2, 1}])) == type
        assert T.to_list(T.pad(t, 0, [{1, 2, 1}])) == vals(type, [0, 1, 0, 2, 0, 3, 0, 0])
      end

      m = T.iota({2, 2})

      assert T.to_list(T.pad(m, 9, [{1, 0, 0}, {0, 1, 1}])) == [
               [9, 9, 9, 9],
               [0, 9, 1, 9],
               [2, 9, 3, 9]
             ]

      assert T.to_list(T.pad(T.tensor([1, 2, 3]), 0, [{-1, -1, 0}])) == [2]
      assert T.to_list(T.pad(T.tensor([1, 2, 3]), 0, [{-2, 0, 1}])) == [2, 0, 3]
      assert T.type(T.pad(T.tensor([1], type: :u8), 0.5, [{1, 0, 0}])) == {:f, 32}
      assert T.to_list(T.pad(T.iota({0}), 7, [{1, 1, 2}])) == [7, 7]
    end

    test "rejects bad configurations" do
      assert_raise ArgumentError,
                   ~r/pad: expected a padding configuration of 2 \{low, high, interior\} tuples for a tensor of shape \{2, 2\}, got 1/,
                   fn -> T.pad(T.iota({2, 2}), 0, [{0, 0, 0}]) end

      assert_raise ArgumentError, ~r/pad: interior padding must be non-negative/, fn ->
        T.pad(T.iota({2}), 0, [{0, 0, -1}])
      end

      assert_raise ArgumentError, ~r/pad: padding .* gives a negative size/, fn ->
        T.pad(T.iota({2}), 0, [{-3, 0, 0}])
      end

      assert_raise ArgumentError, ~r/pad: expected a list of \{low, high, interior\}/, fn ->
        T.pad(T.iota({2}), 0, [{0, 0}])
      end
    end
  end

  describe "reverse/2" do
    test "reverses axes" do
      for type <- @types do
        t = T.iota({2, 3}, type: type)
        assert T.to_list(T.reverse(t)) == vals(type, [[5, 4, 3], [2, 1, 0]])
        assert T.to_list(T.reverse(t, axes: [-1])) == vals(type, [[2, 1, 0], [5, 4, 3]])
      end

      assert T.shape(T.reverse(T.iota({0, 2}))) == {0, 2}

      assert_raise ArgumentError, ~r/reverse: axis 2 is out of range/, fn ->
        T.reverse(T.iota({2, 3}), axes: [2])
      end
    end
  end
end
