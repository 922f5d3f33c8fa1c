defmodule Myelin.Activations do
  @moduledoc """
  Activation functions, written with `Myelin.Tensor` ops so they run eagerly
  on concrete tensors and record graph nodes when traced (and so get their
  gradients from the ops' rules). `log_softmax` and `softmax` use the
  engine's fused, max-shifted kernel inside graphs.

      iex> Myelin.Activations.relu(Myelin.Tensor.tensor([-1.0, 2.0])) |> Myelin.Tensor.to_list()
      [0.0, 2.0]
  """

  alias Myelin.Tensor, as: T

  @names [
    :relu,
    :relu6,
    :leaky_relu,
    :elu,
    :selu,
    :celu,
    :gelu,
    :gelu_tanh,
    :silu,
    :mish,
    :sigmoid,
    :hard_sigmoid,
    :hard_tanh,
    :tanh,
    :softplus,
    :softsign,
    :softmax,
    :log_softmax,
    :linear
  ]

  @doc """
  The names `apply/3` accepts (and `Myelin.dense(..., activation:)`).

      iex> :relu in Myelin.Activations.names()
      true
  """
  @spec names() :: [atom()]
  def names, do: @names

  @doc """
  Applies the activation named `name` with its options.

      iex> Myelin.Activations.apply(:linear, Myelin.Tensor.tensor([1.0])) |> Myelin.Tensor.to_list()
      [1.0]
  """
  @spec apply(atom(), T.t(), keyword()) :: T.t()
  def apply(name, x, opts \\ [])

  def apply(name, x, opts) when name in @names do
    if opts == [],
      do: Kernel.apply(__MODULE__, name, [x]),
      else: Kernel.apply(__MODULE__, name, [x, opts])
  end

  def apply(name, _x, _opts) do
    raise ArgumentError,
          "activation: unknown activation #{inspect(name)}, expected one of #{inspect(@names)}"
  end

  @doc "max(x, 0)."
  @spec relu(T.t()) :: T.t()
  def relu(x), do: T.max(x, 0.0)

  @doc "min(max(x, 0), 6)."
  @spec relu6(T.t()) :: T.t()
  def relu6(x), do: x |> T.max(0.0) |> T.min(6.0)

  @doc "x where x > 0, else `alpha` * x (`alpha:` default 0.01)."
  @spec leaky_relu(T.t(), keyword()) :: T.t()
  def leaky_relu(x, opts \\ []) do
    alpha = Keyword.get(opts, :alpha, 0.01)
    T.select(T.greater(x, 0.0), x, T.multiply(x, alpha))
  end

  @doc "x where x > 0, else `alpha` * (e^x - 1) (`alpha:` default 1.0)."
  @spec elu(T.t(), keyword()) :: T.t()
  def elu(x, opts \\ []) do
    alpha = Keyword.get(opts, :alpha, 1.0)
    positive = T.greater(x, 0.0)
    # The select keeps the branch not taken from overflowing; unlike
    # min(x, 0), whose gradient stops at the tie, it passes elu'(0) = alpha
    # (PyTorch's value).
    T.select(positive, x, T.multiply(T.expm1(T.select(positive, 0.0, x)), alpha))
  end

  @doc "Scaled ELU with the self-normalizing constants."
  @spec selu(T.t()) :: T.t()
  def selu(x) do
    alpha = 1.6732632423543772
    scale = 1.0507009873554805
    T.multiply(elu(x, alpha: alpha), scale)
  end

  @doc "max(0, x) + min(0, alpha * (e^(x / alpha) - 1)) (`alpha:` default 1.0)."
  @spec celu(T.t(), keyword()) :: T.t()
  def celu(x, opts \\ []) do
    alpha = Keyword.get(opts, :alpha, 1.0)
    # One select, not max(x, 0) + min(...), whose kinks at 0 would decide
    # celu'(0) by their tie rules. The inner select keeps the branch not taken
    # from overflowing and passes the gradient at 0, so celu'(0) = 1.
    positive = T.greater(x, 0.0)
    neg = T.select(positive, 0.0, x) |> T.divide(alpha) |> T.expm1() |> T.multiply(alpha)
    T.select(positive, x, neg)
  end

  @doc "The exact GELU: x * Φ(x) = x / 2 * (1 + erf(x / √2))."
  @spec gelu(T.t()) :: T.t()
  def gelu(x) do
    x
    |> T.multiply(0.7071067811865476)
    |> T.erf()
    |> T.add(1.0)
    |> T.multiply(x)
    |> T.multiply(0.5)
  end

  @doc "GELU's tanh approximation (as `approximate=\"tanh\"` in PyTorch)."
  @spec gelu_tanh(T.t()) :: T.t()
  def gelu_tanh(x) do
    inner = x |> T.multiply(x) |> T.multiply(x) |> T.multiply(0.044715) |> T.add(x)

    inner
    |> T.multiply(0.7978845608028654)
    |> T.tanh()
    |> T.add(1.0)
    |> T.multiply(x)
    |> T.multiply(0.5)
  end

  @doc "x * sigmoid(x) (also called swish)."
  @spec silu(T.t()) :: T.t()
  def silu(x), do: T.multiply(x, T.sigmoid(x))

  @doc "x * tanh(softplus(x))."
  @spec mish(T.t()) :: T.t()
  def mish(x), do: T.multiply(x, T.tanh(softplus(x)))

  @doc "1 / (1 + e^-x)."
  @spec sigmoid(T.t()) :: T.t()
  def sigmoid(x), do: T.sigmoid(x)

  @doc "clip(x / 6 + 1 / 2, 0, 1), as PyTorch's hardsigmoid."
  @spec hard_sigmoid(T.t()) :: T.t()
  def hard_sigmoid(x), do: x |> T.divide(6.0) |> T.add(0.5) |> T.max(0.0) |> T.min(1.0)

  @doc "clip(x, -1, 1)."
  @spec hard_tanh(T.t()) :: T.t()
  def hard_tanh(x), do: x |> T.max(-1.0) |> T.min(1.0)

  @doc "The hyperbolic tangent."
  @spec tanh(T.t()) :: T.t()
  def tanh(x), do: T.tanh(x)

  @doc "log(1 + e^x), computed as max(x, 0) + log1p(e^-|x|) so it never overflows."
  @spec softplus(T.t()) :: T.t()
  def softplus(x) do
    # max(x, 0) and |x| through one select on the same test, so that their kinks at 0
    # cancel in the gradient as they do in the value: with max and abs, softplus'(0)
    # was 1 (max passes the gradient on the tie, abs' is 0) instead of sigmoid(0) = 1/2.
    pos = T.greater(x, 0.0)
    magnitude = T.select(pos, x, T.negate(x))
    T.add(T.select(pos, x, 0.0), T.log1p(T.exp(T.negate(magnitude))))
  end

  @doc "x / (1 + |x|)."
  @spec softsign(T.t()) :: T.t()
  def softsign(x), do: T.divide(x, T.add(T.abs(x), 1.0))

  @doc """
  The softmax over the last axis (or `axis:`).

      iex> Myelin.Activations.softmax(Myelin.Tensor.tensor([0.0, 0.0])) |> Myelin.Tensor.to_list()
      [0.5, 0.5]
  """
  @spec softmax(T.t(), keyword()) :: T.t()
  def softmax(x, opts \\ []), do: x |> log_softmax(opts) |> T.exp()

  @doc "log(softmax(x)) over the last axis (or `axis:`), max-shifted."
  @spec log_softmax(T.t(), keyword()) :: T.t()
  def log_softmax(x, opts \\ []) do
    axis = Keyword.get(opts, :axis, -1)

    if Myelin.Graph.traced?(x) do
      Myelin.Graph.record_fused(:log_softmax, [x, axis])
    else
      # Shift by the maximum first: x - max is exact, so the largest entries keep their
      # relative accuracy (x - logsumexp(x) rounds to the ulp of |x|: an error of 3e-7
      # on -1.1e-5 in f32 when x is 12).
      shifted = T.subtract(x, T.reduce_max(x, axes: [axis], keep_axes: true))
      T.subtract(shifted, T.log(T.sum(T.exp(shifted), axes: [axis], keep_axes: true)))
    end
  end

  @doc "x itself."
  @spec linear(T.t()) :: T.t()
  def linear(x), do: x
end
