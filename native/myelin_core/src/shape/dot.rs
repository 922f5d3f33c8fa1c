//! The shape rule of `dot` (Nx.dot/2, /4 and /6).

use super::Shape;
use crate::error::{Error, Result};

/// A validated `dot`: every axis normalized, and the sizes of the batched
/// matrix product it reduces to (`batch` products of `m×k` by `k×n`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DotPlan {
    /// Contracted axes of the left operand, in pairing order.
    pub contract_a: Vec<usize>,
    /// Batch axes of the left operand, in pairing order.
    pub batch_a: Vec<usize>,
    /// The left operand's remaining axes, in order.
    pub free_a: Vec<usize>,
    /// Contracted axes of the right operand, paired with `contract_a`.
    pub contract_b: Vec<usize>,
    /// Batch axes of the right operand, paired with `batch_a`.
    pub batch_b: Vec<usize>,
    /// The right operand's remaining axes, in order.
    pub free_b: Vec<usize>,
    /// Number of independent products (product of batch dims).
    pub batch: usize,
    /// Rows: product of the left operand's free dims.
    pub m: usize,
    /// Columns: product of the right operand's free dims.
    pub n: usize,
    /// Contracted length: product of the contracted dims.
    pub k: usize,
    /// Output shape: batch dims, then `a`'s free dims, then `b`'s.
    pub out: Shape,
}

/// The default contraction of `Nx.dot/2`: the last axis of `a` with the
/// second-to-last of `b` (the only axis of a vector); nothing when either
/// is a scalar (then `dot` multiplies).
pub fn default_contraction(a: &Shape, b: &Shape) -> (Vec<i64>, Vec<i64>) {
    match (a.rank(), b.rank()) {
        (0, _) | (_, 0) => (vec![], vec![]),
        (_, 1) => (vec![-1], vec![0]),
        (_, _) => (vec![-1], vec![-2]),
    }
}

fn normalize(
    op: &str,
    shape: &Shape,
    axes: &[i64],
    what: &str,
    taken: &mut Vec<usize>,
) -> Result<Vec<usize>> {
    let mut out = Vec::with_capacity(axes.len());
    for &axis in axes {
        let a = shape.axis(op, axis)?;
        if taken.contains(&a) {
            return Err(Error::arg(
                op,
                format!("axis {axis} of shape {shape} is repeated in the {what} and batch axes"),
            ));
        }
        taken.push(a);
        out.push(a);
    }
    Ok(out)
}

/// The rule of `dot(a, contract_a, batch_a, b, contract_b, batch_b)`.
pub fn dot(
    a: &Shape,
    contract_a: &[i64],
    batch_a: &[i64],
    b: &Shape,
    contract_b: &[i64],
    batch_b: &[i64],
) -> Result<DotPlan> {
    let op = "dot";
    let mut taken_a = Vec::new();
    let batch_a = normalize(op, a, batch_a, "contraction", &mut taken_a)?;
    let contract_a = normalize(op, a, contract_a, "contraction", &mut taken_a)?;
    let mut taken_b = Vec::new();
    let batch_b = normalize(op, b, batch_b, "contraction", &mut taken_b)?;
    let contract_b = normalize(op, b, contract_b, "contraction", &mut taken_b)?;
    if contract_a.len() != contract_b.len() {
        return Err(Error::arg(
            op,
            format!(
                "expected the same number of contraction axes, got {:?} for shape {a} and {:?} for shape {b}",
                contract_a, contract_b
            ),
        ));
    }
    if batch_a.len() != batch_b.len() {
        return Err(Error::arg(
            op,
            format!(
                "expected the same number of batch axes, got {:?} for shape {a} and {:?} for shape {b}",
                batch_a, batch_b
            ),
        ));
    }
    let (da, db) = (a.dims(), b.dims());
    for (&x, &y) in contract_a.iter().zip(&contract_b) {
        if da[x] != db[y] {
            return Err(Error::arg(
                op,
                format!(
                    "cannot contract axis {x} of shape {a} (size {}) with axis {y} of shape {b} (size {})",
                    da[x], db[y]
                ),
            ));
        }
    }
    for (&x, &y) in batch_a.iter().zip(&batch_b) {
        if da[x] != db[y] {
            return Err(Error::arg(
                op,
                format!(
                    "batch axis {x} of shape {a} (size {}) does not match batch axis {y} of shape {b} (size {})",
                    da[x], db[y]
                ),
            ));
        }
    }
    let free_a: Vec<usize> = (0..a.rank()).filter(|i| !taken_a.contains(i)).collect();
    let free_b: Vec<usize> = (0..b.rank()).filter(|i| !taken_b.contains(i)).collect();
    let prod = |dims: &[usize], axes: &[usize]| axes.iter().map(|&i| dims[i]).product::<usize>();
    let mut out: Vec<usize> = batch_a.iter().map(|&i| da[i]).collect();
    out.extend(free_a.iter().map(|&i| da[i]));
    out.extend(free_b.iter().map(|&i| db[i]));
    let out = Shape::new(out);
    out.checked_size(op)?;
    Ok(DotPlan {
        batch: prod(da, &batch_a),
        m: prod(da, &free_a),
        n: prod(db, &free_b),
        k: prod(da, &contract_a),
        contract_a,
        batch_a,
        free_a,
        contract_b,
        batch_b,
        free_b,
        out,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(d: &[usize]) -> Shape {
        Shape::new(d.to_vec())
    }

    #[test]
    fn matrix_and_batched_shapes() {
        let p = dot(&s(&[2, 3]), &[1], &[], &s(&[3, 4]), &[0], &[]).unwrap();
        assert_eq!((p.batch, p.m, p.n, p.k), (1, 2, 4, 3));
        assert_eq!(p.out, s(&[2, 4]));
        let p = dot(&s(&[5, 2, 3]), &[2], &[0], &s(&[5, 3, 4]), &[1], &[0]).unwrap();
        assert_eq!((p.batch, p.m, p.n, p.k), (5, 2, 4, 3));
        assert_eq!(p.out, s(&[5, 2, 4]));
        let (ca, cb) = default_contraction(&s(&[]), &s(&[3]));
        let p = dot(&s(&[]), &ca, &[], &s(&[3]), &cb, &[]).unwrap();
        assert_eq!((p.m, p.n, p.k), (1, 3, 1));
    }

    #[test]
    fn errors_name_both_shapes() {
        let e = dot(&s(&[2, 3]), &[1], &[], &s(&[4, 2]), &[0], &[]).unwrap_err();
        assert_eq!(
            e.message(),
            "dot: cannot contract axis 1 of shape {2, 3} (size 3) with axis 0 of shape {4, 2} (size 4)"
        );
        assert!(dot(&s(&[2, 3]), &[1, 1], &[], &s(&[3, 3]), &[0, 1], &[]).is_err());
        assert!(dot(&s(&[2, 3]), &[1], &[], &s(&[3]), &[0, 0], &[]).is_err());
        assert!(dot(&s(&[2, 3]), &[1], &[0], &s(&[3, 3]), &[0], &[1]).is_err());
        assert!(dot(&s(&[2, 3]), &[2], &[], &s(&[3]), &[0], &[]).is_err());
    }
}
