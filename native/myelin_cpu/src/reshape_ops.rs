//! Data-movement ops: transpose, squeeze, new_axis, broadcast, slice,
//! put_slice, concatenate, stack, pad and reverse. Each asks the shape rule
//! in `myelin_core::shape::transform` for a view and copies through
//! [`crate::layout`]. Element type does not matter to a copy, so each op
//! is dispatched on the dtype once, with no per-type code.

use crate::cast::as_type;
use crate::layout::{copy_strided, materialize};
use myelin_core::shape::{transform, View};
use myelin_core::{dispatch_dtype, DType, Element, Error, Result, Shape, Tensor};

/// Copies `t` through `view` into a new dense tensor.
fn copy_view(t: &Tensor, view: &View) -> Result<Tensor> {
    dispatch_dtype!(t.dtype(), T => materialize::<T>(t, view))
}

/// Permutes the axes (`axes[i]` is the input axis that becomes axis `i`;
/// default: reversed).
pub fn transpose(t: &Tensor, axes: Option<&[i64]>) -> Result<Tensor> {
    copy_view(t, &transform::transpose(t.shape(), axes)?)
}

/// Removes axes of size 1 (`axes`, or all of them). No copy.
pub fn squeeze(t: &Tensor, axes: Option<&[i64]>) -> Result<Tensor> {
    t.reshape(transform::squeeze(t.shape(), axes)?)
}

/// Inserts an axis of size 1 at `axis`. No copy.
pub fn new_axis(t: &Tensor, axis: i64) -> Result<Tensor> {
    t.reshape(transform::new_axis("new_axis", t.shape(), axis)?)
}

/// Broadcasts `t` to `shape`, mapping input axis `i` to `axes[i]`
/// (default: right-aligned).
pub fn broadcast(t: &Tensor, shape: &Shape, axes: Option<&[i64]>) -> Result<Tensor> {
    copy_view(t, &transform::broadcast(t.shape(), shape, axes)?)
}

/// Nx's `slice`: starts are clamped so the slice fits; `strides` defaults to 1s.
pub fn slice(t: &Tensor, starts: &[i64], lengths: &[i64], strides: Option<&[i64]>) -> Result<Tensor> {
    let ones = vec![1; t.shape().rank()];
    copy_view(
        t,
        &transform::slice(t.shape(), starts, lengths, strides.unwrap_or(&ones))?,
    )
}

/// Reverses `axes` (default: all).
pub fn reverse(t: &Tensor, axes: Option<&[i64]>) -> Result<Tensor> {
    copy_view(t, &transform::reverse(t.shape(), axes)?)
}

/// Writes `slice` into a copy of `t` at `starts` (clamped so it fits). The
/// output type merges both types.
pub fn put_slice(t: &Tensor, starts: &[i64], slice: &Tensor) -> Result<Tensor> {
    let dst = transform::put_slice(t.shape(), slice.shape(), starts)?;
    let dtype = t.dtype().merge(slice.dtype());
    let (t, slice) = (as_type(t, dtype)?, as_type(slice, dtype)?);
    dispatch_dtype!(dtype, T => {
        let mut out = t.as_slice::<T>()?.to_vec();
        copy_strided(slice.as_slice::<T>()?, &View::dense(slice.shape()), &mut out, &dst);
        Tensor::from_vec(t.shape().clone(), out)
    })
}

/// Joins tensors along `axis`; the output type merges all their types.
pub fn concatenate(ts: &[Tensor], axis: i64) -> Result<Tensor> {
    let shapes: Vec<&Shape> = ts.iter().map(|t| t.shape()).collect();
    let (shape, axis) = transform::concatenate(&shapes, axis)?;
    let dtype = ts
        .iter()
        .map(|t| t.dtype())
        .reduce(DType::merge)
        .unwrap_or(DType::F32);
    dispatch_dtype!(dtype, T => concat_typed::<T>(ts, shape, axis))
}

fn concat_typed<T: Element>(ts: &[Tensor], shape: Shape, axis: usize) -> Result<Tensor> {
    let mut out = vec![T::ZERO; shape.checked_size("concatenate")?];
    let dense = View::dense(&shape);
    let ones = vec![1; shape.rank()];
    let mut starts = vec![0; shape.rank()];
    for t in ts {
        let t = as_type(t, T::DTYPE)?;
        let dst = dense.slice(&starts, t.dims(), &ones);
        copy_strided(t.as_slice::<T>()?, &View::dense(t.shape()), &mut out, &dst);
        starts[axis] += t.dims()[axis];
    }
    Tensor::from_vec(shape, out)
}

/// Joins tensors of one shape along a new axis `axis`.
pub fn stack(ts: &[Tensor], axis: i64) -> Result<Tensor> {
    let first = ts
        .first()
        .ok_or_else(|| Error::arg("stack", "expected a non-empty list of tensors"))?;
    if let Some(t) = ts.iter().find(|t| t.shape() != first.shape()) {
        return Err(Error::arg(
            "stack",
            format!(
                "expected all tensors to have the same shape, got {} and {}",
                first.shape(),
                t.shape()
            ),
        ));
    }
    let shape = transform::new_axis("stack", first.shape(), axis)?;
    let ts = ts
        .iter()
        .map(|t| t.reshape(shape.clone()))
        .collect::<Result<Vec<_>>>()?;
    // new_axis accepted the axis, so its position in the new shape is valid.
    let pos = if axis < 0 {
        axis + shape.rank() as i64
    } else {
        axis
    };
    concatenate(&ts, pos)
}

/// Pads with `value` (a scalar tensor): `(low, high, interior)` per axis;
/// negative low/high crop. The output type merges `t`'s and `value`'s.
pub fn pad(t: &Tensor, value: &Tensor, config: &[(i64, i64, i64)]) -> Result<Tensor> {
    if value.size() != 1 {
        return Err(Error::arg(
            "pad",
            format!(
                "expected a scalar pad value, got a tensor of shape {}",
                value.shape()
            ),
        ));
    }
    let plan = transform::pad(t.shape(), config)?;
    let dtype = t.dtype().merge(value.dtype());
    let (t, value) = (as_type(t, dtype)?, as_type(value, dtype)?);
    dispatch_dtype!(dtype, T => {
        let fill = value.as_slice::<T>()?[0];
        let mut out = vec![fill; plan.shape.checked_size("pad")?];
        copy_strided(t.as_slice::<T>()?, &plan.src, &mut out, &plan.dst);
        Tensor::from_vec(plan.shape, out)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use half::bf16;

    fn iota(dims: &[usize]) -> Tensor {
        let s = Shape::from(dims);
        Tensor::from_vec(s.clone(), (0..s.size() as i64).collect()).unwrap()
    }

    fn vals(t: &Tensor) -> Vec<i64> {
        t.as_slice::<i64>().unwrap().to_vec()
    }

    #[test]
    fn movement() {
        let t = iota(&[2, 3]);
        assert_eq!(vals(&transpose(&t, None).unwrap()), vec![0, 3, 1, 4, 2, 5]);
        assert_eq!(vals(&reverse(&t, Some(&[-1])).unwrap()), vec![2, 1, 0, 5, 4, 3]);
        let b = broadcast(&iota(&[2]), &Shape::new(vec![2, 2]), Some(&[0])).unwrap();
        assert_eq!(vals(&b), vec![0, 0, 1, 1]);
        let s = slice(&iota(&[6]), &[5], &[2], None).unwrap();
        assert_eq!(vals(&s), vec![4, 5]);
        let s = slice(&t, &[0, 0], &[2, 3], Some(&[1, 2])).unwrap();
        assert_eq!(vals(&s), vec![0, 2, 3, 5]);
        assert_eq!(squeeze(&iota(&[1, 3, 1]), None).unwrap().dims(), &[3]);
        assert_eq!(new_axis(&t, -1).unwrap().dims(), &[2, 3, 1]);
    }

    #[test]
    fn writes_and_joins() {
        let s = Tensor::from_vec(Shape::new(vec![2]), vec![1.5f32, 2.5]).unwrap();
        let p = put_slice(&iota(&[4]), &[3], &s).unwrap();
        assert_eq!(p.as_slice::<f32>().unwrap(), &[0.0, 1.0, 1.5, 2.5]);
        let c = concatenate(&[iota(&[2, 1]), iota(&[2, 2])], 1).unwrap();
        assert_eq!(vals(&c), vec![0, 0, 1, 1, 2, 3]);
        let st = stack(&[iota(&[2]), iota(&[2])], -1).unwrap();
        assert_eq!((st.dims().to_vec(), vals(&st)), (vec![2, 2], vec![0, 0, 1, 1]));
        let st = stack(&[iota(&[2]), iota(&[2])], 0).unwrap();
        assert_eq!((st.dims().to_vec(), vals(&st)), (vec![2, 2], vec![0, 1, 0, 1]));
        assert!(stack(&[iota(&[2]), iota(&[3])], 0).is_err());
    }

    #[test]
    fn pads() {
        let v = Tensor::from_vec(Shape::scalar(), vec![9i64]).unwrap();
        let p = pad(&iota(&[3]), &v, &[(1, 2, 1)]).unwrap();
        assert_eq!(vals(&p), vec![9, 0, 9, 1, 9, 2, 9, 9]);
        let p = pad(&iota(&[2, 3]), &v, &[(0, 0, 0), (-1, 1, 0)]).unwrap();
        assert_eq!(vals(&p), vec![1, 2, 9, 4, 5, 9]);
        let h = Tensor::from_vec(Shape::scalar(), vec![bf16::ONE]).unwrap();
        let p = pad(&iota(&[0]), &h, &[(1, 1, 3)]).unwrap();
        assert_eq!(p.as_slice::<bf16>().unwrap(), &[bf16::ONE, bf16::ONE]);
    }
}
