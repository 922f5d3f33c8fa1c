defmodule Myelin.Loop.Progress do
  @moduledoc false
  # The live progress line of Myelin.Loop.run/4 on stderr: rewritten in place
  # with "\r" every `log` steps, finished with a newline at epoch end.

  alias Myelin.Loop.State

  # Each line is padded with spaces to the length of the one it overwrites,
  # kept in the process dictionary of the process that runs the loop.
  @width_key {__MODULE__, :width}

  @doc false
  def iteration(%State{} = state, log, total, t0) do
    if log > 0 and (rem(state.iteration, log) == 0 or state.iteration == total) do
      IO.write(:stderr, "\r" <> padded(line(state, total, elapsed(t0), :eta)))
    end

    :ok
  end

  @doc false
  def epoch_end(%State{} = state, log, total, t0) do
    if log > 0 do
      IO.write(:stderr, "\r" <> padded(line(state, total, elapsed(t0), :time)) <> "\n")
      Process.delete(@width_key)
    end

    :ok
  end

  defp elapsed(t0),
    do: System.convert_time_unit(System.monotonic_time() - t0, :native, :microsecond) / 1.0e6

  defp line(state, total, secs, tail) do
    step = if total, do: "#{state.iteration}/#{total}", else: "#{state.iteration}"

    parts =
      ["Epoch #{state.epoch + 1}/#{state.max_epoch}", "step #{step}"] ++
        metric_parts(state.metrics) ++ rate(state, secs) ++ tail(tail, state, total, secs)

    Enum.join(parts, "  ")
  end

  defp padded(line) do
    previous = Process.get(@width_key, 0)
    Process.put(@width_key, String.length(line))
    String.pad_trailing(line, previous)
  end

  # "loss" first, then the other metrics by name.
  defp metric_parts(metrics) do
    metrics
    |> Enum.sort_by(fn {name, _} -> {name != "loss", name} end)
    |> Enum.map(fn {name, value} -> "#{name}: #{format(value)}" end)
  end

  defp rate(%State{samples: samples}, secs) when samples > 0 and secs > 0,
    do: ["#{format_rate(samples / secs)} samples/s"]

  defp rate(_state, _secs), do: []

  defp tail(:time, _state, _total, secs), do: ["#{format_duration(secs)}"]

  defp tail(:eta, %State{iteration: i}, total, secs)
       when is_integer(total) and i > 0 and total > i,
       do: ["ETA #{format_duration(secs / i * (total - i))}"]

  defp tail(:eta, _state, _total, _secs), do: []

  @doc false
  # Four decimals in the usual range, scientific notation outside it, so tiny
  # losses do not print as 0.0000.
  def format(x) when is_integer(x), do: Integer.to_string(x)

  def format(x) when is_float(x) do
    if x == 0.0 or (abs(x) >= 1.0e-3 and abs(x) < 1.0e5) do
      :erlang.float_to_binary(x, decimals: 4)
    else
      :io_lib.format("~.4e", [x]) |> IO.iodata_to_binary()
    end
  end

  def format(x), do: to_string(x)

  defp format_rate(r) when r >= 100, do: Integer.to_string(round(r))
  defp format_rate(r), do: :erlang.float_to_binary(r, decimals: 1)

  defp format_duration(secs) when secs < 60, do: :erlang.float_to_binary(secs, decimals: 1) <> "s"

  defp format_duration(secs) do
    total = round(secs)
    "#{div(total, 60)}m#{String.pad_leading(Integer.to_string(rem(total, 60)), 2, "0")}s"
  end
end
