// Convolution as im2col + GEMM (cuBLAS), channels first, 2-D; the launcher
// views 1-D convolutions as 2-D with a unit height (3-D runs as depth
// slices of 2-D problems). `ConvGeometry` mirrors the Rust struct of the
// same name in src/layout.rs.
//
// - im2col_<dtype>(x, cols, g): x {C, H, W} of one image -> cols
//   {C*KH*KW, OH*OW}; taps in the padding read 0.
// - col2im_<dtype>(cols, x, g): the adjoint, for the input gradient. Each
//   input pixel gathers (rather than scatters) its contributions, so no
//   atomics and a deterministic sum.

struct ConvGeometry {
  s64 channels, height, width;
  s64 kernel_h, kernel_w;
  s64 out_h, out_w;
  s64 stride_h, stride_w;
  s64 pad_h, pad_w;
  s64 dilation_h, dilation_w;
};

template <typename T>
__device__ void im2col(const T* x, T* cols, ConvGeometry g) {
  const u64 n = (u64)g.channels * g.kernel_h * g.kernel_w * g.out_h * g.out_w;
  FOR_EACH_INDEX(i, n) {
    const s64 ow = (s64)(i % g.out_w);
    const s64 oh = (s64)((i / g.out_w) % g.out_h);
    const s64 row = (s64)(i / (g.out_w * g.out_h));
    const s64 kw = row % g.kernel_w, kh = (row / g.kernel_w) % g.kernel_h;
    const s64 c = row / (g.kernel_w * g.kernel_h);
    const s64 h = oh * g.stride_h - g.pad_h + kh * g.dilation_h;
    const s64 w = ow * g.stride_w - g.pad_w + kw * g.dilation_w;
    const bool inside = h >= 0 && h < g.height && w >= 0 && w < g.width;
    cols[i] = inside ? x[(c * g.height + h) * g.width + w] : Num<T>::store((typename Num<T>::Acc)0);
  }
}

template <typename T>
__device__ void col2im(const T* cols, T* x, ConvGeometry g) {
  typedef typename Num<T>::Acc A;
  const u64 n = (u64)g.channels * g.height * g.width;
  FOR_EACH_INDEX(i, n) {
    const s64 w = (s64)(i % g.width), h = (s64)((i / g.width) % g.height);
    const s64 c = (s64)(i / (g.width * g.height));
    A acc = 0;
    for (s64 kh = 0; kh < g.kernel_h; ++kh) {
      const s64 hs = h + g.pad_h - kh * g.dilation_h;
      if (hs < 0 || hs % g.stride_h != 0) continue;
      const s64 oh = hs / g.stride_h;
      if (oh >= g.out_h) continue;
      for (s64 kw = 0; kw < g.kernel_w; ++kw) {
        const s64 ws = w + g.pad_w - kw * g.dilation_w;
        if (ws < 0 || ws % g.stride_w != 0) continue;
        const s64 ow = ws / g.stride_w;
        if (ow >= g.out_w) continue;
        const s64 row = (c * g.kernel_h + kh) * g.kernel_w + kw;
        acc += Num<T>::load(cols[(row * g.out_h + oh) * g.out_w + ow]);
      }
    }
    x[i] = Num<T>::store(acc);
  }
}

#define CONV_KERNELS(T)                                                                     \
  extern "C" __global__ void im2col_##T(const T* x, T* cols, ConvGeometry g) { im2col(x, cols, g); } \
  extern "C" __global__ void col2im_##T(const T* cols, T* x, ConvGeometry g) { col2im(cols, x, g); }
CONV_KERNELS(f16)
CONV_KERNELS(bf16)
CONV_KERNELS(f32)
CONV_KERNELS(f64)
