defmodule Myelin.Loop.Data do
  @moduledoc false
  # Turns what Myelin.Loop.run/4 accepts as data into, per epoch, an enumerable
  # of batches and (when it is cheap to know) the number of batches.

  alias Myelin.Tensor

  @default_batch_size 32

  @doc false
  # Returns fn epoch -> {enumerable, count | nil}.
  def source!({%Tensor{} = x, y}, opts, op) when is_struct(y, Tensor) or is_nil(y) do
    batch_size = Keyword.get(opts, :batch_size, @default_batch_size)

    unless is_integer(batch_size) and batch_size > 0 do
      raise ArgumentError,
            "#{op}: expected batch_size: to be a positive integer, got #{inspect(batch_size)}"
    end

    rows = leading_dim!(x, op)
    batch_opts = [batch_size: batch_size] ++ Keyword.take(opts, [:shuffle, :seed])

    fn epoch ->
      {Myelin.Datasets.batch(x, y, [{:epoch, epoch} | batch_opts]),
       div(rows + batch_size - 1, batch_size)}
    end
  end

  def source!(fun, _opts, op) when is_function(fun, 0) do
    fn _epoch ->
      data = fun.()
      {enumerable!(data, op, "the data function returned"), count(data)}
    end
  end

  def source!(data, _opts, op) do
    enumerable!(
      data,
      op,
      "expected data to be an Enumerable of batches, a 0-arity function " <>
        "returning one, or a tuple {x, y} of tensors, got"
    )

    fn _epoch -> {data, count(data)} end
  end

  defp enumerable!(data, op, what) do
    if Enumerable.impl_for(data) do
      data
    else
      raise ArgumentError, "#{op}: #{what} #{inspect(data, limit: 5)}"
    end
  end

  defp leading_dim!(%Tensor{shape: shape}, op) do
    if tuple_size(shape) == 0 do
      raise ArgumentError, "#{op}: expected {x, y} tensors with a batch axis, got a scalar x"
    end

    elem(shape, 0)
  end

  # Enumerable.count/1 answers {:ok, n} only when it can count without walking
  # the collection (lists, ranges, maps); streams answer {:error, _}.
  defp count(data) do
    case Enumerable.count(data) do
      {:ok, n} -> n
      _ -> nil
    end
  end

  @doc false
  # The batch size: the first dimension of the first tensor found in the batch
  # (a tensor, or a tuple/map such as {input, target} or %{"x" => input}; of a
  # list only the head is looked at, as it may be long),
  # or nil when the batch holds no tensor with a dimension.
  def batch_size(%Tensor{shape: shape}) when tuple_size(shape) > 0, do: elem(shape, 0)
  def batch_size(%Tensor{}), do: nil
  def batch_size(batch) when is_tuple(batch), do: batch |> Tuple.to_list() |> first_size()

  def batch_size(batch) when is_map(batch) and not is_struct(batch),
    do: batch |> Enum.sort() |> Enum.map(&elem(&1, 1)) |> first_size()

  def batch_size([first | _]), do: batch_size(first)
  def batch_size(_), do: nil

  defp first_size(items), do: Enum.find_value(items, &batch_size/1)
end
