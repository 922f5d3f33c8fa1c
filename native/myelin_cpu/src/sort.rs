//! `sort` and `argsort` along an axis: stable, NaN last in ascending order
//! (first in descending), rows sorted in parallel.
//!
//! The sorted axis is first moved last with a strided copy, so every row is
//! contiguous; rows are independent and split across cores; the result is
//! moved back.

use crate::layout::{for_each_rows_mut, materialize};
use crate::parallel::ELEMENTWISE_GRAIN;
use myelin_core::shape::View;
use myelin_core::{dispatch_dtype, Element, Result, Shape, Tensor};
use std::cmp::Ordering;

/// Sort direction (Nx's `:asc` / `:desc`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Direction {
    /// Smallest first, NaN last.
    Asc,
    /// Largest first, NaN first.
    Desc,
}

/// Ascending total order with NaN above everything (NaN is the only value
/// not equal to itself).
#[inline]
#[allow(clippy::eq_op)]
fn cmp_asc<T: PartialOrd>(a: &T, b: &T) -> Ordering {
    a.partial_cmp(b).unwrap_or_else(|| (a != a).cmp(&(b != b)))
}

/// Sorts `t` along `axis`.
pub fn sort(t: &Tensor, axis: i64, dir: Direction) -> Result<Tensor> {
    let a = t.shape().axis("sort", axis)?;
    dispatch_dtype!(t.dtype(), T => along_axis::<T, T>(t, a, |row, out| {
        out.copy_from_slice(row);
        match dir {
            Direction::Asc => out.sort_by(cmp_asc),
            Direction::Desc => out.sort_by(|x, y| cmp_asc(y, x)),
        }
    }))
}

/// The positions that would sort `t` along `axis` (stable), as s64.
pub fn argsort(t: &Tensor, axis: i64, dir: Direction) -> Result<Tensor> {
    let a = t.shape().axis("argsort", axis)?;
    dispatch_dtype!(t.dtype(), T => along_axis::<T, i64>(t, a, |row, out| {
        let mut idx: Vec<usize> = (0..row.len()).collect();
        match dir {
            Direction::Asc => idx.sort_by(|&x, &y| cmp_asc(&row[x], &row[y])),
            Direction::Desc => idx.sort_by(|&x, &y| cmp_asc(&row[y], &row[x])),
        }
        for (o, i) in out.iter_mut().zip(idx) {
            *o = i as i64;
        }
    }))
}

/// Applies `f(input_row, output_row)` to every row along `axis`.
fn along_axis<T: Element, U: Element>(
    t: &Tensor,
    axis: usize,
    f: impl Fn(&[T], &mut [U]) + Sync,
) -> Result<Tensor> {
    let rank = t.shape().rank();
    let mut perm: Vec<usize> = (0..rank).filter(|&i| i != axis).collect();
    perm.push(axis);
    let moved = if axis + 1 == rank {
        t.clone()
    } else {
        materialize::<T>(t, &View::dense(t.shape()).permute(&perm))?
    };
    let n = t.dims()[axis];
    let src = moved.as_slice::<T>()?;
    let mut out = vec![U::ZERO; src.len()];
    for_each_rows_mut(&mut out, n, ELEMENTWISE_GRAIN, |first, rows| {
        for (r, row) in rows.chunks_mut(n).enumerate() {
            f(&src[(first + r) * n..(first + r + 1) * n], row);
        }
    });
    let out = Tensor::from_vec(moved.shape().clone(), out)?;
    if axis + 1 == rank {
        return Ok(out);
    }
    let mut inverse = vec![0; rank];
    for (i, &p) in perm.iter().enumerate() {
        inverse[p] = i;
    }
    let back = View::dense(out.shape()).permute(&inverse);
    debug_assert_eq!(Shape::new(back.dims.clone()), *t.shape());
    materialize::<U>(&out, &back)
}

#[cfg(test)]
mod tests {
    use super::*;
    use half::bf16;

    #[test]
    fn sorts_with_nan_last_and_stably() {
        let t = Tensor::from_vec(Shape::new(vec![5]), vec![3.0f32, f32::NAN, -1.0, 3.0, 0.0]).unwrap();
        let s = sort(&t, 0, Direction::Asc).unwrap();
        let v = s.as_slice::<f32>().unwrap();
        assert_eq!(&v[..4], &[-1.0, 0.0, 3.0, 3.0]);
        assert!(v[4].is_nan());
        let a = argsort(&t, 0, Direction::Asc).unwrap();
        assert_eq!(a.as_slice::<i64>().unwrap(), &[2, 4, 0, 3, 1]);
        let d = argsort(&t, -1, Direction::Desc).unwrap();
        assert_eq!(d.as_slice::<i64>().unwrap(), &[1, 0, 3, 4, 2]);
    }

    #[test]
    fn sorts_along_inner_axes() {
        let t = Tensor::from_vec(Shape::new(vec![2, 3]), vec![3i64, 1, 2, 0, 5, 4]).unwrap();
        let s = sort(&t, 0, Direction::Desc).unwrap();
        assert_eq!(s.as_slice::<i64>().unwrap(), &[3, 5, 4, 0, 1, 2]);
        let h: Vec<bf16> = [2.0f32, 1.0].iter().map(|&x| bf16::from_f32(x)).collect();
        let h = Tensor::from_vec(Shape::new(vec![2, 1]), h).unwrap();
        assert_eq!(
            argsort(&h, 0, Direction::Asc).unwrap().as_slice::<i64>().unwrap(),
            &[1, 0]
        );
        assert!(sort(&t, 2, Direction::Asc).is_err());
        let big = Tensor::from_vec(Shape::new(vec![1000, 200]), (0..200_000i32).rev().collect()).unwrap();
        let s = sort(&big, 1, Direction::Asc).unwrap();
        assert_eq!(&s.as_slice::<i32>().unwrap()[..3], &[199_800, 199_801, 199_802]);
    }
}
