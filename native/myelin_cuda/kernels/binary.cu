// Elementwise ops of two operands with broadcasting: myelin_core's
// BinaryOp, one kernel per op and dtype:
//
//   <op>_<dtype>(const T* a, const T* b, Out* y, u64 n, StridedLayout layout)
//
// `layout` gives the output's shape and both operands' strides (0 on a
// broadcast axis); ndim 0 means both operands are dense and of the
// output's shape, the common case, read without index arithmetic. The
// launcher has already cast both operands to the op's compute type.
// Semantics follow the CPU engine (myelin_cpu/src/binary.rs) exactly:
// NaN-propagating min/max, wrapping integer arithmetic, 0 for an integer
// division by zero, shifts out of range give 0 (or -1 for a negative
// arithmetic right shift).

template <typename T, typename Out, typename F>
__device__ __forceinline__ void binary_map(const T* a, const T* b, Out* y, u64 n,
                                           const StridedLayout& l, F f) {
  if (l.ndim == 0) {
    FOR_EACH_INDEX(i, n) { y[i] = f(a[i], b[i]); }
  } else {
    FOR_EACH_INDEX(i, n) { y[i] = f(a[strided_offset(l, 0, i)], b[strided_offset(l, 1, i)]); }
  }
}

#define BINARY_KERNEL(NAME, T, OUT, EXPR)                                               \
  extern "C" __global__ void NAME(const T* a, const T* b, OUT* y, u64 n, StridedLayout l) { \
    typedef Num<T>::Acc A;                                                              \
    binary_map(a, b, y, n, l, [](T ta, T tb) {                                          \
      const A x = Num<T>::load(ta), z = Num<T>::load(tb);                               \
      return EXPR;                                                                      \
    });                                                                                 \
  }

// Same type out: FLOAT_BINARY(add, ...) defines add_f16 ... add_f64 and
// INT_BINARY(add, ...) add_u8 ... add_s64; PREDICATE_BINARY gives u8 0/1
// for every dtype. Expressions see `x` and `z`.
#define SAME_TYPE_KERNEL(NAME, T, EXPR) BINARY_KERNEL(NAME, T, T, Num<T>::store((A)(EXPR)))
#define PREDICATE_KERNEL(NAME, T, EXPR) BINARY_KERNEL(NAME, T, u8, (u8)(EXPR))
#define FLOAT_BINARY(OP, EXPR) FOR_FLOATS(SAME_TYPE_KERNEL, OP, EXPR)
#define INT_BINARY(OP, EXPR) FOR_INTS(SAME_TYPE_KERNEL, OP, EXPR)
#define PREDICATE_BINARY(OP, EXPR) FOR_ALL(PREDICATE_KERNEL, OP, EXPR)

// Integer helpers, matching myelin_cpu's int_pow, int_rem, int_quotient and
// the shifts. Arithmetic is done unsigned where C++ would call signed
// overflow undefined, then converted back (two's complement wraps).
template <typename A>
__device__ __forceinline__ A wrap_mul(A x, A y) {
  return (A)((u64)x * (u64)y);
}

template <typename A>
__device__ A int_pow(A base, A exp) {
  if (exp < (A)0) {
    if (base == (A)1) return (A)1;
    if (base == (A)-1) return (exp & (A)1) ? base : (A)1;
    return (A)0;
  }
  A result = (A)1;
  while (exp > (A)0) {
    if (exp & (A)1) result = wrap_mul(result, base);
    base = wrap_mul(base, base);
    exp = exp >> 1;
  }
  return result;
}

template <typename A>
__device__ __forceinline__ bool is_minus_one(A y) {
  return (A)-1 < (A)0 && y == (A)-1;
}

// A signed x / -1 is the only overflowing division: it wraps to -x.
template <typename A>
__device__ __forceinline__ A int_quotient(A x, A y) {
  if (y == (A)0) return (A)0;
  if (is_minus_one(y)) return (A)(0 - (u64)x);
  return x / y;
}

template <typename A>
__device__ __forceinline__ A int_rem(A x, A y) {
  if (y == (A)0 || is_minus_one(y)) return (A)0;
  return x % y;
}

template <typename A>
__device__ __forceinline__ A shift_left(A x, A y) {
  return (y < (A)0 || (u64)y >= 8 * sizeof(A)) ? (A)0 : (A)((u64)x << y);
}

template <typename A>
__device__ __forceinline__ A shift_right(A x, A y) {
  if (y < (A)0 || (u64)y >= 8 * sizeof(A)) return (x < (A)0) ? (A)-1 : (A)0;
  return x >> y;
}

// Arithmetic: every dtype.
FLOAT_BINARY(add, x + z)
INT_BINARY(add, (u64)x + (u64)z)
FLOAT_BINARY(subtract, x - z)
INT_BINARY(subtract, (u64)x - (u64)z)
FLOAT_BINARY(multiply, x * z)
INT_BINARY(multiply, wrap_mul(x, z))
FLOAT_BINARY(pow, m::pow(x, z))
INT_BINARY(pow, int_pow(x, z))
// C's fmod: the result has the dividend's sign, as Elixir's rem.
FLOAT_BINARY(remainder, m::fmod(x, z))
INT_BINARY(remainder, int_rem(x, z))
FLOAT_BINARY(min, nan_min(x, z))
INT_BINARY(min, x < z ? x : z)
FLOAT_BINARY(max, nan_max(x, z))
INT_BINARY(max, x > z ? x : z)

// Floating only (integers are promoted by the launcher).
FLOAT_BINARY(divide, x / z)
FLOAT_BINARY(atan2, m::atan2(x, z))

// Integers only.
INT_BINARY(quotient, int_quotient(x, z))
INT_BINARY(bitwise_and, x & z)
INT_BINARY(bitwise_or, x | z)
INT_BINARY(bitwise_xor, x ^ z)
INT_BINARY(left_shift, shift_left(x, z))
INT_BINARY(right_shift, shift_right(x, z))

// Comparisons are IEEE: NaN is unequal and unordered.
PREDICATE_BINARY(equal, x == z)
PREDICATE_BINARY(not_equal, x != z)
PREDICATE_BINARY(less, x < z)
PREDICATE_BINARY(less_equal, x <= z)
PREDICATE_BINARY(greater, x > z)
PREDICATE_BINARY(greater_equal, x >= z)
// Nonzero is true; NaN is nonzero.
PREDICATE_BINARY(logical_and, x != (A)0 && z != (A)0)
PREDICATE_BINARY(logical_or, x != (A)0 || z != (A)0)
PREDICATE_BINARY(logical_xor, (x != (A)0) != (z != (A)0))
