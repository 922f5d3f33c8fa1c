if Code.ensure_loaded?(Nx) do
  defmodule Myelin.Backend.Float8 do
    @moduledoc """
    Nx 0.13's 8-bit float types on `Myelin.Backend`: `{:f, 8}` (E5M2) and
    `{:f8_e4m3fn, 8}` (E4M3FN).

    The engine computes on f32, so an f8 tensor holds an f32 engine tensor
    whose values all lie on the f8 grid. Ops compute in f32 and
    `Myelin.Backend` rounds every f8 result back onto the grid (`round/2`);
    Nx's bytes are made (`encode/2`) and read (`decode/2`) only at the
    boundary (`to_binary`, `from_binary`, transfers, `bitcast`). The
    conversions are `myelin_cpu::f8`'s, which reproduce `Nx.Floating`
    bit for bit.
    """

    alias Myelin.Tensor, as: MT

    @types [{:f, 8}, {:f8_e4m3fn, 8}]

    @doc "The 8-bit float types."
    @spec types() :: [Nx.Type.t()]
    def types, do: @types

    @doc "Rounds an engine tensor onto the grid of f8 `type` (an f32 tensor)."
    @spec round(MT.t(), Nx.Type.t()) :: MT.t()
    def round(%MT{} = t, type), do: kernel(:f8_round, exact(t), type)

    @doc "Nx's bytes for f8 `type` of an engine tensor, as a u8 tensor."
    @spec encode(MT.t(), Nx.Type.t()) :: MT.t()
    def encode(%MT{} = t, type), do: kernel(:f8_encode, exact(t), type)

    # The kernels read f32 or f64 and round once: f64 and integers go in
    # as f64 (exact, as Nx.Floating rounds from an Elixir float), the
    # narrower floats as f32.
    defp exact(%MT{type: {:f, 32}} = t), do: t
    defp exact(%MT{type: {:f, 64}} = t), do: t
    defp exact(%MT{type: {kind, _}} = t) when kind in [:f, :bf], do: MT.as_type(t, {:f, 32})
    defp exact(%MT{} = t), do: MT.as_type(t, {:f, 64})

    @doc "The f32 engine tensor of Nx's f8 bytes (a u8 tensor)."
    @spec decode(MT.t(), Nx.Type.t()) :: MT.t()
    def decode(%MT{type: {:u, 8}} = bytes, type), do: kernel(:f8_decode, bytes, type)

    @doc "The f32 engine tensor of an f8 binary of `shape`."
    @spec from_binary(binary(), Nx.Type.t(), tuple()) :: MT.t()
    def from_binary(binary, type, shape),
      do: binary |> MT.from_binary({:u, 8}, shape: shape) |> decode(type)

    defp kernel(name, %MT{} = t, type) when type in @types,
      do: MT.dispatch(MT.size(t), name, :"#{name}_dirty", [t.ref, type == {:f8_e4m3fn, 8}])
  end
end
