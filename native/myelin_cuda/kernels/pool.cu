// 2-D max and average pooling over {N*C, H, W} (channels first; the
// launcher folds N and C together), with its gradients. `PoolGeometry`
// mirrors the Rust struct of the same name in src/layout.rs.
//
// - max_pool_<dtype>(x, y, argmax, g): argmax (s32, may be null) records
//   the flat H*W index that won, for the gradient. Ties go to the first
//   maximum, as in myelin_cpu's pool.rs (and PyTorch); NaN wins.
// - max_pool_grad_<dtype>(dy, argmax, dx, g): dx zeroed by the launcher;
//   atomics, because windows overlap when stride < size.
// - avg_pool_<dtype>(x, y, g) / avg_pool_grad_<dtype>(dy, dx, g): the
//   divisor is the full window size, padding included (Axon's avg_pool).

struct PoolGeometry {
  s64 planes, height, width;
  s64 size_h, size_w;
  s64 out_h, out_w;
  s64 stride_h, stride_w;
  s64 pad_h, pad_w;
};

template <typename T>
__device__ void max_pool(const T* x, T* y, s32* argmax, PoolGeometry g) {
  typedef typename Num<T>::Acc A;
  const u64 n = (u64)g.planes * g.out_h * g.out_w;
  FOR_EACH_INDEX(i, n) {
    const s64 ow = (s64)(i % g.out_w), oh = (s64)((i / g.out_w) % g.out_h);
    const s64 p = (s64)(i / (g.out_w * g.out_h));
    const T* plane = x + p * g.height * g.width;
    A best = lowest_value<A>();
    s32 best_at = -1;
    for (s64 kh = 0; kh < g.size_h; ++kh) {
      const s64 h = oh * g.stride_h - g.pad_h + kh;
      if (h < 0 || h >= g.height) continue;
      for (s64 kw = 0; kw < g.size_w; ++kw) {
        const s64 w = ow * g.stride_w - g.pad_w + kw;
        if (w < 0 || w >= g.width) continue;
        const A v = Num<T>::load(plane[h * g.width + w]);
        if (best_at < 0 || (!is_nan(best) && (is_nan(v) || v > best))) {
          best = v;
          best_at = (s32)(h * g.width + w);
        }
      }
    }
    y[i] = Num<T>::store(best);
    if (argmax != nullptr) argmax[i] = best_at;
  }
}

__device__ __forceinline__ void atomic_add_value(f32* at, f32 v) { atomicAdd(at, v); }
__device__ __forceinline__ void atomic_add_value(f64* at, f64 v) { atomicAdd(at, v); }

template <typename T>
__device__ void max_pool_grad(const T* dy, const s32* argmax, T* dx, PoolGeometry g) {
  const u64 n = (u64)g.planes * g.out_h * g.out_w;
  FOR_EACH_INDEX(i, n) {
    const s64 p = (s64)(i / (g.out_w * g.out_h));
    if (argmax[i] >= 0) atomic_add_value(dx + p * g.height * g.width + argmax[i], dy[i]);
  }
}

template <typename T>
__device__ void avg_pool(const T* x, T* y, PoolGeometry g) {
  typedef typename Num<T>::Acc A;
  const u64 n = (u64)g.planes * g.out_h * g.out_w;
  FOR_EACH_INDEX(i, n) {
    const s64 ow = (s64)(i % g.out_w), oh = (s64)((i / g.out_w) % g.out_h);
    const s64 p = (s64)(i / (g.out_w * g.out_h));
    const T* plane = x + p * g.height * g.width;
    A acc = 0;
    for (s64 kh = 0; kh < g.size_h; ++kh) {
      const s64 h = oh * g.stride_h - g.pad_h + kh;
      if (h < 0 || h >= g.height) continue;
      for (s64 kw = 0; kw < g.size_w; ++kw) {
        const s64 w = ow * g.stride_w - g.pad_w + kw;
        if (w >= 0 && w < g.width) acc += Num<T>::load(plane[h * g.width + w]);
      }
    }
    y[i] = Num<T>::store(acc / (A)(g.size_h * g.size_w));
  }
}

// Gathers: each input pixel sums dy over the windows that cover it.
template <typename T>
__device__ void avg_pool_grad(const T* dy, T* dx, PoolGeometry g) {
  typedef typename Num<T>::Acc A;
  const u64 n = (u64)g.planes * g.height * g.width;
  const A scale = (A)1 / (A)(g.size_h * g.size_w);
  FOR_EACH_INDEX(i, n) {
    const s64 w = (s64)(i % g.width), h = (s64)((i / g.width) % g.height);
    const s64 p = (s64)(i / (g.width * g.height));
    A acc = 0;
    for (s64 kh = 0; kh < g.size_h; ++kh) {
      const s64 hs = h + g.pad_h - kh;
      if (hs < 0 || hs % g.stride_h != 0 || hs / g.stride_h >= g.out_h) continue;
      for (s64 kw = 0; kw < g.size_w; ++kw) {
        const s64 ws = w + g.pad_w - kw;
        if (ws < 0 || ws % g.stride_w != 0 || ws / g.stride_w >= g.out_w) continue;
        acc += Num<T>::load(dy[(p * g.out_h + hs / g.stride_h) * g.out_w + ws / g.stride_w]);
      }
    }
    dx[i] = Num<T>::store(acc * scale);
  }
}

#define POOL_KERNELS(T)                                                                        \
  extern "C" __global__ void max_pool_##T(const T* x, T* y, s32* argmax, PoolGeometry g) {     \
    max_pool(x, y, argmax, g);                                                                 \
  }                                                                                            \
  extern "C" __global__ void avg_pool_##T(const T* x, T* y, PoolGeometry g) { avg_pool(x, y, g); } \
  extern "C" __global__ void avg_pool_grad_##T(const T* dy, T* dx, PoolGeometry g) {           \
    avg_pool_grad(dy, dx, g);                                                                  \
  }
POOL_KERNELS(f16)
POOL_KERNELS(bf16)
POOL_KERNELS(f32)
POOL_KERNELS(f64)
// Atomics exist for f32 and f64; the launcher computes half-type pooling
// gradients in f32.
extern "C" __global__ void max_pool_grad_f32(const f32* dy, const s32* argmax, f32* dx, PoolGeometry g) {
  max_pool_grad(dy, argmax, dx, g);
}
extern "C" __global__ void max_pool_grad_f64(const f64* dy, const s32* argmax, f64* dx, PoolGeometry g) {
  max_pool_grad(dy, argmax, dx, g);
}
