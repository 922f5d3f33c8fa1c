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

  def params(norm, [shape], opts) when norm in [:layer_norm, :batch_norm, :group_norm] do
    c = channels(shape, opts)

    [
      {"gamma", {c}, opts[:gamma_initializer] || :ones},
      {"beta", {c}, opts[:beta_initializer] || :zeros}
    ]
  end

  def params(conv, [shape], opts) when conv in [:conv, :conv_transpose],
    do: Myelin.Layers.Conv.params(shape, opts)

  def params(:custom, shapes, opts) do
    for %Myelin.Param{name: name, shape: shape, initializer: init} <- opts[:params] || [] do
      shape = if is_function(shape), do: Kernel.apply(shape, shapes), else: shape

      unless is_tuple(shape) and Enum.all?(Tuple.to_list(shape), &(is_integer(&1) and &1 >= 0)) do
        raise ArgumentError,
              "param #{inspect(name)}: expected its shape to be a tuple of sizes, got #{inspect(shape)}"
      end

      {name, shape, init}
    end
  end

  def params(_op, _shapes, _opts), do: []

  @doc """
  The layer's non-trainable state (batch norm's running mean and
  variance): declared like parameters, stored in the model state, and
  replaced by the value `apply/5` returns while training.
  """
  @spec state(atom(), [tuple()], keyword()) :: [param()]
  def state(:batch_norm, [shape], opts) do
    c = channels(shape, opts)
    [{"mean", {c}, :zeros}, {"var", {c}, :ones}]
  end

  def state(_op, _shapes, _opts), do: []

  defp channels(shape, opts), do: elem(shape, axis(shape, opts))

  defp axis(shape, opts) do
    a = Keyword.get(opts, :channel_index, -1)
    if a < 0, do: tuple_size(shape) + a, else: a
  end

  # `v` ({c}) shaped to broadcast along the channel axis of `shape`.
  defp per_channel(v, shape, opts) do
    dims =
      List.duplicate(1, tuple_size(shape)) |> List.replace_at(axis(shape, opts), elem(v.shape, 0))

    T.reshape(v, List.to_tuple(dims))
  end

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

  # Batch norm as PyTorch: batch statistics while training (the running
  # variance tracks the unbiased batch variance), running ones in inference.
  def apply(:batch_norm, [x], p, opts, mode) do
    eps = Keyword.get(opts, :epsilon, 1.0e-5)
    momentum = Keyword.get(opts, :momentum, 0.1)
    a = axis(x.shape, opts)
    reduce_axes = Enum.to_list(0..(tuple_size(x.shape) - 1)) -- [a]
    scale = fn v -> per_channel(v, x.shape, opts) end

    {mean, var} =
      case mode do
        :train ->
          mean = T.mean(x, axes: reduce_axes, keep_axes: true)
          c = T.subtract(x, mean)
          {mean, c |> T.multiply(c) |> T.mean(axes: reduce_axes, keep_axes: true)}

        :inference ->
          {scale.(p["mean"]), scale.(p["var"])}
      end

    y =
      x
      |> T.subtract(mean)
      |> T.multiply(T.rsqrt(T.add(var, eps)))
      |> T.multiply(scale.(p["gamma"]))
      |> T.add(scale.(p["beta"]))

    case mode do
      :inference ->
        y

      :train ->
        n = div(T.size(x), elem(x.shape, a))
        unbiased = T.multiply(T.reshape(var, p["var"].shape), n / max(n - 1, 1))
        blend = fn old, new -> T.add(T.multiply(old, 1 - momentum), T.multiply(new, momentum)) end

        {y,
         %{
           "mean" => blend.(p["mean"], T.reshape(mean, p["mean"].shape)),
           "var" => blend.(p["var"], unbiased)
         }}
    end
  end

  # Group norm over channels-last input {n, ..., c}: statistics per example
  # and group of c / num_groups channels.
  def apply(:group_norm, [x], p, opts, _mode) do
    eps = Keyword.get(opts, :epsilon, 1.0e-5)
    groups = opts[:num_groups]
    [n | rest] = Tuple.to_list(x.shape)
    c = List.last(rest)
    spatial = Enum.product(Enum.drop(rest, -1))
    g = T.reshape(x, {n, spatial, groups, div(c, groups)})
    mean = T.mean(g, axes: [1, 3], keep_axes: true)
    d = T.subtract(g, mean)
    var = d |> T.multiply(d) |> T.mean(axes: [1, 3], keep_axes: true)

    d
    |> T.multiply(T.rsqrt(T.add(var, eps)))
    |> T.reshape(x.shape)
    |> T.multiply(p["gamma"])
    |> T.add(p["beta"])
  end

  def apply(:conv, [x], p, opts, _mode), do: Myelin.Layers.Conv.conv(x, p, opts)

  def apply(:conv_transpose, [x], p, opts, _mode),
    do: Myelin.Layers.Conv.conv_transpose(x, p, opts)

  def apply(:max_pool, [x], _p, opts, _mode), do: Myelin.Layers.Conv.pool(:max, x, opts)
  def apply(:avg_pool, [x], _p, opts, _mode), do: Myelin.Layers.Conv.pool(:avg, x, opts)

  def apply(:adaptive_max_pool, [x], _p, opts, _mode),
    do: Myelin.Layers.Conv.adaptive_pool(:max, x, opts)

  def apply(:adaptive_avg_pool, [x], _p, opts, _mode),
    do: Myelin.Layers.Conv.adaptive_pool(:avg, x, opts)

  def apply(:global_max_pool, [x], _p, opts, _mode),
    do: Myelin.Layers.Conv.global_pool(:max, x, opts)

  def apply(:global_avg_pool, [x], _p, opts, _mode),
    do: Myelin.Layers.Conv.global_pool(:avg, x, opts)

  def apply(:custom, xs, p, opts, mode) do
    fun = opts[:fun]
    arguments = opts[:arguments] || Enum.map(xs, fn _ -> :input end)

    {args, []} =
      Enum.map_reduce(arguments, xs, fn
        :input, [x | rest] -> {x, rest}
        {:param, name}, rest -> {Map.fetch!(p, name), rest}
      end)

    if is_function(fun, length(args) + 1) do
      layer_opts = opts |> Keyword.drop([:fun, :arguments, :params]) |> Keyword.put(:mode, mode)
      Kernel.apply(fun, args ++ [layer_opts])
    else
      Kernel.apply(fun, args)
    end
  end
end
