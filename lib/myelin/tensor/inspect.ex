defimpl Inspect, for: Myelin.Tensor do
  # Prints like Nx does: the type and dimensions, then the elements nested by
  # shape, cut off with "..." after `opts.limit` elements (50 by default).
  # Element text comes from the engine: the shortest decimal that reads back
  # as the same value in the tensor's own precision.

  alias Myelin.Tensor

  # A traced tensor has no values yet: show what the graph node will hold.
  def inspect(%Tensor{ref: {:node, _graph, id}, shape: shape, type: {kind, bits}}, _opts) do
    dims = shape |> Tuple.to_list() |> Enum.map_join(&"[#{&1}]")
    "#Myelin.Tensor<#{kind}#{bits}#{dims} traced (graph node #{id})>"
  end

  # GPU memory: the elements come through a host copy, and the header
  # names the device.
  def inspect(%Tensor{data: {:cuda, n}} = t, opts) do
    host = __MODULE__.inspect(Tensor.backend_transfer(t, :cpu), opts)
    String.replace(host, ~r/\A#Myelin.Tensor<\n  (\S+)/, "#Myelin.Tensor<\n  \\1 {:cuda, #{n}}")
  end

  def inspect(%Tensor{shape: shape, type: {kind, bits}} = t, opts) do
    dims = shape |> Tuple.to_list() |> Enum.map_join(&"[#{&1}]")
    limit = if opts.limit == :infinity, do: Tensor.size(t), else: max(opts.limit, 1)

    count = min(limit, Tensor.size(t))
    # `limit: :infinity` on a large tensor formats millions of elements: that
    # belongs on a dirty scheduler, like every other large op.
    fun =
      if count >= Tensor.dirty_threshold(), do: :inspect_elements_dirty, else: :inspect_elements

    elements = Myelin.Native |> apply(fun, [t.ref, count]) |> Myelin.Native.unwrap!()

    {body, _rest} =
      if Tensor.size(t) == 0,
        do: {empty(Tuple.to_list(shape), "  "), []},
        else: nest(Tuple.to_list(shape), elements, "  ")

    "#Myelin.Tensor<\n  #{kind}#{bits}#{dims}\n  #{body}\n>"
  end

  # A zero-sized tensor: nested empty lists, no elements to print.
  defp empty([_], _indent), do: "[]"
  defp empty([0 | _], _indent), do: "[]"

  defp empty([n | inner], indent) do
    deeper = indent <> "  "
    row = deeper <> empty(inner, deeper)
    "[\n" <> Enum.map_join(1..n, ",\n", fn _ -> row end) <> "\n" <> indent <> "]"
  end

  # Returns {text, remaining_elements}; an exhausted element list prints "...".
  defp nest([], [x | rest], _indent), do: {x, rest}
  defp nest([], [], _indent), do: {"...", []}

  defp nest([n], elements, _indent) do
    {taken, rest} = Enum.split(elements, n)
    items = if length(taken) < n, do: taken ++ ["..."], else: taken
    {"[" <> Enum.join(items, ", ") <> "]", rest}
  end

  defp nest([n | inner], elements, indent) do
    deeper = indent <> "  "

    {rows, rest} =
      Enum.reduce_while(1..n//1, {[], elements}, fn _, {acc, remaining} ->
        if remaining == [] do
          {:halt, {["..." | acc], []}}
        else
          {row, left} = nest(inner, remaining, deeper)
          {:cont, {[row | acc], left}}
        end
      end)

    rows = Enum.reverse(rows)

    case rows do
      [] -> {"[]", rest}
      _ -> {"[\n" <> Enum.map_join(rows, ",\n", &(deeper <> &1)) <> "\n" <> indent <> "]", rest}
    end
  end
end
