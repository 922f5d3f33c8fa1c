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

  # Axon's conv_transpose takes conv's options but these two.
  @conv_transpose_opts @conv_opts -- [:input_dilation, :feature_group_size]

  @doc """
  A transposed convolution (a "deconvolution", for upsampling) with `units`
  output channels, as Axon's `conv_transpose`. It convolves the input
  dilated by `strides:` (`strides - 1` zeros between elements) with a
  `{units, in, *kernel_size}` kernel at stride 1. `padding: :valid` gives
  an output of `in * stride + max(kernel - stride, 0)` per spatial dim,
  and `:same` gives `in * stride`. Explicit `[{low, high}]` pads the
  dilated input. Other options: `kernel_size:` (1), `kernel_dilation:`,
  `channels:` (`:last`, default, or `:first`), `activation:`, `use_bias:`,
  initializers, `name:`.

  It matches PyTorch's `ConvTranspose` with `padding = 0` when
  `kernel_size >= strides`, given PyTorch's weight with its first two axes
  swapped and its spatial axes reversed.
  """
  @spec conv_transpose(model(), pos_integer(), keyword()) :: model()
  def conv_transpose(x, units, opts \\ []) when is_integer(units) and units > 0 do
    opts = Tensor.validate_opts!(opts, @conv_transpose_opts, :conv_transpose)
    {activation, opts} = Keyword.pop(opts, :activation)
    node = Node.new(:conv_transpose, [x], [units: units] ++ opts)
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
  A custom layer, as `Axon.layer/3`: `fun` receives the layer's `inputs`
  (models, and parameters declared with `param/3`, in the order given) as
  tensors and computes with `Myelin.Tensor` ops (or calls `grad/3`,
  `jit/2`). It is traced into the model's graph, so it trains like the
  built-in layers: its parameters are in the model state under the layer's
  name and get gradients from the ops' rules. When `fun` takes one more
  argument than there are inputs, it also receives the layer's options
  with `mode:` (`:train` or `:inference`).

      iex> scale = fn x, w -> Myelin.Tensor.multiply(x, w) end
      iex> model =
      ...>   Myelin.input("x", shape: {nil, 3})
      ...>   |> then(&Myelin.layer(scale, [&1, Myelin.param("w", {3}, initializer: :ones)], name: "scale"))
      iex> {init_fn, predict_fn} = Myelin.build(model)
      iex> state = init_fn.(Myelin.Tensor.iota({1, 3}, type: {:f, 32}), %{})
      iex> state["scale"]["w"] |> Myelin.Tensor.to_list()
      [1.0, 1.0, 1.0]
      iex> predict_fn.(state, Myelin.Tensor.tensor([[1.0, 2.0, 3.0]])) |> Myelin.Tensor.to_list()
      [[1.0, 2.0, 3.0]]
  """
  @spec layer(function(), [model() | Myelin.Param.t()], keyword()) :: model()
  def layer(fun, inputs, opts \\ []) when is_function(fun) and is_list(inputs) do
    {params, models} = Enum.split_with(inputs, &match?(%Myelin.Param{}, &1))

    arguments =
      Enum.map(inputs, fn
        %Myelin.Param{name: name} ->
          {:param, name}

        %Node{} ->
          :input

        other ->
          raise ArgumentError,
                "layer: expected models or params as inputs, got #{inspect(other, limit: 3)}"
      end)

    Node.new(:custom, models, [fun: fun, arguments: arguments, params: params] ++ opts)
  end

  @doc """
  A trainable parameter of a custom layer (`layer/3`) named `name`, of
  `shape`: a tuple, or a function of the layer's input shapes returning
  one (as `Axon.param/3`). Options: `initializer:` (`:glorot_uniform`; any
  of `Myelin.Initializers`).
  """
  @spec param(String.t(), tuple() | function(), keyword()) :: Myelin.Param.t()
  def param(name, shape, opts \\ []) when is_binary(name) do
    opts = Tensor.validate_opts!(opts, [:initializer], :param)

    unless is_tuple(shape) or is_function(shape) do
      raise ArgumentError,
            "param: expected a shape tuple or a function of the input shapes, got #{inspect(shape)}"
    end

    %Myelin.Param{
      name: name,
      shape: shape,
      initializer: Keyword.get(opts, :initializer, :glorot_uniform)
    }
  end

  ## Function transforms

  @doc """
  The value of `fun` applied to `args` (a list, one element per argument)
  and its gradient with respect to the arguments at `argnums:` (0; an
  index, or a list of indices). As `jax.value_and_grad`.

  `fun` is ordinary `Myelin.Tensor` code returning a float scalar.
  Arguments may be tensors, numbers (they become scalar tensors), or
  tuples, maps and lists of them (`Myelin.Tree`); a gradient has the
  structure of its argument (a list of them for a list of `argnums:`).
  With `has_aux: true`, `fun` returns `{value, aux}` and the result is
  `{{value, aux}, grads}`.

  The function is traced once per argument signature (shapes, types and
  any non-tensor terms) and compiled with its gradient into one graph
  that the engine runs; later calls with the same signature are one
  engine call. Elixir control flow runs while tracing, as in JAX: branch
  on data with `Myelin.Tensor.select/3`. Calls nest (grad of grad; grad
  inside `jit/2` or a custom layer).

      iex> f = fn x -> Myelin.Tensor.sum(Myelin.Tensor.multiply(x, x)) end
      iex> {value, grad} = Myelin.value_and_grad(f, [Myelin.Tensor.tensor([1.0, 2.0, 3.0])])
      iex> Myelin.Tensor.to_number(value)
      14.0
      iex> Myelin.Tensor.to_list(grad)
      [2.0, 4.0, 6.0]
  """
  @spec value_and_grad(function(), list(), keyword()) :: {term(), term()}
  defdelegate value_and_grad(fun, args, opts \\ []), to: Myelin.Transforms

  @doc """
  The gradient of `fun` at `args`; options and structure as
  `value_and_grad/3` (with `has_aux: true`, returns `{grads, aux}`).

      iex> loss = fn %{w: w, b: b}, x -> x |> Myelin.Tensor.multiply(w) |> Myelin.Tensor.add(b) |> Myelin.Tensor.sum() end
      iex> params = %{w: Myelin.Tensor.tensor([1.0, 1.0]), b: Myelin.Tensor.tensor(0.5)}
      iex> %{w: dw, b: db} = Myelin.grad(loss, [params, Myelin.Tensor.tensor([3.0, 4.0])])
      iex> {Myelin.Tensor.to_list(dw), Myelin.Tensor.to_number(db)}
      {[3.0, 4.0], 2.0}

  Second derivatives:

      iex> cube = fn x -> Myelin.Tensor.sum(Myelin.Tensor.pow(x, 3)) end
      iex> d2 = fn x -> Myelin.Tensor.sum(Myelin.grad(cube, [x])) end
      iex> Myelin.grad(d2, [Myelin.Tensor.tensor([1.0, 2.0])]) |> Myelin.Tensor.to_list()
      [6.0, 12.0]
  """
  @spec grad(function(), list(), keyword()) :: term()
  defdelegate grad(fun, args, opts \\ []), to: Myelin.Transforms

  @doc """
  `fun` compiled: the returned function (of the same arity, up to 6) traces
  `fun` once per argument signature, compiles the graph (planned buffers,
  fused elementwise chains) and caches it, so each later call is one engine
  call. Results equal `fun`'s eager results. Arguments and results as in
  `value_and_grad/3`; tensors `fun` captures become constants of the
  compiled graph (keyed by the captured values; see `Myelin.CompileCache`).

      iex> f = Myelin.jit(fn x, y -> x |> Myelin.Tensor.multiply(y) |> Myelin.Tensor.add(1.0) end)
      iex> f.(Myelin.Tensor.tensor([1.0, 2.0]), Myelin.Tensor.tensor([3.0, 4.0])) |> Myelin.Tensor.to_list()
      [4.0, 9.0]
  """
  @spec jit(function(), keyword()) :: function()
  defdelegate jit(fun, opts \\ []), to: Myelin.Transforms

  @doc """
  Calls `fun` compiled (as `jit/2`) on the list `args`.

      iex> Myelin.jit_apply(fn {a, b} -> Myelin.Tensor.subtract(a, b) end, [{5.0, 3.0}]) |> Myelin.Tensor.to_number()
      2.0
  """
  @spec jit_apply(function(), list(), keyword()) :: term()
  defdelegate jit_apply(fun, args, opts \\ []), to: Myelin.Transforms

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

  # The model's hash, remembered for the last model this process used:
  # hashing a model walks all of it (about 1 µs for an MLP, 6% of a batch-1
  # prediction), while matching the remembered term is one pointer compare
  # when it is the same term (it falls back to a structural compare).
  defp model_hash(model) do
    case Process.get(:myelin_last_model_hash) do
      {^model, hash} ->
        hash

      _ ->
        hash = :erlang.phash2(model)
        Process.put(:myelin_last_model_hash, {model, hash})
        hash
    end
  end

  defp cached_inference(model, x) do
    signature =
      case x do
        %Tensor{} -> {x.shape, x.type}
        map -> map |> Enum.map(fn {k, t} -> {k, t.shape, t.type} end) |> Enum.sort()
      end

    key = {__MODULE__, :inference, model_hash(model), signature}

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
