defmodule Myelin.ProfilerTest do
  # The profiler is global to the VM: not async, so no other test starts or
  # stops it meanwhile (their graph runs may still add entries).
  use ExUnit.Case, async: false

  alias Myelin.Tensor, as: T

  doctest Myelin.Profiler

  @empty %{runs: 0, steps: []}

  test "a training run's profile names its layers' steps, with one call per step each" do
    model =
      Myelin.input("x", shape: {nil, 6})
      |> Myelin.dense(5, activation: :relu)
      |> Myelin.dense(3, activation: :softmax)

    x = T.iota({40, 6}, type: {:f, 32}) |> T.divide(40.0)
    y = T.remainder(T.iota({40}, type: {:s, 64}), 3)
    loop = Myelin.Loop.trainer(model, :categorical_cross_entropy, Myelin.Optimizers.sgd())

    {_state, profile} =
      Myelin.Profiler.profile(fn ->
        Myelin.Loop.run(loop, {x, y}, %{}, epochs: 1, batch_size: 10, log: 0)
      end)

    # 4 training steps (async: false, so no other test runs graphs meanwhile).
    assert profile.runs >= 4
    steps = Map.new(profile.steps, &{&1.step, &1})
    # 4 batches: the fused bias + relu and the relu gradient once per step;
    # {10, 5} products twice (the first layer, and the gradient into it).
    assert %{calls: 8} = steps["dot [10, 5]"]
    assert %{calls: 4} = steps["fused(add, max) [10, 5]"]
    assert %{calls: 4} = steps["fused(less_equal, select) [10, 5]"]
    # 6 * 5 + 5 + 5 * 3 + 3 learned values.
    assert %{calls: 4} = steps["optimizer sgd [53 values]"]
    assert Enum.all?(profile.steps, &(&1.total_us >= 0))

    refute Enum.any?(
             profile.steps,
             &String.starts_with?(&1.step, ["input", "param", "constant"])
           ),
           "leaves are not timed"

    totals = Enum.map(profile.steps, & &1.total_us)
    assert totals == Enum.sort(totals, :desc)

    table = Myelin.Profiler.format(profile)
    assert table =~ "fused(add, max) [10, 5]"
    assert Myelin.Profiler.stop() == @empty, "profile/1 stopped the profiler"
  end

  test "profile/1 stops the profiler when the function raises, throws or exits" do
    assert_raise RuntimeError, "boom", fn -> Myelin.Profiler.profile(fn -> raise "boom" end) end
    assert Myelin.Profiler.stop() == @empty
    assert catch_throw(Myelin.Profiler.profile(fn -> throw(:up) end)) == :up
    assert Myelin.Profiler.stop() == @empty
    assert catch_exit(Myelin.Profiler.profile(fn -> exit(:gone) end)) == :gone
    assert Myelin.Profiler.stop() == @empty
  end

  test "format/1 of an empty profile is the header" do
    assert Myelin.Profiler.format(@empty) ==
             "0 runs, 0.000 ms per run\n  ms/run  share  calls  step"
  end
end
