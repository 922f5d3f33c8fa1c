//! Reductions over a set of axes, written once as a skeleton that each op
//! plugs a [`Reducer`] into.
//!
//! The input is viewed as `(outer, reduced, inner)`: when the reduced axes
//! are adjacent this is free, otherwise the input is first copied with the
//! reduced axes moved last (`inner = 1`). Contiguous reductions fold blocks
//! pairwise with several accumulators (accurate and vectorizable); strided
//! ones fold whole rows at a time so the inner loop runs over contiguous
//! memory. Large work is split over output chunks, or over the reduced range
//! when there are too few outputs to keep every core busy.

use crate::cast::as_type;
use crate::parallel::{for_each_chunk_mut, num_threads, ELEMENTWISE_GRAIN};
use crate::permute::permute;
use crate::reducers::{FloatProduct, FloatSum, IntAgg, LogSumExp, Logic, MinMax, Reducer};
use myelin_core::ops::ReduceOp;
use myelin_core::shape::reduce::{reduce as reduce_rule, ReducePlan};
use myelin_core::{dispatch_dtype, dispatch_float, dispatch_integer, DType, Element, Error, Result, Tensor};
use std::borrow::Cow;

/// Contiguous runs shorter than this are folded sequentially.
const PAIRWISE_BLOCK: usize = 128;
/// Accumulators per sequential block, so floating adds can overlap.
const LANES: usize = 8;
/// Rows folded into a fresh accumulator row before merging into the total.
const ROW_BLOCK: usize = 256;

/// Reduces `t` over `axes` (None = all) with `op`.
pub fn reduce(op: ReduceOp, t: &Tensor, axes: Option<&[i64]>, keep_axes: bool) -> Result<Tensor> {
    let plan = reduce_rule(op.name(), t.shape(), axes, keep_axes)?;
    if op.needs_elements() && plan.reduces_nothing(t.shape()) {
        return Err(Error::arg(
            op.name(),
            format!(
                "cannot reduce zero elements (shape {} over axes {:?}): the op has no identity",
                t.shape(),
                plan.axes
            ),
        ));
    }
    if let Some(split) = split_point(op, t, &plan) {
        // Reduce the innermost run of adjacent axes first, then the rest:
        // `sum(x, [0, 2, 3])` of a conv's `{n, c, h, w}` gradient becomes a
        // contiguous sum over `h*w` and a small sum over `n`, instead of a
        // copy of `x` with the axes moved last.
        let inner: Vec<i64> = plan.axes[split..].iter().map(|&a| a as i64).collect();
        let outer: Vec<i64> = plan.axes[..split].iter().map(|&a| a as i64).collect();
        let partial = dispatch(op, t, &reduce_rule(op.name(), t.shape(), Some(&inner), true)?)?;
        let rest = dispatch(
            op,
            &partial,
            &reduce_rule(op.name(), partial.shape(), Some(&outer), true)?,
        )?;
        return rest.reshape(plan.out);
    }
    dispatch(op, t, &plan)
}

/// Where to split non-adjacent reduced axes into two reductions (see
/// [`reduce`]), when that is exact and worth it: for ops whose partial
/// results combine with the same op, in types that do not round between
/// the steps, and inputs large enough for the copy to matter.
fn split_point(op: ReduceOp, t: &Tensor, plan: &ReducePlan) -> Option<usize> {
    use ReduceOp::*;
    let combines = matches!(op, Sum | Product | ReduceMin | ReduceMax | All | Any);
    let half = matches!(t.dtype(), DType::F16 | DType::BF16);
    if !combines || half || t.shape().size() < ELEMENTWISE_GRAIN {
        return None;
    }
    let axes = &plan.axes;
    let split = (1..axes.len()).rev().find(|&i| axes[i] != axes[i - 1] + 1)?;
    Some(split)
}

/// Picks the reducer for `op` and the input's type.
fn dispatch(op: ReduceOp, t: &Tensor, plan: &ReducePlan) -> Result<Tensor> {
    use ReduceOp::*;
    let dt = t.dtype();
    let no_kernel = |dt: DType| Err(Error::internal(op.name(), format!("no kernel for type {dt}")));
    match op {
        Sum | Product => dispatch_integer!(dt, T => match (op, dt.is_signed_integer()) {
                (Sum, true) => run(&IntAgg::<T, i64, false>::default(), t, plan),
                (Sum, false) => run(&IntAgg::<T, u64, false>::default(), t, plan),
                (_, true) => run(&IntAgg::<T, i64, true>::default(), t, plan),
                (_, false) => run(&IntAgg::<T, u64, true>::default(), t, plan),
            },
            _ => dispatch_float!(dt, T => match op {
                Sum => run(&FloatSum::<T, false>::default(), t, plan),
                _ => run(&FloatProduct::<T>::default(), t, plan),
            }, _ => no_kernel(dt))
        ),
        Mean | Logsumexp => {
            // Integers are computed in, and return, f32 (Nx's to_floating).
            let t = as_type(t, dt.to_floating())?;
            dispatch_float!(t.dtype(), T => match op {
                Mean => run(&FloatSum::<T, true>::default(), &t, plan),
                _ => run(&LogSumExp::<T>::default(), &t, plan),
            }, _ => no_kernel(t.dtype()))
        }
        ReduceMin => dispatch_dtype!(dt, T => run(&MinMax::<T, false>::default(), t, plan)),
        ReduceMax => dispatch_dtype!(dt, T => run(&MinMax::<T, true>::default(), t, plan)),
        All => dispatch_dtype!(dt, T => run(&Logic::<T, true>::default(), t, plan)),
        Any => dispatch_dtype!(dt, T => run(&Logic::<T, false>::default(), t, plan)),
    }
}

/// The `(outer, reduced, inner)` view of `t` for sorted `axes`, copying
/// the input (reduced axes moved last) only when they are not adjacent.
pub(crate) fn view<'a, T: Element>(
    t: &'a Tensor,
    axes: &[usize],
) -> Result<(Cow<'a, [T]>, usize, usize, usize)> {
    let data = t.as_slice::<T>()?;
    let dims = t.dims();
    let red: usize = axes.iter().map(|&a| dims[a]).product();
    let kept: Vec<usize> = (0..dims.len()).filter(|i| !axes.contains(i)).collect();
    let outer_all: usize = kept.iter().map(|&i| dims[i]).product();
    match (axes.first(), axes.last()) {
        (Some(&first), Some(&last)) if last - first + 1 == axes.len() => {
            let outer = dims[..first].iter().product();
            let inner = dims[last + 1..].iter().product();
            Ok((Cow::Borrowed(data), outer, red, inner))
        }
        (None, _) | (_, None) => Ok((Cow::Borrowed(data), outer_all, 1, 1)),
        _ => {
            let mut perm = kept;
            perm.extend_from_slice(axes);
            Ok((Cow::Owned(permute(data, dims, &perm)), outer_all, red, 1))
        }
    }
}

fn run<T: Element, R: Reducer<T>>(r: &R, t: &Tensor, plan: &ReducePlan) -> Result<Tensor> {
    let (data, outer, red, inner) = view::<T>(t, &plan.axes)?;
    let out = reduce_view(r, &data, outer, red, inner);
    Tensor::from_vec(
        plan.out.clone(),
        out.into_iter().map(|a| r.finish(a, red)).collect::<Vec<R::Out>>(),
    )
}

/// Reduces the `(outer, red, inner)` view of `x` to `outer * inner` accumulators.
pub(crate) fn reduce_view<T: Element, R: Reducer<T>>(
    r: &R,
    x: &[T],
    outer: usize,
    red: usize,
    inner: usize,
) -> Vec<R::Acc> {
    let n_out = outer * inner;
    let mut acc = vec![r.init(); n_out];
    let total = n_out * red;
    let threads = num_threads();
    if n_out < threads && total >= 2 * ELEMENTWISE_GRAIN && red >= threads {
        // Too few outputs to share out: split the reduced range instead and
        // combine each worker's partial accumulators.
        let per = red.div_ceil(threads);
        let partials = crate::parallel::map_tasks(threads, |w| {
            let (r0, r1) = ((w * per).min(red), ((w + 1) * per).min(red));
            let mut part = vec![r.init(); n_out];
            for o in 0..outer {
                accumulate(
                    r,
                    x,
                    red,
                    inner,
                    o,
                    0,
                    r0,
                    r1,
                    &mut part[o * inner..(o + 1) * inner],
                );
            }
            part
        });
        for part in partials {
            for (a, p) in acc.iter_mut().zip(part) {
                *a = r.combine(*a, p);
            }
        }
        return acc;
    }
    let grain = (ELEMENTWISE_GRAIN / red.max(1)).max(1);
    for_each_chunk_mut(&mut acc, grain, |start, chunk| {
        // The chunk covers outputs start..start+len, which may begin and end
        // mid-way through an outer row.
        let mut pos = 0;
        while pos < chunk.len() {
            let (o, i0) = ((start + pos) / inner, (start + pos) % inner);
            let len = (inner - i0).min(chunk.len() - pos);
            accumulate(r, x, red, inner, o, i0, 0, red, &mut chunk[pos..pos + len]);
            pos += len;
        }
    });
    acc
}

/// Folds rows `r0..r1` of outer slice `o`, columns `i0..i0+acc.len()`, into `acc`.
#[allow(clippy::too_many_arguments)]
fn accumulate<T: Element, R: Reducer<T>>(
    r: &R,
    x: &[T],
    red: usize,
    inner: usize,
    o: usize,
    i0: usize,
    r0: usize,
    r1: usize,
    acc: &mut [R::Acc],
) {
    if inner == 1 {
        if let Some(a) = acc.first_mut() {
            let base = o * red;
            *a = r.combine(*a, fold_pairwise(r, &x[base + r0..base + r1]));
        }
        return;
    }
    let n = acc.len();
    let mut block = vec![r.init(); n];
    let mut row = r0;
    while row < r1 {
        let end = (row + ROW_BLOCK).min(r1);
        block.iter_mut().for_each(|b| *b = r.init());
        for rr in row..end {
            let start = (o * red + rr) * inner + i0;
            for (b, &v) in block.iter_mut().zip(&x[start..start + n]) {
                *b = r.fold(*b, v);
            }
        }
        for (a, &b) in acc.iter_mut().zip(&block) {
            *a = r.combine(*a, b);
        }
        row = end;
    }
}

/// Folds a contiguous run: halves recursively (pairwise summation's error
/// bound), with `LANES` interleaved accumulators at the leaves.
fn fold_pairwise<T: Element, R: Reducer<T>>(r: &R, x: &[T]) -> R::Acc {
    if x.len() > PAIRWISE_BLOCK {
        let (a, b) = x.split_at(x.len() / 2);
        return r.combine(fold_pairwise(r, a), fold_pairwise(r, b));
    }
    let mut lanes = [r.init(); LANES];
    let mut chunks = x.chunks_exact(LANES);
    for c in &mut chunks {
        for (l, &v) in lanes.iter_mut().zip(c) {
            *l = r.fold(*l, v);
        }
    }
    let mut acc = r.init();
    for &v in chunks.remainder() {
        acc = r.fold(acc, v);
    }
    lanes.iter().fold(acc, |a, &l| r.combine(a, l))
}

#[cfg(test)]
mod tests {
    use super::*;
    use half::bf16;
    use myelin_core::Shape;

    fn t<T: Element>(dims: &[usize], v: Vec<T>) -> Tensor {
        Tensor::from_vec(Shape::new(dims.to_vec()), v).unwrap()
    }

    fn iota_i32(dims: &[usize]) -> Tensor {
        let n = dims.iter().product::<usize>();
        t(dims, (0..n as i32).collect())
    }

    #[test]
    fn sums_over_every_axis_combination() {
        let x = iota_i32(&[2, 3, 4]);
        let s = reduce(ReduceOp::Sum, &x, None, false).unwrap();
        assert_eq!(
            (s.dtype(), s.as_slice::<i64>().unwrap()),
            (DType::S64, &[276i64][..])
        );
        let s = reduce(ReduceOp::Sum, &x, Some(&[1]), false).unwrap();
        assert_eq!(s.as_slice::<i64>().unwrap(), &[12, 15, 18, 21, 48, 51, 54, 57]);
        let s = reduce(ReduceOp::Sum, &x, Some(&[0, 2]), true).unwrap();
        assert_eq!(s.dims(), &[1, 3, 1]);
        assert_eq!(s.as_slice::<i64>().unwrap(), &[60, 92, 124]);
        let s = reduce(ReduceOp::Sum, &x, Some(&[]), false).unwrap();
        assert_eq!(s.as_slice::<i64>().unwrap(), &(0..24).collect::<Vec<i64>>()[..]);
    }

    #[test]
    fn large_sums_are_exact_in_parallel() {
        // 0 + 1 + ... + (2^20 - 1) = 2^19 * (2^20 - 1), exact in f64.
        let n = 1usize << 20;
        let x = t(&[n], (0..n).map(|i| i as f64).collect());
        let s = reduce(ReduceOp::Sum, &x, None, false).unwrap();
        assert_eq!(
            s.as_slice::<f64>().unwrap(),
            &[(n as f64) * (n as f64 - 1.0) / 2.0]
        );
        // Ones in f32: pairwise summation keeps it exact.
        let x = t(&[1024, 1024], vec![1.0f32; n]);
        let s = reduce(ReduceOp::Sum, &x, None, false).unwrap();
        assert_eq!(s.as_slice::<f32>().unwrap(), &[n as f32]);
        let s = reduce(ReduceOp::Sum, &x, Some(&[0]), false).unwrap();
        assert!(s.as_slice::<f32>().unwrap().iter().all(|&v| v == 1024.0));
        let x = t(&[3, n / 2], vec![1u8; 3 * n / 2]);
        let s = reduce(ReduceOp::Sum, &x, Some(&[1]), false).unwrap();
        assert_eq!(s.as_slice::<u64>().unwrap(), &[n as u64 / 2; 3]);
    }

    #[test]
    fn min_max_propagate_nan_and_reject_empty() {
        let x = t(&[2, 2], vec![1.0f32, f32::NAN, -3.0, 2.0]);
        let m = reduce(ReduceOp::ReduceMax, &x, Some(&[1]), false).unwrap();
        let m = m.as_slice::<f32>().unwrap();
        assert!(m[0].is_nan());
        assert_eq!(m[1], 2.0);
        let x = t(&[3], vec![i8::MIN, 5, -2]);
        let m = reduce(ReduceOp::ReduceMin, &x, None, false).unwrap();
        assert_eq!(m.as_slice::<i8>().unwrap(), &[i8::MIN]);
        let e = reduce(ReduceOp::ReduceMax, &t::<f32>(&[2, 0], vec![]), Some(&[1]), false).unwrap_err();
        assert!(e.message().starts_with("reduce_max: cannot reduce zero elements"));
        let ok = reduce(ReduceOp::ReduceMax, &t::<f32>(&[0, 2], vec![]), Some(&[1]), false).unwrap();
        assert_eq!(ok.dims(), &[0]);
    }

    #[test]
    fn empty_identities_and_types() {
        let z = t::<u8>(&[0], vec![]);
        assert_eq!(
            reduce(ReduceOp::Sum, &z, None, false)
                .unwrap()
                .as_slice::<u64>()
                .unwrap(),
            &[0]
        );
        assert_eq!(
            reduce(ReduceOp::Product, &z, None, false)
                .unwrap()
                .as_slice::<u64>()
                .unwrap(),
            &[1]
        );
        assert_eq!(
            reduce(ReduceOp::All, &z, None, false)
                .unwrap()
                .as_slice::<u8>()
                .unwrap(),
            &[1]
        );
        assert_eq!(
            reduce(ReduceOp::Any, &z, None, false)
                .unwrap()
                .as_slice::<u8>()
                .unwrap(),
            &[0]
        );
        let l = reduce(ReduceOp::Logsumexp, &z, None, false).unwrap();
        assert_eq!(l.as_slice::<f32>().unwrap(), &[f32::NEG_INFINITY]);
    }

    #[test]
    fn mean_product_logsumexp() {
        let x = t(&[4], vec![1i32, 2, 3, 4]);
        assert_eq!(
            reduce(ReduceOp::Mean, &x, None, false)
                .unwrap()
                .as_slice::<f32>()
                .unwrap(),
            &[2.5]
        );
        assert_eq!(
            reduce(ReduceOp::Product, &x, None, false)
                .unwrap()
                .as_slice::<i64>()
                .unwrap(),
            &[24]
        );
        let x = t(&[3], vec![1000.0f64, 1000.0, f64::NEG_INFINITY]);
        let l = reduce(ReduceOp::Logsumexp, &x, None, false).unwrap();
        assert!((l.as_slice::<f64>().unwrap()[0] - (1000.0 + 2f64.ln())).abs() < 1e-12);
        let x = t(&[2], vec![bf16::from_f32(0.0), bf16::from_f32(0.0)]);
        let l = reduce(ReduceOp::Logsumexp, &x, None, false).unwrap();
        assert_eq!(l.as_slice::<bf16>().unwrap(), &[bf16::from_f32(2f32.ln())]);
        let x = t(&[2], vec![u64::MAX, 2]);
        assert_eq!(
            reduce(ReduceOp::Sum, &x, None, false)
                .unwrap()
                .as_slice::<u64>()
                .unwrap(),
            &[1]
        );
    }

    #[test]
    fn large_reductions_over_non_adjacent_axes_split_in_two() {
        // {8, 4, 64, 64} over [0, 2, 3]: a conv bias gradient's shape, large
        // enough to take the two-step path; checked against a direct loop.
        let dims = [8usize, 4, 64, 64];
        let n: usize = dims.iter().product();
        let x = t(&dims, (0..n as i32).map(|i| i % 7 - 3).collect());
        let mut expected = [0i64; 4];
        for (i, v) in x.as_slice::<i32>().unwrap().iter().enumerate() {
            expected[(i / 4096) % 4] += *v as i64;
        }
        let s = reduce(ReduceOp::Sum, &x, Some(&[0, 2, 3]), false).unwrap();
        assert_eq!(
            (s.dims(), s.as_slice::<i64>().unwrap()),
            (&[4usize][..], &expected[..])
        );
        let s = reduce(ReduceOp::Sum, &x, Some(&[3, 0]), true).unwrap();
        assert_eq!(s.dims(), &[1, 4, 64, 1]);
        let m = reduce(ReduceOp::ReduceMax, &x, Some(&[0, 2, 3]), true).unwrap();
        assert_eq!(
            (m.dims(), m.as_slice::<i32>().unwrap()),
            (&[1usize, 4, 1, 1][..], &[3, 3, 3, 3][..])
        );
        let xf = t(&dims, (0..n).map(|i| (i % 5) as f32).collect());
        let s = reduce(ReduceOp::Sum, &xf, Some(&[0, 2]), false).unwrap();
        assert_eq!(s.dims(), &[4, 64]);
        let direct: f32 = (0..8)
            .flat_map(|a| (0..64).map(move |c| ((a * 4 + 1) * 64 + c) * 64 + 5))
            .map(|i| (i % 5) as f32)
            .sum();
        assert_eq!(s.as_slice::<f32>().unwrap()[64 + 5], direct);
    }
}
