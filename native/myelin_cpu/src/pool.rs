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

mod two_by_two;

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
    /// The innermost outputs whose windows are whole and evenly spaced.
    interior: Interior,
    /// No two windows share an input element (strides at least the window
    /// in every dim), so a max-pool gradient writes each element at most
    /// once.
    disjoint: bool,
    /// 2×2, stride-2 windows from the start of every row and column, no
    /// padding (see [`two_by_two::tiles`]): the row-pair paths apply.
    tiled_2x2: bool,
}

/// A run of innermost outputs whose windows lie wholly inside the input,
/// `stride` apart: output `outputs.start + c` pools `width` elements from
/// `first + c * stride` of each of its rows. Max pooling computes these
/// for a whole output row at once, each window element a pass over the
/// row; independent lanes instead of one dependent scan per window make
/// the target CNN's 2×2 pools several times faster.
#[derive(Clone, Debug, Default)]
struct Interior {
    outputs: std::ops::Range<usize>,
    first: usize,
    stride: usize,
    width: usize,
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
        let mut windows = Self::build(input, out, |d, o| {
            let start = (o * strides[d]) as isize - padding[d].0 as isize;
            let size = input.dims()[d + 2] as isize;
            let lo = start.clamp(0, size) as usize;
            let hi = (start + window[d] as isize).clamp(lo as isize, size) as usize;
            Span {
                lo,
                hi,
                count: window[d],
            }
        });
        windows.disjoint = strides.iter().zip(window).all(|(s, w)| s >= w);
        windows.tiled_2x2 = two_by_two::tiles(&windows);
        let (Some(&stride), Some(&width)) = (strides.last(), window.last()) else {
            return windows;
        };
        let inner = &windows.spans[2];
        let whole = |c: &usize| inner[*c].hi - inner[*c].lo == width;
        if let Some(start) = (0..inner.len()).find(whole) {
            let end = (start..inner.len()).find(|c| !whole(c)).unwrap_or(inner.len());
            windows.interior = Interior {
                outputs: start..end,
                first: inner[start].lo,
                stride,
                width,
            };
        }
        windows
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
            interior: Interior::default(),
            disjoint: false,
            tiled_2x2: false,
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

    /// Calls `f(first_output, rows, divisor)` for every row of outputs
    /// along the innermost dim of one plane, in order. `rows` lists the
    /// plane offsets of the innermost input rows the row's windows span;
    /// `divisor` is the outer dims' factor of the average's divisor.
    #[inline]
    fn for_each_output_row(&self, mut f: impl FnMut(usize, &[usize], usize)) {
        let [_, d1, d2] = self.in_dims;
        let mut rows = Vec::with_capacity(16);
        let mut o = 0;
        for a in &self.spans[0] {
            for b in &self.spans[1] {
                rows.clear();
                for i in a.lo..a.hi {
                    rows.extend((b.lo..b.hi).map(|j| (i * d1 + j) * d2));
                }
                f(o, &rows, a.count * b.count);
                o += self.spans[2].len();
            }
        }
    }

    /// The window of innermost output `c` of an output row.
    #[inline]
    fn window<'a>(&self, rows: &'a [usize], divisor: usize, c: usize) -> Window<'a> {
        let span = self.spans[2][c];
        Window {
            rows,
            lo: span.lo,
            hi: span.hi,
            divisor: divisor * span.count,
        }
    }

    /// Calls `f(output_index, window)` for every output of one plane, in
    /// order.
    #[inline]
    fn for_each_window(&self, mut f: impl FnMut(usize, Window<'_>)) {
        self.for_each_output_row(|o, rows, divisor| {
            for c in 0..self.spans[2].len() {
                f(o + c, self.window(rows, divisor, c));
            }
        });
    }
}

impl Interior {
    /// The interior outputs of an output row whose windows span `rows`:
    /// none when the row lies wholly in padding (it has no input rows, and
    /// its windows take the per-window path, which yields -inf or 0).
    fn outputs_over(&self, rows: &[usize]) -> std::ops::Range<usize> {
        if rows.is_empty() {
            0..0
        } else {
            self.outputs.clone()
        }
    }
}

/// One window of a plane: the columns `lo..hi` of each innermost row that
/// starts at a plane offset in `rows`.
#[derive(Clone, Copy)]
struct Window<'a> {
    rows: &'a [usize],
    lo: usize,
    hi: usize,
    /// The average's divisor.
    divisor: usize,
}

impl Window<'_> {
    /// The index of the first maximum (NaN counts as largest), if the
    /// window holds any input element.
    #[inline]
    fn argmax<T: FloatElement>(self, src: &[T]) -> Option<usize> {
        let (&first_row, rows) = self.rows.split_first()?;
        if self.lo == self.hi {
            return None;
        }
        let start = first_row + self.lo;
        let (mut best_at, mut best) = (start, src[start].widen());
        let mut consider = |at: usize, v: T::Compute| {
            let better = beats(v, best);
            best_at = if better { at } else { best_at };
            best = if better { v } else { best };
        };
        for (k, x) in src[start + 1..first_row + self.hi].iter().enumerate() {
            consider(start + 1 + k, x.widen());
        }
        for &row in rows {
            let at = row + self.lo;
            for (k, x) in src[at..row + self.hi].iter().enumerate() {
                consider(at + k, x.widen());
            }
        }
        Some(best_at)
    }

    #[inline]
    fn sum<T: FloatElement>(self, src: &[T]) -> T::Compute {
        let mut sum = T::Compute::zero();
        for &row in self.rows {
            src[row + self.lo..row + self.hi]
                .iter()
                .for_each(|v| sum += v.widen());
        }
        sum
    }

    /// Adds `share` to every element of the window in `acc`.
    #[inline]
    fn spread<C: Real>(self, acc: &mut [C], share: C) {
        for &row in self.rows {
            acc[row + self.lo..row + self.hi]
                .iter_mut()
                .for_each(|a| *a += share);
        }
    }
}

/// Whether `x` is taken as a window's maximum over an earlier `y`: larger,
/// or the first NaN (NaN counts as largest; ties keep the earlier element).
/// Non-short-circuit `|` and `&` keep callers branch-free, so the compiler
/// can use conditional moves or SIMD blends: with random data a branch
/// here mispredicts about half the time.
#[inline(always)]
fn beats<C: Real>(x: C, y: C) -> bool {
    (x > y) | (x.is_nan() & !y.is_nan())
}

fn divide<C: Real>(sum: C, divisor: usize) -> C {
    sum / C::from_f64(divisor as f64)
}

fn forward<T: FloatElement>(kind: PoolKind, w: &Windows, x: &[T]) -> Vec<T> {
    if kind == PoolKind::Max && w.tiled_2x2 {
        return two_by_two::tiled_max(w, x);
    }
    let (in_plane, out_plane) = (w.in_plane(), w.out_plane());
    let mut out = vec![T::ZERO; w.planes * out_plane];
    let window = w
        .spans
        .iter()
        .map(|s| s.first().map_or(1, |s| s.count))
        .product::<usize>();
    let threads = w.threads(out.len() * window);
    // Average pooling and adaptive windows take the per-window path.
    let interior = match kind {
        PoolKind::Max => w.interior.clone(),
        PoolKind::Avg => Interior::default(),
    };
    for_each_image_run(&mut out, out_plane, threads, |first, run| {
        let mut best = Vec::new();
        for (p, dst) in run.chunks_mut(out_plane).enumerate() {
            let src = &x[(first + p) * in_plane..][..in_plane];
            w.for_each_output_row(|o, rows, divisor| {
                let line = &mut dst[o..o + w.spans[2].len()];
                let fast = interior.outputs_over(rows);
                for (c, d) in line.iter_mut().enumerate() {
                    if fast.contains(&c) {
                        continue;
                    }
                    let b = w.window(rows, divisor, c);
                    *d = match kind {
                        PoolKind::Max => b
                            .argmax(src)
                            .map_or(T::narrow(T::Compute::neg_infinity()), |i| src[i]),
                        PoolKind::Avg => T::narrow(divide(b.sum(src), b.divisor)),
                    }
                }
                if let (false, 2, 2, &[r0, r1]) = (fast.is_empty(), interior.width, interior.stride, rows) {
                    let n = 2 * fast.len();
                    let (r0, r1) = (&src[r0 + interior.first..][..n], &src[r1 + interior.first..][..n]);
                    two_by_two::max_row_into(r0, r1, &mut line[fast]);
                } else if !fast.is_empty() {
                    interior_max(src, rows, &interior, &mut best);
                    for (d, &m) in line[fast].iter_mut().zip(&best) {
                        *d = T::narrow(m);
                    }
                }
            });
        }
    });
    out
}

/// The maxima of an output row's interior windows (NaN counts as
/// largest) into `best`, one pass over the row per window element.
#[inline]
fn interior_max<T: FloatElement>(src: &[T], rows: &[usize], inner: &Interior, best: &mut Vec<T::Compute>) {
    let n = inner.outputs.len();
    best.clear();
    for (r, &row) in rows.iter().enumerate() {
        for k in 0..inner.width {
            let line = &src[row + inner.first + k..][..(n - 1) * inner.stride + 1];
            if r == 0 && k == 0 {
                best.extend((0..n).map(|c| line[c * inner.stride].widen()));
                continue;
            }
            for (c, m) in best.iter_mut().enumerate() {
                let v = line[c * inner.stride].widen();
                *m = if (v > *m) | v.is_nan() { v } else { *m };
            }
        }
    }
}

/// Where each of an output row's interior windows has its first maximum
/// `best` (from [`interior_max`]), as plane indices into `at`. The window
/// elements are visited last to first, so the first match is kept.
#[inline]
fn interior_argmax<T: FloatElement>(
    src: &[T],
    rows: &[usize],
    inner: &Interior,
    best: &[T::Compute],
    at: &mut Vec<usize>,
) {
    at.clear();
    at.resize(best.len(), 0);
    for &row in rows.iter().rev() {
        for k in (0..inner.width).rev() {
            let start = row + inner.first + k;
            let line = &src[start..][..(best.len() - 1) * inner.stride + 1];
            for (c, (a, &m)) in at.iter_mut().zip(best).enumerate() {
                let i = c * inner.stride;
                let v = line[i].widen();
                let hit = (v == m) | (v.is_nan() & m.is_nan());
                *a = if hit { start + i } else { *a };
            }
        }
    }
}

/// A thread's reusable buffers for [`interior_max`] and [`interior_argmax`].
type Scratch<C> = (Vec<C>, Vec<usize>);

/// Runs `f(first_plane, plane_accumulator, scratch)` for every plane of an input
/// gradient and rounds each accumulated plane into the result (the sums
/// are kept in the compute type so half types do not lose precision).
fn grad_planes<T: FloatElement>(
    w: &Windows,
    f: impl Fn(usize, &mut [T::Compute], &mut Scratch<T::Compute>) + Sync,
) -> Vec<T> {
    let in_plane = w.in_plane();
    let mut dx = vec![T::ZERO; w.planes * in_plane];
    let threads = w.threads(dx.len().max(w.planes * w.out_plane()));
    for_each_image_run(&mut dx, in_plane, threads, |first, run| {
        let mut acc = vec![T::Compute::zero(); in_plane];
        let mut scratch = (Vec::new(), Vec::new());
        for (p, dst) in run.chunks_mut(in_plane).enumerate() {
            acc.fill(T::Compute::zero());
            f(first + p, &mut acc, &mut scratch);
            dst.iter_mut().zip(&acc).for_each(|(d, &v)| *d = T::narrow(v));
        }
    });
    dx
}

fn max_grad<T: FloatElement>(w: &Windows, x: &[T], dy: &[T]) -> Vec<T> {
    if w.tiled_2x2 {
        return two_by_two::tiled_max_grad(w, x, dy);
    }
    if w.disjoint {
        return disjoint_max_grad(w, x, dy);
    }
    let (in_plane, out_plane) = (w.in_plane(), w.out_plane());
    let inner = &w.interior;
    grad_planes::<T>(w, |p, acc, (best, at)| {
        let src = &x[p * in_plane..][..in_plane];
        let g = &dy[p * out_plane..][..out_plane];
        w.for_each_output_row(|o, rows, divisor| {
            let g = &g[o..o + w.spans[2].len()];
            let fast = inner.outputs_over(rows);
            for (c, gc) in g.iter().enumerate() {
                if fast.contains(&c) {
                    continue;
                }
                if let Some(i) = w.window(rows, divisor, c).argmax(src) {
                    acc[i] += gc.widen();
                }
            }
            if !fast.is_empty() {
                interior_max(src, rows, inner, best);
                interior_argmax(src, rows, inner, best, at);
                for (&i, gc) in at.iter().zip(&g[fast]) {
                    acc[i] += gc.widen();
                }
            }
        });
    })
}

/// The plane index of the first maximum (NaN counts as largest) of the
/// whole window `base..base + width` of each row in `rows` (not empty).
#[inline(always)]
fn interior_argmax_at<T: FloatElement>(src: &[T], rows: &[usize], base: usize, width: usize) -> usize {
    let mut best_at = rows[0] + base;
    let mut best = src[best_at].widen();
    for &row in rows {
        let at = row + base;
        for (k, v) in src[at..at + width].iter().enumerate() {
            let v = v.widen();
            // The first element compares equal to itself: not taken twice.
            let better = beats(v, best);
            best_at = if better { at + k } else { best_at };
            best = if better { v } else { best };
        }
    }
    best_at
}

/// Two disjoint `len`-element rows of `dst`, starting at `a` < `b`.
fn split_rows_mut<T>(dst: &mut [T], a: usize, b: usize, len: usize) -> (&mut [T], &mut [T]) {
    let (head, tail) = dst.split_at_mut(b);
    (&mut head[a..a + len], &mut tail[..len])
}

/// The max-pool gradient when no two windows overlap (2×2, stride-2
/// pooling with padding takes it; without, [`two_by_two`]'s row-pair path
/// does): each window's gradient goes straight to its first
/// maximum in the result, with no accumulator planes to clear and round.
/// The values equal the accumulating path's exactly (one term per element).
fn disjoint_max_grad<T: FloatElement>(w: &Windows, x: &[T], dy: &[T]) -> Vec<T> {
    let (in_plane, out_plane) = (w.in_plane(), w.out_plane());
    let mut dx = vec![T::ZERO; w.planes * in_plane];
    let threads = w.threads(dx.len());
    let inner = &w.interior;
    for_each_image_run(&mut dx, in_plane, threads, |first, run| {
        for (p, dst) in run.chunks_mut(in_plane).enumerate() {
            let src = &x[(first + p) * in_plane..][..in_plane];
            let g = &dy[(first + p) * out_plane..][..out_plane];
            w.for_each_output_row(|o, rows, divisor| {
                let g = &g[o..o + w.spans[2].len()];
                let fast = inner.outputs_over(rows);
                for (c, &gc) in g.iter().enumerate() {
                    if fast.contains(&c) {
                        continue;
                    }
                    if let Some(i) = w.window(rows, divisor, c).argmax(src) {
                        dst[i] = gc;
                    }
                }
                if let (2, 2, &[r0, r1]) = (inner.width, inner.stride, rows) {
                    let n = fast.len();
                    let (a, b) = (r0 + inner.first, r1 + inner.first);
                    let (top, bottom) = split_rows_mut(dst, a, b, 2 * n);
                    two_by_two::grad_row_into(&src[a..][..2 * n], &src[b..][..2 * n], &g[fast], top, bottom);
                    return;
                }
                for (c, &gc) in fast.clone().zip(&g[fast.clone()]) {
                    let base = inner.first + (c - fast.start) * inner.stride;
                    dst[interior_argmax_at(src, rows, base, inner.width)] = gc;
                }
            });
        }
    });
    dx
}

fn avg_grad<T: FloatElement>(w: &Windows, dy: &[T]) -> Vec<T> {
    let out_plane = w.out_plane();
    grad_planes::<T>(w, |p, acc, _| {
        let g = &dy[p * out_plane..][..out_plane];
        w.for_each_window(|o, b| {
            b.spread(acc, divide(g[o].widen(), b.divisor));
        });
    })
}

#[cfg(test)]
#[path = "pool_tests.rs"]
mod tests;
