// Reductions over one contiguous run of axes. The launcher transposes the
// reduced axes together and views the input as {outer, len, inner}; each
// kernel writes {outer, inner}:
//
//   <op>_<dtype>(const T* x, Out* y, u64 outer, u64 len, u64 inner)
//
// Launch: grid (min(outer, 65535), ceil(inner / blockDim.x)), block 256.
// With inner == 1 a block reduces one row cooperatively; otherwise each
// thread reduces one column, reading consecutive columns (coalesced).
// Semantics as myelin_core's ReduceOp: integer sums and products
// accumulate and return 64 bits, min/max propagate NaN, mean is floating
// (the launcher casts integers first), all/any return u8.
//
// argmax_<dtype>/argmin_<dtype>(x, s64* y, outer, len, inner, u32 tie_last)
// return the index along the axis; tie_last picks the last of equal
// values (tie_break: :high), else the first. NaN counts as the extreme.

// Integer sums and products wrap, as on the CPU: computed in u64, since
// signed overflow is undefined in C++. Floats are left alone.
template <typename A>
__device__ __forceinline__ A wrapping_add(A a, A b) {
  return (A)0.5 != (A)0 ? a + b : (A)((u64)a + (u64)b);
}
template <typename A>
__device__ __forceinline__ A wrapping_mul(A a, A b) {
  return (A)0.5 != (A)0 ? a * b : (A)((u64)a * (u64)b);
}

// A reducer: Acc, the identity, combine, and finish (which sees len).
template <typename T, typename AccT, typename OutT>
struct SumR {
  typedef AccT Acc;
  typedef OutT Out;
  static __device__ __forceinline__ Acc identity() { return (Acc)0; }
  static __device__ __forceinline__ Acc lift(T x) { return (Acc)Num<T>::load(x); }
  static __device__ __forceinline__ Acc combine(Acc a, Acc b) { return wrapping_add(a, b); }
  static __device__ __forceinline__ Out finish(Acc a, u64) { return Num<Out>::store((typename Num<Out>::Acc)a); }
};
template <typename T, typename AccT, typename OutT>
struct ProductR {
  typedef AccT Acc;
  typedef OutT Out;
  static __device__ __forceinline__ Acc identity() { return (Acc)1; }
  static __device__ __forceinline__ Acc lift(T x) { return (Acc)Num<T>::load(x); }
  static __device__ __forceinline__ Acc combine(Acc a, Acc b) { return wrapping_mul(a, b); }
  static __device__ __forceinline__ Out finish(Acc a, u64) { return Num<Out>::store((typename Num<Out>::Acc)a); }
};
template <typename T>
struct MeanR {
  typedef typename Num<T>::Acc Acc;
  typedef T Out;
  static __device__ __forceinline__ Acc identity() { return (Acc)0; }
  static __device__ __forceinline__ Acc lift(T x) { return Num<T>::load(x); }
  static __device__ __forceinline__ Acc combine(Acc a, Acc b) { return a + b; }
  static __device__ __forceinline__ Out finish(Acc a, u64 len) { return Num<T>::store(a / (Acc)len); }
};
// Min and max start from the first element's value; identity() is only
// used for threads that see no element, and `seen` keeps them out.
template <typename T, bool IsMax>
struct ExtremeR {
  typedef typename Num<T>::Acc Acc;
  typedef T Out;
  static __device__ __forceinline__ Acc identity() { return IsMax ? lowest() : -lowest(); }
  static __device__ __forceinline__ Acc lowest() {
    // The most negative value of Acc: -inf for floats, MIN for integers.
    return (Acc)0.5 != (Acc)0 ? (Acc)(-1.0 / 0.0) : ((Acc)-1 < (Acc)0 ? (Acc)((u64)1 << (8 * sizeof(Acc) - 1)) : (Acc)0);
  }
  static __device__ __forceinline__ Acc lift(T x) { return Num<T>::load(x); }
  static __device__ __forceinline__ Acc combine(Acc a, Acc b) { return IsMax ? nan_max(a, b) : nan_min(a, b); }
  static __device__ __forceinline__ Out finish(Acc a, u64) { return Num<T>::store(a); }
};
template <typename T, bool IsAll>
struct TruthR {
  typedef u32 Acc;
  typedef u8 Out;
  static __device__ __forceinline__ Acc identity() { return IsAll ? 1u : 0u; }
  static __device__ __forceinline__ Acc lift(T x) { return Num<T>::load(x) != (typename Num<T>::Acc)0; }
  static __device__ __forceinline__ Acc combine(Acc a, Acc b) { return IsAll ? (a & b) : (a | b); }
  static __device__ __forceinline__ Out finish(Acc a, u64) { return (u8)a; }
};

// The unsigned maximum for an unsigned Acc is ~0, which ExtremeR's
// -lowest() would get wrong; min over unsigned types starts from ~0.
template <typename R>
__device__ __forceinline__ typename R::Acc start_value() {
  return R::identity();
}
#define UNSIGNED_MIN_START(T)                                                   \
  template <>                                                                   \
  __device__ __forceinline__ T start_value<ExtremeR<T, false>>() { return (T)~(T)0; }
UNSIGNED_MIN_START(u8)
UNSIGNED_MIN_START(u16)
UNSIGNED_MIN_START(u32)
UNSIGNED_MIN_START(u64)
#define SIGNED_MIN_START(T)                                                                \
  template <>                                                                              \
  __device__ __forceinline__ T start_value<ExtremeR<T, false>>() {                         \
    return (T)(((u64)1 << (8 * sizeof(T) - 1)) - 1);                                       \
  }
SIGNED_MIN_START(s8)
SIGNED_MIN_START(s16)
SIGNED_MIN_START(s32)
SIGNED_MIN_START(s64)

template <typename R>
__device__ typename R::Acc block_reduce(typename R::Acc v, typename R::Acc* scratch) {
  typedef typename R::Acc Acc;
  for (int o = 16; o > 0; o >>= 1) v = R::combine(v, __shfl_xor_sync(0xffffffffu, v, o));
  const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
  __syncthreads();
  if (lane == 0) scratch[warp] = v;
  __syncthreads();
  if (warp == 0) {
    v = (lane < (int)((blockDim.x + 31) >> 5)) ? scratch[lane] : start_value<R>();
    for (int o = 16; o > 0; o >>= 1) v = R::combine(v, __shfl_xor_sync(0xffffffffu, v, o));
  }
  return v;  // valid in thread 0
}

template <typename R, typename T>
__device__ void reduce_3d(const T* x, typename R::Out* y, u64 outer, u64 len, u64 inner) {
  typedef typename R::Acc Acc;
  __shared__ Acc scratch[32];
  for (u64 o = blockIdx.x; o < outer; o += gridDim.x) {
    if (inner == 1) {
      Acc acc = start_value<R>();
      for (u64 k = threadIdx.x; k < len; k += blockDim.x) acc = R::combine(acc, R::lift(x[o * len + k]));
      acc = block_reduce<R>(acc, scratch);
      if (threadIdx.x == 0) y[o] = R::finish(acc, len);
    } else {
      const u64 i = (u64)blockIdx.y * blockDim.x + threadIdx.x;
      if (i < inner) {
        Acc acc = start_value<R>();
        for (u64 k = 0; k < len; ++k) acc = R::combine(acc, R::lift(x[(o * len + k) * inner + i]));
        y[o * inner + i] = R::finish(acc, len);
      }
    }
  }
}

// The reducer type comes last, as __VA_ARGS__, because it contains commas.
#define REDUCE_KERNEL(NAME, T, ...)                                                              \
  extern "C" __global__ void NAME(const T* x, __VA_ARGS__::Out* y, u64 outer, u64 len, u64 inner) { \
    reduce_3d<__VA_ARGS__, T>(x, y, outer, len, inner);                                          \
  }

// Floats: sum and product accumulate in Acc and return T.
#define FLOAT_REDUCTIONS(T)                                                   \
  REDUCE_KERNEL(sum_##T, T, SumR<T, Num<T>::Acc, T>)                          \
  REDUCE_KERNEL(product_##T, T, ProductR<T, Num<T>::Acc, T>)                  \
  REDUCE_KERNEL(mean_##T, T, MeanR<T>)                                        \
  REDUCE_KERNEL(reduce_max_##T, T, ExtremeR<T, true>)                         \
  REDUCE_KERNEL(reduce_min_##T, T, ExtremeR<T, false>)                        \
  REDUCE_KERNEL(all_##T, T, TruthR<T, true>)                                  \
  REDUCE_KERNEL(any_##T, T, TruthR<T, false>)
// Integers: sum and product return 64 bits of the same signedness.
#define INT_REDUCTIONS(T, WIDE)                                               \
  REDUCE_KERNEL(sum_##T, T, SumR<T, WIDE, WIDE>)                              \
  REDUCE_KERNEL(product_##T, T, ProductR<T, WIDE, WIDE>)                      \
  REDUCE_KERNEL(reduce_max_##T, T, ExtremeR<T, true>)                         \
  REDUCE_KERNEL(reduce_min_##T, T, ExtremeR<T, false>)                        \
  REDUCE_KERNEL(all_##T, T, TruthR<T, true>)                                  \
  REDUCE_KERNEL(any_##T, T, TruthR<T, false>)
FLOAT_REDUCTIONS(f16)
FLOAT_REDUCTIONS(bf16)
FLOAT_REDUCTIONS(f32)
FLOAT_REDUCTIONS(f64)
INT_REDUCTIONS(u8, u64)
INT_REDUCTIONS(u16, u64)
INT_REDUCTIONS(u32, u64)
INT_REDUCTIONS(u64, u64)
INT_REDUCTIONS(s8, s64)
INT_REDUCTIONS(s16, s64)
INT_REDUCTIONS(s32, s64)
INT_REDUCTIONS(s64, s64)

// argmax/argmin: one thread per output, scanning the axis in order, so the
// tie rule is exact without a cross-thread merge.
template <typename T, bool IsMax>
__device__ void arg_reduce(const T* x, s64* y, u64 outer, u64 len, u64 inner, u32 tie_last) {
  typedef typename Num<T>::Acc A;
  FOR_EACH_INDEX(j, outer * inner) {
    const u64 o = j / inner, i = j % inner;
    // An empty axis has no answer; the launcher refuses it (as the CPU
    // does), and this guard keeps a stray launch in bounds.
    if (len == 0) {
      y[j] = 0;
      continue;
    }
    A best = Num<T>::load(x[o * len * inner + i]);
    s64 best_k = 0;
    for (u64 k = 1; k < len; ++k) {
      const A v = Num<T>::load(x[(o * len + k) * inner + i]);
      // As myelin_cpu's reduce_arg: NaN beats any number; among NaNs, and
      // among equal numbers, the tie rule picks.
      const bool better = is_nan(best) ? (tie_last && is_nan(v))
                                       : (is_nan(v) || (IsMax ? v > best : v < best) ||
                                          (tie_last && v == best));
      if (better) {
        best = v;
        best_k = (s64)k;
      }
    }
    y[j] = best_k;
  }
}

#define ARG_KERNELS(T)                                                                      \
  extern "C" __global__ void argmax_##T(const T* x, s64* y, u64 outer, u64 len, u64 inner,  \
                                        u32 tie_last) {                                     \
    arg_reduce<T, true>(x, y, outer, len, inner, tie_last);                                 \
  }                                                                                         \
  extern "C" __global__ void argmin_##T(const T* x, s64* y, u64 outer, u64 len, u64 inner,  \
                                        u32 tie_last) {                                     \
    arg_reduce<T, false>(x, y, outer, len, inner, tie_last);                                \
  }
ARG_KERNELS(f16)
ARG_KERNELS(bf16)
ARG_KERNELS(f32)
ARG_KERNELS(f64)
ARG_KERNELS(u8)
ARG_KERNELS(u16)
ARG_KERNELS(u32)
ARG_KERNELS(u64)
ARG_KERNELS(s8)
ARG_KERNELS(s16)
ARG_KERNELS(s32)
ARG_KERNELS(s64)
