//! NIFs for Fourier transforms. Complex tensors arrive as real tensors of
//! `(re, im)` pairs, shape `[..., n, 2]` (see `myelin_cpu::fft`).

use crate::codec::tensor;
use crate::resource::TensorRef;

// Nx.fft/Nx.ifft along the second-to-last axis; `eps` zeroes tiny values.
nif_pair!(fft, fft_dirty, "fft", (t: TensorRef, inverse: bool, eps: f64),
|t: TensorRef, inverse: bool, eps: f64| {
    myelin_cpu::fft(tensor(&t), inverse, eps)
});
