defmodule Myelin.Tensor.Elementwise do
  @moduledoc """
  Elementwise ops: every unary maths function and every binary arithmetic,
  comparison, logical and bitwise op, with broadcasting and Nx's type
  promotion, plus `select/3` and `clip/3`. Call them through
  `Myelin.Tensor`, which delegates here; the full docs and examples are here.
  """

  import Myelin.Tensor, only: [dispatch: 4, to_tensor: 1, size: 1, tensor: 1, tensor: 2, work: 2]

  alias Myelin.Tensor.Type

  @type t :: Myelin.Tensor.t()
  @type tensor_or_number :: Myelin.Tensor.tensor_or_number()
  @type shape :: Myelin.Tensor.shape()

  ## Elementwise unary ops

  # {name, what it computes, an example input, the example's output}. The
  # functions and their doctests are generated from this table: each op is
  # one line, and `Myelin.Tensor.exp/1` is `UnaryOp::Exp` in the engine.
  @unary_ops [
    {:negate, "the negation, -x (integers wrap)", "[1, -2, 0]", "[-1, 2, 0]"},
    {:abs, "the absolute value", "[-1.5, 2.0]", "[1.5, 2.0]"},
    {:sign, "the sign: -1, 0 or 1 (NaN stays NaN)", "[-3, 0, 5]", "[-1, 0, 1]"},
    {:floor, "the largest whole number not above x", "[1.5, -1.5]", "[1.0, -2.0]"},
    {:ceil, "the smallest whole number not below x", "[1.5, -1.5]", "[2.0, -1.0]"},
    {:round, "the nearest whole number, halves away from zero", "[2.5, -2.5, 0.4]",
     "[3.0, -3.0, 0.0]"},
    {:exp, "the exponential, e^x", "[0.0, 1.0]", "[1.0, 2.7182817]"},
    {:expm1, "e^x - 1, accurate near zero", "[0.0, 1.0e-7]", "[0.0, 1.0000001e-7]"},
    {:log, "the natural logarithm", "[1.0, 4.0]", "[0.0, 1.3862944]"},
    {:log1p, "ln(1 + x), accurate near zero", "[0.0, 1.0]", "[0.0, 0.6931472]"},
    {:sqrt, "the square root", "[4, 9]", "[2.0, 3.0]"},
    {:rsqrt, "the reciprocal square root, 1 / sqrt(x)", "[4.0, 0.25]", "[0.5, 2.0]"},
    {:cbrt, "the cube root", "[8.0, -27.0]", "[2.0, -3.0]"},
    {:sin, "the sine", "[0.0, 1.0]", "[0.0, 0.84147096]"},
    {:cos, "the cosine", "[0.0, 1.0]", "[1.0, 0.5403023]"},
    {:tan, "the tangent", "[0.0, 1.0]", "[0.0, 1.5574077]"},
    {:asin, "the arcsine", "[0.0, 1.0]", "[0.0, 1.5707964]"},
    {:acos, "the arccosine", "[1.0, 0.0]", "[0.0, 1.5707964]"},
    {:atan, "the arctangent", "[0.0, 1.0]", "[0.0, 0.7853982]"},
    {:sinh, "the hyperbolic sine", "[0.0, 1.0]", "[0.0, 1.1752012]"},
    {:cosh, "the hyperbolic cosine", "[0.0, 1.0]", "[1.0, 1.5430807]"},
    {:tanh, "the hyperbolic tangent", "[0.0, 1.0]", "[0.0, 0.7615941]"},
    {:asinh, "the inverse hyperbolic sine", "[0.0, 1.0]", "[0.0, 0.8813736]"},
    {:acosh, "the inverse hyperbolic cosine", "[1.0, 2.0]", "[0.0, 1.316958]"},
    {:atanh, "the inverse hyperbolic tangent", "[0.0, 0.5]", "[0.0, 0.54930615]"},
    {:sigmoid, "the logistic function, 1 / (1 + e^-x)", "[0.0, 2.0]", "[0.5, 0.8807971]"},
    {:erf, "the error function", "[0.0, 1.0]", "[0.0, 0.8427008]"},
    {:erfc, "the complementary error function, 1 - erf(x)", "[0.0, 1.0]", "[1.0, 0.1572992]"},
    {:erf_inv, "the inverse error function (NaN outside [-1, 1])", "[0.0, 0.5]",
     "[0.0, 0.47693628]"},
    {:is_nan, "1 where x is NaN, else 0 (type u8)", "[1.0, :nan]", "[0, 1]"},
    {:is_infinity, "1 where x is infinite, else 0 (type u8)", "[:infinity, 1.0]", "[1, 0]"},
    {:logical_not, "1 where x is zero, else 0 (type u8)", "[0, 2]", "[1, 0]"},
    {:bitwise_not, "the bitwise complement (integers only)", "[0, 5]", "[-1, -6]"},
    {:count_leading_zeros, "the number of leading zero bits (integers only)", "[1, -1]",
     "[63, 0]"},
    {:population_count, "the number of one bits (integers only)", "[7, -1]", "[3, 64]"}
  ]

  for {name, what, input, output} <- @unary_ops do
    {:ok, input_list} = Code.string_to_quoted(input)
    {:ok, input_value} = input_list |> Code.eval_quoted() |> then(&{:ok, elem(&1, 0)})
    type = if Enum.all?(input_value, &is_integer/1), do: "s64", else: "f32"

    out_type =
      cond do
        name in [:is_nan, :is_infinity, :logical_not] -> "u8"
        name in [:negate, :abs, :sign, :floor, :ceil, :round, :bitwise_not] -> type
        name in [:count_leading_zeros, :population_count] -> type
        true -> "f32"
      end

    @doc """
    Computes #{what}, element by element.

        iex> Myelin.Tensor.#{name}(Myelin.Tensor.tensor(#{input}))
        #Myelin.Tensor<
          #{out_type}[#{length(input_value)}]
          #{output}
        >
    """
    @spec unquote(name)(tensor_or_number()) :: t()
    def unquote(name)(t), do: unary(unquote(name), t)
  end

  defp unary(op, t) do
    t = to_tensor(t)
    dispatch(work([t], size(t)), :unary, :unary_dirty, [op, t.ref])
  end

  ## Elementwise binary ops

  # {name, what it computes, left operand, right operand, the result's
  # type and shape, its elements}. The functions and their doctests are
  # generated from this table; `Myelin.Tensor.add/2` is `BinaryOp::Add` in
  # the engine. Operands are converted to their merged type first (Nx's
  # `Nx.Type.merge/2`); numbers take the other operand's type when they can.
  @binary_ops [
    {:add, "the sum, a + b (integers wrap)", "[1, 2, 3]", "10", "s64[3]", "[11, 12, 13]"},
    {:subtract, "the difference, a - b (integers wrap)", "[1, 2, 3]", "[3, 2, 1]", "s64[3]",
     "[-2, 0, 2]"},
    {:multiply, "the product, a * b (integers wrap)", "[1.5, 2.0]", "2", "f32[2]", "[3.0, 4.0]"},
    {:divide, "the quotient a / b, always of a float type", "[1, 3]", "2", "f32[2]",
     "[0.5, 1.5]"},
    {:pow,
     "a raised to the power b (integer power for integers: a negative exponent gives 0 unless a is 1 or -1)",
     "[2, 3, -2]", "[10, 2, 3]", "s64[3]", "[1024, 9, -8]"},
    {:remainder, "the remainder of a / b, with the sign of a (integer remainder by zero gives 0)",
     "[7, -7, 7]", "[3, 3, 0]", "s64[3]", "[1, -1, 0]"},
    {:quotient, "the integer quotient, truncated toward zero (integers only; by zero gives 0)",
     "[7, -7, 7]", "[2, 2, 0]", "s64[3]", "[3, -3, 0]"},
    {:min, "the smaller of a and b (NaN if either is NaN)", "[1.0, 5.0, :nan]", "3.0", "f32[3]",
     "[1.0, 3.0, NaN]"},
    {:max, "the larger of a and b (NaN if either is NaN)", "[1, 5]", "3", "s64[2]", "[3, 5]"},
    {:atan2, "the angle of the point (b, a), atan(a / b) in the right quadrant", "[1.0, -1.0]",
     "-1.0", "f32[2]", "[2.3561945, -2.3561945]"},
    {:equal, "1 where a == b, else 0 (type u8)", "[1, 2, 3]", "2", "u8[3]", "[0, 1, 0]"},
    {:not_equal, "1 where a != b, else 0 (type u8; NaN is unequal to everything)", "[1.0, :nan]",
     "1.0", "u8[2]", "[0, 1]"},
    {:less, "1 where a < b, else 0 (type u8)", "[1, 2, 3]", "2", "u8[3]", "[1, 0, 0]"},
    {:less_equal, "1 where a <= b, else 0 (type u8)", "[1, 2, 3]", "2", "u8[3]", "[1, 1, 0]"},
    {:greater, "1 where a > b, else 0 (type u8)", "[1, 2, 3]", "2", "u8[3]", "[0, 0, 1]"},
    {:greater_equal, "1 where a >= b, else 0 (type u8)", "[1, 2, 3]", "2", "u8[3]", "[0, 1, 1]"},
    {:logical_and, "1 where both a and b are nonzero, else 0 (type u8)", "[0, 1, 2]", "[1, 0, 3]",
     "u8[3]", "[0, 0, 1]"},
    {:logical_or, "1 where a or b is nonzero, else 0 (type u8)", "[0, 1, 0]", "[0, 0, 3]",
     "u8[3]", "[0, 1, 1]"},
    {:logical_xor, "1 where exactly one of a and b is nonzero, else 0 (type u8)", "[0, 1, 2]",
     "[1, 0, 3]", "u8[3]", "[1, 1, 0]"},
    {:bitwise_and, "the bitwise and (integers only)", "[12, 10]", "6", "s64[2]", "[4, 2]"},
    {:bitwise_or, "the bitwise or (integers only)", "[12, 10]", "6", "s64[2]", "[14, 14]"},
    {:bitwise_xor, "the bitwise exclusive or (integers only)", "[12, 10]", "6", "s64[2]",
     "[10, 12]"},
    {:left_shift,
     "a shifted left by b bits (integers only; shifts of the type's width or more, or negative, give 0)",
     "[1, 3]", "[4, 64]", "s64[2]", "[16, 0]"},
    {:right_shift,
     "a shifted right by b bits, arithmetic for signed types (integers only; shifts of the type's width or more, or negative, leave only the sign)",
     "[-16, 16, -1]", "[2, 2, 64]", "s64[3]", "[-4, 4, -1]"}
  ]

  for {name, what, left, right, out_type, out} <- @binary_ops do
    wrap_arg = fn arg ->
      if String.starts_with?(arg, "["), do: "Myelin.Tensor.tensor(#{arg})", else: arg
    end

    @doc """
    Computes #{what}, element by element, broadcasting `a` and `b` to a
    common shape. Either may be a number.

        iex> Myelin.Tensor.#{name}(#{wrap_arg.(left)}, #{wrap_arg.(right)})
        #Myelin.Tensor<
          #{out_type}
          #{out}
        >
    """
    @spec unquote(name)(tensor_or_number(), tensor_or_number()) :: t()
    def unquote(name)(a, b), do: binary(unquote(name), a, b)
  end

  defp binary(op, a, b) do
    {a, b} = weak_pair(a, b, op)

    dispatch(work([a, b], broadcast_size([a.shape, b.shape])), :binary, :binary_dirty, [
      op,
      a.ref,
      b.ref
    ])
  end

  @doc """
  Chooses `on_true` where `pred` is nonzero and `on_false` elsewhere. The
  three are broadcast to a common shape; the result has the merged type of
  `on_true` and `on_false`. Any of them may be a number.

      iex> pred = Myelin.Tensor.tensor([[1], [0]], type: :u8)
      iex> Myelin.Tensor.select(pred, Myelin.Tensor.tensor([1, 2, 3]), 0)
      #Myelin.Tensor<
        s64[2][3]
        [
          [1, 2, 3],
          [0, 0, 0]
        ]
      >
  """
  @spec select(tensor_or_number(), tensor_or_number(), tensor_or_number()) :: t()
  def select(pred, on_true, on_false) do
    pred = operand!(pred, :select)
    {on_true, on_false} = weak_pair(on_true, on_false, :select)
    work = broadcast_size([pred.shape, on_true.shape, on_false.shape])
    dispatch(work, :select, :select_dirty, [pred.ref, on_true.ref, on_false.ref])
  end

  @doc """
  Clamps every element of `t` into `[min, max]`. `min` and `max` must be
  scalars (numbers take `t`'s type when they can); the result has the
  merged type of all three. NaN stays NaN.

      iex> Myelin.Tensor.clip(Myelin.Tensor.tensor([-3, 0, 5, 12], type: :s32), 0, 10)
      #Myelin.Tensor<
        s32[4]
        [0, 0, 5, 10]
      >
  """
  @spec clip(tensor_or_number(), tensor_or_number(), tensor_or_number()) :: t()
  def clip(t, min, max) do
    t = operand!(t, :clip)
    min = weak_operand!(min, t.type, :clip)
    max = weak_operand!(max, t.type, :clip)
    dispatch(size(t), :clip, :clip_dirty, [t.ref, min.ref, max.ref])
  end

  # Two operands of one op: a number beside a tensor takes the tensor's
  # type when it can (Nx's weak scalars); two numbers infer their own.
  defp weak_pair(%Myelin.Tensor{} = a, %Myelin.Tensor{} = b, _op), do: {a, b}
  defp weak_pair(%Myelin.Tensor{} = a, b, op), do: {a, weak_operand!(b, a.type, op)}
  defp weak_pair(a, %Myelin.Tensor{} = b, op), do: {weak_operand!(a, b.type, op), b}
  defp weak_pair(a, b, op), do: {operand!(a, op), operand!(b, op)}

  defp weak_operand!(%Myelin.Tensor{} = t, _type, _op), do: t

  defp weak_operand!(n, type, op) do
    operand!(n, op)
    tensor(n, type: Type.merge_number(type, n))
  end

  defp operand!(%Myelin.Tensor{} = t, _op), do: t

  defp operand!(n, _op) when is_number(n) or n in [:nan, :infinity, :neg_infinity],
    do: tensor(n)

  defp operand!(other, op) do
    raise ArgumentError,
          "#{op}: expected a Myelin.Tensor, a number, :nan, :infinity or :neg_infinity, got #{inspect(other)}"
  end

  # The number of elements of the shapes' broadcast (only an estimate of
  # the work when the shapes do not broadcast; the engine reports that).
  defp broadcast_size(shapes) do
    rank = shapes |> Enum.map(&tuple_size/1) |> Enum.max()

    shapes
    |> Enum.map(&(List.duplicate(1, rank - tuple_size(&1)) ++ Tuple.to_list(&1)))
    |> Enum.zip_with(fn dims -> if 0 in dims, do: 0, else: Enum.max(dims) end)
    |> Enum.reduce(1, &(&1 * &2))
  end
end
