//! Convolution (channels first) and its two gradients, by im2col + GEMM.
//!
//! Input `{N, C, *spatial}`, kernel `{O, C/groups, *k}`, output
//! `{N, O, *out}`, 1 to 3 spatial dims. Per image and group:
//!
//! * forward: `out[Og, P] = kernel[Og, Cg*K] × col[Cg*K, P]`,
//! * input gradient: `dcol[Cg*K, P] = kernel^T × dy[Og, P]`, then col2im,
//! * kernel gradient: `dkernel[Og, Cg*K] += dy[Og, P] × col^T`.
//!
//! With channels first, an image's `[O, P]` output block is already its
//! slice of the result, so the forward GEMM writes straight into it. The
//! gradients put the columns of several images side by side, so that one
//! GEMM spans about [`TARGET_COLUMNS`] columns. Images are shared out
//! across threads in contiguous runs; each thread owns its buffers and
//! reuses them for all its images. A pointwise (1×1) kernel reads images in
//! place, without im2col. f32 and f64 compute natively; f16 and bf16 go
//! through f32 (as `dot` does); integer operands are promoted as Nx does,
//! and two integer operands are rejected.
//!
//! The target CNN's convolutions (batch 128; 1×28×28 → 32 3×3, then
//! 32×13×13 → 64 3×3, valid) measured on one thread of the shared 2-core
//! machine: forward 2.4 + 8.6 ms, backward 5.1 (kernel) + 8.3 (input) +
//! 10.2 (kernel) ms. `bench_cnn_convs` in conv_tests.rs reruns them.

mod im2col;
#[cfg(test)]
pub(crate) mod test_support;

use crate::cast::as_type;
use crate::float::Real;
use crate::matmul::{matmul, matmul_uninit, Mat};
use crate::parallel::num_threads;
use im2col::{ColumnElement, Geometry};
use myelin_core::shape::conv::{conv_shape, ConvSpec};
use myelin_core::{DType, Error, Result, Shape, Tensor};

/// Multiply-adds below which a whole convolution stays on the calling
/// thread: spawning (~20 µs a thread) would cost more than it saves.
const PARALLEL_WORK: usize = 1 << 18;

/// Multiply-adds of one image's GEMMs above which, when there are fewer
/// images than threads, the GEMM itself runs on every core (as in `dot`).
const PARALLEL_GEMM_WORK: usize = 1 << 23;

/// Convolves `input` `{N, C, *spatial}` with `kernel` `{O, C/groups, *k}`:
/// returns `{N, O, *out}` (no bias; the graph adds it).
pub fn conv(input: &Tensor, kernel: &Tensor, spec: &ConvSpec) -> Result<Tensor> {
    let out_shape = conv_shape("conv", input.shape(), kernel.shape(), spec)?;
    let out_type = float_type("conv", &[input, kernel])?;
    let (x, w) = (compute(input, out_type)?, compute(kernel, out_type)?);
    let plan = Plan::new(x.shape(), w.shape(), &out_shape, spec);
    match x.dtype() {
        DType::F32 => finish(
            out_shape,
            plan.forward::<f32>(x.as_slice()?, w.as_slice()?),
            out_type,
        ),
        _ => finish(
            out_shape,
            plan.forward::<f64>(x.as_slice()?, w.as_slice()?),
            out_type,
        ),
    }
}

/// The gradient of [`conv`] with respect to its input: `dy` is the
/// gradient of the output, `input_shape` the input's shape. Returns a
/// tensor of `input_shape`.
pub fn conv_input_grad(dy: &Tensor, kernel: &Tensor, input_shape: &Shape, spec: &ConvSpec) -> Result<Tensor> {
    let op = "conv_input_grad";
    let out_shape = conv_shape(op, input_shape, kernel.shape(), spec)?;
    check_dy(op, dy, &out_shape)?;
    let out_type = float_type(op, &[dy, kernel])?;
    let (dy, w) = (compute(dy, out_type)?, compute(kernel, out_type)?);
    let plan = Plan::new(input_shape, w.shape(), &out_shape, spec);
    match dy.dtype() {
        DType::F32 => finish(
            input_shape.clone(),
            plan.input_grad::<f32>(dy.as_slice()?, w.as_slice()?),
            out_type,
        ),
        _ => finish(
            input_shape.clone(),
            plan.input_grad::<f64>(dy.as_slice()?, w.as_slice()?),
            out_type,
        ),
    }
}

/// The gradient of [`conv`] with respect to its kernel: `dy` is the
/// gradient of the output, `kernel_shape` the kernel's shape. Returns a
/// tensor of `kernel_shape` summed over the batch.
pub fn conv_kernel_grad(
    input: &Tensor,
    dy: &Tensor,
    kernel_shape: &Shape,
    spec: &ConvSpec,
) -> Result<Tensor> {
    let op = "conv_kernel_grad";
    let out_shape = conv_shape(op, input.shape(), kernel_shape, spec)?;
    check_dy(op, dy, &out_shape)?;
    let out_type = float_type(op, &[input, dy])?;
    let (x, dy) = (compute(input, out_type)?, compute(dy, out_type)?);
    let plan = Plan::new(x.shape(), kernel_shape, &out_shape, spec);
    match x.dtype() {
        DType::F32 => finish(
            kernel_shape.clone(),
            plan.kernel_grad::<f32>(x.as_slice()?, dy.as_slice()?),
            out_type,
        ),
        _ => finish(
            kernel_shape.clone(),
            plan.kernel_grad::<f64>(x.as_slice()?, dy.as_slice()?),
            out_type,
        ),
    }
}

/// The merged type of the operands, which must be floating point.
fn float_type(op: &str, operands: &[&Tensor]) -> Result<DType> {
    let merged = operands
        .iter()
        .map(|t| t.dtype())
        .reduce(DType::merge)
        .unwrap_or(DType::F32);
    if !merged.is_float() {
        let types: Vec<String> = operands.iter().map(|t| t.dtype().to_string()).collect();
        return Err(Error::arg(
            op,
            format!(
                "expected floating-point tensors, got types {}; convert with as_type first",
                types.join(" and ")
            ),
        ));
    }
    Ok(merged)
}

/// `t` in the type kernels compute `out_type` in: f64 for f64, else f32.
fn compute(t: &Tensor, out_type: DType) -> Result<Tensor> {
    as_type(
        t,
        if out_type == DType::F64 {
            DType::F64
        } else {
            DType::F32
        },
    )
}

fn finish<T: Real>(shape: Shape, data: Vec<T>, out_type: DType) -> Result<Tensor> {
    as_type(&Tensor::from_vec(shape, data)?, out_type)
}

fn check_dy(op: &str, dy: &Tensor, expected: &Shape) -> Result<()> {
    if dy.shape() != expected {
        return Err(Error::arg(
            op,
            format!(
                "expected the output gradient to have the convolution's output shape {expected}, got {}",
                dy.shape()
            ),
        ));
    }
    Ok(())
}

/// Columns (images × output positions) one gradient GEMM should span: wide
/// enough that packing and writing the result amortize, small enough that
/// a thread's buffers stay in cache. On the target CNN's second conv (121
/// positions), 8 images side by side took the kernel gradient's GEMMs from
/// 15.6 to 11.3 ms and the input gradient's from 10.8 to 7.9 ms (one thread).
const TARGET_COLUMNS: usize = 1024;

/// Cap on the elements of one thread's column buffer.
const MAX_COLUMN_BUFFER: usize = 1 << 20;

/// A validated convolution: sizes, per-group GEMM dimensions and geometry.
struct Plan {
    batch: usize,
    groups: usize,
    /// Output channels per group.
    og: usize,
    /// Column-matrix rows per group (`C/groups * K`), the GEMM depth.
    ck: usize,
    /// Output positions per image.
    p: usize,
    /// Input elements per image.
    image: usize,
    /// Output elements per image.
    out_image: usize,
    /// Images whose columns sit side by side in one gradient GEMM.
    chunk: usize,
    geometry: Geometry,
}

impl Plan {
    fn new(input: &Shape, kernel: &Shape, out: &Shape, spec: &ConvSpec) -> Plan {
        let (x, k, o) = (input.dims(), kernel.dims(), out.dims());
        let geometry = Geometry::new(x[1], &x[2..], &k[2..], &o[2..], spec);
        let p = geometry.positions();
        // A pointwise kernel reads images in place, one at a time.
        let chunk = if geometry.pointwise {
            1
        } else {
            (TARGET_COLUMNS / p.max(1))
                .min(MAX_COLUMN_BUFFER / (geometry.rows() * p).max(1))
                .max(1)
        };
        Plan {
            batch: x[0],
            groups: spec.groups,
            og: k[0] / spec.groups,
            ck: geometry.rows() / spec.groups,
            p,
            image: x[1..].iter().product(),
            out_image: o[1..].iter().product(),
            chunk,
            geometry,
        }
    }

    /// How many threads to use, and the threads each GEMM may use, for
    /// GEMMs spanning `chunk` images.
    fn threads(&self, chunk: usize) -> (usize, usize) {
        let work = self.groups * self.og * self.ck * self.p;
        let threads = if work * self.batch < PARALLEL_WORK {
            1
        } else {
            num_threads().min(self.batch).max(1)
        };
        let gemm_threads = if threads == 1 && work * chunk.min(self.batch) >= PARALLEL_GEMM_WORK {
            num_threads()
        } else {
            1
        };
        (threads, gemm_threads)
    }

    /// One image per GEMM, written straight into the output: unlike the
    /// gradients, the forward GEMM got no faster with several images side
    /// by side (measured on the target CNN), and this needs no copy.
    fn forward<T: Real + ColumnElement>(&self, x: &[T], w: &[T]) -> Vec<T> {
        let (og, ck, p) = (self.og, self.ck, self.p);
        // The GEMMs write every output element: no zero-fill first (11 MB
        // for the target CNN's first conv).
        let mut out = Box::<[T]>::new_uninit_slice(self.batch * self.out_image);
        let (threads, gemm_threads) = self.threads(1);
        for_each_image_run(&mut out, self.out_image, threads, |first, run| {
            let mut col_buf = Vec::new();
            for (i, dst) in run.chunks_mut(self.out_image).enumerate() {
                let (col, ld) = self.columns(&x[(first + i) * self.image..][..self.image], 1, &mut col_buf);
                for g in 0..self.groups {
                    let kernel = Mat::rows(&w[g * og * ck..], ck);
                    let cols = Mat::rows(&col[g * ck * ld..], ld);
                    matmul_uninit(
                        "conv",
                        og,
                        p,
                        ck,
                        &mut dst[g * og * p..],
                        kernel,
                        cols,
                        gemm_threads,
                    );
                }
            }
        });
        // SAFETY: the image runs cover the output, and each image's
        // `groups` GEMMs wrote its `groups × og × p` = `out_image` elements.
        unsafe { out.assume_init() }.into_vec()
    }

    fn input_grad<T: Real + ColumnElement>(&self, dy: &[T], w: &[T]) -> Vec<T> {
        let (og, ck, p) = (self.og, self.ck, self.p);
        let mut dx = vec![T::ZERO; self.batch * self.image];
        let (threads, gemm_threads) = self.threads(self.chunk);
        for_each_image_run(&mut dx, self.image, threads, |first, run| {
            let (mut dcol, mut tmp) = (Vec::new(), Vec::new());
            for (c, dst) in run.chunks_mut(self.chunk * self.image).enumerate() {
                let nb = dst.len() / self.image;
                let n = nb * p;
                let start = first + c * self.chunk;
                let dys = &dy[start * self.out_image..][..nb * self.out_image];
                // The pointwise column matrix is the image: write straight into it.
                let target: &mut [T] = if self.geometry.pointwise {
                    &mut *dst
                } else {
                    dcol.resize(self.geometry.rows() * n, T::ZERO);
                    &mut dcol
                };
                for g in 0..self.groups {
                    let kernel_t = Mat::cols(&w[g * og * ck..], ck);
                    let grads = self.gather(dys, nb, g, &mut tmp);
                    matmul(
                        "conv",
                        ck,
                        n,
                        og,
                        &mut target[g * ck * n..],
                        false,
                        kernel_t,
                        grads,
                        gemm_threads,
                    );
                }
                if !self.geometry.pointwise {
                    for (b, image) in dst.chunks_mut(self.image).enumerate() {
                        self.geometry.col2im(&dcol, n, b * p, image);
                    }
                }
            }
        });
        dx
    }

    fn kernel_grad<T: Real + ColumnElement>(&self, x: &[T], dy: &[T]) -> Vec<T> {
        let (og, ck, p) = (self.og, self.ck, self.p);
        let (threads, gemm_threads) = self.threads(self.chunk);
        // `gemm` packs its left operand again for every call, so the
        // smaller one goes there: the output gradients `[Og, n]`, or, when a
        // group has fewer column rows than output channels (an image
        // model's first conv: 9 against 32), the columns. That product is
        // the kernel gradient transposed, `[Cg*K, Og]`, turned at the end.
        let transposed = 0 < ck && ck < og;
        // Each thread sums its images into its own buffer; the buffers are
        // added at the end (they are small: one kernel each).
        let partial = |first: usize, count: usize| -> Vec<T> {
            let mut dw = vec![T::ZERO; self.groups * og * ck];
            let (mut col_buf, mut tmp) = (Vec::new(), Vec::new());
            for start in (first..first + count).step_by(self.chunk) {
                let nb = self.chunk.min(first + count - start);
                let n = nb * p;
                let (col, ld) = self.columns(&x[start * self.image..][..nb * self.image], nb, &mut col_buf);
                let dys = &dy[start * self.out_image..][..nb * self.out_image];
                for g in 0..self.groups {
                    let grads = self.gather(dys, nb, g, &mut tmp);
                    let cols = Mat::rows(&col[g * ck * ld..], ld);
                    let (m, k, lhs, rhs) = if transposed {
                        (ck, og, cols, grads.t())
                    } else {
                        (og, ck, grads, cols.t())
                    };
                    let dst = &mut dw[g * og * ck..];
                    matmul("conv", m, k, n, dst, start > first, lhs, rhs, gemm_threads);
                }
            }
            dw
        };
        let runs = image_runs(self.batch, threads);
        let total = if runs.len() <= 1 {
            partial(0, self.batch)
        } else {
            let mut sums = crate::parallel::map_tasks(runs.len(), |i| partial(runs[i].0, runs[i].1));
            let mut total = sums.swap_remove(0);
            for s in &sums {
                total.iter_mut().zip(s).for_each(|(t, &v)| *t += v);
            }
            total
        };
        if !transposed {
            return total;
        }
        let mut dw = Vec::with_capacity(total.len());
        for block in total.chunks_exact(og * ck) {
            for o in 0..og {
                dw.extend((0..ck).map(|r| block[r * og + o]));
            }
        }
        dw
    }

    /// The column matrix of `nb` consecutive `images` side by side, and its
    /// row stride: one pointwise image as it is, else im2col into `buffer`.
    fn columns<'a, T: Real + ColumnElement>(
        &self,
        images: &'a [T],
        nb: usize,
        buffer: &'a mut Vec<T>,
    ) -> (&'a [T], usize) {
        if self.geometry.pointwise && nb == 1 {
            return (images, self.p);
        }
        let ld = nb * self.p;
        buffer.resize(self.geometry.rows() * ld, T::ZERO);
        for (b, image) in images.chunks(self.image.max(1)).enumerate() {
            self.geometry.im2col(image, buffer, ld, b * self.p);
        }
        (buffer, ld)
    }

    /// Group `g`'s output gradients of `nb` images (`dys`) as one
    /// `[Og, nb*P]` matrix: in place for one image, else copied into `tmp`.
    fn gather<'a, T: Real>(&self, dys: &'a [T], nb: usize, g: usize, tmp: &'a mut Vec<T>) -> Mat<'a, T> {
        let (og, p) = (self.og, self.p);
        if nb == 1 {
            return Mat::rows(&dys[g * og * p..], p);
        }
        let n = nb * p;
        tmp.resize(og * n, T::ZERO);
        for (o, row) in tmp.chunks_mut(n).enumerate() {
            for (b, seg) in row.chunks_mut(p).enumerate() {
                seg.copy_from_slice(&dys[b * self.out_image + (g * og + o) * p..][..p]);
            }
        }
        Mat::rows(tmp, n)
    }
}

/// `threads` contiguous runs `(first image, count)` covering `batch` images.
fn image_runs(batch: usize, threads: usize) -> Vec<(usize, usize)> {
    let threads = threads.clamp(1, batch.max(1));
    let (per, extra) = (batch / threads, batch % threads);
    let mut first = 0;
    (0..threads)
        .map(|t| {
            let count = per + usize::from(t < extra);
            first += count;
            (first - count, count)
        })
        .filter(|&(_, count)| count > 0)
        .collect()
}

/// Calls `f(first_image, run)` over disjoint runs of whole images of `out`
/// (`per_image` elements each), one run per thread; not at all when `out`
/// is empty.
pub(crate) fn for_each_image_run<T: Send>(
    out: &mut [T],
    per_image: usize,
    threads: usize,
    f: impl Fn(usize, &mut [T]) + Sync,
) {
    if out.is_empty() {
        return;
    }
    let batch = out.len() / per_image;
    let runs = image_runs(batch, threads);
    if runs.len() <= 1 {
        f(0, out);
        return;
    }
    crate::parallel::scope(|s| {
        let f = &f;
        let ((first, _), spawned) = runs.split_first().expect("at least two runs");
        let (mut head, mut rest) = out.split_at_mut(runs[0].1 * per_image);
        for &(start, count) in spawned {
            let (run, tail) = std::mem::take(&mut rest).split_at_mut(count * per_image);
            s.spawn(move || f(start, run));
            rest = tail;
        }
        // The calling thread takes the first run instead of idling.
        f(*first, std::mem::take(&mut head));
    });
}

#[cfg(test)]
#[path = "conv_tests.rs"]
mod tests;
