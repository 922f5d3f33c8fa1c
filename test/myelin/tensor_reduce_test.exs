defmodule Myelin.TensorReduceTest do
  use ExUnit.Case, async: true
  alias Myelin.Tensor, as: T
  import Bitwise

  @ints [u: 8, u: 16, u: 32, u: 64, s: 8, s: 16, s: 32, s: 64]
  @floats [f: 16, bf: 16, f: 32, f: 64]

  defp x(type \\ {:s, 64}), do: T.tensor([[1, 2, 3], [4, 5, 6]], type: type)

  describe "sum, product, mean" do
    test "types across families: integers widen to 64 bits, floats stay" do
      for {k, _} = type <- @ints do
        s = T.sum(x(type))
        assert T.type(s) == if(k == :u, do: {:u, 64}, else: {:s, 64})
        assert T.to_number(s) == 21
        assert T.to_number(T.product(x(type))) == 720
        assert T.type(T.mean(x(type))) == {:f, 32}
        assert T.to_number(T.mean(x(type))) == 3.5
      end

      for type <- @floats do
        assert T.type(T.sum(x(type))) == type
        assert T.to_number(T.sum(x(type))) == 21.0
        assert T.to_number(T.product(x(type))) == 720.0
        assert T.to_number(T.mean(x(type))) == 3.5
      end
    end

    test "axes, negative axes and keep_axes" do
      assert T.to_list(T.sum(x(), axes: [0])) == [5, 7, 9]
      assert T.to_list(T.sum(x(), axes: [-1])) == [6, 15]
      s = T.sum(x(), axes: [1], keep_axes: true)
      assert T.shape(s) == {2, 1}
      assert T.to_list(s) == [[6], [15]]
      assert T.shape(T.sum(x(), keep_axes: true)) == {1, 1}
      assert T.to_list(T.sum(x(), axes: [])) == [[1, 2, 3], [4, 5, 6]]
      t = T.iota({2, 3, 4})
      assert T.to_list(T.sum(t, axes: [0, 2])) == [60, 92, 124]
      assert T.to_list(T.product(T.tensor([[1, 2], [3, 4]]), axes: [0])) == [3, 8]
      assert T.to_list(T.mean(t, axes: [1, 2])) == [5.5, 17.5]
    end

    test "integer sums wrap in 64 bits" do
      t = T.tensor([18_446_744_073_709_551_615, 2], type: :u64)
      assert T.to_number(T.sum(t)) == 1
      assert T.to_number(T.sum(T.tensor([-128, -128], type: :s8))) == -256
    end

    test "zero-sized: sum 0, product 1, mean NaN" do
      z = T.zeros({0, 3})
      assert T.to_list(T.sum(z, axes: [0])) == [0.0, 0.0, 0.0]
      assert T.to_list(T.product(z, axes: [0])) == [1.0, 1.0, 1.0]
      assert T.to_list(T.sum(z, axes: [1])) == []
      assert T.to_number(T.sum(T.tensor([], type: :u8))) == 0
      assert T.to_number(T.mean(z)) == :nan
    end

    test "a large sum matches its closed form" do
      n = 1 <<< 20
      # iota over 2^20 elements: n (n - 1) / 2, exact in s64 and in f64.
      assert T.to_number(T.sum(T.iota({n}))) == div(n * (n - 1), 2)
      assert T.to_number(T.sum(T.iota({1024, 1024}, type: :f64))) == div(n * (n - 1), 2)
      assert T.to_number(T.sum(T.ones({n}))) == n * 1.0

      assert T.to_list(T.sum(T.ones({1024, 1024}, type: :bf16), axes: [0])) ==
               List.duplicate(1024.0, 1024)
    end
  end

  describe "reduce_min, reduce_max" do
    test "same type, NaN wins, axes" do
      for type <- @ints ++ @floats do
        assert T.type(T.reduce_max(x(type))) == type
        assert T.to_number(T.reduce_max(x(type))) in [6, 6.0]
        assert T.to_list(T.reduce_min(x(type), axes: [1])) in [[1, 4], [1.0, 4.0]]
      end

      t = T.tensor([[1.0, :nan], [2.0, 3.0]])
      assert T.to_list(T.reduce_max(t, axes: [1])) == [:nan, 3.0]
      assert T.to_number(T.reduce_min(T.tensor([-128, 127], type: :s8))) == -128
      assert T.to_number(T.reduce_max(T.tensor([:neg_infinity]))) == :neg_infinity
    end

    test "zero elements raise, naming the op" do
      assert_raise ArgumentError, ~r/^reduce_max: cannot reduce zero elements/, fn ->
        T.reduce_max(T.zeros({2, 0}), axes: [1])
      end

      assert_raise ArgumentError, ~r/^reduce_min: cannot reduce zero elements/, fn ->
        T.reduce_min(T.tensor([]))
      end

      assert T.shape(T.reduce_max(T.zeros({0, 2}), axes: [1])) == {0}
    end
  end

  describe "all, any, logsumexp" do
    test "all and any return u8" do
      t = T.tensor([[1, 0], [2, 3]])
      assert T.type(T.all(t)) == {:u, 8}
      assert T.to_number(T.all(t)) == 0
      assert T.to_list(T.all(t, axes: [1])) == [0, 1]
      assert T.to_list(T.any(t, axes: [0])) == [1, 1]
      assert T.to_number(T.any(T.tensor([0.0, :nan]))) == 1
      assert T.to_number(T.all(T.tensor([]))) == 1
      assert T.to_number(T.any(T.tensor([]))) == 0
    end

    test "logsumexp is max-shifted and floating" do
      t = T.tensor([1000.0, 1000.0], type: :f64)
      assert_in_delta T.to_number(T.logsumexp(t)), 1000.0 + :math.log(2), 1.0e-12
      assert T.type(T.logsumexp(T.tensor([1, 2]))) == {:f, 32}
      assert T.to_number(T.logsumexp(T.tensor([:neg_infinity, :neg_infinity]))) == :neg_infinity
      assert T.to_number(T.logsumexp(T.tensor([1.0, :infinity]))) == :infinity

      assert T.to_list(T.logsumexp(T.zeros({2, 2}), axes: [1])) == [
               0.6931471824645996,
               0.6931471824645996
             ]

      assert T.to_number(T.logsumexp(T.tensor([]))) == :neg_infinity
    end
  end

  describe "argmax, argmin" do
    test "tie_break, axes, keep_axis, s64 output" do
      t = T.tensor([1, 3, 0, 3, 0], type: :u8)
      assert T.type(T.argmax(t)) == {:s, 64}
      assert T.to_number(T.argmax(t)) == 1
      assert T.to_number(T.argmax(t, tie_break: :high)) == 3
      assert T.to_number(T.argmin(t)) == 2
      assert T.to_number(T.argmin(t, tie_break: :high)) == 4
      m = T.tensor([[1, 9, 2], [8, 0, 7]])
      assert T.to_list(T.argmax(m, axis: 0)) == [1, 0, 1]
      assert T.to_list(T.argmin(m, axis: -1)) == [0, 1]
      assert T.to_list(T.argmax(m, axis: 1, keep_axis: true)) == [[1], [0]]
      assert T.to_number(T.argmax(m)) == 1
    end

    test "NaN counts as the extreme for both" do
      t = T.tensor([2.0, :nan, 5.0, :nan])
      assert T.to_number(T.argmax(t)) == 1
      assert T.to_number(T.argmin(t)) == 1
      assert T.to_number(T.argmax(t, tie_break: :high)) == 3
    end

    test "errors" do
      assert_raise ArgumentError, ~r/^argmax: cannot take the index of an extreme of zero/, fn ->
        T.argmax(T.tensor([]))
      end

      assert_raise ArgumentError, ~r/^argmin: axis 2 is out of range/, fn ->
        T.argmin(T.zeros({2, 2}), axis: 2)
      end

      assert_raise ArgumentError, ~r/^argmax: expected tie_break: to be :low or :high/, fn ->
        T.argmax(T.zeros({2}), tie_break: :middle)
      end

      assert_raise ArgumentError, ~r/^argmax: unknown option :axes/, fn ->
        T.argmax(T.zeros({2}), axes: [0])
      end
    end
  end

  describe "cumulative ops" do
    test "along axes, reversed, keeping the type" do
      t = T.tensor([[1, 2, 3], [4, 5, 6]], type: :s8)
      assert T.type(T.cumulative_sum(t)) == {:s, 8}
      assert T.to_list(T.cumulative_sum(t)) == [[1, 2, 3], [5, 7, 9]]
      assert T.to_list(T.cumulative_sum(t, axis: 1, reverse: true)) == [[6, 5, 3], [15, 11, 6]]
      assert T.to_list(T.cumulative_product(t, axis: -1)) == [[1, 2, 6], [4, 20, 120]]
      assert T.to_list(T.cumulative_product(T.tensor([100, 3], type: :u8))) == [100, 44]

      assert T.to_list(T.cumulative_min(T.tensor([3.0, 1.0, :nan, 0.0]))) == [
               3.0,
               1.0,
               :nan,
               :nan
             ]

      assert T.to_list(T.cumulative_max(T.tensor([1, 3, 2]), reverse: true)) == [3, 3, 2]

      for type <- @floats do
        assert T.to_list(T.cumulative_sum(T.tensor([0.5, 1.5, 2.0], type: type))) == [
                 0.5,
                 2.0,
                 4.0
               ]
      end

      assert T.shape(T.cumulative_sum(T.zeros({0, 3}), axis: 1)) == {0, 3}
    end

    test "errors" do
      assert_raise ArgumentError, ~r/^cumulative_sum: axis 2 is out of range/, fn ->
        T.cumulative_sum(T.zeros({2, 2}), axis: 2)
      end

      assert_raise ArgumentError, ~r/^cumulative_max: expected reverse: to be a boolean/, fn ->
        T.cumulative_max(T.zeros({2}), reverse: 1)
      end
    end
  end

  describe "reduction errors" do
    test "bad, repeated and malformed axes, bad options" do
      assert_raise ArgumentError,
                   "sum: axis 2 is out of range for a tensor of shape {2, 3} (rank 2)",
                   fn -> T.sum(x(), axes: [2]) end

      assert_raise ArgumentError, "sum: axis -2 is repeated in axes [0, -2]", fn ->
        T.sum(x(), axes: [0, -2])
      end

      assert_raise ArgumentError, ~r/^mean: expected axes to be a list of integers/, fn ->
        T.mean(x(), axes: 0)
      end

      assert_raise ArgumentError, ~r/^any: expected keep_axes: to be a boolean/, fn ->
        T.any(x(), keep_axes: :yes)
      end

      assert_raise ArgumentError, ~r/^logsumexp: unknown option :axis/, fn ->
        T.logsumexp(x(), axis: 0)
      end
    end
  end
end
