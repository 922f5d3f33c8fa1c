//! Cumulative (inclusive scan) ops along one axis: `cumulative_sum`,
//! `cumulative_product`, `cumulative_min`, `cumulative_max`. The output has
//! the input's type; floats accumulate in the compute type (f32 for
//! halves), integers wrap.

use crate::float::FloatElement;
use crate::parallel::{for_each_chunk_mut, ELEMENTWISE_GRAIN};
use crate::reducers::pick;
use myelin_core::ops::CumulativeOp;
use myelin_core::{dispatch_dtype, dispatch_float, dispatch_integer, Element, Result, Tensor};
use num_traits::{WrappingAdd, WrappingMul};

/// Scans `t` along `axis` (from the end when `reverse`).
pub fn cumulative(op: CumulativeOp, t: &Tensor, axis: i64, reverse: bool) -> Result<Tensor> {
    use CumulativeOp::*;
    if t.shape().rank() == 0 {
        // Nx treats a scalar's scan as the scalar itself (axis 0 must still
        // be a valid axis for rank >= 1 inputs).
        return Ok(t.clone());
    }
    let axis = t.shape().axis(op.name(), axis)?;
    let dims = t.dims();
    let lay = (
        dims[..axis].iter().product::<usize>(),
        dims[axis],
        dims[axis + 1..].iter().product::<usize>(),
    );
    let dt = t.dtype();
    macro_rules! scan_with {
        ($T:ty, $C:ty, $widen:expr, $narrow:expr, $f:expr) => {
            scan::<$T, $C>(t, lay, reverse, $widen, $narrow, $f)
        };
    }
    match op {
        CumulativeMin => dispatch_dtype!(dt, T => scan_with!(T, T, |x| x, |x| x, pick::<T, false>)),
        CumulativeMax => dispatch_dtype!(dt, T => scan_with!(T, T, |x| x, |x| x, pick::<T, true>)),
        CumulativeSum | CumulativeProduct => dispatch_integer!(dt, T => match op {
                CumulativeSum => scan_with!(T, T, |x| x, |x| x, |a: T, b: T| WrappingAdd::wrapping_add(&a, &b)),
                _ => scan_with!(T, T, |x| x, |x| x, |a: T, b: T| WrappingMul::wrapping_mul(&a, &b)),
            },
            _ => dispatch_float!(dt, T => match op {
                CumulativeSum => scan_with!(T, <T as FloatElement>::Compute, T::widen, T::narrow, |a, b| a + b),
                _ => scan_with!(T, <T as FloatElement>::Compute, T::widen, T::narrow, |a, b| a * b),
            }, _ => Ok(t.clone()))
        ),
    }
}

/// The scan skeleton over the `(outer, n, inner)` view: each outer slice is
/// independent (parallel across them); within one, rows are combined
/// element-wise so the inner loop reads contiguous memory.
fn scan<T: Element, C: Element>(
    t: &Tensor,
    (outer, n, inner): (usize, usize, usize),
    reverse: bool,
    widen: impl Fn(T) -> C + Sync,
    narrow: impl Fn(C) -> T + Sync,
    f: impl Fn(C, C) -> C + Sync,
) -> Result<Tensor> {
    let x = t.as_slice::<T>()?;
    let mut out = vec![T::ZERO; x.len()];
    let slab = n * inner;
    if slab > 0 && outer > 0 {
        // Chunks are whole slabs: the grain is rounded to a slab multiple.
        let grain = ELEMENTWISE_GRAIN.div_ceil(slab).max(1) * slab;
        for_each_chunk_mut(&mut out, grain.min(outer * slab), |start, chunk| {
            let mut acc: Vec<C> = vec![C::ZERO; inner];
            for (s, dst) in chunk.chunks_mut(slab).enumerate() {
                let base = start + s * slab;
                for step in 0..n {
                    let r = if reverse { n - 1 - step } else { step };
                    let src = &x[base + r * inner..base + (r + 1) * inner];
                    let dst_row = &mut dst[r * inner..(r + 1) * inner];
                    for ((a, d), &v) in acc.iter_mut().zip(dst_row.iter_mut()).zip(src) {
                        *a = if step == 0 { widen(v) } else { f(*a, widen(v)) };
                        *d = narrow(*a);
                    }
                }
            }
        });
    }
    Tensor::from_vec(t.shape().clone(), out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use myelin_core::Shape;

    fn t<T: Element>(dims: &[usize], v: Vec<T>) -> Tensor {
        Tensor::from_vec(Shape::new(dims.to_vec()), v).unwrap()
    }

    #[test]
    fn scans() {
        let x = t(&[2, 3], vec![1i32, 2, 3, 4, 5, 6]);
        let s = cumulative(CumulativeOp::CumulativeSum, &x, 0, false).unwrap();
        assert_eq!(s.as_slice::<i32>().unwrap(), &[1, 2, 3, 5, 7, 9]);
        let s = cumulative(CumulativeOp::CumulativeSum, &x, 1, true).unwrap();
        assert_eq!(s.as_slice::<i32>().unwrap(), &[6, 5, 3, 15, 11, 6]);
        let p = cumulative(CumulativeOp::CumulativeProduct, &x, -1, false).unwrap();
        assert_eq!(p.as_slice::<i32>().unwrap(), &[1, 2, 6, 4, 20, 120]);
        let x = t(&[4], vec![3.0f32, 1.0, f32::NAN, 0.0]);
        let m = cumulative(CumulativeOp::CumulativeMin, &x, 0, false).unwrap();
        let m = m.as_slice::<f32>().unwrap();
        assert_eq!(&m[..2], &[3.0, 1.0]);
        assert!(m[2].is_nan() && m[3].is_nan());
        assert!(cumulative(CumulativeOp::CumulativeMax, &x, 1, false).is_err());
        let big = t(&[3, 1 << 16], vec![1u8; 3 << 16]);
        let s = cumulative(CumulativeOp::CumulativeSum, &big, 0, false).unwrap();
        assert_eq!(s.as_slice::<u8>().unwrap()[(2 << 16) + 5], 3);
    }
}
