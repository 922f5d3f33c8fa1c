defmodule Myelin.LoopTest do
  use ExUnit.Case, async: true

  import ExUnit.CaptureIO

  alias Myelin.Loop
  alias Myelin.Loop.State
  alias Myelin.Tensor

  doctest Myelin.Loop
  doctest Myelin.Loop.State
  doctest Myelin.Loop.Callbacks

  # A loop whose step state counts the steps.
  defp counter, do: Loop.loop(fn _batch, n -> n + 1 end, fn _, _ -> 0 end)

  # Attaches a handler that sends {tag, event, epoch, iteration} to the test process.
  defp record(loop, events, tag \\ :event, filter \\ :always) do
    parent = self()

    Enum.reduce(events, loop, fn event, loop ->
      Loop.handle_event(
        loop,
        event,
        fn s ->
          send(parent, {tag, event, s.epoch, s.iteration})
          {:continue, s}
        end,
        filter
      )
    end)
  end

  # A handler sending fun.(state) to the test process.
  defp notify(fun) do
    parent = self()

    fn state ->
      send(parent, fun.(state))
      {:continue, state}
    end
  end

  defp received(tag \\ :event) do
    receive do
      {^tag, event, epoch, iteration} -> [{event, epoch, iteration} | received(tag)]
    after
      0 -> []
    end
  end

  defp run(loop, data, init \\ nil, opts \\ []),
    do: Loop.run(loop, data, init, Keyword.put_new(opts, :log, 0))

  describe "events" do
    test "fire in order for 2 epochs of 3 steps" do
      state = counter() |> record(Myelin.Loop.Events.events()) |> run([1, 2, 3], nil, epochs: 2)

      per_epoch = fn e ->
        [{:epoch_started, e, 0}] ++
          Enum.flat_map(1..3, &[{:iteration_started, e, &1 - 1}, {:iteration_completed, e, &1}]) ++
          [{:epoch_completed, e, 3}]
      end

      assert received() ==
               [{:started, 0, 0}] ++ per_epoch.(0) ++ per_epoch.(1) ++ [{:completed, 1, 3}]

      assert %State{epoch: 1, max_epoch: 2, iteration: 3, iteration_total: 6, status: :completed} =
               state

      assert state.step_state == 6
      assert state.event_counts.iteration_completed == 6
      assert Map.keys(state.times) == [0, 1] and Enum.all?(Map.values(state.times), &(&1 >= 0))
    end

    test "handlers of one event run in the order attached" do
      loop =
        counter()
        |> Loop.handle_event(:started, fn s ->
          {:continue, %{s | handler_metadata: %{"a" => 1}}}
        end)
        |> Loop.handle_event(:started, fn s ->
          {:continue,
           %{s | handler_metadata: Map.put(s.handler_metadata, "b", s.handler_metadata["a"] + 1)}}
        end)

      assert run(loop, [1]).handler_metadata == %{"a" => 1, "b" => 2}
    end

    test "filters count the firings of their event" do
      fired = fn filter ->
        counter()
        |> record([:iteration_completed], :event, filter)
        |> run(Enum.to_list(1..10))

        Enum.map(received(), fn {_, _, i} -> i end)
      end

      assert fired.(:always) == Enum.to_list(1..10)
      assert fired.(every: 3) == [3, 6, 9]
      assert fired.(once: 4) == [4]
      assert fired.(first: 2) == [1, 2]
      assert fired.(before: 3) == [1, 2]
      assert fired.(after: 8) == [9, 10]
      assert fired.(fn s -> rem(s.step_state, 5) == 0 end) == [5, 10]
    end

    test "filters count across epochs" do
      counter()
      |> record([:iteration_completed], :event, every: 2)
      |> run([1, 2, 3], nil, epochs: 2)

      assert received() == [
               {:iteration_completed, 0, 2},
               {:iteration_completed, 1, 1},
               {:iteration_completed, 1, 3}
             ]
    end

    test ":halt_epoch from :iteration_completed ends the epoch, fires :epoch_halted then :epoch_completed" do
      state =
        counter()
        |> Loop.handle_event(:iteration_completed, &{:halt_epoch, &1}, every: 2)
        |> record([:epoch_halted, :epoch_completed, :completed])
        |> run([1, 2, 3], nil, epochs: 2)

      assert received() == [
               {:epoch_halted, 0, 2},
               {:epoch_completed, 0, 2},
               {:epoch_halted, 1, 2},
               {:epoch_completed, 1, 2},
               {:completed, 1, 2}
             ]

      assert state.step_state == 4 and state.status == :completed
    end

    test ":halt_epoch from :iteration_started skips that step" do
      state =
        counter()
        |> Loop.handle_event(:iteration_started, &{:halt_epoch, &1}, once: 2)
        |> run([1, 2, 3], nil, epochs: 2)

      # Epoch 0 stops before its 2nd step; epoch 1 runs all 3.
      assert state.step_state == 4
    end

    test ":halt_loop stops at once: no :epoch_completed, :halted instead of :completed" do
      state =
        counter()
        |> Loop.handle_event(:iteration_completed, &{:halt_loop, &1}, once: 2)
        |> Loop.handle_event(:iteration_completed, fn _ -> flunk("runs after a halt") end, once: 2)
        |> record([:epoch_halted, :epoch_completed, :halted, :completed])
        |> run([1, 2, 3], nil, epochs: 3)

      assert received() == [{:halted, 0, 2}]
      assert %State{status: :halt_loop, step_state: 2, epoch: 0} = state
    end

    test ":halt_loop from :started or :epoch_completed" do
      assert %State{step_state: 0, status: :halt_loop} =
               counter() |> Loop.handle_event(:started, &{:halt_loop, &1}) |> run([1, 2])

      assert %State{step_state: 2, epoch: 0, status: :halt_loop} =
               counter()
               |> Loop.handle_event(:epoch_completed, &{:halt_loop, &1})
               |> run([1, 2], nil, epochs: 5)
    end
  end

  describe "metrics" do
    defp pairs_loop, do: Loop.loop(fn {y, p}, _ -> %{y_true: y, y_pred: p} end)

    test "running average, running sum and a custom accumulator, reset every epoch" do
      loop =
        pairs_loop()
        |> Loop.metric(fn y, p -> abs(y - p) end, "mae")
        |> Loop.metric(fn y, p -> abs(y - p) end, :sum, :running_sum)
        |> Loop.metric(fn _y, p -> p end, "max", fn acc, v, n ->
          if n == 0, do: v, else: max(acc, v)
        end)

      loop = Loop.handle_event(loop, :epoch_completed, notify(& &1.metrics))
      run(loop, [{1, 2}, {0, 4}, {3, 3}], nil, epochs: 2)

      for metrics <- messages() do
        assert %{"mae" => mae, "sum" => 5, "max" => 4} = metrics
        assert_in_delta mae, 5 / 3, 1.0e-12
      end
    end

    test "the running average after each step" do
      pairs_loop()
      |> Loop.metric(fn _y, p -> p end, "p")
      |> Loop.handle_event(:iteration_completed, notify(& &1.metrics["p"]))
      |> run([{0, 1}, {0, 2}, {0, 6}])

      assert_received 1.0
      assert_received 1.5
      assert_received 3.0
    end

    test "loss from the step state, and scalar tensors become numbers" do
      loop =
        Loop.loop(fn x, _ -> %{loss: Tensor.tensor(x * 1.0), y_true: x, y_pred: x} end)
        |> Loop.metric(fn _, p -> Tensor.tensor([[p]]) end, :last, fn _acc, v, _n -> v end)

      assert run(loop, [1, 2, 3]).metrics == %{"loss" => 2.0, "last" => 3}
    end

    test "a transform picks y_true and y_pred; a metric named loss replaces the step's loss" do
      loop =
        Loop.loop(fn x, _ -> %{loss: 100, pair: {x, 2 * x}} end)
        |> Loop.metric(fn y, p -> p - y end, "loss", :running_sum, & &1.pair)

      assert run(loop, [1, 2]).metrics == %{"loss" => 3}
    end

    test "non-finite values stick" do
      loop = Loop.loop(fn x, _ -> %{loss: x} end)
      assert run(loop, [1.0, :nan, 2.0]).metrics == %{"loss" => :nan}
    end

    test "bad metrics raise" do
      assert_raise ArgumentError, ~r/metric: a function metric needs a name/, fn ->
        Loop.metric(counter(), fn a, b -> a + b end)
      end

      assert_raise ArgumentError, ~r/:no_such_metric is not a function of Myelin.Metrics/, fn ->
        Loop.metric(counter(), :no_such_metric)
      end

      assert_raise ArgumentError, ~r/expected an atom naming a Myelin.Metrics function/, fn ->
        Loop.metric(counter(), "accuracy")
      end

      assert_raise ArgumentError, ~r/expected accumulate to be :running_average/, fn ->
        Loop.metric(counter(), fn a, _ -> a end, "m", :mean)
      end

      assert_raise ArgumentError, ~r/expected the transform to be a function/, fn ->
        Loop.metric(counter(), fn a, _ -> a end, "m", :running_sum, :pair)
      end

      assert_raise ArgumentError, ~r/expected the name to be a string or an atom, got 3/, fn ->
        Loop.metric(counter(), fn a, _ -> a end, 3)
      end

      assert_raise ArgumentError, ~r/already has a metric named "m"/, fn ->
        counter() |> Loop.metric(fn a, _ -> a end, "m") |> Loop.metric(fn a, _ -> a end, :m)
      end

      assert_raise ArgumentError,
                   ~r/default transform needs a step state with :y_true and :y_pred/,
                   fn ->
                     counter() |> Loop.metric(fn a, _ -> a end, "m") |> run([1])
                   end

      assert_raise ArgumentError,
                   ~r/transform of metric "m" returned :oops, expected \{y_true, y_pred\}/,
                   fn ->
                     counter()
                     |> Loop.metric(fn a, _ -> a end, "m", :running_sum, fn _ -> :oops end)
                     |> run([1])
                   end

      assert_raise ArgumentError, ~r/metric "m" produced "x", expected a number/, fn ->
        pairs_loop() |> Loop.metric(fn _, _ -> "x" end, "m") |> run([{1, 1}])
      end

      assert_raise ArgumentError,
                   ~r/metric "loss" produced #Myelin.Tensor<.*expected a number or a scalar/s,
                   fn ->
                     Loop.loop(fn _, _ -> %{loss: Tensor.tensor([1.0, 2.0])} end) |> run([1])
                   end
    end
  end

  describe "run" do
    test "data: a list, a stream, a 0-arity function; iterations caps each epoch" do
      sum = Loop.loop(fn x, s -> s + x end, &Loop.default_init/2, & &1.step_state)
      assert Loop.run(sum, [1, 2, 3], 0, log: 0) == 6
      assert Loop.run(sum, Stream.map([1, 2, 3], &(&1 * 10)), 0, log: 0, epochs: 2) == 120
      assert Loop.run(sum, fn -> [5] end, 0, log: 0, epochs: 3) == 15
      assert Loop.run(sum, Stream.iterate(1, &(&1 + 1)), 0, log: 0, iterations: 4) == 10
    end

    test "init gets the first batch (nil for empty data) and the init state" do
      loop = Loop.loop(fn _, s -> s end, fn first, init -> {first, init} end, & &1.step_state)
      assert Loop.run(loop, [:a, :b], :init, log: 0) == {:a, :init}
      assert Loop.run(loop, [], :init, log: 0) == {nil, :init}
    end

    test "the default output is the step state's :model_state" do
      loop = Loop.loop(fn x, s -> %{s | model_state: s.model_state + x} end)
      assert Loop.run(loop, [1, 2], %{model_state: 0}, log: 0) == 3
    end

    test "resuming from a state continues at its next epoch" do
      loop = Loop.loop(fn x, s -> s + x end) |> record([:epoch_started])
      first = run(loop, [1, 2], 0, epochs: 2)
      assert received() == [{:epoch_started, 0, 0}, {:epoch_started, 1, 0}]

      resumed = run(loop, [1, 2], :unused, epochs: 2, from_state: first)
      assert received() == [{:epoch_started, 2, 0}, {:epoch_started, 3, 0}]

      assert %State{
               epoch: 3,
               max_epoch: 4,
               iteration_total: 8,
               step_state: 12,
               status: :completed
             } = resumed

      assert Map.keys(resumed.times) == [0, 1, 2, 3]
    end

    test "a step that raises: same exception type, message says where" do
      loop = Loop.loop(fn x, _ -> if x == 3, do: raise(ArgumentError, "bad batch"), else: x end)

      assert_raise ArgumentError,
                   "Myelin.Loop.run: the step function raised at epoch 1, iteration 2: bad batch",
                   fn -> run(loop, [1, 2, 3], nil, epochs: 2, from_state: %State{epoch: 0}) end

      assert_raise KeyError,
                   ~r/the step function raised at epoch 0, iteration 0: key :w not found/,
                   fn ->
                     Loop.loop(fn _, s -> Map.fetch!(s, :w) end) |> run([1], %{})
                   end

      assert_raise RuntimeError, ~r/the init function raised: no init/, fn ->
        Loop.loop(fn _, s -> s end, fn _, _ -> raise "no init" end) |> run([1])
      end

      assert catch_throw(Loop.loop(fn _, _ -> throw(:stop) end) |> run([1])) == :stop
    end

    test "bad arguments raise, naming the function" do
      assert_raise ArgumentError,
                   ~r/Myelin.Loop.run: unknown option :epoch, expected one of/,
                   fn ->
                     run(counter(), [1], nil, epoch: 2)
                   end

      for {opt, msg} <- [
            {[epochs: 0], ~r/expected epochs: to be a positive integer, got 0/},
            {[iterations: -1], ~r/expected iterations: to be a positive integer or :infinity/},
            {[log: -1], ~r/expected log: to be a non-negative integer, got -1/},
            {[from_state: %{}], ~r/expected from_state: to be a %Myelin.Loop.State\{\}/}
          ] do
        assert_raise ArgumentError, msg, fn -> run(counter(), [1], nil, opt) end
      end

      assert_raise ArgumentError,
                   ~r/Myelin.Loop.run: expected data to be an Enumerable.*got 42/,
                   fn ->
                     run(counter(), 42)
                   end

      assert_raise ArgumentError, ~r/the data function returned :nope/, fn ->
        run(counter(), fn -> :nope end)
      end

      assert_raise ArgumentError, ~r/Myelin.Loop.run: expected a %Myelin.Loop\{\}, got :x/, fn ->
        Loop.run(:x, [])
      end

      assert_raise ArgumentError, ~r/Myelin.Loop.loop: expected a step function of arity 2/, fn ->
        Loop.loop(& &1)
      end

      assert_raise ArgumentError,
                   ~r/handle_event: unknown event :epoch_ended, expected one of/,
                   fn ->
                     Loop.handle_event(counter(), :epoch_ended, &{:continue, &1})
                   end

      assert_raise ArgumentError,
                   ~r/handle_event: expected a handler function of the state/,
                   fn ->
                     Loop.handle_event(counter(), :started, fn -> :ok end)
                   end

      for filter <- [
            [every: 0],
            [once: :x],
            [before: -1],
            [sometimes: 2],
            :never,
            [every: 2, once: 1]
          ] do
        assert_raise ArgumentError, ~r/Myelin.Loop.handle_event: .*filter/, fn ->
          Loop.handle_event(counter(), :started, &{:continue, &1}, filter)
        end
      end

      assert_raise ArgumentError,
                   ~r/a handler of :epoch_started returned :ok, expected \{:continue, state\}/,
                   fn ->
                     counter() |> Loop.handle_event(:epoch_started, fn _ -> :ok end) |> run([1])
                   end

      assert_raise ArgumentError,
                   ~r/Myelin.Loop.from_state: expected a %Myelin.Loop.State\{\}/,
                   fn ->
                     Loop.from_state(counter(), %{})
                   end

      assert_raise ArgumentError, ~r/Myelin.Loop.cancel: expected a Task/, fn ->
        Loop.cancel(self())
      end

      assert_raise ArgumentError, ~r/child_spec: expected \[loop, data, init_state, opts\]/, fn ->
        Loop.child_spec(:x)
      end
    end

    if Code.ensure_loaded?(Myelin.Datasets) do
      test "{x, y} tensor data is batched by Myelin.Datasets.batch" do
        x = Tensor.iota({10, 2})
        y = Tensor.iota({10})
        loop = Loop.loop(fn {xb, _yb}, n -> n + elem(Tensor.shape(xb), 0) end, fn _, _ -> 0 end)

        log =
          capture_io(:stderr, fn ->
            assert %State{step_state: 20, iteration: 3} =
                     Loop.run(loop, {x, y}, nil, epochs: 2, batch_size: 4, log: 1)
          end)

        assert log =~ "step 3/3"
      end
    end
  end

  describe "progress log" do
    defp tensor_batches(n), do: for(i <- 1..n, do: {Tensor.iota({8, 3}), Tensor.tensor(i)})

    test "shows the epoch, step of total, loss, metrics, samples/s; a newline ends each epoch" do
      loop =
        Loop.loop(fn {x, y}, _ -> %{loss: Tensor.to_number(y) / 10, y_true: x, y_pred: x} end)
        |> Loop.metric(fn _, _ -> 0.5 end, "acc")

      log =
        capture_io(:stderr, fn -> Loop.run(loop, tensor_batches(4), nil, epochs: 2, log: 2) end)

      lines = String.split(log, "\n", trim: true)
      assert length(lines) == 2
      [first, second] = lines
      # Refreshed at steps 2 and 4, then once more at epoch end.
      assert length(String.split(first, "\r", trim: true)) == 3
      assert first =~ "Epoch 1/2"
      assert second =~ "Epoch 2/2"
      assert first =~ "step 2/4"
      assert first =~ "step 4/4"
      assert first =~ "loss: 0.1500"
      assert first =~ "acc: 0.5000"
      assert first =~ ~r/[\d.]+ samples\/s/
      assert first =~ ~r/ETA [\d.]+s/
    end

    test "without a cheap count only the step shows; log: 0 is silent" do
      loop = Loop.loop(fn _, s -> s end)

      log =
        capture_io(:stderr, fn ->
          Loop.run(loop, Stream.map(tensor_batches(2), & &1), nil, log: 1)
        end)

      assert log =~ "step 2 "
      refute log =~ "ETA"
      assert capture_io(:stderr, fn -> Loop.run(loop, tensor_batches(2), nil, log: 0) end) == ""
    end

    test "number formatting" do
      assert Myelin.Loop.Progress.format(0.123456) == "0.1235"
      assert Myelin.Loop.Progress.format(0.0) == "0.0000"
      assert Myelin.Loop.Progress.format(1.5e-6) == "1.500e-6"
      assert Myelin.Loop.Progress.format(3) == "3"
      assert Myelin.Loop.Progress.format(:nan) == "nan"
    end
  end

  describe "validate" do
    test "stores the evaluation's metrics with a validation_ prefix at every epoch end" do
      loop =
        Loop.loop(fn x, s -> s + x end)
        |> Loop.validate(fn s, data -> %{loss: Tensor.tensor(s * 1.0), size: length(data)} end, [
          :a,
          :b
        ])
        |> Loop.handle_event(:epoch_completed, notify(& &1.metrics))

      run(loop, [1, 2], 0, epochs: 2)
      assert_received %{"validation_loss" => 3.0, "validation_size" => 2}
      assert_received %{"validation_loss" => 6.0, "validation_size" => 2}
    end

    test "bad evaluations raise" do
      assert_raise ArgumentError,
                   ~r/validate: the evaluation returned \[1\], expected a map/,
                   fn ->
                     counter() |> Loop.validate(fn _, _ -> [1] end, []) |> run([1])
                   end

      assert_raise ArgumentError,
                   ~r/validate: expected a function of \(step_state, validation_data\)/,
                   fn ->
                     Loop.validate(counter(), fn _ -> %{} end, [])
                   end

      assert_raise ArgumentError,
                   ~r/validate: validating a model needs a step state with :model_state/,
                   fn ->
                     counter() |> Loop.validate(:a_model, []) |> run([1])
                   end

      assert_raise ArgumentError, ~r/validate: unknown option :epochs/, fn ->
        Loop.validate(counter(), fn _, _ -> %{} end, [], epochs: 2)
      end

      assert_raise ArgumentError, ~r/Myelin.Loop.validate: expected a %Myelin.Loop\{\}/, fn ->
        Loop.validate(nil, fn _, _ -> %{} end, [])
      end
    end
  end

  # A loop whose metric "val" takes the value values[epoch] at each epoch.
  defp scripted(values) do
    Loop.loop(fn _, s -> %{s | epoch: s.epoch + 1} end, fn _, _ -> %{epoch: 0, lr_scale: 1.0} end)
    |> Loop.metric(
      fn _, v -> v end,
      "val",
      :running_average,
      &{nil, Enum.at(values, &1.epoch - 1)}
    )
  end

  describe "early_stop" do
    test "halts after patience epochs without improvement" do
      state =
        [3, 2, 2.5, 2.1, 2.2, 1]
        |> scripted()
        |> Loop.early_stop(:val, patience: 3)
        |> run([1], nil, epochs: 6)

      assert %State{status: :halt_loop, epoch: 4} = state
      assert state.handler_metadata["early_stop:val"] == %{"best" => 2, "wait" => 3}

      assert %State{status: :completed} =
               [3, 2, 2.5, 2.1, 2.2, 1]
               |> scripted()
               |> Loop.early_stop("val", patience: 4)
               |> run([1], nil, epochs: 6)
    end

    test "mode :max, min_delta, patience 0, and NaN counts as no improvement" do
      halted_at = fn values, opts ->
        state =
          values
          |> scripted()
          |> Loop.early_stop("val", opts)
          |> run([1], nil, epochs: length(values))

        if state.status == :halt_loop, do: state.epoch, else: :never
      end

      assert halted_at.([1, 2, 1, 1, 3], mode: :max, patience: 2) == 3
      assert halted_at.([1, 2, 3, 4, 5], mode: :max, patience: 0) == :never
      # 2 and 2.9 are within min_delta of the best before them.
      assert halted_at.([1, 2, 2.5, 2.9, 3.5], mode: :max, patience: 2, min_delta: 1) == 4
      assert halted_at.([1, :nan, :nan, 0.5], patience: 2) == 2
    end

    test "bad options and a missing metric raise" do
      assert_raise ArgumentError,
                   ~r/early_stop: the monitored metric "nope" is not among the loop's metrics \["val"\]/,
                   fn ->
                     [1] |> scripted() |> Loop.early_stop("nope") |> run([1])
                   end

      for {opts, msg} <- [
            {[patience: -1], ~r/expected patience: to be an integer >= 0/},
            {[mode: :up], ~r/expected mode: to be :min or :max, got :up/},
            {[min_delta: -0.1], ~r/expected min_delta: to be a non-negative number/},
            {[wait: 2], ~r/early_stop: unknown option :wait/}
          ] do
        assert_raise ArgumentError, msg, fn -> Loop.early_stop(counter(), "val", opts) end
      end

      assert_raise ArgumentError,
                   ~r/expected the monitored metric's name as a string or atom, got 1/,
                   fn ->
                     Loop.early_stop(counter(), 1)
                   end
    end
  end

  describe "checkpoint" do
    setup do
      dir = Path.join(System.tmp_dir!(), "myelin_loop_test_#{System.unique_integer([:positive])}")
      on_exit(fn -> File.rm_rf!(dir) end)
      %{dir: dir}
    end

    defp save_binary(path, term), do: File.write!(path, :erlang.term_to_binary(term))
    defp load_binary(path), do: path |> File.read!() |> :erlang.binary_to_term()

    test "saves every n epochs into dir, as a map that resumes the run", %{dir: dir} do
      loop =
        Loop.loop(fn x, s -> s + x end)
        |> Loop.checkpoint(dir: dir, every: 2, save: &save_binary/2)

      run(loop, [1, 2], 0, epochs: 5)

      assert File.ls!(dir) |> Enum.sort() == ["epoch_2.ckpt", "epoch_4.ckpt"]
      saved = load_binary(Path.join(dir, "epoch_2.ckpt"))
      assert %{epoch: 1, step_state: 6, iteration_total: 4} = saved
      refute Map.has_key?(saved, :__struct__)

      resumed = run(loop, [1, 2], 0, epochs: 1, from_state: State.from_map(saved))
      assert %State{epoch: 2, step_state: 9, iteration_total: 6} = resumed
    end

    test "keep_best saves only improvements; path can be a file or a function", %{dir: dir} do
      path = Path.join(dir, "best.ckpt")
      parent = self()
      save = fn p, map -> send(parent, {:saved, p, map.metrics["val"]}) && save_binary(p, map) end

      [3, 2, 2.5, 1, 1]
      |> scripted()
      |> Loop.checkpoint(path: path, keep_best: "val", save: save)
      |> run([1], nil, epochs: 5)

      assert Enum.map(messages(), &elem(&1, 2)) == [3, 2, 1]

      assert %{
               metrics: %{"val" => 1.0},
               handler_metadata: %{"checkpoint:val" => %{"best" => 1.0}}
             } = load_binary(path)

      [1, 2, 3]
      |> scripted()
      |> Loop.checkpoint(
        path: &Path.join(dir, "e#{&1.epoch}"),
        keep_best: :val,
        mode: :max,
        save: save
      )
      |> run([1], nil, epochs: 3)

      assert Enum.map(messages(), &elem(&1, 1)) == Enum.map(0..2, &Path.join(dir, "e#{&1}"))
    end

    test "bad options raise" do
      for {opts, msg} <- [
            {[path: "a", dir: "b"], ~r/expected path: or dir:, not both/},
            {[path: 1], ~r/expected path: to be a string or a function of the state/},
            {[dir: :here], ~r/expected dir: to be a string, got :here/},
            {[every: 0], ~r/expected every: to be an integer >= 1, got 0/},
            {[save: fn _ -> :ok end], ~r/expected save: to be a function \(path, term\)/},
            {[keep_best: "val", mode: :best], ~r/expected mode: to be :min or :max/},
            {[keep: 1], ~r/checkpoint: unknown option :keep/}
          ] do
        assert_raise ArgumentError, msg, fn -> Loop.checkpoint(counter(), opts) end
      end
    end
  end

  defp messages do
    receive do
      msg -> [msg | messages()]
    after
      0 -> []
    end
  end

  describe "reduce_lr_on_plateau" do
    test "scales :lr_scale by factor after patience epochs without improvement, down to min_lr" do
      loop =
        [5, 4, 4, 4, 4, 4, 4]
        |> scripted()
        |> Loop.reduce_lr_on_plateau("val", factor: 0.5, patience: 2, min_lr: 0.3)

      loop = Loop.handle_event(loop, :epoch_completed, notify(& &1.step_state.lr_scale))
      run(loop, [1], nil, epochs: 7)
      assert messages() == [1.0, 1.0, 1.0, 0.5, 0.5, 0.3, 0.3]
    end

    test "bad options and step states raise" do
      for {opts, msg} <- [
            {[factor: 1.5], ~r/expected factor: to be a number between 0 and 1, got 1.5/},
            {[min_lr: -1], ~r/expected min_lr: to be a non-negative number/},
            {[cooldown: 1], ~r/reduce_lr_on_plateau: unknown option :cooldown/}
          ] do
        assert_raise ArgumentError, msg, fn ->
          Loop.reduce_lr_on_plateau(counter(), "val", opts)
        end
      end

      loop =
        Loop.loop(fn _, _ -> 7 end)
        |> Loop.metric(fn _, _ -> 1 end, "val", :running_average, fn _ -> {0, 0} end)

      assert_raise ArgumentError,
                   ~r/reduce_lr_on_plateau: needs a map step state to hold :lr_scale, got 7/,
                   fn ->
                     loop
                     |> Loop.reduce_lr_on_plateau("val", patience: 0)
                     |> run([1], nil, epochs: 2)
                   end
    end
  end

  describe "State" do
    test "from_map accepts string keys and rejects incomplete maps" do
      map =
        %State{epoch: 2, times: %{0 => 1.0}}
        |> State.to_map()
        |> Map.new(fn {k, v} -> {Atom.to_string(k), v} end)

      assert %State{epoch: 2, times: %{0 => 1.0}} = State.from_map(%{map | "times" => [[0, 1.0]]})

      assert_raise ArgumentError, ~r/from_map: the map has no :epoch key/, fn ->
        State.from_map(%{})
      end

      assert_raise ArgumentError, ~r/from_map: expected a map made by/, fn ->
        State.from_map(:x)
      end

      assert_raise ArgumentError, ~r/to_map: expected a %Myelin.Loop.State\{\}/, fn ->
        State.to_map(%{})
      end
    end
  end

  describe "tasks" do
    # A loop that reports each step to the test process, forever.
    defp endless do
      parent = self()

      loop =
        Loop.loop(fn _, n -> send(parent, {:step, n}) && Process.sleep(5) && n + 1 end, fn _, _ ->
          0
        end)

      {loop, Stream.cycle([:batch])}
    end

    test "run_async returns a task; cancel stops it" do
      {loop, data} = endless()
      task = Loop.run_async(loop, data, nil, log: 0)
      assert_receive {:step, 2}, 1000
      assert Loop.cancel(task) == nil
      refute Process.alive?(task.pid)
      _ = messages()
      refute_receive {:step, _}, 50
    end

    test "a run stops when its caller dies" do
      {loop, data} = endless()
      parent = self()

      caller =
        spawn(fn ->
          task = Loop.run_async(loop, data, nil, log: 0)
          send(parent, {:task, task.pid})
          Process.sleep(:infinity)
        end)

      assert_receive {:task, pid}, 1000
      ref = Process.monitor(pid)
      assert_receive {:step, 1}, 1000
      Process.exit(caller, :kill)
      assert_receive {:DOWN, ^ref, :process, ^pid, _}, 1000
    end

    test "start_link under a supervisor" do
      loop =
        Loop.loop(fn x, s -> s + x end)
        |> Loop.handle_event(:completed, notify(&{:done, &1.step_state}))

      {:ok, sup} =
        Supervisor.start_link([{Loop, [loop, [1, 2, 3], 0, [log: 0]]}], strategy: :one_for_one)

      assert_receive {:done, 6}, 1000
      Supervisor.stop(sup)
    end
  end
end
