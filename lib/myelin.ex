defmodule Myelin do
  @moduledoc """
  Myelin: train and run neural networks inside your Elixir application.

  Models are declared with Axon's names and argument order, as plain data,
  and compiled into the engine's graph (forward, gradients and an
  execution plan) when they first run:

      model =
        Myelin.input("image", shape: {nil, 784})
        |> Myelin.dense(128, activation: :relu)
        |> Myelin.dense(10, activation: :softmax)

      state =
        model
        |> Myelin.Loop.trainer(:categorical_cross_entropy, Myelin.Optimizers.adam(learning_rate: 1.0e-3))
        |> Myelin.Loop.metric(:accuracy)
        |> Myelin.Loop.run(train_batches, %{}, epochs: 5)

      Myelin.predict(model, state, x)

  Tensors and their ops are in `Myelin.Tensor`; training in `Myelin.Loop`.

      iex> model = Myelin.input("x", shape: {nil, 3}) |> Myelin.dense(2)
      iex> {init_fn, predict_fn} = Myelin.build(model)
      iex> state = init_fn.(Myelin.Tensor.iota({1, 3}, type: {:f, 32}), %{})
      iex> predict_fn.(state, Myelin.Tensor.iota({4, 3}, type: {:f, 32})).shape
      {4, 2}
  """

  alias Myelin.{Compiler, Graph, Node, Tensor}

  @typedoc "A model: its output layer (plain data; see `Myelin.Node`)."
  @type model :: Node.t()

  ## Layers

  @doc """
  A model input named `name`, with `shape:` (use `nil` for the batch
  dimension) and `type:` (default `{:f, 32}`).
  """
  @spec input(String.t(), keyword()) :: model()
  def input(name, opts \\ []) when is_binary(name) do
    opts = Tensor.validate_opts!(opts, [:shape, :type], :input)
    Node.new(:input, [], Keyword.merge([type: {:f, 32}], opts) |> Keyword.put(:name, name))
  end

  @doc """
  A dense (fully connected) layer of `units`: `x · kernel + bias`, then
  `activation:` (default none). Options: `use_bias:` (true),
  `kernel_initializer:` (`:glorot_uniform`), `bias_initializer:` (`:zeros`),
  `name:`.
  """
  @spec dense(model(), pos_integer(), keyword()) :: model()
  def dense(x, units, opts \\ []) when is_integer(units) and units > 0 do
    opts =
      Tensor.validate_opts!(
        opts,
        [:activation, :use_bias, :kernel_initializer, :bias_initializer, :name],
        :dense
      )

    {activation, opts} = Keyword.pop(opts, :activation)
    node = Node.new(:dense, [x], [units: units] ++ opts)
    if activation, do: activation(node, activation), else: node
  end

  @doc "Applies the activation `name` (see `Myelin.Activations.names/0`) as a layer."
  @spec activation(model(), atom(), keyword()) :: model()
  def activation(x, name, opts \\ []) do
    unless name in Myelin.Activations.names() do
      raise ArgumentError,
            "activation: unknown activation #{inspect(name)}, expected one of #{inspect(Myelin.Activations.names())}"
    end

    {layer_opts, act_opts} = Keyword.split(opts, [:name])
    Node.new(:activation, [x], [activation: name, activation_opts: act_opts] ++ layer_opts)
  end

  @doc "ReLU layer."
  @spec relu(model(), keyword()) :: model()
  def relu(x, opts \\ []), do: activation(x, :relu, opts)
  @doc "ReLU6 layer."
  @spec relu6(model(), keyword()) :: model()
  def relu6(x, opts \\ []), do: activation(x, :relu6, opts)
  @doc "Leaky ReLU layer (`alpha:`)."
  @spec leaky_relu(model(), keyword()) :: model()
  def leaky_relu(x, opts \\ []), do: activation(x, :leaky_relu, opts)
  @doc "ELU layer (`alpha:`)."
  @spec elu(model(), keyword()) :: model()
  def elu(x, opts \\ []), do: activation(x, :elu, opts)
  @doc "SELU layer."
  @spec selu(model(), keyword()) :: model()
  def selu(x, opts \\ []), do: activation(x, :selu, opts)
  @doc "CELU layer (`alpha:`)."
  @spec celu(model(), keyword()) :: model()
  def celu(x, opts \\ []), do: activation(x, :celu, opts)
  @doc "Exact GELU layer."
  @spec gelu(model(), keyword()) :: model()
  def gelu(x, opts \\ []), do: activation(x, :gelu, opts)
  @doc "SiLU (swish) layer."
  @spec silu(model(), keyword()) :: model()
  def silu(x, opts \\ []), do: activation(x, :silu, opts)
  @doc "Mish layer."
  @spec mish(model(), keyword()) :: model()
  def mish(x, opts \\ []), do: activation(x, :mish, opts)
  @doc "Sigmoid layer."
  @spec sigmoid(model(), keyword()) :: model()
  def sigmoid(x, opts \\ []), do: activation(x, :sigmoid, opts)
  @doc "Hard sigmoid layer."
  @spec hard_sigmoid(model(), keyword()) :: model()
  def hard_sigmoid(x, opts \\ []), do: activation(x, :hard_sigmoid, opts)
  @doc "Hard tanh layer."
  @spec hard_tanh(model(), keyword()) :: model()
  def hard_tanh(x, opts \\ []), do: activation(x, :hard_tanh, opts)
  @doc "Tanh layer."
  @spec tanh(model(), keyword()) :: model()
  def tanh(x, opts \\ []), do: activation(x, :tanh, opts)
  @doc "Softplus layer."
  @spec softplus(model(), keyword()) :: model()
  def softplus(x, opts \\ []), do: activation(x, :softplus, opts)
  @doc "Softsign layer."
  @spec softsign(model(), keyword()) :: model()
  def softsign(x, opts \\ []), do: activation(x, :softsign, opts)
  @doc "Softmax layer (last axis)."
  @spec softmax(model(), keyword()) :: model()
  def softmax(x, opts \\ []), do: activation(x, :softmax, opts)
  @doc "Log-softmax layer (last axis)."
  @spec log_softmax(model(), keyword()) :: model()
  def log_softmax(x, opts \\ []), do: activation(x, :log_softmax, opts)

  @doc """
  Dropout: zeroes each element with probability `rate:` (default 0.5) and
  scales the rest by 1 / (1 - rate) while training; the identity in
  inference. The mask is drawn per step from the trainer's seed.
  """
  @spec dropout(model(), keyword()) :: model()
  def dropout(x, opts \\ []) do
    opts = Tensor.validate_opts!(opts, [:rate, :name], :dropout)
    rate = Keyword.get(opts, :rate, 0.5)

    unless is_number(rate) and rate >= 0 and rate < 1 do
      raise ArgumentError, "dropout: expected rate: in [0, 1), got #{inspect(rate)}"
    end

    Node.new(:dropout, [x], Keyword.put(opts, :rate, rate))
  end

  @doc "Flattens every axis but the batch axis."
  @spec flatten(model(), keyword()) :: model()
  def flatten(x, opts \\ []), do: Node.new(:flatten, [x], opts)

  @doc "Reshapes every example to `shape` (the batch axis is kept)."
  @spec reshape(model(), tuple(), keyword()) :: model()
  def reshape(x, shape, opts \\ []), do: Node.new(:reshape, [x], [shape: shape] ++ opts)

  @doc "Permutes every example's axes (the batch axis is kept)."
  @spec transpose(model(), [non_neg_integer()], keyword()) :: model()
  def transpose(x, permutation, opts \\ []),
    do: Node.new(:transpose, [x], [permutation: permutation] ++ opts)

  @doc "Elementwise sum of several layers."
  @spec add([model()], keyword()) :: model()
  def add(xs, opts \\ []) when is_list(xs), do: Node.new(:add, xs, opts)

  @doc "Elementwise product of several layers."
  @spec multiply([model()], keyword()) :: model()
  def multiply(xs, opts \\ []) when is_list(xs), do: Node.new(:multiply, xs, opts)

  @doc "Concatenation of several layers along `axis:` (default -1)."
  @spec concatenate([model()], keyword()) :: model()
  def concatenate(xs, opts \\ []) when is_list(xs), do: Node.new(:concatenate, xs, opts)

  @doc "Embedding lookup: integer indices into a `{vocab_size, embedding_size}` table."
  @spec embedding(model(), pos_integer(), pos_integer(), keyword()) :: model()
  def embedding(x, vocab_size, embedding_size, opts \\ []) do
    Node.new(:embedding, [x], [vocab_size: vocab_size, embedding_size: embedding_size] ++ opts)
  end

  @doc "Layer normalization over the last axis (`epsilon:` 1.0e-5), with learned gamma and beta."
  @spec layer_norm(model(), keyword()) :: model()
  def layer_norm(x, opts \\ []), do: Node.new(:layer_norm, [x], opts)

  @conv_opts [
    :kernel_size,
    :strides,
    :padding,
    :input_dilation,
    :kernel_dilation,
    :feature_group_size,
    :channels,
    :activation,
    :use_bias,
    :kernel_initializer,
    :bias_initializer,
    :name
  ]

  @doc """
  A convolution with `units` output channels over 1, 2 or 3 spatial dims
  (the input's rank decides: conv1d, conv2d, conv3d). Options as Axon:
  `kernel_size:` (1; an integer or a tuple), `strides:` (1), `padding:`
  (`:valid`, `:same` or `[{low, high}]` per spatial dim), `kernel_dilation:`,
  `input_dilation:`, `feature_group_size:` (grouped and depthwise
  convolutions), `channels:` (`:last`, default, or `:first`), `activation:`,
  `use_bias:`, initializers, `name:`.
  """
  @spec conv(model(), pos_integer(), keyword()) :: model()
  def conv(x, units, opts \\ []) when is_integer(units) and units > 0 do
    opts = Tensor.validate_opts!(opts, @conv_opts, :conv)
    {activation, opts} = Keyword.pop(opts, :activation)
    node = Node.new(:conv, [x], [units: units] ++ opts)
    if activation, do: activation(node, activation), else: node
  end

  @pool_opts [:kernel_size, :strides, :padding, :channels, :name]

  @doc "Max pooling: `kernel_size:` (2), `strides:` (the kernel size), `padding:`, `channels:` (`:last`)."
  @spec max_pool(model(), keyword()) :: model()
  def max_pool(x, opts \\ []),
    do: Node.new(:max_pool, [x], Tensor.validate_opts!(opts, @pool_opts, :max_pool))

  @doc "Average pooling (the divisor counts padding, as Axon); options as `max_pool/2`."
  @spec avg_pool(model(), keyword()) :: model()
  def avg_pool(x, opts \\ []),
    do: Node.new(:avg_pool, [x], Tensor.validate_opts!(opts, @pool_opts, :avg_pool))

  @doc "Adaptive max pooling to `output_size:` per spatial dim."
  @spec adaptive_max_pool(model(), keyword()) :: model()
  def adaptive_max_pool(x, opts),
    do:
      Node.new(
        :adaptive_max_pool,
        [x],
        Tensor.validate_opts!(opts, [:output_size, :channels, :name], :adaptive_max_pool)
      )

  @doc "Adaptive average pooling to `output_size:` per spatial dim."
  @spec adaptive_avg_pool(model(), keyword()) :: model()
  def adaptive_avg_pool(x, opts),
    do:
      Node.new(
        :adaptive_avg_pool,
        [x],
        Tensor.validate_opts!(opts, [:output_size, :channels, :name], :adaptive_avg_pool)
      )

  @doc "Global max pooling over the spatial dims: `{n, c}` (`keep_axes: true` keeps them)."
  @spec global_max_pool(model(), keyword()) :: model()
  def global_max_pool(x, opts \\ []),
    do:
      Node.new(
        :global_max_pool,
        [x],
        Tensor.validate_opts!(opts, [:keep_axes, :channels, :name], :global_max_pool)
      )

  @doc "Global average pooling over the spatial dims: `{n, c}` (`keep_axes: true` keeps them)."
  @spec global_avg_pool(model(), keyword()) :: model()
  def global_avg_pool(x, opts \\ []),
    do:
      Node.new(
        :global_avg_pool,
        [x],
        Tensor.validate_opts!(opts, [:keep_axes, :channels, :name], :global_avg_pool)
      )

  @doc """
  Batch normalization over the channel axis (`channel_index:`, default -1):
  batch statistics while training, running statistics (`momentum:` 0.1, as
  PyTorch) in inference; learned gamma and beta. `epsilon:` 1.0e-5.
  """
  @spec batch_norm(model(), keyword()) :: model()
  def batch_norm(x, opts \\ []) do
    opts = Tensor.validate_opts!(opts, [:channel_index, :momentum, :epsilon, :name], :batch_norm)
    Node.new(:batch_norm, [x], opts)
  end

  @doc "Group normalization of channels-last input in `num_groups` groups (`epsilon:` 1.0e-5)."
  @spec group_norm(model(), pos_integer(), keyword()) :: model()
  def group_norm(x, num_groups, opts \\ []) when is_integer(num_groups) and num_groups > 0 do
    opts = Tensor.validate_opts!(opts, [:epsilon, :name], :group_norm)
    Node.new(:group_norm, [x], [num_groups: num_groups] ++ opts)
  end

  @doc """
  A custom layer: `fun` receives the input tensors and computes with
  `Myelin.Tensor` ops; it is traced into the graph and trains like the
  built-in layers.
  """
  @spec layer(function(), [model()], keyword()) :: model()
  def layer(fun, inputs, opts \\ []) when is_function(fun) and is_list(inputs) do
    Node.new(:custom, inputs, [fun: fun] ++ opts)
  end

  ## Building and running

  @doc """
  Returns `{init_fn, predict_fn}`: `init_fn.(template, state)` makes the
  model state (parameters) for inputs like `template` (a tensor, or a map
  of input name to tensor), keeping the parameters already in `state`;
  `predict_fn.(state, x)` runs the model. Option: `seed:` (0).
  """
  @spec build(model(), keyword()) :: {function(), function()}
  def build(model, opts \\ []) do
    seed = Keyword.get(opts, :seed, 0)

    init_fn = fn template, state ->
      fresh = model |> Compiler.trace(template, :inference) |> Compiler.init_params(seed)
      Map.merge(fresh, state || %{})
    end

    {init_fn, fn state, x -> predict(model, state, x) end}
  end

  @doc """
  Runs `model` with the parameters in `state` on `x` (inference mode:
  no dropout). The compiled graph is cached per model and input shape, so
  repeated calls cost one engine call.
  """
  @spec predict(model(), map(), Tensor.t() | map()) :: Tensor.t()
  def predict(model, state, x) do
    {exe, work, compiled} = cached_inference(model, x)
    # A bare tensor traced without error means the model has one input, so
    # the per-call input lookup (a walk over the model) can be skipped.
    inputs = if match?(%Tensor{}, x), do: [x], else: Compiler.input_list(model, x)
    [y] = Graph.run(exe, inputs, Compiler.param_list(compiled, state), work: work)

    y
  end

  defp cached_inference(model, x) do
    signature =
      case x do
        %Tensor{} -> {x.shape, x.type}
        map -> map |> Enum.map(fn {k, t} -> {k, t.shape, t.type} end) |> Enum.sort()
      end

    key = {__MODULE__, :inference, :erlang.phash2(model), signature}

    case :persistent_term.get(key, nil) do
      nil ->
        compiled = Compiler.trace(model, x, :inference)
        {exe, work} = Graph.compile(compiled.graph, [compiled.output])
        :persistent_term.put(key, {exe, work, compiled})
        {exe, work, compiled}

      hit ->
        hit
    end
  end

  @doc """
  A table of the model's layers: name, kind, output shape and parameter
  count, for inputs like `template`.
  """
  @spec summary(model(), Tensor.t() | map()) :: String.t()
  defdelegate summary(model, template), to: Myelin.Display
end
