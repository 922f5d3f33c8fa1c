if Code.ensure_loaded?(Nx) do
  defmodule Myelin.Backend.Complex do
    @moduledoc """
    Complex tensors (`{:c, 64}`, `{:c, 128}`) on `Myelin.Backend`.

    The engine's element types are real, so a complex Nx tensor of shape `s`
    holds a real engine tensor of shape `s ++ {2}`, its *pair tensor*: the
    real and imaginary parts interleaved, `f32` for `c64` and `f64` for
    `c128`. Those are exactly the bytes of Nx's complex binaries, so
    `Nx.to_binary/1`, `Nx.from_binary/3`, `inspect/2` and transfers between
    backends need no conversion.

    Data movement (reshape, transpose, slice, concatenate, gather, ...) runs
    on the pair tensor with the pair axis appended; additions and sums too.
    Everything else is composed here from the engine's real ops on the two
    parts, with the formulas of Elixir's `Complex` library, which
    `Nx.BinaryBackend` uses, including its special cases for a purely real
    or purely imaginary right operand of `multiply` and `divide`. Element-wise
    products, quotients, powers and functions of `c64` values are computed
    in f64 and rounded once, as BinaryBackend does; sums, `dot` and `conv`
    add in the part type, and products multiply in rounds (see `product/3`).
    Fourier transforms run on the engine's `fft` kernel (`myelin_cpu::fft`,
    BinaryBackend's algorithm in Rust).

    The functions here take and return engine tensors (pair tensors for
    complex values); `Myelin.Backend` converts Nx operands and results.
    """

    alias Myelin.Tensor, as: MT

    @typedoc "A complex value as its two real parts, `{re, im}`, of one shape."
    @type parts :: {MT.t(), MT.t()}

    ## Representation

    @doc "The real type of a complex type's parts: `{:c, 64}` -> `{:f, 32}`."
    @spec part_type(Nx.Type.t()) :: Nx.Type.t()
    def part_type({:c, bits}), do: {:f, div(bits, 2)}

    @doc "The pair tensor's shape for a complex tensor of `shape`."
    @spec pair_shape(tuple()) :: tuple()
    def pair_shape(shape), do: Tuple.append(shape, 2)

    @doc "The pair tensor of a real engine tensor, in complex type `type`."
    @spec from_real(MT.t(), Nx.Type.t()) :: MT.t()
    def from_real(%MT{} = t, type) do
      re = MT.as_type(t, part_type(type))
      join({re, MT.full(re.shape, 0, type: re.type)})
    end

    @doc "Splits a pair tensor into its real and imaginary parts."
    @spec parts(MT.t()) :: parts()
    def parts(%MT{shape: shape} = pair) do
      n = tuple_size(shape) - 1
      shape = Tuple.delete_at(shape, n)
      starts = List.duplicate(0, n)
      lengths = Tuple.to_list(shape) ++ [1]
      re = pair |> MT.slice(starts ++ [0], lengths) |> MT.reshape(shape)
      im = pair |> MT.slice(starts ++ [1], lengths) |> MT.reshape(shape)
      {re, im}
    end

    @doc "The pair tensor of two parts of one shape (every formula here keeps them equal)."
    @spec join(parts()) :: MT.t()
    def join({%MT{shape: shape} = re, %MT{shape: shape} = im}),
      do: MT.stack([re, im], axis: tuple_size(shape))

    @doc "A pair tensor of `shape` filled with `number` (real or `Complex`)."
    @spec constant(tuple(), number() | atom() | Complex.t(), Nx.Type.t()) :: MT.t()
    def constant(shape, %Complex{re: re, im: im}, type) do
      part = part_type(type)
      join({MT.full(shape, re, type: part), MT.full(shape, im, type: part)})
    end

    def constant(shape, number, type), do: constant(shape, Complex.new(number, 0), type)

    # Computation type of the element-wise formulas: f64, as in BinaryBackend.
    defp wide(%MT{} = pair), do: pair |> MT.as_type({:f, 64}) |> parts()

    ## Element-wise arithmetic

    @doc "`a * b` of two pair tensors (as a pair tensor, in f64)."
    @spec multiply(MT.t(), MT.t()) :: MT.t()
    def multiply(a, b), do: join(cmul(wide(a), wide(b)))

    @doc "`z * x` of a pair tensor and a real tensor (as a pair tensor, in f64)."
    @spec multiply_real(MT.t(), MT.t()) :: MT.t()
    def multiply_real(pair, %MT{} = x) do
      x = MT.as_type(x, {:f, 64})
      {re, im} = wide(pair)
      join({MT.multiply(re, x), MT.multiply(im, x)})
    end

    @doc "`a / b` of two pair tensors (as a pair tensor, in f64)."
    @spec divide(MT.t(), MT.t()) :: MT.t()
    def divide(a, b), do: join(cdiv(wide(a), wide(b)))

    @doc """
    `a ** b` of two pair tensors, in polar form as `Complex.pow/2` computes it:
    `rho^br e^(-bi theta)` at angle `br theta + bi log(rho)`; `0 ** 0 = 1`,
    `0 ** b = 0`, and exponents 1 and -1 give `a` and `1 / a` exactly.
    """
    @spec pow(MT.t(), MT.t()) :: MT.t()
    def pow(a, b) do
      {ar, ai} = za = wide(a)
      {br, bi} = zb = wide(b)
      {rho, theta} = {abs_parts(za), MT.atan2(ai, ar)}
      s = MT.multiply(MT.pow(rho, br), MT.exp(MT.multiply(MT.negate(bi), theta)))
      r = MT.add(MT.multiply(br, theta), MT.multiply(bi, MT.log(rho)))
      polar = {MT.multiply(s, MT.cos(r)), MT.multiply(s, MT.sin(r))}
      is = fn x, v -> MT.equal(x, v) end
      both = fn {p, q}, {u, v} -> MT.logical_and(is.(p, u), is.(q, v)) end
      zero_base = both.(za, {0, 0})
      at_zero = pick(both.(zb, {0, 0}), real_like(za, 1), real_like(za, 0))
      inverse = cdiv(real_like(za, 1), za)
      result = pick(both.(zb, {-1, 0}), inverse, polar)
      result = pick(both.(zb, {1, 0}), za, result)
      join(pick(zero_base, at_zero, result))
    end

    # A real constant in the shape of `z`'s parts.
    defp real_like({a, _}, v), do: real(MT.full(a.shape, v, type: {:f, 64}))

    @doc "`equal` (`:equal`) or `not_equal` of two pair tensors, as u8."
    @spec compare(:equal | :not_equal, MT.t(), MT.t()) :: MT.t()
    def compare(op, a, b) do
      {ar, ai} = parts(a)
      {br, bi} = parts(b)
      same = MT.logical_and(MT.equal(ar, br), MT.equal(ai, bi))
      if op == :equal, do: same, else: MT.logical_not(same)
    end

    # Complex.multiply: a purely real or purely imaginary right operand
    # takes a shortcut (it keeps infinities finite-times-zero out).
    defp cmul({a, b}, {c, d}) do
      general =
        {MT.subtract(MT.multiply(a, c), MT.multiply(b, d)),
         MT.add(MT.multiply(b, c), MT.multiply(a, d))}

      bd = MT.multiply(b, d)
      imaginary = {MT.select(MT.equal(bd, 0), 0.0, MT.negate(bd)), MT.multiply(a, d)}
      real = {MT.multiply(c, a), MT.multiply(c, b)}
      pick(MT.equal(d, 0), real, pick(MT.equal(c, 0), imaginary, general))
    end

    # Complex.divide, with the same shortcuts.
    defp cdiv({a, b}, {c, d}) do
      den = MT.add(MT.multiply(c, c), MT.multiply(d, d))
      re = MT.divide(MT.add(MT.multiply(a, c), MT.multiply(b, d)), den)
      im = MT.divide(MT.subtract(MT.multiply(b, c), MT.multiply(a, d)), den)
      real = {MT.divide(a, c), MT.divide(b, c)}
      imaginary = {MT.divide(b, d), MT.negate(MT.divide(a, d))}
      pick(MT.equal(d, 0), real, pick(MT.equal(c, 0), imaginary, {re, im}))
    end

    defp cadd({a, b}, {c, d}), do: {MT.add(a, c), MT.add(b, d)}
    defp csub({a, b}, {c, d}), do: {MT.subtract(a, c), MT.subtract(b, d)}
    defp scale({a, b}, k), do: {MT.multiply(a, k), MT.multiply(b, k)}
    defp real(%MT{shape: shape, type: type} = x), do: {x, MT.full(shape, 0, type: type)}
    defp times_i({a, b}), do: {MT.negate(b), a}
    defp one_plus({a, b}), do: {MT.add(a, 1), b}
    defp one_minus({a, b}), do: {MT.subtract(1, a), MT.negate(b)}

    defp pick(pred, {a, b}, {c, d}), do: {MT.select(pred, a, c), MT.select(pred, b, d)}

    ## Element-wise functions

    @unary_ops [:negate, :conjugate, :exp, :expm1, :log, :log1p, :sqrt, :rsqrt, :sigmoid] ++
                 [:sin, :cos, :tan, :sinh, :cosh, :tanh, :asin, :acos, :atan] ++
                 [:asinh, :acosh, :atanh, :sign]

    @doc "The complex functions `unary/2` computes."
    @spec unary_ops() :: [atom()]
    def unary_ops, do: @unary_ops

    @doc "A complex function of a pair tensor (one of `unary_ops/0`)."
    @spec unary(atom(), MT.t()) :: MT.t()
    def unary(op, pair) when op in @unary_ops, do: pair |> wide() |> fun(op) |> join()

    defp fun({a, b}, :negate), do: {MT.negate(a), MT.negate(b)}
    defp fun({a, b}, :conjugate), do: {a, MT.negate(b)}
    defp fun(z, :exp), do: cexp(z)
    defp fun(z, :expm1), do: z |> cexp() |> cadd(real(MT.tensor(-1.0, type: {:f, 64})))
    defp fun(z, :log), do: clog(z)
    defp fun(z, :log1p), do: z |> one_plus() |> clog()
    defp fun(z, :sqrt), do: csqrt(z)
    defp fun(z, :rsqrt), do: cdiv(real_like(z, 1), csqrt(z))
    defp fun(z, :sigmoid), do: cdiv(real_like(z, 1), z |> scale(-1) |> cexp() |> one_plus())

    defp fun({a, b}, :sin),
      do: {MT.multiply(MT.sin(a), MT.cosh(b)), MT.multiply(MT.cos(a), MT.sinh(b))}

    defp fun({a, b}, :cos),
      do: {MT.multiply(MT.cos(a), MT.cosh(b)), MT.negate(MT.multiply(MT.sin(a), MT.sinh(b)))}

    defp fun(z, :tan), do: cdiv(fun(z, :sin), fun(z, :cos))
    defp fun(z, :sinh), do: z |> cexp() |> csub(cexp(scale(z, -1))) |> scale(0.5)
    defp fun(z, :cosh), do: z |> cexp() |> cadd(cexp(scale(z, -1))) |> scale(0.5)
    defp fun(z, :tanh), do: cdiv(fun(z, :sinh), fun(z, :cosh))
    # The inverse functions use the formulas of Elixir's Complex library
    # (and so BinaryBackend's); acos and acosh take its branches, which
    # differ from the principal ones in parts of the plane.
    # asin z = -i log(iz + sqrt(1 - z^2))
    defp fun(z, :asin),
      do: z |> times_i() |> cadd(csqrt(one_minus(cmul(z, z)))) |> clog() |> neg_i()

    # acos z = -i log(z + sqrt(z^2 - 1))
    defp fun(z, :acos), do: z |> cadd(csqrt(z_squared_minus_one(z))) |> clog() |> neg_i()

    # atan z = i/2 (log(1 - iz) - log(1 + iz))
    defp fun(z, :atan) do
      iz = times_i(z)
      iz |> one_minus() |> clog() |> csub(clog(one_plus(iz))) |> times_i() |> scale(0.5)
    end

    # asinh z = log(z + sqrt(z^2 + 1))
    defp fun(z, :asinh), do: z |> cadd(csqrt(one_plus(cmul(z, z)))) |> clog()
    # acosh z = log(z + sqrt(z^2 - 1))
    defp fun(z, :acosh), do: z |> cadd(csqrt(z_squared_minus_one(z))) |> clog()
    # atanh z = log((1 + z) / (1 - z)) / 2
    defp fun(z, :atanh), do: z |> one_plus() |> cdiv(one_minus(z)) |> clog() |> scale(0.5)

    # sign z = z / |z|, 0 at 0.
    defp fun({a, b} = z, :sign) do
      r = abs_parts(z)
      zero = MT.equal(r, 0)
      {MT.select(zero, 0.0, MT.divide(a, r)), MT.select(zero, 0.0, MT.divide(b, r))}
    end

    defp neg_i({a, b}), do: {b, MT.negate(a)}
    defp z_squared_minus_one(z), do: z |> cmul(z) |> one_minus() |> scale(-1)

    defp cexp({a, b}) do
      rho = MT.exp(a)
      {MT.multiply(rho, MT.cos(b)), MT.multiply(rho, MT.sin(b))}
    end

    defp clog({a, b} = z), do: {MT.log(abs_parts(z)), MT.atan2(b, a)}

    # Complex.sqrt's algorithm (scaled so it neither overflows nor loses
    # the small part).
    defp csqrt({r, i}) do
      {x, y} = {MT.abs(r), MT.abs(i)}
      {yx, xy} = {MT.divide(y, x), MT.divide(x, y)}

      w_x =
        MT.multiply(
          MT.sqrt(x),
          MT.sqrt(MT.multiply(0.5, MT.add(1.0, MT.sqrt(MT.add(1.0, MT.multiply(yx, yx))))))
        )

      w_y =
        MT.multiply(
          MT.sqrt(y),
          MT.sqrt(MT.multiply(0.5, MT.add(xy, MT.sqrt(MT.add(1.0, MT.multiply(xy, xy))))))
        )

      w = MT.select(MT.greater_equal(x, y), w_x, w_y)
      i2 = MT.select(MT.greater_equal(i, 0.0), w, MT.negate(w))
      positive = {w, MT.divide(i, MT.multiply(2, w))}
      negative = {MT.divide(i, MT.multiply(2, i2)), i2}
      zero = MT.logical_and(MT.equal(r, 0), MT.equal(i, 0))
      pick(zero, {r, i}, pick(MT.greater_equal(r, 0.0), positive, negative))
    end

    # Complex.abs: max * sqrt(1 + (min/max)^2), exact when a part is 0.
    defp abs_parts({a, b}) do
      {x, y} = {MT.abs(a), MT.abs(b)}
      {big, small} = {MT.max(x, y), MT.min(x, y)}
      q = MT.divide(small, big)
      r = MT.multiply(big, MT.sqrt(MT.add(1.0, MT.multiply(q, q))))
      r = MT.select(MT.equal(small, 0), big, r)
      # Infinite parts give infinity even with a NaN beside them.
      MT.select(MT.logical_or(MT.is_infinity(a), MT.is_infinity(b)), :infinity, r)
    end

    @doc "`|z|` of a pair tensor, as a real f64 tensor (rounded by the caller)."
    @spec magnitude(MT.t()) :: MT.t()
    def magnitude(pair), do: pair |> wide() |> abs_parts()

    @doc "`is_nan` (`:is_nan`) or `is_infinity` of a pair tensor: either part, as u8."
    @spec predicate(:is_nan | :is_infinity, MT.t()) :: MT.t()
    def predicate(op, pair) do
      {re, im} = parts(pair)
      MT.logical_or(apply(MT, op, [re]), apply(MT, op, [im]))
    end

    @doc "1 where a pair tensor's element is not zero, as u8."
    @spec nonzero(MT.t()) :: MT.t()
    def nonzero(pair) do
      {re, im} = parts(pair)
      MT.logical_or(MT.not_equal(re, 0), MT.not_equal(im, 0))
    end

    ## Selection and padding

    @doc "`select(pred, on_true, on_false)` with pair-tensor branches."
    @spec select(MT.t(), MT.t(), MT.t()) :: MT.t()
    def select(pred, on_true, on_false),
      do: join(pick(pred, parts(on_true), parts(on_false)))

    @doc "Pads a pair tensor with a complex pad value (a pair tensor of shape `{2}`)."
    @spec pad(MT.t(), MT.t(), list()) :: MT.t()
    def pad(pair, value, config) do
      {re, im} = parts(pair)
      {vr, vi} = parts(value)
      join({MT.pad(re, vr, config), MT.pad(im, vi, config)})
    end

    @doc "`take_along_axis` of a pair tensor."
    @spec take_along_axis(MT.t(), MT.t(), integer()) :: MT.t()
    def take_along_axis(pair, indices, axis) do
      {re, im} = parts(pair)

      join(
        {MT.take_along_axis(re, indices, axis: axis), MT.take_along_axis(im, indices, axis: axis)}
      )
    end

    ## Reductions, products and convolution

    @doc """
    The product of a pair tensor's elements over `axes` (all when nil):
    pairs of halves are multiplied until one element is left, so a product
    of `n` takes `log2(n)` rounds of engine ops.
    """
    @spec product(MT.t(), [integer()] | nil, boolean()) :: MT.t()
    def product(%MT{shape: shape} = pair, axes, keep_axes) do
      rank = tuple_size(shape) - 1
      axes = Enum.sort(axes || Enum.to_list(0..(rank - 1)//1))
      kept = Enum.to_list(0..(rank - 1)//1) -- axes
      # Reduced axes first, flattened into one.
      moved = MT.transpose(pair, axes: axes ++ kept ++ [rank])
      n = Enum.reduce(axes, 1, &(elem(shape, &1) * &2))
      kept_dims = Enum.map(kept, &elem(shape, &1))
      flat = MT.reshape(moved, List.to_tuple([n | kept_dims] ++ [2]))
      kept_shape = List.to_tuple(kept_dims)

      result =
        if n == 0,
          do: constant(kept_shape, 1, {:c, elem(pair.type, 1) * 2}),
          else: flat |> halve(n) |> MT.reshape(pair_shape(kept_shape))

      if keep_axes do
        dims = Enum.map(0..(rank - 1)//1, &if(&1 in axes, do: 1, else: elem(shape, &1)))
        MT.reshape(result, List.to_tuple(dims ++ [2]))
      else
        result
      end
    end

    defp halve(flat, 1), do: flat

    defp halve(%MT{shape: shape} = flat, n) do
      half = div(n, 2)
      rest = shape |> Tuple.delete_at(0) |> Tuple.to_list()
      zeros = List.duplicate(0, length(rest))
      first = MT.slice(flat, [0 | zeros], [half | rest])
      second = MT.slice(flat, [half | zeros], [half | rest])
      product = multiply(first, second) |> MT.as_type(flat.type)

      product =
        if rem(n, 2) == 1,
          do: MT.concatenate([product, MT.slice(flat, [n - 1 | zeros], [1 | rest])]),
          else: product

      halve(product, half + rem(n, 2))
    end

    @doc """
    The running product of a pair tensor along `axis` (from the end when
    `reverse`): `log2(n)` rounds, each multiplying every element by the one
    `d` places before it (`d` = 1, 2, 4, ...), as a parallel scan does.
    """
    @spec cumulative_product(MT.t(), integer(), boolean()) :: MT.t()
    def cumulative_product(%MT{shape: shape} = pair, axis, reverse) do
      axis = if axis < 0, do: axis + tuple_size(shape) - 1, else: axis
      flip = &if(reverse, do: MT.reverse(&1, axes: [axis]), else: &1)
      pair |> flip.() |> scan(axis, elem(shape, axis), 1) |> flip.()
    end

    defp scan(pair, _axis, n, d) when d >= n, do: pair

    defp scan(%MT{shape: shape} = pair, axis, n, d) do
      part = fn start, len ->
        starts =
          shape |> Tuple.to_list() |> Enum.map(fn _ -> 0 end) |> List.replace_at(axis, start)

        MT.slice(pair, starts, shape |> put_elem(axis, len) |> Tuple.to_list())
      end

      shifted = multiply(part.(d, n - d), part.(0, n - d)) |> MT.as_type(pair.type)
      [part.(0, d), shifted] |> MT.concatenate(axis: axis) |> scan(axis, n, 2 * d)
    end

    @doc """
    `Nx.dot/6` of two pair tensors: four real products,
    `(ar·br - ai·bi) + (ar·bi + ai·br)i`.
    """
    @spec dot(MT.t(), list(), list(), MT.t(), list(), list()) :: MT.t()
    def dot(a, ca, ba, b, cb, bb) do
      {ar, ai} = parts(a)
      {br, bi} = parts(b)
      d = &MT.dot(&1, ca, ba, &2, cb, bb)
      join({MT.subtract(d.(ar, br), d.(ai, bi)), MT.add(d.(ar, bi), d.(ai, br))})
    end

    @doc """
    A convolution of pair tensors, given the real convolution `conv` (a
    function of input and kernel): four real convolutions of the parts.
    """
    @spec conv(MT.t(), MT.t(), (MT.t(), MT.t() -> MT.t())) :: MT.t()
    def conv(input, kernel, conv) do
      {xr, xi} = parts(input)
      {kr, ki} = parts(kernel)
      join({MT.subtract(conv.(xr, kr), conv.(xi, ki)), MT.add(conv.(xr, ki), conv.(xi, kr))})
    end

    ## Fourier transforms

    @doc """
    `Nx.fft`/`Nx.ifft` (`kind`) of a pair tensor along `axis`, padded with
    zeros or truncated to `length`; values at most `eps` in magnitude become 0.
    """
    @spec fft(:fft | :ifft, MT.t(), integer(), pos_integer(), float()) :: MT.t()
    def fft(kind, %MT{shape: shape} = pair, axis, length, eps) do
      rank = tuple_size(shape) - 1
      last = rank - 1
      perm = Enum.to_list(0..last) |> List.delete(axis) |> Kernel.++([axis, rank])
      moved = if axis == last, do: pair, else: MT.transpose(pair, axes: perm)
      n = elem(shape, axis)

      fitted =
        cond do
          n < length ->
            config =
              List.duplicate({0, 0, 0}, rank + 1) |> List.replace_at(last, {0, length - n, 0})

            MT.pad(moved, MT.tensor(0, type: moved.type), config)

          n > length ->
            lengths = moved.shape |> put_elem(last, length) |> Tuple.to_list()
            MT.slice(moved, List.duplicate(0, rank + 1), lengths)

          true ->
            moved
        end

      work = MT.size(fitted) * max(length, 1)
      args = [fitted.ref, kind == :ifft, eps * 1.0]
      out = MT.dispatch(work, :fft, :fft_dirty, args)
      if axis == last, do: out, else: MT.transpose(out, axes: inverse(perm))
    end

    defp inverse(perm), do: perm |> Enum.with_index() |> Enum.sort() |> Enum.map(&elem(&1, 1))
  end
end
