defmodule Myelin.TensorDotTest do
  use ExUnit.Case, async: true
  alias Myelin.Tensor, as: T

  @all_types [u: 8, u: 16, u: 32, u: 64, s: 8, s: 16, s: 32, s: 64, f: 16, bf: 16, f: 32, f: 64]

  defp num(list, type) do
    if elem(type, 0) in [:f, :bf], do: nested_float(list), else: list
  end

  defp nested_float(l) when is_list(l), do: Enum.map(l, &nested_float/1)
  defp nested_float(n), do: n * 1.0

  describe "dot/2 rank combinations" do
    test "matrix by matrix in every type" do
      for type <- @all_types do
        a = T.tensor([[1, 2, 3], [4, 5, 6]], type: type)
        b = T.tensor([[7, 8], [9, 1], [1, 2]], type: type)
        c = T.dot(a, b)
        assert T.type(c) == type
        assert T.to_list(c) == num([[28, 16], [79, 49]], type)
      end
    end

    test "scalar, vector and n-d combinations" do
      v = T.tensor([1, 2, 3])
      m = T.tensor([[1, 2, 3], [4, 5, 6]])
      # scalar: multiplies
      assert T.to_list(T.dot(2, v)) == [2, 4, 6]
      assert T.to_list(T.dot(m, T.tensor(2))) == [[2, 4, 6], [8, 10, 12]]
      assert T.to_number(T.dot(T.tensor(3), T.tensor(4))) == 12
      # vector . vector
      assert T.to_number(T.dot(v, v)) == 14
      # matrix . vector, vector . matrix
      assert T.to_list(T.dot(m, v)) == [14, 32]
      assert T.to_list(T.dot(T.tensor([1, 1]), m)) == [5, 7, 9]
      # n-d: last axis of a with second-to-last of b
      a = T.iota({2, 2, 2})
      b = T.tensor([[1, 0], [0, 1]])
      assert T.to_list(T.dot(a, b)) == T.to_list(a)
      c = T.dot(T.tensor([[1, 2]]), T.iota({3, 2, 2}))
      assert T.shape(c) == {1, 3, 2}
      assert T.to_list(c) == [[[4, 7], [16, 19], [28, 31]]]
    end

    test "merged output type" do
      c = T.dot(T.tensor([1, 2], type: :u8), T.tensor([0.5, 0.25], type: :f64))
      assert T.type(c) == {:f, 64}
      assert T.to_number(c) == 1.0
      assert T.type(T.dot(T.tensor([1], type: :f16), T.tensor([1], type: :bf16))) == {:f, 32}
      assert T.type(T.dot(T.tensor([1], type: :u8), T.tensor([1], type: :s8))) == {:s, 16}
    end

    test "integers wrap" do
      assert T.to_number(T.dot(T.tensor([200], type: :u8), T.tensor([200], type: :u8))) == 64
    end
  end

  describe "dot/4 and dot/6" do
    test "contraction axes, including negative and multiple" do
      a = T.tensor([[1.0, 2.0], [3.0, 4.0]])
      assert T.to_list(T.dot(a, [0], a, [0])) == [[10.0, 14.0], [14.0, 20.0]]
      assert T.to_list(T.dot(a, [-1], a, [-1])) == [[5.0, 11.0], [11.0, 25.0]]
      assert T.to_number(T.dot(a, [0, 1], a, [0, 1])) == 30.0
      assert T.to_number(T.dot(a, [0, 1], a, [1, 0])) == 29.0
      # no contraction: outer product
      assert T.to_list(T.dot(T.tensor([1, 2]), [], T.tensor([3, 4]), [])) == [[3, 4], [6, 8]]
    end

    test "batch axes" do
      a = T.iota({2, 2, 3})
      b = T.iota({2, 3, 1})
      c = T.dot(a, [2], [0], b, [1], [0])
      assert T.shape(c) == {2, 2, 1}
      # batch 0: [[0,1,2],[3,4,5]] . [0,1,2]; batch 1: [[6,7,8],[9,10,11]] . [3,4,5]
      assert T.to_list(c) == [[[5], [14]], [[86], [122]]]
      # batch axis not leading in b
      bt = T.tensor([[0, 3], [1, 4], [2, 5]])
      c = T.dot(a, [2], [0], bt, [0], [1])
      assert T.to_list(c) == [[5, 14], [86, 122]]

      for type <- [{:f, 32}, {:f, 64}, {:bf, 16}, {:s, 32}] do
        c = T.dot(T.as_type(a, type), [2], [0], T.as_type(b, type), [1], [0])
        assert T.to_list(c) == num([[[5], [14]], [[86], [122]]], type)
      end
    end

    test "zero-sized shapes" do
      c = T.dot(T.zeros({2, 0}), T.zeros({0, 3}))
      assert T.to_list(c) == [[0.0, 0.0, 0.0], [0.0, 0.0, 0.0]]
      assert T.shape(T.dot(T.zeros({0, 4}), T.zeros({4, 3}))) == {0, 3}

      assert T.to_list(T.dot(T.zeros({2, 0}, type: :s32), T.zeros({0, 1}, type: :s32))) == [
               [0],
               [0]
             ]
    end

    test "a large product matches a closed form" do
      # ones(n, k) . ones(k, n) = k everywhere; exercises the threaded GEMM.
      c = T.dot(T.ones({256, 300}), T.ones({300, 256}))
      assert T.to_number(T.reduce_min(c)) == 300.0
      assert T.to_number(T.reduce_max(c)) == 300.0
      i = T.iota({128, 128}, type: :f64)
      assert T.to_list(T.dot(i, T.eye(128, type: :f64))) == T.to_list(i)
    end
  end

  describe "errors" do
    test "mismatched contraction sizes name both shapes" do
      assert_raise ArgumentError,
                   "dot: cannot contract axis 1 of shape {2, 3} (size 3) with axis 0 of shape {4, 2} (size 4)",
                   fn -> T.dot(T.zeros({2, 3}), T.zeros({4, 2})) end
    end

    test "bad axes, repeated axes, count mismatches, batch mismatch" do
      a = T.zeros({2, 3})

      assert_raise ArgumentError,
                   ~r/^dot: axis 2 is out of range for a tensor of shape \{2, 3\}/,
                   fn ->
                     T.dot(a, [2], a, [0])
                   end

      assert_raise ArgumentError, ~r/^dot: axis 1 of shape \{2, 3\} is repeated/, fn ->
        T.dot(a, [1, 1], a, [1, 1])
      end

      assert_raise ArgumentError, ~r/^dot: axis 0 of shape \{2, 3\} is repeated/, fn ->
        T.dot(a, [0], [0], a, [1], [0])
      end

      assert_raise ArgumentError, ~r/^dot: expected the same number of contraction axes/, fn ->
        T.dot(a, [1], a, [1, 0])
      end

      assert_raise ArgumentError, ~r/^dot: expected the same number of batch axes/, fn ->
        T.dot(a, [1], [0], a, [1], [])
      end

      assert_raise ArgumentError,
                   "dot: batch axis 0 of shape {2, 3} (size 2) does not match batch axis 0 of shape {3, 3} (size 3)",
                   fn -> T.dot(a, [1], [0], T.zeros({3, 3}), [1], [0]) end

      assert_raise ArgumentError, ~r/^dot: expected axes to be a list of integers/, fn ->
        T.dot(a, 1, a, [0])
      end

      assert_raise ArgumentError, ~r/expected a Myelin.Tensor or a number/, fn ->
        T.dot("a", a)
      end
    end
  end
end
