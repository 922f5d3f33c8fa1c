defmodule Myelin.IOHelpers do
  @moduledoc false
  # Helpers shared by the file-format tests.

  @doc """
  ExUnit setup (import it, then `setup :tmp_dir`): a fresh directory
  under the system's temporary directory, removed after the test. (ExUnit's
  own `:tmp_dir` tag writes under the project's tmp/, which is not ignored.)
  """
  def tmp_dir(_context) do
    dir = Path.join(System.tmp_dir!(), "myelin_test_#{System.unique_integer([:positive])}")
    File.rm_rf!(dir)
    File.mkdir_p!(dir)
    ExUnit.Callbacks.on_exit(fn -> File.rm_rf!(dir) end)
    %{tmp_dir: dir}
  end

  @doc """
  `term` with every tensor replaced by its type, shape and bytes, and every
  float by its bits, so that `==` compares bit for bit (-0.0 == 0.0 before
  OTP 27) and loaded tensors compare equal to the saved ones.
  """
  def bits(%Myelin.Tensor{} = t), do: {:tensor, t.type, t.shape, Myelin.Tensor.to_binary(t)}
  def bits(x) when is_float(x), do: {:float, <<x::float-64>>}
  def bits(list) when is_list(list), do: Enum.map(list, &bits/1)
  def bits(tuple) when is_tuple(tuple), do: tuple |> Tuple.to_list() |> bits() |> List.to_tuple()

  def bits(map) when is_map(map),
    do: map |> Map.to_list() |> Map.new(fn {k, v} -> {bits(k), bits(v)} end)

  def bits(x), do: x
end
