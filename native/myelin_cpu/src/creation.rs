//! Tensors built from nothing: iota, eye, and seeded random numbers.

use crate::parallel::{for_each_chunk_mut, ELEMENTWISE_GRAIN};
use myelin_core::{dispatch_dtype, DType, Element, Error, Result, Shape, Tensor};

/// Counts up along `axis` (or over the flattened tensor when `axis` is
/// `None`), as Nx's `iota`.
pub fn iota(dtype: DType, shape: &Shape, axis: Option<i64>) -> Result<Tensor> {
    shape.checked_size("iota")?;
    // Element i's value is (i / inner) % dim, with inner the product of the
    // dimensions after `axis`.
    let (inner, dim) = match axis {
        Some(a) => {
            let a = shape.axis("iota", a)?;
            (shape.dims()[a + 1..].iter().product::<usize>(), shape.dims()[a])
        }
        None => (1, shape.size().max(1)),
    };
    dispatch_dtype!(dtype, T => generate::<T>(shape, |i| T::from_i128(((i / inner) % dim) as i128)))
}

/// An identity matrix, or a batch of them: ones where the last two indices
/// are equal (Nx's `eye`). The shape must have rank 2 or more.
pub fn eye(dtype: DType, shape: &Shape) -> Result<Tensor> {
    shape.checked_size("eye")?;
    if shape.rank() < 2 {
        return Err(Error::arg(
            "eye",
            format!("expected a shape of rank 2 or more, got {shape}"),
        ));
    }
    let cols = shape.dims()[shape.rank() - 1];
    let rows = shape.dims()[shape.rank() - 2];
    dispatch_dtype!(dtype, T => generate::<T>(shape, |i| {
        let (r, c) = ((i / cols) % rows, i % cols);
        if r == c { T::ONE } else { T::ZERO }
    }))
}

/// A tensor whose element `i` (in row-major order) is `f(i)`.
pub(crate) fn generate<T: Element>(shape: &Shape, f: impl Fn(usize) -> T + Sync) -> Result<Tensor> {
    let mut out = vec![T::ZERO; shape.size()];
    for_each_chunk_mut(&mut out, ELEMENTWISE_GRAIN, |offset, chunk| {
        for (j, y) in chunk.iter_mut().enumerate() {
            *y = f(offset + j);
        }
    });
    Tensor::from_vec(shape.clone(), out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn iota_along_axes() {
        let s = Shape::new(vec![2, 3]);
        let flat = iota(DType::S64, &s, None).unwrap();
        assert_eq!(flat.as_slice::<i64>().unwrap(), &[0, 1, 2, 3, 4, 5]);
        let a0 = iota(DType::S64, &s, Some(0)).unwrap();
        assert_eq!(a0.as_slice::<i64>().unwrap(), &[0, 0, 0, 1, 1, 1]);
        let a1 = iota(DType::F32, &s, Some(-1)).unwrap();
        assert_eq!(a1.as_slice::<f32>().unwrap(), &[0.0, 1.0, 2.0, 0.0, 1.0, 2.0]);
        assert!(iota(DType::F32, &s, Some(2)).is_err());
    }

    #[test]
    fn eye_batches() {
        let e = eye(DType::U8, &Shape::new(vec![2, 2, 3])).unwrap();
        assert_eq!(e.as_slice::<u8>().unwrap(), &[1, 0, 0, 0, 1, 0, 1, 0, 0, 0, 1, 0]);
        assert!(eye(DType::U8, &Shape::new(vec![3])).is_err());
    }
}
