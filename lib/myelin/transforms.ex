defmodule Myelin.Transforms do
  @moduledoc """
  Function transforms over `Myelin.Tensor` code: gradients
  (`value_and_grad/3`, `grad/3`) and compilation (`jit/2`, `jit_apply/3`).
  `Myelin` delegates to this module; see `Myelin.value_and_grad/3` and
  `Myelin.jit/2` for the user-facing documentation.

  All of them work by tracing (`Myelin.Graph`): the function runs once on
  traced tensors, which records its ops as a graph; the engine
  differentiates the graph (the same per-op rules that train models),
  plans it and runs it. The compiled graph is cached per function and
  argument signature (`Myelin.CompileCache`), so later calls with the same
  shapes and types are one engine call.

  Transforms compose. Called with traced arguments (inside another
  transform, or inside a model's custom layer) they record into the
  enclosing graph instead of compiling: `jit` inlines its function, and
  `grad` adds its gradient nodes there, so `grad` of `grad` and `jit` of
  `grad` work wherever the rules are differentiable. A nested `grad`
  differentiates with respect to fresh aliases of its arguments, so a
  value the inner function captures from the outer one counts as a
  constant there (no perturbation confusion).
  """

  alias Myelin.{CompileCache, Graph, Tensor, Tree}

  @max_jit_arity 6

  @doc "See `Myelin.value_and_grad/3`."
  @spec value_and_grad(function(), list(), keyword()) :: {term(), term()}
  def value_and_grad(fun, args, opts \\ []) do
    opts = Tensor.validate_opts!(opts, [:argnums, :has_aux], :value_and_grad)
    check_call!(fun, args, :value_and_grad)
    argnums = Keyword.get(opts, :argnums, 0)
    positions = positions!(argnums, length(args))
    has_aux = Keyword.get(opts, :has_aux, false)
    single? = is_integer(argnums)

    transform = fn traced_args ->
      traced_value_and_grad(fun, traced_args, positions, single?, has_aux)
    end

    case enclosing_graph(args) do
      nil ->
        key = {:value_and_grad, fun_key(fun), argnums, has_aux}
        run_compiled(key, transform, args, :value_and_grad)

      graph ->
        transform.(args |> Tree.map(&to_node!(&1, graph, :grad)))
    end
  end

  @doc "See `Myelin.grad/3`."
  @spec grad(function(), list(), keyword()) :: term()
  def grad(fun, args, opts \\ []) do
    opts = Tensor.validate_opts!(opts, [:argnums, :has_aux], :grad)

    {value, grads} = value_and_grad(fun, args, opts)
    if opts[:has_aux], do: {grads, elem(value, 1)}, else: grads
  end

  @doc "See `Myelin.jit/2`."
  @spec jit(function(), keyword()) :: function()
  def jit(fun, opts \\ []) when is_function(fun) do
    Tensor.validate_opts!(opts, [], :jit)
    call = &jit_apply(fun, &1, opts)

    # One clause per arity: Elixir cannot build a function of a computed
    # arity without code generation.
    case :erlang.fun_info(fun, :arity) do
      {:arity, 0} -> fn -> call.([]) end
      {:arity, 1} -> fn a -> call.([a]) end
      {:arity, 2} -> fn a, b -> call.([a, b]) end
      {:arity, 3} -> fn a, b, c -> call.([a, b, c]) end
      {:arity, 4} -> fn a, b, c, d -> call.([a, b, c, d]) end
      {:arity, 5} -> fn a, b, c, d, e -> call.([a, b, c, d, e]) end
      {:arity, 6} -> fn a, b, c, d, e, f -> call.([a, b, c, d, e, f]) end
      {:arity, n} -> raise ArgumentError, too_many_arguments(n)
    end
  end

  defp too_many_arguments(n) do
    "jit: expected a function of at most #{@max_jit_arity} arguments, got one of #{n}; " <>
      "group arguments in a tuple or map, or call jit_apply/3 with a list of arguments"
  end

  @doc "See `Myelin.jit_apply/3`."
  @spec jit_apply(function(), list(), keyword()) :: term()
  def jit_apply(fun, args, opts \\ []) do
    Tensor.validate_opts!(opts, [], :jit)
    check_call!(fun, args, :jit)

    if enclosing_graph(args) do
      trace_call(fun, args, :jit)
    else
      run_compiled({:jit, fun_key(fun)}, &trace_call(fun, &1, :jit), args, :jit)
    end
  end

  ## Gradients on traced arguments

  defp traced_value_and_grad(fun, args, positions, single?, has_aux) do
    graph = graph_of!(args)

    # Differentiated arguments are replaced by fresh alias nodes, so only
    # the paths through the function's own arguments are differentiated.
    {args, wrt} =
      args
      |> Enum.with_index()
      |> Enum.map_reduce([], fn {arg, i}, wrt ->
        if i in positions do
          aliased = Tree.map(arg, &alias_leaf(&1, graph))
          {aliased, [aliased | wrt]}
        else
          {arg, wrt}
        end
      end)

    wrt = Enum.reverse(wrt)
    result = trace_call(fun, args, :grad)
    {value, aux} = split_aux!(result, has_aux)
    value = to_node!(value, graph, :grad)

    {wrt_leaves, wrt_templates} =
      Enum.map_reduce(wrt, [], fn tree, templates ->
        {leaves, template} = Tree.flatten(tree)
        {leaves, [{template, length(leaves)} | templates]}
      end)

    grads = located(fn -> Graph.grad(value, List.flatten(wrt_leaves)) end, :grad)
    grads = regroup(grads, Enum.reverse(wrt_templates))
    grads = if single?, do: hd(grads), else: grads
    value = if has_aux, do: {value, aux}, else: value
    {value, grads}
  end

  defp alias_leaf(leaf, graph) do
    leaf = to_node!(leaf, graph, :grad)

    unless Tensor.Type.float?(leaf.type) do
      raise ArgumentError,
            "grad: expected the differentiated arguments to hold float tensors, " <>
              "got a tensor of type #{inspect(leaf.type)}"
    end

    Tensor.reshape(leaf, leaf.shape)
  end

  defp split_aux!(result, false), do: {result, nil}
  defp split_aux!({value, aux}, true), do: {value, aux}

  defp split_aux!(other, true) do
    raise ArgumentError,
          "grad: with has_aux: true, expected the function to return {value, aux}, got #{inspect(other, limit: 3)}"
  end

  defp regroup(grads, templates) do
    {trees, []} =
      Enum.map_reduce(templates, grads, fn {template, n}, rest ->
        {mine, rest} = Enum.split(rest, n)
        {Tree.unflatten(template, mine), rest}
      end)

    trees
  end

  ## Compiling and running

  # Traces `transform` on inputs shaped like `args`, compiles the graph
  # once per signature and runs it on `args`.
  defp run_compiled(key, transform, args, op) do
    {leaves, template} = Tree.flatten(args)
    leaves = Enum.map(leaves, &Tensor.to_tensor/1)
    signature = Enum.map(leaves, &{&1.shape, &1.type})

    {exe, work, out_template} =
      CompileCache.fetch({key, template, signature}, fn ->
        compile(transform, signature, template, op)
      end)

    outs = Graph.run(exe, leaves, [], work: work)
    Tree.unflatten(out_template, outs)
  end

  # A function's identity for the cache: its code and its captured
  # variables, with captured tensors reduced to their references. (A fun
  # term itself would do, but ETS hashes a key whole, and a captured
  # tensor's data binary would be hashed on every call.)
  defp fun_key(fun) do
    case :erlang.fun_info(fun, :type) do
      {:type, :external} ->
        fun

      {:type, :local} ->
        info = Map.new([:module, :new_uniq, :index, :env], &:erlang.fun_info(fun, &1))
        {info.module, info.new_uniq, info.index, Enum.map(info.env, &strip_data/1)}
    end
  end

  defp strip_data(%Tensor{ref: ref, shape: shape, type: type}), do: {Tensor, ref, shape, type}
  defp strip_data(%_{} = struct), do: struct |> Map.from_struct() |> strip_data()
  defp strip_data(list) when is_list(list), do: Enum.map(list, &strip_data/1)
  defp strip_data(map) when is_map(map), do: Map.new(map, fn {k, v} -> {k, strip_data(v)} end)

  defp strip_data(tuple) when is_tuple(tuple),
    do: tuple |> Tuple.to_list() |> Enum.map(&strip_data/1) |> List.to_tuple()

  defp strip_data(other), do: other

  defp compile(transform, signature, template, op) do
    graph = Graph.new()
    inputs = Enum.map(signature, fn {shape, type} -> Graph.input(graph, shape, type) end)
    result = while_tracing(graph, fn -> transform.(Tree.unflatten(template, inputs)) end)
    {out_leaves, out_template} = Tree.flatten(result)
    outputs = Enum.map(out_leaves, &to_node!(&1, graph, op))
    {exe, work} = Graph.compile(graph, outputs)
    {exe, work, out_template}
  end

  # A leaf as a node of `graph`: traced leaves must belong to it; concrete
  # tensors and numbers become constants.
  defp to_node!(%Tensor{ref: {:node, graph, _}} = t, graph, _op), do: t
  defp to_node!(%Tensor{ref: {:node, _, _}}, _graph, op), do: raise(ArgumentError, foreign(op))
  defp to_node!(%Tensor{} = t, graph, _op), do: Graph.constant(graph, t)
  defp to_node!(n, graph, _op) when is_number(n), do: Graph.constant(graph, Tensor.tensor(n))

  defp to_node!(other, _graph, op) do
    raise ArgumentError,
          "#{op}: expected the function to return a float scalar tensor, got #{inspect(other, limit: 3)}"
  end

  defp foreign(op) do
    "#{op}: the function returned a tensor traced in another graph " <>
      "(a traced tensor leaked out of a different transform)"
  end

  ## Tracing helpers

  @tracing_key :myelin_tracing_graph

  # A transform called while another is tracing (directly, or from a
  # function the outer one calls) records into the graph being traced,
  # even when its own arguments are concrete: the function may capture
  # traced values of the outer one. Otherwise it records into the graph
  # of its traced arguments, if any; nil means: compile and run.
  defp enclosing_graph(args) do
    {leaves, _} = Tree.flatten(args)

    case for(%Tensor{ref: {:node, g, _}} <- leaves, do: g) do
      [graph | _] -> graph
      [] -> Process.get(@tracing_key)
    end
  end

  defp while_tracing(graph, fun) do
    previous = Process.put(@tracing_key, graph)

    try do
      fun.()
    after
      if previous, do: Process.put(@tracing_key, previous), else: Process.delete(@tracing_key)
    end
  end

  defp graph_of!(args) do
    {leaves, _} = Tree.flatten(args)

    case Enum.uniq(for %Tensor{ref: {:node, g, _}} <- leaves, do: g) do
      [graph] ->
        graph

      _ ->
        raise ArgumentError, "grad: cannot combine tensors traced in different graphs"
    end
  end

  defp check_call!(fun, args, op) do
    unless is_list(args) do
      raise ArgumentError, "#{op}: expected a list of arguments, got #{inspect(args, limit: 3)}"
    end

    unless is_function(fun, length(args)) do
      raise ArgumentError,
            "#{op}: expected a function of #{length(args)} arguments (one per element of the " <>
              "argument list), got #{inspect(fun)}"
    end
  end

  defp positions!(argnums, n) do
    positions = List.wrap(argnums)

    unless positions != [] and Enum.all?(positions, &(is_integer(&1) and &1 >= 0 and &1 < n)) do
      raise ArgumentError,
            "grad: expected argnums: to be an argument position (0..#{n - 1}) or a non-empty " <>
              "list of them, got #{inspect(argnums)}"
    end

    positions
  end

  # Calls the user's function on traced arguments; an engine error raised
  # inside it gets the location in the user's code where the op was traced.
  defp trace_call(fun, args, op), do: located(fn -> apply(fun, args) end, op)

  defp located(thunk, op) do
    thunk.()
  rescue
    e in [ArgumentError, Myelin.Error] ->
      reraise %{e | message: add_location(e.message, __STACKTRACE__, op)}, __STACKTRACE__
  end

  defp add_location(message, stacktrace, op) do
    if String.contains?(message, "(traced by ") do
      message
    else
      case Enum.find(stacktrace, &user_frame?/1) do
        {_mod, _fun, _arity, info} ->
          "#{message} (traced by Myelin.#{op} at #{info[:file]}:#{info[:line]})"

        nil ->
          message
      end
    end
  end

  @library_apps [:myelin, :elixir, :stdlib, :kernel]

  defp user_frame?({mod, _fun, _arity, info}) do
    info[:file] != nil and
      case :application.get_application(mod) do
        {:ok, app} -> app not in @library_apps
        :undefined -> true
      end
  end

  defp user_frame?(_), do: false
end
