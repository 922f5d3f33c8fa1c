defmodule Myelin.Compiler do
  @moduledoc """
  Lowers a model (plain `Myelin.Node` data) into an engine graph by tracing
  each layer's `Myelin.Layers.apply/5` on symbolic tensors, in topological
  order. The graph is built once per input shape; the engine infers every
  shape, differentiates and plans it.
  """

  alias Myelin.{Graph, Layers, Node, Tensor}

  defstruct [:graph, :inputs, :output, :logits, :params, :state_updates]

  @typedoc """
  A traced model: the graph, its input tensors (in input order), the
  output, the softmax's logits when the model ends in a softmax (for the
  fused cross-entropy), the parameters as `{layer, name, tensor, {shape,
  initializer, :trainable | :state}}` in graph order, and the new values of
  the `:state` parameters (batch-norm statistics) in the same order.
  """
  @type t :: %__MODULE__{}

  @doc """
  Traces `model` for inputs `x` (a tensor for a single-input model, or a
  map of input name to tensor; only shapes and types are read) in `mode`.
  """
  @spec trace(Node.t(), Tensor.t() | map(), :train | :inference, Graph.t() | nil) :: t()
  def trace(model, x, mode, graph \\ nil) do
    graph = graph || Graph.new()
    nodes = Node.topological(model)
    input_nodes = Enum.filter(nodes, &(&1.op == :input))
    templates = templates!(input_nodes, x)

    inputs =
      Map.new(input_nodes, fn n ->
        {shape, type} = Map.fetch!(templates, n.name)
        {n.id, Graph.input(graph, shape, type)}
      end)

    {values, params, updates} =
      Enum.reduce(nodes, {inputs, [], []}, fn
        %Node{op: :input}, acc ->
          acc

        node, {values, params, updates} ->
          args = Enum.map(node.parents, &Map.fetch!(values, &1.id))
          shapes = Enum.map(args, & &1.shape)

          decls =
            Enum.map(Layers.params(node.op, shapes, node.opts), &Tuple.append(&1, :trainable)) ++
              Enum.map(Layers.state(node.op, shapes, node.opts), &Tuple.append(&1, :state))

          traced =
            Map.new(decls, fn {pname, shape, _init, _kind} ->
              {pname, Graph.param(graph, shape, param_type(node))}
            end)

          {out, new_state} =
            case Layers.apply(node.op, args, traced, layer_opts(node), mode) do
              {out, %{} = new_state} -> {out, new_state}
              out -> {out, %{}}
            end

          new =
            for {pname, shape, init, kind} <- decls,
                do: {node.name, pname, traced[pname], {shape, init, kind}}

          # Layers with state (batch norm) return its new value in training;
          # in inference the state passes through unchanged.
          new_updates =
            for {pname, _, _, :state} <- decls, do: Map.get(new_state, pname, traced[pname])

          {Map.put(values, node.id, out), params ++ new, updates ++ new_updates}
      end)

    last = List.last(nodes)

    logits =
      if last.op == :activation and last.opts[:activation] == :softmax,
        do: Map.fetch!(values, hd(last.parents).id)

    %__MODULE__{
      graph: graph,
      inputs: Enum.map(input_nodes, &Map.fetch!(inputs, &1.id)),
      output: Map.fetch!(values, last.id),
      logits: logits,
      params: params,
      state_updates: updates
    }
  end

  @doc """
  Fresh parameters for a traced model, as the nested model-state map
  `%{layer => %{param => tensor}}`, seeded from `seed`.
  """
  @spec init_params(t(), non_neg_integer()) :: map()
  def init_params(%__MODULE__{params: params}, seed) do
    Enum.reduce(params, %{}, fn {layer, pname, traced, {shape, init, _kind}}, acc ->
      s = :erlang.phash2({seed, layer, pname}, 4_294_967_296)
      t = Myelin.Initializers.init(init, shape, traced.type, s)
      Map.update(acc, layer, %{pname => t}, &Map.put(&1, pname, t))
    end)
  end

  @doc "The parameter tensors of `state` in the traced model's order."
  @spec param_list(t(), map()) :: [Tensor.t()]
  def param_list(%__MODULE__{params: params}, state) do
    for {layer, pname, traced, _} <- params do
      # A match, not get_in/2: this runs on every prediction, and the
      # Access dispatch cost a batch-1 MLP prediction about 1 µs.
      t =
        case state do
          %{^layer => %{^pname => t}} -> t
          _ -> nil
        end

      unless match?(%Tensor{}, t) and t.shape == traced.shape and t.type == traced.type do
        raise ArgumentError,
              "model state: expected #{layer}.#{pname} to be a tensor of shape #{inspect(traced.shape)} " <>
                "and type #{inspect(traced.type)}, got #{inspect(t, limit: 3)}"
      end

      t
    end
  end

  @doc "Rebuilds the model-state map from parameter tensors in traced order."
  @spec param_map(t(), [Tensor.t()]) :: map()
  def param_map(%__MODULE__{params: params}, tensors) do
    params
    |> Enum.zip(tensors)
    |> Enum.reduce(%{}, fn {{layer, pname, _, _}, t}, acc ->
      Map.update(acc, layer, %{pname => t}, &Map.put(&1, pname, t))
    end)
  end

  @doc "The input tensors of `x` in the model's input order."
  @spec input_list(Node.t(), Tensor.t() | map()) :: [Tensor.t()]
  def input_list(model, %Tensor{} = x), do: input_list(model, %{single: x})

  def input_list(model, x) when is_map(x) do
    inputs = model |> Node.topological() |> Enum.filter(&(&1.op == :input))

    case {inputs, x} do
      {[_], %{single: t}} -> [t]
      _ -> Enum.map(inputs, &(Map.get(x, &1.name) || missing!(&1.name, x)))
    end
  end

  defp templates!(input_nodes, x) do
    x = if match?(%Tensor{}, x), do: %{single: x}, else: x

    Map.new(input_nodes, fn n ->
      t =
        case {input_nodes, x} do
          {[_], %{single: t}} -> t
          _ -> Map.get(x, n.name) || missing!(n.name, x)
        end

      check_input_shape!(n, t)
      {n.name, {t.shape, t.type}}
    end)
  end

  defp check_input_shape!(node, t) do
    declared = node.opts[:shape]

    ok =
      declared == nil or
        (tuple_size(declared) == tuple_size(t.shape) and
           Enum.all?(Enum.zip(Tuple.to_list(declared), Tuple.to_list(t.shape)), fn {d, a} ->
             d == nil or d == a
           end))

    unless ok do
      raise ArgumentError,
            "input #{inspect(node.name)}: expected a tensor of shape #{inspect(declared)} (nil: any size), got #{inspect(t.shape)}"
    end
  end

  defp missing!(name, x) do
    raise ArgumentError,
          "model input #{inspect(name)} is missing: got inputs #{inspect(Map.keys(x))}"
  end

  # Dropout draws its mask from the step seed mixed with a per-layer salt;
  # the salt comes from the layer's name so that the same model gives the
  # same masks in every run (and a resumed run continues exactly).
  defp layer_opts(%Node{op: :dropout} = node),
    do: Keyword.put(node.opts, :salt, :erlang.phash2(node.name))

  defp layer_opts(node), do: node.opts

  defp param_type(node), do: Keyword.get(node.opts, :param_type, {:f, 32})
end
