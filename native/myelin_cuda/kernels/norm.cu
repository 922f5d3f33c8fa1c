// Layer normalization over the last axis, one block per row (block 256):
//
// - layer_norm_<dtype>(x, gamma, beta, y, mean, rstd, rows, len, eps):
//   gamma and beta (length len) may be null; mean and rstd (per row, in
//   the Acc type: f32 for the half types) are kept for the gradient.
// - layer_norm_grad_<dtype>(dy, x, gamma, mean, rstd, dx, rows, len): the
//   input gradient; gamma's and beta's gradients are column sums of
//   dy * x_hat and dy, which the launcher computes with reduce kernels.
//
// Batch and group normalization are the same two passes over other views
// of the data, so they reuse these kernels after a transpose.

template <typename T>
__device__ void layer_norm(const T* x, const T* gamma, const T* beta, T* y,
                           typename Num<T>::Acc* mean_out, typename Num<T>::Acc* rstd_out,
                           u64 rows, u64 len, f64 eps) {
  typedef typename Num<T>::Acc A;
  __shared__ A scratch[32];
  for (u64 r = blockIdx.x; r < rows; r += gridDim.x) {
    const T* row = x + r * len;
    A s = 0;
    for (u64 k = threadIdx.x; k < len; k += blockDim.x) s += Num<T>::load(row[k]);
    const A mean = block_sum(s, scratch) / (A)len;
    // Two-pass variance: no cancellation for rows with a large mean.
    A q = 0;
    for (u64 k = threadIdx.x; k < len; k += blockDim.x) {
      const A d = Num<T>::load(row[k]) - mean;
      q += d * d;
    }
    const A rstd = m::rsqrt(block_sum(q, scratch) / (A)len + (A)eps);
    for (u64 k = threadIdx.x; k < len; k += blockDim.x) {
      A v = (Num<T>::load(row[k]) - mean) * rstd;
      if (gamma != nullptr) v *= Num<T>::load(gamma[k]);
      if (beta != nullptr) v += Num<T>::load(beta[k]);
      y[r * len + k] = Num<T>::store(v);
    }
    if (threadIdx.x == 0) {
      mean_out[r] = mean;
      rstd_out[r] = rstd;
    }
  }
}

// dx = rstd * (g - mean(g) - x_hat * mean(g * x_hat)), with g = dy * gamma.
template <typename T>
__device__ void layer_norm_grad(const T* dy, const T* x, const T* gamma,
                                const typename Num<T>::Acc* mean_in,
                                const typename Num<T>::Acc* rstd_in, T* dx, u64 rows, u64 len) {
  typedef typename Num<T>::Acc A;
  __shared__ A scratch[32];
  for (u64 r = blockIdx.x; r < rows; r += gridDim.x) {
    const A mean = mean_in[r], rstd = rstd_in[r];
    A sg = 0, sgx = 0;
    for (u64 k = threadIdx.x; k < len; k += blockDim.x) {
      A g = Num<T>::load(dy[r * len + k]);
      if (gamma != nullptr) g *= Num<T>::load(gamma[k]);
      const A xh = (Num<T>::load(x[r * len + k]) - mean) * rstd;
      sg += g;
      sgx += g * xh;
    }
    const A mg = block_sum(sg, scratch) / (A)len;
    const A mgx = block_sum(sgx, scratch) / (A)len;
    for (u64 k = threadIdx.x; k < len; k += blockDim.x) {
      A g = Num<T>::load(dy[r * len + k]);
      if (gamma != nullptr) g *= Num<T>::load(gamma[k]);
      const A xh = (Num<T>::load(x[r * len + k]) - mean) * rstd;
      dx[r * len + k] = Num<T>::store(rstd * (g - mg - xh * mgx));
    }
  }
}

#define NORM_KERNELS(T)                                                                         \
  extern "C" __global__ void layer_norm_##T(const T* x, const T* gamma, const T* beta, T* y,    \
                                            Num<T>::Acc* mean, Num<T>::Acc* rstd, u64 rows,     \
                                            u64 len, f64 eps) {                                 \
    layer_norm(x, gamma, beta, y, mean, rstd, rows, len, eps);                                  \
  }                                                                                             \
  extern "C" __global__ void layer_norm_grad_##T(const T* dy, const T* x, const T* gamma,       \
                                                 const Num<T>::Acc* mean,                       \
                                                 const Num<T>::Acc* rstd, T* dx, u64 rows,      \
                                                 u64 len) {                                     \
    layer_norm_grad(dy, x, gamma, mean, rstd, dx, rows, len);                                   \
  }
NORM_KERNELS(f16)
NORM_KERNELS(bf16)
NORM_KERNELS(f32)
NORM_KERNELS(f64)
