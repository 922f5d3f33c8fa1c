defmodule Myelin.TensorIndexTest do
  use ExUnit.Case, async: true
  alias Myelin.Tensor, as: T
  import Myelin.TensorHelpers

  @types [u: 8, s: 64, bf: 16, f: 32]

  describe "gather/3" do
    test "full and partial index vectors, clamping out of range" do
      for type <- @types do
        t = T.iota({2, 3}, type: type)

        assert T.to_list(T.gather(t, T.tensor([[0, 1], [1, 2], [5, -1]]))) ==
                 vals(type, [1, 5, 3])

        assert T.to_list(T.gather(t, T.tensor([[1]]))) == vals(type, [[3, 4, 5]])
      end

      assert T.shape(T.gather(T.iota({2, 3}), T.iota({0, 2}))) == {0}
      assert T.to_list(T.gather(T.iota({4}), T.tensor([[[3]], [[0]]], type: :u8))) == [[3], [0]]
    end

    test "rejects wrong index shapes and types" do
      assert_raise ArgumentError,
                   ~r/gather: expected indices of shape \{\.\.\., k\} with k from 1 to the rank of the tensor \(2\), got indices of shape \{2, 3\}/,
                   fn -> T.gather(T.iota({2, 3}), T.iota({2, 3})) end

      assert_raise ArgumentError,
                   ~r/gather: expected indices of an integer type, got \{:f, 32\}/,
                   fn ->
                     T.gather(T.iota({2}), T.tensor([[0.0]]))
                   end

      assert_raise ArgumentError, ~r/gather: cannot index axis 0 of size 0/, fn ->
        T.gather(T.iota({0}), T.tensor([[0]]))
      end
    end
  end

  describe "take/3 and take_along_axis/3" do
    test "take along axes with clamping" do
      for type <- @types do
        t = T.iota({2, 3}, type: type)

        assert T.to_list(T.take(t, T.tensor([1, 0, 1]))) ==
                 vals(type, [[3, 4, 5], [0, 1, 2], [3, 4, 5]])

        assert T.to_list(T.take(t, T.tensor([[2], [9]]), axis: -1)) ==
                 vals(type, [[[2], [2]], [[5], [5]]])
      end

      assert T.shape(T.take(T.iota({2, 3}), T.tensor([]), axis: 1)) == {2, 0}

      assert_raise ArgumentError, ~r/take: axis 2 is out of range/, fn ->
        T.take(T.iota({2, 3}), T.tensor([0]), axis: 2)
      end
    end

    test "take_along_axis" do
      t = T.tensor([[10, 30, 20], [60, 50, 40]])
      idx = T.argsort(t, axis: 1)
      assert T.to_list(T.take_along_axis(t, idx, axis: 1)) == [[10, 20, 30], [40, 50, 60]]
      assert T.to_list(T.take_along_axis(t, T.tensor([[1, 0, 1]]), axis: 0)) == [[60, 30, 40]]

      assert_raise ArgumentError, ~r/take_along_axis: expected indices of the same shape/, fn ->
        T.take_along_axis(t, T.tensor([[1]]), axis: 0)
      end
    end
  end

  describe "indexed_add/4 and indexed_put/4" do
    test "accumulate, replace, skip out of range, merge types" do
      for type <- @types do
        t = T.tensor([[1, 2], [3, 4]], type: type)
        idx = T.tensor([[0, 0], [1, 1], [0, 0], [5, 0]])
        u = T.tensor([1, 1, 1, 1], type: type)
        assert T.to_list(T.indexed_add(t, idx, u)) == vals(type, [[3, 2], [3, 5]])

        assert T.to_list(T.indexed_put(t, idx, T.tensor([7, 8, 9, 10], type: type))) ==
                 vals(type, [[9, 2], [3, 8]])
      end

      r = T.indexed_add(T.tensor([1, 2], type: :u8), T.tensor([[1]]), T.tensor([0.5]))
      assert T.type(r) == {:f, 32}
      assert T.to_list(r) == [1.0, 2.5]

      assert T.to_list(
               T.indexed_add(
                 T.tensor([255], type: :u8),
                 T.tensor([[0]]),
                 T.tensor([1], type: :u8)
               )
             ) == [0]

      rows = T.indexed_put(T.iota({2, 2}), T.tensor([[1]]), T.tensor([[8, 9]]))
      assert T.to_list(rows) == [[0, 1], [8, 9]]
    end

    test "rejects mismatched updates" do
      assert_raise ArgumentError,
                   "indexed_add: expected updates of shape {2} for indices of shape {2, 1} into a tensor of shape {3}, got {3}",
                   fn -> T.indexed_add(T.iota({3}), T.tensor([[0], [1]]), T.iota({3})) end

      assert_raise ArgumentError, ~r/indexed_put: expected indices of shape/, fn ->
        T.indexed_put(T.iota({3}), T.tensor([[0, 1]]), T.iota({1}))
      end
    end
  end

  describe "sort/2 and argsort/2" do
    test "ascending and descending, several types" do
      for type <- @types do
        t = T.tensor([[3, 1, 2], [0, 5, 4]], type: type)
        assert T.to_list(T.sort(t)) == vals(type, [[0, 1, 2], [3, 5, 4]])

        assert T.to_list(T.sort(t, axis: -1, direction: :desc)) ==
                 vals(type, [[3, 2, 1], [5, 4, 0]])

        assert T.to_list(T.argsort(t, axis: 1)) == [[1, 2, 0], [0, 2, 1]]
      end
    end

    test "NaN ordering, stability and output types" do
      t = T.tensor([2.0, :nan, 1.0, 2.0, :neg_infinity])
      assert T.to_list(T.sort(t)) == [:neg_infinity, 1.0, 2.0, 2.0, :nan]
      assert T.to_list(T.sort(t, direction: :desc)) == [:nan, 2.0, 2.0, 1.0, :neg_infinity]
      assert T.to_list(T.argsort(t)) == [4, 2, 0, 3, 1]
      assert T.to_list(T.argsort(t, direction: :desc)) == [1, 0, 3, 2, 4]
      assert T.type(T.argsort(t)) == {:s, 64}
      assert T.type(T.argsort(t, type: :u32, stable: true)) == {:u, 32}
      assert T.shape(T.sort(T.iota({0, 3}))) == {0, 3}
    end

    test "large sorts run over independent rows" do
      t = T.reverse(T.iota({200, 500}), axes: [1])
      s = T.sort(t, axis: 1)
      assert T.to_list(T.slice(s, [199, 0], [1, 3])) == [[99_500, 99_501, 99_502]]
    end

    test "errors" do
      assert_raise ArgumentError,
                   ~r/sort: axis 2 is out of range for a tensor of shape \{2, 2\}/,
                   fn ->
                     T.sort(T.iota({2, 2}), axis: 2)
                   end

      assert_raise ArgumentError, ~r/argsort: axis 0 is out of range/, fn ->
        T.argsort(T.tensor(1))
      end

      assert_raise ArgumentError,
                   ~r/sort: expected direction: to be :asc or :desc, got :up/,
                   fn ->
                     T.sort(T.iota({2}), direction: :up)
                   end

      assert_raise ArgumentError, ~r/argsort: expected an integer type:/, fn ->
        T.argsort(T.iota({2}), type: :f32)
      end
    end
  end
end
