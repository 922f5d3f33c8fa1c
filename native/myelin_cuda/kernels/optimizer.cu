// Optimizer updates with PyTorch's rules, as myelin_nn/src/optim.rs. The
// trainer keeps every parameter (and every state slot) of a model in one
// flat arena, so one launch updates all parameters: n is the total count.
//
// Shared per-step values (`Step`): learning rate, weight decay, the
// global-norm clipping scale (1 when off), and clipping by value (when
// clip_by_value is nonzero, to [-clip_value, clip_value]).
// Moments below the smallest normal are flushed to zero, as on the CPU.

struct Step {
  f64 lr;
  f64 weight_decay;
  f64 scale;
  f64 clip_value;
  s64 clip_by_value;
};

template <typename A>
__device__ __forceinline__ A flush(A x) {
  const A tiny = sizeof(A) == 4 ? (A)1.17549435e-38f : (A)2.2250738585072014e-308;
  return (x < tiny && x > -tiny) ? (A)0 : x;
}

// The gradient after scaling, clipping and (coupled rules) L2 decay.
template <typename A>
__device__ __forceinline__ A prepare(A g, A p, const Step& s, bool coupled) {
  g *= (A)s.scale;
  if (s.clip_by_value) g = fmax(fmin(g, (A)s.clip_value), (A)-s.clip_value);
  return coupled ? g + (A)s.weight_decay * p : g;
}

// Adam / AdamW. bc1 and bc2 are 1 - b1^t and 1 - b2^t.
template <typename T>
__device__ void adam(T* p, const T* g, T* m1, T* m2, u64 n, Step s, f64 b1, f64 b2, f64 eps,
                     f64 bc1, f64 bc2, u32 decoupled) {
  typedef typename Num<T>::Acc A;
  FOR_EACH_INDEX(i, n) {
    A pi = Num<T>::load(p[i]);
    if (decoupled) pi *= (A)1 - (A)s.lr * (A)s.weight_decay;
    const A gi = prepare(Num<T>::load(g[i]), pi, s, !decoupled);
    const A mi = flush((A)b1 * Num<T>::load(m1[i]) + ((A)1 - (A)b1) * gi);
    const A vi = flush((A)b2 * Num<T>::load(m2[i]) + ((A)1 - (A)b2) * gi * gi);
    m1[i] = Num<T>::store(mi);
    m2[i] = Num<T>::store(vi);
    const A denom = m::sqrt(vi / (A)bc2) + (A)eps;
    p[i] = Num<T>::store(pi - (A)s.lr * (mi / (A)bc1) / denom);
  }
}

// SGD; `buf` is null without momentum. first_step: the buffer starts as
// the gradient (PyTorch).
template <typename T>
__device__ void sgd(T* p, const T* g, T* buf, u64 n, Step s, f64 momentum, u32 nesterov,
                    u32 first_step) {
  typedef typename Num<T>::Acc A;
  FOR_EACH_INDEX(i, n) {
    const A pi = Num<T>::load(p[i]);
    const A gi = prepare(Num<T>::load(g[i]), pi, s, true);
    A d = gi;
    if (buf != nullptr) {
      const A b = flush(first_step ? gi : (A)momentum * Num<T>::load(buf[i]) + gi);
      buf[i] = Num<T>::store(b);
      d = nesterov ? gi + (A)momentum * b : b;
    }
    p[i] = Num<T>::store(pi - (A)s.lr * d);
  }
}

// RMSprop; `avg` is null unless centered, `buf` null without momentum.
template <typename T>
__device__ void rmsprop(T* p, const T* g, T* sq, T* avg, T* buf, u64 n, Step s, f64 alpha,
                        f64 eps, f64 momentum) {
  typedef typename Num<T>::Acc A;
  FOR_EACH_INDEX(i, n) {
    const A pi = Num<T>::load(p[i]);
    const A gi = prepare(Num<T>::load(g[i]), pi, s, true);
    const A si = flush((A)alpha * Num<T>::load(sq[i]) + ((A)1 - (A)alpha) * gi * gi);
    sq[i] = Num<T>::store(si);
    A var = si;
    if (avg != nullptr) {
      const A ai = flush((A)alpha * Num<T>::load(avg[i]) + ((A)1 - (A)alpha) * gi);
      avg[i] = Num<T>::store(ai);
      var = si - ai * ai;
    }
    const A denom = m::sqrt(var) + (A)eps;
    if (buf != nullptr) {
      const A b = flush((A)momentum * Num<T>::load(buf[i]) + gi / denom);
      buf[i] = Num<T>::store(b);
      p[i] = Num<T>::store(pi - (A)s.lr * b);
    } else {
      p[i] = Num<T>::store(pi - (A)s.lr * gi / denom);
    }
  }
}

template <typename T>
__device__ void adagrad(T* p, const T* g, T* sum, u64 n, Step s, f64 eps) {
  typedef typename Num<T>::Acc A;
  FOR_EACH_INDEX(i, n) {
    const A pi = Num<T>::load(p[i]);
    const A gi = prepare(Num<T>::load(g[i]), pi, s, true);
    const A si = Num<T>::load(sum[i]) + gi * gi;
    sum[i] = Num<T>::store(si);
    p[i] = Num<T>::store(pi - (A)s.lr * gi / (m::sqrt(si) + (A)eps));
  }
}

// Sum of squares of a flat buffer into *out (atomic; out zeroed first):
// the global norm for clipping, and LAMB's per-tensor norms.
template <typename T>
__device__ void sum_of_squares(const T* x, u64 n, f64* out) {
  __shared__ f64 scratch[32];
  f64 acc = 0;
  FOR_EACH_INDEX(i, n) {
    const f64 v = (f64)Num<T>::load(x[i]);
    acc += v * v;
  }
  acc = block_sum(acc, scratch);
  if (threadIdx.x == 0) atomicAdd(out, acc);
}

#define OPTIMIZER_KERNELS(T)                                                                     \
  extern "C" __global__ void adam_##T(T* p, const T* g, T* m1, T* m2, u64 n, Step s, f64 b1,     \
                                      f64 b2, f64 eps, f64 bc1, f64 bc2, u32 decoupled) {        \
    adam(p, g, m1, m2, n, s, b1, b2, eps, bc1, bc2, decoupled);                                  \
  }                                                                                              \
  extern "C" __global__ void sgd_##T(T* p, const T* g, T* buf, u64 n, Step s, f64 momentum,      \
                                     u32 nesterov, u32 first_step) {                             \
    sgd(p, g, buf, n, s, momentum, nesterov, first_step);                                        \
  }                                                                                              \
  extern "C" __global__ void rmsprop_##T(T* p, const T* g, T* sq, T* avg, T* buf, u64 n, Step s, \
                                         f64 alpha, f64 eps, f64 momentum) {                     \
    rmsprop(p, g, sq, avg, buf, n, s, alpha, eps, momentum);                                     \
  }                                                                                              \
  extern "C" __global__ void adagrad_##T(T* p, const T* g, T* sum, u64 n, Step s, f64 eps) {     \
    adagrad(p, g, sum, n, s, eps);                                                               \
  }                                                                                              \
  extern "C" __global__ void sum_of_squares_##T(const T* x, u64 n, f64* out) {                   \
    sum_of_squares(x, n, out);                                                                   \
  }
OPTIMIZER_KERNELS(f16)
OPTIMIZER_KERNELS(bf16)
OPTIMIZER_KERNELS(f32)
OPTIMIZER_KERNELS(f64)
