defmodule Myelin.ConvLayersTest do
  use ExUnit.Case, async: true

  alias Myelin.Tensor, as: T

  # 8x8 single-channel images: class 1 has a bright top half, class 0 a bright bottom half.
  defp images(n, seed) do
    noise = T.random_uniform({n, 8, 8, 1}, max: 0.5, seed: seed)
    labels = T.iota({n}) |> T.remainder(2)
    rows = T.iota({1, 8, 1, 1}) |> T.less(4) |> T.as_type({:f, 32})
    top = labels |> T.as_type({:f, 32}) |> T.reshape({n, 1, 1, 1})
    mask = T.add(T.multiply(top, rows), T.multiply(T.subtract(1.0, top), T.subtract(1.0, rows)))
    {T.add(noise, mask), labels}
  end

  defp shape_of(model, template) do
    {init_fn, predict_fn} = Myelin.build(model)
    predict_fn.(init_fn.(template, %{}), template).shape
  end

  test "conv and pooling output shapes, channels last and first" do
    x = Myelin.input("x", shape: {nil, 8, 8, 3})
    t = T.random_uniform({2, 8, 8, 3}, seed: 1)
    assert shape_of(Myelin.conv(x, 4, kernel_size: 3), t) == {2, 6, 6, 4}

    assert shape_of(Myelin.conv(x, 4, kernel_size: 3, padding: :same, strides: 2), t) ==
             {2, 4, 4, 4}

    assert shape_of(Myelin.conv(x, 3, kernel_size: 3, feature_group_size: 3, padding: :same), t) ==
             {2, 8, 8, 3}

    assert shape_of(x |> Myelin.conv(4, kernel_size: 3, kernel_dilation: 2), t) == {2, 4, 4, 4}
    assert shape_of(Myelin.max_pool(x, kernel_size: 2), t) == {2, 4, 4, 3}

    assert shape_of(Myelin.avg_pool(x, kernel_size: 3, strides: 1, padding: :same), t) ==
             {2, 8, 8, 3}

    assert shape_of(Myelin.adaptive_avg_pool(x, output_size: {3, 2}), t) == {2, 3, 2, 3}
    assert shape_of(Myelin.global_max_pool(x), t) == {2, 3}

    first = Myelin.input("x", shape: {nil, 3, 8, 8})
    tf = T.random_uniform({2, 3, 8, 8}, seed: 2)

    assert shape_of(Myelin.conv(first, 5, kernel_size: {3, 2}, channels: :first), tf) ==
             {2, 5, 6, 7}

    assert shape_of(Myelin.global_avg_pool(first, channels: :first), tf) == {2, 3}

    x1 = Myelin.input("x", shape: {nil, 10, 2})

    assert shape_of(Myelin.conv(x1, 4, kernel_size: 3), T.random_uniform({2, 10, 2}, seed: 3)) ==
             {2, 8, 4}
  end

  test "a small CNN learns to tell the images apart" do
    {x, y} = images(128, 1)

    train =
      for i <- 0..3,
          do: {T.slice(x, [i * 32, 0, 0, 0], [32, 8, 8, 1]), T.slice(y, [i * 32], [32])}

    model =
      Myelin.input("image", shape: {nil, 8, 8, 1})
      |> Myelin.conv(4, kernel_size: 3, activation: :relu)
      |> Myelin.max_pool(kernel_size: 2)
      |> Myelin.flatten()
      |> Myelin.dense(2, activation: :softmax)

    state =
      model
      |> Myelin.Loop.trainer(
        :categorical_cross_entropy,
        Myelin.Optimizers.adam(learning_rate: 0.01)
      )
      |> Myelin.Loop.run(train, %{}, epochs: 5, log: 0)

    {xt, yt} = images(64, 2)

    metrics =
      Myelin.Loop.evaluator(model)
      |> Myelin.Loop.metric(:accuracy)
      |> Myelin.Loop.run([{xt, yt}], state, log: 0)

    assert metrics["accuracy"] > 0.9
  end

  test "bad convolution arguments raise naming the op" do
    x = Myelin.input("x", shape: {nil, 4, 4, 1})
    t = T.random_uniform({1, 4, 4, 1}, seed: 1)
    assert_raise ArgumentError, ~r/conv/, fn -> shape_of(Myelin.conv(x, 2, kernel_size: 5), t) end
    assert_raise ArgumentError, ~r/unknown option :bogus/, fn -> Myelin.conv(x, 2, bogus: 1) end

    assert_raise ArgumentError, ~r/max_pool/, fn ->
      shape_of(Myelin.max_pool(x, kernel_size: 6), t)
    end
  end
end
