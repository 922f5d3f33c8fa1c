# The main job: trains the 784-128-10 MLP (or, with --cnn, the CNN) on an MNIST-format dataset
# (Fashion-MNIST from Debian's dataset-fashion-mnist by default), reports
# per-epoch loss, accuracy, time and samples/s and the test accuracy, and
# saves the model. When a saved model exists, it loads it and predicts
# instead (pass --retrain to train again).
#
#   scripts/main [--data DIR] [--epochs N] [--model FILE] [--retrain] [--cnn]
#
# --cnn trains the CNN instead (conv3x3x32-relu-maxpool2-conv3x3x64-relu-
# maxpool2-dense128-relu-dense10, 3 epochs by default).

Code.require_file("models.exs", __DIR__)

{opts, _, _} =
  OptionParser.parse(System.argv(),
    strict: [
      data: :string,
      epochs: :integer,
      model: :string,
      retrain: :boolean,
      batch_size: :integer,
      cnn: :boolean
    ]
  )

dir = opts[:data] || "/usr/share/datasets/fashion-mnist"
cnn = Keyword.get(opts, :cnn, false)
path = opts[:model] || if(cnn, do: "mnist_cnn.ckpt", else: "mnist_mlp.ckpt")
epochs = opts[:epochs] || if(cnn, do: 3, else: 5)
batch_size = opts[:batch_size] || 128

unless File.dir?(dir) do
  IO.puts(
    :stderr,
    "No dataset at #{dir}: install Debian's dataset-fashion-mnist or pass --data DIR"
  )

  System.halt(1)
end

data = Myelin.Datasets.mnist(dir, flatten: not cnn)
# The CNN reads images channels first: {n, 1, 28, 28}.
images = fn x -> if cnn, do: Myelin.Tensor.reshape(x, {elem(x.shape, 0), 1, 28, 28}), else: x end
{x_test, y_test} = data.test
x_test = images.(x_test)

model = if cnn, do: Myelin.BenchModels.cnn(), else: Myelin.BenchModels.mlp()

kind = if cnn, do: "CNN", else: "MLP 784-128-10"

accuracy = fn state ->
  Myelin.Loop.evaluator(model)
  |> Myelin.Loop.metric(:accuracy)
  |> Myelin.Loop.run({x_test, y_test}, state, batch_size: 1000, log: 0)
  |> Map.fetch!("accuracy")
end

if File.exists?(path) and not Keyword.get(opts, :retrain, false) do
  state = Myelin.Checkpoint.load(path)
  IO.puts("Loaded the model from #{path} (pass --retrain to train again).")
  {t, acc} = :timer.tc(fn -> accuracy.(state) end)

  IO.puts(
    "Test accuracy: #{Float.round(acc * 100, 2)}% (#{elem(x_test.shape, 0)} images in #{div(t, 1000)} ms)"
  )

  first =
    Myelin.Tensor.slice(x_test, List.duplicate(0, tuple_size(x_test.shape)), [
      8 | tl(Tuple.to_list(x_test.shape))
    ])

  predicted =
    Myelin.predict(model, state, first)
    |> Myelin.Tensor.argmax(axis: -1)
    |> Myelin.Tensor.to_list()

  IO.puts(
    "First 8 predictions: #{inspect(predicted)}; labels: #{inspect(Myelin.Tensor.to_list(Myelin.Tensor.slice(y_test, [0], [8])))}"
  )
else
  {x, y} = data.train
  x = images.(x)

  IO.puts(
    "Training the #{kind} on #{dir}: #{elem(x.shape, 0)} images, batch #{batch_size}, Adam 1e-3, #{epochs} epochs"
  )

  IO.puts(
    Myelin.summary(
      model,
      Myelin.Tensor.slice(x, List.duplicate(0, tuple_size(x.shape)), [
        1 | tl(Tuple.to_list(x.shape))
      ])
    )
  )

  {t, state} =
    :timer.tc(fn ->
      model
      |> Myelin.Loop.trainer(
        :categorical_cross_entropy,
        Myelin.Optimizers.adam(learning_rate: 1.0e-3)
      )
      |> Myelin.Loop.metric(:accuracy)
      |> Myelin.Loop.run({x, y}, %{},
        epochs: epochs,
        batch_size: batch_size,
        shuffle: true,
        seed: 42,
        log: 50
      )
    end)

  seconds = t / 1.0e6

  IO.puts(
    "Trained in #{Float.round(seconds, 2)} s (#{round(epochs * elem(x.shape, 0) / seconds)} samples/s)"
  )

  IO.puts("Test accuracy: #{Float.round(accuracy.(state) * 100, 2)}%")
  Myelin.Checkpoint.save(path, state)
  IO.puts("Saved the model to #{path}; run again to load it and predict.")
end
