defmodule Myelin.Metrics do
  @moduledoc """
  Metrics of `(y_true, y_pred)` returning a scalar tensor; `Myelin.Loop`
  averages them over an epoch. Targets may be one-hot rows or integer
  labels; predictions are scores per class (probabilities or logits).

      iex> y_true = Myelin.Tensor.tensor([1, 0, 1])
      iex> y_pred = Myelin.Tensor.tensor([[0.2, 0.8], [0.9, 0.1], [0.7, 0.3]])
      iex> Myelin.Metrics.accuracy(y_true, y_pred) |> Myelin.Tensor.to_number() |> Float.round(4)
      0.6667
  """

  alias Myelin.Tensor, as: T

  @doc """
  The fraction of correct predictions. Picks the right kind from the
  shapes: categorical (argmax of rows, targets one-hot or labels) when the
  predictions have more than one column; binary (threshold 0.5) otherwise.
  """
  @spec accuracy(T.t(), T.t()) :: T.t()
  def accuracy(y_true, y_pred) do
    if classes(y_pred) > 1,
      do: categorical_accuracy(y_true, y_pred),
      else: binary_accuracy(y_true, y_pred)
  end

  @doc "Binary accuracy: predictions above `threshold` (0.5) count as 1."
  @spec binary_accuracy(T.t(), T.t(), number()) :: T.t()
  def binary_accuracy(y_true, y_pred, threshold \\ 0.5) do
    pred = y_pred |> T.greater(threshold) |> T.reshape({T.size(y_pred)})
    truth = y_true |> T.greater(0.5) |> T.reshape({T.size(y_true)})
    pred |> T.equal(truth) |> T.mean()
  end

  @doc "Categorical accuracy: argmax of the prediction equals the label."
  @spec categorical_accuracy(T.t(), T.t()) :: T.t()
  def categorical_accuracy(y_true, y_pred) do
    labels(y_true, y_pred) |> T.equal(T.argmax(y_pred, axis: -1)) |> T.mean()
  end

  @doc "Accuracy for integer labels (same as `categorical_accuracy/2`)."
  @spec sparse_categorical_accuracy(T.t(), T.t()) :: T.t()
  def sparse_categorical_accuracy(y_true, y_pred), do: categorical_accuracy(y_true, y_pred)

  @doc """
  The fraction of examples whose label is among the `k` highest scores.

      iex> y_pred = Myelin.Tensor.tensor([[0.1, 0.5, 0.4], [0.6, 0.3, 0.1]])
      iex> Myelin.Metrics.top_k_accuracy(Myelin.Tensor.tensor([2, 2]), y_pred, 2) |> Myelin.Tensor.to_number()
      0.5
  """
  @spec top_k_accuracy(T.t(), T.t(), pos_integer()) :: T.t()
  def top_k_accuracy(y_true, y_pred, k \\ 5) do
    n = elem(y_pred.shape, 0)
    labels = labels(y_true, y_pred) |> T.reshape({n, 1})
    score = T.take_along_axis(y_pred, labels, axis: 1)
    # The label is in the top k when fewer than k scores beat it.
    y_pred |> T.greater(score) |> T.sum(axes: [1]) |> T.less(k) |> T.mean()
  end

  @doc "Precision of a binary classifier (threshold 0.5)."
  @spec precision(T.t(), T.t()) :: T.t()
  def precision(y_true, y_pred) do
    {tp, fp, _fn} = counts(y_true, y_pred)
    T.divide(tp, T.max(T.add(tp, fp), 1))
  end

  @doc "Recall of a binary classifier (threshold 0.5)."
  @spec recall(T.t(), T.t()) :: T.t()
  def recall(y_true, y_pred) do
    {tp, _fp, fn_} = counts(y_true, y_pred)
    T.divide(tp, T.max(T.add(tp, fn_), 1))
  end

  @doc """
  F1 score of a binary classifier (threshold 0.5).

      iex> Myelin.Metrics.f1(Myelin.Tensor.tensor([1, 0, 1, 1]), Myelin.Tensor.tensor([0.9, 0.8, 0.2, 0.7])) |> Myelin.Tensor.to_number() |> Float.round(4)
      0.6667
  """
  @spec f1(T.t(), T.t()) :: T.t()
  def f1(y_true, y_pred) do
    {tp, fp, fn_} = counts(y_true, y_pred)
    T.divide(T.multiply(tp, 2), T.max(T.add(T.multiply(tp, 2), T.add(fp, fn_)), 1))
  end

  @doc "Mean absolute error."
  @spec mean_absolute_error(T.t(), T.t()) :: T.t()
  def mean_absolute_error(y_true, y_pred), do: y_pred |> T.subtract(y_true) |> T.abs() |> T.mean()

  @doc "Mean squared error."
  @spec mean_squared_error(T.t(), T.t()) :: T.t()
  def mean_squared_error(y_true, y_pred) do
    d = T.subtract(y_pred, y_true)
    d |> T.multiply(d) |> T.mean()
  end

  @doc false
  def mae(y_true, y_pred), do: mean_absolute_error(y_true, y_pred)
  @doc false
  def mse(y_true, y_pred), do: mean_squared_error(y_true, y_pred)

  defp classes(t),
    do: if(tuple_size(t.shape) == 0, do: 1, else: elem(t.shape, tuple_size(t.shape) - 1))

  # Integer labels from one-hot rows or labels.
  defp labels(y_true, y_pred) do
    if y_true.shape == y_pred.shape,
      do: T.argmax(y_true, axis: -1),
      else: T.reshape(y_true, {elem(y_pred.shape, 0)})
  end

  defp counts(y_true, y_pred) do
    p = y_pred |> T.greater(0.5) |> T.reshape({T.size(y_pred)}) |> T.as_type({:s, 64})
    t = y_true |> T.greater(0.5) |> T.reshape({T.size(y_true)}) |> T.as_type({:s, 64})
    tp = T.sum(T.multiply(p, t))
    fp = T.sum(T.multiply(p, T.subtract(1, t)))
    fn_ = T.sum(T.multiply(T.subtract(1, p), t))
    {tp, fp, fn_}
  end
end
