defmodule Myelin.TorchReferenceTest do
  @moduledoc """
  Activations, losses (values and gradients) and optimizers (three training
  steps of a small dense model) against PyTorch. The reference values are in
  test/fixtures/train_reference.txt, written by train_reference.py beside it
  (its docstring gives the format and how to regenerate it); CI only reads it.
  """
  use ExUnit.Case, async: true

  alias Myelin.{Activations, Graph, Losses}
  alias Myelin.Tensor, as: T

  # Tolerances {rtol, atol}: |got - expected| <= atol + rtol * |expected|, per element.
  #
  # f64: Myelin differentiates its own composition of ops (gelu via erf, softplus via
  # log1p(e^-|x|), ...) while torch uses closed-form derivatives, so results agree to a
  # few ulps, not bit for bit; atol covers values that are the cancellation of two
  # numbers near 1 (gelu(-8) = -8 * (1 + erf(-5.66)) is ~5e-15 with ~10% relative error
  # in both).
  # f32: the same with f32's ulp (6e-8) and a few ops in the chain, against the
  # correctly rounded answer (torch in f64 on the f32 inputs). atol: a gradient can be
  # the difference of terms as large as the weights (|w| <= 2.1; softmax's is
  # s * w - s * sum(s * w)), so its absolute error is a few ulps of 2 (2.4e-7 each).
  @tol %{
    {"activation", "f64"} => {1.0e-12, 1.0e-14},
    {"activation", "f32"} => {2.0e-6, 5.0e-7},
    {"loss", "f64"} => {1.0e-12, 1.0e-14},
    {"loss", "f32"} => {2.0e-6, 5.0e-7},
    # Weights after three f32 training steps (forward, backward, update) against torch's
    # identical f32 run: the two round differently along ~20 ops a step (measured: at
    # most a fifth of this tolerance). Weights are ~0.1-1 and each step moves them by
    # 1e-3 to 1e-1, so a wrong rule (bias correction, decay, momentum) is far outside it.
    {"optim", "f32"} => {1.0e-5, 1.0e-6},
    # Sums of a few dozen f64 products, ordered differently from torch's.
    {"layer", "f64"} => {1.0e-12, 1.0e-13}
  }

  @fixture Path.expand("../fixtures/train_reference.txt", __DIR__)
  @external_resource @fixture
  @lines @fixture |> File.read!() |> String.split("\n", trim: true)
  @train_data Enum.find(@lines, &String.starts_with?(&1, "data train "))

  for line <- @lines, not String.starts_with?(line, "data ") do
    [group, name, dtype | fields] = String.split(line, " ")
    title = Enum.join([group, name | Enum.reject(fields, &(&1 =~ "=T:"))] ++ [dtype], " ")

    @tag group: String.to_atom(group)
    test "#{title} matches PyTorch" do
      check(unquote(group), unquote(name), unquote(dtype), parse(unquote(line)))
    end
  end

  defp check("activation", label, dtype, %{opts: opts, t: t}) do
    [name | _inputs] = String.split(label, "/")
    name = String.to_atom(name)
    what = "#{label}(#{inspect(opts)}) #{dtype}"
    tol = @tol[{"activation", dtype}]

    assert_close("#{what} eager", Activations.apply(name, t["x"], opts), t["y"], tol)

    g = Graph.new()
    x = Graph.param(g, t["x"].shape, t["x"].type)
    y = Activations.apply(name, x, opts)
    [dx] = Graph.grad(T.sum(T.multiply(y, t["w"])), [x])
    {exe, _work} = Graph.compile(g, [y, dx])
    [y_got, dx_got] = Graph.run(exe, [], [t["x"]])

    assert_close("#{what} traced", y_got, t["y"], tol)
    assert_close("#{what} gradient", dx_got, t["dx"], tol)
  end

  defp check("loss", label, dtype, %{opts: opts, t: t}) do
    [name | _inputs] = String.split(label, "/")
    fun = String.to_atom(name)
    what = "#{label}(#{inspect(opts)}) #{dtype}"
    tol = @tol[{"loss", dtype}]

    eager = apply(Losses, fun, [t["y_true"], t["y_pred"], opts])
    assert_close("#{what} eager", eager, t["loss"], tol)

    g = Graph.new()
    y_pred = Graph.param(g, t["y_pred"].shape, t["y_pred"].type)
    loss = apply(Losses, fun, [t["y_true"], y_pred, opts])
    # w is 1 for a scalar loss, one weight per example for reduction: :none.
    [grad] = Graph.grad(T.sum(T.multiply(loss, t["w"])), [y_pred])
    {exe, _work} = Graph.compile(g, [loss, grad])
    [loss_got, grad_got] = Graph.run(exe, [], [t["y_pred"]])

    assert_close("#{what} traced", loss_got, t["loss"], tol)
    assert_close("#{what} gradient wrt y_pred", grad_got, t["grad"], tol)
  end

  defp check("layer", "conv_transpose/" <> label, dtype, %{opts: opts, t: t}) do
    tol = @tol[{"layer", dtype}]
    what = "conv_transpose #{label} #{inspect(opts)}"

    # Layers run traced (inside Myelin.build); channels last (Axon's default)
    # is the same layer with the axes moved.
    for channels <- [:first, :last] do
      to_layer = if channels == :last, do: &T.transpose(&1, axes: [0, 2, 3, 1]), else: & &1
      from_layer = if channels == :last, do: &T.transpose(&1, axes: [0, 3, 1, 2]), else: & &1

      g = Graph.new()
      [x, k, b] = for name <- ["x", "kernel", "bias"], do: Graph.param(g, t[name].shape, {:f, 64})
      p = %{"kernel" => k, "bias" => b}
      y = x |> to_layer.() |> Myelin.Layers.Conv.conv_transpose(p, [channels: channels] ++ opts)
      y = from_layer.(y)
      grads = Graph.grad(T.sum(T.multiply(y, t["w"])), [x, k, b])
      {exe, _work} = Graph.compile(g, [y | grads])
      [y_got, dx, dk, db] = Graph.run(exe, [], [t["x"], t["kernel"], t["bias"]])

      assert_close("#{what} #{channels}", y_got, t["y"], tol)
      assert_close("#{what} #{channels} input gradient", dx, t["dx"], tol)
      assert_close("#{what} #{channels} kernel gradient", dk, t["dkernel"], tol)
      assert_close("#{what} #{channels} bias gradient", db, t["dbias"], tol)
    end
  end

  defp check("optim", label, dtype, %{opts: opts, t: expected}) do
    {kind, opts} = Keyword.pop!(opts, :kind)
    %{t: data} = parse(@train_data)
    batches = for i <- 0..2, do: {data["x#{i}"], data["y#{i}"]}

    final =
      model()
      |> Myelin.Loop.trainer(:mean_squared_error, apply(Myelin.Optimizers, kind, [opts]))
      |> Myelin.Loop.run(batches, layer_map(data), log: 0)

    for {key, want} <- expected, [layer, param] = String.split(key, ".") do
      assert_close("#{label} #{key}", final[layer][param], want, @tol[{"optim", dtype}])
    end
  end

  # The model of the reference: torch's Linear(3, 4) -> tanh -> Linear(4, 2).
  defp model do
    Myelin.input("x", shape: {nil, 3})
    |> Myelin.dense(4, activation: :tanh)
    |> Myelin.dense(2)
  end

  defp layer_map(data) do
    for layer <- ["dense_0", "dense_1"], into: %{} do
      {layer, %{"kernel" => data["#{layer}.kernel"], "bias" => data["#{layer}.bias"]}}
    end
  end

  describe "the fixture" do
    test "covers every activation, loss and optimizer" do
      names = fn group ->
        for [^group, label | _] <- Enum.map(@lines, &String.split/1),
            do: label |> String.split("/") |> hd()
      end

      as_set = fn list -> list |> Enum.map(&to_string/1) |> MapSet.new() end

      assert as_set.(names.("activation")) == as_set.(Activations.names())
      assert as_set.(names.("loss")) == as_set.(Losses.names())

      kinds = for line <- @lines, [_, kind] <- [Regex.run(~r/ kind=(\w+)/, line)], do: kind
      optimizers = for {f, 1} <- Myelin.Optimizers.__info__(:functions), f != :__struct__, do: f
      assert as_set.(kinds) == as_set.(optimizers)
    end

    test "the comparison rejects a value off by more than the tolerance" do
      expected = T.tensor([0.5, -2.0, 1.0e-3], type: :f64)

      for {{group, dtype}, {rtol, atol}} <- @tol do
        # Tenfold the tolerance on the middle element.
        off = T.tensor([0.5, -2.0 * (1 + 10 * rtol) - 10 * atol, 1.0e-3], type: :f64)
        assert close_enough?(expected, expected, {rtol, atol}), "#{group} #{dtype}"
        refute close_enough?(off, expected, {rtol, atol}), "#{group} #{dtype}"
      end
    end
  end

  ## Comparison

  defp assert_close(what, %T{} = got, %T{} = expected, tol) do
    assert got.shape == expected.shape,
           "#{what}: shape #{inspect(got.shape)}, PyTorch #{inspect(expected.shape)}"

    assert got.type == expected.type,
           "#{what}: type #{inspect(got.type)}, PyTorch #{inspect(expected.type)}"

    {rtol, atol} = tol

    case worst(got, expected, tol) do
      nil ->
        :ok

      {i, g, e} ->
        flunk(
          "#{what}: element #{i} is #{g}, PyTorch #{e} (difference #{abs(g - e)}, " <>
            "allowed #{atol + rtol * abs(e)})\n  got      #{inspect(flat(got))}\n" <>
            "  expected #{inspect(flat(expected))}"
        )
    end
  end

  defp close_enough?(got, expected, tol), do: worst(got, expected, tol) == nil

  # The first element outside the tolerance, if any.
  defp worst(got, expected, {rtol, atol}) do
    Enum.zip([flat(got), flat(expected), Stream.iterate(0, &(&1 + 1))])
    |> Enum.find_value(fn {g, e, i} ->
      if abs(g - e) > atol + rtol * abs(e), do: {i, g, e}
    end)
  end

  defp flat(t), do: t |> T.as_type(:f64) |> T.to_flat_list()

  ## Fixture parsing (format: test/fixtures/train_reference.py's docstring)

  defp parse(line) do
    [_group, _name, _dtype | fields] = String.split(line, " ")

    Enum.reduce(fields, %{opts: [], t: %{}}, fn field, acc ->
      case String.split(field, "=", parts: 2) do
        [key, "T:" <> tensor] -> put_in(acc, [:t, key], tensor(tensor))
        [key, value] -> %{acc | opts: acc.opts ++ [{String.to_atom(key), option(value)}]}
      end
    end)
  end

  defp tensor(text) do
    [shape, type, bits] = String.split(text, ":")

    shape =
      if shape == "",
        do: {},
        else: shape |> String.split("x") |> Enum.map(&String.to_integer/1) |> List.to_tuple()

    bits
    |> String.split(",")
    |> Enum.map(&<<String.to_integer(&1, 16)::64-native>>)
    |> IO.iodata_to_binary()
    |> T.from_binary(:f64)
    |> T.reshape(shape)
    |> T.as_type(String.to_atom(type))
  end

  defp option("true"), do: true
  defp option("false"), do: false

  defp option(text) do
    case Integer.parse(text) do
      {int, ""} ->
        int

      _ ->
        case Float.parse(text) do
          {float, ""} -> float
          _ -> String.to_atom(text)
        end
    end
  end
end
