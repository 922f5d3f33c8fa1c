//! Fused, max-shifted softmax kernels: `log_softmax` and
//! `softmax_cross_entropy`, each a few cache-resident passes over one block
//! of rows at a time.
//!
//! Both exist as single kernels (rather than max, subtract, exp, sum, log
//! built from primitives) because they sit at the end of nearly every
//! classifier: no full-size intermediates, one vectorized `exp` per block,
//! and shifting by the row maximum keeps `exp` from overflowing for large
//! logits.

use crate::cast::as_type;
use crate::fast_math::Transcendental;
use crate::float::Real;
use myelin_core::{DType, Error, Result, Shape, Tensor};

/// A tensor seen as `[outer, n, inner]` around one axis.
struct Rows {
    outer: usize,
    n: usize,
    inner: usize,
}

fn rows(op: &str, shape: &Shape, axis: i64) -> Result<(usize, Rows)> {
    let a = shape.axis(op, axis)?;
    let dims = shape.dims();
    Ok((
        a,
        Rows {
            outer: dims[..a].iter().product(),
            n: dims[a],
            inner: dims[a + 1..].iter().product(),
        },
    ))
}

/// The float type to compute in and return (halves compute in f32).
fn compute_type(op: &str, dtype: DType) -> Result<(DType, DType)> {
    let out = dtype.to_floating();
    match out {
        DType::F64 => Ok((DType::F64, out)),
        DType::F32 | DType::F16 | DType::BF16 => Ok((DType::F32, out)),
        _ => Err(Error::internal(op, format!("no kernel for type {dtype}"))),
    }
}

/// `x - logsumexp(x, axis)`, computed per row with the row maximum
/// subtracted first.
pub fn log_softmax(t: &Tensor, axis: i64) -> Result<Tensor> {
    let (_, r) = rows("log_softmax", t.shape(), axis)?;
    let (compute, out) = compute_type("log_softmax", t.dtype())?;
    let x = as_type(t, compute)?;
    let y = match compute {
        DType::F64 => Tensor::from_vec(t.shape().clone(), log_softmax_rows::<f64>(x.as_slice()?, &r))?,
        _ => Tensor::from_vec(t.shape().clone(), log_softmax_rows::<f32>(x.as_slice()?, &r))?,
    };
    as_type(&y, out)
}

fn log_softmax_rows<T: Real>(x: &[T], r: &Rows) -> Vec<T> {
    let mut y = vec![T::zero(); x.len()];
    if x.is_empty() {
        return y;
    }
    let mut lse = LogSumExp::new(r);
    for (xb, yb) in x.chunks(lse.block_len()).zip(y.chunks_mut(lse.block_len())) {
        let ln_s = lse.block(xb, yb);
        update_rows(yb, ln_s, r.inner, |s, ln_s| s - ln_s);
    }
    y
}

/// Values per block of [`LogSumExp`]: enough that short rows (10 classes)
/// still give the vectorized `exp` long slices, few enough to stay in L1/L2.
const BLOCK: usize = 4096;

/// Log-sum-exp of rows along the softmax axis, a block of whole
/// `[n, inner]` slices at a time, with scratch kept across blocks. Each
/// position along `inner` is one row; working on whole slices makes every
/// loop contiguous, and the `exp` of a block one call of the vectorized
/// kernel.
struct LogSumExp<T> {
    n: usize,
    inner: usize,
    /// Each row's maximum.
    m: Vec<T>,
    /// Each row's `ln(sum(exp(x_k - m)))`, 0 where `m` is not finite (so
    /// `x - m - ln_s` stays NaN or infinite, as the input).
    ln_s: Vec<T>,
    /// `exp(x - m)` for the block.
    exps: Vec<T>,
}

impl<T: Real> LogSumExp<T> {
    /// For rows of `r` (`r.n` and `r.inner` not 0).
    fn new(r: &Rows) -> Self {
        let slices = (BLOCK / (r.n * r.inner)).clamp(1, r.outer.max(1));
        LogSumExp {
            n: r.n,
            inner: r.inner,
            m: vec![T::zero(); slices * r.inner],
            ln_s: vec![T::zero(); slices * r.inner],
            exps: vec![T::zero(); slices * r.n * r.inner],
        }
    }

    /// The length of a full block (the last may be shorter).
    fn block_len(&self) -> usize {
        self.exps.len()
    }

    /// Fills `shifted` with `x - m` for the block `x` (whole `[n, inner]`
    /// slices) and returns `ln_s` for its rows, in `[slice, inner]` order.
    /// Log-sum-exp is `m + ln_s`, but callers subtract `m` from `x` first,
    /// which keeps full precision when the log-probabilities are small next
    /// to `x`; shifting by the maximum keeps `exp` from overflowing.
    fn block(&mut self, x: &[T], shifted: &mut [T]) -> &[T] {
        let rows = x.len() / self.n;
        let (m, ln_s, exps) = (
            &mut self.m[..rows],
            &mut self.ln_s[..rows],
            &mut self.exps[..x.len()],
        );
        m.fill(T::neg_infinity());
        fold_rows(x, m, self.inner, |m, v| m.max(v));
        shifted.copy_from_slice(x);
        update_rows(shifted, m, self.inner, |v, m| v - m);
        T::transcendental(Transcendental::Exp, shifted, exps);
        ln_s.fill(T::zero());
        fold_rows(exps, ln_s, self.inner, |s, e| s + e);
        for (s, &m) in ln_s.iter_mut().zip(m.iter()) {
            *s = if m.is_finite() { s.ln() } else { T::zero() };
        }
        ln_s
    }
}

/// `acc[i] = f(acc[i], v)` for each value `v` of row `i`, in order along
/// the row: `block` is `[slices, n, inner]` and `acc` `[slices, inner]`.
#[inline(always)]
fn fold_rows<T: Copy>(block: &[T], acc: &mut [T], inner: usize, f: impl Fn(T, T) -> T) {
    let n = block.len() / acc.len();
    for (slice, acc) in block.chunks_exact(n * inner).zip(acc.chunks_exact_mut(inner)) {
        if let [a] = acc {
            // One contiguous row (softmax over the last axis): one plain
            // loop, not `n` loops over one element.
            *a = slice.iter().fold(*a, |a, &v| f(a, v));
        } else {
            for k_row in slice.chunks_exact(inner) {
                for (a, &v) in acc.iter_mut().zip(k_row) {
                    *a = f(*a, v);
                }
            }
        }
    }
}

/// `v = f(v, per_row[i])` for each value `v` of row `i`, laid out as in
/// [`fold_rows`].
#[inline(always)]
fn update_rows<T: Copy>(block: &mut [T], per_row: &[T], inner: usize, f: impl Fn(T, T) -> T) {
    let n = block.len() / per_row.len();
    for (slice, per_row) in block.chunks_exact_mut(n * inner).zip(per_row.chunks_exact(inner)) {
        if let [p] = per_row {
            slice.iter_mut().for_each(|v| *v = f(*v, *p));
        } else {
            for k_row in slice.chunks_exact_mut(inner) {
                for (v, &p) in k_row.iter_mut().zip(per_row) {
                    *v = f(*v, p);
                }
            }
        }
    }
}

/// Per-row cross-entropy of `targets` (probabilities, e.g. one-hot) against
/// `softmax(logits)`: `-sum(targets * log_softmax(logits))` over `axis`, which
/// is removed from the output shape.
pub fn softmax_cross_entropy(logits: &Tensor, targets: &Tensor, axis: i64) -> Result<Tensor> {
    let op = "softmax_cross_entropy";
    if logits.shape() != targets.shape() {
        return Err(Error::arg(
            op,
            format!(
                "expected targets of the logits' shape {}, got {}",
                logits.shape(),
                targets.shape()
            ),
        ));
    }
    let (a, r) = rows(op, logits.shape(), axis)?;
    let (compute, out) = compute_type(op, logits.dtype().merge(targets.dtype()))?;
    let (x, t) = (as_type(logits, compute)?, as_type(targets, compute)?);
    let mut dims = logits.dims().to_vec();
    dims.remove(a);
    let shape = Shape::new(dims);
    let y = match compute {
        DType::F64 => Tensor::from_vec(shape, xent_rows::<f64>(x.as_slice()?, t.as_slice()?, &r))?,
        _ => Tensor::from_vec(shape, xent_rows::<f32>(x.as_slice()?, t.as_slice()?, &r))?,
    };
    as_type(&y, out)
}

fn xent_rows<T: Real>(x: &[T], t: &[T], r: &Rows) -> Vec<T> {
    if r.n == 0 || r.inner == 0 {
        // Sums over an empty axis, or no rows at all.
        return vec![T::zero(); r.outer * r.inner];
    }
    let mut y = Vec::with_capacity(r.outer * r.inner);
    let mut lse = LogSumExp::new(r);
    let mut terms = vec![T::zero(); lse.block_len()];
    let mut loss = vec![T::zero(); lse.block_len() / r.n];
    for (xb, tb) in x.chunks(lse.block_len()).zip(t.chunks(lse.block_len())) {
        let terms = &mut terms[..xb.len()];
        let loss = &mut loss[..xb.len() / r.n];
        let ln_s = lse.block(xb, terms);
        // -log_softmax, then each class's term of the loss; classes with no
        // probability are skipped (0 * inf would be NaN).
        update_rows(terms, ln_s, r.inner, |s, ln_s| ln_s - s);
        for (v, &p) in terms.iter_mut().zip(tb) {
            *v = if p != T::zero() { p * *v } else { T::zero() };
        }
        loss.fill(T::zero());
        fold_rows(terms, loss, r.inner, |l, v| l + v);
        y.extend_from_slice(loss);
    }
    y
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(dims: Vec<usize>, v: Vec<f64>) -> Tensor {
        Tensor::from_vec(Shape::new(dims), v).unwrap()
    }

    #[test]
    fn log_softmax_is_stable_and_normalized() {
        let x = t(vec![2, 3], vec![1.0, 2.0, 3.0, 1000.0, 1000.0, 1000.0]);
        let y = log_softmax(&x, -1).unwrap();
        let y = y.as_slice::<f64>().unwrap();
        let expect = [-2.4076059644443806, -1.4076059644443806, -0.4076059644443805];
        for k in 0..3 {
            assert!((y[k] - expect[k]).abs() < 1e-12);
            assert!((y[3 + k] + 3f64.ln()).abs() < 1e-12);
        }
    }

    #[test]
    fn log_softmax_over_a_middle_axis() {
        let x = t(vec![1, 2, 2], vec![0.0, 1.0, 0.0, 3.0]);
        let y = log_softmax(&x, 1).unwrap();
        let y = y.as_slice::<f64>().unwrap();
        let l2 = 2f64.ln();
        assert!((y[0] + l2).abs() < 1e-12 && (y[2] + l2).abs() < 1e-12);
        let lse = (1f64.exp() + 3f64.exp()).ln();
        assert!((y[1] - (1.0 - lse)).abs() < 1e-12 && (y[3] - (3.0 - lse)).abs() < 1e-12);
    }

    /// The f32 path (vectorized exp) against the definition in f64, with
    /// large logits: over a middle axis (rows strided in memory), over the
    /// last axis with short rows (many per block, the last block partial),
    /// and with slices longer than a block.
    #[test]
    fn f32_matches_f64_definition() {
        for (outer, n, inner) in [(3, 7, 5), (1000, 7, 1), (2, 3000, 2)] {
            let len = outer * n * inner;
            let v: Vec<f32> = (0..len).map(|i| ((i * 37) % 23) as f32 * 1.7 + 491.0).collect();
            let p: Vec<f32> = (0..len).map(|i| ((i % 3) as f32) / 3.0).collect();
            let shape = Shape::new(vec![outer, n, inner]);
            let x32 = Tensor::from_vec(shape.clone(), v.clone()).unwrap();
            let p32 = Tensor::from_vec(shape, p.clone()).unwrap();
            let (y, loss) = (
                log_softmax(&x32, 1).unwrap(),
                softmax_cross_entropy(&x32, &p32, 1).unwrap(),
            );
            let (y, loss) = (y.as_slice::<f32>().unwrap(), loss.as_slice::<f32>().unwrap());
            for o in 0..outer {
                for i in 0..inner {
                    let at = |k: usize| (o * n + k) * inner + i;
                    let xs: Vec<f64> = (0..n).map(|k| v[at(k)] as f64).collect();
                    let m = xs.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
                    let lse = m + xs.iter().map(|x| (x - m).exp()).sum::<f64>().ln();
                    let mut want_loss = 0.0;
                    for k in 0..n {
                        assert!((y[at(k)] as f64 - (xs[k] - lse)).abs() < 1e-5);
                        want_loss -= p[at(k)] as f64 * (xs[k] - lse);
                    }
                    assert!((loss[o * inner + i] as f64 - want_loss).abs() < 1e-5 * (1.0 + want_loss.abs()));
                }
            }
        }
    }

    #[test]
    fn empty_axes() {
        let x = t(vec![2, 0], vec![]);
        assert_eq!(log_softmax(&x, 1).unwrap().dims(), &[2, 0]);
        let l = softmax_cross_entropy(&x, &x, 1).unwrap();
        assert_eq!(l.as_slice::<f64>().unwrap(), &[0.0, 0.0]);
        let x = t(vec![0, 3], vec![]);
        assert_eq!(softmax_cross_entropy(&x, &x, 1).unwrap().dims(), &[0]);
    }

    #[test]
    fn cross_entropy_matches_the_definition() {
        let x = t(vec![2, 3], vec![1.0, 2.0, 3.0, 0.5, 0.5, -1.0]);
        let p = t(vec![2, 3], vec![0.0, 0.0, 1.0, 0.2, 0.8, 0.0]);
        let y = softmax_cross_entropy(&x, &p, 1).unwrap();
        let y = y.as_slice::<f64>().unwrap();
        let ls = log_softmax(&x, 1).unwrap();
        let ls = ls.as_slice::<f64>().unwrap();
        assert!((y[0] + ls[2]).abs() < 1e-12);
        assert!((y[1] + 0.2 * ls[3] + 0.8 * ls[4]).abs() < 1e-12);
        let bad = t(vec![3, 2], vec![0.0; 6]);
        assert!(softmax_cross_entropy(&x, &bad, 1).is_err());
    }
}
