defmodule Myelin.Loop.Train do
  @moduledoc """
  The supervised training and evaluation loops (`Myelin.Loop.trainer/4`
  and `Myelin.Loop.evaluator/1`).

  A trainer compiles the model once per batch shape into a step graph
  (forward, loss, gradients) and keeps parameters and optimizer state in an
  engine trainer; each iteration is one engine call that runs the step and
  updates the parameters in place, on a dirty scheduler.

  When the model ends in a softmax and the loss is
  `:categorical_cross_entropy`, the step uses the fused softmax
  cross-entropy on the logits (stable, and one kernel).
  """

  alias Myelin.{Compiler, Graph, Native, Tensor}

  @doc "See `Myelin.Loop.trainer/4`."
  @spec trainer(Myelin.Node.t(), atom() | function(), Myelin.Optimizers.t(), keyword()) ::
          Myelin.Loop.t()
  def trainer(model, loss, optimizer, opts \\ []) do
    opts = Tensor.validate_opts!(opts, [:seed, :loss_opts], :trainer)
    check_loss!(loss)

    unless match?(%Myelin.Optimizers{}, optimizer) do
      raise ArgumentError,
            "trainer: expected an optimizer from Myelin.Optimizers, got #{inspect(optimizer)}"
    end

    config = %{
      model: model,
      loss_fn: loss,
      optimizer: optimizer,
      seed: opts[:seed] || 0,
      loss_opts: opts[:loss_opts] || []
    }

    loop = Myelin.Loop.loop(&step(&1, &2), &init(&1, &2, config), &output/1)

    %{loop | serialize_step: &serializable/1}
    |> Myelin.Loop.handle_event(:epoch_completed, &sync/1)
  end

  @doc "See `Myelin.Loop.evaluator/1`."
  @spec evaluator(Myelin.Node.t()) :: Myelin.Loop.t()
  def evaluator(model) do
    init = fn _batch, model_state -> %{model: model, model_state: model_state, exes: %{}} end
    Myelin.Loop.loop(&eval_step/2, init, fn state -> state.metrics end)
  end

  @doc """
  A serializable snapshot of a trainer's step state: the model state, the
  optimizer's state tensors and its step count. `init_state` for a new run
  may be such a snapshot, to resume exactly.
  """
  @spec snapshot(map()) :: map()
  def snapshot(%{trainer: trainer, compiled: c}) do
    {params, slots, step} = trainer |> Native.trainer_snapshot() |> Native.unwrap!()

    %{
      model_state: Compiler.param_map(c, Enum.map(params, &Tensor.wrap/1)),
      optimizer_state: Enum.map(slots, fn s -> Enum.map(s, &Tensor.wrap/1) end),
      optimizer_step: step
    }
  end

  # A live step state as plain data (the snapshot plus the learning-rate
  # scale); a serialized one passes through.
  defp serializable(%{trainer: _} = s),
    do: s |> snapshot() |> Map.put(:lr_scale, Map.get(s, :lr_scale, 1.0))

  defp serializable(s), do: s

  ## Training

  defp init({x, _y}, init_state, config) do
    compiled = Compiler.trace(config.model, x, :train)
    resume = is_map(init_state) and Map.has_key?(init_state, :optimizer_state)

    model_state =
      cond do
        resume -> init_state.model_state
        is_map(init_state) and map_size(init_state) > 0 -> init_state
        true -> Compiler.init_params(compiled, config.seed)
      end

    params = Compiler.param_list(compiled, model_state)
    opt = config.optimizer

    trainable = for {_, _, _, {_, _, kind}} <- compiled.params, do: kind == :trainable

    trainer =
      Native.trainer_new(
        Enum.map(params, & &1.ref),
        trainable,
        opt.kind,
        opt.hyper,
        opt.weight_decay,
        opt.clip
      )
      |> Native.unwrap!()

    step =
      if resume do
        slots = Enum.map(init_state.optimizer_state, fn s -> Enum.map(s, & &1.ref) end)

        Native.trainer_restore(
          trainer,
          Enum.map(params, & &1.ref),
          slots,
          init_state.optimizer_step
        )
        |> Native.unwrap!()

        init_state.optimizer_step
      else
        0
      end

    Map.merge(config, %{
      trainer: trainer,
      compiled: compiled,
      exes: %{},
      step: step,
      model_state: model_state,
      lr_scale: if(resume, do: Map.get(init_state, :lr_scale, 1.0), else: 1.0),
      loss: nil,
      y_true: nil,
      y_pred: nil
    })
  end

  defp init(batch, _init_state, _config) do
    raise ArgumentError,
          "trainer: expected batches of {input, target}, got #{inspect(batch, limit: 3)}"
  end

  defp step({x, y}, s) do
    {exe, s} = step_exe(s, x, y)
    lr = Myelin.Optimizers.learning_rate(s.optimizer, s.step) * Map.get(s, :lr_scale, 1.0)
    seed = :erlang.phash2({s.seed, s.step}, 4_294_967_296)
    inputs = Enum.map(Compiler.input_list(s.model, x) ++ [y], & &1.ref)

    {loss, [y_pred]} =
      s.trainer |> Native.trainer_step(exe, 1, inputs, lr, seed) |> Native.unwrap!()

    %{s | step: s.step + 1, loss: loss, y_true: y, y_pred: Tensor.wrap(y_pred)}
  end

  defp step_exe(s, x, y) do
    key = {shapes(x), y.shape, y.type}

    case s.exes do
      %{^key => exe} ->
        {exe, s}

      _ ->
        exe = build_step(s, x, y)
        {exe, %{s | exes: Map.put(s.exes, key, exe)}}
    end
  end

  defp build_step(s, x, y) do
    c = Compiler.trace(s.model, x, :train)
    y_in = Graph.input(c.graph, y.shape, y.type)
    loss = loss_node(s.loss_fn, y_in, c, s.loss_opts)

    unless loss.shape == {} do
      raise ArgumentError,
            "trainer: the loss must be a scalar, got a tensor of shape #{inspect(loss.shape)}"
    end

    learned = for {_, _, t, {_, _, :trainable}} <- c.params, do: t
    grads = Graph.grad(loss, learned)
    {exe, _work} = Graph.compile(c.graph, [loss, c.output | grads ++ c.state_updates])
    exe
  end

  defp loss_node(:categorical_cross_entropy, y, %{logits: logits} = c, opts) when logits != nil do
    sparse = y.shape != c.output.shape

    Myelin.Losses.categorical_cross_entropy(
      y,
      logits,
      [from_logits: true, sparse: sparse] ++ opts
    )
  end

  defp loss_node(:categorical_cross_entropy, y, c, opts) do
    sparse = y.shape != c.output.shape
    Myelin.Losses.categorical_cross_entropy(y, c.output, [sparse: sparse] ++ opts)
  end

  defp loss_node(name, y, c, opts) when is_atom(name),
    do: apply(Myelin.Losses, name, [y, c.output, opts])

  defp loss_node(fun, y, c, _opts) when is_function(fun, 2), do: fun.(y, c.output)

  defp check_loss!(loss) when is_function(loss, 2), do: :ok

  defp check_loss!(loss) do
    unless loss in Myelin.Losses.names() do
      raise ArgumentError,
            "trainer: unknown loss #{inspect(loss)}, expected a function of (y_true, y_pred) or one of #{inspect(Myelin.Losses.names())}"
    end
  end

  # At each epoch's end the model state is brought up to date, so
  # validation, checkpoints and the loop's output see the current weights.
  defp sync(state) do
    {:continue, %{state | step_state: Map.merge(state.step_state, snapshot(state.step_state))}}
  end

  defp output(state), do: Map.merge(state.step_state, snapshot(state.step_state)).model_state

  defp shapes(%Tensor{} = x), do: {x.shape, x.type}

  defp shapes(x) when is_map(x),
    do: x |> Enum.map(fn {k, t} -> {k, t.shape, t.type} end) |> Enum.sort()

  ## Evaluation

  defp eval_step({x, y}, s) do
    key = shapes(x)

    {{exe, work, c}, s} =
      case s.exes do
        %{^key => hit} ->
          {hit, s}

        _ ->
          c = Compiler.trace(s.model, x, :inference)
          {exe, work} = Graph.compile(c.graph, [c.output])
          {{exe, work, c}, %{s | exes: Map.put(s.exes, key, {exe, work, c})}}
      end

    params = Compiler.param_list(c, s.model_state)
    [y_pred] = Graph.run(exe, Compiler.input_list(s.model, x), params, work: work)
    Map.merge(s, %{y_true: y, y_pred: y_pred})
  end
end
