//! `argmin` / `argmax`: the index of the extreme element along one axis (or
//! of the flattened tensor), as `{:s, 64}`. NaN counts as the extreme, and
//! `tie_break` picks the first or last of equal extremes.

use crate::parallel::{for_each_chunk_mut, ELEMENTWISE_GRAIN};
use myelin_core::ops::{ArgReduceOp, TieBreak};
use myelin_core::shape::reduce::arg_reduce as arg_rule;
use myelin_core::{dispatch_dtype, Element, Error, Result, Tensor};

/// The index of the smallest or largest element along `axis`.
pub fn arg_reduce(
    op: ArgReduceOp,
    t: &Tensor,
    axis: Option<i64>,
    tie: TieBreak,
    keep_axis: bool,
) -> Result<Tensor> {
    let (axis, out_shape) = arg_rule(op.name(), t.shape(), axis, keep_axis)?;
    let dims = t.dims();
    let (outer, red, inner) = match axis {
        Some(a) => (
            dims[..a].iter().product(),
            dims[a],
            dims[a + 1..].iter().product(),
        ),
        None => (1, t.size(), 1),
    };
    if red == 0 && out_shape.size() > 0 {
        return Err(Error::arg(
            op.name(),
            format!(
                "cannot take the index of an extreme of zero elements (shape {})",
                t.shape()
            ),
        ));
    }
    let max = op == ArgReduceOp::Argmax;
    let out = dispatch_dtype!(t.dtype(), T => match (max, tie) {
        (true, TieBreak::Low) => kernel::<T, true, false>(t.as_slice::<T>()?, outer, red, inner),
        (true, TieBreak::High) => kernel::<T, true, true>(t.as_slice::<T>()?, outer, red, inner),
        (false, TieBreak::Low) => kernel::<T, false, false>(t.as_slice::<T>()?, outer, red, inner),
        (false, TieBreak::High) => kernel::<T, false, true>(t.as_slice::<T>()?, outer, red, inner),
    });
    Tensor::from_vec(out_shape, out)
}

/// True if `x` should replace the current best `best`.
#[inline(always)]
#[allow(clippy::eq_op)]
fn better<T: Element, const MAX: bool, const HIGH: bool>(x: T, best: T) -> bool {
    // `v != v` is the generic NaN test: never true for integers.
    let (x_nan, best_nan) = (x != x, best != best);
    if best_nan {
        HIGH && x_nan
    } else if x_nan {
        true
    } else if HIGH {
        if MAX {
            x >= best
        } else {
            x <= best
        }
    } else if MAX {
        x > best
    } else {
        x < best
    }
}

fn kernel<T: Element, const MAX: bool, const HIGH: bool>(
    x: &[T],
    outer: usize,
    red: usize,
    inner: usize,
) -> Vec<i64> {
    let mut out = vec![0i64; outer * inner];
    let grain = (ELEMENTWISE_GRAIN / red.max(1)).max(1);
    for_each_chunk_mut(&mut out, grain, |start, chunk| {
        let mut pos = 0;
        while pos < chunk.len() {
            let (o, i0) = ((start + pos) / inner, (start + pos) % inner);
            let n = (inner - i0).min(chunk.len() - pos);
            let idx = &mut chunk[pos..pos + n];
            // Row 0 starts as the best; later rows replace it element-wise,
            // reading contiguous memory when inner > 1.
            let row = |r: usize| {
                let s = (o * red + r) * inner + i0;
                &x[s..s + n]
            };
            let mut best: Vec<T> = row(0).to_vec();
            for r in 1..red {
                for ((b, i), &v) in best.iter_mut().zip(idx.iter_mut()).zip(row(r)) {
                    if better::<T, MAX, HIGH>(v, *b) {
                        *b = v;
                        *i = r as i64;
                    }
                }
            }
            pos += n;
        }
    });
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use myelin_core::Shape;

    fn t<T: Element>(dims: &[usize], v: Vec<T>) -> Tensor {
        Tensor::from_vec(Shape::new(dims.to_vec()), v).unwrap()
    }

    #[test]
    fn ties_nan_and_axes() {
        let x = t(&[5], vec![1i32, 3, 0, 3, 0]);
        let am = |op, tie| {
            arg_reduce(op, &x, None, tie, false)
                .unwrap()
                .as_slice::<i64>()
                .unwrap()[0]
        };
        assert_eq!(am(ArgReduceOp::Argmax, TieBreak::Low), 1);
        assert_eq!(am(ArgReduceOp::Argmax, TieBreak::High), 3);
        assert_eq!(am(ArgReduceOp::Argmin, TieBreak::Low), 2);
        assert_eq!(am(ArgReduceOp::Argmin, TieBreak::High), 4);
        let x = t(&[4], vec![2.0f32, f32::NAN, 5.0, f32::NAN]);
        for op in [ArgReduceOp::Argmax, ArgReduceOp::Argmin] {
            let r = arg_reduce(op, &x, Some(0), TieBreak::Low, false).unwrap();
            assert_eq!(r.as_slice::<i64>().unwrap(), &[1]);
            let r = arg_reduce(op, &x, Some(0), TieBreak::High, false).unwrap();
            assert_eq!(r.as_slice::<i64>().unwrap(), &[3]);
        }
        let x = t(&[2, 3], vec![1u8, 9, 2, 8, 0, 7]);
        let r = arg_reduce(ArgReduceOp::Argmax, &x, Some(0), TieBreak::Low, true).unwrap();
        assert_eq!(
            (r.dims(), r.as_slice::<i64>().unwrap()),
            (&[1, 3][..], &[1i64, 0, 1][..])
        );
        let r = arg_reduce(ArgReduceOp::Argmin, &x, Some(-1), TieBreak::Low, false).unwrap();
        assert_eq!(r.as_slice::<i64>().unwrap(), &[0, 1]);
        assert!(arg_reduce(
            ArgReduceOp::Argmax,
            &t::<u8>(&[0], vec![]),
            None,
            TieBreak::Low,
            false
        )
        .is_err());
    }
}
