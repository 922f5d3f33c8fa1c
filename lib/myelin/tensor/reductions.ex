defmodule Myelin.Tensor.Reductions do
  @moduledoc """
  Reductions over any set of axes (sum, product, mean, reduce_min,
  reduce_max, all, any, logsumexp), argmin/argmax, cumulative ops, and dot
  with contracting and batch axes. Call them through `Myelin.Tensor`, which
  delegates here; the full docs and examples are here.
  """

  import Myelin.Tensor,
    only: [dispatch: 4, to_tensor: 1, validate_opts!: 3, axes_list!: 2, size: 1, rank: 1, work: 2]

  @type t :: Myelin.Tensor.t()
  @type tensor_or_number :: Myelin.Tensor.tensor_or_number()
  @type shape :: Myelin.Tensor.shape()

  ## Reductions, cumulative ops and dot

  # {name, what it computes, input, output of a full reduction, output type}.
  # Each op is one line; `Myelin.Tensor.sum/2` is `ReduceOp::Sum` in the engine.
  @reduce_ops [
    {:sum, "the sum (integers accumulate in, and return, 64 bits)", "[[1, 2], [3, 4]]", "10",
     "s64"},
    {:product, "the product (integers accumulate in, and return, 64 bits)", "[[1, 2], [3, 4]]",
     "24", "s64"},
    {:mean, "the arithmetic mean (integers give f32)", "[[1, 2], [3, 4]]", "2.5", "f32"},
    {:reduce_min, "the smallest element (NaN wins; no elements is an error)", "[[1, 2], [3, 4]]",
     "1", "s64"},
    {:reduce_max, "the largest element (NaN wins; no elements is an error)", "[[1, 2], [3, 4]]",
     "4", "s64"},
    {:all, "1 if every element is non-zero, else 0 (type u8)", "[[1, 2], [0, 4]]", "0", "u8"},
    {:any, "1 if any element is non-zero, else 0 (type u8)", "[[1, 2], [0, 4]]", "1", "u8"},
    {:logsumexp, "log(sum(exp(x))), computed without overflow", "[[0.0, 0.0], [0.0, 0.0]]",
     "1.3862944", "f32"}
  ]

  for {name, what, input, output, out_type} <- @reduce_ops do
    @doc """
    Reduces to #{what}, over `axes:` (a list; default all axes). With
    `keep_axes: true` the reduced axes stay, with size 1.

        iex> Myelin.Tensor.#{name}(Myelin.Tensor.tensor(#{input}))
        #Myelin.Tensor<
          #{out_type}
          #{output}
        >
    """
    @spec unquote(name)(tensor_or_number(), keyword()) :: t()
    def unquote(name)(t, opts \\ [])

    def unquote(name)(t, opts), do: reduce(unquote(name), t, opts)
  end

  defp reduce(op, t, opts) do
    t = to_tensor(t)
    opts = validate_opts!(opts, [:axes, :keep_axes], op)
    axes = axes_list!(opts[:axes], op)
    keep = bool_opt!(opts, :keep_axes, op)
    dispatch(work([t], size(t)), :reduce, :reduce_dirty, [op, t.ref, axes, keep])
  end

  @doc """
  The index of the largest element along `axis:` (default: of the flattened
  tensor), as `{:s, 64}`. NaN counts as the largest. `tie_break: :low`
  (default) picks the first of equal elements, `:high` the last;
  `keep_axis: true` keeps the axis with size 1.

      iex> Myelin.Tensor.argmax(Myelin.Tensor.tensor([[1, 9, 9], [8, 0, 7]]), axis: 1, tie_break: :high)
      #Myelin.Tensor<
        s64[2]
        [2, 0]
      >
  """
  @spec argmax(tensor_or_number(), keyword()) :: t()
  def argmax(t, opts \\ []), do: arg_reduce(:argmax, t, opts)

  @doc """
  The index of the smallest element along `axis:` (default: of the
  flattened tensor), as `{:s, 64}`. NaN counts as the smallest. Options as
  in `argmax/2`.

      iex> Myelin.Tensor.argmin(Myelin.Tensor.tensor([[3, 1], [0, 2]]))
      #Myelin.Tensor<
        s64
        2
      >
  """
  @spec argmin(tensor_or_number(), keyword()) :: t()
  def argmin(t, opts \\ []), do: arg_reduce(:argmin, t, opts)

  defp arg_reduce(op, t, opts) do
    t = to_tensor(t)
    opts = validate_opts!(opts, [:axis, :tie_break, :keep_axis], op)

    axis =
      case opts[:axis] do
        a when is_integer(a) or is_nil(a) ->
          a

        other ->
          raise ArgumentError, "#{op}: expected axis: to be an integer, got #{inspect(other)}"
      end

    tie =
      case Keyword.get(opts, :tie_break, :low) do
        tie when tie in [:low, :high] ->
          tie

        other ->
          raise ArgumentError,
                "#{op}: expected tie_break: to be :low or :high, got #{inspect(other)}"
      end

    keep = bool_opt!(opts, :keep_axis, op)
    dispatch(size(t), :arg_reduce, :arg_reduce_dirty, [op, t.ref, axis, tie, keep])
  end

  # {name, what it computes, output of the example on [1, 3, 2, 4]}.
  @cumulative_ops [
    {:cumulative_sum, "running sum (integers wrap)", "[1, 4, 6, 10]"},
    {:cumulative_product, "running product (integers wrap)", "[1, 3, 6, 24]"},
    {:cumulative_min, "running minimum (NaN propagates)", "[1, 1, 1, 1]"},
    {:cumulative_max, "running maximum (NaN propagates)", "[1, 3, 3, 4]"}
  ]

  for {name, what, output} <- @cumulative_ops do
    @doc """
    The #{what} along `axis:` (default 0), from the end when
    `reverse: true`. The output has the input's shape and type.

        iex> Myelin.Tensor.#{name}(Myelin.Tensor.tensor([1, 3, 2, 4]))
        #Myelin.Tensor<
          s64[4]
          #{output}
        >
    """
    @spec unquote(name)(tensor_or_number(), keyword()) :: t()
    def unquote(name)(t, opts \\ []), do: cumulative(unquote(name), t, opts)
  end

  defp cumulative(op, t, opts) do
    t = to_tensor(t)
    opts = validate_opts!(opts, [:axis, :reverse], op)

    axis =
      case Keyword.get(opts, :axis, 0) do
        a when is_integer(a) ->
          a

        other ->
          raise ArgumentError, "#{op}: expected axis: to be an integer, got #{inspect(other)}"
      end

    reverse = bool_opt!(opts, :reverse, op)
    dispatch(size(t), :cumulative, :cumulative_dirty, [op, t.ref, axis, reverse])
  end

  @doc """
  The dot product, with Nx.dot/2's rules: a scalar multiplies; two vectors
  give their inner product; otherwise the last axis of `a` is contracted
  with the second-to-last axis of `b` (its only axis if `b` is a vector).
  The output type is the merged type of `a` and `b`.

      iex> Myelin.Tensor.dot(Myelin.Tensor.tensor([[1, 2], [3, 4]]), Myelin.Tensor.tensor([5, 6]))
      #Myelin.Tensor<
        s64[2]
        [17, 39]
      >
  """
  @spec dot(tensor_or_number(), tensor_or_number()) :: t()
  def dot(a, b) do
    {a, b} = {to_tensor(a), to_tensor(b)}

    {ca, cb} =
      case {rank(a), rank(b)} do
        {0, _} -> {[], []}
        {_, 0} -> {[], []}
        {_, 1} -> {[-1], [0]}
        _ -> {[-1], [-2]}
      end

    dot(a, ca, [], b, cb, [])
  end

  @doc """
  Contracts `contract_a` axes of `a` with `contract_b` axes of `b` (paired
  in order; their sizes must match), as Nx.dot/4. The output holds `a`'s
  remaining axes, then `b`'s.

      iex> a = Myelin.Tensor.tensor([[1.0, 2.0], [3.0, 4.0]])
      iex> Myelin.Tensor.dot(a, [0], a, [0])
      #Myelin.Tensor<
        f32[2][2]
        [
          [10.0, 14.0],
          [14.0, 20.0]
        ]
      >
  """
  @spec dot(tensor_or_number(), [integer()], tensor_or_number(), [integer()]) :: t()
  def dot(a, contract_a, b, contract_b), do: dot(a, contract_a, [], b, contract_b, [])

  @doc """
  Batched contraction, as Nx.dot/6: `batch_a` axes of `a` pair with
  `batch_b` axes of `b` (same sizes) and index independent products. The
  output holds the batch axes, then `a`'s remaining axes, then `b`'s.

      iex> a = Myelin.Tensor.iota({2, 1, 2})
      iex> Myelin.Tensor.dot(a, [2], [0], a, [2], [0])
      #Myelin.Tensor<
        s64[2][1][1]
        [
          [
            [1]
          ],
          [
            [13]
          ]
        ]
      >
  """
  @spec dot(tensor_or_number(), [integer()], [integer()], tensor_or_number(), [integer()], [
          integer()
        ]) :: t()
  def dot(a, contract_a, batch_a, b, contract_b, batch_b) do
    {a, b} = {to_tensor(a), to_tensor(b)}
    [ca, ba, cb, bb] = Enum.map([contract_a, batch_a, contract_b, batch_b], &axes_list!(&1, :dot))
    ca = ca || []
    ba = ba || []
    cb = cb || []
    bb = bb || []
    # Work is multiply-adds, batch * m * n * k = size(a) * size(b) / (batch * k).
    shared = axes_product(a.shape, ca) * axes_product(a.shape, ba)
    work = if shared == 0, do: 0, else: div(size(a) * size(b), shared)
    dispatch(work([a, b], work), :dot, :dot_dirty, [a.ref, ca, ba, b.ref, cb, bb])
  end

  defp axes_product(shape, axes) do
    rank = tuple_size(shape)

    Enum.reduce(axes, 1, fn axis, acc ->
      a = if axis < 0, do: axis + rank, else: axis
      if a >= 0 and a < rank, do: acc * elem(shape, a), else: acc
    end)
  end

  defp bool_opt!(opts, key, op) do
    case Keyword.get(opts, key, false) do
      b when is_boolean(b) ->
        b

      other ->
        raise ArgumentError, "#{op}: expected #{key}: to be a boolean, got #{inspect(other)}"
    end
  end
end
