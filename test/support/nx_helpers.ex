if Code.ensure_loaded?(Nx) do
  defmodule Myelin.NxHelpers do
    @moduledoc false
    # Differential checks of Myelin.Backend against Nx.BinaryBackend, shared
    # by the tests in test/nx.
    import ExUnit.Assertions

    @doc "A copy of `t` on Myelin.Backend."
    def my(t), do: Nx.backend_copy(t, Myelin.Backend)

    @doc """
    Runs `fun` on BinaryBackend tensors and on the same tensors on
    Myelin.Backend: the results must have the same shape, type and names,
    and values within `tol` (relative; complex values part by part).
    Returns Myelin's result.
    """
    def agree(fun, args, tol \\ 1.0e-6) do
      expected = apply(fun, args)
      got = apply(fun, Enum.map(args, &if(is_struct(&1, Nx.Tensor), do: my(&1), else: &1)))
      assert %Nx.Tensor{data: %Myelin.Backend{}} = got
      assert {got.shape, got.type, got.names} == {expected.shape, expected.type, expected.names}
      compare(Nx.to_flat_list(got), Nx.to_flat_list(expected), tol)
      got
    end

    @doc "Checks two flat lists of numbers agree within `tol` (relative)."
    def compare(got, want, tol) do
      assert length(got) == length(want)

      Enum.zip(got, want)
      |> Enum.each(fn
        {%Complex{re: gr, im: gi}, %Complex{re: wr, im: wi}} ->
          close(gr, wr, tol)
          close(gi, wi, tol)

        {g, w} ->
          close(g, w, tol)
      end)
    end

    defp close(g, w, tol) when is_float(g) and is_float(w),
      do: assert(abs(g - w) <= tol * max(1.0, abs(w)), "got #{g}, want #{w}")

    defp close(g, w, _tol), do: assert(g == w, "got #{inspect(g)}, want #{inspect(w)}")
  end
end
