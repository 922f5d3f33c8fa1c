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

  test "conv_transpose output shapes follow Axon's :valid and :same padding" do
    x = Myelin.input("x", shape: {nil, 5, 4, 2})
    t = T.random_uniform({2, 5, 4, 2}, seed: 4)
    # :valid: in * stride + max(kernel - stride, 0); :same: in * stride.
    assert shape_of(Myelin.conv_transpose(x, 3, kernel_size: 3, strides: 2), t) == {2, 11, 9, 3}
    assert shape_of(Myelin.conv_transpose(x, 3, kernel_size: 2, strides: 3), t) == {2, 15, 12, 3}

    assert shape_of(Myelin.conv_transpose(x, 3, kernel_size: 3, strides: 2, padding: :same), t) ==
             {2, 10, 8, 3}

    assert shape_of(Myelin.conv_transpose(x, 4, kernel_size: {2, 3}), t) == {2, 6, 6, 4}

    first = Myelin.input("x", shape: {nil, 2, 6})
    t1 = T.random_uniform({1, 2, 6}, seed: 5)

    assert shape_of(
             Myelin.conv_transpose(first, 3, kernel_size: 4, strides: 2, channels: :first),
             t1
           ) ==
             {1, 3, 14}
  end

  test "conv_transpose gives Axon's documented values" do
    # Axon.Layers.conv_transpose's doctest: iota input and kernel, bias 1.
    x = Myelin.input("x", shape: {nil, 3, 3})
    model = Myelin.conv_transpose(x, 6, kernel_size: 2, channels: :first)
    {init_fn, predict_fn} = Myelin.build(model)
    input = T.iota({1, 3, 3}, type: :f32)
    state = init_fn.(input, %{})
    [name] = Map.keys(state)

    params = %{
      name => %{"kernel" => T.iota({6, 3, 2}, type: :f32), "bias" => T.broadcast(1.0, {6})}
    }

    assert predict_fn.(params, input) |> T.to_flat_list() == [
             40.0,
             79.0,
             94.0,
             43.0,
             94.0,
             205.0,
             256.0,
             133.0,
             148.0,
             331.0,
             418.0,
             223.0,
             202.0,
             457.0,
             580.0,
             313.0,
             256.0,
             583.0,
             742.0,
             403.0,
             310.0,
             709.0,
             904.0,
             493.0
           ]
  end

  test "a conv_transpose autoencoder trains" do
    {x, _y} = images(32, 3)
    input = Myelin.input("x", shape: {nil, 8, 8, 1})

    model =
      input
      |> Myelin.conv(4, kernel_size: 3, strides: 2, padding: :same, activation: :relu)
      |> Myelin.conv_transpose(1, kernel_size: 3, strides: 2, padding: :same)

    batches =
      for i <- 0..3,
          do:
            {T.slice(x, [i * 8, 0, 0, 0], [8, 8, 8, 1]),
             T.slice(x, [i * 8, 0, 0, 0], [8, 8, 8, 1])}

    state =
      model
      |> Myelin.Loop.trainer(:mean_squared_error, Myelin.Optimizers.adam(learning_rate: 0.01))
      |> Myelin.Loop.run(batches, %{}, epochs: 30, log: 0)

    metrics =
      Myelin.Loop.evaluator(model)
      |> Myelin.Loop.metric(:mse)
      |> Myelin.Loop.run([{x, x}], state, log: 0)

    # Predicting zeros scores mean(x^2); the reconstruction must do far better.
    zeros = x |> T.multiply(x) |> T.mean() |> T.to_number()
    assert metrics["mse"] < 0.2 * zeros
  end

  test "bad convolution arguments raise naming the op" do
    x = Myelin.input("x", shape: {nil, 4, 4, 1})
    t = T.random_uniform({1, 4, 4, 1}, seed: 1)
    assert_raise ArgumentError, ~r/conv/, fn -> shape_of(Myelin.conv(x, 2, kernel_size: 5), t) end
    assert_raise ArgumentError, ~r/unknown option :bogus/, fn -> Myelin.conv(x, 2, bogus: 1) end

    assert_raise ArgumentError, ~r/conv_transpose: unknown option :feature_group_size/, fn ->
      Myelin.conv_transpose(x, 2, feature_group_size: 2)
    end

    assert_raise ArgumentError, ~r/max_pool/, fn ->
      shape_of(Myelin.max_pool(x, kernel_size: 6), t)
    end
  end
end
