defmodule Myelin.TensorInspectTest do
  use ExUnit.Case, async: true
  alias Myelin.Tensor, as: T

  test "cuts off after the limit with ..., at every level" do
    assert inspect(T.iota({2, 3}), limit: 4) ==
             "#Myelin.Tensor<\n  s64[2][3]\n  [\n    [0, 1, 2],\n    [3, ...]\n  ]\n>"

    assert inspect(T.iota({3, 2}), limit: 2) ==
             "#Myelin.Tensor<\n  s64[3][2]\n  [\n    [0, 1],\n    ...\n  ]\n>"
  end

  test "limit: :infinity prints every element, large tensors included (dirty scheduler)" do
    text = inspect(T.iota({20_000}), limit: :infinity)
    assert text =~ "19998, 19999]"
    refute text =~ "..."
  end

  test "floats print in their own precision's shortest form" do
    assert inspect(T.tensor([0.1, 1.0e-7, :neg_infinity])) =~ "[0.1, 1.0e-7, -Inf]"
    # bf16's 0.1 is 0.10009765625; "0.1" is the shortest text that reads back as it.
    assert inspect(T.tensor([0.1], type: :bf16)) =~ "[0.1]"
    assert inspect(T.tensor([1 / 3])) =~ "[0.33333334]"
  end
end
