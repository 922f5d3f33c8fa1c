//! `select` (choose between two tensors elementwise) and `clip`.

use crate::cast::as_type;
use crate::float::FloatElement;
use crate::unary::map_elements;
use crate::zip::zip3;
use myelin_core::ops::binary::{clip_dtype, select_dtype, select_shape};
use myelin_core::{dispatch_dtype, dispatch_float, dispatch_integer, DType, Element, Error, Result, Tensor};

/// `on_true` where `pred` is nonzero, else `on_false`, with all three
/// broadcast together. The result has the branches' merged type.
pub fn select(pred: &Tensor, on_true: &Tensor, on_false: &Tensor) -> Result<Tensor> {
    let shape = select_shape(pred.shape(), on_true.shape(), on_false.shape())?;
    let dtype = select_dtype(on_true.dtype(), on_false.dtype());
    let (on_true, on_false) = (as_type(on_true, dtype)?, as_type(on_false, dtype)?);
    // One pass turns any predicate into u8 0/1, so the main loop is only
    // instantiated once per branch type.
    let mask = match pred.dtype() {
        DType::U8 => pred.clone(),
        p => dispatch_dtype!(p, P => map_elements::<P, u8>(pred, |x| (x != P::ZERO) as u8))?,
    };
    dispatch_dtype!(dtype, T => zip3::<u8, T, T, T>(&mask, &on_true, &on_false, &shape, |p, x, y| {
        if p != 0 { x } else { y }
    }))
}

/// Clamps every element of `t` into `[min, max]` (scalar tensors). The
/// result has the merged type of all three; NaN in `t` stays NaN.
pub fn clip(t: &Tensor, min: &Tensor, max: &Tensor) -> Result<Tensor> {
    let dtype = clip_dtype(t.dtype(), (min.shape(), min.dtype()), (max.shape(), max.dtype()))?;
    let (t, min, max) = (as_type(t, dtype)?, as_type(min, dtype)?, as_type(max, dtype)?);
    dispatch_integer!(
        dtype,
        T => {
            let (lo, hi) = (scalar::<T>(&min)?, scalar::<T>(&max)?);
            map_elements::<T, T>(&t, |x| if x < lo { lo } else if x > hi { hi } else { x })
        },
        _ => dispatch_float!(dtype, T => clip_float::<T>(&t, &min, &max), _ => Err(Error::internal("clip", format!("no kernel for type {dtype}"))))
    )
}

fn clip_float<T: FloatElement>(t: &Tensor, min: &Tensor, max: &Tensor) -> Result<Tensor> {
    let (lo, hi) = (scalar::<T>(min)?.widen(), scalar::<T>(max)?.widen());
    // Compare in the compute type; comparisons with NaN are false, so NaN
    // elements pass through unchanged.
    map_elements::<T, T>(t, |x| {
        let w = x.widen();
        if w < lo {
            T::narrow(lo)
        } else if w > hi {
            T::narrow(hi)
        } else {
            x
        }
    })
}

/// The value of a one-element tensor.
fn scalar<T: Element>(t: &Tensor) -> Result<T> {
    t.as_slice::<T>()?
        .first()
        .copied()
        .ok_or_else(|| Error::internal("clip", "expected a scalar"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use myelin_core::Shape;

    fn t<T: Element>(dims: &[usize], v: Vec<T>) -> Tensor {
        Tensor::from_vec(Shape::from(dims), v).unwrap()
    }

    #[test]
    fn select_broadcasts_all_three_and_merges_types() {
        let pred = t(&[2, 1], vec![1.5f32, 0.0]);
        let on_true = t(&[3], vec![1u8, 2, 3]);
        let on_false = t(&[], vec![-1i8]);
        let r = select(&pred, &on_true, &on_false).unwrap();
        assert_eq!(r.dtype(), DType::S16);
        assert_eq!(r.dims(), &[2, 3]);
        assert_eq!(r.as_slice::<i16>().unwrap(), &[1, 2, 3, -1, -1, -1]);
        let same = select(&t(&[3], vec![0u8, 7, 0]), &on_true, &t(&[3], vec![9u8, 9, 9])).unwrap();
        assert_eq!(same.as_slice::<u8>().unwrap(), &[9, 2, 9]);
        let e = select(&t(&[4], vec![0u8; 4]), &on_true, &on_false).unwrap_err();
        assert!(e
            .message()
            .starts_with("select: cannot broadcast the predicate of shape {4}"));
    }

    #[test]
    fn clip_clamps_and_keeps_nan() {
        let x = t(&[4], vec![-5i32, 0, 5, 10]);
        let r = clip(&x, &t(&[], vec![0i32]), &t(&[], vec![6i32])).unwrap();
        assert_eq!(r.as_slice::<i32>().unwrap(), &[0, 0, 5, 6]);
        let f = t(&[3], vec![f32::NAN, -2.0, 2.0]);
        let r = clip(&f, &t(&[], vec![-1.0f32]), &t(&[], vec![1.0f32])).unwrap();
        let v = r.as_slice::<f32>().unwrap();
        assert!(v[0].is_nan());
        assert_eq!(&v[1..], &[-1.0, 1.0]);
        assert!(clip(&x, &t(&[1], vec![0i32]), &t(&[], vec![1i32])).is_err());
    }
}
