if Code.ensure_loaded?(Nx) do
  defmodule Myelin.Backend.SubByte do
    @moduledoc """
    Nx 0.13's sub-byte integer types on `Myelin.Backend`: `{:s, 2}`,
    `{:s, 4}`, `{:u, 2}` and `{:u, 4}`.

    A sub-byte tensor holds an 8-bit engine tensor (`s8` or `u8`), one
    element per byte, whose values all lie in the type's range; ops compute
    on it and `Myelin.Backend` wraps every result back into range
    (`wrap/2`, two's complement, as Nx does). Nx packs these types into
    bitstrings (`bits` per element); `pack/2` and `unpack/3` convert at the
    boundary (`to_binary`, `from_binary`, transfers). Packing walks the
    elements in Elixir, so it costs about as much as BinaryBackend's own
    handling of these types.
    """

    alias Myelin.Tensor, as: MT

    @types [{:s, 2}, {:s, 4}, {:u, 2}, {:u, 4}]

    @doc "The sub-byte types."
    @spec types() :: [Nx.Type.t()]
    def types, do: @types

    @doc "The 8-bit engine type holding `type`."
    @spec engine_type(Nx.Type.t()) :: Nx.Type.t()
    def engine_type({kind, _bits}), do: {kind, 8}

    @doc """
    Wraps an engine tensor's values into the range of `type`. Floats
    truncate first, as Nx's `as_type` does: NaN gives 0 and the infinities
    the type's largest and smallest values.
    """
    @spec wrap(MT.t(), Nx.Type.t()) :: MT.t()
    def wrap(%MT{type: {kind, _}} = t, {int_kind, bits} = type) when kind in [:f, :bf] do
      {min, max} =
        if int_kind == :u, do: {0, 2 ** bits - 1}, else: {-(2 ** (bits - 1)), 2 ** (bits - 1) - 1}

      t = t |> MT.as_type({:f, 64}) |> then(&MT.select(MT.is_nan(&1), 0.0, &1))
      limits = MT.select(MT.greater(t, 0), max * 1.0, min * 1.0)
      t |> then(&MT.select(MT.is_infinity(&1), limits, &1)) |> MT.as_type({:s, 64}) |> wrap(type)
    end

    def wrap(%MT{} = t, {:u, bits}),
      do: t |> MT.as_type({:u, 8}) |> MT.bitwise_and(2 ** bits - 1)

    def wrap(%MT{} = t, {:s, bits}) do
      half = 2 ** (bits - 1)

      t
      |> MT.as_type({:s, 8})
      |> MT.add(half)
      |> MT.bitwise_and(2 ** bits - 1)
      |> MT.subtract(half)
    end

    @doc """
    `count_leading_zeros` or `population_count` of a sub-byte tensor's
    values, counted in `type`'s own bits.
    """
    @spec count_bits(:count_leading_zeros | :population_count, MT.t(), Nx.Type.t()) :: MT.t()
    def count_bits(op, %MT{} = t, {_, bits}) do
      counts =
        t |> MT.as_type({:u, 8}) |> MT.bitwise_and(2 ** bits - 1) |> then(&apply(MT, op, [&1]))

      if op == :count_leading_zeros, do: MT.subtract(counts, 8 - bits), else: counts
    end

    @doc "Nx's packed bitstring of the first `limit` elements of an engine tensor."
    @spec pack(MT.t(), Nx.Type.t(), non_neg_integer()) :: bitstring()
    def pack(%MT{} = t, {kind, bits}, limit) do
      bytes = t |> MT.to_binary() |> binary_part(0, min(limit, MT.size(t)))

      case kind do
        :u -> for <<x::8 <- bytes>>, into: <<>>, do: <<x::size(bits)>>
        :s -> for <<x::8-signed <- bytes>>, into: <<>>, do: <<x::size(bits)-signed>>
      end
    end

    @doc "The engine tensor of Nx's packed bitstring of `type` and `shape`."
    @spec unpack(bitstring(), Nx.Type.t(), tuple()) :: MT.t()
    def unpack(bitstring, {kind, bits} = type, shape) do
      bytes =
        case kind do
          :u -> for <<x::size(bits) <- bitstring>>, into: <<>>, do: <<x::8>>
          :s -> for <<x::size(bits)-signed <- bitstring>>, into: <<>>, do: <<x::8-signed>>
        end

      MT.from_binary(bytes, engine_type(type), shape: shape)
    end
  end
end
