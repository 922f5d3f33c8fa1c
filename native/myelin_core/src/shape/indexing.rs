//! Shape rules of the indexing ops (gather, take, take_along_axis,
//! indexed_add, indexed_put) and of sort/argsort.

use super::Shape;
use crate::dtype::DType;
use crate::error::{Error, Result};

/// Indices must be integers.
pub fn check_indices_type(op: &str, dtype: DType) -> Result<()> {
    if dtype.is_integer() {
        Ok(())
    } else {
        Err(Error::arg(
            op,
            format!("expected indices of an integer type, got {dtype}"),
        ))
    }
}

/// The rule of `gather` (and the index shape of `indexed_add`/`indexed_put`):
/// `indices` has shape `{..., k}` with `1 <= k <= rank`, and each index
/// vector addresses the leading `k` axes of `shape`. The output is
/// `indices.shape[..-1] ++ shape[k..]`. Returns the output shape and `k`.
pub fn gather(op: &str, shape: &Shape, indices: &Shape) -> Result<(Shape, usize)> {
    let k = indices.dims().last().copied().unwrap_or(0);
    if indices.rank() == 0 || k == 0 || k > shape.rank() {
        return Err(Error::arg(
            op,
            format!(
                "expected indices of shape {{..., k}} with k from 1 to the rank of the tensor ({}), got indices of shape {indices} for a tensor of shape {shape}",
                shape.rank()
            ),
        ));
    }
    let mut dims = indices.dims()[..indices.rank() - 1].to_vec();
    dims.extend_from_slice(&shape.dims()[k..]);
    Ok((Shape::new(dims), k))
}

/// The rule of `indexed_add`/`indexed_put`: indices as for [`gather`], and
/// `updates` must have the shape gather would return.
pub fn indexed(op: &str, shape: &Shape, indices: &Shape, updates: &Shape) -> Result<usize> {
    let (expected, k) = gather(op, shape, indices)?;
    if &expected != updates {
        return Err(Error::arg(
            op,
            format!(
                "expected updates of shape {expected} for indices of shape {indices} into a tensor of shape {shape}, got {updates}"
            ),
        ));
    }
    Ok(k)
}

/// The rule of `take`: the output replaces `axis` by the indices' dimensions.
pub fn take(shape: &Shape, indices: &Shape, axis: i64) -> Result<(Shape, usize)> {
    let a = shape.axis("take", axis)?;
    let mut dims = shape.dims()[..a].to_vec();
    dims.extend_from_slice(indices.dims());
    dims.extend_from_slice(&shape.dims()[a + 1..]);
    Ok((Shape::new(dims), a))
}

/// The rule of `take_along_axis`: indices have the tensor's rank and its
/// dimensions except on `axis`; the output has the indices' shape.
pub fn take_along_axis(shape: &Shape, indices: &Shape, axis: i64) -> Result<usize> {
    let a = shape.axis("take_along_axis", axis)?;
    let ok = indices.rank() == shape.rank()
        && (0..shape.rank()).all(|i| i == a || indices.dims()[i] == shape.dims()[i]);
    if !ok {
        return Err(Error::arg(
            "take_along_axis",
            format!(
                "expected indices of the same shape as the tensor {shape} except on axis {a}, got {indices}"
            ),
        ));
    }
    Ok(a)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(d: &[usize]) -> Shape {
        Shape::from(d)
    }

    #[test]
    fn gather_shapes() {
        assert_eq!(gather("gather", &s(&[3, 4]), &s(&[5, 2])).unwrap(), (s(&[5]), 2));
        assert_eq!(
            gather("gather", &s(&[3, 4]), &s(&[5, 1])).unwrap(),
            (s(&[5, 4]), 1)
        );
        assert!(gather("gather", &s(&[3, 4]), &s(&[5, 3])).is_err());
        assert!(gather("gather", &s(&[3, 4]), &s(&[])).is_err());
        assert!(indexed("indexed_add", &s(&[3]), &s(&[2, 1]), &s(&[3])).is_err());
        assert_eq!(take(&s(&[3, 4]), &s(&[2, 2]), -1).unwrap(), (s(&[3, 2, 2]), 1));
        assert!(take_along_axis(&s(&[3, 4]), &s(&[3, 2]), 1).is_ok());
        assert!(take_along_axis(&s(&[3, 4]), &s(&[2, 2]), 1).is_err());
        assert!(check_indices_type("take", DType::F32).is_err());
    }
}
