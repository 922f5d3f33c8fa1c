//! Fused, max-shifted softmax kernels: `log_softmax` and
//! `softmax_cross_entropy`, each one pass per row over the softmax axis.
//!
//! Both exist as single kernels (rather than max, subtract, exp, sum, log
//! built from primitives) because they sit at the end of nearly every
//! classifier: one pass is faster, and shifting by the row maximum keeps
//! `exp` from overflowing for large logits.

use crate::cast::as_type;
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
    for o in 0..r.outer {
        for i in 0..r.inner {
            let at = |k: usize| o * r.n * r.inner + k * r.inner + i;
            let (m, ln_s) = row_logsumexp(|k| x[at(k)], r.n);
            for k in 0..r.n {
                y[at(k)] = (x[at(k)] - m) - ln_s;
            }
        }
    }
    y
}

/// The row maximum `m` and `ln(sum(exp(x_k - m)))`: log-sum-exp is `m + ln_s`,
/// but callers subtract `m` from `x` first, which keeps full precision
/// when the log-probabilities are small next to `x`.
fn row_logsumexp<T: Real>(x: impl Fn(usize) -> T, n: usize) -> (T, T) {
    let mut m = T::neg_infinity();
    for k in 0..n {
        m = m.max(x(k));
    }
    if !m.is_finite() {
        return (m, T::zero());
    }
    let mut s = T::zero();
    for k in 0..n {
        s += (x(k) - m).exp();
    }
    (m, s.ln())
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
    let mut y = Vec::with_capacity(r.outer * r.inner);
    for o in 0..r.outer {
        for i in 0..r.inner {
            let at = |k: usize| o * r.n * r.inner + k * r.inner + i;
            let (m, ln_s) = row_logsumexp(|k| x[at(k)], r.n);
            let mut loss = T::zero();
            for k in 0..r.n {
                let p = t[at(k)];
                if p != T::zero() {
                    loss += p * (ln_s - (x[at(k)] - m));
                }
            }
            y.push(loss);
        }
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
