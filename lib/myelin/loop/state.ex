defmodule Myelin.Loop.State do
  @moduledoc """
  The state of a running `Myelin.Loop`, passed to every event handler.

    * `epoch` - the current epoch, counted from 0. After a run it is the last epoch
      that ran, so a run resumed from that state starts at `epoch + 1`.
    * `max_epoch` - the epoch at which the run stops (exclusive).
    * `iteration` - the steps done so far in the current epoch: 0 at
      `:epoch_started`, `k` at `:iteration_started` of the (k+1)-th step and at
      `:iteration_completed` of the k-th.
    * `iteration_total` - the steps done so far across all epochs (and resumed runs).
    * `step_state` - what the step function carries from batch to batch.
    * `metrics` - `%{name => number}`, accumulated within the epoch (reset when an
      epoch starts). Validation metrics (`"validation_..."`) are added at epoch end.
    * `times` - `%{epoch => seconds}` spent in each epoch.
    * `status` - `:running`, `:halt_epoch` or `:halt_loop` (a handler asked to stop),
      or `:completed`.
    * `handler_metadata` - `%{string => term}` where handlers keep their own
      bookkeeping (best values, patience counters); it is saved with checkpoints.
    * `samples` - the samples seen in the current epoch (from the batch's first
      tensor's first dimension), for the samples/s figure.
    * `event_counts` - `%{event => times fired}` over the whole run; the event
      filters of `Myelin.Loop.handle_event/4` count with it.
  """

  @type status :: :running | :halt_epoch | :halt_loop | :completed

  @type t :: %__MODULE__{
          epoch: non_neg_integer(),
          max_epoch: non_neg_integer(),
          iteration: non_neg_integer(),
          iteration_total: non_neg_integer(),
          step_state: term(),
          metrics: %{optional(String.t()) => number() | atom()},
          times: %{optional(non_neg_integer()) => float()},
          status: status(),
          handler_metadata: %{optional(String.t()) => term()},
          samples: non_neg_integer(),
          event_counts: %{optional(atom()) => non_neg_integer()}
        }

  defstruct epoch: 0,
            max_epoch: 1,
            iteration: 0,
            iteration_total: 0,
            step_state: nil,
            metrics: %{},
            times: %{},
            status: :running,
            handler_metadata: %{},
            samples: 0,
            event_counts: %{}

  @fields [
    :epoch,
    :max_epoch,
    :iteration,
    :iteration_total,
    :step_state,
    :metrics,
    :times,
    :status,
    :handler_metadata,
    :samples,
    :event_counts
  ]

  @doc """
  The state as a plain map that `Myelin.Checkpoint.save/2` can store: atom keys,
  and `times` as a list of `{epoch, seconds}` (checkpoints allow only string and
  atom map keys).

      iex> map = Myelin.Loop.State.to_map(%Myelin.Loop.State{epoch: 2, times: %{0 => 1.5}})
      iex> {map.epoch, map.times, Map.has_key?(map, :__struct__)}
      {2, [{0, 1.5}], false}
  """
  @spec to_map(t()) :: map()
  def to_map(%__MODULE__{} = state) do
    state
    |> Map.from_struct()
    |> Map.update!(:times, &Enum.sort(Map.to_list(&1)))
  end

  def to_map(other) do
    raise ArgumentError,
          "Myelin.Loop.State.to_map: expected a %Myelin.Loop.State{}, got #{inspect(other)}"
  end

  @doc """
  Rebuilds a state from `to_map/1`'s map (atom or string keys), for example one
  loaded from a checkpoint, so a run can resume with `from_state:`.

      iex> state = %Myelin.Loop.State{epoch: 3, step_state: %{w: 1}, times: %{3 => 0.5}}
      iex> Myelin.Loop.State.from_map(Myelin.Loop.State.to_map(state)) == state
      true
  """
  @spec from_map(map()) :: t()
  def from_map(map) when is_map(map) do
    values =
      Enum.map(@fields, fn key ->
        case fetch_field(map, key) do
          {:ok, value} ->
            {key, value}

          :error ->
            raise ArgumentError,
                  "Myelin.Loop.State.from_map: the map has no #{inspect(key)} key; " <>
                    "expected a map made by Myelin.Loop.State.to_map/1, got keys " <>
                    inspect(Map.keys(map))
        end
      end)

    struct!(__MODULE__, values) |> Map.update!(:times, &times_map/1)
  end

  def from_map(other) do
    raise ArgumentError,
          "Myelin.Loop.State.from_map: expected a map made by Myelin.Loop.State.to_map/1, " <>
            "got #{inspect(other)}"
  end

  defp fetch_field(map, key) do
    with :error <- Map.fetch(map, key), do: Map.fetch(map, Atom.to_string(key))
  end

  # Accepts the list of {epoch, seconds} (or two-element lists, as some
  # serialisations turn tuples into lists) or an already-built map.
  defp times_map(times) when is_map(times), do: times

  defp times_map(times) when is_list(times) do
    Map.new(times, fn
      {epoch, secs} -> {epoch, secs}
      [epoch, secs] -> {epoch, secs}
    end)
  end
end
