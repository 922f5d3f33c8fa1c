defmodule Myelin.Loop.Runner do
  @moduledoc false
  # The state machine behind Myelin.Loop.run/4:
  #
  #   :started
  #   per epoch:  :epoch_started
  #               per batch: :iteration_started, step, metrics, :iteration_completed
  #               [:epoch_halted when a handler halted the epoch]
  #               :epoch_completed
  #   :completed, or :halted when a handler halted the loop
  #
  # A handler returning {:halt_epoch, _} ends the current epoch (the step of an
  # :iteration_started halt is skipped); {:halt_loop, _} ends the run at once
  # (no :epoch_completed).

  alias Myelin.Loop
  alias Myelin.Loop.{Data, Events, Metric, Progress, State}

  @op "Myelin.Loop.run"
  @allowed [:epochs, :iterations, :log, :batch_size, :shuffle, :seed, :from_state]

  @doc false
  # Runs the loop and returns the final %State{}.
  def run(%Loop{} = loop, data, init_state, opts) do
    opts = options!(opts)
    source = Data.source!(data, opts, @op)
    from = Keyword.get(opts, :from_state) || loop.attached_state
    state = initial_state(loop, source, init_state, from, opts[:epochs])
    ctx = %{loop: loop, source: source, log: opts[:log], iterations: opts[:iterations]}

    {ctl, state} =
      case Events.fire(loop.handlers, :started, state) do
        {:halt_loop, state} -> {:halt_loop, state}
        {_, state} -> epochs(state, ctx)
      end

    finish(ctl, state, loop.handlers)
  end

  defp options!(opts) do
    Myelin.Tensor.validate_opts!(opts, @allowed, @op)
    epochs = Keyword.get(opts, :epochs, 1)
    iterations = Keyword.get(opts, :iterations, :infinity)
    log = Keyword.get(opts, :log, 50)
    from = Keyword.get(opts, :from_state)

    check!(is_integer(epochs) and epochs > 0, "epochs: to be a positive integer", epochs)

    check!(
      iterations in [nil, :infinity] or (is_integer(iterations) and iterations > 0),
      "iterations: to be a positive integer or :infinity",
      iterations
    )

    check!(is_integer(log) and log >= 0, "log: to be a non-negative integer", log)

    check!(
      is_nil(from) or is_struct(from, State),
      "from_state: to be a %Myelin.Loop.State{}",
      from
    )

    Keyword.merge(opts, epochs: epochs, iterations: iterations || :infinity, log: log)
  end

  defp check!(true, _expected, _got), do: :ok

  defp check!(false, expected, got),
    do: raise(ArgumentError, "#{@op}: expected #{expected}, got #{inspect(got, limit: 5)}")

  # A fresh run calls the init function with the first batch; a resumed run
  # takes the step state from the given state and starts at its next epoch.
  defp initial_state(loop, source, init_state, nil, epochs) do
    {enum, _count} = source.(0)
    first = enum |> Enum.take(1) |> List.first()
    step_state = guarded(fn -> loop.init.(first, init_state) end, "the init function", nil)
    %State{epoch: 0, max_epoch: epochs, step_state: step_state}
  end

  defp initial_state(loop, source, _init_state, %State{} = from, epochs) do
    start = from.epoch + 1

    # A loop whose step state was serialized (a trainer's) rebuilds the live
    # step state from it.
    step_state =
      if loop.serialize_step do
        {enum, _count} = source.(start)
        first = enum |> Enum.take(1) |> List.first()
        guarded(fn -> loop.init.(first, from.step_state) end, "the init function", nil)
      else
        from.step_state
      end

    %{
      from
      | epoch: start,
        max_epoch: start + epochs,
        iteration: 0,
        status: :running,
        samples: 0,
        step_state: step_state
    }
  end

  defp epochs(%State{epoch: start, max_epoch: stop} = state, ctx) do
    Enum.reduce_while(start..(stop - 1), {:continue, state}, fn epoch, {_, state} ->
      case epoch(state, epoch, ctx) do
        {:halt_loop, state} -> {:halt, {:halt_loop, state}}
        {_, state} -> {:cont, {:continue, state}}
      end
    end)
  end

  defp epoch(state, epoch, ctx) do
    t0 = System.monotonic_time()
    {enum, count} = ctx.source.(epoch)
    total = total(count, ctx.iterations)
    handlers = ctx.loop.handlers
    state = %{state | epoch: epoch, iteration: 0, metrics: %{}, samples: 0, status: :running}

    {ctl, state} =
      case Events.fire(handlers, :epoch_started, state) do
        {:continue, state} -> iterations(enum, state, ctx, total, t0)
        halted -> halted
      end

    state = %{state | times: Map.put(state.times, epoch, seconds_since(t0))}

    result =
      case ctl do
        :halt_loop ->
          {:halt_loop, state}

        :halt_epoch ->
          case Events.fire(handlers, :epoch_halted, state) do
            {:halt_loop, state} -> {:halt_loop, state}
            {_, state} -> end_epoch(state, handlers)
          end

        :continue ->
          end_epoch(state, handlers)
      end

    Progress.epoch_end(elem(result, 1), ctx.log, total, t0)
    result
  end

  defp total(nil, _iterations), do: nil
  defp total(count, :infinity), do: count
  defp total(count, iterations), do: min(count, iterations)

  defp end_epoch(state, handlers) do
    case Events.fire(handlers, :epoch_completed, state) do
      {:halt_loop, state} -> {:halt_loop, state}
      {_, state} -> {:continue, state}
    end
  end

  defp iterations(enum, state, ctx, total, t0) do
    handlers = ctx.loop.handlers

    Enum.reduce_while(enum, {:continue, state}, fn batch, {_, state} ->
      case Events.fire(handlers, :iteration_started, state) do
        {:continue, state} ->
          state = step(state, batch, ctx)
          Progress.iteration(state, ctx.log, total, t0)
          handlers |> Events.fire(:iteration_completed, state) |> next(ctx.iterations)

        halted ->
          {:halt, halted}
      end
    end)
  end

  # At the iterations cap, stop before pulling another batch from a possibly
  # costly stream.
  defp next({:continue, %State{iteration: cap} = state}, cap), do: {:halt, {:continue, state}}
  defp next({:continue, state}, _cap), do: {:cont, {:continue, state}}
  defp next(halted, _cap), do: {:halt, halted}

  defp step(state, batch, ctx) do
    step_state =
      guarded(fn -> ctx.loop.step.(batch, state.step_state) end, "the step function", state)

    state = %{
      state
      | step_state: step_state,
        iteration: state.iteration + 1,
        iteration_total: state.iteration_total + 1,
        samples: state.samples + (Data.batch_size(batch) || 0)
    }

    Metric.update(state, ctx.loop.metrics)
  end

  # Exceptions keep their type; those with a message get told where they came from.
  defp guarded(fun, what, state) do
    fun.()
  rescue
    e ->
      where = if state, do: " at epoch #{state.epoch}, iteration #{state.iteration}", else: ""
      prefix = "#{@op}: #{what} raised#{where}: "

      e =
        if Map.has_key?(e, :message), do: %{e | message: prefix <> Exception.message(e)}, else: e

      reraise e, __STACKTRACE__
  end

  defp finish(:halt_loop, state, handlers) do
    {_, state} = Events.fire(handlers, :halted, %{state | status: :halt_loop})
    %{state | status: :halt_loop}
  end

  defp finish(_ctl, state, handlers) do
    {_, state} = Events.fire(handlers, :completed, %{state | status: :completed})
    %{state | status: :completed}
  end

  defp seconds_since(t0),
    do: System.convert_time_unit(System.monotonic_time() - t0, :native, :microsecond) / 1.0e6
end
