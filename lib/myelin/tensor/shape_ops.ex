defmodule Myelin.Tensor.ShapeOps do
  @moduledoc """
  Ops that move data without computing on it: transpose, squeeze,
  new_axis, broadcast, slice, put_slice, concatenate, stack, pad, reverse;
  indexing (gather, take, take_along_axis, indexed_add, indexed_put); and
  sort/argsort. Call them through `Myelin.Tensor`, which delegates here; the
  full docs and examples are here.
  """

  import Myelin.Tensor,
    only: [
      dispatch: 4,
      to_tensor: 1,
      validate_opts!: 3,
      shape!: 2,
      shape_size: 1,
      axes_list!: 2,
      size: 1,
      rank: 1,
      tensor: 1,
      tensor: 2,
      as_type: 2,
      to_number: 1
    ]

  alias Myelin.Tensor.Type

  @type t :: Myelin.Tensor.t()
  @type tensor_or_number :: Myelin.Tensor.tensor_or_number()
  @type shape :: Myelin.Tensor.shape()

  ## Shape ops, indexing and sorting

  @doc """
  Permutes the axes: axis `i` of the result is axis `axes[i]` of `t`
  (`axes:` defaults to the axes reversed; negative axes count from the end).

      iex> Myelin.Tensor.transpose(Myelin.Tensor.iota({2, 3})) |> Myelin.Tensor.to_list()
      [[0, 3], [1, 4], [2, 5]]

      iex> Myelin.Tensor.transpose(Myelin.Tensor.iota({1, 2, 3}), axes: [1, -1, 0]) |> Myelin.Tensor.shape()
      {2, 3, 1}
  """
  @spec transpose(tensor_or_number(), keyword()) :: t()
  def transpose(t, opts \\ []) do
    t = to_tensor(t)
    opts = validate_opts!(opts, [:axes], :transpose)
    dispatch(size(t), :transpose, :transpose_dirty, [t.ref, axes_opt!(opts, :transpose)])
  end

  @doc """
  Removes axes of size 1: those in `axes:`, or all of them. No copy.

      iex> Myelin.Tensor.squeeze(Myelin.Tensor.iota({1, 3, 1})) |> Myelin.Tensor.shape()
      {3}

      iex> Myelin.Tensor.squeeze(Myelin.Tensor.iota({1, 3, 1}), axes: [-1]) |> Myelin.Tensor.shape()
      {1, 3}
  """
  @spec squeeze(tensor_or_number(), keyword()) :: t()
  def squeeze(t, opts \\ []) do
    t = to_tensor(t)
    opts = validate_opts!(opts, [:axes], :squeeze)
    dispatch(0, :squeeze, :squeeze_dirty, [t.ref, axes_opt!(opts, :squeeze)])
  end

  @doc """
  Inserts an axis of size 1 at position `axis` (`-1` appends). No copy.

      iex> Myelin.Tensor.new_axis(Myelin.Tensor.iota({2}), -1) |> Myelin.Tensor.to_list()
      [[0], [1]]
  """
  @spec new_axis(tensor_or_number(), integer()) :: t()
  def new_axis(t, axis) do
    t = to_tensor(t)
    dispatch(0, :new_axis, :new_axis_dirty, [t.ref, int!(axis, :new_axis, "axis")])
  end

  @doc """
  Broadcasts `t` to `shape` (a tuple, or a tensor whose shape is used).
  Without `axes:`, dimensions align from the right; with it, input axis `i`
  becomes output axis `axes[i]`. Each input dimension must be 1 or match.

      iex> Myelin.Tensor.broadcast(Myelin.Tensor.tensor([1, 2]), {2, 2}) |> Myelin.Tensor.to_list()
      [[1, 2], [1, 2]]

      iex> Myelin.Tensor.broadcast(Myelin.Tensor.tensor([1, 2]), {2, 2}, axes: [0]) |> Myelin.Tensor.to_list()
      [[1, 1], [2, 2]]
  """
  @spec broadcast(tensor_or_number(), shape() | t(), keyword()) :: t()
  def broadcast(t, shape, opts \\ []) do
    t = to_tensor(t)
    opts = validate_opts!(opts, [:axes], :broadcast)
    shape = if is_struct(shape, Myelin.Tensor), do: shape.shape, else: shape!(shape, :broadcast)
    args = [t.ref, Tuple.to_list(shape), axes_opt!(opts, :broadcast)]
    dispatch(shape_size(shape), :broadcast, :broadcast_dirty, args)
  end

  @doc """
  A slice of `lengths` elements per axis starting at `start_indices`,
  taking every `strides:`-th element (an integer or one per axis; default 1).
  As in Nx, start indices (integers or scalar tensors) are clamped so the
  slice fits; lengths must not exceed the dimensions.

      iex> Myelin.Tensor.slice(Myelin.Tensor.iota({6}), [1], [3]) |> Myelin.Tensor.to_list()
      [1, 2, 3]

      iex> Myelin.Tensor.slice(Myelin.Tensor.iota({6}), [5], [2]) |> Myelin.Tensor.to_list()
      [4, 5]

      iex> Myelin.Tensor.slice(Myelin.Tensor.iota({2, 4}), [0, 0], [2, 4], strides: [1, 2]) |> Myelin.Tensor.to_list()
      [[0, 2], [4, 6]]
  """
  @spec slice(tensor_or_number(), [integer() | t()], [non_neg_integer()], keyword()) :: t()
  def slice(t, start_indices, lengths, opts \\ []) do
    t = to_tensor(t)
    opts = validate_opts!(opts, [:strides], :slice)

    strides =
      case Keyword.get(opts, :strides, 1) do
        s when is_integer(s) -> List.duplicate(s, rank(t))
        s -> int_list!(s, :slice, "strides")
      end

    args = [t.ref, starts!(start_indices, :slice), int_list!(lengths, :slice, "lengths"), strides]
    dispatch(size(t), :slice, :slice_dirty, args)
  end

  @doc """
  Writes `slice` into `t` at `start_indices`, clamped (as in Nx) so the
  slice fits. The result's type merges both types.

      iex> Myelin.Tensor.put_slice(Myelin.Tensor.iota({5}), [4], Myelin.Tensor.tensor([8, 9])) |> Myelin.Tensor.to_list()
      [0, 1, 2, 8, 9]
  """
  @spec put_slice(tensor_or_number(), [integer() | t()], t()) :: t()
  def put_slice(t, start_indices, slice) do
    {t, slice} = {to_tensor(t), to_tensor(slice)}
    args = [t.ref, starts!(start_indices, :put_slice), slice.ref]
    dispatch(size(t), :put_slice, :put_slice_dirty, args)
  end

  @doc """
  Joins tensors along `axis:` (default 0). All dimensions but that axis
  must match; the result's type merges all the types.

      iex> Myelin.Tensor.concatenate([Myelin.Tensor.tensor([[1, 2]]), Myelin.Tensor.tensor([[3.0, 4.0]])]) |> Myelin.Tensor.to_list()
      [[1.0, 2.0], [3.0, 4.0]]
  """
  @spec concatenate([tensor_or_number()], keyword()) :: t()
  def concatenate(tensors, opts \\ []) do
    opts = validate_opts!(opts, [:axis], :concatenate)
    ts = tensor_list!(tensors, :concatenate)
    args = [Enum.map(ts, & &1.ref), int!(Keyword.get(opts, :axis, 0), :concatenate, "axis")]
    dispatch(Enum.sum(Enum.map(ts, &size/1)), :concatenate, :concatenate_dirty, args)
  end

  @doc """
  Joins tensors of one shape along a new axis `axis:` (default 0).

      iex> Myelin.Tensor.stack([Myelin.Tensor.tensor([1, 2]), Myelin.Tensor.tensor([3, 4])], axis: -1) |> Myelin.Tensor.to_list()
      [[1, 3], [2, 4]]
  """
  @spec stack([tensor_or_number()], keyword()) :: t()
  def stack(tensors, opts \\ []) do
    opts = validate_opts!(opts, [:axis], :stack)
    ts = tensor_list!(tensors, :stack)
    axis = int!(Keyword.get(opts, :axis, 0), :stack, "axis")

    if Myelin.Graph.traced?(Enum.map(ts, & &1.ref)) do
      # Traced: a new axis on each, then one concatenation (both have rules).
      ts |> Enum.map(&new_axis(&1, axis)) |> concatenate(axis: axis)
    else
      dispatch(Enum.sum(Enum.map(ts, &size/1)), :stack, :stack_dirty, [
        Enum.map(ts, & &1.ref),
        axis
      ])
    end
  end

  @doc """
  Pads with `pad_value` according to one `{low, high, interior}` per axis:
  `low`/`high` elements before/after (negative values crop) and `interior`
  elements between neighbours. The result's type merges the tensor's type
  with the pad value's (a number follows Nx's weak-scalar rule).

      iex> Myelin.Tensor.pad(Myelin.Tensor.tensor([1, 2, 3]), 0, [{1, 2, 1}]) |> Myelin.Tensor.to_list()
      [0, 1, 0, 2, 0, 3, 0, 0]

      iex> Myelin.Tensor.pad(Myelin.Tensor.tensor([1, 2, 3]), 9, [{-1, 1, 0}]) |> Myelin.Tensor.to_list()
      [2, 3, 9]
  """
  @spec pad(tensor_or_number(), tensor_or_number(), [{integer(), integer(), integer()}]) :: t()
  def pad(t, pad_value, padding_config) do
    t = to_tensor(t)

    value =
      if is_struct(pad_value, Myelin.Tensor),
        do: pad_value,
        else: tensor(pad_value, type: Type.merge_number(t.type, pad_value))

    config =
      if is_list(padding_config) and
           Enum.all?(
             padding_config,
             &match?({l, h, i} when is_integer(l) and is_integer(h) and is_integer(i), &1)
           ),
         do: padding_config,
         else:
           raise(
             ArgumentError,
             "pad: expected a list of {low, high, interior} integer tuples, got #{inspect(padding_config)}"
           )

    dispatch(size(t), :pad, :pad_dirty, [t.ref, value.ref, config])
  end

  @doc """
  Reverses the order of elements along `axes:` (default: all axes).

      iex> Myelin.Tensor.reverse(Myelin.Tensor.iota({2, 2}), axes: [1]) |> Myelin.Tensor.to_list()
      [[1, 0], [3, 2]]
  """
  @spec reverse(tensor_or_number(), keyword()) :: t()
  def reverse(t, opts \\ []) do
    t = to_tensor(t)
    opts = validate_opts!(opts, [:axes], :reverse)
    dispatch(size(t), :reverse, :reverse_dirty, [t.ref, axes_opt!(opts, :reverse)])
  end

  @doc """
  Gathers from `t` at `indices` (Nx 0.7): the last axis of `indices` holds
  index vectors of length `k` (1 to the rank of `t`) that address the
  leading `k` axes; the result has shape `indices.shape[0..-2] ++ t.shape[k..]`.
  Out-of-range indices are clamped into range, as in Nx and XLA.

      iex> t = Myelin.Tensor.iota({2, 3})
      iex> Myelin.Tensor.gather(t, Myelin.Tensor.tensor([[0, 0], [1, 2]])) |> Myelin.Tensor.to_list()
      [0, 5]
      iex> Myelin.Tensor.gather(t, Myelin.Tensor.tensor([[1]])) |> Myelin.Tensor.to_list()
      [[3, 4, 5]]
  """
  @spec gather(tensor_or_number(), t(), keyword()) :: t()
  def gather(t, indices, opts \\ []) do
    validate_opts!(opts, [], :gather)
    {t, indices} = {to_tensor(t), indices!(indices)}
    dispatch(size(indices), :gather, :gather_dirty, [t.ref, indices.ref])
  end

  @doc """
  Takes the positions `indices` along `axis:` (default 0), which is
  replaced by the indices' dimensions. Out-of-range indices are clamped.

      iex> Myelin.Tensor.take(Myelin.Tensor.iota({2, 3}), Myelin.Tensor.tensor([2, 0]), axis: 1) |> Myelin.Tensor.to_list()
      [[2, 0], [5, 3]]
  """
  @spec take(tensor_or_number(), t(), keyword()) :: t()
  def take(t, indices, opts \\ []) do
    opts = validate_opts!(opts, [:axis], :take)
    {t, indices} = {to_tensor(t), indices!(indices)}
    axis = int!(Keyword.get(opts, :axis, 0), :take, "axis")
    dispatch(size(indices), :take, :take_dirty, [t.ref, indices.ref, axis])
  end

  @doc """
  Takes, along `axis:` (default 0), the positions given by `indices`, which
  has `t`'s shape except on that axis (often the output of `argsort/2`).
  Out-of-range indices are clamped.

      iex> t = Myelin.Tensor.tensor([[3, 1, 2]])
      iex> Myelin.Tensor.take_along_axis(t, Myelin.Tensor.argsort(t, axis: 1), axis: 1) |> Myelin.Tensor.to_list()
      [[1, 2, 3]]
  """
  @spec take_along_axis(tensor_or_number(), t(), keyword()) :: t()
  def take_along_axis(t, indices, opts \\ []) do
    opts = validate_opts!(opts, [:axis], :take_along_axis)
    {t, indices} = {to_tensor(t), indices!(indices)}
    axis = int!(Keyword.get(opts, :axis, 0), :take_along_axis, "axis")
    dispatch(size(indices), :take_along_axis, :take_along_axis_dirty, [t.ref, indices.ref, axis])
  end

  @doc """
  Adds `updates` into `t` at `indices` (index vectors on the last axis, as
  in `gather/3`; `updates` has the shape `gather/3` would return). Repeated
  indices accumulate; index vectors out of range are skipped (as XLA's
  scatter does). The result's type merges both types.

      iex> t = Myelin.Tensor.tensor([0, 0, 0])
      iex> Myelin.Tensor.indexed_add(t, Myelin.Tensor.tensor([[0], [2], [0]]), Myelin.Tensor.tensor([1, 2, 3])) |> Myelin.Tensor.to_list()
      [4, 0, 2]
  """
  @spec indexed_add(tensor_or_number(), t(), tensor_or_number(), keyword()) :: t()
  def indexed_add(t, indices, updates, opts \\ []),
    do: indexed(:indexed_add, :indexed_add_dirty, t, indices, updates, opts)

  @doc """
  Like `indexed_add/4`, but replaces the values at `indices` with
  `updates`; with repeated indices the last update wins.

      iex> t = Myelin.Tensor.iota({2, 2})
      iex> Myelin.Tensor.indexed_put(t, Myelin.Tensor.tensor([[1, 0]]), Myelin.Tensor.tensor([9])) |> Myelin.Tensor.to_list()
      [[0, 1], [9, 3]]
  """
  @spec indexed_put(tensor_or_number(), t(), tensor_or_number(), keyword()) :: t()
  def indexed_put(t, indices, updates, opts \\ []),
    do: indexed(:indexed_put, :indexed_put_dirty, t, indices, updates, opts)

  defp indexed(name, dirty, t, indices, updates, opts) do
    validate_opts!(opts, [], name)
    {t, indices, updates} = {to_tensor(t), indices!(indices), to_tensor(updates)}
    dispatch(size(t) + size(updates), name, dirty, [t.ref, indices.ref, updates.ref])
  end

  @doc """
  Sorts along `axis:` (default 0) in `direction:` `:asc` (default) or
  `:desc`. The sort is stable; NaN sorts last ascending, first descending.

      iex> Myelin.Tensor.sort(Myelin.Tensor.tensor([3.0, :nan, 1.0, 2.0])) |> Myelin.Tensor.to_list()
      [1.0, 2.0, 3.0, :nan]

      iex> Myelin.Tensor.sort(Myelin.Tensor.tensor([[3, 1], [2, 4]]), axis: 1, direction: :desc) |> Myelin.Tensor.to_list()
      [[3, 1], [4, 2]]
  """
  @spec sort(tensor_or_number(), keyword()) :: t()
  def sort(t, opts \\ []) do
    t = to_tensor(t)
    opts = validate_opts!(opts, [:axis, :direction], :sort)
    {axis, desc} = sort_opts!(opts, :sort)
    dispatch(size(t), :sort, :sort_dirty, [t.ref, axis, desc])
  end

  @doc """
  The positions that sort `t` along `axis:` (default 0) in `direction:`
  `:asc` or `:desc`, as `type:` (default `{:s, 64}`). Always stable (equal
  elements keep their order), so `stable:` is accepted and ignored.

      iex> Myelin.Tensor.argsort(Myelin.Tensor.tensor([3, 1, 2, 1])) |> Myelin.Tensor.to_list()
      [1, 3, 2, 0]

      iex> Myelin.Tensor.argsort(Myelin.Tensor.tensor([3, 1, 2, 1]), direction: :desc, type: :u8) |> Myelin.Tensor.to_list()
      [0, 2, 1, 3]
  """
  @spec argsort(tensor_or_number(), keyword()) :: t()
  def argsort(t, opts \\ []) do
    t = to_tensor(t)
    opts = validate_opts!(opts, [:axis, :direction, :stable, :type], :argsort)
    {axis, desc} = sort_opts!(opts, :argsort)
    type = Type.normalize!(Keyword.get(opts, :type, {:s, 64}), :argsort)

    if Type.float?(type) do
      raise ArgumentError, "argsort: expected an integer type:, got #{inspect(type)}"
    end

    dispatch(size(t), :argsort, :argsort_dirty, [t.ref, axis, desc]) |> as_type(type)
  end

  defp sort_opts!(opts, op) do
    desc =
      case Keyword.get(opts, :direction, :asc) do
        :asc ->
          false

        :desc ->
          true

        other ->
          raise ArgumentError,
                "#{op}: expected direction: to be :asc or :desc, got #{inspect(other)}"
      end

    {int!(Keyword.get(opts, :axis, 0), op, "axis"), desc}
  end

  defp int!(v, _op, _what) when is_integer(v), do: v

  defp int!(v, op, what),
    do: raise(ArgumentError, "#{op}: expected #{what} to be an integer, got #{inspect(v)}")

  defp int_list!(list, op, what) do
    if is_list(list) and Enum.all?(list, &is_integer/1),
      do: list,
      else:
        raise(
          ArgumentError,
          "#{op}: expected #{what} to be a list of integers, got #{inspect(list)}"
        )
  end

  defp axes_opt!(opts, op), do: axes_list!(Keyword.get(opts, :axes), op)

  # Start indices may be integers or scalar tensors (Nx's dynamic starts).
  defp starts!(starts, op) when is_list(starts) do
    Enum.map(starts, fn
      %Myelin.Tensor{shape: {}} = s -> int!(to_number(s), op, "start indices")
      s -> int!(s, op, "start indices")
    end)
  end

  defp starts!(other, op),
    do: raise(ArgumentError, "#{op}: expected a list of start indices, got #{inspect(other)}")

  defp tensor_list!([_ | _] = list, _op), do: Enum.map(list, &to_tensor/1)

  defp tensor_list!(other, op),
    do: raise(ArgumentError, "#{op}: expected a non-empty list of tensors, got #{inspect(other)}")

  defp indices!(%Myelin.Tensor{} = t), do: t
  defp indices!(list) when is_list(list), do: tensor(list)
  defp indices!(other), do: to_tensor(other)
end
