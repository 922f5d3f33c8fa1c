// Embedding lookups and their gradient: Nx's take along one axis.
// The launcher views x as {outer, axis_len, inner} and the indices as a
// flat s64 list of `count`; y is {outer, count, inner}.
//
// - take_b<bytes>(x, idx, y, outer, axis_len, inner, count): moves data
//   only, so it is named by element size. An index outside 0..axis_len
//   is clamped, as XLA's gather clamps (the Elixir side validates
//   user-given indices before they get here).
// - take_grad_<dtype>(dy, idx, dx, outer, axis_len, inner, count): the
//   scatter-add of dy into dx (zeroed by the launcher); atomics, because
//   indices repeat (the same word in a batch).

template <typename T>
__device__ void take(const T* x, const s64* idx, T* y, u64 outer, u64 axis_len, u64 inner,
                     u64 count) {
  FOR_EACH_INDEX(i, outer * count * inner) {
    const u64 c = i % inner, j = (i / inner) % count, o = i / (inner * count);
    s64 k = idx[j];
    k = k < 0 ? 0 : (k >= (s64)axis_len ? (s64)axis_len - 1 : k);
    y[i] = x[(o * axis_len + (u64)k) * inner + c];
  }
}

template <typename T>
__device__ void take_grad(const T* dy, const s64* idx, T* dx, u64 outer, u64 axis_len, u64 inner,
                          u64 count) {
  FOR_EACH_INDEX(i, outer * count * inner) {
    const u64 c = i % inner, j = (i / inner) % count, o = i / (inner * count);
    s64 k = idx[j];
    k = k < 0 ? 0 : (k >= (s64)axis_len ? (s64)axis_len - 1 : k);
    atomicAdd(dx + (o * axis_len + (u64)k) * inner + c, dy[i]);
  }
}

#define TAKE_KERNEL(NAME, T)                                                                  \
  extern "C" __global__ void NAME(const T* x, const s64* idx, T* y, u64 outer, u64 axis_len,  \
                                  u64 inner, u64 count) {                                     \
    take(x, idx, y, outer, axis_len, inner, count);                                           \
  }
TAKE_KERNEL(take_b1, u8)
TAKE_KERNEL(take_b2, u16)
TAKE_KERNEL(take_b4, u32)
TAKE_KERNEL(take_b8, u64)

// Native atomicAdd types only; the launcher computes half types in f32.
#define TAKE_GRAD_KERNEL(NAME, T)                                                             \
  extern "C" __global__ void NAME(const T* dy, const s64* idx, T* dx, u64 outer,              \
                                  u64 axis_len, u64 inner, u64 count) {                       \
    take_grad(dy, idx, dx, outer, axis_len, inner, count);                                    \
  }
TAKE_GRAD_KERNEL(take_grad_f32, f32)
TAKE_GRAD_KERNEL(take_grad_f64, f64)
TAKE_GRAD_KERNEL(take_grad_s32, s32)
TAKE_GRAD_KERNEL(take_grad_u32, u32)
TAKE_GRAD_KERNEL(take_grad_u64, u64)
