defmodule Myelin.Profiler do
  @moduledoc """
  Where a model's time goes: the time of each step of every compiled graph
  run (training steps, `Myelin.predict/3`, `Myelin.jit/2`), summed per op and
  output shape, across the whole VM.

      Myelin.Profiler.start()
      state = Myelin.Loop.run(loop, data, %{}, epochs: 1)
      Myelin.Profiler.stop() |> Myelin.Profiler.format() |> IO.puts()

  prints one line per kind of step, the most expensive first:

       ms/run  share  calls  step
        5.316  20.1%    200  conv_input_grad [128, 32, 13, 13]
        4.900  18.5%    200  conv_kernel_grad [64, 32, 3, 3]
        ...

  A fused elementwise chain shows as `fused(add, max) [128, 32, 26, 26]`.
  Eager `Myelin.Tensor` calls outside a graph are not timed. While the
  profiler is off, a graph run pays one atomic load for it; while it is on,
  about a microsecond per step.
  """

  @typedoc "One kind of step: its label, how often it ran and its total time."
  @type entry :: %{step: String.t(), calls: non_neg_integer(), total_us: float()}

  @doc """
  Starts timing graph steps, from an empty profile (a running profile is
  restarted).

      iex> Myelin.Profiler.start()
      :ok
      iex> _ = Myelin.Profiler.stop()
  """
  @spec start() :: :ok
  def start, do: Myelin.Native.profile_start() |> Myelin.Native.unwrap!()

  @doc """
  Stops timing and returns the profile, the most expensive step first
  (empty when the profiler was not running).

      iex> Myelin.Profiler.start()
      iex> f = Myelin.jit(fn x -> x |> Myelin.Tensor.exp() |> Myelin.Tensor.sum() end)
      iex> _ = f.(Myelin.Tensor.iota({4}, type: {:f, 32}))
      iex> profile = Myelin.Profiler.stop()
      iex> Enum.any?(profile, &(&1.step == "exp [4]" and &1.calls >= 1))
      true
  """
  @spec stop() :: [entry()]
  def stop do
    Myelin.Native.profile_stop()
    |> Myelin.Native.unwrap!()
    |> Enum.map(fn {step, calls, nanos} -> %{step: step, calls: calls, total_us: nanos / 1000} end)
  end

  @doc """
  Runs `fun` with the profiler on; returns `{fun's result, profile}`. The
  profiler stops even if `fun` raises, throws or exits.

      iex> {sum, profile} =
      ...>   Myelin.Profiler.profile(fn ->
      ...>     f = Myelin.jit(fn x -> Myelin.Tensor.sum(x) end)
      ...>     f.(Myelin.Tensor.iota({3}, type: {:f, 32}))
      ...>   end)
      iex> Myelin.Tensor.to_number(sum)
      3.0
      iex> is_list(profile)
      true
  """
  @spec profile((() -> result)) :: {result, [entry()]} when result: term()
  def profile(fun) when is_function(fun, 0) do
    start()

    try do
      fun.()
    catch
      kind, reason ->
        stop()
        :erlang.raise(kind, reason, __STACKTRACE__)
    else
      result -> {result, stop()}
    end
  end

  @doc """
  Formats a profile as a table: per kind of step, its time per run (per
  training step or prediction), its share of the total, and its call count.
  `runs` is how many runs the profile covers; by default the most common
  call count, since most steps of a graph run once per run (a step that
  runs twice, such as a layer's product and its gradient of the same shape,
  then shows its time for both).

      iex> Myelin.Profiler.format([
      ...>   %{step: "conv [2, 4]", calls: 10, total_us: 300.0},
      ...>   %{step: "dot [2, 4]", calls: 20, total_us: 60.0},
      ...>   %{step: "add [2, 4]", calls: 10, total_us: 40.0}
      ...> ])
      "  ms/run  share  calls  step\\n   0.030  75.0%     10  conv [2, 4]\\n   0.006  15.0%     20  dot [2, 4]\\n   0.004  10.0%     10  add [2, 4]"
  """
  @spec format([entry()], pos_integer() | nil) :: String.t()
  def format(profile, runs \\ nil) do
    runs = runs || most_common_calls(profile)
    total = profile |> Enum.map(& &1.total_us) |> Enum.sum()

    rows =
      Enum.map(profile, fn %{step: step, calls: calls, total_us: us} ->
        share = if total > 0, do: 100 * us / total, else: 0.0

        :io_lib.format("~8.3f ~5.1f% ~6B  ~ts", [us / 1000 / runs, share / 1, calls, step])
        |> IO.iodata_to_binary()
      end)

    Enum.join(["  ms/run  share  calls  step" | rows], "\n")
  end

  defp most_common_calls([]), do: 1

  defp most_common_calls(profile) do
    profile
    |> Enum.frequencies_by(& &1.calls)
    |> Enum.max_by(fn {calls, count} -> {count, -calls} end)
    |> elem(0)
    |> max(1)
  end
end
