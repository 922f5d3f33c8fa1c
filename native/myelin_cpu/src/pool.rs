//! Max and average pooling over the spatial dims of `{N, C, *spatial}`
//! (1 to 3 of them), adaptive pooling, and their gradients.
//!
//! Semantics follow Axon (whose pools are Nx's window ops):
//!
//! * max pooling pads with -inf, so padding never wins unless a window lies
//!   wholly in padding (then the output is -inf). NaN propagates.
//! * average pooling pads with zeros and divides by the full window size,
//!   padding included (`Nx.window_mean`; PyTorch's `count_include_pad=True`).
//! * adaptive pooling pools output `i` of a dim of size `out` over inputs
//!   `floor(i*in/out)..ceil((i+1)*in/out)` (PyTorch's rule; Axon's equals it
//!   when `out` divides `in`), and averages over the elements pooled.
//! * the max-pool gradient goes to the first maximum of each window
//!   (row-major), as `Nx.window_scatter_max` does.
//!
//! Without window dilation each window is a box of the input, so every
//! kernel walks boxes. Geometries are padded to 3 spatial dims with leading
//! dims of size 1, which keeps the loops fixed-depth. Planes (`N*C` of
//! them) are independent and shared out across threads. Float types only;
//! f16 and bf16 compute in f32.

use crate::cast::as_type;
use crate::conv::for_each_image_run;
use crate::float::{FloatElement, Real};
use crate::parallel::{chunk_count, ELEMENTWISE_GRAIN};
use myelin_core::shape::conv::{adaptive_pool_output_shape, adaptive_pool_ranges, pool_output_shape};
use myelin_core::{dispatch_float, DType, Error, Result, Shape, Tensor};
use num_traits::{Float, Zero};

/// What a pooling window computes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PoolKind {
    /// The largest element.
    Max,
    /// The mean (see the module docs for the divisor).
    Avg,
}

impl PoolKind {
    fn name(self, adaptive: bool) -> &'static str {
        match (self, adaptive) {
            (PoolKind::Max, false) => "max_pool",
            (PoolKind::Avg, false) => "avg_pool",
            (PoolKind::Max, true) => "adaptive_max_pool",
            (PoolKind::Avg, true) => "adaptive_avg_pool",
        }
    }
}

/// Pools `input` `{N, C, *spatial}` with `window`, `strides` and `padding`
/// (one entry per spatial dim): returns `{N, C, *out}`.
pub fn pool(
    kind: PoolKind,
    input: &Tensor,
    window: &[usize],
    strides: &[usize],
    padding: &[(usize, usize)],
) -> Result<Tensor> {
    let op = kind.name(false);
    let out = pool_output_shape(op, input.shape(), window, strides, padding)?;
    let windows = Windows::regular(input.shape(), &out, window, strides, padding);
    run_forward(op, kind, input, out, &windows)
}

/// The gradient of max [`pool`]: each element of `dy` goes to the first
/// maximum of its window in `input`. Returns a tensor of `input`'s shape.
pub fn max_pool_grad(
    input: &Tensor,
    dy: &Tensor,
    window: &[usize],
    strides: &[usize],
    padding: &[(usize, usize)],
) -> Result<Tensor> {
    let op = "max_pool_grad";
    let out = pool_output_shape(op, input.shape(), window, strides, padding)?;
    check_dy(op, dy, &out)?;
    let windows = Windows::regular(input.shape(), &out, window, strides, padding);
    run_max_grad(op, input, dy, &windows)
}

/// The gradient of average [`pool`]: each element of `dy`, divided by the
/// window size, goes to every input element of its window. Returns a
/// tensor of `input_shape`.
pub fn avg_pool_grad(
    dy: &Tensor,
    input_shape: &Shape,
    window: &[usize],
    strides: &[usize],
    padding: &[(usize, usize)],
) -> Result<Tensor> {
    let op = "avg_pool_grad";
    let out = pool_output_shape(op, input_shape, window, strides, padding)?;
    check_dy(op, dy, &out)?;
    let windows = Windows::regular(input_shape, &out, window, strides, padding);
    run_avg_grad(op, dy, input_shape, &windows)
}

/// Adaptive pooling of `input` `{N, C, *spatial}` to `{N, C, *output_size}`.
pub fn adaptive_pool(kind: PoolKind, input: &Tensor, output_size: &[usize]) -> Result<Tensor> {
    let op = kind.name(true);
    let out = adaptive_pool_output_shape(op, input.shape(), output_size)?;
    let windows = Windows::adaptive(input.shape(), &out);
    run_forward(op, kind, input, out, &windows)
}

/// The gradient of adaptive max pooling; the output size is `dy`'s.
pub fn adaptive_max_pool_grad(input: &Tensor, dy: &Tensor) -> Result<Tensor> {
    let op = "adaptive_max_pool_grad";
    let out = adaptive_dy_shape(op, input.shape(), dy)?;
    run_max_grad(op, input, dy, &Windows::adaptive(input.shape(), &out))
}

/// The gradient of adaptive average pooling; the output size is `dy`'s.
pub fn adaptive_avg_pool_grad(dy: &Tensor, input_shape: &Shape) -> Result<Tensor> {
    let op = "adaptive_avg_pool_grad";
    let out = adaptive_dy_shape(op, input_shape, dy)?;
    run_avg_grad(op, dy, input_shape, &Windows::adaptive(input_shape, &out))
}

fn adaptive_dy_shape(op: &str, input: &Shape, dy: &Tensor) -> Result<Shape> {
    let size = dy.dims().get(2..).unwrap_or(&[]);
    let out = adaptive_pool_output_shape(op, input, size)?;
    check_dy(op, dy, &out)?;
    Ok(out)
}

fn check_dy(op: &str, dy: &Tensor, expected: &Shape) -> Result<()> {
    if dy.shape() != expected {
        return Err(Error::arg(
            op,
            format!(
                "expected the output gradient to have the pooling's output shape {expected}, got {}",
                dy.shape()
            ),
        ));
    }
    Ok(())
}

fn float_only(op: &str, dtype: DType) -> Result<DType> {
    if dtype.is_float() {
        Ok(dtype)
    } else {
        Err(Error::arg(
            op,
            format!("expected a floating-point tensor, got type {dtype}; convert with as_type first"),
        ))
    }
}

fn run_forward(op: &str, kind: PoolKind, input: &Tensor, out: Shape, w: &Windows) -> Result<Tensor> {
    let dtype = float_only(op, input.dtype())?;
    dispatch_float!(dtype, T => {
        let data = forward::<T>(kind, w, input.as_slice()?);
        Tensor::from_vec(out, data)
    }, _ => unreachable!("checked by float_only"))
}

fn run_max_grad(op: &str, input: &Tensor, dy: &Tensor, w: &Windows) -> Result<Tensor> {
    let dtype = float_only(op, input.dtype().merge(dy.dtype()))?;
    let (x, dy) = (as_type(input, dtype)?, as_type(dy, dtype)?);
    dispatch_float!(dtype, T => {
        let data = max_grad::<T>(w, x.as_slice()?, dy.as_slice()?);
        Tensor::from_vec(x.shape().clone(), data)
    }, _ => unreachable!("checked by float_only"))
}

fn run_avg_grad(op: &str, dy: &Tensor, input_shape: &Shape, w: &Windows) -> Result<Tensor> {
    let dtype = float_only(op, dy.dtype())?;
    dispatch_float!(dtype, T => {
        let data = avg_grad::<T>(w, dy.as_slice()?);
        Tensor::from_vec(input_shape.clone(), data)
    }, _ => unreachable!("checked by float_only"))
}

/// The input range one output position pools in one dim, and that dim's
/// factor of the average's divisor.
#[derive(Clone, Copy, Debug)]
struct Span {
    lo: usize,
    hi: usize,
    count: usize,
}

/// Every window of a pooling, as 3 spatial dims.
struct Windows {
    planes: usize,
    in_dims: [usize; 3],
    spans: [Vec<Span>; 3],
}

impl Windows {
    /// Windows of `window` every `strides`, over input padded by `padding`.
    fn regular(
        input: &Shape,
        out: &Shape,
        window: &[usize],
        strides: &[usize],
        padding: &[(usize, usize)],
    ) -> Self {
        Self::build(input, out, |d, o| {
            let start = (o * strides[d]) as isize - padding[d].0 as isize;
            let size = input.dims()[d + 2] as isize;
            let lo = start.clamp(0, size) as usize;
            let hi = (start + window[d] as isize).clamp(lo as isize, size) as usize;
            Span {
                lo,
                hi,
                count: window[d],
            }
        })
    }

    /// Adaptive windows (see [`adaptive_pool_ranges`]).
    fn adaptive(input: &Shape, out: &Shape) -> Self {
        let ranges: Vec<_> = (2..input.rank())
            .map(|d| adaptive_pool_ranges(input.dims()[d], out.dims()[d]))
            .collect();
        Self::build(input, out, |d, o| {
            let (lo, hi) = ranges[d][o];
            Span {
                lo,
                hi,
                count: hi - lo,
            }
        })
    }

    fn build(input: &Shape, out: &Shape, span: impl Fn(usize, usize) -> Span) -> Self {
        let spatial = input.rank() - 2;
        let lead = 3 - spatial;
        let mut in_dims = [1; 3];
        let mut spans: [Vec<Span>; 3] = Default::default();
        for (k, s) in spans.iter_mut().enumerate() {
            *s = match k.checked_sub(lead) {
                None => vec![Span {
                    lo: 0,
                    hi: 1,
                    count: 1,
                }],
                Some(d) => {
                    in_dims[k] = input.dims()[d + 2];
                    (0..out.dims()[d + 2]).map(|o| span(d, o)).collect()
                }
            };
        }
        Windows {
            planes: input.dims()[0] * input.dims()[1],
            in_dims,
            spans,
        }
    }

    fn in_plane(&self) -> usize {
        self.in_dims.iter().product()
    }

    fn out_plane(&self) -> usize {
        self.spans.iter().map(Vec::len).product()
    }

    /// Threads for `work` units spread over the planes.
    fn threads(&self, work: usize) -> usize {
        chunk_count(work, ELEMENTWISE_GRAIN).min(self.planes.max(1))
    }

    /// Calls `f(output_index, window)` for every output of one plane, in
    /// order; `window` lists the input indices of the box, row-major.
    fn for_each_window(&self, mut f: impl FnMut(usize, Box3)) {
        let mut o = 0;
        for a in &self.spans[0] {
            for b in &self.spans[1] {
                for c in &self.spans[2] {
                    f(
                        o,
                        Box3 {
                            spans: [*a, *b, *c],
                            dims: self.in_dims,
                        },
                    );
                    o += 1;
                }
            }
        }
    }
}

/// One window: a box of a 3-d plane.
struct Box3 {
    spans: [Span; 3],
    dims: [usize; 3],
}

impl Box3 {
    /// Calls `f(row)` with the plane index range of every innermost row.
    #[inline]
    fn for_each_row(&self, mut f: impl FnMut(std::ops::Range<usize>)) {
        let [a, b, c] = self.spans;
        for i in a.lo..a.hi {
            for j in b.lo..b.hi {
                let row = (i * self.dims[1] + j) * self.dims[2];
                f(row + c.lo..row + c.hi);
            }
        }
    }

    /// The average's divisor.
    fn divisor(&self) -> usize {
        self.spans.iter().map(|s| s.count).product()
    }

    /// The index of the first maximum (NaN counts as largest), if the box
    /// holds any input element.
    fn argmax<T: FloatElement>(&self, src: &[T]) -> Option<usize> {
        let mut best: Option<(usize, T::Compute)> = None;
        self.for_each_row(|row| {
            for i in row {
                let v = src[i].widen();
                let better = match best {
                    None => true,
                    Some((_, b)) => v > b || (v.is_nan() && !b.is_nan()),
                };
                if better {
                    best = Some((i, v));
                }
            }
        });
        best.map(|(i, _)| i)
    }

    fn sum<T: FloatElement>(&self, src: &[T]) -> T::Compute {
        let mut sum = T::Compute::zero();
        self.for_each_row(|row| src[row].iter().for_each(|v| sum += v.widen()));
        sum
    }
}

fn divide<C: Real>(sum: C, divisor: usize) -> C {
    sum / C::from_f64(divisor as f64)
}

fn forward<T: FloatElement>(kind: PoolKind, w: &Windows, x: &[T]) -> Vec<T> {
    let (in_plane, out_plane) = (w.in_plane(), w.out_plane());
    let mut out = vec![T::ZERO; w.planes * out_plane];
    let window = w
        .spans
        .iter()
        .map(|s| s.first().map_or(1, |s| s.count))
        .product::<usize>();
    let threads = w.threads(out.len() * window);
    for_each_image_run(&mut out, out_plane, threads, |first, run| {
        for (p, dst) in run.chunks_mut(out_plane).enumerate() {
            let src = &x[(first + p) * in_plane..][..in_plane];
            w.for_each_window(|o, b| {
                dst[o] = match kind {
                    PoolKind::Max => b
                        .argmax(src)
                        .map_or(T::narrow(T::Compute::neg_infinity()), |i| src[i]),
                    PoolKind::Avg => T::narrow(divide(b.sum(src), b.divisor())),
                }
            });
        }
    });
    out
}

/// Runs `f(first_plane, plane_accumulator)` for every plane of an input
/// gradient and rounds each accumulated plane into the result (the sums
/// are kept in the compute type so half types do not lose precision).
fn grad_planes<T: FloatElement>(w: &Windows, f: impl Fn(usize, &mut [T::Compute]) + Sync) -> Vec<T> {
    let in_plane = w.in_plane();
    let mut dx = vec![T::ZERO; w.planes * in_plane];
    let threads = w.threads(dx.len().max(w.planes * w.out_plane()));
    for_each_image_run(&mut dx, in_plane, threads, |first, run| {
        let mut acc = vec![T::Compute::zero(); in_plane];
        for (p, dst) in run.chunks_mut(in_plane).enumerate() {
            acc.fill(T::Compute::zero());
            f(first + p, &mut acc);
            dst.iter_mut().zip(&acc).for_each(|(d, &v)| *d = T::narrow(v));
        }
    });
    dx
}

fn max_grad<T: FloatElement>(w: &Windows, x: &[T], dy: &[T]) -> Vec<T> {
    let (in_plane, out_plane) = (w.in_plane(), w.out_plane());
    grad_planes::<T>(w, |p, acc| {
        let src = &x[p * in_plane..][..in_plane];
        let g = &dy[p * out_plane..][..out_plane];
        w.for_each_window(|o, b| {
            if let Some(i) = b.argmax(src) {
                acc[i] += g[o].widen();
            }
        });
    })
}

fn avg_grad<T: FloatElement>(w: &Windows, dy: &[T]) -> Vec<T> {
    let out_plane = w.out_plane();
    grad_planes::<T>(w, |p, acc| {
        let g = &dy[p * out_plane..][..out_plane];
        w.for_each_window(|o, b| {
            let share = divide(g[o].widen(), b.divisor());
            b.for_each_row(|row| acc[row].iter_mut().for_each(|a| *a += share));
        });
    })
}

#[cfg(test)]
#[path = "pool_tests.rs"]
mod tests;
