defmodule Myelin.TensorDocTest do
  use ExUnit.Case, async: true
  doctest Myelin.Tensor
  doctest Myelin.Tensor.Type
end
