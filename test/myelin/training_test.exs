defmodule Myelin.TrainingTest do
  use ExUnit.Case, async: true

  alias Myelin.Tensor, as: T

  doctest Myelin
  doctest Myelin.Graph
  doctest Myelin.Activations
  doctest Myelin.Initializers
  doctest Myelin.Losses
  doctest Myelin.Metrics
  doctest Myelin.Optimizers
  doctest Myelin.Schedules
  doctest Myelin.Display

  # Two Gaussian blobs in 4-D, labels 0/1; separable.
  defp blobs(n, seed) do
    x = T.random_normal({n, 4}, seed: seed)
    labels = T.iota({n}) |> T.remainder(2)

    shift =
      labels |> T.as_type({:f, 32}) |> T.multiply(4.0) |> T.subtract(2.0) |> T.reshape({n, 1})

    {T.add(x, shift), labels}
  end

  defp model(opts \\ []) do
    Myelin.input("x", shape: {nil, 4})
    |> Myelin.dense(16, activation: :relu)
    |> then(fn m -> if opts[:dropout], do: Myelin.dropout(m, rate: 0.2), else: m end)
    |> Myelin.dense(2, activation: :softmax)
  end

  defp batches({x, y}, size) do
    n = elem(x.shape, 0)

    for start <- 0..(n - 1)//size do
      len = min(size, n - start)
      {T.slice(x, [start, 0], [len, 4]), T.slice(y, [start], [len])}
    end
  end

  test "a traced op records a node with the engine's shape and type" do
    g = Myelin.Graph.new()
    x = Myelin.Graph.input(g, {2, 3}, {:f, 32})
    y = x |> T.sum(axes: [1]) |> T.add(1)
    assert y.shape == {2} and y.type == {:f, 32}
    assert inspect(y) =~ "f32[2] traced"
    assert_raise ArgumentError, ~r/add/, fn -> T.add(x, Myelin.Graph.input(g, {4}, {:f, 32})) end
    other = Myelin.Graph.input(Myelin.Graph.new(), {2, 3}, {:f, 32})
    assert_raise ArgumentError, ~r/different graphs/, fn -> T.add(x, other) end
  end

  test "grad of a traced function matches finite differences" do
    g = Myelin.Graph.new()
    w = Myelin.Graph.param(g, {3}, {:f, 64})
    loss = w |> T.multiply(w) |> T.sin() |> T.sum()
    [dw] = Myelin.Graph.grad(loss, [w])
    {exe, _} = Myelin.Graph.compile(g, [loss, dw])
    w0 = [0.3, -0.7, 1.1]
    [_, got] = Myelin.Graph.run(exe, [], [T.tensor(w0, type: {:f, 64})])
    expected = Enum.map(w0, &(2 * &1 * :math.cos(&1 * &1)))

    Enum.zip(T.to_list(got), expected)
    |> Enum.each(fn {a, b} -> assert_in_delta a, b, 1.0e-12 end)
  end

  test "the trainer fits separable data, with labels or one-hot targets" do
    data = blobs(256, 1)
    {x_test, y_test} = blobs(128, 2)

    for targets <- [:labels, :one_hot] do
      train =
        case targets do
          :labels ->
            batches(data, 32)

          :one_hot ->
            Enum.map(batches(data, 32), fn {x, y} -> {x, Myelin.Datasets.one_hot(y, 2)} end)
        end

      state =
        model()
        |> Myelin.Loop.trainer(
          :categorical_cross_entropy,
          Myelin.Optimizers.adam(learning_rate: 0.01)
        )
        |> Myelin.Loop.metric(:accuracy)
        |> Myelin.Loop.run(train, %{}, epochs: 3, log: 0)

      assert %{"dense_0" => %{"kernel" => k}} = state
      assert k.shape == {4, 16}

      metrics =
        Myelin.Loop.evaluator(model())
        |> Myelin.Loop.metric(:accuracy)
        |> Myelin.Loop.run([{x_test, y_test}], state, log: 0)

      assert metrics["accuracy"] > 0.95
    end
  end

  test "every optimizer lowers the loss" do
    train = batches(blobs(128, 3), 32)

    for opt <- [
          Myelin.Optimizers.sgd(learning_rate: 0.1, momentum: 0.9, nesterov: true),
          Myelin.Optimizers.adamw(clip_norm: 1.0),
          Myelin.Optimizers.rmsprop(learning_rate: 0.01, centered: true, momentum: 0.5),
          Myelin.Optimizers.adagrad(learning_rate: 0.1, clip_value: 0.5),
          Myelin.Optimizers.lamb(learning_rate: 0.01)
        ] do
      losses =
        model(dropout: true)
        |> Myelin.Loop.trainer(:categorical_cross_entropy, opt)
        |> Myelin.Loop.handle_event(:epoch_completed, fn s ->
          {:continue,
           %{
             s
             | handler_metadata:
                 Map.update(
                   s.handler_metadata,
                   :losses,
                   [s.metrics["loss"]],
                   &(&1 ++ [s.metrics["loss"]])
                 )
           }}
        end)
        |> Map.put(:output_transform, fn s -> s.handler_metadata.losses end)
        |> Myelin.Loop.run(train, %{}, epochs: 4, log: 0)

      assert List.last(losses) < hd(losses), "#{opt.kind}: #{inspect(losses)}"
    end
  end

  test "a resumed run is bit-identical to an uninterrupted one" do
    train = batches(blobs(96, 4), 32)

    trainer = fn ->
      Myelin.Loop.trainer(
        model(dropout: true),
        :categorical_cross_entropy,
        Myelin.Optimizers.adam()
      )
    end

    straight = Myelin.Loop.run(trainer.(), train, %{}, epochs: 2, log: 0)

    first =
      trainer.()
      |> Map.put(:output_transform, fn s -> Myelin.Loop.Train.snapshot(s.step_state) end)
      |> Myelin.Loop.run(train, %{}, epochs: 1, log: 0)

    resumed = Myelin.Loop.run(trainer.(), train, first, epochs: 1, log: 0)

    for {layer, params} <- straight, {name, t} <- params do
      assert T.to_binary(t) == T.to_binary(resumed[layer][name]), "#{layer}.#{name} differs"
    end
  end

  test "predict runs the compiled model and checks its inputs" do
    {init_fn, predict_fn} = Myelin.build(model(dropout: true))
    state = init_fn.(T.iota({1, 4}, type: {:f, 32}), %{})
    x = T.random_normal({5, 4}, seed: 3)
    y = predict_fn.(state, x)
    assert y.shape == {5, 2}
    sums = y |> T.sum(axes: [1]) |> T.to_list()
    Enum.each(sums, &assert_in_delta(&1, 1.0, 1.0e-5))
    assert T.to_binary(Myelin.predict(model(), state, x)) |> byte_size() == 40

    assert_raise ArgumentError, ~r/input "x": expected a tensor of shape \{nil, 4\}/, fn ->
      predict_fn.(state, T.iota({2, 3}, type: {:f, 32}))
    end

    assert_raise ArgumentError, ~r/dense_0.kernel/, fn -> predict_fn.(%{}, x) end
  end

  test "predict keeps models apart when one process alternates between them" do
    # Same parameter names and shapes, different activations: a cache that
    # confused the two would give one model's output for the other.
    x = T.random_normal({3, 4}, seed: 7)
    input = Myelin.input("x", shape: {nil, 4})
    relu = input |> Myelin.dense(2, activation: :relu)
    tanh = input |> Myelin.dense(2, activation: :tanh)
    {init_fn, _} = Myelin.build(relu)
    state = init_fn.(x, %{})
    dense = T.add(T.dot(x, state["dense_0"]["kernel"]), state["dense_0"]["bias"])

    for _ <- 1..3 do
      assert T.to_flat_list(Myelin.predict(relu, state, x)) ==
               T.to_flat_list(T.max(dense, 0.0))

      assert T.to_flat_list(Myelin.predict(tanh, state, x)) == T.to_flat_list(T.tanh(dense))
    end
  end

  test "bad trainer arguments raise naming the problem" do
    assert_raise ArgumentError, ~r/unknown loss :nope/, fn ->
      Myelin.Loop.trainer(model(), :nope, Myelin.Optimizers.sgd())
    end

    assert_raise ArgumentError, ~r/expected an optimizer/, fn ->
      Myelin.Loop.trainer(model(), :mean_squared_error, :adam)
    end

    assert_raise ArgumentError, ~r/unknown option :bogus/, fn ->
      Myelin.Optimizers.adam(bogus: 1)
    end

    assert_raise ArgumentError, ~r/unknown activation :nope/, fn ->
      Myelin.dense(model(), 3, activation: :nope)
    end

    assert_raise ArgumentError, ~r/rate/, fn -> Myelin.dropout(model(), rate: 1.5) end
  end

  test "losses and activations match their definitions eagerly" do
    x = T.tensor([[1.0, 2.0, 3.0]])
    ls = Myelin.Activations.log_softmax(x) |> T.to_list() |> hd()
    lse = :math.log(Enum.sum(Enum.map([1, 2, 3], &:math.exp/1)))

    Enum.zip(ls, [1 - lse, 2 - lse, 3 - lse])
    |> Enum.each(fn {a, b} -> assert_in_delta a, b, 1.0e-6 end)

    y = T.tensor([[0.0, 0.0, 1.0]])
    ce = Myelin.Losses.categorical_cross_entropy(y, x, from_logits: true) |> T.to_number()
    assert_in_delta ce, lse - 3, 1.0e-6

    sparse =
      Myelin.Losses.categorical_cross_entropy(T.tensor([2]), x, from_logits: true, sparse: true)

    assert_in_delta T.to_number(sparse), ce, 1.0e-6

    assert_in_delta T.to_number(Myelin.Losses.huber(T.tensor([[0.0]]), T.tensor([[3.0]]))),
                    2.5,
                    1.0e-6

    bce =
      Myelin.Losses.binary_cross_entropy(T.tensor([[1.0]]), T.tensor([[0.0]]), from_logits: true)

    assert_in_delta T.to_number(bce), :math.log(2), 1.0e-6

    for name <- Myelin.Activations.names() do
      out = Myelin.Activations.apply(name, T.tensor([[-1.0, 0.5]]))
      assert out.shape == {1, 2}
    end
  end

  test "batch norm trains on batch statistics and keeps running ones for inference" do
    model =
      Myelin.input("x", shape: {nil, 4})
      |> Myelin.dense(8)
      |> Myelin.batch_norm()
      |> Myelin.relu()
      |> Myelin.dense(2, activation: :softmax)

    train = batches(blobs(128, 5), 32)

    state =
      model
      |> Myelin.Loop.trainer(
        :categorical_cross_entropy,
        Myelin.Optimizers.adam(learning_rate: 0.01)
      )
      |> Myelin.Loop.run(train, %{}, epochs: 3, log: 0)

    %{"mean" => mean, "var" => var, "gamma" => gamma} = state["batch_norm_0"]
    assert Enum.any?(T.to_list(mean), &(abs(&1) > 1.0e-3))
    assert Enum.any?(T.to_list(var), &(abs(&1 - 1.0) > 1.0e-3))
    assert gamma.shape == {8}

    {x_test, y_test} = blobs(64, 6)

    metrics =
      Myelin.Loop.evaluator(model)
      |> Myelin.Loop.metric(:accuracy)
      |> Myelin.Loop.run([{x_test, y_test}], state, log: 0)

    assert metrics["accuracy"] > 0.9
  end

  test "layer norm and group norm normalize their groups" do
    x = T.random_normal({2, 3, 4}, seed: 9) |> T.multiply(5.0) |> T.add(3.0)
    ones = T.full({4}, 1.0)
    zeros = T.full({4}, 0.0)

    for {op, opts, axes} <- [{:layer_norm, [], [2]}, {:group_norm, [num_groups: 2], nil}] do
      y = Myelin.Layers.apply(op, [x], %{"gamma" => ones, "beta" => zeros}, opts, :inference)
      assert y.shape == {2, 3, 4}

      groups =
        if axes,
          do: y,
          else:
            y
            |> T.reshape({2, 3, 2, 2})
            |> T.transpose(axes: [0, 2, 1, 3])
            |> T.reshape({2, 2, 6})

      means = groups |> T.mean(axes: [-1]) |> T.to_flat_list()
      Enum.each(means, &assert_in_delta(&1, 0.0, 1.0e-4))
    end
  end

  @tag :tmp_dir
  test "a trainer checkpoint written by Myelin.Loop.checkpoint resumes exactly", %{tmp_dir: dir} do
    train = batches(blobs(96, 7), 32)

    trainer = fn ->
      Myelin.Loop.trainer(
        model(dropout: true),
        :categorical_cross_entropy,
        Myelin.Optimizers.adam()
      )
    end

    straight = Myelin.Loop.run(trainer.(), train, %{}, epochs: 2, log: 0)
    path = Path.join(dir, "run.ckpt")

    trainer.()
    |> Myelin.Loop.checkpoint(path: path)
    |> Myelin.Loop.run(train, %{}, epochs: 1, log: 0)

    from = path |> Myelin.Checkpoint.load() |> Myelin.Loop.State.from_map()
    resumed = Myelin.Loop.run(trainer.(), train, %{}, epochs: 1, log: 0, from_state: from)

    for {layer, params} <- straight, {name, t} <- params do
      assert T.to_binary(t) == T.to_binary(resumed[layer][name]), "#{layer}.#{name} differs"
    end
  end
end
