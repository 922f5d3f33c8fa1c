defmodule Myelin.TensorDocTest do
  use ExUnit.Case, async: true
  doctest Myelin.Tensor
  doctest Myelin.Tensor.Type
  doctest Myelin.Tensor.Elementwise
  doctest Myelin.Tensor.ShapeOps
  doctest Myelin.Tensor.Reductions
  doctest Myelin.Tensor.Convolution
end
