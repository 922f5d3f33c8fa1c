if Code.ensure_loaded?(Nx) do
  defmodule Myelin.Backend.Fallback do
    @moduledoc """
    The `Nx.Backend` callbacks that `Myelin.Backend` does not yet compute on
    the engine, and how they run: explicitly on `Nx.BinaryBackend`, with the
    operands copied out of the engine and the result copied back, and each
    call counted (`Myelin.Backend.fallback_counts/0`).

    | op | why |
    |---|---|
    | `reduce/5`, `window_reduce/6`, `map/4` | they call a user's Elixir function per element |
    | `conv/4` with both batch and feature groups, negative padding of a dilated input, or more than 3 spatial axes | the engine's convolution does not cover them |
    | `lu/3` and `triangular_solve/4` of complex matrices | the engine's LU and solver are real |
    | `window_product/4` of complex tensors | the engine's window product is real |

    Nothing else falls back. Real `lu`, `triangular_solve` and `eigh` run on the
    engine (`Myelin.Tensor.LinAlg`); the rest of `Nx.LinAlg` (qr, cholesky,
    svd, solve, determinant, ...) runs through Nx's default
    implementations, which are built from engine ops.
    """

    alias Nx.Tensor, as: T

    @ops [reduce: 5, window_reduce: 6, map: 4]
    # Callbacks that fall back only for some options.
    @partial [:conv, :lu, :triangular_solve, :window_product]
    @index (Keyword.keys(@ops) ++ @partial) |> Enum.with_index(1) |> Map.new()

    @doc "The callbacks computed entirely by the fallback, as `{name, arity}`."
    @spec ops() :: keyword(pos_integer())
    def ops, do: @ops

    @doc false
    # Called once by Myelin.Application.
    def init do
      :persistent_term.put(__MODULE__, :counters.new(map_size(@index), [:write_concurrency]))
    end

    @doc "Calls per op since the VM started, as a map."
    @spec counts() :: %{atom() => non_neg_integer()}
    def counts do
      counters = :persistent_term.get(__MODULE__)
      Map.new(@index, fn {op, i} -> {op, :counters.get(counters, i)} end)
    end

    @doc false
    # Runs `op` on Nx.BinaryBackend with `args` (tensors in any backend).
    def run(op, args) do
      :counters.add(:persistent_term.get(__MODULE__), Map.fetch!(@index, op), 1)
      args = Enum.map(args, &to_binary_backend/1)
      # Tensors that BinaryBackend (or a user's function it calls) creates
      # while computing must be binary ones too.
      previous = Nx.default_backend(Nx.BinaryBackend)

      try do
        Nx.BinaryBackend |> apply(op, args) |> back()
      after
        Nx.default_backend(previous)
      end
    end

    defp to_binary_backend(%T{data: %Myelin.Backend{}} = t),
      do: %{t | data: %Nx.BinaryBackend{state: Nx.to_binary(t)}}

    defp to_binary_backend(tuple) when is_tuple(tuple),
      do: tuple |> Tuple.to_list() |> Enum.map(&to_binary_backend/1) |> List.to_tuple()

    defp to_binary_backend(other), do: other

    defp back(%T{} = t), do: %{t | data: %Myelin.Backend{tensor: Myelin.Backend.from_nx(t)}}

    defp back(tuple) when is_tuple(tuple),
      do: tuple |> Tuple.to_list() |> Enum.map(&back/1) |> List.to_tuple()
  end
end
