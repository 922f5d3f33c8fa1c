defmodule Myelin.Tensor.Type do
  @moduledoc """
  Element types, written as Nx writes them: `{:u, 8}`, `{:s, 64}`,
  `{:f, 32}`, `{:bf, 16}`, or the short atoms `:u8`, `:s64`, `:f32`, `:bf16`.

  Myelin supports u8 u16 u32 u64 s8 s16 s32 s64 f16 bf16 f32 f64. Booleans
  (results of comparisons and logical ops) are `{:u, 8}` holding 0 or 1.
  """

  @type t :: {:u | :s | :f | :bf, 8 | 16 | 32 | 64}

  @valid [
    {:u, 8},
    {:u, 16},
    {:u, 32},
    {:u, 64},
    {:s, 8},
    {:s, 16},
    {:s, 32},
    {:s, 64},
    {:f, 16},
    {:bf, 16},
    {:f, 32},
    {:f, 64}
  ]

  @short Map.new(@valid, fn {k, b} = t -> {String.to_atom("#{k}#{b}"), t} end)

  @doc """
  Normalizes a type given as a tuple or a short atom, raising for anything
  else. `op` names the calling function in the error.

      iex> Myelin.Tensor.Type.normalize!(:bf16, :tensor)
      {:bf, 16}
      iex> Myelin.Tensor.Type.normalize!({:s, 32}, :tensor)
      {:s, 32}
  """
  @spec normalize!(t() | atom(), atom()) :: t()
  def normalize!(type, _op) when type in @valid, do: type

  def normalize!(type, _op) when is_atom(type) and is_map_key(@short, type),
    do: Map.fetch!(@short, type)

  def normalize!(type, op) do
    raise ArgumentError,
          "#{op}: unknown type #{inspect(type)}, expected one of " <>
            Enum.map_join(@valid, ", ", &inspect/1) <> " (or the short atoms such as :f32)"
  end

  @doc """
  True for the float types.

      iex> Myelin.Tensor.Type.float?({:bf, 16})
      true
      iex> Myelin.Tensor.Type.float?({:s, 8})
      false
  """
  @spec float?(t()) :: boolean()
  def float?({kind, _}), do: kind in [:f, :bf]

  @doc """
  The type Nx infers for a number: `{:s, 64}` for integers, `{:f, 32}` for
  floats and the non-finite atoms.

      iex> Myelin.Tensor.Type.infer(1)
      {:s, 64}
      iex> Myelin.Tensor.Type.infer(:nan)
      {:f, 32}
  """
  @spec infer(number() | atom()) :: t()
  def infer(n) when is_integer(n), do: {:s, 64}
  def infer(_), do: {:f, 32}

  @doc """
  The type a number takes when combined with a tensor of type `type` (Nx's
  rule for "weak" scalar types): integers take the tensor's type; floats take
  the tensor's type when it is a float type, and `{:f, 32}` otherwise.

      iex> Myelin.Tensor.Type.merge_number({:u, 8}, 3)
      {:u, 8}
      iex> Myelin.Tensor.Type.merge_number({:s, 32}, 0.5)
      {:f, 32}
      iex> Myelin.Tensor.Type.merge_number({:f, 16}, 0.5)
      {:f, 16}
  """
  @spec merge_number(t(), number() | atom()) :: t()
  def merge_number(type, n) when is_integer(n), do: type
  def merge_number(type, _), do: if(float?(type), do: type, else: {:f, 32})
end
