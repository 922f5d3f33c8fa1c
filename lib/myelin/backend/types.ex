if Code.ensure_loaded?(Nx) do
  defmodule Myelin.Backend.Types do
    @moduledoc false
    # How Nx types map onto engine tensors, for Myelin.Backend's callbacks:
    # the twelve engine types as themselves; complex types as pair tensors
    # (Myelin.Backend.Complex); f8 types as f32 on the f8 grid
    # (Myelin.Backend.Float8); sub-byte integers as 8-bit ones
    # (Myelin.Backend.SubByte).

    alias Myelin.Backend.{Complex, Float8, SubByte}
    alias Myelin.Tensor, as: MT
    alias Nx.Tensor, as: T

    @f8_types [{:f, 8}, {:f8_e4m3fn, 8}]
    @sub_byte_types [{:s, 2}, {:s, 4}, {:u, 2}, {:u, 4}]
    @engine_types for k <- [:u, :s], b <- [8, 16, 32, 64], do: {k, b}
    @engine_types @engine_types ++ [{:f, 16}, {:bf, 16}, {:f, 32}, {:f, 64}]

    @scalar_cache {__MODULE__, :scalars}
    @scalar_cache_size 64

    @doc "The engine tensor of an Nx tensor on another backend: a copy of its binary."
    # Numbers in Nx expressions (`Nx.add(t, 1.0)`) arrive as BinaryBackend
    # scalars, one per call. Each process keeps the engine scalars it has
    # made (they are immutable), so a number costs a map lookup instead of
    # a NIF call; the cache is bounded.
    def from_other(%T{shape: {}, type: {kind, bits} = type, data: %Nx.BinaryBackend{state: bin}})
        when kind != :c and type not in @f8_types and bits >= 8 and is_binary(bin) do
      key = {type, bin}
      cache = Process.get(@scalar_cache, %{})

      case cache do
        %{^key => t} ->
          t

        _ ->
          t = MT.from_binary(bin, type, shape: {})
          cache = if map_size(cache) >= @scalar_cache_size, do: %{}, else: cache
          Process.put(@scalar_cache, Map.put(cache, key, t))
          t
      end
    end

    # A complex tensor's binary is its pair tensor's (see Myelin.Backend.Complex).
    def from_other(%T{type: {:c, _} = type, shape: shape} = t),
      do:
        MT.from_binary(Nx.to_binary(t), Complex.part_type(type), shape: Complex.pair_shape(shape))

    # An f8 tensor holds f32 values on the f8 grid (see Myelin.Backend.Float8).
    def from_other(%T{type: type, shape: shape} = t) when type in @f8_types,
      do: Float8.from_binary(Nx.to_binary(t), type, shape)

    # A sub-byte tensor holds 8-bit integers (see Myelin.Backend.SubByte).
    def from_other(%T{type: type, shape: shape} = t) when type in @sub_byte_types,
      do: SubByte.unpack(Nx.to_binary(t), type, shape)

    def from_other(%T{type: type, shape: shape} = t) do
      real_type!(type, :from_nx)
      MT.from_binary(Nx.to_binary(t), type, shape: shape)
    end

    @doc "An engine result converted to the engine form of Nx type `type`."
    def to_type(%MT{type: type} = t, type), do: t
    def to_type(%MT{} = t, type) when type in @f8_types, do: Float8.round(t, type)
    def to_type(%MT{} = t, type) when type in @sub_byte_types, do: SubByte.wrap(t, type)
    # For a complex type, `t` is a pair tensor.
    def to_type(%MT{} = pair, {:c, _} = type), do: to_type(pair, Complex.part_type(type))
    def to_type(%MT{} = t, type), do: MT.as_type(t, real_type!(type, :as_type))

    @doc """
    An Nx operand as an engine tensor of `type`: for a complex `type`, its
    pair tensor; a complex operand of a real `type` gives its real part
    (Nx's as_type).
    """
    def operand(%T{type: {:c, _}} = t, {:c, _} = type),
      do: t |> Myelin.Backend.from_nx() |> to_type(Complex.part_type(type))

    def operand(%T{} = t, {:c, _} = type),
      do: t |> Myelin.Backend.from_nx() |> Complex.from_real(type)

    def operand(%T{type: {:c, _}} = t, type),
      do: t |> Myelin.Backend.from_nx() |> Complex.parts() |> elem(0) |> to_type(type)

    def operand(%T{} = t, type), do: t |> Myelin.Backend.from_nx() |> to_type(type)

    @doc "The engine tensor of an operand that must be real."
    def real!(%T{type: {:c, _} = type}, op) do
      raise ArgumentError,
            "Myelin.Backend.#{op}: expected a real tensor, got a complex one (#{inspect(type)}); " <>
              "#{op} is not defined for complex numbers"
    end

    def real!(%T{} = t, _op), do: Myelin.Backend.from_nx(t)

    @doc "The shape of the engine tensor holding `t` (a pair tensor has an extra axis of 2)."
    def engine_shape(%T{type: {:c, _}, shape: shape}), do: Complex.pair_shape(shape)
    def engine_shape(%T{shape: shape}), do: shape

    @doc "True for a complex Nx tensor."
    def complex?(%T{type: {:c, _}}), do: true
    def complex?(_), do: false

    @doc "The engine type computing for real Nx type `type` (f32 for the f8 types)."
    def engine_type(type, _op) when type in @f8_types, do: {:f, 32}
    def engine_type(type, _op) when type in @sub_byte_types, do: SubByte.engine_type(type)
    def engine_type(type, op), do: real_type!(type, op)

    @doc "`type` when it is one of the engine's own types; raises naming `op` otherwise."
    def real_type!({:c, _} = type, op) do
      raise ArgumentError, "Myelin.Backend.#{op}: expected a real type, got #{inspect(type)}"
    end

    def real_type!(type, _op) when type in @engine_types, do: type

    def real_type!(type, op) do
      raise ArgumentError,
            "Myelin.Backend.#{op}: type #{inspect(type)} is not supported, expected one of #{inspect(@engine_types)}"
    end
  end
end
