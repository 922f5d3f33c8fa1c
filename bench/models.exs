# The two models of issue 3's recipe, defined once for the main job
# (bench/mnist.exs) and the benchmark (bench/train_bench.exs); their PyTorch
# and JAX twins are in bench/train_torch.py and bench/train_jax.py.
defmodule Myelin.BenchModels do
  @moduledoc false

  # 784-128(relu)-10(softmax).
  def mlp do
    Myelin.input("image", shape: {nil, 784})
    |> Myelin.dense(128, activation: :relu)
    |> Myelin.dense(10, activation: :softmax)
  end

  # conv3x3x32-relu-maxpool2-conv3x3x64-relu-maxpool2-dense128-relu-dense10,
  # channels first: images {n, 1, 28, 28}.
  def cnn do
    Myelin.input("image", shape: {nil, 1, 28, 28})
    |> Myelin.conv(32, kernel_size: 3, channels: :first, activation: :relu)
    |> Myelin.max_pool(kernel_size: 2, channels: :first)
    |> Myelin.conv(64, kernel_size: 3, channels: :first, activation: :relu)
    |> Myelin.max_pool(kernel_size: 2, channels: :first)
    |> Myelin.flatten()
    |> Myelin.dense(128, activation: :relu)
    |> Myelin.dense(10, activation: :softmax)
  end
end
