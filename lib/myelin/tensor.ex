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
  alias Myelin.Tensor.Type

  # `data` is a binary over the tensor's memory (no copy): it makes the BEAM
  # count the tensor's real size when deciding to garbage-collect, and it
  # is what `to_binary/1` returns.
  @enforce_keys [:ref, :data, :shape, :type]
  defstruct [:ref, :data, :shape, :type]

  @type t :: %__MODULE__{ref: reference(), data: binary(), shape: tuple(), type: Type.t()}
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
  The tensor's elements as a binary, native-endian, in row-major order. The
  binary points into the tensor's own memory: no copy is made.

      iex> Myelin.Tensor.to_binary(Myelin.Tensor.tensor([1, 2], type: :u8))
      <<1, 2>>
  """
  @spec to_binary(t()) :: binary()
  def to_binary(%__MODULE__{data: data}), do: data

  @doc """
  The elements as a flat list, in row-major order. Non-finite floats are
  returned as `:nan`, `:infinity` and `:neg_infinity`.

      iex> Myelin.Tensor.to_flat_list(Myelin.Tensor.tensor([[1.5, :infinity]]))
      [1.5, :infinity]
  """
  @spec to_flat_list(t()) :: [number() | atom()]
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
    if type == t.type, do: t, else: dispatch(size(t), :as_type, :as_type_dirty, [t.ref, type])
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

  ## Elementwise unary ops

  # {name, what it computes, an example input, the example's output}. The
  # functions and their doctests are generated from this table: each op is
  # one line, and `Myelin.Tensor.exp/1` is `UnaryOp::Exp` in the engine.
  @unary_ops [
    {:negate, "the negation, -x (integers wrap)", "[1, -2, 0]", "[-1, 2, 0]"},
    {:abs, "the absolute value", "[-1.5, 2.0]", "[1.5, 2.0]"},
    {:sign, "the sign: -1, 0 or 1 (NaN stays NaN)", "[-3, 0, 5]", "[-1, 0, 1]"},
    {:floor, "the largest whole number not above x", "[1.5, -1.5]", "[1.0, -2.0]"},
    {:ceil, "the smallest whole number not below x", "[1.5, -1.5]", "[2.0, -1.0]"},
    {:round, "the nearest whole number, halves away from zero", "[2.5, -2.5, 0.4]",
     "[3.0, -3.0, 0.0]"},
    {:exp, "the exponential, e^x", "[0.0, 1.0]", "[1.0, 2.7182817]"},
    {:expm1, "e^x - 1, accurate near zero", "[0.0, 1.0e-7]", "[0.0, 1.0000001e-7]"},
    {:log, "the natural logarithm", "[1.0, 4.0]", "[0.0, 1.3862944]"},
    {:log1p, "ln(1 + x), accurate near zero", "[0.0, 1.0]", "[0.0, 0.6931472]"},
    {:sqrt, "the square root", "[4, 9]", "[2.0, 3.0]"},
    {:rsqrt, "the reciprocal square root, 1 / sqrt(x)", "[4.0, 0.25]", "[0.5, 2.0]"},
    {:cbrt, "the cube root", "[8.0, -27.0]", "[2.0, -3.0]"},
    {:sin, "the sine", "[0.0, 1.0]", "[0.0, 0.84147096]"},
    {:cos, "the cosine", "[0.0, 1.0]", "[1.0, 0.5403023]"},
    {:tan, "the tangent", "[0.0, 1.0]", "[0.0, 1.5574077]"},
    {:asin, "the arcsine", "[0.0, 1.0]", "[0.0, 1.5707964]"},
    {:acos, "the arccosine", "[1.0, 0.0]", "[0.0, 1.5707964]"},
    {:atan, "the arctangent", "[0.0, 1.0]", "[0.0, 0.7853982]"},
    {:sinh, "the hyperbolic sine", "[0.0, 1.0]", "[0.0, 1.1752012]"},
    {:cosh, "the hyperbolic cosine", "[0.0, 1.0]", "[1.0, 1.5430806]"},
    {:tanh, "the hyperbolic tangent", "[0.0, 1.0]", "[0.0, 0.7615942]"},
    {:asinh, "the inverse hyperbolic sine", "[0.0, 1.0]", "[0.0, 0.8813736]"},
    {:acosh, "the inverse hyperbolic cosine", "[1.0, 2.0]", "[0.0, 1.316958]"},
    {:atanh, "the inverse hyperbolic tangent", "[0.0, 0.5]", "[0.0, 0.54930615]"},
    {:sigmoid, "the logistic function, 1 / (1 + e^-x)", "[0.0, 2.0]", "[0.5, 0.880797]"},
    {:erf, "the error function", "[0.0, 1.0]", "[0.0, 0.8427008]"},
    {:erfc, "the complementary error function, 1 - erf(x)", "[0.0, 1.0]", "[1.0, 0.1572992]"},
    {:is_nan, "1 where x is NaN, else 0 (type u8)", "[1.0, :nan]", "[0, 1]"},
    {:is_infinity, "1 where x is infinite, else 0 (type u8)", "[:infinity, 1.0]", "[1, 0]"},
    {:logical_not, "1 where x is zero, else 0 (type u8)", "[0, 2]", "[1, 0]"},
    {:bitwise_not, "the bitwise complement (integers only)", "[0, 5]", "[-1, -6]"}
  ]

  for {name, what, input, output} <- @unary_ops do
    {:ok, input_list} = Code.string_to_quoted(input)
    {:ok, input_value} = input_list |> Code.eval_quoted() |> then(&{:ok, elem(&1, 0)})
    type = if Enum.all?(input_value, &is_integer/1), do: "s64", else: "f32"

    out_type =
      cond do
        name in [:is_nan, :is_infinity, :logical_not] -> "u8"
        name in [:negate, :abs, :sign, :floor, :ceil, :round, :bitwise_not] -> type
        true -> "f32"
      end

    @doc """
    Computes #{what}, element by element.

        iex> Myelin.Tensor.#{name}(Myelin.Tensor.tensor(#{input}))
        #Myelin.Tensor<
          #{out_type}[#{length(input_value)}]
          #{output}
        >
    """
    @spec unquote(name)(tensor_or_number()) :: t()
    def unquote(name)(t), do: unary(unquote(name), t)
  end

  defp unary(op, t) do
    t = to_tensor(t)
    dispatch(size(t), :unary, :unary_dirty, [op, t.ref])
  end

  ## Shape ops, indexing and sorting

  @doc """
  Permutes the axes: axis `i` of the result is axis `axes[i]` of `t`
  (`axes:` defaults to the axes reversed; negative axes count from the end).

      iex> Myelin.Tensor.transpose(Myelin.Tensor.iota({2, 3})) |> Myelin.Tensor.to_list()
      [[0, 3], [1, 4], [2, 5]]

      iex> Myelin.Tensor.transpose(Myelin.Tensor.iota({1, 2, 3}), axes: [1, -1, 0]) |> Myelin.Tensor.shape()
      {2, 3, 1}
  """
  @spec transpose(tensor_or_number(), keyword()) :: t()
  def transpose(t, opts \\ []) do
    t = to_tensor(t)
    opts = validate_opts!(opts, [:axes], :transpose)
    dispatch(size(t), :transpose, :transpose_dirty, [t.ref, axes_opt!(opts, :transpose)])
  end

  @doc """
  Removes axes of size 1: those in `axes:`, or all of them. No copy.

      iex> Myelin.Tensor.squeeze(Myelin.Tensor.iota({1, 3, 1})) |> Myelin.Tensor.shape()
      {3}

      iex> Myelin.Tensor.squeeze(Myelin.Tensor.iota({1, 3, 1}), axes: [-1]) |> Myelin.Tensor.shape()
      {1, 3}
  """
  @spec squeeze(tensor_or_number(), keyword()) :: t()
  def squeeze(t, opts \\ []) do
    t = to_tensor(t)
    opts = validate_opts!(opts, [:axes], :squeeze)
    dispatch(0, :squeeze, :squeeze_dirty, [t.ref, axes_opt!(opts, :squeeze)])
  end

  @doc """
  Inserts an axis of size 1 at position `axis` (`-1` appends). No copy.

      iex> Myelin.Tensor.new_axis(Myelin.Tensor.iota({2}), -1) |> Myelin.Tensor.to_list()
      [[0], [1]]
  """
  @spec new_axis(tensor_or_number(), integer()) :: t()
  def new_axis(t, axis) do
    t = to_tensor(t)
    dispatch(0, :new_axis, :new_axis_dirty, [t.ref, int!(axis, :new_axis, "axis")])
  end

  @doc """
  Broadcasts `t` to `shape` (a tuple, or a tensor whose shape is used).
  Without `axes:`, dimensions align from the right; with it, input axis `i`
  becomes output axis `axes[i]`. Each input dimension must be 1 or match.

      iex> Myelin.Tensor.broadcast(Myelin.Tensor.tensor([1, 2]), {2, 2}) |> Myelin.Tensor.to_list()
      [[1, 2], [1, 2]]

      iex> Myelin.Tensor.broadcast(Myelin.Tensor.tensor([1, 2]), {2, 2}, axes: [0]) |> Myelin.Tensor.to_list()
      [[1, 1], [2, 2]]
  """
  @spec broadcast(tensor_or_number(), shape() | t(), keyword()) :: t()
  def broadcast(t, shape, opts \\ []) do
    t = to_tensor(t)
    opts = validate_opts!(opts, [:axes], :broadcast)
    shape = if is_struct(shape, __MODULE__), do: shape.shape, else: shape!(shape, :broadcast)
    args = [t.ref, Tuple.to_list(shape), axes_opt!(opts, :broadcast)]
    dispatch(shape_size(shape), :broadcast, :broadcast_dirty, args)
  end

  @doc """
  A slice of `lengths` elements per axis starting at `start_indices`,
  taking every `strides:`-th element (an integer or one per axis; default 1).
  As in Nx, start indices (integers or scalar tensors) are clamped so the
  slice fits; lengths must not exceed the dimensions.

      iex> Myelin.Tensor.slice(Myelin.Tensor.iota({6}), [1], [3]) |> Myelin.Tensor.to_list()
      [1, 2, 3]

      iex> Myelin.Tensor.slice(Myelin.Tensor.iota({6}), [5], [2]) |> Myelin.Tensor.to_list()
      [4, 5]

      iex> Myelin.Tensor.slice(Myelin.Tensor.iota({2, 4}), [0, 0], [2, 4], strides: [1, 2]) |> Myelin.Tensor.to_list()
      [[0, 2], [4, 6]]
  """
  @spec slice(tensor_or_number(), [integer() | t()], [non_neg_integer()], keyword()) :: t()
  def slice(t, start_indices, lengths, opts \\ []) do
    t = to_tensor(t)
    opts = validate_opts!(opts, [:strides], :slice)

    strides =
      case Keyword.get(opts, :strides, 1) do
        s when is_integer(s) -> List.duplicate(s, rank(t))
        s -> int_list!(s, :slice, "strides")
      end

    args = [t.ref, starts!(start_indices, :slice), int_list!(lengths, :slice, "lengths"), strides]
    dispatch(size(t), :slice, :slice_dirty, args)
  end

  @doc """
  Writes `slice` into `t` at `start_indices`, clamped (as in Nx) so the
  slice fits. The result's type merges both types.

      iex> Myelin.Tensor.put_slice(Myelin.Tensor.iota({5}), [4], Myelin.Tensor.tensor([8, 9])) |> Myelin.Tensor.to_list()
      [0, 1, 2, 8, 9]
  """
  @spec put_slice(tensor_or_number(), [integer() | t()], t()) :: t()
  def put_slice(t, start_indices, slice) do
    {t, slice} = {to_tensor(t), to_tensor(slice)}
    args = [t.ref, starts!(start_indices, :put_slice), slice.ref]
    dispatch(size(t), :put_slice, :put_slice_dirty, args)
  end

  @doc """
  Joins tensors along `axis:` (default 0). All dimensions but that axis
  must match; the result's type merges all the types.

      iex> Myelin.Tensor.concatenate([Myelin.Tensor.tensor([[1, 2]]), Myelin.Tensor.tensor([[3.0, 4.0]])]) |> Myelin.Tensor.to_list()
      [[1.0, 2.0], [3.0, 4.0]]
  """
  @spec concatenate([tensor_or_number()], keyword()) :: t()
  def concatenate(tensors, opts \\ []) do
    opts = validate_opts!(opts, [:axis], :concatenate)
    ts = tensor_list!(tensors, :concatenate)
    args = [Enum.map(ts, & &1.ref), int!(Keyword.get(opts, :axis, 0), :concatenate, "axis")]
    dispatch(Enum.sum(Enum.map(ts, &size/1)), :concatenate, :concatenate_dirty, args)
  end

  @doc """
  Joins tensors of one shape along a new axis `axis:` (default 0).

      iex> Myelin.Tensor.stack([Myelin.Tensor.tensor([1, 2]), Myelin.Tensor.tensor([3, 4])], axis: -1) |> Myelin.Tensor.to_list()
      [[1, 3], [2, 4]]
  """
  @spec stack([tensor_or_number()], keyword()) :: t()
  def stack(tensors, opts \\ []) do
    opts = validate_opts!(opts, [:axis], :stack)
    ts = tensor_list!(tensors, :stack)
    args = [Enum.map(ts, & &1.ref), int!(Keyword.get(opts, :axis, 0), :stack, "axis")]
    dispatch(Enum.sum(Enum.map(ts, &size/1)), :stack, :stack_dirty, args)
  end

  @doc """
  Pads with `pad_value` according to one `{low, high, interior}` per axis:
  `low`/`high` elements before/after (negative values crop) and `interior`
  elements between neighbours. The result's type merges the tensor's type
  with the pad value's (a number follows Nx's weak-scalar rule).

      iex> Myelin.Tensor.pad(Myelin.Tensor.tensor([1, 2, 3]), 0, [{1, 2, 1}]) |> Myelin.Tensor.to_list()
      [0, 1, 0, 2, 0, 3, 0, 0]

      iex> Myelin.Tensor.pad(Myelin.Tensor.tensor([1, 2, 3]), 9, [{-1, 1, 0}]) |> Myelin.Tensor.to_list()
      [2, 3, 9]
  """
  @spec pad(tensor_or_number(), tensor_or_number(), [{integer(), integer(), integer()}]) :: t()
  def pad(t, pad_value, padding_config) do
    t = to_tensor(t)

    value =
      if is_struct(pad_value, __MODULE__),
        do: pad_value,
        else: tensor(pad_value, type: Type.merge_number(t.type, pad_value))

    config =
      if is_list(padding_config) and
           Enum.all?(
             padding_config,
             &match?({l, h, i} when is_integer(l) and is_integer(h) and is_integer(i), &1)
           ),
         do: padding_config,
         else:
           raise(
             ArgumentError,
             "pad: expected a list of {low, high, interior} integer tuples, got #{inspect(padding_config)}"
           )

    dispatch(size(t), :pad, :pad_dirty, [t.ref, value.ref, config])
  end

  @doc """
  Reverses the order of elements along `axes:` (default: all axes).

      iex> Myelin.Tensor.reverse(Myelin.Tensor.iota({2, 2}), axes: [1]) |> Myelin.Tensor.to_list()
      [[1, 0], [3, 2]]
  """
  @spec reverse(tensor_or_number(), keyword()) :: t()
  def reverse(t, opts \\ []) do
    t = to_tensor(t)
    opts = validate_opts!(opts, [:axes], :reverse)
    dispatch(size(t), :reverse, :reverse_dirty, [t.ref, axes_opt!(opts, :reverse)])
  end

  @doc """
  Gathers from `t` at `indices` (Nx 0.7): the last axis of `indices` holds
  index vectors of length `k` (1 to the rank of `t`) that address the
  leading `k` axes; the result has shape `indices.shape[0..-2] ++ t.shape[k..]`.
  Out-of-range indices are clamped into range, as in Nx and XLA.

      iex> t = Myelin.Tensor.iota({2, 3})
      iex> Myelin.Tensor.gather(t, Myelin.Tensor.tensor([[0, 0], [1, 2]])) |> Myelin.Tensor.to_list()
      [0, 5]
      iex> Myelin.Tensor.gather(t, Myelin.Tensor.tensor([[1]])) |> Myelin.Tensor.to_list()
      [[3, 4, 5]]
  """
  @spec gather(tensor_or_number(), t(), keyword()) :: t()
  def gather(t, indices, opts \\ []) do
    validate_opts!(opts, [], :gather)
    {t, indices} = {to_tensor(t), indices!(indices)}
    dispatch(size(indices), :gather, :gather_dirty, [t.ref, indices.ref])
  end

  @doc """
  Takes the positions `indices` along `axis:` (default 0), which is
  replaced by the indices' dimensions. Out-of-range indices are clamped.

      iex> Myelin.Tensor.take(Myelin.Tensor.iota({2, 3}), Myelin.Tensor.tensor([2, 0]), axis: 1) |> Myelin.Tensor.to_list()
      [[2, 0], [5, 3]]
  """
  @spec take(tensor_or_number(), t(), keyword()) :: t()
  def take(t, indices, opts \\ []) do
    opts = validate_opts!(opts, [:axis], :take)
    {t, indices} = {to_tensor(t), indices!(indices)}
    axis = int!(Keyword.get(opts, :axis, 0), :take, "axis")
    dispatch(size(indices), :take, :take_dirty, [t.ref, indices.ref, axis])
  end

  @doc """
  Takes, along `axis:` (default 0), the positions given by `indices`, which
  has `t`'s shape except on that axis (often the output of `argsort/2`).
  Out-of-range indices are clamped.

      iex> t = Myelin.Tensor.tensor([[3, 1, 2]])
      iex> Myelin.Tensor.take_along_axis(t, Myelin.Tensor.argsort(t, axis: 1), axis: 1) |> Myelin.Tensor.to_list()
      [[1, 2, 3]]
  """
  @spec take_along_axis(tensor_or_number(), t(), keyword()) :: t()
  def take_along_axis(t, indices, opts \\ []) do
    opts = validate_opts!(opts, [:axis], :take_along_axis)
    {t, indices} = {to_tensor(t), indices!(indices)}
    axis = int!(Keyword.get(opts, :axis, 0), :take_along_axis, "axis")
    dispatch(size(indices), :take_along_axis, :take_along_axis_dirty, [t.ref, indices.ref, axis])
  end

  @doc """
  Adds `updates` into `t` at `indices` (index vectors on the last axis, as
  in `gather/3`; `updates` has the shape `gather/3` would return). Repeated
  indices accumulate; index vectors out of range are skipped (as XLA's
  scatter does). The result's type merges both types.

      iex> t = Myelin.Tensor.tensor([0, 0, 0])
      iex> Myelin.Tensor.indexed_add(t, Myelin.Tensor.tensor([[0], [2], [0]]), Myelin.Tensor.tensor([1, 2, 3])) |> Myelin.Tensor.to_list()
      [4, 0, 2]
  """
  @spec indexed_add(tensor_or_number(), t(), tensor_or_number(), keyword()) :: t()
  def indexed_add(t, indices, updates, opts \\ []),
    do: indexed(:indexed_add, :indexed_add_dirty, t, indices, updates, opts)

  @doc """
  Like `indexed_add/4`, but replaces the values at `indices` with
  `updates`; with repeated indices the last update wins.

      iex> t = Myelin.Tensor.iota({2, 2})
      iex> Myelin.Tensor.indexed_put(t, Myelin.Tensor.tensor([[1, 0]]), Myelin.Tensor.tensor([9])) |> Myelin.Tensor.to_list()
      [[0, 1], [9, 3]]
  """
  @spec indexed_put(tensor_or_number(), t(), tensor_or_number(), keyword()) :: t()
  def indexed_put(t, indices, updates, opts \\ []),
    do: indexed(:indexed_put, :indexed_put_dirty, t, indices, updates, opts)

  defp indexed(name, dirty, t, indices, updates, opts) do
    validate_opts!(opts, [], name)
    {t, indices, updates} = {to_tensor(t), indices!(indices), to_tensor(updates)}
    dispatch(size(t) + size(updates), name, dirty, [t.ref, indices.ref, updates.ref])
  end

  @doc """
  Sorts along `axis:` (default 0) in `direction:` `:asc` (default) or
  `:desc`. The sort is stable; NaN sorts last ascending, first descending.

      iex> Myelin.Tensor.sort(Myelin.Tensor.tensor([3.0, :nan, 1.0, 2.0])) |> Myelin.Tensor.to_list()
      [1.0, 2.0, 3.0, :nan]

      iex> Myelin.Tensor.sort(Myelin.Tensor.tensor([[3, 1], [2, 4]]), axis: 1, direction: :desc) |> Myelin.Tensor.to_list()
      [[3, 1], [4, 2]]
  """
  @spec sort(tensor_or_number(), keyword()) :: t()
  def sort(t, opts \\ []) do
    t = to_tensor(t)
    opts = validate_opts!(opts, [:axis, :direction], :sort)
    {axis, desc} = sort_opts!(opts, :sort)
    dispatch(size(t), :sort, :sort_dirty, [t.ref, axis, desc])
  end

  @doc """
  The positions that sort `t` along `axis:` (default 0) in `direction:`
  `:asc` or `:desc`, as `type:` (default `{:s, 64}`). Always stable (equal
  elements keep their order), so `stable:` is accepted and ignored.

      iex> Myelin.Tensor.argsort(Myelin.Tensor.tensor([3, 1, 2, 1])) |> Myelin.Tensor.to_list()
      [1, 3, 2, 0]

      iex> Myelin.Tensor.argsort(Myelin.Tensor.tensor([3, 1, 2, 1]), direction: :desc, type: :u8) |> Myelin.Tensor.to_list()
      [0, 2, 1, 3]
  """
  @spec argsort(tensor_or_number(), keyword()) :: t()
  def argsort(t, opts \\ []) do
    t = to_tensor(t)
    opts = validate_opts!(opts, [:axis, :direction, :stable, :type], :argsort)
    {axis, desc} = sort_opts!(opts, :argsort)
    type = Type.normalize!(Keyword.get(opts, :type, {:s, 64}), :argsort)

    if Type.float?(type) do
      raise ArgumentError, "argsort: expected an integer type:, got #{inspect(type)}"
    end

    dispatch(size(t), :argsort, :argsort_dirty, [t.ref, axis, desc]) |> as_type(type)
  end

  defp sort_opts!(opts, op) do
    desc =
      case Keyword.get(opts, :direction, :asc) do
        :asc ->
          false

        :desc ->
          true

        other ->
          raise ArgumentError,
                "#{op}: expected direction: to be :asc or :desc, got #{inspect(other)}"
      end

    {int!(Keyword.get(opts, :axis, 0), op, "axis"), desc}
  end

  defp int!(v, _op, _what) when is_integer(v), do: v

  defp int!(v, op, what),
    do: raise(ArgumentError, "#{op}: expected #{what} to be an integer, got #{inspect(v)}")

  defp int_list!(list, op, what) do
    if is_list(list) and Enum.all?(list, &is_integer/1),
      do: list,
      else:
        raise(
          ArgumentError,
          "#{op}: expected #{what} to be a list of integers, got #{inspect(list)}"
        )
  end

  defp axes_opt!(opts, op), do: axes_list!(Keyword.get(opts, :axes), op)

  # Start indices may be integers or scalar tensors (Nx's dynamic starts).
  defp starts!(starts, op) when is_list(starts) do
    Enum.map(starts, fn
      %__MODULE__{shape: {}} = s -> int!(to_number(s), op, "start indices")
      s -> int!(s, op, "start indices")
    end)
  end

  defp starts!(other, op),
    do: raise(ArgumentError, "#{op}: expected a list of start indices, got #{inspect(other)}")

  defp tensor_list!([_ | _] = list, _op), do: Enum.map(list, &to_tensor/1)

  defp tensor_list!(other, op),
    do: raise(ArgumentError, "#{op}: expected a non-empty list of tensors, got #{inspect(other)}")

  defp indices!(%__MODULE__{} = t), do: t
  defp indices!(list) when is_list(list), do: tensor(list)
  defp indices!(other), do: to_tensor(other)

  ## Elementwise binary ops

  # {name, what it computes, left operand, right operand, the result's
  # type and shape, its elements}. The functions and their doctests are
  # generated from this table; `Myelin.Tensor.add/2` is `BinaryOp::Add` in
  # the engine. Operands are converted to their merged type first (Nx's
  # `Nx.Type.merge/2`); numbers take the other operand's type when they can.
  @binary_ops [
    {:add, "the sum, a + b (integers wrap)", "[1, 2, 3]", "10", "s64[3]", "[11, 12, 13]"},
    {:subtract, "the difference, a - b (integers wrap)", "[1, 2, 3]", "[3, 2, 1]", "s64[3]",
     "[-2, 0, 2]"},
    {:multiply, "the product, a * b (integers wrap)", "[1.5, 2.0]", "2", "f32[2]", "[3.0, 4.0]"},
    {:divide, "the quotient a / b, always of a float type", "[1, 3]", "2", "f32[2]",
     "[0.5, 1.5]"},
    {:pow,
     "a raised to the power b (integer power for integers: a negative exponent gives 0 unless a is 1 or -1)",
     "[2, 3, -2]", "[10, 2, 3]", "s64[3]", "[1024, 9, -8]"},
    {:remainder, "the remainder of a / b, with the sign of a (integer remainder by zero gives 0)",
     "[7, -7, 7]", "[3, 3, 0]", "s64[3]", "[1, -1, 0]"},
    {:quotient, "the integer quotient, truncated toward zero (integers only; by zero gives 0)",
     "[7, -7, 7]", "[2, 2, 0]", "s64[3]", "[3, -3, 0]"},
    {:min, "the smaller of a and b (NaN if either is NaN)", "[1.0, 5.0, :nan]", "3.0", "f32[3]",
     "[1.0, 3.0, NaN]"},
    {:max, "the larger of a and b (NaN if either is NaN)", "[1, 5]", "3", "s64[2]", "[3, 5]"},
    {:atan2, "the angle of the point (b, a), atan(a / b) in the right quadrant", "[1.0, -1.0]",
     "-1.0", "f32[2]", "[2.3561945, -2.3561945]"},
    {:equal, "1 where a == b, else 0 (type u8)", "[1, 2, 3]", "2", "u8[3]", "[0, 1, 0]"},
    {:not_equal, "1 where a != b, else 0 (type u8; NaN is unequal to everything)", "[1.0, :nan]",
     "1.0", "u8[2]", "[0, 1]"},
    {:less, "1 where a < b, else 0 (type u8)", "[1, 2, 3]", "2", "u8[3]", "[1, 0, 0]"},
    {:less_equal, "1 where a <= b, else 0 (type u8)", "[1, 2, 3]", "2", "u8[3]", "[1, 1, 0]"},
    {:greater, "1 where a > b, else 0 (type u8)", "[1, 2, 3]", "2", "u8[3]", "[0, 0, 1]"},
    {:greater_equal, "1 where a >= b, else 0 (type u8)", "[1, 2, 3]", "2", "u8[3]", "[0, 1, 1]"},
    {:logical_and, "1 where both a and b are nonzero, else 0 (type u8)", "[0, 1, 2]", "[1, 0, 3]",
     "u8[3]", "[0, 0, 1]"},
    {:logical_or, "1 where a or b is nonzero, else 0 (type u8)", "[0, 1, 0]", "[0, 0, 3]",
     "u8[3]", "[0, 1, 1]"},
    {:logical_xor, "1 where exactly one of a and b is nonzero, else 0 (type u8)", "[0, 1, 2]",
     "[1, 0, 3]", "u8[3]", "[1, 1, 0]"},
    {:bitwise_and, "the bitwise and (integers only)", "[12, 10]", "6", "s64[2]", "[4, 2]"},
    {:bitwise_or, "the bitwise or (integers only)", "[12, 10]", "6", "s64[2]", "[14, 14]"},
    {:bitwise_xor, "the bitwise exclusive or (integers only)", "[12, 10]", "6", "s64[2]",
     "[10, 12]"},
    {:left_shift,
     "a shifted left by b bits (integers only; shifts of the type's width or more, or negative, give 0)",
     "[1, 3]", "[4, 64]", "s64[2]", "[16, 0]"},
    {:right_shift,
     "a shifted right by b bits, arithmetic for signed types (integers only; shifts of the type's width or more, or negative, leave only the sign)",
     "[-16, 16, -1]", "[2, 2, 64]", "s64[3]", "[-4, 4, -1]"}
  ]

  for {name, what, left, right, out_type, out} <- @binary_ops do
    wrap_arg = fn arg ->
      if String.starts_with?(arg, "["), do: "Myelin.Tensor.tensor(#{arg})", else: arg
    end

    @doc """
    Computes #{what}, element by element, broadcasting `a` and `b` to a
    common shape. Either may be a number.

        iex> Myelin.Tensor.#{name}(#{wrap_arg.(left)}, #{wrap_arg.(right)})
        #Myelin.Tensor<
          #{out_type}
          #{out}
        >
    """
    @spec unquote(name)(tensor_or_number(), tensor_or_number()) :: t()
    def unquote(name)(a, b), do: binary(unquote(name), a, b)
  end

  defp binary(op, a, b) do
    {a, b} = weak_pair(a, b, op)
    dispatch(broadcast_size([a.shape, b.shape]), :binary, :binary_dirty, [op, a.ref, b.ref])
  end

  @doc """
  Chooses `on_true` where `pred` is nonzero and `on_false` elsewhere. The
  three are broadcast to a common shape; the result has the merged type of
  `on_true` and `on_false`. Any of them may be a number.

      iex> pred = Myelin.Tensor.tensor([[1], [0]], type: :u8)
      iex> Myelin.Tensor.select(pred, Myelin.Tensor.tensor([1, 2, 3]), 0)
      #Myelin.Tensor<
        s64[2][3]
        [
          [1, 2, 3],
          [0, 0, 0]
        ]
      >
  """
  @spec select(tensor_or_number(), tensor_or_number(), tensor_or_number()) :: t()
  def select(pred, on_true, on_false) do
    pred = operand!(pred, :select)
    {on_true, on_false} = weak_pair(on_true, on_false, :select)
    work = broadcast_size([pred.shape, on_true.shape, on_false.shape])
    dispatch(work, :select, :select_dirty, [pred.ref, on_true.ref, on_false.ref])
  end

  @doc """
  Clamps every element of `t` into `[min, max]`. `min` and `max` must be
  scalars (numbers take `t`'s type when they can); the result has the
  merged type of all three. NaN stays NaN.

      iex> Myelin.Tensor.clip(Myelin.Tensor.tensor([-3, 0, 5, 12], type: :s32), 0, 10)
      #Myelin.Tensor<
        s32[4]
        [0, 0, 5, 10]
      >
  """
  @spec clip(tensor_or_number(), tensor_or_number(), tensor_or_number()) :: t()
  def clip(t, min, max) do
    t = operand!(t, :clip)
    min = weak_operand!(min, t.type, :clip)
    max = weak_operand!(max, t.type, :clip)
    dispatch(size(t), :clip, :clip_dirty, [t.ref, min.ref, max.ref])
  end

  # Two operands of one op: a number beside a tensor takes the tensor's
  # type when it can (Nx's weak scalars); two numbers infer their own.
  defp weak_pair(%__MODULE__{} = a, %__MODULE__{} = b, _op), do: {a, b}
  defp weak_pair(%__MODULE__{} = a, b, op), do: {a, weak_operand!(b, a.type, op)}
  defp weak_pair(a, %__MODULE__{} = b, op), do: {weak_operand!(a, b.type, op), b}
  defp weak_pair(a, b, op), do: {operand!(a, op), operand!(b, op)}

  defp weak_operand!(%__MODULE__{} = t, _type, _op), do: t

  defp weak_operand!(n, type, op) do
    operand!(n, op)
    tensor(n, type: Type.merge_number(type, n))
  end

  defp operand!(%__MODULE__{} = t, _op), do: t

  defp operand!(n, _op) when is_number(n) or n in [:nan, :infinity, :neg_infinity],
    do: tensor(n)

  defp operand!(other, op) do
    raise ArgumentError,
          "#{op}: expected a Myelin.Tensor, a number, :nan, :infinity or :neg_infinity, got #{inspect(other)}"
  end

  # The number of elements of the shapes' broadcast (only an estimate of
  # the work when the shapes do not broadcast; the engine reports that).
  defp broadcast_size(shapes) do
    rank = shapes |> Enum.map(&tuple_size/1) |> Enum.max()

    shapes
    |> Enum.map(&(List.duplicate(1, rank - tuple_size(&1)) ++ Tuple.to_list(&1)))
    |> Enum.zip_with(fn dims -> if 0 in dims, do: 0, else: Enum.max(dims) end)
    |> Enum.reduce(1, &(&1 * &2))
  end

  ## Reductions, cumulative ops and dot

  # {name, what it computes, input, output of a full reduction, output type}.
  # Each op is one line; `Myelin.Tensor.sum/2` is `ReduceOp::Sum` in the engine.
  @reduce_ops [
    {:sum, "the sum (integers accumulate in, and return, 64 bits)", "[[1, 2], [3, 4]]", "10",
     "s64"},
    {:product, "the product (integers accumulate in, and return, 64 bits)", "[[1, 2], [3, 4]]",
     "24", "s64"},
    {:mean, "the arithmetic mean (integers give f32)", "[[1, 2], [3, 4]]", "2.5", "f32"},
    {:reduce_min, "the smallest element (NaN wins; no elements is an error)", "[[1, 2], [3, 4]]",
     "1", "s64"},
    {:reduce_max, "the largest element (NaN wins; no elements is an error)", "[[1, 2], [3, 4]]",
     "4", "s64"},
    {:all, "1 if every element is non-zero, else 0 (type u8)", "[[1, 2], [0, 4]]", "0", "u8"},
    {:any, "1 if any element is non-zero, else 0 (type u8)", "[[1, 2], [0, 4]]", "1", "u8"},
    {:logsumexp, "log(sum(exp(x))), computed without overflow", "[[0.0, 0.0], [0.0, 0.0]]",
     "1.3862944", "f32"}
  ]

  for {name, what, input, output, out_type} <- @reduce_ops do
    @doc """
    Reduces to #{what}, over `axes:` (a list; default all axes). With
    `keep_axes: true` the reduced axes stay, with size 1.

        iex> Myelin.Tensor.#{name}(Myelin.Tensor.tensor(#{input}))
        #Myelin.Tensor<
          #{out_type}
          #{output}
        >
    """
    @spec unquote(name)(tensor_or_number(), keyword()) :: t()
    def unquote(name)(t, opts \\ [])

    def unquote(name)(t, opts), do: reduce(unquote(name), t, opts)
  end

  defp reduce(op, t, opts) do
    t = to_tensor(t)
    opts = validate_opts!(opts, [:axes, :keep_axes], op)
    axes = axes_list!(opts[:axes], op)
    keep = bool_opt!(opts, :keep_axes, op)
    dispatch(size(t), :reduce, :reduce_dirty, [op, t.ref, axes, keep])
  end

  @doc """
  The index of the largest element along `axis:` (default: of the flattened
  tensor), as `{:s, 64}`. NaN counts as the largest. `tie_break: :low`
  (default) picks the first of equal elements, `:high` the last;
  `keep_axis: true` keeps the axis with size 1.

      iex> Myelin.Tensor.argmax(Myelin.Tensor.tensor([[1, 9, 9], [8, 0, 7]]), axis: 1, tie_break: :high)
      #Myelin.Tensor<
        s64[2]
        [2, 0]
      >
  """
  @spec argmax(tensor_or_number(), keyword()) :: t()
  def argmax(t, opts \\ []), do: arg_reduce(:argmax, t, opts)

  @doc """
  The index of the smallest element along `axis:` (default: of the
  flattened tensor), as `{:s, 64}`. NaN counts as the smallest. Options as
  in `argmax/2`.

      iex> Myelin.Tensor.argmin(Myelin.Tensor.tensor([[3, 1], [0, 2]]))
      #Myelin.Tensor<
        s64
        2
      >
  """
  @spec argmin(tensor_or_number(), keyword()) :: t()
  def argmin(t, opts \\ []), do: arg_reduce(:argmin, t, opts)

  defp arg_reduce(op, t, opts) do
    t = to_tensor(t)
    opts = validate_opts!(opts, [:axis, :tie_break, :keep_axis], op)

    axis =
      case opts[:axis] do
        a when is_integer(a) or is_nil(a) ->
          a

        other ->
          raise ArgumentError, "#{op}: expected axis: to be an integer, got #{inspect(other)}"
      end

    tie =
      case Keyword.get(opts, :tie_break, :low) do
        tie when tie in [:low, :high] ->
          tie

        other ->
          raise ArgumentError,
                "#{op}: expected tie_break: to be :low or :high, got #{inspect(other)}"
      end

    keep = bool_opt!(opts, :keep_axis, op)
    dispatch(size(t), :arg_reduce, :arg_reduce_dirty, [op, t.ref, axis, tie, keep])
  end

  # {name, what it computes, output of the example on [1, 3, 2, 4]}.
  @cumulative_ops [
    {:cumulative_sum, "running sum (integers wrap)", "[1, 4, 6, 10]"},
    {:cumulative_product, "running product (integers wrap)", "[1, 3, 6, 24]"},
    {:cumulative_min, "running minimum (NaN propagates)", "[1, 1, 1, 1]"},
    {:cumulative_max, "running maximum (NaN propagates)", "[1, 3, 3, 4]"}
  ]

  for {name, what, output} <- @cumulative_ops do
    @doc """
    The #{what} along `axis:` (default 0), from the end when
    `reverse: true`. The output has the input's shape and type.

        iex> Myelin.Tensor.#{name}(Myelin.Tensor.tensor([1, 3, 2, 4]))
        #Myelin.Tensor<
          s64[4]
          #{output}
        >
    """
    @spec unquote(name)(tensor_or_number(), keyword()) :: t()
    def unquote(name)(t, opts \\ []), do: cumulative(unquote(name), t, opts)
  end

  defp cumulative(op, t, opts) do
    t = to_tensor(t)
    opts = validate_opts!(opts, [:axis, :reverse], op)

    axis =
      case Keyword.get(opts, :axis, 0) do
        a when is_integer(a) ->
          a

        other ->
          raise ArgumentError, "#{op}: expected axis: to be an integer, got #{inspect(other)}"
      end

    reverse = bool_opt!(opts, :reverse, op)
    dispatch(size(t), :cumulative, :cumulative_dirty, [op, t.ref, axis, reverse])
  end

  @doc """
  The dot product, with Nx.dot/2's rules: a scalar multiplies; two vectors
  give their inner product; otherwise the last axis of `a` is contracted
  with the second-to-last axis of `b` (its only axis if `b` is a vector).
  The output type is the merged type of `a` and `b`.

      iex> Myelin.Tensor.dot(Myelin.Tensor.tensor([[1, 2], [3, 4]]), Myelin.Tensor.tensor([5, 6]))
      #Myelin.Tensor<
        s64[2]
        [17, 39]
      >
  """
  @spec dot(tensor_or_number(), tensor_or_number()) :: t()
  def dot(a, b) do
    {a, b} = {to_tensor(a), to_tensor(b)}

    {ca, cb} =
      case {rank(a), rank(b)} do
        {0, _} -> {[], []}
        {_, 0} -> {[], []}
        {_, 1} -> {[-1], [0]}
        _ -> {[-1], [-2]}
      end

    dot(a, ca, [], b, cb, [])
  end

  @doc """
  Contracts `contract_a` axes of `a` with `contract_b` axes of `b` (paired
  in order; their sizes must match), as Nx.dot/4. The output holds `a`'s
  remaining axes, then `b`'s.

      iex> a = Myelin.Tensor.tensor([[1.0, 2.0], [3.0, 4.0]])
      iex> Myelin.Tensor.dot(a, [0], a, [0])
      #Myelin.Tensor<
        f32[2][2]
        [
          [10.0, 14.0],
          [14.0, 20.0]
        ]
      >
  """
  @spec dot(tensor_or_number(), [integer()], tensor_or_number(), [integer()]) :: t()
  def dot(a, contract_a, b, contract_b), do: dot(a, contract_a, [], b, contract_b, [])

  @doc """
  Batched contraction, as Nx.dot/6: `batch_a` axes of `a` pair with
  `batch_b` axes of `b` (same sizes) and index independent products. The
  output holds the batch axes, then `a`'s remaining axes, then `b`'s.

      iex> a = Myelin.Tensor.iota({2, 1, 2})
      iex> Myelin.Tensor.dot(a, [2], [0], a, [2], [0])
      #Myelin.Tensor<
        s64[2][1][1]
        [
          [
            [1]
          ],
          [
            [13]
          ]
        ]
      >
  """
  @spec dot(tensor_or_number(), [integer()], [integer()], tensor_or_number(), [integer()], [
          integer()
        ]) :: t()
  def dot(a, contract_a, batch_a, b, contract_b, batch_b) do
    {a, b} = {to_tensor(a), to_tensor(b)}
    [ca, ba, cb, bb] = Enum.map([contract_a, batch_a, contract_b, batch_b], &axes_list!(&1, :dot))
    ca = ca || []
    ba = ba || []
    cb = cb || []
    bb = bb || []
    # Work is multiply-adds, batch * m * n * k = size(a) * size(b) / (batch * k).
    shared = axes_product(a.shape, ca) * axes_product(a.shape, ba)
    work = if shared == 0, do: 0, else: div(size(a) * size(b), shared)
    dispatch(work, :dot, :dot_dirty, [a.ref, ca, ba, b.ref, cb, bb])
  end

  defp axes_product(shape, axes) do
    rank = tuple_size(shape)

    Enum.reduce(axes, 1, fn axis, acc ->
      a = if axis < 0, do: axis + rank, else: axis
      if a >= 0 and a < rank, do: acc * elem(shape, a), else: acc
    end)
  end

  defp axes_list!(nil, _op), do: nil

  defp axes_list!(axes, op) when is_list(axes) do
    if Enum.all?(axes, &is_integer/1) do
      axes
    else
      raise ArgumentError, "#{op}: expected axes to be a list of integers, got #{inspect(axes)}"
    end
  end

  defp axes_list!(other, op) do
    raise ArgumentError, "#{op}: expected axes to be a list of integers, got #{inspect(other)}"
  end

  defp bool_opt!(opts, key, op) do
    case Keyword.get(opts, key, false) do
      b when is_boolean(b) ->
        b

      other ->
        raise ArgumentError, "#{op}: expected #{key}: to be a boolean, got #{inspect(other)}"
    end
  end

  ## Internals shared by every op

  @doc false
  # Calls a NIF pair: the normal-scheduler NIF for small work, its dirty twin
  # above the threshold. Wraps the resulting {ref, shape, type}.
  def dispatch(work, normal, dirty, args) do
    fun = if work >= @dirty_threshold, do: dirty, else: normal
    Native |> apply(fun, args) |> Native.unwrap!() |> wrap()
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
end
