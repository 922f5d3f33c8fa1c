defmodule Myelin.TensorHelpers do
  @moduledoc false
  # Helpers shared by the tensor tests.

  @doc "The expected values of `list` as `to_list/1` returns them for `type` (floats for float types)."
  def vals(type, list) do
    if elem(type, 0) in [:f, :bf], do: deep_float(list), else: list
  end

  defp deep_float(l) when is_list(l), do: Enum.map(l, &deep_float/1)
  defp deep_float(x), do: x * 1.0
end
