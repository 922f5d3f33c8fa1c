// Myelin's CUDA prelude. myelin_cuda prepends it to every kernel family
// before NVRTC compiles the family (src/kernels.rs), so a family file is
// one self-contained translation unit.
//
// It includes no header on purpose: the NVRTC in PyPI's wheel (what CI and
// most users have) ships no cuda_fp16.h. Half types are therefore our own
// 16-bit structs, converted with PTX instructions, and all arithmetic on
// them is done in float (the "opmath" type, as PyTorch does it).
//
// Naming: every entry point is `extern "C"` and named `<op>_<dtype>`, with
// the dtype suffixes of myelin_core (f16 bf16 f32 f64 u8 u16 u32 u64 s8 s16
// s32 s64). The instantiation line of each entry point spells its full
// name, so `grep -r exp_f32 kernels/` finds it.

typedef signed char s8;
typedef short s16;
typedef int s32;
typedef long long s64;
typedef unsigned char u8;
typedef unsigned short u16;
typedef unsigned int u32;
typedef unsigned long long u64;
typedef float f32;
typedef double f64;

struct f16 {
  u16 bits;
};
struct bf16 {
  u16 bits;
};

__device__ __forceinline__ float f16_to_f32(f16 h) {
  float f;
  asm("cvt.f32.f16 %0, %1;" : "=f"(f) : "h"(h.bits));
  return f;
}

__device__ __forceinline__ f16 f32_to_f16(float f) {
  f16 h;
  asm("cvt.rn.f16.f32 %0, %1;" : "=h"(h.bits) : "f"(f));
  return h;
}

__device__ __forceinline__ float bf16_to_f32(bf16 h) {
  return __uint_as_float(((u32)h.bits) << 16);
}

// Round to nearest even in integer arithmetic, so it runs on every
// architecture (cvt.rn.bf16.f32 needs sm_80); NaN stays a quiet NaN.
__device__ __forceinline__ bf16 f32_to_bf16(float f) {
  u32 u = __float_as_uint(f);
  bf16 h;
  if ((u & 0x7fffffffu) > 0x7f800000u) {
    h.bits = (u16)((u >> 16) | 0x40u);
    return h;
  }
  u += 0x7fffu + ((u >> 16) & 1u);
  h.bits = (u16)(u >> 16);
  return h;
}

// Num<T>: T's arithmetic type (Acc) and the conversions to and from it.
// Everything but the half types computes in its own type.
template <typename T>
struct Num;

#define MYELIN_NUM_SELF(T)                                           \
  template <>                                                        \
  struct Num<T> {                                                    \
    typedef T Acc;                                                   \
    static __device__ __forceinline__ Acc load(T x) { return x; }    \
    static __device__ __forceinline__ T store(Acc x) { return x; }   \
  };
MYELIN_NUM_SELF(f32)
MYELIN_NUM_SELF(f64)
MYELIN_NUM_SELF(u8)
MYELIN_NUM_SELF(u16)
MYELIN_NUM_SELF(u32)
MYELIN_NUM_SELF(u64)
MYELIN_NUM_SELF(s8)
MYELIN_NUM_SELF(s16)
MYELIN_NUM_SELF(s32)
MYELIN_NUM_SELF(s64)

template <>
struct Num<f16> {
  typedef float Acc;
  static __device__ __forceinline__ Acc load(f16 x) { return f16_to_f32(x); }
  static __device__ __forceinline__ f16 store(Acc x) { return f32_to_f16(x); }
};

template <>
struct Num<bf16> {
  typedef float Acc;
  static __device__ __forceinline__ Acc load(bf16 x) { return bf16_to_f32(x); }
  static __device__ __forceinline__ bf16 store(Acc x) { return f32_to_bf16(x); }
};

// Maths overloaded on float and double (the two Acc types of floats), so
// one template body serves every floating dtype.
#define MYELIN_MATH1(NAME, F32_FN, F64_FN)                                \
  __device__ __forceinline__ float NAME(float x) { return F32_FN(x); }   \
  __device__ __forceinline__ double NAME(double x) { return F64_FN(x); }
#define MYELIN_MATH2(NAME, F32_FN, F64_FN)                                          \
  __device__ __forceinline__ float NAME(float x, float y) { return F32_FN(x, y); } \
  __device__ __forceinline__ double NAME(double x, double y) { return F64_FN(x, y); }

namespace m {
MYELIN_MATH1(exp, expf, ::exp)
MYELIN_MATH1(expm1, expm1f, ::expm1)
MYELIN_MATH1(log, logf, ::log)
MYELIN_MATH1(log1p, log1pf, ::log1p)
MYELIN_MATH1(sqrt, sqrtf, ::sqrt)
MYELIN_MATH1(cbrt, cbrtf, ::cbrt)
MYELIN_MATH1(sin, sinf, ::sin)
MYELIN_MATH1(cos, cosf, ::cos)
MYELIN_MATH1(tan, tanf, ::tan)
MYELIN_MATH1(asin, asinf, ::asin)
MYELIN_MATH1(acos, acosf, ::acos)
MYELIN_MATH1(atan, atanf, ::atan)
MYELIN_MATH1(sinh, sinhf, ::sinh)
MYELIN_MATH1(cosh, coshf, ::cosh)
MYELIN_MATH1(tanh, tanhf, ::tanh)
MYELIN_MATH1(asinh, asinhf, ::asinh)
MYELIN_MATH1(acosh, acoshf, ::acosh)
MYELIN_MATH1(atanh, atanhf, ::atanh)
MYELIN_MATH1(erf, erff, ::erf)
MYELIN_MATH1(erfc, erfcf, ::erfc)
MYELIN_MATH1(erfinv, erfinvf, ::erfinv)
MYELIN_MATH1(floor, floorf, ::floor)
MYELIN_MATH1(ceil, ceilf, ::ceil)
MYELIN_MATH1(round, roundf, ::round)
MYELIN_MATH1(fabs, fabsf, ::fabs)
MYELIN_MATH2(pow, powf, ::pow)
MYELIN_MATH2(atan2, atan2f, ::atan2)
MYELIN_MATH2(fmod, fmodf, ::fmod)
// 1/sqrt rather than the approximate rsqrtf, matching the CPU's bits.
__device__ __forceinline__ float rsqrt(float x) { return 1.0f / sqrtf(x); }
__device__ __forceinline__ double rsqrt(double x) { return 1.0 / ::sqrt(x); }
}  // namespace m

template <typename A>
__device__ __forceinline__ bool is_nan(A x) {
  return x != x;
}

// NaN-propagating min and max, as Nx and PyTorch define them.
template <typename A>
__device__ __forceinline__ A nan_max(A a, A b) {
  return (is_nan(a) || a > b) ? a : b;
}
template <typename A>
__device__ __forceinline__ A nan_min(A a, A b) {
  return (is_nan(a) || a < b) ? a : b;
}

// Instantiation over dtypes, the one place the type lists are spelled:
// FOR_FLOATS(M, OP, args...) expands to M(OP_f16, f16, args...)
// M(OP_bf16, bf16, args...) M(OP_f32, f32, args...) M(OP_f64, f64, args...),
// so `FOR_FLOATS(UNARY_KERNEL, exp, m::exp(v))` defines exp_f16 ... exp_f64.
// FOR_INTS covers the eight integer types, FOR_ALL all twelve.
#define FOR_FLOATS(M, OP, ...)                                                  \
  M(OP##_f16, f16, __VA_ARGS__) M(OP##_bf16, bf16, __VA_ARGS__)                 \
  M(OP##_f32, f32, __VA_ARGS__) M(OP##_f64, f64, __VA_ARGS__)
#define FOR_INTS(M, OP, ...)                                                    \
  M(OP##_u8, u8, __VA_ARGS__) M(OP##_u16, u16, __VA_ARGS__)                     \
  M(OP##_u32, u32, __VA_ARGS__) M(OP##_u64, u64, __VA_ARGS__)                   \
  M(OP##_s8, s8, __VA_ARGS__) M(OP##_s16, s16, __VA_ARGS__)                     \
  M(OP##_s32, s32, __VA_ARGS__) M(OP##_s64, s64, __VA_ARGS__)
#define FOR_ALL(M, OP, ...) FOR_FLOATS(M, OP, __VA_ARGS__) FOR_INTS(M, OP, __VA_ARGS__)

// Grid-stride loop over n elements: any launch size covers any n.
#define FOR_EACH_INDEX(i, n)                                              \
  for (u64 i = (u64)blockIdx.x * blockDim.x + threadIdx.x; i < (u64)(n); \
       i += (u64)blockDim.x * gridDim.x)

// The most axes a strided kernel handles; the launcher collapses
// contiguous axes first, so this bounds only unusual layouts.
#define MYELIN_MAX_DIMS 8

// How an elementwise kernel reads up to three operands: the output's shape
// and, per operand, strides in elements (0 on a broadcast axis). Mirrored,
// field for field, by `StridedLayout` in src/layout.rs.
struct StridedLayout {
  s32 ndim;
  s32 pad_;
  s64 shape[MYELIN_MAX_DIMS];
  s64 strides[3][MYELIN_MAX_DIMS];
};

// The offset of operand `k` for the output's flat index `i`.
__device__ __forceinline__ s64 strided_offset(const StridedLayout& l, int k, u64 i) {
  s64 offset = 0;
  for (int d = l.ndim - 1; d >= 0; --d) {
    const s64 extent = l.shape[d];
    offset += (s64)(i % (u64)extent) * l.strides[k][d];
    i /= (u64)extent;
  }
  return offset;
}

// Warp and block sums and maxima, used by every row-wise kernel.
template <typename A>
__device__ __forceinline__ A warp_sum(A v) {
  for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
  return v;
}
template <typename A>
__device__ __forceinline__ A warp_max(A v) {
  for (int o = 16; o > 0; o >>= 1) v = nan_max(v, __shfl_xor_sync(0xffffffffu, v, o));
  return v;
}

// Sums `v` over the block; every thread gets the result. `scratch` holds 32
// values. Blocks are at most 1024 threads, a multiple of 32.
template <typename A>
__device__ A block_sum(A v, A* scratch) {
  const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
  v = warp_sum(v);
  __syncthreads();
  if (lane == 0) scratch[warp] = v;
  __syncthreads();
  const int warps = (blockDim.x + 31) >> 5;
  v = (threadIdx.x < warps) ? scratch[threadIdx.x] : (A)0;
  if (warp == 0) v = warp_sum(v);
  if (threadIdx.x == 0) scratch[0] = v;
  __syncthreads();
  return scratch[0];
}

template <typename A>
__device__ A block_max(A v, A* scratch, A lowest) {
  const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
  v = warp_max(v);
  __syncthreads();
  if (lane == 0) scratch[warp] = v;
  __syncthreads();
  const int warps = (blockDim.x + 31) >> 5;
  v = (threadIdx.x < warps) ? scratch[threadIdx.x] : lowest;
  if (warp == 0) v = warp_max(v);
  if (threadIdx.x == 0) scratch[0] = v;
  __syncthreads();
  return scratch[0];
}

template <typename A>
__device__ __forceinline__ A lowest_value();
template <>
__device__ __forceinline__ float lowest_value<float>() {
  return -__int_as_float(0x7f800000);
}
template <>
__device__ __forceinline__ double lowest_value<double>() {
  return -__longlong_as_double(0x7ff0000000000000LL);
}
