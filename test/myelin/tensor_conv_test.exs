defmodule Myelin.TensorConvTest do
  use ExUnit.Case, async: true

  alias Myelin.Tensor, as: T

  # Direct definition: out[n, o, i, j] = sum_c,a,b x[n, c, i*s + a, j*s + b] * k[o, c, a, b].
  defp naive(x, k, stride) do
    [[_n, c, h, w], [o, _, kh, kw]] = [Tuple.to_list(x.shape), Tuple.to_list(k.shape)]
    xl = T.to_list(x)
    kl = T.to_list(k)
    at = fn l, idx -> Enum.reduce(idx, l, &Enum.at(&2, &1)) end

    for img <- xl do
      for oc <- 0..(o - 1) do
        for i <- 0..div(h - kh, stride) do
          for j <- 0..div(w - kw, stride) do
            for ch <- 0..(c - 1), a <- 0..(kh - 1), b <- 0..(kw - 1), reduce: 0.0 do
              acc ->
                acc + at.(img, [ch, i * stride + a, j * stride + b]) * at.(kl, [oc, ch, a, b])
            end
          end
        end
      end
    end
  end

  test "matches the direct definition" do
    x = T.random_uniform({2, 3, 6, 5}, seed: 1, type: :f64)
    k = T.random_uniform({4, 3, 3, 2}, seed: 2, type: :f64)
    got = T.conv(x, k, strides: 2) |> T.to_list() |> List.flatten()
    want = naive(x, k, 2) |> List.flatten()
    Enum.zip(got, want) |> Enum.each(fn {g, w} -> assert_in_delta g, w, 1.0e-12 end)
  end

  test "differentiates through Myelin.grad" do
    x = T.random_uniform({1, 2, 4, 4}, seed: 3, type: :f64)
    k = T.random_uniform({3, 2, 2, 2}, seed: 4, type: :f64)

    loss = fn k ->
      x
      |> T.conv(k, padding: :same)
      |> T.multiply(T.slice(x, [0, 0, 0, 0], [1, 1, 4, 4]) |> T.broadcast({1, 3, 4, 4}))
      |> T.sum()
    end

    grad = Myelin.grad(loss, [k]) |> T.to_flat_list()
    eps = 1.0e-6
    flat = T.to_flat_list(k)

    numeric =
      for i <- 0..(length(flat) - 1) do
        bump = fn d ->
          flat |> List.update_at(i, &(&1 + d)) |> T.tensor(type: :f64) |> T.reshape(k.shape)
        end

        (T.to_number(loss.(bump.(eps))) - T.to_number(loss.(bump.(-eps)))) / (2 * eps)
      end

    Enum.zip(grad, numeric) |> Enum.each(fn {g, n} -> assert_in_delta g, n, 1.0e-6 end)
  end

  test "bad options raise naming the option" do
    x = T.ones({1, 1, 4})
    k = T.ones({1, 1, 2})

    assert_raise ArgumentError, ~r/conv: unknown option :stride/, fn ->
      T.conv(x, k, stride: 1)
    end

    assert_raise ArgumentError, ~r/conv: expected strides:/, fn ->
      T.conv(x, k, strides: [1, 1])
    end

    assert_raise ArgumentError, ~r/conv: expected padding:/, fn ->
      T.conv(x, k, padding: [{-1, 0}])
    end

    assert_raise ArgumentError, ~r/conv: expected feature_group_size:/, fn ->
      T.conv(x, k, feature_group_size: 0)
    end

    assert_raise ArgumentError, ~r/conv: expected an input of rank 3/, fn ->
      T.conv(T.ones({4}), k)
    end

    assert_raise ArgumentError, ~r/conv/, fn -> T.conv(x, T.ones({1, 2, 2})) end
  end
end
