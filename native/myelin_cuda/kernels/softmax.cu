// Row-wise softmax family over the last axis (the launcher moves the axis
// last): one block per row, block 256, max-shifted for stability.
//
// - log_softmax_<dtype>(x, y, rows, len)
// - logsumexp_<dtype>(x, y, rows, len): one value per row
// - softmax_cross_entropy_<dtype>(logits, target, loss, grad, rows, len):
//   loss[r] = -sum(target * log_softmax(logits)) and, when grad is not null,
//   its gradient softmax(logits) * sum(target) - target, in the same pass
//   (the fused op of myelin_graph's SoftmaxCrossEntropy).

// log(sum(exp(x - max))), or 0 when the max is not finite, exactly as
// myelin_cpu's softmax.rs: a row holding +inf gives -inf for its finite
// entries and NaN at the inf.
template <typename A>
__device__ __forceinline__ A log_sum(A mx, A s) {
  return (mx - mx == (A)0) ? m::log(s) : (A)0;
}

template <typename T>
__device__ void row_max_and_sum(const T* row, u64 len, typename Num<T>::Acc* max_out,
                                typename Num<T>::Acc* sum_out) {
  typedef typename Num<T>::Acc A;
  __shared__ A scratch[32];
  A mx = lowest_value<A>();
  for (u64 k = threadIdx.x; k < len; k += blockDim.x) mx = nan_max(mx, Num<T>::load(row[k]));
  mx = block_max(mx, scratch, lowest_value<A>());
  A s = 0;
  for (u64 k = threadIdx.x; k < len; k += blockDim.x) s += m::exp(Num<T>::load(row[k]) - mx);
  s = block_sum(s, scratch);
  *max_out = mx;
  *sum_out = s;
}

template <typename T>
__device__ void log_softmax_rows(const T* x, T* y, u64 rows, u64 len) {
  typedef typename Num<T>::Acc A;
  for (u64 r = blockIdx.x; r < rows; r += gridDim.x) {
    A mx, s;
    row_max_and_sum(x + r * len, len, &mx, &s);
    const A log_s = log_sum(mx, s);
    for (u64 k = threadIdx.x; k < len; k += blockDim.x)
      y[r * len + k] = Num<T>::store(Num<T>::load(x[r * len + k]) - mx - log_s);
  }
}

template <typename T>
__device__ void logsumexp_rows(const T* x, T* y, u64 rows, u64 len) {
  typedef typename Num<T>::Acc A;
  for (u64 r = blockIdx.x; r < rows; r += gridDim.x) {
    A mx, s;
    row_max_and_sum(x + r * len, len, &mx, &s);
    if (threadIdx.x == 0) y[r] = Num<T>::store(mx + log_sum(mx, s));
  }
}

template <typename T>
__device__ void softmax_cross_entropy_rows(const T* logits, const T* target, T* loss, T* grad,
                                           u64 rows, u64 len) {
  typedef typename Num<T>::Acc A;
  __shared__ A scratch[32];
  for (u64 r = blockIdx.x; r < rows; r += gridDim.x) {
    const T* x = logits + r * len;
    const T* t = target + r * len;
    A mx, s;
    row_max_and_sum(x, len, &mx, &s);
    const A log_s = log_sum(mx, s);
    A row_loss = 0, t_sum = 0;
    for (u64 k = threadIdx.x; k < len; k += blockDim.x) {
      const A tk = Num<T>::load(t[k]);
      // 0 * -inf is NaN; a zero target contributes nothing, as in PyTorch.
      if (tk != (A)0) row_loss -= tk * (Num<T>::load(x[k]) - mx - log_s);
      t_sum += tk;
    }
    row_loss = block_sum(row_loss, scratch);
    t_sum = block_sum(t_sum, scratch);
    if (threadIdx.x == 0) loss[r] = Num<T>::store(row_loss);
    if (grad != nullptr) {
      for (u64 k = threadIdx.x; k < len; k += blockDim.x) {
        const A p = m::exp(Num<T>::load(x[k]) - mx) / s;
        grad[r * len + k] = Num<T>::store(p * t_sum - Num<T>::load(t[k]));
      }
    }
  }
}

#define SOFTMAX_KERNELS(T)                                                                      \
  extern "C" __global__ void log_softmax_##T(const T* x, T* y, u64 rows, u64 len) {             \
    log_softmax_rows(x, y, rows, len);                                                          \
  }                                                                                             \
  extern "C" __global__ void logsumexp_##T(const T* x, T* y, u64 rows, u64 len) {               \
    logsumexp_rows(x, y, rows, len);                                                            \
  }                                                                                             \
  extern "C" __global__ void softmax_cross_entropy_##T(const T* logits, const T* target,        \
                                                       T* loss, T* grad, u64 rows, u64 len) {   \
    softmax_cross_entropy_rows(logits, target, loss, grad, rows, len);                          \
  }
SOFTMAX_KERNELS(f16)
SOFTMAX_KERNELS(bf16)
SOFTMAX_KERNELS(f32)
SOFTMAX_KERNELS(f64)
