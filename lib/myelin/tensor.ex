defmodule Myelin.Tensor do
  @moduledoc """
  Tensors on Myelin's engine, with Nx's function names and options.

  A `Myelin.Tensor` is a handle to memory owned by the native engine: the
  struct holds the shape and type, and a reference that keeps the memory
  alive. Memory is released when the BEAM garbage-collects the last
  reference.

  Every function validates its arguments in one place (the engine's shape
  and type rules) and raises `ArgumentError` naming the op, what it got and
  what it expected. Internal failures raise `Myelin.Error`; neither leaves
  anything half-done.

  ## Types

  Types are written as in Nx: `{:f, 32}` or `:f32`; see `Myelin.Tensor.Type`.
  Ops that mix types follow Nx's promotion rules, and numbers passed where a
  tensor is expected take the tensor's type when they can ("weak" scalars).

  ## Scheduling

  Small ops run directly on the calling process's scheduler (a few
  microseconds). Ops whose work exceeds `dirty_threshold/0` elements run on
  the BEAM's dirty CPU schedulers, so no call holds a normal scheduler for
  more than about a millisecond.
  """

  import Kernel, except: [byte_size: 1]

  alias Myelin.Native
  alias Myelin.Tensor.{Convolution, Elementwise, Reductions, ShapeOps, Window}
  alias Myelin.Tensor.Type

  # `data` is a binary over the tensor's memory (no copy): it makes the BEAM
  # count the tensor's real size when deciding to garbage-collect, and it
  # is what `to_binary/1` returns. For a tensor in GPU memory it is
  # `{:cuda, ordinal}` instead.
  @enforce_keys [:ref, :data, :shape, :type]
  defstruct [:ref, :data, :shape, :type]

  @type t :: %__MODULE__{ref: reference(), data: data(), shape: tuple(), type: Type.t()}
  @typedoc "A binary over host memory, or the GPU that holds the data."
  @type data :: binary() | {:cuda, non_neg_integer()}
  @typedoc "Where a tensor's memory lives."
  @type device :: :cpu | {:cuda, non_neg_integer()}
  @type shape :: tuple()
  @type tensor_or_number :: t() | number()

  # Work (in elements) above which an op runs on a dirty scheduler. Measured
  # with bench/scheduling.exs (2026-11-22, 2 cores, under load): just below
  # the threshold the slowest calls take 170-200 us (f64 sin/tan/exp),
  # 400-660 us (from_list, random_normal, to_flat_list), all under 1 ms.
  @dirty_threshold 16_384

  @doc """
  The number of elements of work above which ops run on dirty schedulers.

      iex> Myelin.Tensor.dirty_threshold()
      16384
  """
  @spec dirty_threshold() :: pos_integer()
  def dirty_threshold, do: @dirty_threshold

  ## Creation

  @doc """
  Builds a tensor from a number, a (nested) list of numbers, or a tensor.

  Integers infer `{:s, 64}` and floats `{:f, 32}`, as in Nx; pass `type:`
  to choose. Non-finite floats are written `:nan`, `:infinity` and
  `:neg_infinity`.

      iex> Myelin.Tensor.tensor([[1, 2], [3, 4]])
      #Myelin.Tensor<
        s64[2][2]
        [
          [1, 2],
          [3, 4]
        ]
      >

      iex> Myelin.Tensor.tensor(1.5, type: :bf16)
      #Myelin.Tensor<
        bf16
        1.5
      >

      iex> Myelin.Tensor.tensor([1, :nan, 0.1], type: :f16)
      #Myelin.Tensor<
        f16[3]
        [1.0, NaN, 0.1]
      >
  """
  @spec tensor(t() | number() | atom() | list(), keyword()) :: t()
  def tensor(data, opts \\ [])

  def tensor(%__MODULE__{} = t, opts) do
    opts = validate_opts!(opts, [:type], :tensor)
    if type = opts[:type], do: as_type(t, type), else: t
  end

  def tensor(data, opts) do
    opts = validate_opts!(opts, [:type], :tensor)
    {shape, flat} = flatten!(data)

    type =
      if t = opts[:type],
        do: Type.normalize!(t, :tensor),
        else: if(Enum.all?(flat, &is_integer/1), do: {:s, 64}, else: {:f, 32})

    dispatch(length(flat), :from_list, :from_list_dirty, [flat, type, shape])
  end

  defp flatten!(n) when is_number(n) or n in [:nan, :infinity, :neg_infinity], do: {{}, [n]}

  defp flatten!(list) when is_list(list) do
    {shape, nested} = flatten_level(list)
    {List.to_tuple(shape), List.flatten(nested)}
  end

  defp flatten!(other) do
    raise ArgumentError,
          "tensor: expected a number, :nan, :infinity, :neg_infinity or a nested list of them, got #{inspect(other)}"
  end

  defp flatten_level([]), do: {[0], []}

  defp flatten_level([first | _] = list) when is_list(first) do
    parts = Enum.map(list, &flatten_rows!/1)
    [{inner, _} | _] = parts

    Enum.each(parts, fn {s, _} ->
      if s != inner do
        raise ArgumentError,
              "tensor: nested lists must be rectangular, got rows of shapes " <>
                "#{inspect(List.to_tuple(inner))} and #{inspect(List.to_tuple(s))}"
      end
    end)

    {[length(list) | inner], Enum.map(parts, &elem(&1, 1))}
  end

  defp flatten_level(list) do
    Enum.each(list, fn x ->
      unless is_number(x) or x in [:nan, :infinity, :neg_infinity] do
        raise ArgumentError,
              "tensor: expected numbers or nested lists of the same depth, got #{inspect(x)} in #{inspect(list, limit: 10)}"
      end
    end)

    {[length(list)], list}
  end

  defp flatten_rows!(row) when is_list(row), do: flatten_level(row)

  defp flatten_rows!(other) do
    raise ArgumentError,
          "tensor: nested lists must be rectangular, got #{inspect(other)} beside a list"
  end

  @doc """
  Builds a tensor from a binary of native-endian elements (one copy).

      iex> Myelin.Tensor.from_binary(<<1, 2, 3, 4>>, :u8, shape: {2, 2})
      #Myelin.Tensor<
        u8[2][2]
        [
          [1, 2],
          [3, 4]
        ]
      >
  """
  @spec from_binary(binary(), Type.t() | atom(), keyword()) :: t()
  def from_binary(binary, type, opts \\ []) when is_binary(binary) do
    opts = validate_opts!(opts, [:shape], :from_binary)
    type = Type.normalize!(type, :from_binary)
    {_, bits} = type

    shape =
      case opts[:shape] do
        nil -> {div(Kernel.byte_size(binary) * 8, bits)}
        shape -> shape!(shape, :from_binary)
      end

    dispatch(div(Kernel.byte_size(binary), 8), :from_binary, :from_binary_dirty, [
      binary,
      type,
      shape
    ])
  end

  @doc """
  A tensor of `shape` with every element `value` (default type: inferred
  from the value).

      iex> Myelin.Tensor.full({2}, 7, type: :u16)
      #Myelin.Tensor<
        u16[2]
        [7, 7]
      >
  """
  @spec full(shape(), number() | atom(), keyword()) :: t()
  def full(shape, value, opts \\ []) do
    opts = validate_opts!(opts, [:type], :full)
    shape = shape!(shape, :full)
    type = Type.normalize!(opts[:type] || Type.infer(value), :full)
    dispatch(shape_size(shape), :full, :full_dirty, [value, type, shape])
  end

  @doc """
  Zeros of `shape` (type `{:f, 32}` unless `type:` is given).

      iex> Myelin.Tensor.zeros({2, 0})
      #Myelin.Tensor<
        f32[2][0]
        [
          [],
          []
        ]
      >
  """
  @spec zeros(shape(), keyword()) :: t()
  def zeros(shape, opts \\ []), do: full(shape, 0, Keyword.put_new(opts, :type, {:f, 32}))

  @doc """
  Ones of `shape` (type `{:f, 32}` unless `type:` is given).

      iex> Myelin.Tensor.ones({3}, type: :s8)
      #Myelin.Tensor<
        s8[3]
        [1, 1, 1]
      >
  """
  @spec ones(shape(), keyword()) :: t()
  def ones(shape, opts \\ []), do: full(shape, 1, Keyword.put_new(opts, :type, {:f, 32}))

  @doc """
  Counts up from 0 along `axis:`, or over the whole tensor in row-major
  order when no axis is given. Type `{:s, 64}` unless `type:` is given.

      iex> Myelin.Tensor.iota({2, 3})
      #Myelin.Tensor<
        s64[2][3]
        [
          [0, 1, 2],
          [3, 4, 5]
        ]
      >

      iex> Myelin.Tensor.iota({2, 3}, axis: 0, type: :f32)
      #Myelin.Tensor<
        f32[2][3]
        [
          [0.0, 0.0, 0.0],
          [1.0, 1.0, 1.0]
        ]
      >
  """
  @spec iota(shape(), keyword()) :: t()
  def iota(shape, opts \\ []) do
    opts = validate_opts!(opts, [:type, :axis], :iota)
    shape = shape!(shape, :iota)
    type = Type.normalize!(opts[:type] || {:s, 64}, :iota)
    dispatch(shape_size(shape), :iota, :iota_dirty, [type, shape, opts[:axis]])
  end

  @doc """
  An identity matrix of size `n` (or of `shape`, with ones where the last two
  indices are equal). Type `{:s, 64}` unless `type:` is given.

      iex> Myelin.Tensor.eye(2)
      #Myelin.Tensor<
        s64[2][2]
        [
          [1, 0],
          [0, 1]
        ]
      >
  """
  @spec eye(pos_integer() | shape(), keyword()) :: t()
  def eye(n_or_shape, opts \\ [])
  def eye(n, opts) when is_integer(n), do: eye({n, n}, opts)

  def eye(shape, opts) do
    opts = validate_opts!(opts, [:type], :eye)
    shape = shape!(shape, :eye)
    type = Type.normalize!(opts[:type] || {:s, 64}, :eye)
    dispatch(shape_size(shape), :eye, :eye_dirty, [type, shape])
  end

  @doc """
  Uniform random numbers in `[min, max)` (defaults 0.0 and 1.0), type
  `{:f, 32}` unless `type:` is given. The same `seed:` (default 0) gives the
  same numbers on every machine and any number of threads. Integer types
  give whole numbers in `[min, max)`.

      iex> t = Myelin.Tensor.random_uniform({2, 2}, min: -1.0, max: 1.0, seed: 42)
      iex> t == Myelin.Tensor.random_uniform({2, 2}, min: -1.0, max: 1.0, seed: 42)
      false
      iex> Myelin.Tensor.to_flat_list(t) == Myelin.Tensor.to_flat_list(Myelin.Tensor.random_uniform({2, 2}, min: -1.0, max: 1.0, seed: 42))
      true
  """
  @spec random_uniform(shape(), keyword()) :: t()
  def random_uniform(shape, opts \\ []) do
    opts = validate_opts!(opts, [:type, :min, :max, :seed], :random_uniform)
    shape = shape!(shape, :random_uniform)
    type = Type.normalize!(opts[:type] || {:f, 32}, :random_uniform)
    args = [seed!(opts, :random_uniform), opts[:min] || 0.0, opts[:max] || 1.0, type, shape]
    dispatch(shape_size(shape), :random_uniform, :random_uniform_dirty, args)
  end

  @doc """
  Normal random numbers with `mean:` (default 0.0) and
  `standard_deviation:` (default 1.0), of a float type (`{:f, 32}` unless
  `type:` is given), reproducible from `seed:` like `random_uniform/2`.

      iex> t = Myelin.Tensor.random_normal({1000}, mean: 5.0, seed: 1)
      iex> abs(Enum.sum(Myelin.Tensor.to_flat_list(t)) / 1000 - 5.0) < 0.1
      true
  """
  @spec random_normal(shape(), keyword()) :: t()
  def random_normal(shape, opts \\ []) do
    opts = validate_opts!(opts, [:type, :mean, :standard_deviation, :seed], :random_normal)
    shape = shape!(shape, :random_normal)
    type = Type.normalize!(opts[:type] || {:f, 32}, :random_normal)
    std = Keyword.get(opts, :standard_deviation, 1.0)
    args = [seed!(opts, :random_normal), opts[:mean] || 0.0, std, type, shape]
    dispatch(shape_size(shape), :random_normal, :random_normal_dirty, args)
  end

  defp seed!(opts, op) do
    case Keyword.get(opts, :seed, 0) do
      seed when is_integer(seed) and seed >= 0 and seed < 18_446_744_073_709_551_616 ->
        seed

      other ->
        raise ArgumentError,
              "#{op}: expected seed: to be a non-negative 64-bit integer, got #{inspect(other)}"
    end
  end

  ## Conversion and metadata

  @doc """
  Where the tensor's memory lives: `:cpu` or `{:cuda, ordinal}`.

      iex> Myelin.Tensor.device(Myelin.Tensor.tensor([1, 2]))
      :cpu
  """
  @spec device(t()) :: device()
  defdelegate device(t), to: Myelin.Device, as: :of

  @doc """
  Copies the tensor to `device` (`:cpu`, `:cuda` for GPU 0, or
  `{:cuda, ordinal}`); returns it unchanged when it is already there. The
  original stays valid on its device. Raises `Myelin.Error` saying what is
  missing when CUDA is not available (see `Myelin.Device`).

      iex> t = Myelin.Tensor.tensor([1.5, 2.5])
      iex> Myelin.Tensor.backend_transfer(t, :cpu) == t
      true
  """
  @spec backend_transfer(t(), device() | :cuda) :: t()
  defdelegate backend_transfer(t, device), to: Myelin.Device, as: :transfer

  @doc """
  The tensor's elements as a binary, native-endian, in row-major order. The
  binary points into the tensor's own memory: no copy is made.

      iex> Myelin.Tensor.to_binary(Myelin.Tensor.tensor([1, 2], type: :u8))
      <<1, 2>>
  """
  @spec to_binary(t()) :: binary()
  def to_binary(%__MODULE__{data: data}) when is_binary(data), do: data
  def to_binary(%__MODULE__{} = t), do: t |> backend_transfer(:cpu) |> to_binary()

  @doc """
  The elements as a flat list, in row-major order. Non-finite floats are
  returned as `:nan`, `:infinity` and `:neg_infinity`.

      iex> Myelin.Tensor.to_flat_list(Myelin.Tensor.tensor([[1.5, :infinity]]))
      [1.5, :infinity]
  """
  @spec to_flat_list(t()) :: [number() | atom()]
  def to_flat_list(%__MODULE__{data: {:cuda, _}} = t),
    do: t |> backend_transfer(:cpu) |> to_flat_list()

  def to_flat_list(%__MODULE__{} = t) do
    n = size(t)
    fun = if n >= @dirty_threshold, do: :to_flat_list_dirty, else: :to_flat_list
    Native.unwrap!(apply(Native, fun, [t.ref, n]))
  end

  @doc """
  The elements as nested lists that follow the shape.

      iex> Myelin.Tensor.to_list(Myelin.Tensor.iota({2, 2}))
      [[0, 1], [2, 3]]
  """
  @spec to_list(t()) :: list() | number() | atom()
  def to_list(%__MODULE__{shape: shape} = t) do
    flat = to_flat_list(t)

    case Tuple.to_list(shape) do
      [] -> hd(flat)
      dims -> nest_list(flat, dims)
    end
  end

  defp nest_list(flat, [_]), do: flat

  defp nest_list(flat, [n | inner]) do
    case Enum.product(inner) do
      0 -> List.duplicate([], n)
      row -> Enum.chunk_every(flat, row)
    end
    |> Enum.map(&nest_list(&1, inner))
  end

  @doc """
  The value of a tensor with one element.

      iex> Myelin.Tensor.to_number(Myelin.Tensor.tensor([[3]]))
      3
  """
  @spec to_number(t()) :: number() | atom()
  def to_number(%__MODULE__{} = t) do
    if size(t) != 1 do
      raise ArgumentError,
            "to_number: expected a tensor with one element, got shape #{inspect(t.shape)}"
    end

    hd(to_flat_list(t))
  end

  @doc """
  The shape.

      iex> Myelin.Tensor.shape(Myelin.Tensor.zeros({2, 3}))
      {2, 3}
  """
  @spec shape(t()) :: shape()
  def shape(%__MODULE__{shape: shape}), do: shape

  @doc """
  The element type.

      iex> Myelin.Tensor.type(Myelin.Tensor.tensor([1.0]))
      {:f, 32}
  """
  @spec type(t()) :: Type.t()
  def type(%__MODULE__{type: type}), do: type

  @doc """
  The number of dimensions.

      iex> Myelin.Tensor.rank(Myelin.Tensor.zeros({2, 3, 4}))
      3
  """
  @spec rank(t()) :: non_neg_integer()
  def rank(%__MODULE__{shape: shape}), do: tuple_size(shape)

  @doc """
  The number of elements.

      iex> Myelin.Tensor.size(Myelin.Tensor.zeros({2, 3}))
      6
  """
  @spec size(t()) :: non_neg_integer()
  def size(%__MODULE__{shape: shape}), do: shape_size(shape)

  @doc """
  The number of bytes of the tensor's elements.

      iex> Myelin.Tensor.byte_size(Myelin.Tensor.zeros({2, 3}, type: :f64))
      48
  """
  @spec byte_size(t()) :: non_neg_integer()
  def byte_size(%__MODULE__{type: {_, bits}} = t), do: div(size(t) * bits, 8)

  @doc """
  The same elements under a new shape with the same number of elements.
  Shares memory with the input: no copy.

      iex> Myelin.Tensor.reshape(Myelin.Tensor.iota({4}), {2, 2})
      #Myelin.Tensor<
        s64[2][2]
        [
          [0, 1],
          [2, 3]
        ]
      >
  """
  @spec reshape(t(), shape()) :: t()
  def reshape(%__MODULE__{ref: {:node, _, _}} = t, shape) do
    Myelin.Graph.record(:reshape, [t.ref, shape!(shape, :reshape)])
  end

  def reshape(%__MODULE__{} = t, shape) do
    shape = shape!(shape, :reshape)
    t.ref |> Native.reshape(shape) |> Native.unwrap!() |> wrap()
  end

  @doc """
  Converts the elements to another type with Nx's semantics: integer to
  integer wraps, float to integer truncates toward zero (saturating; NaN
  becomes 0).

      iex> Myelin.Tensor.as_type(Myelin.Tensor.tensor([-1.7, 2.5, 300.0]), :u8)
      #Myelin.Tensor<
        u8[3]
        [0, 2, 255]
      >
  """
  @spec as_type(t(), Type.t() | atom()) :: t()
  def as_type(%__MODULE__{} = t, type) do
    type = Type.normalize!(type, :as_type)

    if type == t.type,
      do: t,
      else: dispatch(work([t], size(t)), :as_type, :as_type_dirty, [t.ref, type])
  end

  @doc """
  Reinterprets the bits of each element as another type of the same width.

      iex> Myelin.Tensor.bitcast(Myelin.Tensor.tensor([1.0]), :u32)
      #Myelin.Tensor<
        u32[1]
        [1065353216]
      >
  """
  @spec bitcast(t(), Type.t() | atom()) :: t()
  def bitcast(%__MODULE__{} = t, type) do
    type = Type.normalize!(type, :bitcast)
    dispatch(size(t), :bitcast, :bitcast_dirty, [t.ref, type])
  end

  ## Ops, delegated to the family modules
  #
  # Each op's docs, examples and implementation live in its family module;
  # these delegates make them `Myelin.Tensor.<op>`, Nx's spelling. Keep the
  # lists in sync when adding an op (a test checks that every public
  # function of the family modules is reachable here).

  # Elementwise
  defdelegate abs(t), to: Elementwise
  defdelegate acos(t), to: Elementwise
  defdelegate acosh(t), to: Elementwise
  defdelegate asin(t), to: Elementwise
  defdelegate asinh(t), to: Elementwise
  defdelegate atan(t), to: Elementwise
  defdelegate atanh(t), to: Elementwise
  defdelegate bitwise_not(t), to: Elementwise
  defdelegate cbrt(t), to: Elementwise
  defdelegate ceil(t), to: Elementwise
  defdelegate cos(t), to: Elementwise
  defdelegate cosh(t), to: Elementwise
  defdelegate erf(t), to: Elementwise
  defdelegate erfc(t), to: Elementwise
  defdelegate erf_inv(t), to: Elementwise
  defdelegate count_leading_zeros(t), to: Elementwise
  defdelegate population_count(t), to: Elementwise
  defdelegate exp(t), to: Elementwise
  defdelegate expm1(t), to: Elementwise
  defdelegate floor(t), to: Elementwise
  defdelegate is_infinity(t), to: Elementwise
  defdelegate is_nan(t), to: Elementwise
  defdelegate log(t), to: Elementwise
  defdelegate log1p(t), to: Elementwise
  defdelegate logical_not(t), to: Elementwise
  defdelegate negate(t), to: Elementwise
  defdelegate round(t), to: Elementwise
  defdelegate rsqrt(t), to: Elementwise
  defdelegate sigmoid(t), to: Elementwise
  defdelegate sign(t), to: Elementwise
  defdelegate sin(t), to: Elementwise
  defdelegate sinh(t), to: Elementwise
  defdelegate sqrt(t), to: Elementwise
  defdelegate tan(t), to: Elementwise
  defdelegate tanh(t), to: Elementwise
  defdelegate add(a, b), to: Elementwise
  defdelegate atan2(a, b), to: Elementwise
  defdelegate bitwise_and(a, b), to: Elementwise
  defdelegate bitwise_or(a, b), to: Elementwise
  defdelegate bitwise_xor(a, b), to: Elementwise
  defdelegate divide(a, b), to: Elementwise
  defdelegate equal(a, b), to: Elementwise
  defdelegate greater(a, b), to: Elementwise
  defdelegate greater_equal(a, b), to: Elementwise
  defdelegate left_shift(a, b), to: Elementwise
  defdelegate less(a, b), to: Elementwise
  defdelegate less_equal(a, b), to: Elementwise
  defdelegate logical_and(a, b), to: Elementwise
  defdelegate logical_or(a, b), to: Elementwise
  defdelegate logical_xor(a, b), to: Elementwise
  defdelegate max(a, b), to: Elementwise
  defdelegate min(a, b), to: Elementwise
  defdelegate multiply(a, b), to: Elementwise
  defdelegate not_equal(a, b), to: Elementwise
  defdelegate pow(a, b), to: Elementwise
  defdelegate quotient(a, b), to: Elementwise
  defdelegate remainder(a, b), to: Elementwise
  defdelegate right_shift(a, b), to: Elementwise
  defdelegate subtract(a, b), to: Elementwise
  defdelegate select(pred, on_true, on_false), to: Elementwise
  defdelegate clip(t, min, max), to: Elementwise

  # ShapeOps
  defdelegate transpose(t, opts \\ []), to: ShapeOps
  defdelegate squeeze(t, opts \\ []), to: ShapeOps
  defdelegate new_axis(t, axis), to: ShapeOps
  defdelegate broadcast(t, shape, opts \\ []), to: ShapeOps
  defdelegate slice(t, start_indices, lengths, opts \\ []), to: ShapeOps
  defdelegate put_slice(t, start_indices, slice), to: ShapeOps
  defdelegate concatenate(tensors, opts \\ []), to: ShapeOps
  defdelegate stack(tensors, opts \\ []), to: ShapeOps
  defdelegate pad(t, pad_value, padding_config), to: ShapeOps
  defdelegate reverse(t, opts \\ []), to: ShapeOps
  defdelegate gather(t, indices, opts \\ []), to: ShapeOps
  defdelegate take(t, indices, opts \\ []), to: ShapeOps
  defdelegate take_along_axis(t, indices, opts \\ []), to: ShapeOps
  defdelegate indexed_add(t, indices, updates, opts \\ []), to: ShapeOps
  defdelegate indexed_put(t, indices, updates, opts \\ []), to: ShapeOps
  defdelegate sort(t, opts \\ []), to: ShapeOps
  defdelegate argsort(t, opts \\ []), to: ShapeOps

  # Reductions
  defdelegate all(t, opts \\ []), to: Reductions
  defdelegate any(t, opts \\ []), to: Reductions
  defdelegate logsumexp(t, opts \\ []), to: Reductions
  defdelegate mean(t, opts \\ []), to: Reductions
  defdelegate product(t, opts \\ []), to: Reductions
  defdelegate reduce_max(t, opts \\ []), to: Reductions
  defdelegate reduce_min(t, opts \\ []), to: Reductions
  defdelegate sum(t, opts \\ []), to: Reductions
  defdelegate argmax(t, opts \\ []), to: Reductions
  defdelegate argmin(t, opts \\ []), to: Reductions
  defdelegate cumulative_max(t, opts \\ []), to: Reductions
  defdelegate cumulative_min(t, opts \\ []), to: Reductions
  defdelegate cumulative_product(t, opts \\ []), to: Reductions
  defdelegate cumulative_sum(t, opts \\ []), to: Reductions
  defdelegate dot(a, b), to: Reductions
  defdelegate dot(a, contract_a, b, contract_b), to: Reductions
  defdelegate dot(a, contract_a, batch_a, b, contract_b, batch_b), to: Reductions
  defdelegate conv(input, kernel, opts \\ []), to: Convolution
  defdelegate window_sum(t, window_dimensions, opts \\ []), to: Window
  defdelegate window_product(t, window_dimensions, opts \\ []), to: Window
  defdelegate window_max(t, window_dimensions, opts \\ []), to: Window
  defdelegate window_min(t, window_dimensions, opts \\ []), to: Window

  defdelegate window_scatter_max(t, source, init_value, window_dimensions, opts \\ []),
    to: Window

  defdelegate window_scatter_min(t, source, init_value, window_dimensions, opts \\ []),
    to: Window

  ## Internals shared by every op

  @doc false
  # Calls a NIF pair: the normal-scheduler NIF for small work, its dirty twin
  # above the threshold. Wraps the resulting {ref, shape, type}.
  def dispatch(work, normal, dirty, args) do
    if Myelin.Graph.traced?(args) do
      # A traced operand: record a graph node instead of computing.
      Myelin.Graph.record(normal, args)
    else
      fun = if work >= @dirty_threshold, do: dirty, else: normal
      Native |> apply(fun, args) |> Native.unwrap!() |> wrap()
    end
  end

  @doc false
  # The work an op on `tensors` counts for scheduling: a GPU operand always
  # sends the op to a dirty scheduler (the first launch compiles kernels,
  # and GPU calls may wait on the device).
  def work(tensors, n) do
    if Enum.any?(tensors, &match?(%__MODULE__{data: {:cuda, _}}, &1)),
      do: @dirty_threshold,
      else: n
  end

  @doc false
  def wrap({ref, data, shape, type}),
    do: %__MODULE__{ref: ref, data: data, shape: shape, type: type}

  @doc false
  # Numbers become scalar tensors of their inferred type.
  def to_tensor(%__MODULE__{} = t), do: t
  def to_tensor(n) when is_number(n) or n in [:nan, :infinity, :neg_infinity], do: tensor(n)

  def to_tensor(other) do
    raise ArgumentError, "expected a Myelin.Tensor or a number, got #{inspect(other)}"
  end

  @doc false
  def validate_opts!(opts, allowed, op) when is_list(opts) do
    Enum.each(opts, fn
      {key, _} when is_atom(key) ->
        unless key in allowed do
          raise ArgumentError,
                "#{op}: unknown option #{inspect(key)}, expected one of #{inspect(allowed)}"
        end

      other ->
        raise ArgumentError, "#{op}: expected a keyword list of options, got #{inspect(other)}"
    end)

    opts
  end

  def validate_opts!(opts, _allowed, op) do
    raise ArgumentError, "#{op}: expected a keyword list of options, got #{inspect(opts)}"
  end

  @doc false
  def shape!(shape, op) when is_tuple(shape) do
    if Enum.all?(Tuple.to_list(shape), &(is_integer(&1) and &1 >= 0)) do
      shape
    else
      raise ArgumentError,
            "#{op}: expected a shape tuple of non-negative integers, got #{inspect(shape)}"
    end
  end

  def shape!(shape, op) do
    raise ArgumentError,
          "#{op}: expected a shape tuple of non-negative integers, got #{inspect(shape)}"
  end

  @doc false
  # The number of elements of a shape tuple.
  def shape_size(shape), do: shape |> Tuple.to_list() |> Enum.reduce(1, &(&1 * &2))

  @doc false
  # A list of integer axes, or nil.
  def axes_list!(nil, _op), do: nil

  def axes_list!(axes, op) when is_list(axes) do
    if Enum.all?(axes, &is_integer/1) do
      axes
    else
      raise ArgumentError, "#{op}: expected axes to be a list of integers, got #{inspect(axes)}"
    end
  end

  def axes_list!(other, op) do
    raise ArgumentError, "#{op}: expected axes to be a list of integers, got #{inspect(other)}"
  end
end
