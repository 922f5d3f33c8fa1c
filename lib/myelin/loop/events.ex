defmodule Myelin.Loop.Events do
  @moduledoc false
  # Events, filters and handler dispatch for Myelin.Loop. A filter is compiled
  # once, when the handler is attached, into fn(count, state) -> boolean, where
  # count is how many times the event has fired in the run, this firing included.

  alias Myelin.Loop.State

  @events [
    :started,
    :epoch_started,
    :iteration_started,
    :iteration_completed,
    :epoch_completed,
    :epoch_halted,
    :halted,
    :completed
  ]

  @filter_keys [:every, :once, :first, :before, :after]

  def events, do: @events

  def event!(event, _op) when event in @events, do: event

  def event!(event, op) do
    raise ArgumentError,
          "#{op}: unknown event #{inspect(event)}, expected one of #{inspect(@events)}"
  end

  def filter!(:always, _op), do: fn _count, _state -> true end
  def filter!(fun, _op) when is_function(fun, 1), do: fn _count, state -> fun.(state) end

  def filter!([{key, n}] = filter, op) when key in @filter_keys do
    least = if key in [:after, :before], do: 0, else: 1

    unless is_integer(n) and n >= least do
      raise ArgumentError,
            "#{op}: filter #{inspect(filter)} needs an integer >= #{least}, got #{inspect(n)}"
    end

    case key do
      :every -> fn count, _ -> rem(count, n) == 0 end
      :once -> fn count, _ -> count == n end
      :first -> fn count, _ -> count <= n end
      :before -> fn count, _ -> count < n end
      :after -> fn count, _ -> count > n end
    end
  end

  def filter!(other, op) do
    raise ArgumentError,
          "#{op}: unknown filter #{inspect(other)}, expected :always, [every: n], [once: n], " <>
            "[first: n], [before: n], [after: n] or a function of the state returning a boolean"
  end

  @doc false
  # Counts the event, then runs its handlers in the order they were attached.
  # A handler that halts stops the handlers after it for this event. Returns
  # {:continue | :halt_epoch | :halt_loop, state}.
  def fire(handlers, event, %State{} = state) do
    count = Map.get(state.event_counts, event, 0) + 1
    state = %{state | event_counts: Map.put(state.event_counts, event, count)}

    handlers
    |> Map.get(event, [])
    |> Enum.reduce_while({:continue, state}, fn {handler, filter}, {_, state} ->
      if filter.(count, state) do
        case handler.(state) do
          {:continue, %State{} = state} ->
            {:cont, {:continue, state}}

          {halt, %State{} = state} when halt in [:halt_epoch, :halt_loop] ->
            {:halt, {halt, %{state | status: halt}}}

          other ->
            bad_result!(event, other)
        end
      else
        {:cont, {:continue, state}}
      end
    end)
  end

  defp bad_result!(event, other) do
    raise ArgumentError,
          "Myelin.Loop.run: a handler of #{inspect(event)} returned #{inspect(other, limit: 5)}, " <>
            "expected {:continue, state}, {:halt_epoch, state} or {:halt_loop, state} " <>
            "with a %Myelin.Loop.State{}"
  end
end
