defmodule Myelin.TensorBinaryTest do
  use ExUnit.Case, async: true
  alias Myelin.Tensor, as: T

  defp t(data, type), do: T.tensor(data, type: type)

  defp check(result, type, expected) do
    assert T.type(result) == type
    assert T.to_list(result) == expected
  end

  describe "arithmetic" do
    test "u8 wraps, and integer quotient/remainder by zero give 0" do
      a = t([200, 10, 7], :u8)
      b = t([100, 4, 0], :u8)
      check(T.add(a, b), {:u, 8}, [44, 14, 7])
      check(T.subtract(a, b), {:u, 8}, [100, 6, 7])
      check(T.subtract(b, a), {:u, 8}, [156, 250, 249])
      check(T.multiply(a, b), {:u, 8}, [32, 40, 0])
      check(T.divide(a, b), {:f, 32}, [2.0, 2.5, :infinity])
      check(T.pow(a, b), {:u, 8}, [0, 16, 1])
      check(T.remainder(a, b), {:u, 8}, [0, 2, 0])
      check(T.quotient(a, b), {:u, 8}, [2, 2, 0])
      check(T.min(a, b), {:u, 8}, [100, 4, 0])
      check(T.max(a, b), {:u, 8}, [200, 10, 7])
    end

    test "s32 wraps at the limits and never traps" do
      a = t([-7, 7, 2_147_483_647, -2_147_483_648], :s32)
      b = t([2, -2, 1, -1], :s32)
      check(T.add(a, b), {:s, 32}, [-5, 5, -2_147_483_648, 2_147_483_647])
      check(T.subtract(a, b), {:s, 32}, [-9, 9, 2_147_483_646, -2_147_483_647])
      check(T.multiply(a, b), {:s, 32}, [-14, -14, 2_147_483_647, -2_147_483_648])
      check(T.quotient(a, b), {:s, 32}, [-3, -3, 2_147_483_647, -2_147_483_648])
      check(T.remainder(a, b), {:s, 32}, [-1, 1, 0, 0])
      check(T.pow(a, b), {:s, 32}, [49, 0, 2_147_483_647, 0])
      check(T.min(a, b), {:s, 32}, [-7, -2, 1, -2_147_483_648])
      check(T.max(a, b), {:s, 32}, [2, 7, 2_147_483_647, -1])
      check(T.divide(a, b), {:f, 32}, [-3.5, -3.5, 2_147_483_648.0, 2_147_483_648.0])
    end

    test "s64 power by squaring wraps; negative exponents as XLA" do
      check(
        T.pow(t([3, 2, 1, -1, -1, 5, 0], :s64), t([40, 62, -7, -3, -4, -1, 0], :s64)),
        {:s, 64},
        [
          -6_289_078_614_652_622_815,
          4_611_686_018_427_387_904,
          1,
          -1,
          1,
          0,
          1
        ]
      )

      check(T.add(t([9_223_372_036_854_775_807], :s64), 1), {:s, 64}, [-9_223_372_036_854_775_808])

      check(T.remainder(t([-7, 7], :s64), t([0, -3], :s64)), {:s, 64}, [0, 1])
    end

    test "f32, including NaN and infinities" do
      a = t([1.5, -2.0, :nan, :infinity], :f32)
      b = t([0.5, 4.0, 1.0, 2.0], :f32)
      check(T.add(a, b), {:f, 32}, [2.0, 2.0, :nan, :infinity])
      check(T.subtract(a, b), {:f, 32}, [1.0, -6.0, :nan, :infinity])
      check(T.multiply(a, b), {:f, 32}, [0.75, -8.0, :nan, :infinity])
      check(T.divide(a, b), {:f, 32}, [3.0, -0.5, :nan, :infinity])
      check(T.min(a, b), {:f, 32}, [0.5, -2.0, :nan, 2.0])
      check(T.max(b, a), {:f, 32}, [1.5, 4.0, :nan, :infinity])
      check(T.pow(t([2.0, 4.0, 2.0], :f32), t([3.0, 0.5, -1.0], :f32)), {:f, 32}, [8.0, 2.0, 0.5])

      check(T.remainder(t([5.5, -5.5, 5.5], :f32), t([2.0, 2.0, -2.0], :f32)), {:f, 32}, [
        1.5,
        -1.5,
        1.5
      ])

      check(T.divide(t([1.0, -1.0, 0.0], :f32), 0.0), {:f, 32}, [:infinity, :neg_infinity, :nan])

      [x, y, z] = T.to_flat_list(T.atan2(t([1.0, 1.0, -1.0], :f32), t([1.0, -1.0, 0.0], :f32)))
      assert_in_delta x, :math.pi() / 4, 1.0e-6
      assert_in_delta y, 3 * :math.pi() / 4, 1.0e-6
      assert_in_delta z, -:math.pi() / 2, 1.0e-6
    end

    test "f64 keeps full precision" do
      check(T.divide(t([1.0, 2.0], :f64), t([3.0, 3.0], :f64)), {:f, 64}, [
        0.3333333333333333,
        0.6666666666666666
      ])

      check(T.atan2(t([0.0], :f64), t([-1.0], :f64)), {:f, 64}, [:math.pi()])
      check(T.add(t([0.1], :f64), t([0.2], :f64)), {:f, 64}, [0.30000000000000004])
    end

    test "f16 and bf16 compute in f32 and round back" do
      check(T.add(t([1.5, 65504.0], :f16), t([0.25, 65504.0], :f16)), {:f, 16}, [1.75, :infinity])
      check(T.multiply(t([3.0, 0.5], :bf16), t([-2.0, 0.5], :bf16)), {:bf, 16}, [-6.0, 0.25])
      check(T.divide(t([1.0], :bf16), t([3.0], :bf16)), {:bf, 16}, [0.333984375])
      check(T.max(t([1.0, :nan], :bf16), t([2.0, 0.0], :bf16)), {:bf, 16}, [2.0, :nan])
      check(T.divide(t([1, 2], :u8), t([2.0, 4.0], :f16)), {:f, 16}, [0.5, 0.5])
    end
  end

  describe "comparison and logical ops" do
    test "return u8 0/1 across types" do
      a = t([1, 2, 3], :s32)
      check(T.equal(a, 2), {:u, 8}, [0, 1, 0])
      check(T.not_equal(a, 2), {:u, 8}, [1, 0, 1])
      check(T.less(a, 2), {:u, 8}, [1, 0, 0])
      check(T.less_equal(a, 2), {:u, 8}, [1, 1, 0])
      check(T.greater(a, 2), {:u, 8}, [0, 0, 1])
      check(T.greater_equal(a, 2), {:u, 8}, [0, 1, 1])
    end

    test "NaN is unordered and unequal to everything" do
      a = t([:nan, 1.0, :infinity], :f32)
      b = t([:nan, :nan, :infinity], :f32)
      check(T.equal(a, b), {:u, 8}, [0, 0, 1])
      check(T.not_equal(a, b), {:u, 8}, [1, 1, 0])
      check(T.less(a, b), {:u, 8}, [0, 0, 0])
      check(T.greater_equal(a, b), {:u, 8}, [0, 0, 1])
      check(T.less_equal(t([1.0], :bf16), t([1.0], :f16)), {:u, 8}, [1])
    end

    test "compare values in the merged type, not bit patterns" do
      check(T.less(t([200], :u8), t([-1], :s8)), {:u, 8}, [0])
      check(T.greater(t([200], :u8), t([-1], :s8)), {:u, 8}, [1])
      check(T.equal(t([18_446_744_073_709_551_615], :u64), t([-1], :s64)), {:u, 8}, [1])
      check(T.less(t([0.5], :f64), 1), {:u, 8}, [1])
    end

    test "logical ops treat nonzero (including NaN, not -0.0) as true" do
      a = t([0.0, -0.0, :nan, 2.0], :f32)
      b = t([1, 1, 1, 0], :s32)
      check(T.logical_and(a, b), {:u, 8}, [0, 0, 1, 0])
      check(T.logical_or(a, b), {:u, 8}, [1, 1, 1, 1])
      check(T.logical_xor(a, b), {:u, 8}, [1, 1, 0, 1])
      check(T.logical_and(t([0, 3, 255], :u8), t([7, 7, 0], :u8)), {:u, 8}, [0, 1, 0])
      check(T.logical_or(t([0, 0], :s64), 0), {:u, 8}, [0, 0])
    end
  end

  describe "bitwise ops" do
    test "and, or, xor" do
      a = t([0b1100, 255], :u8)
      b = t([0b1010, 15], :u8)
      check(T.bitwise_and(a, b), {:u, 8}, [8, 15])
      check(T.bitwise_or(a, b), {:u, 8}, [14, 255])
      check(T.bitwise_xor(a, b), {:u, 8}, [6, 240])
      check(T.bitwise_and(t([-1, -8], :s64), 6), {:s, 64}, [6, 0])
      check(T.bitwise_or(t([1], :u8), t([-128], :s8)), {:s, 16}, [-127])
    end

    test "shifts: out-of-range amounts give 0 or the sign, arithmetic right shift for signed" do
      check(T.left_shift(t([1, 1, 1, -1], :s32), t([31, 32, -1, 4], :s32)), {:s, 32}, [
        -2_147_483_648,
        0,
        0,
        -16
      ])

      check(T.right_shift(t([-16, -16, -16, 16], :s32), t([2, 32, -1, 40], :s32)), {:s, 32}, [
        -4,
        -1,
        -1,
        0
      ])

      check(T.right_shift(t([128, 128], :u8), t([7, 8], :u8)), {:u, 8}, [1, 0])
      check(T.left_shift(t([255], :u8), 1), {:u, 8}, [254])
      check(T.right_shift(t([-9_223_372_036_854_775_808], :s64), 63), {:s, 64}, [-1])
    end
  end

  describe "broadcasting" do
    test "{2, 3} with {3}" do
      a = T.tensor([[1, 2, 3], [4, 5, 6]])
      check(T.add(a, T.tensor([10, 20, 30])), {:s, 64}, [[11, 22, 33], [14, 25, 36]])
      check(T.subtract(T.tensor([10, 20, 30]), a), {:s, 64}, [[9, 18, 27], [6, 15, 24]])
    end

    test "{2, 1} with {1, 3}" do
      col = T.tensor([[1.0], [2.0]])
      row = T.tensor([[10.0, 20.0, 30.0]])
      check(T.multiply(col, row), {:f, 32}, [[10.0, 20.0, 30.0], [20.0, 40.0, 60.0]])
      check(T.less(col, T.tensor([0.0, 1.5, 3.0])), {:u, 8}, [[0, 1, 1], [0, 0, 1]])
    end

    test "scalars with tensors, either side" do
      check(T.subtract(T.tensor(10), T.tensor([1, 2])), {:s, 64}, [9, 8])
      check(T.subtract(10, T.tensor([1, 2], type: :s8)), {:s, 8}, [9, 8])
      check(T.multiply(T.tensor([[1], [2]], type: :f64), T.tensor(0.5)), {:f, 64}, [[0.5], [1.0]])
      check(T.add(T.tensor([[[1]]]), T.tensor([1, 2])), {:s, 64}, [[[2, 3]]])
    end

    test "zero-sized shapes" do
      r = T.add(T.iota({0, 3}), T.tensor([1, 2, 3]))
      assert T.shape(r) == {0, 3}
      assert T.to_list(r) == []

      r = T.multiply(T.zeros({2, 0}), T.tensor([2.0]))
      assert T.shape(r) == {2, 0}
      assert T.to_list(r) == [[], []]

      assert T.shape(T.equal(T.tensor([]), 1.0)) == {0}
      assert T.shape(T.add(T.zeros({0, 1}), T.zeros({1, 4}))) == {0, 4}
    end

    test "large broadcasts run on dirty schedulers with the same results" do
      n = 300
      r = T.add(T.reshape(T.iota({n}), {n, 1}), T.multiply(T.iota({1, n}), 1000))
      assert T.shape(r) == {n, n}
      flat = T.to_flat_list(r)
      assert Enum.at(flat, 0) == 0
      assert Enum.at(flat, n * n - 1) == n - 1 + (n - 1) * 1000
      assert Enum.at(flat, 5 * n + 7) == 5 + 7 * 1000

      big = T.iota({100_000}, type: :f32)
      assert T.to_flat_list(T.subtract(T.add(big, big), big)) == T.to_flat_list(big)
    end
  end

  describe "type promotion" do
    test "follows Nx.Type.merge for tensors" do
      check(T.add(t([1], :u8), t([-2], :s8)), {:s, 16}, [-1])
      check(T.add(t([1], :s32), t([0.5], :f16)), {:f, 16}, [1.5])
      check(T.add(t([1.0], :f16), t([2.0], :bf16)), {:f, 32}, [3.0])
      check(T.add(t([1], :u32), t([1], :s8)), {:s, 64}, [2])
      check(T.multiply(t([2], :u16), t([3], :u64)), {:u, 64}, [6])
      check(T.subtract(t([1.0], :f32), t([0.5], :f64)), {:f, 64}, [0.5])
    end

    test "numbers take the tensor's type when they can (weak scalars), wrapping like Nx" do
      check(T.add(t([100], :u8), 300), {:u, 8}, [144])
      check(T.add(300, t([100], :u8)), {:u, 8}, [144])
      check(T.multiply(t([2.0], :bf16), 3), {:bf, 16}, [6.0])
      check(T.add(t([1], :s32), 0.5), {:f, 32}, [1.5])
      check(T.add(t([1.0], :f16), 0.5), {:f, 16}, [1.5])
      check(T.add(t([1], :u8), :nan), {:f, 32}, [:nan])
      check(T.less(t([1, 2], :u8), :infinity), {:u, 8}, [1, 1])
    end

    test "two numbers infer their own types" do
      check(T.add(1, 2), {:s, 64}, 3)
      check(T.add(1, 2.5), {:f, 32}, 3.5)
      check(T.pow(2, 10), {:s, 64}, 1024)
      check(T.less(1, 2), {:u, 8}, 1)
    end
  end

  describe "select/3" do
    test "chooses elementwise, any predicate type (nonzero is true)" do
      check(T.select(t([1, 0, 2], :u8), t([1, 2, 3], :s32), t([-1, -2, -3], :s32)), {:s, 32}, [
        1,
        -2,
        3
      ])

      check(T.select(t([:nan, 0.0, -0.0], :f32), 1.0, 0.0), {:f, 32}, [1.0, 0.0, 0.0])
      check(T.select(t([0, 5], :s64), t([1.5, 2.5], :bf16), 0), {:bf, 16}, [0.0, 2.5])
    end

    test "broadcasts all three" do
      check(T.select(1, T.tensor([1, 2]), T.tensor([[0], [0]])), {:s, 64}, [[1, 2], [1, 2]])

      check(T.select(T.tensor([[1], [0]]), T.tensor([1, 2, 3]), 9), {:s, 64}, [
        [1, 2, 3],
        [9, 9, 9]
      ])

      check(T.select(T.tensor([1, 0]), 1, 0), {:s, 64}, [1, 0])
      assert T.shape(T.select(T.zeros({0, 2}), 1, 2)) == {0, 2}
    end

    test "merges the branches' types" do
      check(T.select(T.tensor([1, 0]), t([200, 200], :u8), t([-1, -1], :s8)), {:s, 16}, [200, -1])

      check(T.select(T.tensor([1, 0]), t([1.0, 1.0], :f16), t([2.0, 2.0], :bf16)), {:f, 32}, [
        1.0,
        2.0
      ])

      check(T.select(T.tensor([0]), t([1.0], :f16), 0.25), {:f, 16}, [0.25])
    end

    test "large selects" do
      pred = T.less(T.iota({50_000}), 25_000)
      r = T.select(pred, 1.0, -1.0)
      flat = T.to_flat_list(r)
      assert Enum.at(flat, 24_999) == 1.0
      assert Enum.at(flat, 25_000) == -1.0
    end

    test "rejects a predicate that does not broadcast, and mismatched branches" do
      assert_raise ArgumentError,
                   "select: cannot broadcast the predicate of shape {4} with the branches of shapes {2, 3} and {3}",
                   fn -> T.select(T.iota({4}), T.iota({2, 3}), T.iota({3})) end

      assert_raise ArgumentError, "select: cannot broadcast tensors of shapes {2} and {3}", fn ->
        T.select(1, T.iota({2}), T.iota({3}))
      end

      assert_raise ArgumentError, ~r/select: expected a Myelin.Tensor, a number/, fn ->
        T.select("yes", 1, 2)
      end
    end
  end

  describe "clip/3" do
    test "clamps into [min, max] across types" do
      check(T.clip(t([-3, 0, 5, 12], :s32), 0, 10), {:s, 32}, [0, 0, 5, 10])
      check(T.clip(t([0, 100, 255], :u8), 10, 200), {:u, 8}, [10, 100, 200])

      check(T.clip(t([-2.5, :nan, 0.5, :infinity], :f32), -1.0, 1.0), {:f, 32}, [
        -1.0,
        :nan,
        0.5,
        1.0
      ])

      check(T.clip(t([-2.0, 3.0], :bf16), -1, 1), {:bf, 16}, [-1.0, 1.0])
      check(T.clip(t([[1.0, 5.0]], :f64), T.tensor(2.0, type: :f64), 4.0), {:f, 64}, [[2.0, 4.0]])
    end

    test "merges the types of all three" do
      check(T.clip(t([-3, 5], :s32), 0.5, 2.5), {:f, 32}, [0.5, 2.5])
      check(T.clip(t([-3, 5], :u8), t(1, :s8), t(4, :s8)), {:s, 16}, [4, 4])
      check(T.clip(t([1.0, 5.0], :f16), t(2.0, :bf16), 4.0), {:f, 32}, [2.0, 4.0])
      assert T.shape(T.clip(T.zeros({0}), 0, 1)) == {0}
    end

    test "requires scalar bounds" do
      assert_raise ArgumentError,
                   "clip: expected min to be a scalar, got a tensor of shape {2}",
                   fn ->
                     T.clip(T.iota({4}), T.iota({2}), 3)
                   end

      assert_raise ArgumentError,
                   "clip: expected max to be a scalar, got a tensor of shape {3}",
                   fn ->
                     T.clip(T.iota({4}), 0, T.iota({3}))
                   end
    end
  end

  describe "errors" do
    test "incompatible shapes name both shapes and the op" do
      assert_raise ArgumentError, "add: cannot broadcast tensors of shapes {2, 3} and {2}", fn ->
        T.add(T.iota({2, 3}), T.iota({2}))
      end

      assert_raise ArgumentError, "less: cannot broadcast tensors of shapes {3} and {4}", fn ->
        T.less(T.iota({3}), T.iota({4}))
      end
    end

    test "bitwise ops and quotient reject floats" do
      for op <- [:bitwise_and, :bitwise_or, :bitwise_xor, :left_shift, :right_shift] do
        assert_raise ArgumentError,
                     "#{op}: expected tensors of integer types, got {:f, 32} and {:s, 32}",
                     fn -> apply(T, op, [T.tensor([1.0]), t([1], :s32)]) end
      end

      assert_raise ArgumentError,
                   "quotient: expected tensors of integer types, got {:f, 32} and {:f, 32}",
                   fn -> T.quotient(T.tensor([1.0]), T.tensor([2.0])) end

      # A float number makes the merged type a float, too.
      assert_raise ArgumentError, ~r/quotient: expected tensors of integer types/, fn ->
        T.quotient(t([3], :s32), 2.0)
      end

      assert_raise ArgumentError, ~r/bitwise_and: .* got \{:bf, 16\} and \{:bf, 16\}/, fn ->
        T.bitwise_and(t([1], :bf16), 1)
      end
    end

    test "operands that are neither tensors nor numbers" do
      assert_raise ArgumentError, ~r/^add: expected a Myelin.Tensor, a number/, fn ->
        T.add(T.iota({2}), "1")
      end

      assert_raise ArgumentError, ~r/^multiply: expected a Myelin.Tensor, a number/, fn ->
        T.multiply([1, 2], 3)
      end

      assert_raise ArgumentError, ~r/^clip: expected a Myelin.Tensor, a number/, fn ->
        T.clip(T.iota({2}), nil, 1)
      end
    end
  end
end
