defmodule Myelin.Node do
  @moduledoc """
  One layer of a model: plain, inspectable data. A model is its output
  node; `parents` link back to the inputs. `op` names the layer kind that
  `Myelin.Layers` knows how to size and apply; `name` is unique in a model
  (given, or `"<op>_<n>"` when the model is built).
  """

  defstruct [:id, :op, :name, parents: [], opts: []]

  @type t :: %__MODULE__{
          id: reference(),
          op: atom(),
          name: String.t() | nil,
          parents: [t()],
          opts: keyword()
        }

  @doc false
  def new(op, parents, opts) do
    {name, opts} = Keyword.pop(opts, :name)
    %__MODULE__{id: make_ref(), op: op, name: name, parents: parents, opts: opts}
  end

  @doc """
  The model's nodes in topological order (inputs first), each with its
  final name: given names stay; others get `"<op>_<n>"` in that order.
  """
  @spec topological([t()] | t()) :: [t()]
  def topological(%__MODULE__{} = out), do: topological([out])

  def topological(outputs) do
    {order, _seen} = Enum.reduce(outputs, {[], MapSet.new()}, &visit/2)
    order = Enum.reverse(order)

    {named, _counts} =
      Enum.map_reduce(order, %{}, fn node, counts ->
        n = Map.get(counts, node.op, 0)
        name = node.name || "#{node.op}_#{n}"
        {%{node | name: name}, Map.put(counts, node.op, n + 1)}
      end)

    named
  end

  defp visit(node, {order, seen}) do
    if MapSet.member?(seen, node.id) do
      {order, seen}
    else
      {order, seen} = Enum.reduce(node.parents, {order, MapSet.put(seen, node.id)}, &visit/2)
      {[node | order], seen}
    end
  end
end
