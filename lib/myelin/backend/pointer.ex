if Code.ensure_loaded?(Nx) do
  defmodule Myelin.Backend.Pointer do
    @moduledoc """
    Nx 0.13's `to_pointer/2` and `from_pointer/5` for `Myelin.Backend`,
    `:local` mode only.

    `to_pointer/2` gives the address of an engine tensor's memory, valid
    while the tensor lives; `from_pointer/3` accepts only such addresses
    (the engine keeps a registry, `myelin_core::pointer`), so a foreign or
    stale address raises instead of being read. Types whose engine tensor
    holds other bytes than Nx's (f8 and sub-byte types, held wider) have
    no pointers.
    """

    alias Myelin.Tensor, as: MT

    @doc "The `Nx.Pointer` (a map of its fields on Nx 0.7) of an engine tensor of Nx type `type`."
    @spec to_pointer(MT.t(), Nx.Type.t(), keyword()) :: map()
    def to_pointer(%MT{} = t, type, opts) do
      local_mode!(Keyword.get(opts, :mode, :local), :to_pointer)
      bytes_as_nx!(type, :to_pointer)
      {address, size} = t.ref |> Myelin.Native.to_pointer() |> Myelin.Native.unwrap!()
      fields = [address: address, kind: :local, data_size: size, handle: nil]
      # Nx.Pointer exists from Nx 0.13 on.
      if Code.ensure_loaded?(Nx.Pointer), do: struct(Nx.Pointer, fields), else: Map.new(fields)
    end

    @doc """
    The engine tensor of `engine_type` and `engine_shape` over the memory of
    `pointer`, for an Nx tensor of type `type`.
    """
    @spec from_pointer(map(), Nx.Type.t(), Nx.Type.t(), tuple()) :: MT.t()
    def from_pointer(pointer, type, engine_type, engine_shape) do
      local_mode!(Map.get(pointer, :kind), :from_pointer)
      bytes_as_nx!(type, :from_pointer)
      # A copy (another type than the memory's) can be large: size the work.
      args = [pointer.address, engine_type, engine_shape]
      MT.dispatch(Tuple.product(engine_shape), :from_pointer, :from_pointer_dirty, args)
    end

    defp local_mode!(:local, _op), do: :ok

    defp local_mode!(mode, op) do
      raise ArgumentError,
            "Myelin.Backend.#{op}: only mode: :local pointers are supported, got #{inspect(mode)}"
    end

    defp bytes_as_nx!(type, op) do
      if type in Myelin.Backend.Float8.types() or type in Myelin.Backend.SubByte.types() do
        raise ArgumentError,
              "Myelin.Backend.#{op}: pointers to #{inspect(type)} tensors are not supported " <>
                "(the engine holds them in a wider type)"
      end

      :ok
    end
  end
end
