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

  @enforce_keys [:ref, :shape, :type]
  defstruct [:ref, :shape, :type]

  @type t :: %__MODULE__{ref: reference(), shape: tuple(), type: Type.t()}
  @type shape :: tuple()
  @type tensor_or_number :: t() | number()

  # Work (in elements) above which an op runs on a dirty scheduler. Measured
  # with bench/scheduling.exs: the slowest elementwise op per element (erf on
  # f64) takes about 1 ms for 64 Ki elements on one core; 16 Ki keeps every
  # normal-scheduler call well under that.
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
    dispatch(product(shape), :full, :full_dirty, [value, type, shape])
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
    dispatch(product(shape), :iota, :iota_dirty, [type, shape, opts[:axis]])
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
    dispatch(product(shape), :eye, :eye_dirty, [type, shape])
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
    dispatch(product(shape), :random_uniform, :random_uniform_dirty, args)
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
    dispatch(product(shape), :random_normal, :random_normal_dirty, args)
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
  def to_binary(%__MODULE__{ref: ref}), do: ref |> Native.to_binary() |> Native.unwrap!()

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
  def size(%__MODULE__{shape: shape}), do: product(shape)

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

    if name == :product do
      # Internal use: the element count of a shape tuple (tensors are structs,
      # so no tensor or number reaches this clause).
      def product(shape, []) when is_tuple(shape),
        do: shape |> Tuple.to_list() |> Enum.reduce(1, &(&1 * &2))
    end

    def unquote(name)(t, opts), do: reduce(unquote(name), t, opts)
  end

  defp reduce(op, t, opts) do
    t = to_tensor(t)
    opts = validate_opts!(opts, [:axes, :keep_axes], op)
    axes = axes_opt!(opts[:axes], op)
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
    [ca, ba, cb, bb] = Enum.map([contract_a, batch_a, contract_b, batch_b], &axes_opt!(&1, :dot))
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

  defp axes_opt!(nil, _op), do: nil

  defp axes_opt!(axes, op) when is_list(axes) do
    if Enum.all?(axes, &is_integer/1) do
      axes
    else
      raise ArgumentError, "#{op}: expected axes to be a list of integers, got #{inspect(axes)}"
    end
  end

  defp axes_opt!(other, op) do
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
  def wrap({ref, shape, type}), do: %__MODULE__{ref: ref, shape: shape, type: type}

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

  # `product/1` of a shape tuple (the element count) is a clause of the public
  # `product/2` reduction, in the reductions section above.
end
