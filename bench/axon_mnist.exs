# Trains Axon's classic MNIST MLP for one epoch on Fashion-MNIST with Nx's
# default backend set to Myelin.Backend (or Nx.BinaryBackend, for comparison),
# using Axon's default compiler (Nx.Defn.Evaluator: every op is an eager call
# on the backend; no EXLA), then prints the training time, samples/s and test
# accuracy.
#
#   model:     Axon.input("input", shape: {nil, 784})
#              |> Axon.dense(128, activation: :relu)
#              |> Axon.dense(10, activation: :softmax)
#   loss:      :categorical_cross_entropy
#   optimizer: Polaris.Optimizers.adam(learning_rate: 1.0e-3)
#   data:      pixels / 255 as f32 {n, 784}, one-hot f32 labels {n, 10},
#              batches of 128 (Nx.to_batched, leftover: :repeat -> 469 batches)
#
# How to run. This script is not run by Myelin's own mix project (Myelin does
# not depend on Axon); it runs in a Mix project that has axon + polaris + nx on
# its code path, with Myelin (compiled with Nx) added to the code path:
#
#   1. Build Nx 0.7.2 without Hex (docs/NX_BACKEND.md, "Building a local Nx"):
#        setup_nx07.sh /tmp/nxwork                 # -> /tmp/nxwork/nx/nx
#   2. Build Myelin with Nx (compiles Myelin.Backend into _build/with_nx):
#        cd /path/to/myelin && NX_PATH=/tmp/nxwork/nx/nx mix compile
#   3. Build Axon 0.6.1 + Polaris 0.1.0 against that Nx, as path deps
#      (setup_axon.sh, in docs/NX_BACKEND.md):
#        setup_axon.sh /tmp/nxwork                 # -> /tmp/nxwork/axon
#   4. Run from the Axon project, with Myelin's ebin on the code path (its NIF
#      is then found through :code.priv_dir(:myelin), i.e. the priv symlink in
#      _build/with_nx/dev/lib/myelin -> Myelin's priv/libmyelin_nif.so):
#        cd /tmp/nxwork/axon
#        ERL_AFLAGS="-pa /path/to/myelin/_build/with_nx/dev/lib/myelin/ebin" \
#          mix run /path/to/myelin/bench/axon_mnist.exs
#      (equivalently: elixir -pa /path/to/myelin/_build/with_nx/dev/lib/myelin/ebin \
#                       -S mix run /path/to/myelin/bench/axon_mnist.exs)
#
# Options (environment variables, or the same as --flags after the script path,
# e.g. `mix run /path/to/myelin/bench/axon_mnist.exs --backend binary --batches 20`):
#
#   BACKEND=myelin|binary  Nx default backend: Myelin.Backend (default) or
#                          Nx.BinaryBackend.
#   BATCHES=N              train on the first N batches only (default: all 469
#                          for myelin, 20 for binary, which is very slow). When
#                          N < 469 the epoch time is also extrapolated to 469
#                          batches (first step + 468 * mean later step),
#                          labelled EXTRAPOLATED.
#   EVAL_BATCHES=N         evaluate on the first N test batches of 125 only
#                          (default: all 80 for myelin, 10 for binary).
#   SEED=N                 seed of the parameters' initialisation (default 0;
#                          the same seed gives the same initial parameters on
#                          both backends).
#   DATA_DIR=path          Fashion-MNIST (or MNIST) IDX files, raw or .gz
#                          (default /usr/share/datasets/fashion-mnist).
#
# The summary line looks like:
#   RESULT backend=Myelin.Backend compiler=Nx.Defn.Evaluator batches=469 samples=60032
#     train_s=... samples_per_s=... first_step_s=... step_ms=... test_accuracy=... (10000 test images, eval_s=...)
# train_s is the whole Axon.Loop.run (parameter init, tracing, all steps);
# first_step_s is its part up to the end of the first step; step_ms is the
# mean time of the later steps. The data is read with :zlib/File directly
# (not timed), so BACKEND=binary does not need Myelin at all.

{opts, _, _} =
  OptionParser.parse(System.argv(),
    strict: [
      backend: :string,
      batches: :integer,
      eval_batches: :integer,
      seed: :integer,
      data_dir: :string
    ]
  )

env_int = fn name ->
  case System.get_env(name) do
    nil -> nil
    "" -> nil
    s -> String.to_integer(s)
  end
end

backend_name = opts[:backend] || System.get_env("BACKEND") || "myelin"

backend =
  case backend_name do
    "myelin" -> Myelin.Backend
    "binary" -> Nx.BinaryBackend
    other -> raise ArgumentError, "BACKEND must be myelin or binary, got: #{inspect(other)}"
  end

data_dir = opts[:data_dir] || System.get_env("DATA_DIR") || "/usr/share/datasets/fashion-mnist"

batch_size = 128
default_batches = if backend == Nx.BinaryBackend, do: 20, else: nil
default_eval_batches = if backend == Nx.BinaryBackend, do: 10, else: nil
max_batches = opts[:batches] || env_int.("BATCHES") || default_batches
max_eval_batches = opts[:eval_batches] || env_int.("EVAL_BATCHES") || default_eval_batches
seed = opts[:seed] || env_int.("SEED") || 0

if backend == Myelin.Backend do
  case Application.ensure_all_started(:myelin) do
    {:ok, _} ->
      :ok

    {:error, reason} ->
      raise "cannot start :myelin (#{inspect(reason)}): is Myelin's _build/with_nx/dev/lib/myelin/ebin " <>
              "on the code path (ERL_AFLAGS=\"-pa ...\")? See the header of this script."
  end

  unless Code.ensure_loaded?(Myelin.Backend) do
    raise "Myelin.Backend is not compiled in this build of Myelin: build it with NX_PATH set " <>
            "(NX_PATH=/tmp/nxwork/nx/nx mix compile) and use _build/with_nx"
  end
end

Nx.default_backend(backend)

# ---- data: IDX files, raw or gzipped --------------------------------------

read_idx = fn name ->
  path =
    Enum.find([Path.join(data_dir, name), Path.join(data_dir, name <> ".gz")], &File.exists?/1) ||
      raise "#{name}(.gz) not found in #{data_dir}"

  data = File.read!(path)
  data = if match?(<<0x1F, 0x8B, _::binary>>, data), do: :zlib.gunzip(data), else: data
  <<0, 0, 0x08, rank, rest::binary>> = data
  <<dims::binary-size(rank * 4), body::binary>> = rest
  shape = for <<d::32-big <- dims>>, do: d
  {body, List.to_tuple(shape)}
end

images = fn name ->
  {body, {n, h, w}} = read_idx.(name)

  Nx.from_binary(body, {:u, 8})
  |> Nx.reshape({n, h * w})
  |> Nx.as_type({:f, 32})
  |> Nx.divide(255.0)
end

labels = fn name ->
  {body, {_n}} = read_idx.(name)

  Nx.from_binary(body, {:u, 8})
  |> Nx.new_axis(-1)
  |> Nx.equal(Nx.iota({1, 10}))
  |> Nx.as_type({:f, 32})
end

{load_us, {train_x, train_y, test_x, test_y}} =
  :timer.tc(fn ->
    {images.("train-images-idx3-ubyte"), labels.("train-labels-idx1-ubyte"),
     images.("t10k-images-idx3-ubyte"), labels.("t10k-labels-idx1-ubyte")}
  end)

n_train = elem(train_x.shape, 0)
total_batches = div(n_train + batch_size - 1, batch_size)
batches = if max_batches, do: min(max_batches, total_batches), else: total_batches

n_test = elem(test_x.shape, 0)
eval_batch_size = 125
total_eval_batches = div(n_test + eval_batch_size - 1, eval_batch_size)

eval_batches =
  if max_eval_batches, do: min(max_eval_batches, total_eval_batches), else: total_eval_batches

IO.puts(
  "backend=#{inspect(backend)} data=#{data_dir} train=#{n_train} test=#{n_test} " <>
    "seed=#{seed} load_s=#{Float.round(load_us / 1.0e6, 2)} batches=#{batches}/#{total_batches} " <>
    "eval_batches=#{eval_batches}/#{total_eval_batches}"
)

train_data =
  Stream.zip(Nx.to_batched(train_x, batch_size), Nx.to_batched(train_y, batch_size))
  |> Stream.take(batches)

# Test batches of 125: 10000 = 80 * 125, so every test image counts once and
# every batch has one shape (Axon's loops compile strictly: one shape only).
# Axon's :accuracy metric averages per-batch accuracies, exact for equal batches.
test_data =
  Stream.zip(Nx.to_batched(test_x, eval_batch_size), Nx.to_batched(test_y, eval_batch_size))
  |> Stream.take(eval_batches)

# ---- model and training ---------------------------------------------------

model =
  Axon.input("input", shape: {nil, 784})
  |> Axon.dense(128, activation: :relu)
  |> Axon.dense(10, activation: :softmax)

loop =
  model
  |> Axon.Loop.trainer(:categorical_cross_entropy, Polaris.Optimizers.adam(learning_rate: 1.0e-3),
    log: 50,
    seed: seed
  )
  # Wall-clock time at the end of every step (the first one includes Axon's
  # tracing of the step and the parameters' initialisation).
  |> Axon.Loop.handle_event(:iteration_completed, fn state ->
    Process.put(:step_ends, [System.monotonic_time(:microsecond) | Process.get(:step_ends, [])])
    {:continue, state}
  end)

t0 = System.monotonic_time(:microsecond)
{train_us, params} = :timer.tc(fn -> Axon.Loop.run(loop, train_data, %{}, epochs: 1) end)
IO.puts("")

train_s = train_us / 1.0e6
samples = batches * batch_size
samples_per_s = samples / train_s

# first_s: start of the run to the end of step 1; step_ms: mean of the others.
step_ends = Enum.reverse(Process.get(:step_ends, []))
first_s = (hd(step_ends) - t0) / 1.0e6

step_ms =
  case step_ends do
    [_] -> nil
    [_ | _] -> (List.last(step_ends) - hd(step_ends)) / (length(step_ends) - 1) / 1000
  end

{eval_us, results} =
  :timer.tc(fn ->
    model
    |> Axon.Loop.evaluator()
    |> Axon.Loop.metric(:accuracy)
    |> Axon.Loop.run(test_data, params)
  end)

IO.puts("")
accuracy = results[0]["accuracy"] |> Nx.to_number()
eval_samples = min(eval_batches * eval_batch_size, n_test)

steps =
  " first_step_s=#{Float.round(first_s, 2)}" <>
    if(step_ms, do: " step_ms=#{Float.round(step_ms, 1)}", else: "")

extrapolated =
  if batches < total_batches and step_ms do
    epoch_s = first_s + step_ms * (total_batches - 1) / 1000

    " EXTRAPOLATED epoch_s=#{Float.round(epoch_s, 1)} samples_per_s=#{Float.round(total_batches * batch_size / epoch_s, 1)}" <>
      " (first_step_s + #{total_batches - 1} * step_ms, from #{batches} of #{total_batches} batches)"
  else
    ""
  end

fallbacks =
  if backend == Myelin.Backend do
    " fallbacks=#{inspect(Myelin.Backend.fallback_counts())}"
  else
    ""
  end

IO.puts(
  "RESULT backend=#{inspect(backend)} compiler=Nx.Defn.Evaluator batches=#{batches} samples=#{samples} " <>
    "train_s=#{Float.round(train_s, 2)} samples_per_s=#{Float.round(samples_per_s, 1)}" <>
    steps <>
    extrapolated <>
    " test_accuracy=#{Float.round(accuracy, 4)} (#{eval_samples} test images, " <>
    "eval_s=#{Float.round(eval_us / 1.0e6, 2)})" <> fallbacks
)
