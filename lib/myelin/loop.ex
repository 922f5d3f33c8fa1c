defmodule Myelin.Loop do
  @moduledoc """
  A generic, event-driven loop over batches of data: the engine under training
  and evaluation, modelled on `Axon.Loop`.

  A loop is a step function `(batch, step_state) -> step_state` with an init
  function, metrics and event handlers. `run/4` calls the step on every batch,
  for some epochs, and fires events along the way:

      :started
        :epoch_started                       once per epoch
          :iteration_started                 once per batch, before the step
          :iteration_completed               after the step and the metrics
        :epoch_halted                        when a handler halted the epoch
        :epoch_completed                     also after a halted epoch
      :completed  (or :halted when a handler halted the loop)

  Handlers receive the `Myelin.Loop.State` and return `{:continue, state}`,
  `{:halt_epoch, state}` (end this epoch; an `:iteration_started` halt skips its
  step) or `{:halt_loop, state}` (stop now, without `:epoch_completed`).

      iex> loop = Myelin.Loop.loop(fn batch, total -> total + batch end)
      iex> state = Myelin.Loop.run(loop, [1, 2, 3], 0, epochs: 2, log: 0)
      iex> {state.step_state, state.epoch, state.iteration_total, state.status}
      {12, 1, 6, :completed}

  Handlers for validation, early stopping, checkpoints and learning-rate
  reduction come ready-made: `validate/4`, `early_stop/3`, `checkpoint/2`,
  `reduce_lr_on_plateau/3` (documented in `Myelin.Loop.Callbacks`).

  A run happens in the calling process, so it stops when its caller dies; use
  `run_async/4` (a linked `Task`) to keep the caller free, and `cancel/1` to stop it.
  """

  alias Myelin.Loop.{Callbacks, Events, Metric, Runner, State}

  @typedoc "An event of the loop; see the module documentation for the order."
  @type event ::
          :started
          | :epoch_started
          | :iteration_started
          | :iteration_completed
          | :epoch_completed
          | :epoch_halted
          | :halted
          | :completed

  @typedoc """
  When a handler runs, counting the firings of its event over the run (`n`-th firing):
  `:always`; `[every: n]` on firings n, 2n, ...; `[once: n]` only on the n-th;
  `[first: n]` on the first n; `[before: n]` on those before the n-th; `[after: n]`
  on those after the n-th; or a function of the state returning a boolean.
  """
  @type filter ::
          :always
          | [every: pos_integer()]
          | [once: pos_integer()]
          | [first: pos_integer()]
          | [before: non_neg_integer()]
          | [after: non_neg_integer()]
          | (State.t() -> boolean())

  @type handler :: (State.t() -> {:continue | :halt_epoch | :halt_loop, State.t()})

  @type t :: %__MODULE__{
          step: (term(), term() -> term()),
          init: (term(), term() -> term()),
          metrics: [struct()],
          handlers: %{optional(event()) => [{handler(), function()}]},
          output_transform: (State.t() -> term()),
          attached_state: State.t() | nil
        }

  # `serialize_step`: nil, or a function turning the step state into plain
  # data for checkpoints; a loop that has one revives a resumed step state
  # through its init function.
  defstruct [
    :step,
    :init,
    :output_transform,
    :serialize_step,
    metrics: [],
    handlers: %{},
    attached_state: nil
  ]

  @doc """
  Builds a loop from a step function `(batch, step_state) -> step_state`.

  `init_fn.(first_batch, init_state)` makes the first step state (`first_batch`
  is `nil` when the data is empty); by default the step state is `init_state`.
  `output_transform` turns the final `Myelin.Loop.State` into what `run/4`
  returns; by default the step state's `:model_state` when it has one, else
  the state itself.

      iex> loop = Myelin.Loop.loop(fn _batch, n -> n + 1 end, fn _first, _ -> 0 end, & &1.step_state)
      iex> Myelin.Loop.run(loop, [:a, :b], nil, log: 0)
      2
  """
  @spec loop((term(), term() -> term()), (term(), term() -> term()), (State.t() -> term())) :: t()
  def loop(step_fn, init_fn \\ &default_init/2, output_transform \\ &default_output/1)

  def loop(step_fn, init_fn, output_transform)
      when is_function(step_fn, 2) and is_function(init_fn, 2) and
             is_function(output_transform, 1) do
    %__MODULE__{step: step_fn, init: init_fn, output_transform: output_transform}
  end

  def loop(step_fn, init_fn, output_transform) do
    raise ArgumentError,
          "Myelin.Loop.loop: expected a step function of arity 2, an init function of arity 2 " <>
            "and an output transform of arity 1, got #{inspect(step_fn)}, #{inspect(init_fn)} " <>
            "and #{inspect(output_transform)}"
  end

  @doc """
  The default init function: the step state starts as the run's `init_state`.

      iex> Myelin.Loop.default_init(:first_batch, %{w: 1})
      %{w: 1}
  """
  @spec default_init(term(), term()) :: term()
  def default_init(_first_batch, init_state), do: init_state

  @doc """
  The default output transform: the step state's `:model_state` if it has one,
  else the whole state.

      iex> Myelin.Loop.default_output(%Myelin.Loop.State{step_state: %{model_state: :params}})
      :params
      iex> Myelin.Loop.default_output(%Myelin.Loop.State{step_state: 3}).step_state
      3
  """
  @spec default_output(State.t()) :: term()
  def default_output(%State{step_state: %{model_state: model_state}}), do: model_state
  def default_output(%State{} = state), do: state

  @doc """
  Attaches `handler` to `event`; it runs when `filter` (see `t:filter/0`) says so.
  Handlers of one event run in the order they were attached.

      iex> loop =
      ...>   Myelin.Loop.loop(fn _batch, n -> n + 1 end)
      ...>   |> Myelin.Loop.handle_event(:iteration_completed, fn state ->
      ...>     if state.step_state == 2, do: {:halt_loop, state}, else: {:continue, state}
      ...>   end)
      iex> state = Myelin.Loop.run(loop, [:a, :b, :c], 0, log: 0)
      iex> {state.status, state.step_state}
      {:halt_loop, 2}
  """
  @spec handle_event(t(), event(), handler(), filter()) :: t()
  def handle_event(loop, event, handler, filter \\ :always)

  def handle_event(%__MODULE__{handlers: handlers} = loop, event, handler, filter)
      when is_function(handler, 1) do
    op = "Myelin.Loop.handle_event"
    entry = {handler, Events.filter!(filter, op)}
    %{loop | handlers: Map.update(handlers, Events.event!(event, op), [entry], &(&1 ++ [entry]))}
  end

  def handle_event(%__MODULE__{}, _event, handler, _filter) do
    raise ArgumentError,
          "Myelin.Loop.handle_event: expected a handler function of the state (arity 1), " <>
            "got #{inspect(handler)}"
  end

  def handle_event(other, _event, _handler, _filter), do: not_a_loop!(other, "handle_event")

  @doc """
  Adds a metric, computed after every step and accumulated within the epoch into
  `state.metrics[name]`.

    * `metric` - an atom naming a function of `Myelin.Metrics` (`:accuracy`, ...),
      or any function `(y_true, y_pred)` returning a number or a scalar tensor.
    * `name` - defaults to the atom's name; required for a function.
    * `accumulate` - `:running_average` (default), `:running_sum`, or a function
      `(acc, value, n)` where `n` values came before in the epoch (`acc` is 0 when `n` is 0).
    * `transform` - a function of the step state returning `{y_true, y_pred}`;
      by default it takes the step state's `:y_true` and `:y_pred`.

  A step state with a `:loss` is also reported as the running average `"loss"`.

      iex> loop =
      ...>   Myelin.Loop.loop(fn {y, p}, _ -> %{y_true: y, y_pred: p, loss: abs(y - p)} end)
      ...>   |> Myelin.Loop.metric(fn y, p -> if y == p, do: 1, else: 0 end, "hits", :running_sum)
      iex> Myelin.Loop.run(loop, [{1, 1}, {2, 0}, {3, 3}], nil, log: 0).metrics
      %{"hits" => 2, "loss" => 0.6666666666666667}
  """
  @spec metric(
          t(),
          atom() | (term(), term() -> number() | Myelin.Tensor.t()),
          String.t() | atom() | nil,
          :running_average | :running_sum | (term(), number(), non_neg_integer() -> term()),
          (term() -> {term(), term()}) | nil
        ) :: t()
  def metric(loop, metric, name \\ nil, accumulate \\ :running_average, transform \\ nil)

  def metric(%__MODULE__{metrics: metrics} = loop, metric, name, accumulate, transform) do
    new = Metric.new!(metric, name, accumulate, transform)

    if Enum.any?(metrics, &(&1.name == new.name)) do
      raise ArgumentError,
            "Myelin.Loop.metric: the loop already has a metric named #{inspect(new.name)}"
    end

    %{loop | metrics: metrics ++ [new]}
  end

  def metric(other, _metric, _name, _accumulate, _transform), do: not_a_loop!(other, "metric")

  @doc """
  Attaches a state to resume from, as the `from_state:` option of `run/4` does
  (the option wins when both are given).

      iex> loop = Myelin.Loop.loop(fn x, sum -> sum + x end)
      iex> first = Myelin.Loop.run(loop, [1, 2], 0, log: 0)
      iex> state = loop |> Myelin.Loop.from_state(first) |> Myelin.Loop.run([1, 2], 0, log: 0)
      iex> {state.epoch, state.step_state}
      {1, 6}
  """
  @spec from_state(t(), State.t()) :: t()
  def from_state(%__MODULE__{} = loop, %State{} = state), do: %{loop | attached_state: state}

  def from_state(%__MODULE__{}, other) do
    raise ArgumentError,
          "Myelin.Loop.from_state: expected a %Myelin.Loop.State{}, got #{inspect(other, limit: 5)}"
  end

  def from_state(other, _state), do: not_a_loop!(other, "from_state")

  @doc """
  Runs the loop over `data` and returns `output_transform` of the final state.

  `data` is an `Enumerable` of batches (enumerated again each epoch), a 0-arity
  function returning one (called each epoch), or a tuple `{x, y}` of tensors, batched
  along the first axis by `Myelin.Datasets.batch/3` (`y` may be `nil`).

  Options:

    * `epochs:` - how many epochs this run does (default 1).
    * `iterations:` - at most this many steps per epoch (default: all batches).
    * `log:` - refresh the progress line on stderr every this many steps (default
      50); `0` is silent. The line shows the epoch, step (of the total when the
      count of batches is cheap to know), loss and metrics, samples/s and the ETA.
    * `batch_size:` (default 32), `shuffle:`, `seed:` - for `{x, y}` data only.
    * `from_state:` - a `Myelin.Loop.State` from an earlier run (or a checkpoint,
      via `Myelin.Loop.State.from_map/1`): the run takes its step state and
      bookkeeping and continues at its next epoch; `init_state` is then unused.

  Exceptions raised by the step or init function propagate with their type;
  their message then says where they happened.

      iex> loop = Myelin.Loop.loop(fn x, sum -> sum + x end, &Myelin.Loop.default_init/2, & &1.step_state)
      iex> Myelin.Loop.run(loop, fn -> Stream.map(1..4, & &1) end, 0, epochs: 2, iterations: 3, log: 0)
      12
  """
  @spec run(
          t(),
          Enumerable.t() | (() -> Enumerable.t()) | {Myelin.Tensor.t(), Myelin.Tensor.t() | nil},
          term(),
          keyword()
        ) ::
          term()
  def run(loop, data, init_state \\ %{}, opts \\ [])

  def run(%__MODULE__{} = loop, data, init_state, opts) do
    loop |> Runner.run(data, init_state, opts) |> loop.output_transform.()
  end

  def run(other, _data, _init_state, _opts), do: not_a_loop!(other, "run")

  @doc """
  Starts `run/4` in a `Task` linked to the caller and returns it; get the result
  with `Task.await(task, :infinity)`. The run stops if the caller dies.

      iex> loop = Myelin.Loop.loop(fn x, sum -> sum + x end, &Myelin.Loop.default_init/2, & &1.step_state)
      iex> task = Myelin.Loop.run_async(loop, [1, 2, 3], 0, log: 0)
      iex> Task.await(task)
      6
  """
  @spec run_async(t(), term(), term(), keyword()) :: Task.t()
  def run_async(loop, data, init_state \\ %{}, opts \\ []) do
    unless is_struct(loop, __MODULE__), do: not_a_loop!(loop, "run_async")
    Task.async(fn -> run(loop, data, init_state, opts) end)
  end

  @doc """
  Stops a run started by `run_async/4` at once. Returns `{:ok, result}` if it had
  already finished, `{:exit, reason}` if it had failed, else `nil` (as `Task.shutdown/2`).

      iex> loop = Myelin.Loop.loop(fn _, s -> Process.sleep(10); s end)
      iex> task = Myelin.Loop.run_async(loop, Stream.cycle([:batch]), 0, log: 0)
      iex> Myelin.Loop.cancel(task)
      nil
      iex> Process.alive?(task.pid)
      false
  """
  @spec cancel(Task.t()) :: {:ok, term()} | {:exit, term()} | nil
  def cancel(%Task{} = task), do: Task.shutdown(task, :brutal_kill)

  def cancel(other) do
    raise ArgumentError,
          "Myelin.Loop.cancel: expected a Task from run_async/4, got #{inspect(other)}"
  end

  @doc """
  Starts `run/4` in a process linked to the caller, for supervision trees;
  returns `{:ok, pid}`. The result is discarded: attach handlers (a checkpoint, a
  `:completed` handler sending a message) to get it out.

      iex> parent = self()
      iex> loop =
      ...>   Myelin.Loop.loop(fn x, sum -> sum + x end)
      ...>   |> Myelin.Loop.handle_event(:completed, fn state ->
      ...>     send(parent, {:done, state.step_state})
      ...>     {:continue, state}
      ...>   end)
      iex> {:ok, _pid} = Myelin.Loop.start_link(loop, [1, 2], 0, log: 0)
      iex> receive do: ({:done, sum} -> sum)
      3
  """
  @spec start_link(t(), term(), term(), keyword()) :: {:ok, pid()}
  def start_link(loop, data, init_state \\ %{}, opts \\ []) do
    unless is_struct(loop, __MODULE__), do: not_a_loop!(loop, "start_link")
    Task.start_link(fn -> run(loop, data, init_state, opts) end)
  end

  @doc """
  A child specification running `start_link/4` with `[loop, data, init_state, opts]`,
  so a supervisor can start a run: `{Myelin.Loop, [loop, data, %{}, [epochs: 5]]}`.
  The run is not restarted when it ends or fails.

      iex> Myelin.Loop.child_spec([:loop, [], %{}, []]).restart
      :temporary
  """
  @spec child_spec([term()]) :: Supervisor.child_spec()
  def child_spec(args) when is_list(args) and length(args) in 2..4 do
    %{id: __MODULE__, start: {__MODULE__, :start_link, args}, restart: :temporary}
  end

  def child_spec(other) do
    raise ArgumentError,
          "Myelin.Loop.child_spec: expected [loop, data, init_state, opts], got #{inspect(other, limit: 5)}"
  end

  @doc """
  A supervised training loop for `model`: each batch `{input, target}`
  runs one fused engine step (forward, `loss`, gradients, `optimizer`
  update). `loss` is a name from `Myelin.Losses` or a function of
  `(y_true, y_pred)`. The run's output is the trained model state. Options:
  `seed:` (parameter initialization and dropout), `loss_opts:`.
  """
  @spec trainer(Myelin.Node.t(), atom() | function(), Myelin.Optimizers.t(), keyword()) :: t()
  defdelegate trainer(model, loss, optimizer, opts \\ []), to: Myelin.Loop.Train

  @doc """
  An evaluation loop for `model`: run it with a model state as the initial
  state; its output is the metrics map.
  """
  @spec evaluator(Myelin.Node.t()) :: t()
  defdelegate evaluator(model), to: Myelin.Loop.Train

  defdelegate validate(loop, evaluate, validation_data, opts \\ []), to: Callbacks
  defdelegate early_stop(loop, monitor, opts \\ []), to: Callbacks
  defdelegate checkpoint(loop, opts \\ []), to: Callbacks
  defdelegate reduce_lr_on_plateau(loop, monitor, opts \\ []), to: Callbacks

  defp not_a_loop!(other, fun) do
    raise ArgumentError,
          "Myelin.Loop.#{fun}: expected a %Myelin.Loop{}, got #{inspect(other, limit: 5)}"
  end
end
