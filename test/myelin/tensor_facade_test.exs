defmodule Myelin.TensorFacadeTest do
  use ExUnit.Case, async: true

  # Every public op of the family modules must be callable as Myelin.Tensor.<op>.
  test "Myelin.Tensor delegates every public function of the family modules" do
    facade = MapSet.new(Myelin.Tensor.__info__(:functions))

    for mod <- [Myelin.Tensor.Elementwise, Myelin.Tensor.ShapeOps, Myelin.Tensor.Reductions],
        fun <- mod.__info__(:functions) do
      assert fun in facade,
             "#{inspect(mod)}.#{elem(fun, 0)}/#{elem(fun, 1)} is not delegated from Myelin.Tensor"
    end
  end
end
