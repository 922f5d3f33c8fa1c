defmodule Myelin.TensorWindowLinAlgTest do
  use ExUnit.Case, async: true

  alias Myelin.Tensor, as: T
  alias Myelin.Tensor.LinAlg

  describe "window ops" do
    test "strides, :same padding and dilations" do
      t = T.iota({4, 4})
      assert T.window_sum(t, {2, 2}, strides: 2) |> T.to_list() == [[10, 18], [42, 50]]
      # :same keeps the shape at stride 1; padding adds the identity (0 for sums).
      assert T.window_sum(t, {3, 3}, padding: :same) |> T.shape() == {4, 4}
      assert T.window_sum(t, {3, 3}, padding: :same) |> T.to_list() |> hd() == [10, 18, 24, 18]
      # Dilation 2 picks every other element: {0, 2} and {8, 10} for the first window.
      assert T.window_max(t, {2, 2}, window_dilations: 2) |> T.to_list() == [[10, 11], [14, 15]]
      # Max pads with the type's minimum, min with its maximum.
      assert T.window_max(T.tensor([1, 2], type: :s8), {2}, padding: [{1, 0}]) |> T.to_list() == [
               1,
               2
             ]

      assert T.window_min(T.tensor([1.0, 2.0]), {3}, padding: [{1, 1}]) |> T.to_list() == [
               1.0,
               1.0
             ]

      assert T.window_product(T.tensor([[2.0, 3.0]]), {1, 2}) |> T.type() == {:f, 32}
    end

    test "scatter adds the source at each window's selected element" do
      t = T.tensor([[1, 9, 3, 4], [5, 6, 7, 8]])
      source = T.tensor([[10, 20]])

      assert T.window_scatter_max(t, source, 0, {2, 2}, strides: 2) |> T.to_list() ==
               [[0, 10, 0, 0], [0, 0, 0, 20]]

      assert T.window_scatter_min(t, source, 1, {2, 2}, strides: 2) |> T.to_list() ==
               [[11, 1, 21, 1], [1, 1, 1, 1]]
    end

    test "bad arguments name the op and what was expected" do
      t = T.iota({3, 3})

      assert_raise ArgumentError,
                   ~r/window_sum: expected window_dimensions to be a tuple of 2/,
                   fn ->
                     T.window_sum(t, {2})
                   end

      assert_raise ArgumentError, ~r/window_max: expected strides:/, fn ->
        T.window_max(t, {2, 2}, strides: [0, 1])
      end

      assert_raise ArgumentError, ~r/window_min: expected padding:/, fn ->
        T.window_min(t, {2, 2}, padding: :full)
      end

      assert_raise ArgumentError, ~r/window_sum: unknown option :dilations/, fn ->
        T.window_sum(t, {2, 2}, dilations: 2)
      end

      assert_raise ArgumentError, ~r/window_sum/, fn -> T.window_sum(t, {4, 1}) end

      assert_raise ArgumentError, ~r/window_scatter_max/, fn ->
        T.window_scatter_max(t, T.tensor([[1, 2]]), 0, {2, 2})
      end
    end
  end

  describe "linear algebra" do
    test "lu reconstructs the matrix, batched" do
      a = T.random_uniform({3, 4, 4}, seed: 7, type: :f64)
      {p, l, u} = LinAlg.lu(a)
      back = T.dot(T.dot(p, [2], [0], l, [1], [0]), [2], [0], u, [1], [0])

      Enum.zip(T.to_flat_list(back), T.to_flat_list(a))
      |> Enum.each(fn {x, y} -> assert_in_delta x, y, 1.0e-12 end)

      # l is unit lower triangular, u upper triangular.
      assert l |> T.to_list() |> hd() |> Enum.at(0) |> Enum.at(0) == 1.0
      assert u |> T.to_list() |> hd() |> Enum.at(1) |> hd() == 0.0
    end

    test "triangular_solve with every option" do
      a = T.tensor([[2.0, 0.0, 0.0], [1.0, 3.0, 0.0], [4.0, 5.0, 6.0]], type: :f64)
      b = T.tensor([[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]], type: :f64)

      for lower <- [true, false], left <- [true, false], transform <- [:none, :transpose] do
        tri = if lower, do: a, else: T.transpose(a)
        rhs = if left, do: b, else: T.transpose(b)

        x =
          LinAlg.triangular_solve(tri, rhs, lower: lower, left_side: left, transform_a: transform)

        op = if transform == :transpose, do: T.transpose(tri), else: tri
        check = if left, do: T.dot(op, x), else: T.dot(x, op)

        Enum.zip(T.to_flat_list(check), T.to_flat_list(rhs))
        |> Enum.each(fn {g, w} -> assert_in_delta g, w, 1.0e-12 end)
      end
    end

    test "eigh of a symmetric matrix: A v = v diag(lambda), to BinaryBackend's accuracy" do
      a = T.tensor([[4.0, 1.0, 2.0], [1.0, 3.0, 0.5], [2.0, 0.5, 5.0]], type: :f64)
      # The algorithm is Nx.BinaryBackend's (ported for identical results):
      # its accuracy is set by eps and is best near 1.0e-8 (about 1e-4);
      # it is not a LAPACK-grade eigensolver.
      {values, vectors} = LinAlg.eigh(a, eps: 1.0e-8)
      av = T.dot(a, vectors)
      vl = T.multiply(vectors, values)

      Enum.zip(T.to_flat_list(av), T.to_flat_list(vl))
      |> Enum.each(fn {x, y} -> assert_in_delta x, y, 1.0e-3 end)

      assert_in_delta values |> T.sum() |> T.to_number(), 12.0, 1.0e-5
    end

    test "errors name the op" do
      assert_raise ArgumentError, ~r/lu/, fn -> LinAlg.lu(T.ones({2, 3})) end
      assert_raise ArgumentError, ~r/lu/, fn -> LinAlg.lu(T.iota({2, 2})) end

      assert_raise ArgumentError, ~r/eigh/, fn ->
        LinAlg.eigh(T.tensor([[1.0, 2.0], [0.0, 1.0]]))
      end

      assert_raise ArgumentError, ~r/triangular_solve: can't solve for singular matrix/, fn ->
        LinAlg.triangular_solve(T.tensor([[0.0, 0.0], [1.0, 1.0]]), T.tensor([1.0, 1.0]))
      end

      assert_raise ArgumentError, ~r/triangular_solve: expected transform_a:/, fn ->
        LinAlg.triangular_solve(T.eye(2, type: :f32), T.ones({2}), transform_a: :conjugate)
      end

      assert_raise ArgumentError, ~r/lu: cannot be traced/, fn ->
        Myelin.grad(fn x -> x |> LinAlg.lu() |> elem(2) |> T.sum() end, [T.eye(2, type: :f32)])
      end
    end
  end
end
