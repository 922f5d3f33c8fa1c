defmodule Myelin.Losses do
  @moduledoc """
  Loss functions of `(y_true, y_pred, opts)`, written with `Myelin.Tensor`
  ops (so they work eagerly and inside traced training graphs). Every loss
  takes `reduction:` `:mean` (default), `:sum` or `:none` (one value per
  example).

  `categorical_cross_entropy` takes one-hot (or probability) targets, or
  integer labels with `sparse: true`, and predictions as probabilities, or
  logits with `from_logits: true`. From logits it uses the engine's fused,
  max-shifted softmax cross-entropy inside graphs.

      iex> y_true = Myelin.Tensor.tensor([[0.0, 1.0]])
      iex> y_pred = Myelin.Tensor.tensor([[0.25, 0.75]])
      iex> Myelin.Losses.categorical_cross_entropy(y_true, y_pred) |> Myelin.Tensor.to_number() |> Float.round(4)
      0.2877
  """

  alias Myelin.Tensor, as: T

  @names [
    :mean_squared_error,
    :mean_absolute_error,
    :huber,
    :categorical_cross_entropy,
    :binary_cross_entropy,
    :negative_log_likelihood,
    :kl_divergence,
    :cosine_similarity
  ]

  @eps 1.0e-7

  @doc "The loss names that `Myelin.Loop.trainer/3` accepts as atoms."
  @spec names() :: [atom()]
  def names, do: @names

  @doc """
  Mean of (y_true - y_pred)^2 over the last axis.

      iex> Myelin.Losses.mean_squared_error(Myelin.Tensor.tensor([[1.0, 2.0]]), Myelin.Tensor.tensor([[1.0, 4.0]])) |> Myelin.Tensor.to_number()
      2.0
  """
  @spec mean_squared_error(T.t(), T.t(), keyword()) :: T.t()
  def mean_squared_error(y_true, y_pred, opts \\ []) do
    d = T.subtract(y_pred, y_true)
    d |> T.multiply(d) |> T.mean(axes: [-1]) |> reduce(opts)
  end

  @doc "Mean of |y_true - y_pred| over the last axis."
  @spec mean_absolute_error(T.t(), T.t(), keyword()) :: T.t()
  def mean_absolute_error(y_true, y_pred, opts \\ []) do
    y_pred |> T.subtract(y_true) |> T.abs() |> T.mean(axes: [-1]) |> reduce(opts)
  end

  @doc "Huber loss with `delta:` (default 1.0), averaged over the last axis."
  @spec huber(T.t(), T.t(), keyword()) :: T.t()
  def huber(y_true, y_pred, opts \\ []) do
    {delta, opts} = Keyword.pop(opts, :delta, 1.0)
    a = y_pred |> T.subtract(y_true) |> T.abs()
    quad = T.min(a, delta)
    lin = T.subtract(a, quad)

    quad
    |> T.multiply(quad)
    |> T.multiply(0.5)
    |> T.add(T.multiply(lin, delta))
    |> T.mean(axes: [-1])
    |> reduce(opts)
  end

  @doc """
  Cross-entropy between target distributions (or integer labels with
  `sparse: true`) and predicted probabilities (or logits with
  `from_logits: true`), over the last axis.
  """
  @spec categorical_cross_entropy(T.t(), T.t(), keyword()) :: T.t()
  def categorical_cross_entropy(y_true, y_pred, opts \\ []) do
    {from_logits, opts} = Keyword.pop(opts, :from_logits, false)
    {sparse, opts} = Keyword.pop(opts, :sparse, false)
    y_true = if sparse, do: one_hot(y_true, y_pred), else: y_true

    per_example =
      cond do
        from_logits and Myelin.Graph.traced?(y_pred) ->
          Myelin.Graph.record_fused(:softmax_cross_entropy, [
            y_pred,
            T.as_type(y_true, y_pred.type),
            -1
          ])

        from_logits ->
          y_pred
          |> Myelin.Activations.log_softmax()
          |> T.multiply(y_true)
          |> T.sum(axes: [-1])
          |> T.negate()

        true ->
          y_pred
          |> T.clip(@eps, 1.0 - @eps)
          |> T.log()
          |> T.multiply(y_true)
          |> T.sum(axes: [-1])
          |> T.negate()
      end

    reduce(per_example, opts)
  end

  @doc """
  Binary cross-entropy of targets in [0, 1] and probabilities (or logits
  with `from_logits: true`, computed stably), averaged over the last axis.
  """
  @spec binary_cross_entropy(T.t(), T.t(), keyword()) :: T.t()
  def binary_cross_entropy(y_true, y_pred, opts \\ []) do
    {from_logits, opts} = Keyword.pop(opts, :from_logits, false)

    per_element =
      if from_logits do
        # softplus(x) - x * y, with softplus's stable form (also right in the gradient at x = 0)
        y_pred |> Myelin.Activations.softplus() |> T.subtract(T.multiply(y_pred, y_true))
      else
        p = T.clip(y_pred, @eps, 1.0 - @eps)
        pos = T.multiply(y_true, T.log(p))
        neg = T.multiply(T.subtract(1.0, y_true), T.log(T.subtract(1.0, p)))
        T.negate(T.add(pos, neg))
      end

    per_element |> T.mean(axes: [-1]) |> reduce(opts)
  end

  @doc """
  Negative log-likelihood of integer labels (or one-hot targets) given
  log-probabilities over the last axis (as PyTorch's `nll_loss`).
  """
  @spec negative_log_likelihood(T.t(), T.t(), keyword()) :: T.t()
  def negative_log_likelihood(y_true, log_probs, opts \\ []) do
    {sparse, opts} = Keyword.pop(opts, :sparse, y_true.shape != log_probs.shape)
    y_true = if sparse, do: one_hot(y_true, log_probs), else: y_true
    log_probs |> T.multiply(y_true) |> T.sum(axes: [-1]) |> T.negate() |> reduce(opts)
  end

  @doc "KL divergence sum(y_true * log(y_true / y_pred)) over the last axis."
  @spec kl_divergence(T.t(), T.t(), keyword()) :: T.t()
  def kl_divergence(y_true, y_pred, opts \\ []) do
    t = T.clip(y_true, @eps, 1.0)
    p = T.clip(y_pred, @eps, 1.0)
    t |> T.divide(p) |> T.log() |> T.multiply(y_true) |> T.sum(axes: [-1]) |> reduce(opts)
  end

  @doc """
  Cosine similarity over the last axis (as Keras, a value in [-1, 1]; use
  its negation to minimize).
  """
  @spec cosine_similarity(T.t(), T.t(), keyword()) :: T.t()
  def cosine_similarity(y_true, y_pred, opts \\ []) do
    dot = y_true |> T.multiply(y_pred) |> T.sum(axes: [-1])
    nt = y_true |> T.multiply(y_true) |> T.sum(axes: [-1]) |> T.max(@eps * @eps) |> T.rsqrt()
    np = y_pred |> T.multiply(y_pred) |> T.sum(axes: [-1]) |> T.max(@eps * @eps) |> T.rsqrt()
    dot |> T.multiply(nt) |> T.multiply(np) |> reduce(opts)
  end

  @doc false
  # Integer labels {n} (or {n, 1}) as one-hot rows matching `like` {n, c}.
  def one_hot(labels, like) do
    classes = elem(like.shape, tuple_size(like.shape) - 1)
    labels = T.reshape(labels, {T.size(labels), 1})
    labels |> T.equal(T.iota({1, classes})) |> T.as_type(like.type)
  end

  defp reduce(t, opts) do
    case Keyword.get(opts, :reduction, :mean) do
      :mean ->
        T.mean(t)

      :sum ->
        T.sum(t)

      :none ->
        t

      other ->
        raise ArgumentError,
              "loss: unknown reduction #{inspect(other)}, expected :mean, :sum or :none"
    end
  end
end
