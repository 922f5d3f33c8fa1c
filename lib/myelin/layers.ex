defmodule Myelin.Layers do
  @moduledoc """
  What each layer kind computes. For every `op`, `params/3` says which
  parameters it has (name, shape, initializer) given its input shapes, and
  `apply/5` computes its output from input tensors and parameter tensors
  with `Myelin.Tensor` ops. Both run on traced tensors when a model is
  compiled, so a layer's gradient comes from its ops' rules.

  Custom layers (`Myelin.layer/3`) pass their function in `opts[:fun]`.
  """

  alias Myelin.Tensor, as: T

  @typedoc "A parameter declaration: name, shape, initializer."
  @type param :: {String.t(), tuple(), atom() | {atom(), keyword()}}

  @doc "The parameters of a layer with these input shapes."
  @spec params(atom(), [tuple()], keyword()) :: [param()]
  def params(:dense, [shape], opts) do
    units = opts[:units]
    features = elem(shape, tuple_size(shape) - 1)
    kernel = {"kernel", {features, units}, opts[:kernel_initializer] || :glorot_uniform}
    bias = {"bias", {units}, opts[:bias_initializer] || :zeros}
    if Keyword.get(opts, :use_bias, true), do: [kernel, bias], else: [kernel]
  end

  def params(:embedding, [_shape], opts) do
    [
      {"kernel", {opts[:vocab_size], opts[:embedding_size]},
       opts[:kernel_initializer] || :uniform}
    ]
  end

  def params(norm, [shape], opts) when norm in [:layer_norm, :batch_norm_affine] do
    c = elem(shape, tuple_size(shape) - 1)
    _ = opts
    [{"gamma", {c}, :ones}, {"beta", {c}, :zeros}]
  end

  def params(_op, _shapes, _opts), do: []

  @doc """
  The layer's output from its inputs, parameters (a map by name) and
  `mode` (`:train` or `:inference`).
  """
  @spec apply(atom(), [T.t()], map(), keyword(), :train | :inference) :: T.t()
  def apply(:dense, [x], p, _opts, _mode) do
    y = T.dot(x, p["kernel"])
    if p["bias"], do: T.add(y, p["bias"]), else: y
  end

  def apply(:activation, [x], _p, opts, _mode) do
    Myelin.Activations.apply(opts[:activation], x, Keyword.get(opts, :activation_opts, []))
  end

  def apply(:dropout, [x], _p, opts, :train) do
    Myelin.Graph.record_fused(:dropout, [x, opts[:rate] * 1.0, opts[:salt]])
  end

  def apply(:dropout, [x], _p, _opts, :inference), do: x

  def apply(:flatten, [x], _p, _opts, _mode) do
    [n | rest] = Tuple.to_list(x.shape)
    T.reshape(x, {n, Enum.product(rest)})
  end

  def apply(:reshape, [x], _p, opts, _mode) do
    T.reshape(x, List.to_tuple([elem(x.shape, 0) | Tuple.to_list(opts[:shape])]))
  end

  def apply(:transpose, [x], _p, opts, _mode) do
    T.transpose(x, axes: [0 | Enum.map(opts[:permutation], &(&1 + 1))])
  end

  def apply(:add, xs, _p, _opts, _mode), do: Enum.reduce(tl(xs), hd(xs), &T.add(&2, &1))
  def apply(:multiply, xs, _p, _opts, _mode), do: Enum.reduce(tl(xs), hd(xs), &T.multiply(&2, &1))

  def apply(:concatenate, xs, _p, opts, _mode),
    do: T.concatenate(xs, axis: Keyword.get(opts, :axis, -1))

  def apply(:embedding, [idx], p, _opts, _mode), do: T.take(p["kernel"], idx, axis: 0)

  def apply(:layer_norm, [x], p, opts, _mode) do
    eps = Keyword.get(opts, :epsilon, 1.0e-5)
    mean = T.mean(x, axes: [-1], keep_axes: true)
    c = T.subtract(x, mean)
    var = c |> T.multiply(c) |> T.mean(axes: [-1], keep_axes: true)
    c |> T.multiply(T.rsqrt(T.add(var, eps))) |> T.multiply(p["gamma"]) |> T.add(p["beta"])
  end

  def apply(:custom, xs, _p, opts, _mode), do: Kernel.apply(opts[:fun], xs)
end
