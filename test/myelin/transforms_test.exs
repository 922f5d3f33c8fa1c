defmodule Myelin.TransformsTest do
  use ExUnit.Case, async: true

  alias Myelin.Tensor, as: T

  doctest Myelin.Tree

  @f64 {:f, 64}

  defp rand(shape, seed, scale \\ 1.0),
    do: shape |> T.random_normal(seed: seed, type: @f64) |> T.multiply(scale)

  # Central differences of `fun` (scalar-valued) with respect to every
  # element of every tensor leaf of argument `argnum`, compared with `grads`.
  defp assert_matches_finite_differences(fun, args, grads, argnum, tol \\ 1.0e-6) do
    f = Myelin.jit(fun)
    {leaves, template} = Myelin.Tree.flatten(Enum.at(args, argnum))
    {grad_leaves, _} = Myelin.Tree.flatten(grads)
    eps = 1.0e-6

    leaves
    |> Enum.with_index()
    |> Enum.each(fn {leaf, li} ->
      flat = T.to_flat_list(leaf)
      got = grad_leaves |> Enum.at(li) |> T.to_flat_list()

      for i <- 0..(length(flat) - 1) do
        eval = fn delta ->
          moved = flat |> List.update_at(i, &(&1 + delta)) |> T.tensor(type: @f64)
          moved = T.reshape(moved, leaf.shape)
          arg = Myelin.Tree.unflatten(template, List.replace_at(leaves, li, moved))
          apply(f, List.replace_at(args, argnum, arg)) |> T.to_number()
        end

        expected = (eval.(eps) - eval.(-eps)) / (2 * eps)
        actual = Enum.at(got, i)
        scale = max(1.0, abs(expected))

        assert abs(actual - expected) <= tol * scale,
               "leaf #{li}, element #{i}: gradient #{actual}, finite difference #{expected}"
      end
    end)
  end

  defp softmax_cross_entropy(logits, labels_one_hot) do
    lse = T.logsumexp(logits, axes: [1], keep_axes: true)

    logits
    |> T.subtract(lse)
    |> T.multiply(labels_one_hot)
    |> T.sum()
    |> T.negate()
    |> T.divide(elem(logits.shape, 0))
  end

  defp mlp_loss(%{w1: w1, b1: b1, w2: w2, b2: b2}, x, y) do
    x
    |> T.dot(w1)
    |> T.add(b1)
    |> Myelin.Activations.relu()
    |> T.dot(w2)
    |> T.add(b2)
    |> softmax_cross_entropy(y)
  end

  defp mlp_params(seed) do
    %{
      w1: rand({4, 5}, seed, 0.5),
      b1: rand({5}, seed + 1, 0.1),
      w2: rand({5, 3}, seed + 2, 0.5),
      b2: rand({3}, seed + 3, 0.1)
    }
  end

  defp one_hot(labels, n),
    do: labels |> T.tensor() |> Myelin.Datasets.one_hot(n) |> T.as_type(@f64)

  describe "gradients agree with finite differences in f64" do
    test "a small MLP with a softmax cross-entropy written by hand" do
      params = mlp_params(1)
      x = rand({6, 4}, 10)
      y = one_hot([0, 2, 1, 1, 0, 2], 3)
      {loss, grads} = Myelin.value_and_grad(&mlp_loss/3, [params, x, y])
      assert T.to_number(loss) > 0
      assert Map.keys(grads) == [:b1, :b2, :w1, :w2]
      assert grads.w1.shape == {4, 5} and grads.w1.type == @f64
      assert_matches_finite_differences(&mlp_loss/3, [params, x, y], grads, 0)
    end

    test "layer normalization written by hand, differentiated in its input and scale" do
      layer_norm = fn x, gamma ->
        mean = T.mean(x, axes: [1], keep_axes: true)
        centered = T.subtract(x, mean)
        var = centered |> T.multiply(centered) |> T.mean(axes: [1], keep_axes: true)
        normed = T.multiply(centered, T.rsqrt(T.add(var, 1.0e-5)))
        normed |> T.multiply(gamma) |> T.multiply(T.iota({3, 4}, type: @f64)) |> T.sum()
      end

      args = [rand({3, 4}, 20), rand({4}, 21)]
      [dx, dgamma] = Myelin.grad(layer_norm, args, argnums: [0, 1])
      assert_matches_finite_differences(layer_norm, args, dx, 0)
      assert_matches_finite_differences(layer_norm, args, dgamma, 1)
    end

    test "a small conv net loss (conv, relu, max pool, dense)" do
      loss = fn p, x ->
        x
        |> Myelin.Layers.Conv.conv(%{"kernel" => p.k, "bias" => p.b},
          channels: :first,
          padding: :same
        )
        |> Myelin.Activations.relu()
        |> then(&Myelin.Layers.Conv.pool(:max, &1, channels: :first, kernel_size: 2))
        |> T.reshape({2, 8})
        |> T.dot(p.w)
        |> T.tanh()
        |> T.sum()
      end

      params = %{k: rand({2, 1, 3, 3}, 30, 0.5), b: rand({2}, 31, 0.1), w: rand({8, 3}, 32, 0.5)}
      x = rand({2, 1, 4, 4}, 33)
      grads = Myelin.grad(loss, [params, x])
      assert_matches_finite_differences(loss, [params, x], grads, 0)
    end

    test "second derivatives: grad of grad" do
      f = fn x -> x |> T.sin() |> T.multiply(x) |> T.sum() end
      df_sum = fn x -> f |> Myelin.grad([x]) |> T.sum() end
      x0 = rand({5}, 40)
      d2 = Myelin.grad(df_sum, [x0])
      # d/dx (sin x + x cos x) = 2 cos x - x sin x
      expected = T.subtract(T.multiply(T.cos(x0), 2.0), T.multiply(x0, T.sin(x0)))

      Enum.zip(T.to_list(d2), T.to_list(expected))
      |> Enum.each(fn {a, b} -> assert_in_delta a, b, 1.0e-12 end)
    end

    test "a nested grad treats values captured from the outer function as constants" do
      # d/dx [x * d/dy (x * y)] = d/dx [x * x] = 2x; confusing the two
      # perturbations would give a different answer.
      f = fn x ->
        T.multiply(x, Myelin.grad(fn y -> T.multiply(x, y) end, [T.tensor(1.0, type: @f64)]))
      end

      assert Myelin.grad(f, [T.tensor(3.0, type: @f64)]) |> T.to_number() == 6.0
    end
  end

  test "hand-written gradients equal the built-in layers' gradients" do
    model =
      Myelin.input("x", shape: {nil, 4})
      |> Myelin.dense(5, activation: :relu, name: "d1")
      |> Myelin.dense(3, name: "d2")

    x = T.random_normal({6, 4}, seed: 3)
    y = [0, 2, 1, 1, 0, 2] |> T.tensor() |> Myelin.Datasets.one_hot(3) |> T.as_type({:f, 32})

    compiled = Myelin.Compiler.trace(model, x, :train)
    state = Myelin.Compiler.init_params(compiled, 7)
    [yi] = [Myelin.Graph.input(compiled.graph, y.shape, y.type)]
    loss = softmax_cross_entropy(compiled.output, yi)
    traced_params = Enum.map(compiled.params, fn {_, _, t, _} -> t end)
    grads = Myelin.Graph.grad(loss, traced_params)
    {exe, _} = Myelin.Graph.compile(compiled.graph, grads)
    builtin = Myelin.Graph.run(exe, [x, y], Myelin.Compiler.param_list(compiled, state))

    params = %{
      w1: state["d1"]["kernel"],
      b1: state["d1"]["bias"],
      w2: state["d2"]["kernel"],
      b2: state["d2"]["bias"]
    }

    mine = Myelin.grad(&mlp_loss/3, [params, x, y])
    # compiled.params is in layer order: d1 kernel, d1 bias, d2 kernel, d2 bias.
    for {a, b} <- Enum.zip([mine.w1, mine.b1, mine.w2, mine.b2], builtin) do
      Enum.zip(T.to_flat_list(a), T.to_flat_list(b))
      |> Enum.each(fn {p, q} -> assert_in_delta p, q, 1.0e-6 end)
    end
  end

  describe "jit" do
    test "compiled results equal eager results bit for bit" do
      f = fn x, w ->
        h = x |> T.dot(w) |> T.multiply(1.5) |> T.add(0.25) |> T.tanh() |> T.exp()
        s = T.subtract(h, T.reduce_max(h, axes: [1], keep_axes: true))
        {s |> T.sigmoid() |> T.multiply(h) |> T.log1p(), T.sum(s, axes: [0])}
      end

      x = T.random_normal({33, 17}, seed: 5)
      w = T.random_normal({17, 300}, seed: 6)
      {a, b} = f.(x, w)
      {ja, jb} = Myelin.jit(f).(x, w)
      assert T.to_binary(ja) == T.to_binary(a)
      assert T.to_binary(jb) == T.to_binary(b)
    end

    test "a large elementwise chain compiled equals eager bit for bit" do
      chain = fn x ->
        x
        |> T.multiply(x)
        |> T.multiply(0.044715)
        |> T.add(1.0)
        |> T.multiply(x)
        |> T.multiply(0.7978845608)
        |> T.tanh()
        |> T.add(1.0)
        |> T.multiply(x)
        |> T.multiply(0.5)
      end

      for type <- [{:f, 32}, {:f, 64}, {:bf, 16}] do
        x = T.random_normal({300_001}, seed: 8, type: type)

        assert T.to_binary(Myelin.jit(chain).(x)) == T.to_binary(chain.(x)),
               "type #{inspect(type)}"
      end
    end

    test "arguments and results may be nested tuples, maps, lists, numbers and static terms" do
      f = fn %{a: a, pair: {b, c}}, [d], n, :double ->
        %{sum: a |> T.add(b) |> T.add(c) |> T.multiply(2), list: [T.multiply(d, n), 7]}
      end

      args = [
        %{a: T.tensor([1.0]), pair: {T.tensor([2.0]), 3.0}},
        [T.tensor([4.0])],
        0.5,
        :double
      ]

      %{sum: sum, list: [half, seven]} = Myelin.jit_apply(f, args)
      assert T.to_list(sum) == [12.0]
      assert T.to_list(half) == [2.0]
      assert T.to_number(seven) == 7
    end

    test "compiles once per signature" do
      f = fn x -> T.add(x, 1.0) end
      jitted = Myelin.jit(f)
      jitted.(T.tensor([1.0, 2.0]))
      before = Myelin.CompileCache.size()
      assert jitted.(T.tensor([5.0, 6.0])) |> T.to_list() == [6.0, 7.0]
      assert Myelin.CompileCache.size() == before
      assert jitted.(T.tensor([1.0, 2.0, 3.0])) |> T.to_list() == [2.0, 3.0, 4.0]
      assert jitted.(T.tensor([1, 2])) |> T.to_list() == [2.0, 3.0]
    end

    test "composes with grad both ways" do
      loss = fn w, x -> x |> T.multiply(w) |> T.sin() |> T.sum() end
      w = T.tensor([0.5, -1.0], type: @f64)
      x = T.tensor([2.0, 3.0], type: @f64)
      direct = Myelin.grad(loss, [w, x])
      jitted_grad = Myelin.jit(fn w, x -> Myelin.grad(loss, [w, x]) end).(w, x)
      grad_of_jit = Myelin.grad(fn w, x -> Myelin.jit(loss).(w, x) end, [w, x])
      assert T.to_list(jitted_grad) == T.to_list(direct)
      assert T.to_list(grad_of_jit) == T.to_list(direct)
    end

    test "a captured tensor becomes a constant, one compiled graph per captured tensor" do
      add_bias = fn bias -> Myelin.jit(fn x -> T.add(x, bias) end) end
      x = T.tensor([1.0, 2.0])
      assert add_bias.(T.tensor([10.0, 20.0])).(x) |> T.to_list() == [11.0, 22.0]
      assert add_bias.(T.tensor([30.0, 40.0])).(x) |> T.to_list() == [31.0, 42.0]
      same = T.tensor([5.0, 5.0])
      assert add_bias.(same).(x) |> T.to_list() == [6.0, 7.0]
      before = Myelin.CompileCache.size()
      assert add_bias.(same).(x) |> T.to_list() == [6.0, 7.0]
      assert Myelin.CompileCache.size() == before
    end
  end

  describe "every Myelin.Tensor op traces" do
    test "compiled results equal eager ones" do
      x = T.random_normal({3, 4}, seed: 1)

      cases = [
        fn x -> T.put_slice(x, [0, 0], T.tensor([[1.0]])) end,
        fn x -> T.stack([x, x], axis: 1) end,
        fn x -> T.sort(x, axis: 1) end,
        fn x -> T.argsort(x, axis: 1, direction: :desc) end,
        fn x -> T.cumulative_sum(x, axis: 1) end,
        fn x -> T.cumulative_max(x, axis: 0, reverse: true) end,
        fn x -> T.gather(x, T.tensor([[0, 1], [2, 3]])) end,
        fn x -> T.indexed_put(x, T.tensor([[0, 1]]), T.tensor([5.0])) end,
        fn x -> T.bitcast(x, :u32) end,
        fn x -> T.take_along_axis(x, T.tensor([[0], [1], [2]]), axis: 1) end,
        fn x -> T.pad(x, 0.0, [{1, 1, 0}, {0, 0, 1}]) end
      ]

      for f <- cases do
        assert T.to_binary(Myelin.jit(f).(x)) == T.to_binary(f.(x)), inspect(f)
      end
    end

    test "sorting, scans, gathers and scatters have gradients" do
      loss = fn x, u ->
        s =
          x
          |> T.sort(axis: 1)
          |> T.cumulative_sum(axis: 1)
          |> T.multiply(T.iota({3, 4}, type: @f64))

        g = T.gather(x, T.tensor([[0, 1], [2, 3], [0, 1]]))
        p = T.put_slice(x, [1, 1], T.reshape(u, {1, 2}))
        q = T.indexed_put(x, T.tensor([[2, 0]]), T.slice(u, [0], [1]))
        [s, g, p, q] |> Enum.map(&T.sum(T.multiply(&1, &1))) |> Enum.reduce(&T.add/2)
      end

      args = [rand({3, 4}, 50), rand({2}, 51)]
      [dx, du] = Myelin.grad(loss, args, argnums: [0, 1])
      assert_matches_finite_differences(loss, args, dx, 0)
      assert_matches_finite_differences(loss, args, du, 1)
    end
  end

  describe "value_and_grad options" do
    test "argnums: a list gives a list of gradients; has_aux returns the aux value" do
      f = fn a, b -> {T.sum(T.multiply(a, b)), %{double: T.multiply(a, 2.0)}} end
      a = T.tensor([1.0, 2.0])
      b = T.tensor([3.0, 4.0])

      {{value, %{double: d}}, [da, db]} =
        Myelin.value_and_grad(f, [a, b], argnums: [0, 1], has_aux: true)

      assert T.to_number(value) == 11.0
      assert T.to_list(d) == [2.0, 4.0]
      assert T.to_list(da) == [3.0, 4.0]
      assert T.to_list(db) == [1.0, 2.0]
      {[db2], %{double: _}} = Myelin.grad(f, [a, b], argnums: [1], has_aux: true)
      assert T.to_list(db2) == [1.0, 2.0]
    end

    test "a number argument gets a scalar gradient; an unused argument a zero one" do
      f = fn x, _unused -> T.multiply(x, x) end
      [dx, du] = Myelin.grad(f, [3.0, T.tensor([1.0, 1.0])], argnums: [0, 1])
      assert T.to_number(dx) == 6.0
      assert T.to_list(du) == [0.0, 0.0]
    end
  end

  describe "errors" do
    test "an op error inside the function names the op, the shapes and the trace location" do
      f = fn x -> x |> T.add(T.tensor([1.0, 2.0, 3.0])) |> T.sum() end
      error = assert_raise ArgumentError, fn -> Myelin.grad(f, [T.tensor([1.0, 2.0])]) end
      assert error.message =~ "add"
      assert error.message =~ "{2}" and error.message =~ "{3}"
      assert error.message =~ ~r/traced by Myelin\.grad at test\/myelin\/transforms_test\.exs:\d+/

      error = assert_raise ArgumentError, fn -> Myelin.jit(f).(T.tensor([1.0, 2.0])) end
      assert error.message =~ "traced by Myelin.jit at test/myelin/transforms_test.exs:"
    end

    test "bad calls raise clear errors" do
      x = T.tensor([1.0, 2.0])

      assert_raise ArgumentError, ~r/grad: expected a float scalar.*shape \{2\}/, fn ->
        Myelin.grad(fn x -> T.multiply(x, 2.0) end, [x])
      end

      assert_raise ArgumentError, ~r/float tensors, got a tensor of type \{:s, 64\}/, fn ->
        Myelin.grad(fn x -> T.sum(x) end, [T.tensor([1, 2])])
      end

      assert_raise ArgumentError, ~r/argnums/, fn -> Myelin.grad(&T.sum/1, [x], argnums: 1) end

      assert_raise ArgumentError, ~r/a function of 2 arguments/, fn ->
        Myelin.grad(&T.sum/1, [x, x])
      end

      assert_raise ArgumentError, ~r/unknown option.*:bogus/, fn ->
        Myelin.grad(&T.sum/1, [x], bogus: 1)
      end

      assert_raise ArgumentError, ~r/has_aux: true.*\{value, aux\}/, fn ->
        Myelin.grad(&T.sum/1, [x], has_aux: true)
      end

      assert_raise ArgumentError, ~r/at most 6 arguments/, fn ->
        Myelin.jit(fn _, _, _, _, _, _, _ -> 1 end)
      end

      assert_raise ArgumentError, ~r/return a float scalar tensor, got \{/, fn ->
        Myelin.grad(fn x -> {T.sum(x), 1} end, [x])
      end
    end
  end

  describe "custom layers" do
    test "a layer with its own parameters trains like a built-in one" do
      # y = x · w + b with a learned per-feature scale s.
      scaled_dense = fn x, w, s -> x |> T.multiply(s) |> T.dot(w) end

      model =
        Myelin.input("x", shape: {nil, 4})
        |> then(
          &Myelin.layer(
            scaled_dense,
            [
              &1,
              Myelin.param("w", fn {_, f} -> {f, 2} end),
              Myelin.param("s", {4}, initializer: :ones)
            ],
            name: "scaled"
          )
        )
        |> Myelin.softmax()

      x = T.random_normal({64, 4}, seed: 1)

      labels =
        x |> T.slice([0, 0], [64, 1]) |> T.reshape({64}) |> T.greater(0) |> T.as_type({:s, 64})

      batches =
        for i <- 0..3, do: {T.slice(x, [i * 16, 0], [16, 4]), T.slice(labels, [i * 16], [16])}

      state =
        model
        |> Myelin.Loop.trainer(
          :categorical_cross_entropy,
          Myelin.Optimizers.adam(learning_rate: 0.05)
        )
        |> Myelin.Loop.run(batches, %{}, epochs: 30, log: 0)

      params = state["scaled"]
      assert params["w"].shape == {4, 2}
      assert T.to_list(params["s"]) != [1.0, 1.0, 1.0, 1.0]

      accuracy =
        Myelin.predict(model, state, x) |> T.argmax(axis: 1) |> T.equal(labels) |> T.mean()

      assert T.to_number(accuracy) > 0.9
    end

    test "a layer function may take the options, with the mode" do
      f = fn x, opts -> if opts[:mode] == :train, do: x, else: T.multiply(x, opts[:factor]) end
      model = Myelin.input("x", shape: {nil, 2}) |> then(&Myelin.layer(f, [&1], factor: 3.0))
      assert Myelin.predict(model, %{}, T.tensor([[1.0, 2.0]])) |> T.to_list() == [[3.0, 6.0]]
    end
  end
end
