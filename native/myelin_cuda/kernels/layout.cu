// Data movement and three-operand selection:
//
// - fill_b<bytes>(dst, n, bits): every element set to one bit pattern
//   (zeros, ones, full, and the pad value). Kernels that only move data
//   are named by element size (b1 b2 b4 b8), not dtype.
// - copy_strided_b<bytes>(src, dst, n, layout, src_base, dst_base): walks
//   the region `layout.shape`, reading `src` at strides[0] and writing
//   `dst` at strides[1] (element offsets, negative allowed). One kernel
//   serves transpose, broadcast, slice (with steps), reverse, concatenate,
//   put_slice and pad (interior padding is a destination stride).
// - select_<dtype>(pred, on_true, on_false, y, n, layout): u8 predicate,
//   broadcasting all three operands.
// - clip_<dtype>(x, lo, hi, y, n, layout).
// - iota_<dtype>(y, n, inner, extent): y[i] = (i / inner) % extent.

#define FILL_KERNEL(NAME, T)                                      \
  extern "C" __global__ void NAME(T* dst, u64 n, u64 bits) {      \
    const T v = (T)bits;                                          \
    FOR_EACH_INDEX(i, n) { dst[i] = v; }                          \
  }
FILL_KERNEL(fill_b1, u8)
FILL_KERNEL(fill_b2, u16)
FILL_KERNEL(fill_b4, u32)
FILL_KERNEL(fill_b8, u64)

#define COPY_STRIDED_KERNEL(NAME, T)                                                   \
  extern "C" __global__ void NAME(const T* src, T* dst, u64 n, StridedLayout l,        \
                                  s64 src_base, s64 dst_base) {                        \
    FOR_EACH_INDEX(i, n) {                                                             \
      dst[dst_base + strided_offset(l, 1, i)] = src[src_base + strided_offset(l, 0, i)]; \
    }                                                                                  \
  }
COPY_STRIDED_KERNEL(copy_strided_b1, u8)
COPY_STRIDED_KERNEL(copy_strided_b2, u16)
COPY_STRIDED_KERNEL(copy_strided_b4, u32)
COPY_STRIDED_KERNEL(copy_strided_b8, u64)

#define SELECT_KERNEL(NAME, T, ...)                                                          \
  extern "C" __global__ void NAME(const u8* pred, const T* on_true, const T* on_false,  \
                                  T* y, u64 n, StridedLayout l) {                       \
    FOR_EACH_INDEX(i, n) {                                                              \
      const u8 p = pred[l.ndim ? strided_offset(l, 0, i) : (s64)i];                     \
      y[i] = p ? on_true[l.ndim ? strided_offset(l, 1, i) : (s64)i]                     \
               : on_false[l.ndim ? strided_offset(l, 2, i) : (s64)i];                   \
    }                                                                                   \
  }

// min(max(x, lo), hi), NaN in x kept, as the CPU engine's clip.
#define CLIP_KERNEL(NAME, T, ...)                                                             \
  extern "C" __global__ void NAME(const T* x, const T* lo, const T* hi, T* y, u64 n,     \
                                  StridedLayout l) {                                     \
    typedef Num<T>::Acc A;                                                               \
    FOR_EACH_INDEX(i, n) {                                                               \
      const A v = Num<T>::load(x[l.ndim ? strided_offset(l, 0, i) : (s64)i]);            \
      const A a = Num<T>::load(lo[l.ndim ? strided_offset(l, 1, i) : (s64)i]);           \
      const A b = Num<T>::load(hi[l.ndim ? strided_offset(l, 2, i) : (s64)i]);           \
      const A low = (v < a) ? a : v;                                                     \
      y[i] = Num<T>::store((low > b) ? b : low);                                         \
    }                                                                                    \
  }

#define IOTA_KERNEL(NAME, T, ...)                                                 \
  extern "C" __global__ void NAME(T* y, u64 n, u64 inner, u64 extent) {      \
    typedef Num<T>::Acc A;                                                   \
    FOR_EACH_INDEX(i, n) { y[i] = Num<T>::store((A)((i / inner) % extent)); } \
  }

// FOR_ALL(SELECT_KERNEL, select, ) defines select_f16 ... select_s64.
FOR_ALL(SELECT_KERNEL, select, )
FOR_ALL(CLIP_KERNEL, clip, )
FOR_ALL(IOTA_KERNEL, iota, )
