// Elementwise ops of one operand: myelin_core's UnaryOp, one kernel per op
// and dtype, `<op>_<dtype>(const T* x, Out* y, u64 n)` over contiguous data.
// Integer inputs of the floating ops are cast to f32 by the launcher first,
// as the CPU engine computes them.

template <typename T, typename Out, typename F>
__device__ __forceinline__ void unary_map(const T* x, Out* y, u64 n, F f) {
  FOR_EACH_INDEX(i, n) { y[i] = f(x[i]); }
}

// `OP_dtype` with the expression `EXPR` of `v` (the element in its Acc type).
#define UNARY_KERNEL(NAME, T, EXPR)                                             \
  extern "C" __global__ void NAME(const T* x, T* y, u64 n) {                    \
    typedef Num<T>::Acc A;                                                      \
    unary_map(x, y, n, [](T t) { const A v = Num<T>::load(t); return Num<T>::store(EXPR); }); \
  }

// FLOAT_UNARY(exp, ...) defines exp_f16 ... exp_f64; INT_UNARY(abs, ...)
// abs_u8 ... abs_s64 (the prelude's FOR_* lists).
#define FLOAT_UNARY(OP, EXPR) FOR_FLOATS(UNARY_KERNEL, OP, EXPR)
#define INT_UNARY(OP, EXPR) FOR_INTS(UNARY_KERNEL, OP, EXPR)

// Same type in and out, every dtype. Integer negate wraps, as on the CPU.
FLOAT_UNARY(negate, -v)
INT_UNARY(negate, (A)(0 - (u64)v))
FLOAT_UNARY(abs, m::fabs(v))
INT_UNARY(abs, (v < (A)0) ? (A)(0 - (u64)v) : v)
FLOAT_UNARY(sign, (v > (A)0) ? (A)1 : ((v < (A)0) ? (A)-1 : v))
INT_UNARY(sign, (A)((v > (A)0) - (v < (A)0)))
FLOAT_UNARY(floor, m::floor(v))
FLOAT_UNARY(ceil, m::ceil(v))
// Nx rounds half away from zero, as C's round does.
FLOAT_UNARY(round, m::round(v))
INT_UNARY(floor, v)
INT_UNARY(ceil, v)
INT_UNARY(round, v)

// Floating maths.
FLOAT_UNARY(exp, m::exp(v))
FLOAT_UNARY(expm1, m::expm1(v))
FLOAT_UNARY(log, m::log(v))
FLOAT_UNARY(log1p, m::log1p(v))
FLOAT_UNARY(sqrt, m::sqrt(v))
FLOAT_UNARY(rsqrt, m::rsqrt(v))
FLOAT_UNARY(cbrt, m::cbrt(v))
FLOAT_UNARY(sin, m::sin(v))
FLOAT_UNARY(cos, m::cos(v))
FLOAT_UNARY(tan, m::tan(v))
FLOAT_UNARY(asin, m::asin(v))
FLOAT_UNARY(acos, m::acos(v))
FLOAT_UNARY(atan, m::atan(v))
FLOAT_UNARY(sinh, m::sinh(v))
FLOAT_UNARY(cosh, m::cosh(v))
FLOAT_UNARY(tanh, m::tanh(v))
FLOAT_UNARY(asinh, m::asinh(v))
FLOAT_UNARY(acosh, m::acosh(v))
FLOAT_UNARY(atanh, m::atanh(v))
// exp(-v) overflows to inf for very negative v, giving 0: the right limit.
FLOAT_UNARY(sigmoid, (A)1 / ((A)1 + m::exp(-v)))
FLOAT_UNARY(erf, m::erf(v))
FLOAT_UNARY(erfc, m::erfc(v))
FLOAT_UNARY(erf_inv, m::erfinv(v))

// Integers only.
INT_UNARY(bitwise_not, (A)~v)
// Bit counts over the type's own width. The mask keeps a negative small
// integer's sign extension out of the count.
#define BITS(T) (8 * (int)sizeof(T))
#define CLZ_KERNEL(NAME, T, ...)                                                  \
  UNARY_KERNEL(NAME, T,                                                           \
               (A)(BITS(T) == 64 ? __clzll((s64)(u64)v)                           \
                                 : __clz((s32)((u32)v & (u32)((1ull << BITS(T)) - 1))) - \
                                       (32 - BITS(T))))
#define POPC_KERNEL(NAME, T, ...)                                                 \
  UNARY_KERNEL(NAME, T,                                                           \
               (A)(BITS(T) == 64 ? __popcll((u64)v)                               \
                                 : __popc((u32)v & (u32)((1ull << BITS(T)) - 1))))
FOR_INTS(CLZ_KERNEL, count_leading_zeros, )
FOR_INTS(POPC_KERNEL, population_count, )

// Predicates: u8 0/1 out.
#define PREDICATE_KERNEL(NAME, T, EXPR)                                           \
  extern "C" __global__ void NAME(const T* x, u8* y, u64 n) {                     \
    typedef Num<T>::Acc A;                                                        \
    unary_map(x, y, n, [](T t) { const A v = Num<T>::load(t); return (u8)(EXPR); }); \
  }
#define ALL_PREDICATE(OP, EXPR) FOR_ALL(PREDICATE_KERNEL, OP, EXPR)
ALL_PREDICATE(is_nan, v != v)
ALL_PREDICATE(is_infinity, (v - v) != (v - v) && v == v)
ALL_PREDICATE(logical_not, v == (A)0)
