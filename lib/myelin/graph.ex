defmodule Myelin.Graph do
  @moduledoc """
  Tracing: running `Myelin.Tensor` code on symbolic tensors to record a
  graph that the engine differentiates, plans and runs.

  A traced tensor is an ordinary `%Myelin.Tensor{}` whose `ref` is
  `{:node, graph, id}` and whose `data` is `nil`. Every op that goes through
  `Myelin.Tensor`'s dispatch records a node when any operand is traced, with
  the same name and arguments as the eager call (concrete operands become
  constants). Shapes and types come back from the engine, so validation
  and error messages are those of the eager op.

  Elixir control flow runs while tracing, once: a graph records only the
  ops that ran, so branch on data with `Myelin.Tensor.select/3`.

      iex> g = Myelin.Graph.new()
      iex> x = Myelin.Graph.input(g, {2}, {:f, 32})
      iex> y = Myelin.Tensor.multiply(x, 3.0)
      iex> {exe, _work} = Myelin.Graph.compile(g, [y])
      iex> [out] = Myelin.Graph.run(exe, [Myelin.Tensor.tensor([1.0, 2.0])], [])
      iex> Myelin.Tensor.to_list(out)
      [3.0, 6.0]
  """

  alias Myelin.{Native, Tensor}

  @typedoc "A graph under construction (an engine resource)."
  @type t :: reference()

  @typedoc "A compiled graph (an engine resource)."
  @type executable :: reference()

  @doc "A new, empty graph."
  @spec new() :: t()
  def new, do: Native.graph_new()

  @doc "Adds a per-run input of `shape` and `type`; returns its traced tensor."
  @spec input(t(), tuple(), Myelin.Tensor.Type.t()) :: Tensor.t()
  def input(graph, shape, type), do: graph |> Native.graph_input(type, shape) |> node(graph)

  @doc "Adds a parameter of `shape` and `type`; returns its traced tensor."
  @spec param(t(), tuple(), Myelin.Tensor.Type.t()) :: Tensor.t()
  def param(graph, shape, type), do: graph |> Native.graph_param(type, shape) |> node(graph)

  @doc "Adds the concrete tensor `t` as a constant; returns its traced tensor."
  @spec constant(t(), Tensor.t()) :: Tensor.t()
  def constant(graph, %Tensor{ref: ref}) when is_reference(ref),
    do: graph |> Native.graph_constant(ref) |> node(graph)

  @doc "True when `t` is a traced tensor."
  @spec traced?(term()) :: boolean()
  def traced?(%Tensor{ref: {:node, _, _}}), do: true
  def traced?({:node, _, _}), do: true
  def traced?(list) when is_list(list), do: Enum.any?(list, &traced?/1)
  def traced?(_), do: false

  @doc """
  Records the eager NIF `name` applied to `args` (whose tensor arguments
  are refs: `{:node, graph, id}` or concrete resources) as a graph node.
  """
  @spec record(atom(), list()) :: Tensor.t()
  def record(name, args) do
    graph = find_graph(args)
    args = Enum.map(args, &to_operand(&1, graph))
    graph |> Native.graph_op(name, args) |> node(graph)
  end

  @doc """
  Records a fused op that has no eager NIF of its own (`:log_softmax`,
  `:softmax_cross_entropy`, `:dropout`); `args` as for `record/2`.
  """
  @spec record_fused(atom(), list()) :: Tensor.t()
  def record_fused(name, args), do: record(name, Enum.map(args, &ref_of/1))

  defp ref_of(%Tensor{ref: ref}), do: ref
  defp ref_of(other), do: other

  @doc """
  Adds the gradient of the scalar `output` with respect to each tensor of
  `wrt` (all traced in the same graph); returns the traced gradients.
  """
  @spec grad(Tensor.t(), [Tensor.t()]) :: [Tensor.t()]
  def grad(%Tensor{ref: {:node, graph, out}}, wrt) do
    ids = Enum.map(wrt, &node_id!(&1, graph))
    graph |> Native.graph_grad(out, ids) |> Native.unwrap!() |> Enum.map(&wrap(&1, graph))
  end

  @doc """
  Plans `graph` to compute `outputs` (traced tensors). Returns the
  executable and an estimate of one run's work (to pick a scheduler).
  """
  @spec compile(t(), [Tensor.t()]) :: {executable(), non_neg_integer()}
  def compile(graph, outputs) do
    ids = Enum.map(outputs, &node_id!(&1, graph))
    graph |> Native.graph_compile(ids) |> Native.unwrap!()
  end

  @doc """
  Runs a compiled graph on concrete `inputs` and `params` (lists, in the
  order they were added). Small graphs run on the calling scheduler, larger
  ones (`work` at or above `Myelin.Tensor.dirty_threshold/0`) on a dirty one.
  """
  @spec run(executable(), [Tensor.t()], [Tensor.t()], keyword()) :: [Tensor.t()]
  def run(exe, inputs, params, opts \\ []) do
    work = Keyword.get(opts, :work, Tensor.dirty_threshold())
    seed = Keyword.get(opts, :seed, 0)
    fun = if work >= Tensor.dirty_threshold(), do: :exe_run_dirty, else: :exe_run

    Native
    |> apply(fun, [exe, Enum.map(inputs, & &1.ref), Enum.map(params, & &1.ref), seed])
    |> Native.unwrap!()
    |> Enum.map(&Tensor.wrap/1)
  end

  @doc false
  def node_id!(%Tensor{ref: {:node, graph, id}}, graph), do: id

  def node_id!(other, _graph) do
    raise ArgumentError,
          "expected a tensor traced in this graph, got #{inspect(other, limit: 3)}"
  end

  defp node({:ok, result}, graph), do: wrap(result, graph)
  defp node(error, _graph), do: Native.unwrap!(error)

  defp wrap({id, shape, type}, graph),
    do: %Tensor{ref: {:node, graph, id}, data: nil, shape: shape, type: type}

  defp find_graph(args) do
    graphs =
      args
      |> List.flatten()
      |> Enum.flat_map(fn
        {:node, g, _} -> [g]
        _ -> []
      end)
      |> Enum.uniq()

    case graphs do
      [g] ->
        g

      _ ->
        raise ArgumentError,
              "cannot combine tensors traced in different graphs in one op"
    end
  end

  defp to_operand({:node, graph, id}, graph), do: id

  defp to_operand(ref, graph) when is_reference(ref) do
    {id, _shape, _type} = graph |> Native.graph_constant(ref) |> Native.unwrap!()
    id
  end

  defp to_operand(list, graph) when is_list(list), do: Enum.map(list, &to_operand(&1, graph))
  defp to_operand(other, _graph), do: other
end
