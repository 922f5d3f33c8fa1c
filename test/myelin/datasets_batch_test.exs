defmodule Myelin.DatasetsBatchTest do
  # one_hot/3, batch/3 and split/3 (the readers are in datasets_test.exs).
  use ExUnit.Case, async: true

  alias Myelin.Datasets
  alias Myelin.Tensor, as: T

  # x row i holds [i, -i], y holds i: gathered rows say which examples they are.
  defp data(n) do
    ids = T.iota({n})
    {T.stack([ids, T.negate(ids)], axis: 1), ids}
  end

  defp ys(stream), do: Enum.map(stream, fn {_, y} -> T.to_list(y) end)

  describe "one_hot/3" do
    test "encodes tensors and lists of any integer type and rank" do
      assert T.to_list(Datasets.one_hot(T.tensor([0, 2], type: :u8), 3)) ==
               [[1.0, 0.0, 0.0], [0.0, 0.0, 1.0]]

      t = Datasets.one_hot([[1], [0]], 2, type: {:s, 32})
      assert {T.shape(t), T.type(t), T.to_list(t)} == {{2, 1, 2}, {:s, 32}, [[[0, 1]], [[1, 0]]]}
      assert T.shape(Datasets.one_hot(T.tensor([], type: :s64), 4)) == {0, 4}
      assert T.to_list(Datasets.one_hot(T.tensor(1), 2)) == [0.0, 1.0]
    end

    test "bad arguments raise ArgumentError" do
      cases = [
        {[T.tensor([0, 3]), 3], "one_hot: expected labels in 0..2, got labels from 0 to 3"},
        {[[-1, 1], 3], "one_hot: expected labels in 0..2, got labels from -1 to 1"},
        {[T.tensor([1.0]), 3],
         "one_hot: expected labels of an integer type, got a tensor of {:f, 32}"},
        {[[1, 2.0], 3],
         "one_hot: expected labels to be a tensor or a list of integers, got [1, 2.0]"},
        {[:labels, 3],
         "one_hot: expected labels to be a tensor or a list of integers, got :labels"},
        {[[1], 0], "one_hot: expected num_classes to be a positive integer, got 0"},
        {[[1], 2.0], "one_hot: expected num_classes to be a positive integer, got 2.0"},
        {[[1], 2, [typ: :u8]], "one_hot: unknown option :typ, expected one of [:type]"}
      ]

      for {args, message} <- cases do
        assert_raise ArgumentError, message, fn -> apply(Datasets, :one_hot, args) end
      end

      assert_raise ArgumentError, ~r/^one_hot: unknown type :u7/, fn ->
        Datasets.one_hot([1], 2, type: :u7)
      end
    end
  end

  describe "batch/3" do
    test "yields batches in order along axis 0, the last one smaller" do
      {x, y} = data(7)
      batches = Datasets.batch(x, y, batch_size: 3) |> Enum.to_list()
      assert Enum.map(batches, fn {xb, _} -> T.shape(xb) end) == [{3, 2}, {3, 2}, {1, 2}]
      assert ys(batches) == [[0, 1, 2], [3, 4, 5], [6]]
      assert T.to_list(elem(hd(batches), 0)) == [[0, 0], [1, -1], [2, -2]]
    end

    test "drop_remainder: true drops the short last batch" do
      {x, y} = data(7)

      assert ys(Datasets.batch(x, y, batch_size: 3, drop_remainder: true)) == [
               [0, 1, 2],
               [3, 4, 5]
             ]

      assert ys(Datasets.batch(x, y, batch_size: 7, drop_remainder: true)) == [Enum.to_list(0..6)]
      assert Enum.to_list(Datasets.batch(x, y, batch_size: 8, drop_remainder: true)) == []
      assert ys(Datasets.batch(x, y, batch_size: 8)) == [Enum.to_list(0..6)]
    end

    test "y may be nil, and x and y may have any rank" do
      x = T.iota({4, 2, 3})
      [{xb, nil}, {_, nil}] = Enum.to_list(Datasets.batch(x, nil, batch_size: 2))
      assert T.shape(xb) == {2, 2, 3}
      [{_, yb} | _] = Enum.to_list(Datasets.batch(T.iota({4}), T.iota({4, 10}), batch_size: 3))
      assert T.shape(yb) == {3, 10}
      assert Enum.to_list(Datasets.batch(T.iota({0, 3}), T.iota({0}), batch_size: 2)) == []
    end

    test "is a lazy stream: batches are gathered as they are consumed" do
      {x, y} = data(1000)
      stream = Datasets.batch(x, y, batch_size: 10, shuffle: true)
      refute is_list(stream)
      assert [{xb, _}] = Enum.take(stream, 1)
      assert T.shape(xb) == {10, 2}
    end

    test "shuffle visits every example once and keeps x and y together" do
      {x, y} = data(103)
      batches = Datasets.batch(x, y, batch_size: 10, shuffle: true, seed: 5) |> Enum.to_list()
      order = batches |> ys() |> List.flatten()
      assert Enum.sort(order) == Enum.to_list(0..102)
      refute order == Enum.to_list(0..102)

      for {xb, yb} <- batches do
        ids = T.to_list(yb)
        assert T.to_list(xb) == Enum.map(ids, &[&1, -&1])
      end
    end

    test "the order depends only on seed and epoch, and is the same on every machine" do
      {x, y} = data(20)
      order = fn opts -> Datasets.batch(x, y, [batch_size: 20, shuffle: true] ++ opts) |> ys() end

      assert order.(seed: 1) == order.(seed: 1)
      assert order.(seed: 1) == order.(seed: 1, epoch: 0)
      refute order.(seed: 1) == order.(seed: 2)
      refute order.(seed: 1, epoch: 1) == order.(seed: 1)
      refute order.(seed: 1, epoch: 1) == order.(seed: 1, epoch: 2)
      assert order.(seed: 1, epoch: 3) == order.(seed: 1, epoch: 3)

      # Pinned: the engine's random numbers are counter-based and the seed
      # mixing is integer arithmetic, so these orders must never change.
      {x, y} = data(10)

      pinned = fn opts ->
        Datasets.batch(x, y, [batch_size: 10, shuffle: true] ++ opts) |> ys()
      end

      assert pinned.([]) == [[2, 4, 6, 8, 5, 1, 7, 0, 9, 3]]
      assert pinned.(seed: 42, epoch: 7) == [[1, 2, 5, 4, 7, 8, 6, 3, 9, 0]]
    end

    test "consecutive epochs are not shifted copies of one another" do
      # Had the epoch been added to the seed, the engine's stream for epoch 1
      # would be epoch 0's shifted by one element, and example i+1 of epoch 0
      # would rank like example i of epoch 1 for almost every pair.
      {x, y} = data(60)

      positions = fn epoch ->
        [order] = Datasets.batch(x, y, batch_size: 60, shuffle: true, epoch: epoch) |> ys()
        order |> Enum.with_index() |> Map.new()
      end

      {a, b} = {positions.(0), positions.(1)}
      pairs = for i <- 0..57, j <- (i + 1)..58, do: {i, j}
      agree = Enum.count(pairs, fn {i, j} -> a[i + 1] < a[j + 1] == b[i] < b[j] end)
      assert agree / length(pairs) < 0.7
    end

    test "bad arguments and options raise ArgumentError" do
      {x, y} = data(4)

      cases = [
        {[x, y, []], "batch: the option batch_size: is required"},
        {[x, y, [batch_size: 0]], "batch: expected batch_size: to be a positive integer, got 0"},
        {[x, y, [batch_size: 2.0]],
         "batch: expected batch_size: to be a positive integer, got 2.0"},
        {[x, y, [batch_size: 2, shuffle: 1]],
         "batch: expected shuffle: to be true or false, got 1"},
        {[x, y, [batch_size: 2, seed: -1]],
         "batch: expected seed: to be a non-negative 64-bit integer, got -1"},
        {[x, y, [batch_size: 2, epoch: 1.5]],
         "batch: expected epoch: to be a non-negative 64-bit integer, got 1.5"},
        {[x, y, [batch_size: 2, drop_remainder: :yes]],
         "batch: expected drop_remainder: to be true or false, got :yes"},
        {[x, y, [batch_size: 2, size: 2]],
         "batch: unknown option :size, expected one of [:batch_size, :shuffle, :seed, :epoch, :drop_remainder]"},
        {[x, y, %{batch_size: 2}],
         "batch: expected a keyword list of options, got %{batch_size: 2}"},
        {[[1, 2], nil, [batch_size: 1]],
         "batch: expected x to be a Myelin.Tensor with at least one axis, got [1, 2]"},
        {[T.tensor(1), nil, [batch_size: 1]],
         "batch: expected x to be a Myelin.Tensor with at least one axis, got " <>
           inspect(T.tensor(1))},
        {[x, T.iota({3}), [batch_size: 2]],
         "batch: expected y to have 4 examples on axis 0 like x (shape {4, 2}), got shape {3}"},
        {[x, T.tensor(1), [batch_size: 2]],
         "batch: expected y to have 4 examples on axis 0 like x (shape {4, 2}), got shape {}"},
        {[x, [0, 1, 2, 3], [batch_size: 2]],
         "batch: expected y to be a Myelin.Tensor or nil, got [0, 1, 2, 3]"}
      ]

      for {args, message} <- cases do
        assert_raise ArgumentError, message, fn -> apply(Datasets, :batch, args) end
      end
    end
  end

  describe "split/3" do
    test "shuffles (by default) and holds out round(n * validation) examples" do
      {x, y} = data(50)
      {{xt, yt}, {xv, yv}} = Datasets.split(x, y)
      assert {T.shape(xt), T.shape(xv)} == {{45, 2}, {5, 2}}
      ids = T.to_list(yt) ++ T.to_list(yv)
      assert Enum.sort(ids) == Enum.to_list(0..49)
      refute ids == Enum.to_list(0..49)
      assert T.to_list(xv) == Enum.map(T.to_list(yv), &[&1, -&1])

      {{_, yt3}, {_, yv3}} = Datasets.split(x, y, validation: 0.3, seed: 9)
      assert {T.shape(yt3), T.shape(yv3)} == {{35}, {15}}
    end

    test "is reproducible from the seed" do
      {x, y} = data(30)
      val = fn opts -> Datasets.split(x, y, opts) |> elem(1) |> elem(1) |> T.to_list() end
      assert val.(seed: 3) == val.(seed: 3)
      refute val.(seed: 3) == val.(seed: 4)
    end

    test "shuffle: false keeps the last examples for validation; y may be nil" do
      {x, y} = data(10)
      {{_, yt}, {_, yv}} = Datasets.split(x, y, validation: 0.2, shuffle: false)
      assert {T.to_list(yt), T.to_list(yv)} == {Enum.to_list(0..7), [8, 9]}
      {{xt, nil}, {xv, nil}} = Datasets.split(x, nil, seed: 1)
      assert {T.shape(xt), T.shape(xv)} == {{9, 2}, {1, 2}}
    end

    test "bad arguments and options raise ArgumentError" do
      {x, y} = data(10)

      cases = [
        {[x, y, [validation: 0]],
         "split: expected validation: to be a number strictly between 0 and 1, got 0"},
        {[x, y, [validation: 1.0]],
         "split: expected validation: to be a number strictly between 0 and 1, got 1.0"},
        {[x, y, [validation: "0.1"]],
         "split: expected validation: to be a number strictly between 0 and 1, got \"0.1\""},
        {[x, y, [validation: 0.04]],
         "split: validation: 0.04 of 10 examples leaves an empty validation set"},
        {[x, y, [validation: 0.96]],
         "split: validation: 0.96 of 10 examples leaves an empty training set"},
        {[x, y, [shuffle: nil]], "split: expected shuffle: to be true or false, got nil"},
        {[x, y, [seed: :a]], "split: expected seed: to be a non-negative 64-bit integer, got :a"},
        {[x, y, [fraction: 0.1]],
         "split: unknown option :fraction, expected one of [:validation, :shuffle, :seed]"},
        {[x, T.iota({9}), []],
         "split: expected y to have 10 examples on axis 0 like x (shape {10, 2}), got shape {9}"},
        {[:x, y, []], "split: expected x to be a Myelin.Tensor with at least one axis, got :x"}
      ]

      for {args, message} <- cases do
        assert_raise ArgumentError, message, fn -> apply(Datasets, :split, args) end
      end
    end
  end
end
