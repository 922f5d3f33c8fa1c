defmodule Myelin.Display do
  @moduledoc ~S"""
  Model summaries: each layer's name, kind, output shape and parameter count.

      iex> model = Myelin.input("x", shape: {nil, 4}) |> Myelin.dense(3, activation: :relu)
      iex> summary = Myelin.Display.summary(model, Myelin.Tensor.iota({1, 4}, type: {:f, 32}))
      iex> summary |> String.split("\n") |> Enum.at(2)
      "dense_0       dense       {1, 3}        15"
      iex> summary |> String.split("\n") |> List.last()
      "total parameters: 15"
  """

  alias Myelin.{Compiler, Layers, Node}

  @doc "The summary table of `model` for inputs like `template`, as a string."
  @spec summary(Node.t(), Myelin.Tensor.t() | map()) :: String.t()
  def summary(model, template) do
    compiled = Compiler.trace(model, template, :inference)
    nodes = Node.topological(model)
    shapes = shapes(nodes, compiled)

    rows =
      Enum.map(nodes, fn n ->
        in_shapes = Enum.map(n.parents, &Map.fetch!(shapes, &1.id))

        count =
          Layers.params(n.op, in_shapes, n.opts)
          |> Enum.map(fn {_, s, _} -> Myelin.Tensor.shape_size(s) end)
          |> Enum.sum()

        [n.name, to_string(n.op), inspect(Map.fetch!(shapes, n.id)), Integer.to_string(count)]
      end)

    table = [["layer", "kind", "output shape", "parameters"] | rows]

    widths =
      table
      |> Enum.zip()
      |> Enum.map(fn col -> col |> Tuple.to_list() |> Enum.map(&String.length/1) |> Enum.max() end)

    lines =
      Enum.map(table, fn row ->
        row
        |> Enum.zip(widths)
        |> Enum.map_join("  ", fn {c, w} -> String.pad_trailing(c, w) end)
        |> String.trim_trailing()
      end)

    total = rows |> Enum.map(&String.to_integer(List.last(&1))) |> Enum.sum()
    Enum.join(lines ++ ["total parameters: #{total}"], "\n")
  end

  # Output shapes per node, by re-tracing in the same order as the compiler.
  defp shapes(nodes, compiled) do
    inputs = Enum.filter(nodes, &(&1.op == :input)) |> Enum.zip(compiled.inputs)
    graph = Myelin.Graph.new()
    start = Map.new(inputs, fn {n, t} -> {n.id, Myelin.Graph.input(graph, t.shape, t.type)} end)

    nodes
    |> Enum.reject(&(&1.op == :input))
    |> Enum.reduce(start, fn n, acc ->
      args = Enum.map(n.parents, &Map.fetch!(acc, &1.id))

      params =
        Layers.params(n.op, Enum.map(args, & &1.shape), n.opts)
        |> Map.new(fn {p, s, _} -> {p, Myelin.Graph.param(graph, s, {:f, 32})} end)

      Map.put(acc, n.id, Layers.apply(n.op, args, params, n.opts, :inference))
    end)
    |> Map.new(fn {id, t} -> {id, t.shape} end)
  end
end
