defmodule Myelin.Tensor.Window do
  @moduledoc """
  Window reductions and scatters over every axis of a tensor, with Nx's
  names and options (`Nx.window_sum/3`, `Nx.window_scatter_max/5`, ...).
  Call them through `Myelin.Tensor`, which delegates here.

  Options, one entry per axis (or one integer for all):

    * `:strides` - step between windows (default 1);
    * `:padding` - `:valid` (default), `:same`, or a `{low, high}` pair per
      axis (negative values crop);
    * `:window_dilations` - spacing of a window's taps (default 1).
  """

  import Myelin.Tensor, only: [dispatch: 4, to_tensor: 1, validate_opts!: 3, size: 1, tensor: 2]

  @type t :: Myelin.Tensor.t()

  @reductions [
    {:window_sum, :sum, "the sum", "[[4, 6], [10, 12]]"},
    {:window_product, :product, "the product", "[[8, 15], [45, 56]]"},
    {:window_max, :max, "the largest element", "[[4, 5], [7, 8]]"},
    {:window_min, :min, "the smallest element", "[[0, 1], [3, 4]]"}
  ]

  for {name, op, what, example} <- @reductions do
    @doc """
    Reduces each window of `window_dimensions` (a tuple, one size per axis)
    to #{what}; the result keeps the input's type. Padding adds the
    reduction's identity. Options as in the module docs.

        iex> t = Myelin.Tensor.iota({3, 3})
        iex> Myelin.Tensor.#{name}(t, {2, 2}) |> Myelin.Tensor.to_list()
        #{example}
    """
    @spec unquote(name)(t() | number(), tuple(), keyword()) :: t()
    def unquote(name)(t, window_dimensions, opts \\ []) do
      t = to_tensor(t)
      spec = spec!(unquote(name), t, window_dimensions, opts)
      work = size(t) * max(Myelin.Tensor.shape_size(window_dimensions), 1)
      dispatch(work, :window_reduce, :window_reduce_dirty, [unquote(op), t.ref | spec])
    end
  end

  @doc """
  The gradient pattern of `window_max/3`: for each window of `t`, finds its
  largest element (the last of equal ones) and adds the window's element of
  `source` there; positions no window selects hold `init_value`. `source`
  has the shape `window_max/3` would return; the result has `t`'s shape.

      iex> t = Myelin.Tensor.tensor([[1, 5], [3, 2]])
      iex> Myelin.Tensor.window_scatter_max(t, Myelin.Tensor.tensor([[10]]), 0, {2, 2}) |> Myelin.Tensor.to_list()
      [[0, 10], [0, 0]]
  """
  @spec window_scatter_max(t(), t(), t() | number(), tuple(), keyword()) :: t()
  def window_scatter_max(t, source, init_value, window_dimensions, opts \\ []),
    do: scatter(:window_scatter_max, true, t, source, init_value, window_dimensions, opts)

  @doc """
  As `window_scatter_max/5`, selecting each window's smallest element.

      iex> t = Myelin.Tensor.tensor([[1, 5], [3, 2]])
      iex> Myelin.Tensor.window_scatter_min(t, Myelin.Tensor.tensor([[10]]), 0, {2, 2}) |> Myelin.Tensor.to_list()
      [[10, 0], [0, 0]]
  """
  @spec window_scatter_min(t(), t(), t() | number(), tuple(), keyword()) :: t()
  def window_scatter_min(t, source, init_value, window_dimensions, opts \\ []),
    do: scatter(:window_scatter_min, false, t, source, init_value, window_dimensions, opts)

  defp scatter(op, select_max, t, source, init_value, window_dimensions, opts) do
    {t, source} = {to_tensor(t), to_tensor(source)}

    init =
      if is_struct(init_value, Myelin.Tensor),
        do: init_value,
        else: tensor(init_value, type: source.type)

    spec = spec!(op, t, window_dimensions, opts)
    work = size(t) * max(Myelin.Tensor.shape_size(window_dimensions), 1)
    args = [t.ref, source.ref, init.ref, select_max | spec]
    dispatch(work, :window_scatter, :window_scatter_dirty, args)
  end

  # [window, strides, padding, dilations] as the NIF takes them.
  defp spec!(op, t, window_dimensions, opts) do
    opts = validate_opts!(opts, [:strides, :padding, :window_dilations], op)
    rank = tuple_size(t.shape)

    unless is_tuple(window_dimensions) and tuple_size(window_dimensions) == rank and
             Enum.all?(Tuple.to_list(window_dimensions), &(is_integer(&1) and &1 >= 1)) do
      raise ArgumentError,
            "#{op}: expected window_dimensions to be a tuple of #{rank} positive integers " <>
              "(one per axis of the input, shape #{inspect(t.shape)}), got #{inspect(window_dimensions)}"
    end

    window = Tuple.to_list(window_dimensions)
    strides = per_axis!(op, :strides, Keyword.get(opts, :strides, 1), rank)
    dilations = per_axis!(op, :window_dilations, Keyword.get(opts, :window_dilations, 1), rank)

    [
      window,
      strides,
      padding!(op, Keyword.get(opts, :padding, :valid), window, dilations),
      dilations
    ]
  end

  defp per_axis!(_op, _key, n, rank) when is_integer(n) and n >= 1, do: List.duplicate(n, rank)

  defp per_axis!(op, key, list, rank) when is_list(list) do
    if length(list) == rank and Enum.all?(list, &(is_integer(&1) and &1 >= 1)),
      do: list,
      else: bad_per_axis!(op, key, list, rank)
  end

  defp per_axis!(op, key, other, rank), do: bad_per_axis!(op, key, other, rank)

  defp bad_per_axis!(op, key, value, rank) do
    raise ArgumentError,
          "#{op}: expected #{key}: to be a positive integer or a list of #{rank} of them, got #{inspect(value)}"
  end

  defp padding!(_op, :valid, window, _dilations), do: Enum.map(window, fn _ -> {0, 0} end)

  # Nx's :same: the dilated window's size minus one, the odd element after.
  defp padding!(_op, :same, window, dilations) do
    Enum.zip_with(window, dilations, fn w, d ->
      total = (w - 1) * d
      {div(total, 2), total - div(total, 2)}
    end)
  end

  defp padding!(op, config, window, _dilations) when is_list(config) do
    if length(config) == length(window) and
         Enum.all?(config, &match?({lo, hi} when is_integer(lo) and is_integer(hi), &1)),
       do: config,
       else: bad_padding!(op, config, length(window))
  end

  defp padding!(op, other, window, _dilations), do: bad_padding!(op, other, length(window))

  defp bad_padding!(op, value, rank) do
    raise ArgumentError,
          "#{op}: expected padding: to be :valid, :same or a list of #{rank} {low, high} integer pairs, got #{inspect(value)}"
  end
end
