defmodule Myelin.Loop.Callbacks do
  @moduledoc """
  Ready-made `:epoch_completed` handlers for `Myelin.Loop`: validation, early
  stopping, checkpoints and learning-rate reduction. `Myelin.Loop` delegates to
  these functions, so call them as `Myelin.Loop.validate/4` and so on.

  Handlers run in the order they are attached: attach `validate/4` before the
  handlers that monitor a `"validation_..."` metric, and after the `metric/5`
  calls whose metrics it should reuse.

  They keep their bookkeeping (best value, epochs without improvement) in
  `state.handler_metadata` under string keys, so it is saved in checkpoints and
  a resumed run carries on where it stopped.
  """

  alias Myelin.Loop
  alias Myelin.Loop.{Metric, Runner, State}

  @doc """
  Runs a validation at the end of every epoch and stores its results in
  `state.metrics` as `"validation_<name>"`.

  `evaluate` is either a function `(step_state, validation_data) -> %{name => number}`
  (values may also be scalar tensors), or a model: then the loop runs
  `Myelin.Loop.evaluator(model)` with the loop's metrics over `validation_data`
  for one epoch, silently, starting from the step state's `:model_state`.

  Options (model form only): `batch_size:` and `iterations:`, passed to that run.

      iex> loop =
      ...>   Myelin.Loop.loop(fn x, sum -> sum + x end)
      ...>   |> Myelin.Loop.validate(fn sum, data -> %{"gap" => sum - Enum.sum(data)} end, [1, 1])
      iex> Myelin.Loop.run(loop, [1, 2, 3], 0, log: 0).metrics
      %{"validation_gap" => 4}
  """
  @spec validate(Loop.t(), (term(), term() -> map()) | term(), term(), keyword()) :: Loop.t()
  def validate(loop, evaluate, validation_data, opts \\ [])

  def validate(%Loop{} = loop, evaluate, validation_data, opts) do
    op = "Myelin.Loop.validate"
    Myelin.Tensor.validate_opts!(opts, [:batch_size, :iterations], op)
    evaluate = evaluate_fun!(loop, evaluate, opts, op)

    Loop.handle_event(loop, :epoch_completed, fn state ->
      results = evaluate.(state.step_state, validation_data)

      unless is_map(results) do
        raise ArgumentError,
              "#{op}: the evaluation returned #{inspect(results, limit: 5)}, expected a map of " <>
                "metric names to numbers"
      end

      metrics =
        Enum.reduce(results, state.metrics, fn {name, value}, acc ->
          Map.put(acc, "validation_#{name}", Metric.number!(value, name))
        end)

      {:continue, %{state | metrics: metrics}}
    end)
  end

  def validate(loop, _evaluate, _data, _opts), do: not_a_loop!(loop, "Myelin.Loop.validate")

  defp evaluate_fun!(_loop, fun, _opts, _op) when is_function(fun, 2), do: fun

  defp evaluate_fun!(_loop, fun, _opts, op) when is_function(fun) do
    raise ArgumentError,
          "#{op}: expected a function of (step_state, validation_data) or a model, got #{inspect(fun)}"
  end

  defp evaluate_fun!(loop, model, opts, op) do
    metrics = loop.metrics

    fn step_state, data ->
      model_state =
        case step_state do
          %{model_state: model_state} ->
            model_state

          other ->
            raise ArgumentError,
                  "#{op}: validating a model needs a step state with :model_state, got " <>
                    inspect(other, limit: 5)
        end

      # Myelin.Loop.evaluator/1 comes with the trainer (Myelin.Loop.Train).
      unless function_exported?(Loop, :evaluator, 1) do
        raise ArgumentError, "#{op}: Myelin.Loop.evaluator/1 is not available to evaluate a model"
      end

      evaluator = apply(Loop, :evaluator, [model])
      names = Enum.map(evaluator.metrics, & &1.name)

      evaluator = %{
        evaluator
        | metrics: evaluator.metrics ++ Enum.reject(metrics, &(&1.name in names))
      }

      Runner.run(evaluator, data, model_state, [epochs: 1, log: 0] ++ opts).metrics
    end
  end

  @doc """
  Stops the run when the metric `monitor` has not improved for `patience` epochs.

  Options: `patience:` (default 3), `mode:` (`:min`, the default, or `:max`),
  `min_delta:` (default 0: the smallest change that counts as an improvement).
  A non-finite value (`:nan`) never counts as an improvement.

      iex> losses = [5, 4, 4, 4, 3]
      iex> loop =
      ...>   Myelin.Loop.loop(fn _batch, epoch -> epoch + 1 end, fn _, _ -> 0 end)
      ...>   |> Myelin.Loop.metric(fn _, loss -> loss end, "val", :running_average,
      ...>     fn epoch -> {nil, Enum.at(losses, epoch - 1)} end)
      ...>   |> Myelin.Loop.early_stop("val", patience: 2)
      iex> state = Myelin.Loop.run(loop, [:batch], nil, epochs: 5, log: 0)
      iex> {state.status, state.epoch}
      {:halt_loop, 3}
  """
  @spec early_stop(Loop.t(), String.t() | atom(), keyword()) :: Loop.t()
  def early_stop(loop, monitor, opts \\ [])

  def early_stop(%Loop{} = loop, monitor, opts) do
    op = "Myelin.Loop.early_stop"
    Myelin.Tensor.validate_opts!(opts, [:patience, :mode, :min_delta], op)
    {name, patience, mode, delta} = plateau_opts!(monitor, opts, op)

    Loop.handle_event(loop, :epoch_completed, fn state ->
      {state, improved?, wait} = track(state, "early_stop:" <> name, name, mode, delta, op)
      if not improved? and wait >= patience, do: {:halt_loop, state}, else: {:continue, state}
    end)
  end

  def early_stop(loop, _monitor, _opts), do: not_a_loop!(loop, "Myelin.Loop.early_stop")

  @doc """
  Saves the loop state at the end of every `every` epochs, so a run can resume
  from it: `Myelin.Loop.run(loop, data, %{}, from_state: Myelin.Loop.State.from_map(loaded))`.

  Options:

    * `dir:` - a directory; each save writes `<dir>/epoch_<n>.ckpt`, where `n`
      counts the epochs completed (default dir: `"checkpoints"`).
    * `path:` - instead of `dir:`, one file path (overwritten by each save), or a
      function of the `%Myelin.Loop.State{}` returning the path.
    * `every:` - save every this many epochs (default 1).
    * `keep_best:` - a metric name: save only when it improves on the best saved so far,
      by `mode:` (`:min` default, `:max`).
    * `save:` - the function `(path, term)` that writes; default `Myelin.Checkpoint.save/2`.

  The saved term is `Myelin.Loop.State.to_map/1` of the state, with the step
  state in its serializable form when the loop has one (a trainer's: the
  model state, optimizer state and step count). Resume with
  `from_state: Myelin.Loop.State.from_map(Myelin.Checkpoint.load(path))`.

      iex> parent = self()
      iex> loop =
      ...>   Myelin.Loop.loop(fn x, sum -> sum + x end)
      ...>   |> Myelin.Loop.checkpoint(path: "last.ckpt", save: fn path, map -> send(parent, {path, map.step_state}) end)
      iex> _ = Myelin.Loop.run(loop, [1, 2], 0, epochs: 2, log: 0)
      iex> for _ <- 1..2, do: (receive do: (msg -> msg))
      [{"last.ckpt", 3}, {"last.ckpt", 6}]
  """
  @spec checkpoint(Loop.t(), keyword()) :: Loop.t()
  def checkpoint(loop, opts \\ [])

  def checkpoint(%Loop{} = loop, opts) do
    op = "Myelin.Loop.checkpoint"
    Myelin.Tensor.validate_opts!(opts, [:path, :dir, :every, :keep_best, :mode, :save], op)
    path_for = path_fun!(opts, op)
    every = int_opt!(opts, :every, 1, 1, op)
    save = Keyword.get(opts, :save, &Myelin.Checkpoint.save/2)

    unless is_function(save, 2) do
      raise ArgumentError,
            "#{op}: expected save: to be a function (path, term), got #{inspect(save)}"
    end

    best =
      case Keyword.fetch(opts, :keep_best) do
        {:ok, monitor} -> {monitor_name!(monitor, op), mode!(opts, op)}
        :error -> nil
      end

    # The step state is saved in its serializable form when the loop has
    # one (a trainer's engine references become its parameters and
    # optimizer state); a run resumed from the file revives it.
    serialize = loop.serialize_step || (& &1)
    save = fn path, map -> save.(path, Map.update!(map, :step_state, serialize)) end

    Loop.handle_event(loop, :epoch_completed, fn state ->
      state =
        if rem(state.epoch + 1, every) == 0,
          do: save_if_best(state, best, path_for, save, op),
          else: state

      {:continue, state}
    end)
  end

  def checkpoint(loop, _opts), do: not_a_loop!(loop, "Myelin.Loop.checkpoint")

  defp save_if_best(state, nil, path_for, save, _op), do: write(state, path_for, save)

  defp save_if_best(state, {name, mode}, path_for, save, op) do
    case track(state, "checkpoint:" <> name, name, mode, 0, op) do
      {state, true, _wait} -> write(state, path_for, save)
      {state, false, _wait} -> state
    end
  end

  # The state is saved as handlers after this one will see it, its own
  # bookkeeping included, so a resumed run knows the best value saved.
  defp write(state, path_for, save) do
    path = path_for.(state)
    File.mkdir_p!(Path.dirname(path))
    save.(path, State.to_map(state))
    state
  end

  defp path_fun!(opts, op) do
    case {Keyword.get(opts, :path), Keyword.get(opts, :dir)} do
      {nil, dir} when is_binary(dir) or is_nil(dir) ->
        dir = dir || "checkpoints"
        &Path.join(dir, "epoch_#{&1.epoch + 1}.ckpt")

      {path, nil} when is_binary(path) ->
        fn _state -> path end

      {fun, nil} when is_function(fun, 1) ->
        fun

      {nil, dir} ->
        raise ArgumentError, "#{op}: expected dir: to be a string, got #{inspect(dir)}"

      {path, nil} ->
        raise ArgumentError,
              "#{op}: expected path: to be a string or a function of the state, got #{inspect(path)}"

      _both ->
        raise ArgumentError, "#{op}: expected path: or dir:, not both"
    end
  end

  @doc """
  Multiplies `step_state[:lr_scale]` (default 1.0) by `factor` when the metric
  `monitor` has not improved for `patience` epochs. The trainer multiplies its
  learning rate by `:lr_scale`.

  Options: `factor:` (default 0.1, between 0 and 1), `patience:` (default 3),
  `min_lr:` (the smallest scale, default 0.0), `mode:` (`:min` default, `:max`),
  `min_delta:` (default 0).

      iex> loop =
      ...>   Myelin.Loop.loop(fn _batch, s -> s end, fn _, _ -> %{loss: 1.0} end)
      ...>   |> Myelin.Loop.reduce_lr_on_plateau("loss", factor: 0.5, patience: 1)
      iex> Myelin.Loop.run(loop, [:batch], nil, epochs: 3, log: 0).step_state.lr_scale
      0.25
  """
  @spec reduce_lr_on_plateau(Loop.t(), String.t() | atom(), keyword()) :: Loop.t()
  def reduce_lr_on_plateau(loop, monitor, opts \\ [])

  def reduce_lr_on_plateau(%Loop{} = loop, monitor, opts) do
    op = "Myelin.Loop.reduce_lr_on_plateau"
    Myelin.Tensor.validate_opts!(opts, [:factor, :patience, :min_lr, :mode, :min_delta], op)
    {name, patience, mode, delta} = plateau_opts!(monitor, opts, op)
    factor = Keyword.get(opts, :factor, 0.1)
    min_lr = Keyword.get(opts, :min_lr, 0.0)

    unless is_number(factor) and factor > 0 and factor < 1 do
      raise ArgumentError,
            "#{op}: expected factor: to be a number between 0 and 1, got #{inspect(factor)}"
    end

    unless is_number(min_lr) and min_lr >= 0 do
      raise ArgumentError,
            "#{op}: expected min_lr: to be a non-negative number, got #{inspect(min_lr)}"
    end

    key = "reduce_lr_on_plateau:" <> name

    Loop.handle_event(loop, :epoch_completed, fn state ->
      case track(state, key, name, mode, delta, op) do
        {state, false, wait} when wait >= patience ->
          {:continue, reduce_lr(state, key, factor, min_lr, op)}

        {state, _improved?, _wait} ->
          {:continue, state}
      end
    end)
  end

  def reduce_lr_on_plateau(loop, _monitor, _opts),
    do: not_a_loop!(loop, "Myelin.Loop.reduce_lr_on_plateau")

  # Lowers the scale and restarts the patience count.
  defp reduce_lr(%State{step_state: %{} = step_state} = state, key, factor, min_lr, _op) do
    scale = max(Map.get(step_state, :lr_scale, 1.0) * factor, min_lr)
    meta = Map.update!(state.handler_metadata, key, &Map.put(&1, "wait", 0))
    %{state | step_state: Map.put(step_state, :lr_scale, scale), handler_metadata: meta}
  end

  defp reduce_lr(state, _key, _factor, _min_lr, op) do
    raise ArgumentError,
          "#{op}: needs a map step state to hold :lr_scale, got #{inspect(state.step_state, limit: 5)}"
  end

  ## Shared by the monitoring handlers

  defp plateau_opts!(monitor, opts, op) do
    {monitor_name!(monitor, op), int_opt!(opts, :patience, 3, 0, op), mode!(opts, op),
     min_delta!(opts, op)}
  end

  # Compares the monitored metric with the best value kept under `key` in
  # handler_metadata; returns {state, improved?, epochs without improvement}.
  defp track(state, key, name, mode, delta, op) do
    value = monitored!(state, name, op)

    %{"best" => best, "wait" => wait} =
      Map.get(state.handler_metadata, key, %{"best" => nil, "wait" => 0})

    improved? = improved?(value, best, mode, delta)

    entry =
      if improved?,
        do: %{"best" => value, "wait" => 0},
        else: %{"best" => best, "wait" => wait + 1}

    {%{state | handler_metadata: Map.put(state.handler_metadata, key, entry)}, improved?,
     entry["wait"]}
  end

  defp monitored!(state, name, op) do
    case Map.fetch(state.metrics, name) do
      {:ok, value} ->
        value

      :error ->
        raise ArgumentError,
              "#{op}: the monitored metric #{inspect(name)} is not among the loop's metrics " <>
                "#{inspect(Map.keys(state.metrics))} at the end of epoch #{state.epoch}"
    end
  end

  defp improved?(value, _best, _mode, _delta) when not is_number(value), do: false
  defp improved?(_value, nil, _mode, _delta), do: true
  defp improved?(value, best, :min, delta), do: value < best - delta
  defp improved?(value, best, :max, delta), do: value > best + delta

  defp monitor_name!(name, _op) when is_binary(name), do: name
  defp monitor_name!(name, _op) when is_atom(name) and not is_nil(name), do: Atom.to_string(name)

  defp monitor_name!(other, op) do
    raise ArgumentError,
          "#{op}: expected the monitored metric's name as a string or atom, got #{inspect(other)}"
  end

  defp mode!(opts, op) do
    case Keyword.get(opts, :mode, :min) do
      mode when mode in [:min, :max] ->
        mode

      other ->
        raise ArgumentError, "#{op}: expected mode: to be :min or :max, got #{inspect(other)}"
    end
  end

  defp min_delta!(opts, op) do
    case Keyword.get(opts, :min_delta, 0) do
      delta when is_number(delta) and delta >= 0 ->
        delta

      other ->
        raise ArgumentError,
              "#{op}: expected min_delta: to be a non-negative number, got #{inspect(other)}"
    end
  end

  defp int_opt!(opts, key, default, least, op) do
    case Keyword.get(opts, key, default) do
      n when is_integer(n) and n >= least ->
        n

      other ->
        raise ArgumentError,
              "#{op}: expected #{key}: to be an integer >= #{least}, got #{inspect(other)}"
    end
  end

  defp not_a_loop!(other, op) do
    raise ArgumentError, "#{op}: expected a %Myelin.Loop{}, got #{inspect(other, limit: 5)}"
  end
end
