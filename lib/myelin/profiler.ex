defmodule Myelin.Profiler do
  @moduledoc """
  Where a model's time goes: the time of each step of every compiled graph
  run (training steps, `Myelin.predict/3`, `Myelin.jit/2`), summed per op and
  output shape, across the whole VM.

      Myelin.Profiler.start()
      state = Myelin.Loop.run(loop, data, %{}, epochs: 1)
      Myelin.Profiler.stop() |> Myelin.Profiler.format() |> IO.puts()

  prints one line per kind of step, the most expensive first, with its time
  per graph run (here per training step):

      469 runs, 28.571 ms per run
        ms/run  share  calls  step
         5.728  20.0%    469  conv_input_grad [128, 32, 13, 13]
         5.219  18.3%    469  conv_kernel_grad [64, 32, 3, 3]
         ...

  A fused elementwise chain shows as `fused(add, max) [128, 32, 26, 26]`, and
  a training step's parameter update as `optimizer adam [101770 values]`.
  Eager `Myelin.Tensor` calls outside a graph are not timed, nor are the
  steps that only hand over an input, parameter or constant. While the
  profiler is off, a graph run pays one atomic load for it; while it is on,
  up to about a microsecond per step (measured: a batch-1 MLP prediction,
  6 timed steps, took 1.5-5.5 µs more than its 10 µs p50).
  """

  @typedoc "One kind of step: its label, how often it ran and its total time."
  @type step :: %{step: String.t(), calls: non_neg_integer(), total_us: float()}

  @typedoc "A stopped profile: graph runs completed, and the steps, largest first."
  @type t :: %{runs: non_neg_integer(), steps: [step()]}

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
  Stops timing and returns the profile (no runs and no steps when the
  profiler was not running).

      iex> Myelin.Profiler.start()
      iex> f = Myelin.jit(fn x -> x |> Myelin.Tensor.exp() |> Myelin.Tensor.sum() end)
      iex> _ = f.(Myelin.Tensor.iota({4}, type: {:f, 32}))
      iex> profile = Myelin.Profiler.stop()
      iex> profile.runs >= 1
      true
      iex> Enum.any?(profile.steps, &(&1.step == "exp [4]" and &1.calls >= 1))
      true
  """
  @spec stop() :: t()
  def stop do
    {runs, steps} = Myelin.Native.profile_stop() |> Myelin.Native.unwrap!()

    steps =
      Enum.map(steps, fn {step, calls, nanos} ->
        %{step: step, calls: calls, total_us: nanos / 1000}
      end)

    %{runs: runs, steps: steps}
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
      iex> profile.runs >= 1
      true
  """
  @spec profile((() -> result)) :: {result, t()} when result: term()
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
  Formats a profile as a table: per kind of step, its time per graph run,
  its share of the total, and its call count. A step that runs twice per
  run (a layer's product and a gradient product of the same shape) shows
  the time of both.

      iex> Myelin.Profiler.format(%{
      ...>   runs: 10,
      ...>   steps: [
      ...>     %{step: "conv [2, 4]", calls: 10, total_us: 300.0},
      ...>     %{step: "dot [2, 4]", calls: 20, total_us: 60.0},
      ...>     %{step: "add [2, 4]", calls: 10, total_us: 40.0}
      ...>   ]
      ...> })
      "10 runs, 0.040 ms per run\\n  ms/run  share  calls  step\\n   0.030  75.0%     10  conv [2, 4]\\n   0.006  15.0%     20  dot [2, 4]\\n   0.004  10.0%     10  add [2, 4]"
  """
  @spec format(t()) :: String.t()
  def format(%{runs: runs, steps: steps}) do
    total = steps |> Enum.map(& &1.total_us) |> Enum.sum()
    per_run = fn us -> us / 1000 / max(runs, 1) end

    rows =
      Enum.map(steps, fn %{step: step, calls: calls, total_us: us} ->
        share = if total > 0, do: 100 * us / total, else: 0.0
        line("~8.3f ~5.1f% ~6B  ~ts", [per_run.(us), share / 1, calls, step])
      end)

    header = line("~B runs, ~.3f ms per run", [runs, per_run.(total)])
    Enum.join([header, "  ms/run  share  calls  step" | rows], "\n")
  end

  defp line(format, args), do: format |> :io_lib.format(args) |> IO.iodata_to_binary()
end
