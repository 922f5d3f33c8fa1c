defmodule Myelin.Loop.Metric do
  @moduledoc false
  # One metric attached to a loop: how to compute a value from the step state
  # after each step, and how to fold it into the epoch's accumulated value.

  alias Myelin.Loop.State

  defstruct [:name, :fun, :accumulate, :transform]

  @op "Myelin.Loop.metric"

  def new!(metric, name, accumulate, transform) do
    # Checked in this order so that a bad metric is reported before its name.
    fun = fun!(metric)
    name = name!(metric, name)

    %__MODULE__{
      name: name,
      fun: fun,
      accumulate: accumulate!(accumulate),
      transform: transform!(transform)
    }
  end

  defp fun!(fun) when is_function(fun, 2), do: fun

  defp fun!(name) when is_atom(name) do
    # Myelin.Metrics is looked up at run time so that a loop over plain
    # functions works whether or not that module is compiled in.
    if Code.ensure_loaded?(Myelin.Metrics) and function_exported?(Myelin.Metrics, name, 2) do
      fn y_true, y_pred -> apply(Myelin.Metrics, name, [y_true, y_pred]) end
    else
      raise ArgumentError,
            "#{@op}: #{inspect(name)} is not a function of Myelin.Metrics taking (y_true, y_pred)"
    end
  end

  defp fun!(other) do
    raise ArgumentError,
          "#{@op}: expected an atom naming a Myelin.Metrics function or a function of " <>
            "(y_true, y_pred), got #{inspect(other)}"
  end

  defp name!(_metric, name) when is_binary(name), do: name
  defp name!(_metric, name) when is_atom(name) and not is_nil(name), do: Atom.to_string(name)
  defp name!(metric, nil) when is_atom(metric), do: Atom.to_string(metric)

  defp name!(metric, nil) do
    raise ArgumentError,
          "#{@op}: a function metric needs a name, got #{inspect(metric)} without one"
  end

  defp name!(_metric, name) do
    raise ArgumentError,
          "#{@op}: expected the name to be a string or an atom, got #{inspect(name)}"
  end

  defp accumulate!(mode) when mode in [:running_average, :running_sum], do: mode
  defp accumulate!(fun) when is_function(fun, 3), do: fun

  defp accumulate!(other) do
    raise ArgumentError,
          "#{@op}: expected accumulate to be :running_average, :running_sum or a function " <>
            "(acc, value, n), got #{inspect(other)}"
  end

  defp transform!(nil), do: &default_transform/1
  defp transform!(fun) when is_function(fun, 1), do: fun

  defp transform!(other) do
    raise ArgumentError,
          "#{@op}: expected the transform to be a function of the step state returning " <>
            "{y_true, y_pred}, got #{inspect(other)}"
  end

  defp default_transform(%{y_true: y_true, y_pred: y_pred}), do: {y_true, y_pred}

  defp default_transform(step_state) do
    raise ArgumentError,
          "#{@op}: the default transform needs a step state with :y_true and :y_pred, got " <>
            "#{inspect(step_state, limit: 5)}; pass a transform returning {y_true, y_pred}"
  end

  @doc false
  # Folds this step's values into state.metrics. Called after the step, when
  # state.iteration already counts it, so n = iteration - 1 values came before;
  # the first value of an epoch starts from 0.
  def update(%State{} = state, metrics) do
    n = state.iteration - 1

    values =
      Enum.map(metrics, fn %__MODULE__{} = m ->
        {m, state.step_state |> m.transform.() |> compute(m)}
      end) ++ loss(state.step_state, metrics)

    Enum.reduce(values, state, fn {m, value}, state ->
      prev = if n == 0, do: 0, else: Map.get(state.metrics, m.name, 0)
      %{state | metrics: Map.put(state.metrics, m.name, accumulate(m.accumulate, prev, value, n))}
    end)
  end

  defp compute({y_true, y_pred}, m), do: number!(m.fun.(y_true, y_pred), m.name)

  defp compute(other, m) do
    raise ArgumentError,
          "#{@op}: the transform of metric #{inspect(m.name)} returned #{inspect(other, limit: 5)}, " <>
            "expected {y_true, y_pred}"
  end

  # The step state's :loss is reported as "loss" unless a metric has that name.
  defp loss(%{loss: loss}, metrics) when not is_nil(loss) do
    if Enum.any?(metrics, &(&1.name == "loss")),
      do: [],
      else: [{%__MODULE__{name: "loss", accumulate: :running_average}, number!(loss, "loss")}]
  end

  defp loss(_step_state, _metrics), do: []

  @doc false
  def number!(x, _name) when is_number(x), do: x
  def number!(x, _name) when x in [:nan, :infinity, :neg_infinity], do: x

  def number!(%Myelin.Tensor{} = t, name) do
    if Myelin.Tensor.size(t) == 1, do: Myelin.Tensor.to_number(t), else: not_a_number!(t, name)
  end

  def number!(other, name), do: not_a_number!(other, name)

  defp not_a_number!(other, name) do
    raise ArgumentError,
          "Myelin.Loop: metric #{inspect(name)} produced #{inspect(other, limit: 5)}, " <>
            "expected a number or a scalar Myelin.Tensor"
  end

  # Non-finite values (:nan, :infinity, ...) stick for the rest of the epoch.
  defp accumulate(fun, acc, value, n) when is_function(fun, 3), do: fun.(acc, value, n)
  defp accumulate(_mode, _acc, value, _n) when is_atom(value), do: value
  defp accumulate(_mode, acc, _value, _n) when is_atom(acc), do: acc
  defp accumulate(:running_average, acc, value, n), do: acc + (value - acc) / (n + 1)
  defp accumulate(:running_sum, acc, value, _n), do: acc + value
end
