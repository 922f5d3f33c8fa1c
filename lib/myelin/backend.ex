if Code.ensure_loaded?(Nx) do
  defmodule Myelin.Backend do
    @moduledoc """
    An `Nx.Backend` on Myelin's engine: existing Nx code (and Axon,
    Scholar, Bumblebee on top of it) runs on Myelin by setting

        Nx.default_backend(Myelin.Backend)

    Compiled only when Nx is present (Nx is an optional dependency). It
    implements both the Nx 0.7 behaviour and Nx 0.13's (`block/4`,
    `stack/3`); see docs/NX_BACKEND.md.

    An Nx tensor on this backend holds a `Myelin.Tensor`; `to_nx/2` and
    `from_nx/1` convert between the two without copying. Every callback
    runs on the engine, except the few listed in `Myelin.Backend.Fallback`,
    which are computed by `Nx.BinaryBackend` explicitly and counted (see
    `fallback_counts/0`). Complex tensors hold a real engine tensor of
    (re, im) pairs (`Myelin.Backend.Complex`); Nx 0.13's f8 and sub-byte
    types hold f32 and 8-bit engine tensors (`Myelin.Backend.Float8`,
    `Myelin.Backend.SubByte`).

    Ops run on the calling process's scheduler when small and on dirty
    schedulers when large, as `Myelin.Tensor` ops do.
    """

    @behaviour Nx.Backend

    @enforce_keys [:tensor]
    defstruct [:tensor]

    @type t :: %__MODULE__{tensor: Myelin.Tensor.t()}

    alias Myelin.Backend.{Blocks, Complex, Conv, Fallback, Float8, Pointer, SubByte, Types}
    alias Myelin.Tensor.LinAlg
    alias Myelin.Tensor, as: MT
    alias Nx.Tensor, as: T

    import Myelin.Tensor, only: [dispatch: 4]

    import Types,
      only: [operand: 2, real!: 2, engine_shape: 1, complex?: 1, engine_type: 2, real_type!: 2]

    # The callbacks of the Nx in use. Nx 0.7 and Nx 0.13 differ: 0.13 adds
    # block/4, stack/3 and the pointer callbacks and drops take/4,
    # take_along_axis/4, lu/3, map/4 and the optional callbacks (which
    # become Nx.Block structs handled by block/4). Functions of the other
    # generation are still defined, without @impl.
    @nx_callbacks Nx.Backend.behaviour_info(:callbacks)

    @f8_types [{:f, 8}, {:f8_e4m3fn, 8}]
    @sub_byte_types [{:s, 2}, {:s, 4}, {:u, 2}, {:u, 4}]

    ## Conversions

    @doc """
    Wraps a `Myelin.Tensor` as an `Nx.Tensor` on this backend, without
    copying. `names:` gives the axis names (default: none).

        iex> t = Myelin.Backend.to_nx(Myelin.Tensor.tensor([1, 2, 3]))
        iex> Nx.add(t, 1)
        #Nx.Tensor<
          s64[3]
          [2, 3, 4]
        >
    """
    @spec to_nx(MT.t(), keyword()) :: T.t()
    def to_nx(%MT{shape: shape, type: type} = t, opts \\ []) do
      names = Keyword.get(opts, :names) || List.duplicate(nil, tuple_size(shape))
      %T{data: %__MODULE__{tensor: t}, shape: shape, type: type, names: names}
    end

    @doc """
    The `Myelin.Tensor` holding an Nx tensor's data: the same memory when the
    tensor is on this backend, else a copy of its binary.

        iex> Myelin.Backend.from_nx(Nx.tensor([1.0, 2.0], backend: Nx.BinaryBackend))
        #Myelin.Tensor<
          f32[2]
          [1.0, 2.0]
        >
    """
    @spec from_nx(T.t()) :: MT.t()
    def from_nx(%T{data: %__MODULE__{tensor: t}}), do: t

    # A tensor on another backend: a copy of its binary (Myelin.Backend.Types).
    def from_nx(%T{} = t), do: Types.from_other(t)

    @doc """
    How many times each op has been computed by the explicit fallback to
    `Nx.BinaryBackend` in this VM, as a map of op name to count.

        iex> is_map(Myelin.Backend.fallback_counts())
        true
    """
    @spec fallback_counts() :: %{atom() => non_neg_integer()}
    defdelegate fallback_counts(), to: Fallback, as: :counts

    # The result of a callback: `t` as `out`, converted to `out`'s engine
    # form if the engine produced another type (e.g. s64 sums where Nx wants
    # u64; see Myelin.Backend.Types). For a complex `out`, `t` is its pair
    # tensor.
    @compile {:inline, to_out: 2}
    defp to_out(%MT{type: type} = t, %T{type: type} = out),
      do: %{out | data: %__MODULE__{tensor: t}}

    defp to_out(%MT{} = t, %T{type: type} = out),
      do: %{out | data: %__MODULE__{tensor: Types.to_type(t, type)}}

    defp cast(t, type), do: Types.to_type(t, type)

    ## Creation

    @impl true
    def init(opts) do
      Enum.each(opts, fn
        {:device, :cpu} ->
          :ok

        other ->
          raise ArgumentError,
                "Myelin.Backend: unknown option #{inspect(other)}, expected device: :cpu"
      end)

      opts
    end

    @impl true
    def constant(%T{type: {:c, _} = type, shape: shape} = out, number, _opts),
      do: Complex.constant(shape, number, type) |> to_out(out)

    def constant(%T{type: type, shape: shape} = out, number, _opts) do
      type = engine_type(type, :constant)

      if is_struct(number, Complex),
        do:
          raise(
            ArgumentError,
            "Myelin.Backend.constant: expected a real number for type #{inspect(type)}, got #{inspect(number)}"
          )

      MT.full(shape, number, type: type) |> to_out(out)
    end

    @impl true
    def from_binary(%T{type: {:c, _} = type, shape: shape} = out, binary, _opts) do
      MT.from_binary(IO.iodata_to_binary(binary), Complex.part_type(type),
        shape: Complex.pair_shape(shape)
      )
      |> to_out(out)
    end

    def from_binary(%T{type: type, shape: shape} = out, binary, _opts) when type in @f8_types,
      do: binary |> IO.iodata_to_binary() |> Float8.from_binary(type, shape) |> to_out(out)

    def from_binary(%T{type: type, shape: shape} = out, bits, _opts)
        when type in @sub_byte_types,
        do: bits |> bitstring() |> SubByte.unpack(type, shape) |> to_out(out)

    def from_binary(%T{type: type, shape: shape} = out, binary, _opts) do
      real_type!(type, :from_binary)
      MT.from_binary(IO.iodata_to_binary(binary), type, shape: shape) |> to_out(out)
    end

    defp bitstring(bits) when is_bitstring(bits), do: bits
    defp bitstring(iodata), do: :erlang.list_to_bitstring(iodata)

    @impl true
    def eye(%T{type: {:c, _} = type, shape: shape} = out, _opts),
      do: MT.eye(shape, type: Complex.part_type(type)) |> Complex.from_real(type) |> to_out(out)

    def eye(%T{type: type, shape: shape} = out, _opts),
      do: MT.eye(shape, type: engine_type(type, :eye)) |> to_out(out)

    @impl true
    def iota(%T{type: {:c, _} = type, shape: shape} = out, axis, _opts) do
      MT.iota(shape, axis: axis, type: Complex.part_type(type))
      |> Complex.from_real(type)
      |> to_out(out)
    end

    def iota(%T{type: type, shape: shape} = out, axis, _opts),
      do: MT.iota(shape, axis: axis, type: engine_type(type, :iota)) |> to_out(out)

    ## Memory and transfer

    @impl true
    # Memory is owned by the engine and released when the last reference
    # is garbage-collected; there is nothing to free eagerly.
    def backend_deallocate(_tensor), do: :ok

    @impl true
    def backend_copy(tensor, backend, opts), do: backend_transfer(tensor, backend, opts)

    @impl true
    def backend_transfer(tensor, Nx.Tensor, _opts), do: tensor
    # Tensors are immutable: a copy on the same backend can share memory.
    def backend_transfer(tensor, __MODULE__, _opts), do: tensor

    # Nx's bytes (packed sub-byte types, encoded f8), as to_binary/2 gives them.
    def backend_transfer(%T{} = tensor, backend, opts),
      do: backend.from_binary(tensor, to_binary(tensor, Nx.size(tensor)), opts)

    @impl true
    def to_binary(%T{type: type} = tensor, limit) when type in @sub_byte_types,
      do: tensor |> from_nx() |> SubByte.pack(type, limit)

    def to_binary(%T{type: {_, bits} = type} = tensor, limit) do
      t = from_nx(tensor)
      t = if type in @f8_types, do: Float8.encode(t, type), else: t
      binary = MT.to_binary(t)
      bytes = limit * div(bits, 8)
      if byte_size(binary) <= bytes, do: binary, else: binary_part(binary, 0, bytes)
    end

    @impl true
    def inspect(%T{} = tensor, inspect_opts) do
      limit =
        if inspect_opts.limit == :infinity, do: Nx.size(tensor), else: inspect_opts.limit + 1

      Nx.Backend.inspect(tensor, to_binary(tensor, limit), inspect_opts)
    end

    @impl true
    def to_batched(%T{shape: out_shape} = out, %T{} = tensor, opts) do
      # Slices the engine tensor (for a complex tensor, its pair tensor).
      %MT{shape: shape} = t = from_nx(tensor)
      batch = elem(out_shape, 0)
      total = elem(shape, 0)
      full = div(total, batch)
      rest_lengths = shape |> Tuple.delete_at(0) |> Tuple.to_list()
      zeros = Enum.map(rest_lengths, fn _ -> 0 end)
      slice = fn start, len -> MT.slice(t, [start | zeros], [len | rest_lengths]) end

      last =
        if rem(total, batch) != 0 and opts[:leftover] == :repeat,
          do: full,
          else: full - 1

      Stream.map(0..last//1, fn
        ^full ->
          # The leftover batch wraps around to the first elements.
          have = total - full * batch
          MT.concatenate([slice.(full * batch, have), slice.(0, batch - have)]) |> to_out(out)

        i ->
          slice.(i * batch, batch) |> to_out(out)
      end)
    end

    ## Types and shapes

    @impl true
    def as_type(%T{type: type} = out, tensor), do: operand(tensor, type) |> to_out(out)

    @impl true
    # f8 and sub-byte types go through Nx's bits.
    def bitcast(%T{type: type} = out, %T{type: from} = tensor)
        when type in @f8_types or type in @sub_byte_types or from in @f8_types or
               from in @sub_byte_types,
        do: from_binary(out, to_binary(tensor, Nx.size(tensor)), [])

    def bitcast(%T{type: type} = out, tensor),
      do: tensor |> real!(:bitcast) |> MT.bitcast(real_type!(type, :bitcast)) |> to_out(out)

    @impl true
    def reshape(out, tensor),
      do: tensor |> from_nx() |> MT.reshape(engine_shape(out)) |> to_out(out)

    @impl true
    def squeeze(out, tensor, _axes),
      do: tensor |> from_nx() |> MT.reshape(engine_shape(out)) |> to_out(out)

    @impl true
    def broadcast(%T{type: {:c, _} = type} = out, tensor, shape, axes) do
      tensor
      |> operand(type)
      |> MT.broadcast(Complex.pair_shape(shape), axes: axes ++ [tuple_size(shape)])
      |> to_out(out)
    end

    def broadcast(%T{type: type} = out, tensor, shape, axes),
      do: tensor |> operand(type) |> MT.broadcast(shape, axes: axes) |> to_out(out)

    @impl true
    def transpose(out, tensor, axes) do
      # A pair tensor's last axis stays last.
      axes = if complex?(out), do: axes ++ [length(axes)], else: axes
      tensor |> from_nx() |> MT.transpose(axes: axes) |> to_out(out)
    end

    @impl true
    def pad(%T{type: {:c, _} = type} = out, tensor, pad_value, config),
      do: Complex.pad(operand(tensor, type), operand(pad_value, type), config) |> to_out(out)

    def pad(%T{type: type} = out, tensor, pad_value, config),
      do: tensor |> operand(type) |> MT.pad(operand(pad_value, type), config) |> to_out(out)

    @impl true
    def reverse(out, tensor, axes),
      do: tensor |> from_nx() |> MT.reverse(axes: axes) |> to_out(out)

    @impl true
    def concatenate(%T{type: type} = out, tensors, axis),
      do: tensors |> Enum.map(&operand(&1, type)) |> MT.concatenate(axis: axis) |> to_out(out)

    @impl true
    def slice(%T{} = out, %T{shape: shape} = tensor, starts, lengths, strides) do
      starts = clamp_starts(starts, shape, lengths)

      {starts, lengths, strides} =
        if complex?(out),
          do: {starts ++ [0], lengths ++ [2], strides ++ [1]},
          else: {starts, lengths, strides}

      tensor |> from_nx() |> MT.slice(starts, lengths, strides: strides) |> to_out(out)
    end

    @impl true
    def put_slice(%T{type: type} = out, %T{shape: shape} = tensor, starts, slice) do
      starts = clamp_starts(starts, shape, Tuple.to_list(slice.shape))
      starts = if complex?(out), do: starts ++ [0], else: starts
      tensor |> operand(type) |> MT.put_slice(starts, operand(slice, type)) |> to_out(out)
    end

    # Nx clamps start indices (numbers or scalar tensors) so the slice fits.
    defp clamp_starts(starts, shape, lengths) do
      [Tuple.to_list(shape), starts, lengths]
      |> Enum.zip_with(fn [dim, start, len] ->
        start = if is_integer(start), do: start, else: start |> from_nx() |> MT.to_number()
        start |> max(0) |> min(dim - len)
      end)
    end

    ## Indexing

    @impl {:take, 4} in @nx_callbacks
    def take(out, tensor, indices, axis),
      do: tensor |> from_nx() |> MT.take(from_nx(indices), axis: axis) |> to_out(out)

    @impl {:take_along_axis, 4} in @nx_callbacks
    def take_along_axis(out, tensor, indices, axis) do
      if complex?(tensor),
        do: tensor |> from_nx() |> Complex.take_along_axis(from_nx(indices), axis) |> to_out(out),
        else:
          tensor |> from_nx() |> MT.take_along_axis(from_nx(indices), axis: axis) |> to_out(out)
    end

    @impl true
    def gather(out, tensor, indices, opts) do
      t = from_nx(tensor)
      axes = opts[:axes]
      # The engine tensor's axes (a pair tensor's pair axis stays last).
      all_axes = Enum.to_list(0..(MT.rank(t) - 1))
      # The engine indexes leading axes: move the indexed ones first.
      t =
        if List.starts_with?(all_axes, axes),
          do: t,
          else: MT.transpose(t, axes: axes ++ (all_axes -- axes))

      MT.gather(t, from_nx(indices)) |> to_out(out)
    end

    @impl true
    def indexed_add(out, target, indices, updates, opts),
      do: indexed(&MT.indexed_add/3, out, target, indices, updates, opts)

    @impl true
    def indexed_put(out, target, indices, updates, opts),
      do: indexed(&MT.indexed_put/3, out, target, indices, updates, opts)

    defp indexed(fun, %T{type: type} = out, target, indices, updates, opts) do
      t = operand(target, type)
      updates = operand(updates, type)
      axes = opts[:axes]
      all_axes = Enum.to_list(0..(MT.rank(t) - 1))

      if is_nil(axes) or List.starts_with?(all_axes, axes) do
        fun.(t, from_nx(indices), updates) |> to_out(out)
      else
        # The engine scatters into leading axes: permute, scatter, undo.
        perm = axes ++ (all_axes -- axes)
        inverse = perm |> Enum.with_index() |> Enum.sort() |> Enum.map(&elem(&1, 1))

        t
        |> MT.transpose(axes: perm)
        |> fun.(from_nx(indices), updates)
        |> MT.transpose(axes: inverse)
        |> to_out(out)
      end
    end

    @impl true
    def select(%T{type: type} = out, pred, on_true, on_false) do
      select = if complex?(out), do: &Complex.select/3, else: &MT.select/3

      select.(real!(pred, :select), operand(on_true, type), operand(on_false, type))
      |> to_out(out)
    end

    @impl true
    def clip(%T{type: type} = out, tensor, min, max) do
      real!(tensor, :clip)

      tensor |> operand(type) |> MT.clip(operand(min, type), operand(max, type)) |> to_out(out)
    end

    ## Element-wise ops

    # Arithmetic and bitwise ops compute in the output type, as
    # Nx.BinaryBackend does; comparisons and logical ops compare the inputs
    # in their merged type and give u8.
    @arithmetic_ops [:add, :subtract, :multiply, :pow, :remainder, :divide, :atan2, :min, :max] ++
                      [:quotient, :bitwise_and, :bitwise_or, :bitwise_xor, :left_shift] ++
                      [:right_shift]
    @comparison_ops [:equal, :not_equal, :greater, :less, :greater_equal, :less_equal] ++
                      [:logical_and, :logical_or, :logical_xor]

    for op <- @arithmetic_ops do
      @impl true
      def unquote(op)(%T{type: {:c, _}} = out, a, b), do: complex_binary(unquote(op), out, a, b)

      def unquote(op)(%T{type: type} = out, a, b),
        do: binary(unquote(op), out, operand(a, type), operand(b, type))
    end

    # Complex sums and differences add the pair tensors; products,
    # quotients and powers are composed by Myelin.Backend.Complex.
    defp complex_binary(op, %T{type: type} = out, a, b) when op in [:add, :subtract],
      do: binary(op, out, operand(a, type), operand(b, type))

    # Complex.multiply scales by a real operand (which keeps the sign of a
    # zero part as BinaryBackend does).
    defp complex_binary(:multiply, %T{type: type} = out, %T{type: {:c, _}} = a, %T{} = b)
         when elem(b.type, 0) != :c,
         do: Complex.multiply_real(operand(a, type), from_nx(b)) |> to_out(out)

    defp complex_binary(:multiply, %T{type: type} = out, %T{} = a, %T{type: {:c, _}} = b)
         when elem(a.type, 0) != :c,
         do: Complex.multiply_real(operand(b, type), from_nx(a)) |> to_out(out)

    defp complex_binary(op, %T{type: type} = out, a, b) when op in [:multiply, :divide, :pow],
      do: Complex |> apply(op, [operand(a, type), operand(b, type)]) |> to_out(out)

    defp complex_binary(op, %T{type: type}, _a, _b), do: no_complex!(op, type)

    for op <- @comparison_ops do
      @impl true
      def unquote(op)(out, a, b), do: comparison(unquote(op), out, a, b)
    end

    defp comparison(op, out, a, b) do
      case Nx.Type.merge(a.type, b.type) do
        {:c, _} = type when op in [:equal, :not_equal] ->
          Complex.compare(op, operand(a, type), operand(b, type)) |> to_out(out)

        # Logical ops read a complex element as true when it is not 0.
        {:c, _} = type when op in [:logical_and, :logical_or, :logical_xor] ->
          [a, b] = Enum.map([a, b], &Complex.nonzero(operand(&1, type)))
          binary(op, out, a, b)

        {:c, _} = type ->
          no_complex!(op, type)

        type ->
          binary(op, out, operand(a, type), operand(b, type))
      end
    end

    defp no_complex!(op, type) do
      raise ArgumentError,
            "Myelin.Backend.#{op}: #{op} is not defined for complex numbers, got #{inspect(type)}"
    end

    defp binary(op, %T{shape: shape} = out, a, b) do
      dispatch(Nx.size(shape), :binary, :binary_dirty, [op, a.ref, b.ref]) |> to_out(out)
    end

    # The engine's unary ops; Nx's names are the same.
    @engine_unary_ops [:exp, :expm1, :log, :log1p, :sigmoid, :cos, :sin, :tan, :cosh, :sinh] ++
                        [:tanh, :acos, :asin, :atan, :acosh, :asinh, :atanh, :sqrt, :rsqrt] ++
                        [:cbrt, :erf, :erfc, :abs, :bitwise_not, :ceil, :floor, :negate] ++
                        [:round, :sign, :is_nan, :is_infinity, :erf_inv] ++
                        [:count_leading_zeros, :population_count]

    for op <- @engine_unary_ops do
      @impl true
      def unquote(op)(out, tensor), do: unary(unquote(op), out, tensor)
    end

    @impl {:logical_not, 2} in @nx_callbacks
    def logical_not(out, tensor), do: unary(:logical_not, out, tensor)

    # Complex results (and |z|, is_nan, is_infinity of complex inputs) are
    # composed by Myelin.Backend.Complex. Float results are computed in the
    # output type (so an integer input to exp is converted first, as in
    # Nx); other results from the input as is.
    defp unary(op, %T{type: {:c, _} = type} = out, %T{} = tensor) do
      if op in Complex.unary_ops(),
        do: Complex.unary(op, operand(tensor, type)) |> to_out(out),
        else: no_complex!(op, type)
    end

    defp unary(op, out, %T{type: {:c, _} = type} = tensor) do
      case op do
        :abs ->
          tensor |> from_nx() |> Complex.magnitude() |> to_out(out)

        :logical_not ->
          tensor |> from_nx() |> Complex.nonzero() |> MT.logical_not() |> to_out(out)

        op when op in [:is_nan, :is_infinity] ->
          Complex.predicate(op, from_nx(tensor)) |> to_out(out)

        _ ->
          no_complex!(op, type)
      end
    end

    # Bits of a sub-byte integer are counted in its own width.
    defp unary(op, out, %T{type: type} = tensor)
         when type in @sub_byte_types and op in [:count_leading_zeros, :population_count],
         do: SubByte.count_bits(op, from_nx(tensor), type) |> to_out(out)

    defp unary(op, %T{type: type} = out, %T{} = tensor) do
      t = if Nx.Type.float?(type), do: operand(tensor, type), else: from_nx(tensor)
      dispatch(MT.size(t), :unary, :unary_dirty, [op, t.ref]) |> to_out(out)
    end

    # Real tensors are their own real part and conjugate; their imaginary
    # part is zero.
    @impl true
    def conjugate(%T{type: {:c, _}} = out, tensor), do: unary(:conjugate, out, tensor)
    def conjugate(%T{type: type} = out, tensor), do: operand(tensor, type) |> to_out(out)

    @impl true
    def real(%T{type: type} = out, tensor), do: operand(tensor, type) |> to_out(out)

    @impl true
    def imag(%T{type: type} = out, %T{type: {:c, _}} = tensor),
      do: tensor |> from_nx() |> Complex.parts() |> elem(1) |> cast(type) |> to_out(out)

    def imag(%T{type: type, shape: shape} = out, _tensor),
      do: MT.full(shape, 0, type: engine_type(type, :imag)) |> to_out(out)

    ## Reductions

    for op <- [:sum, :product, :all, :any, :reduce_max, :reduce_min] do
      @impl true
      def unquote(op)(out, tensor, opts), do: reduce(unquote(op), out, tensor, opts)
    end

    # A complex sum adds the pair tensor over the tensor's own axes; a
    # product multiplies in rounds (Complex.product); all/any test for
    # non-zero elements.
    defp reduce(op, out, %T{type: {:c, _} = type} = tensor, opts) do
      pair = from_nx(tensor)
      axes = opts[:axes] || Nx.axes(tensor)
      keep_axes = opts[:keep_axes] || false

      case op do
        :sum ->
          engine_reduce(:sum, out, pair, axes, keep_axes)

        :product ->
          Complex.product(pair, axes, keep_axes) |> to_out(out)

        op when op in [:all, :any] ->
          engine_reduce(op, out, Complex.nonzero(pair), axes, keep_axes)

        _ ->
          no_complex!(op, type)
      end
    end

    defp reduce(op, out, tensor, opts),
      do: engine_reduce(op, out, from_nx(tensor), opts[:axes], opts[:keep_axes] || false)

    defp engine_reduce(op, out, %MT{} = t, axes, keep_axes),
      do:
        dispatch(MT.size(t), :reduce, :reduce_dirty, [op, t.ref, axes, keep_axes]) |> to_out(out)

    for op <- [:argmax, :argmin] do
      @impl true
      def unquote(op)(out, tensor, opts) do
        opts = Keyword.take(opts, [:axis, :tie_break, :keep_axis])
        tensor |> real!(unquote(op)) |> MT.unquote(op)(opts) |> to_out(out)
      end
    end

    for op <- [:cumulative_sum, :cumulative_product, :cumulative_min, :cumulative_max] do
      @impl {op, 3} in @nx_callbacks
      def unquote(op)(out, tensor, opts),
        do: cumulative(unquote(op), out, tensor, Keyword.take(opts, [:axis, :reverse]))
    end

    # A complex running sum adds pair tensors along the same axis; a complex
    # running product is Complex.cumulative_product's.
    defp cumulative(:cumulative_sum, out, tensor, opts),
      do: tensor |> from_nx() |> MT.cumulative_sum(opts) |> to_out(out)

    defp cumulative(:cumulative_product, out, %T{type: {:c, _}} = tensor, opts) do
      pair = from_nx(tensor)
      Complex.cumulative_product(pair, opts[:axis] || 0, opts[:reverse] || false) |> to_out(out)
    end

    defp cumulative(op, out, tensor, opts),
      do: tensor |> real!(op) |> then(&apply(MT, op, [&1, opts])) |> to_out(out)

    @impl true
    def sort(out, tensor, opts),
      do:
        tensor |> real!(:sort) |> MT.sort(Keyword.take(opts, [:axis, :direction])) |> to_out(out)

    @impl true
    def argsort(%T{type: type} = out, tensor, opts) do
      opts = opts |> Keyword.take([:axis, :direction]) |> Keyword.put(:type, type)
      tensor |> real!(:argsort) |> MT.argsort(opts) |> to_out(out)
    end

    @impl true
    def dot(%T{type: type} = out, a, contract_a, batch_a, b, contract_b, batch_b) do
      dot = if complex?(out), do: &Complex.dot/6, else: &MT.dot/6

      dot.(operand(a, type), contract_a, batch_a, operand(b, type), contract_b, batch_b)
      |> to_out(out)
    end

    ## Convolution

    @impl true
    # On the engine (Myelin.Backend.Conv), except batch groups together with
    # feature groups, negative padding of a dilated input, and more than 3
    # spatial axes: the counted fallback.
    def conv(%T{type: type} = out, t, k, opts) do
      if Conv.engine?(t, opts),
        do: Conv.conv(operand(t, type), operand(k, type), opts, complex?(out)) |> to_out(out),
        else: Fallback.run(:conv, [out, t, k, opts])
    end

    ## Windows

    for {op, fun} <-
          [window_sum: &MT.window_sum/3, window_product: &MT.window_product/3] ++
            [window_max: &MT.window_max/3, window_min: &MT.window_min/3] do
      @impl true
      def unquote(op)(out, tensor, window_dimensions, opts) do
        opts = Keyword.take(opts, [:strides, :padding, :window_dilations])
        window(unquote(op), unquote(fun), out, tensor, window_dimensions, opts)
      end
    end

    # A complex window sum sums the pair tensor with a window of 1 over the
    # pair axis; a complex window product is the fallback's.
    defp window(:window_sum, fun, out, %T{type: {:c, _}} = tensor, dims, opts) do
      opts =
        opts
        |> Keyword.update(:strides, [1], &(&1 ++ [1]))
        |> Keyword.update(:padding, [{0, 0}], &pair_padding/1)
        |> Keyword.update(:window_dilations, [1], &(&1 ++ [1]))

      fun.(from_nx(tensor), Tuple.append(dims, 1), opts) |> to_out(out)
    end

    defp window(:window_product, _fun, out, %T{type: {:c, _}} = tensor, dims, opts),
      do: Fallback.run(:window_product, [out, tensor, dims, opts])

    defp window(op, fun, out, tensor, dims, opts),
      do: fun.(real!(tensor, op), dims, opts) |> to_out(out)

    defp pair_padding(padding) when is_list(padding), do: padding ++ [{0, 0}]

    for {op, fun} <- [
          window_scatter_max: &MT.window_scatter_max/5,
          window_scatter_min: &MT.window_scatter_min/5
        ] do
      @impl true
      def unquote(op)(%T{type: type} = out, tensor, source, init_value, window_dimensions, opts) do
        opts = Keyword.take(opts, [:strides, :padding, :window_dilations])
        args = [real!(tensor, unquote(op)), operand(source, type), operand(init_value, type)]
        apply(unquote(fun), args ++ [window_dimensions, opts]) |> to_out(out)
      end
    end

    ## Linear algebra

    @impl {:lu, 3} in @nx_callbacks
    # p has the input's type, l and u its float type.
    # A complex matrix's LU is the fallback's (the engine's is real).
    def lu(out, %T{type: {:c, _}} = tensor, opts), do: Fallback.run(:lu, [out, tensor, opts])

    def lu({p, %T{type: type} = l, u}, tensor, opts) do
      {mp, ml, mu} = tensor |> operand(type) |> LinAlg.lu(Keyword.take(opts, [:eps]))
      {to_out(mp, p), to_out(ml, l), to_out(mu, u)}
    end

    @impl true
    # Complex systems are solved by the fallback (the engine's solver is real).
    def triangular_solve(%T{type: {:c, _}} = out, a, b, opts),
      do: Fallback.run(:triangular_solve, [out, a, b, opts])

    def triangular_solve(%T{type: type} = out, a, b, opts) do
      opts = Keyword.take(opts, [:lower, :left_side, :transform_a])
      # Nx 0.13's :conjugate conjugates a without transposing: a real a as is.
      opts =
        if opts[:transform_a] == :conjugate,
          do: Keyword.put(opts, :transform_a, :none),
          else: opts

      try do
        LinAlg.triangular_solve(operand(a, type), operand(b, type), opts) |> to_out(out)
      rescue
        # Nx's own message, which Nx code (and Nx's doctests) match on.
        e in ArgumentError ->
          if e.message =~ "can't solve for singular matrix",
            do: reraise(ArgumentError, "can't solve for singular matrix", __STACKTRACE__),
            else: reraise(e, __STACKTRACE__)
      end
    end

    @impl {:eigh, 3} in @nx_callbacks
    def eigh({%T{type: type} = values, vectors}, tensor, opts) do
      real!(tensor, :eigh)
      {mv, mq} = tensor |> operand(type) |> LinAlg.eigh(Keyword.take(opts, [:eps, :max_iter]))
      {to_out(mv, values), to_out(mq, vectors)}
    end

    ## Nx 0.13: blocks, stack, pointers

    @impl {:block, 4} in @nx_callbacks
    # Native blocks on the engine, the rest by Nx's default (Myelin.Backend.Blocks).
    def block(struct, output, args, fun), do: Blocks.run(struct, output, args, fun)

    ## Fourier transforms

    for kind <- [:fft, :ifft] do
      @impl true
      # On the engine's fft kernel; the input becomes complex first.
      def unquote(kind)(%T{type: type} = out, tensor, opts) do
        Complex.fft(unquote(kind), operand(tensor, type), opts[:axis], opts[:length], opts[:eps])
        |> to_out(out)
      end
    end

    @impl {:stack, 3} in @nx_callbacks
    def stack(%T{type: type} = out, tensors, axis) do
      one = out |> engine_shape() |> put_elem(axis, 1)

      tensors
      |> Enum.map(&(&1 |> operand(type) |> MT.reshape(one)))
      |> MT.concatenate(axis: axis)
      |> to_out(out)
    end

    @impl {:to_pointer, 2} in @nx_callbacks
    # `:local` pointers to the engine's memory (see Myelin.Backend.Pointer).
    def to_pointer(%T{type: type} = tensor, opts),
      do: tensor |> from_nx() |> Pointer.to_pointer(type, opts)

    @impl {:from_pointer, 5} in @nx_callbacks
    def from_pointer(pointer, type, shape, backend_opts, opts) do
      init(backend_opts)

      {engine_type, engine_shape} =
        case type do
          {:c, _} -> {Complex.part_type(type), Complex.pair_shape(shape)}
          _ -> {engine_type(type, :from_pointer), shape}
        end

      t = Pointer.from_pointer(pointer, type, engine_type, engine_shape)
      names = opts[:names] || List.duplicate(nil, tuple_size(shape))
      %T{data: %__MODULE__{tensor: t}, type: type, shape: shape, names: names}
    end

    ## Computed by Nx.BinaryBackend (explicit and counted; see Fallback)

    for {op, arity} <- Fallback.ops() do
      args = Macro.generate_arguments(arity, __MODULE__)

      @impl {op, arity} in @nx_callbacks
      def unquote(op)(unquote_splicing(args)), do: Fallback.run(unquote(op), unquote(args))
    end
  end
end
