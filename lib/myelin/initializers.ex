defmodule Myelin.Initializers do
  @moduledoc """
  Parameter initializers. Each takes a shape, a type and a seed and returns
  a tensor; the same seed gives the same values on every machine.

  Fan-in and fan-out follow Keras and Axon: for a kernel of shape
  `{..., in, out}` (dense) or `{out, in, *window}` (convolution, channels
  first) they are `in * receptive field` and `out * receptive field`.

      iex> t = Myelin.Initializers.init(:zeros, {2}, {:f, 32}, 0)
      iex> Myelin.Tensor.to_list(t)
      [0.0, 0.0]
  """

  alias Myelin.Tensor, as: T

  @names [
    :zeros,
    :ones,
    :full,
    :uniform,
    :normal,
    :glorot_uniform,
    :glorot_normal,
    :he_uniform,
    :he_normal,
    :lecun_uniform,
    :lecun_normal,
    :orthogonal
  ]

  @doc "The initializer names `init/5` accepts."
  @spec names() :: [atom()]
  def names, do: @names

  @doc """
  Initializes a tensor of `shape` and `type` with the initializer `name`
  (or `{name, opts}`: `value:` for `:full`, `scale:` for `:uniform` and
  `:normal`) from `seed`.

      iex> t = Myelin.Initializers.init(:glorot_uniform, {784, 128}, {:f, 32}, 7)
      iex> limit = :math.sqrt(6 / (784 + 128))
      iex> Myelin.Tensor.to_flat_list(t) |> Enum.all?(&(abs(&1) <= limit))
      true
  """
  @spec init(atom() | {atom(), keyword()}, tuple(), T.Type.t(), non_neg_integer()) :: T.t()
  def init({name, opts}, shape, type, seed), do: init(name, shape, type, seed, opts)
  def init(name, shape, type, seed), do: init(name, shape, type, seed, [])

  defp init(:zeros, shape, type, _seed, _opts), do: T.full(shape, 0, type: type)
  defp init(:ones, shape, type, _seed, _opts), do: T.full(shape, 1, type: type)

  defp init(:full, shape, type, _seed, opts),
    do: T.full(shape, Keyword.fetch!(opts, :value), type: type)

  defp init(:uniform, shape, type, seed, opts) do
    s = Keyword.get(opts, :scale, 0.01)
    T.random_uniform(shape, min: -s, max: s, type: type, seed: seed)
  end

  defp init(:normal, shape, type, seed, opts) do
    T.random_normal(shape,
      standard_deviation: Keyword.get(opts, :scale, 0.01),
      type: type,
      seed: seed
    )
  end

  defp init(:glorot_uniform, shape, type, seed, _), do: variance_uniform(shape, type, seed, :avg)
  defp init(:glorot_normal, shape, type, seed, _), do: variance_normal(shape, type, seed, :avg)

  defp init(:he_uniform, shape, type, seed, _),
    do: variance_uniform(shape, type, seed, {:in, 2.0})

  defp init(:he_normal, shape, type, seed, _), do: variance_normal(shape, type, seed, {:in, 2.0})

  defp init(:lecun_uniform, shape, type, seed, _),
    do: variance_uniform(shape, type, seed, {:in, 1.0})

  defp init(:lecun_normal, shape, type, seed, _),
    do: variance_normal(shape, type, seed, {:in, 1.0})

  defp init(:orthogonal, shape, type, seed, _), do: orthogonal(shape, type, seed)

  defp init(name, _shape, _type, _seed, _opts) do
    raise ArgumentError,
          "initializer: unknown initializer #{inspect(name)}, expected one of #{inspect(@names)}"
  end

  @doc false
  # {fan_in, fan_out} of a kernel shape.
  def fans(shape) do
    case Tuple.to_list(shape) do
      [] -> {1, 1}
      [n] -> {n, n}
      [i, o] -> {i, o}
      [o, i | window] -> {i * Enum.product(window), o * Enum.product(window)}
    end
  end

  defp variance(shape, :avg), do: (fn {i, o} -> 2.0 / (i + o) end).(fans(shape))
  defp variance(shape, {:in, scale}), do: scale / elem(fans(shape), 0)

  defp variance_uniform(shape, type, seed, mode) do
    limit = :math.sqrt(3.0 * variance(shape, mode))
    T.random_uniform(shape, min: -limit, max: limit, type: type, seed: seed)
  end

  # Keras and Axon draw a truncated normal; a plain normal with the same
  # variance serves the same purpose.
  defp variance_normal(shape, type, seed, mode) do
    T.random_normal(shape,
      standard_deviation: :math.sqrt(variance(shape, mode)),
      type: type,
      seed: seed
    )
  end

  # Gram–Schmidt on a normal matrix, rows × cols = first dim × the rest
  # (transposed when wider than tall), so rows or columns are orthonormal.
  defp orthogonal(shape, type, seed) do
    [rows | rest] = Tuple.to_list(shape)
    cols = Enum.product(rest)
    {n, m} = if rows < cols, do: {cols, rows}, else: {rows, cols}
    flat = T.random_normal({m, n}, type: {:f, 64}, seed: seed) |> T.to_list()

    basis =
      Enum.reduce(flat, [], fn v, acc ->
        w =
          Enum.reduce(acc, v, fn u, w ->
            d = dot(w, u)
            Enum.zip_with(w, u, &(&1 - d * &2))
          end)

        norm = :math.sqrt(max(dot(w, w), 1.0e-30))
        acc ++ [Enum.map(w, &(&1 / norm))]
      end)

    t = T.tensor(basis, type: {:f, 64})
    t = if rows < cols, do: t, else: T.transpose(t)
    t |> T.reshape(shape) |> T.as_type(type)
  end

  defp dot(a, b), do: Enum.zip_with(a, b, &(&1 * &2)) |> Enum.sum()
end
