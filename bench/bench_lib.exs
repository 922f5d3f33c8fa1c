# Timing helpers shared by the Elixir benchmark scripts (Code.require_file).
defmodule Bench do
  # Median seconds per call of `fun` over `reps` calls, after a warm-up.
  def time(fun, reps) do
    for _ <- 1..max(div(reps, 10), 1), do: fun.()

    samples =
      for _ <- 1..reps do
        {us, _} = :timer.tc(fun)
        us
      end

    Enum.at(Enum.sort(samples), div(reps, 2)) / 1.0e6
  end

  # Mean seconds per call over a tight loop of `n` calls (for tiny ops, where
  # :timer.tc's own cost would dominate one call).
  def per_call(fun, n) do
    for _ <- 1..1000, do: fun.()
    {us, _} = :timer.tc(fn -> loop(fun, n) end)
    us / n / 1.0e6
  end

  defp loop(_fun, 0), do: :ok

  defp loop(fun, n) do
    fun.()
    loop(fun, n - 1)
  end

  def report(name, value, unit), do: IO.puts("#{name} #{Float.round(value * 1.0, 3)} #{unit}")
end
