//! `as_type`: elementwise conversion between dtypes.

use crate::unary::map_elements;
use myelin_core::{dispatch_dtype, DType, Element, Error, Result, Tensor};

/// Converts every element to `dtype` with Nx's semantics (integers wrap,
/// floats truncate toward zero when cast to integers, saturating; NaN
/// becomes 0). Returns the input itself (no copy) when the type already matches.
pub fn as_type(t: &Tensor, dtype: DType) -> Result<Tensor> {
    if t.dtype() == dtype {
        return Ok(t.clone());
    }
    dispatch_dtype!(t.dtype(), S => dispatch_dtype!(dtype, D => cast_typed::<S, D>(t)))
}

/// Reinterprets the bits of every element as `dtype`, which must have the
/// same width (Nx's `bitcast`).
pub fn bitcast(t: &Tensor, dtype: DType) -> Result<Tensor> {
    if t.dtype().bits() != dtype.bits() {
        return Err(Error::arg(
            "bitcast",
            format!(
                "cannot bitcast a tensor of type {} to type {}: the bit widths differ",
                t.dtype(),
                dtype
            ),
        ));
    }
    Tensor::from_bytes(dtype, t.shape().clone(), t.as_bytes()?)
}

fn cast_typed<S: Element, D: Element>(t: &Tensor) -> Result<Tensor> {
    map_elements::<S, D>(t, |x| x.cast::<D>())
}

#[cfg(test)]
mod tests {
    use super::*;
    use myelin_core::Shape;

    #[test]
    fn casts_between_families() {
        let t = Tensor::from_vec(Shape::new(vec![3]), vec![-1.5f32, 2.7, 300.0]).unwrap();
        let i = as_type(&t, DType::S32).unwrap();
        assert_eq!(i.as_slice::<i32>().unwrap(), &[-1, 2, 300]);
        let u = as_type(&i, DType::U8).unwrap();
        assert_eq!(u.as_slice::<u8>().unwrap(), &[255, 2, 44]);
        let same = as_type(&t, DType::F32).unwrap();
        assert_eq!(same.as_slice::<f32>().unwrap(), t.as_slice::<f32>().unwrap());
    }

    #[test]
    fn bitcast_keeps_bits() {
        let t = Tensor::from_vec(Shape::new(vec![1]), vec![1.0f32]).unwrap();
        let b = bitcast(&t, DType::U32).unwrap();
        assert_eq!(b.as_slice::<u32>().unwrap(), &[0x3f80_0000]);
        assert!(bitcast(&t, DType::F64).is_err());
    }
}
