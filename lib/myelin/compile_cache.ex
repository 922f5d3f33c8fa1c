defmodule Myelin.CompileCache do
  @moduledoc """
  The cache of compiled functions behind `Myelin.jit/2`, `Myelin.grad/3`
  and `Myelin.value_and_grad/3`: one compiled graph per function and
  argument signature (shapes, types, static terms).

  An ETS table owned by a process of Myelin's supervision tree, read
  concurrently by every caller. A function's key holds its captured
  variables, so tensors a function closes over stay alive while its entry
  does; the table keeps at most `max_entries/0` entries and is emptied when
  that is reached (recompiling is cheap next to unbounded memory). Without
  the application started, functions are compiled on every call.
  """

  use GenServer

  @table __MODULE__
  @max_entries 1024

  @doc false
  def start_link(_opts), do: GenServer.start_link(__MODULE__, [], name: __MODULE__)

  @impl true
  def init([]) do
    :ets.new(@table, [:named_table, :public, :set, read_concurrency: true])
    {:ok, nil}
  end

  @doc "The most entries the cache holds before it is emptied."
  @spec max_entries() :: pos_integer()
  def max_entries, do: @max_entries

  @doc """
  The cached value for `key`, or `build.()` (stored for next time).
  """
  @spec fetch(term(), (() -> value)) :: value when value: term()
  def fetch(key, build) do
    case lookup(key) do
      {:ok, value} ->
        value

      :error ->
        value = build.()
        store(key, value)
        value
    end
  end

  @doc "Empties the cache."
  @spec clear() :: :ok
  def clear do
    if :ets.whereis(@table) != :undefined, do: :ets.delete_all_objects(@table)
    :ok
  end

  @doc "The number of cached entries."
  @spec size() :: non_neg_integer()
  def size do
    if :ets.whereis(@table) == :undefined, do: 0, else: :ets.info(@table, :size)
  end

  defp lookup(key) do
    case :ets.lookup(@table, key) do
      [{^key, value}] -> {:ok, value}
      [] -> :error
    end
  rescue
    ArgumentError -> :error
  end

  defp store(key, value) do
    if :ets.info(@table, :size) >= @max_entries, do: :ets.delete_all_objects(@table)
    :ets.insert(@table, {key, value})
  rescue
    ArgumentError -> true
  end
end
