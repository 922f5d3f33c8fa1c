defmodule Myelin.Datasets.Options do
  @moduledoc false
  # Checks of option values shared by the Myelin.Datasets functions. Each
  # raises ArgumentError naming the function, the option, what it got and
  # what it expected. Option *names* are checked by
  # Myelin.Tensor.validate_opts!/3.

  @max_seed 18_446_744_073_709_551_616

  def boolean!(opts, key, default, fun) do
    case Keyword.get(opts, key, default) do
      b when is_boolean(b) -> b
      other -> bad!(fun, key, "true or false", other)
    end
  end

  def pos_integer!(opts, key, fun) do
    case Keyword.fetch(opts, key) do
      {:ok, n} when is_integer(n) and n > 0 -> n
      {:ok, other} -> bad!(fun, key, "a positive integer", other)
      :error -> raise ArgumentError, "#{fun}: the option #{key}: is required"
    end
  end

  # Seeds and epochs: non-negative integers below 2^64, like the engine's seeds.
  def seed!(opts, key, fun) do
    case Keyword.get(opts, key, 0) do
      n when is_integer(n) and n >= 0 and n < @max_seed -> n
      other -> bad!(fun, key, "a non-negative 64-bit integer", other)
    end
  end

  def one_of!(opts, key, default, allowed, fun) do
    value = Keyword.get(opts, key, default)

    if value in allowed,
      do: value,
      else: bad!(fun, key, Enum.map_join(allowed, " or ", &inspect/1), value)
  end

  defp bad!(fun, key, expected, got) do
    raise ArgumentError, "#{fun}: expected #{key}: to be #{expected}, got #{inspect(got)}"
  end
end
