# Myelin's side of bench/run_train.sh (issue 3's training workloads).
# Prints `name value unit` lines (or `name n/a reason`); bench/compare_train.py
# sets them beside PyTorch's and JAX's. One workload per OS process, so the
# peak-memory figure belongs to the MLP run alone:
#
#   MIX_ENV=prod mix run bench/train_bench.exs mlp   # MLP epochs, memory, inference
#   MIX_ENV=prod mix run bench/train_bench.exs cnn   # one CNN epoch
#
# Environment: BENCH_EPOCHS (timed MLP epochs after one warm-up epoch, 3),
# BENCH_CNN_WARMUP (CNN warm-up steps, 20), BENCH_INFER_CALLS (batch-1 calls,
# 5000), BENCH_DATA (the Fashion-MNIST directory), MYELIN_NUM_THREADS.
Code.require_file("models.exs", __DIR__)
alias Myelin.Tensor, as: T

defmodule TrainBench do
  @batch 128

  def env_int(name, default) do
    case System.get_env(name) do
      nil -> default
      s -> String.to_integer(s)
    end
  end

  def report(name, value, unit), do: IO.puts("#{name} #{Float.round(value * 1.0, 4)} #{unit}")

  def now, do: System.monotonic_time(:nanosecond)

  # Peak resident set size of this OS process (the BEAM), in MiB.
  def peak_rss_mib do
    [_, kb] = Regex.run(~r/VmHWM:\s+(\d+) kB/, File.read!("/proc/self/status"))
    String.to_integer(kb) / 1024
  end

  def optimizer, do: Myelin.Optimizers.adam(learning_rate: 1.0e-3)

  # A trainer whose handlers send the wall-clock time of the run's start and
  # of each epoch's end (after the trainer's own end-of-epoch sync) to this
  # process, so an epoch's time covers the shuffle, every step and the sync.
  def timed_trainer(model, me) do
    mark = fn state ->
      send(me, {:mark, now()})
      {:continue, state}
    end

    model
    |> Myelin.Loop.trainer(:categorical_cross_entropy, optimizer())
    |> Myelin.Loop.handle_event(:started, mark)
    |> Myelin.Loop.handle_event(:epoch_completed, mark)
  end

  def marks(acc \\ []) do
    receive do
      {:mark, t} -> marks([t | acc])
    after
      0 -> Enum.reverse(acc)
    end
  end

  def epoch_seconds(marks) do
    marks |> Enum.chunk_every(2, 1, :discard) |> Enum.map(fn [a, b] -> (b - a) / 1.0e9 end)
  end

  def median(xs), do: xs |> Enum.sort() |> Enum.at(div(length(xs), 2))

  def percentile(sorted, p),
    do: Enum.at(sorted, min(round(p * length(sorted)), length(sorted) - 1))

  def run(fun, reps) do
    for _ <- 1..reps, do: fun.()
  end

  def mlp(data, n_epochs, calls) do
    {x, y} = data.train
    {x_test, y_test} = data.test

    model = Myelin.BenchModels.mlp()

    state =
      model
      |> timed_trainer(self())
      |> Myelin.Loop.run({x, y}, %{},
        epochs: 1 + n_epochs,
        batch_size: @batch,
        shuffle: true,
        seed: 42,
        log: 0
      )

    # Read before inference, so the figure is the training run's.
    rss = peak_rss_mib()
    [_warm | timed] = epoch_seconds(marks())
    report("mlp_epoch_best_s", Enum.min(timed), "s")
    report("mlp_epoch_median_s", median(timed), "s")
    report("mlp_peak_rss_mib", rss, "MiB")

    correct =
      Myelin.predict(model, state, x_test)
      |> T.argmax(axis: -1)
      |> T.equal(y_test)
      |> T.sum()
      |> T.to_number()

    report("mlp_test_accuracy_pct", 100 * correct / elem(y_test.shape, 0), "%")
    inference(model, state, x_test, calls)
  end

  def inference(model, state, x_test, calls) do
    x1 = T.slice(x_test, [0, 0], [1, 784])
    run(fn -> Myelin.predict(model, state, x1) end, 500)

    samples =
      for _ <- 1..calls do
        t0 = now()
        Myelin.predict(model, state, x1)
        now() - t0
      end
      |> Enum.sort()

    report("infer_b1_p50_us", percentile(samples, 0.5) / 1000, "us")
    report("infer_b1_p99_us", percentile(samples, 0.99) / 1000, "us")

    x1024 = T.slice(x_test, [0, 0], [1024, 784])
    run(fn -> Myelin.predict(model, state, x1024) end, 10)

    times =
      for _ <- 1..50 do
        t0 = now()
        Myelin.predict(model, state, x1024)
        now() - t0
      end

    report("infer_b1024_samples_per_s", 1024 / (median(times) / 1.0e9), "samples/s")
  end

  # One CNN epoch after a short warm-up: the run's epoch 0 is halted after
  # `warmup` steps, epoch 1 is the timed one (same trainer, so the step
  # graph for full batches is already compiled).
  def cnn(data, warmup) do
    {x, y} = data.train
    x = T.reshape(x, {elem(x.shape, 0), 1, 28, 28})

    model = Myelin.BenchModels.cnn()

    halt_warmup = fn state ->
      if state.epoch == 0 and state.iteration >= warmup,
        do: {:halt_epoch, state},
        else: {:continue, state}
    end

    model
    |> timed_trainer(self())
    |> Myelin.Loop.handle_event(:iteration_completed, halt_warmup)
    |> Myelin.Loop.run({x, y}, %{}, epochs: 2, batch_size: @batch, shuffle: true, seed: 42, log: 0)

    [_warm, epoch] = epoch_seconds(marks())
    report("cnn_epoch_s", epoch, "s")
  rescue
    # Until conv can be recorded in a graph, the row says why it is missing.
    e ->
      reason =
        e
        |> Exception.message()
        |> String.split("\n")
        |> hd()
        |> String.replace(~r/^.*raised: /, "")

      IO.puts("cnn_epoch_s n/a #{reason}")
  end
end

data = fn ->
  Myelin.Datasets.mnist(System.get_env("BENCH_DATA", "/usr/share/datasets/fashion-mnist"))
end

case System.argv() do
  ["mlp"] ->
    TrainBench.mlp(
      data.(),
      TrainBench.env_int("BENCH_EPOCHS", 3),
      TrainBench.env_int("BENCH_INFER_CALLS", 5000)
    )

  ["cnn"] ->
    TrainBench.cnn(data.(), TrainBench.env_int("BENCH_CNN_WARMUP", 20))

  other ->
    IO.puts(:stderr, "usage: mix run bench/train_bench.exs mlp|cnn (got #{inspect(other)})")
    System.halt(2)
end
