//! The strided-copy kernel behind every data-movement op.
//!
//! Transpose, broadcast, slice, reverse, pad, put_slice and concatenate all
//! copy elements from a strided [`View`] of one buffer to a strided view of
//! another. One kernel does it: it simplifies the views (drops size-1 axes,
//! merges axes that are contiguous in both), copies the innermost axis as a
//! `copy_from_slice` run when it is contiguous in both, and splits large
//! copies over the outermost axis across cores.

use crate::parallel::{chunk_count, ELEMENTWISE_GRAIN};
use myelin_core::shape::View;
use myelin_core::{Element, Result, Shape, Tensor};

/// Copies the elements of `src` seen through `sv` into `dst` seen through
/// `dv`. Both views have the same dims and lie inside their buffers (the
/// shape rules in `myelin_core` build them so); `dv` must not map two
/// indices to one element.
pub fn copy_strided<T: Copy + Send + Sync>(src: &[T], sv: &View, dst: &mut [T], dv: &View) {
    if sv.size() == 0 {
        return;
    }
    let (dims, ss, ds) = simplify(sv, dv);
    let (so, doff) = (sv.offset as isize, dv.offset);
    if dims.is_empty() {
        dst[doff] = src[so as usize];
        return;
    }
    let size: usize = dims.iter().product();
    let chunks = chunk_count(size, ELEMENTWISE_GRAIN).min(dims[0]);
    let inner_span = span(&dims[1..], &ds[1..]);
    // Splitting the outer axis gives disjoint destination ranges only when
    // each outer step moves past the whole inner block.
    if chunks <= 1 || ds[0] <= 0 || (ds[0] as usize) < inner_span || ds[1..].iter().any(|&s| s < 0) {
        copy_serial(src, so, &ss, dst, doff as isize, &ds, &dims);
        return;
    }
    let step = ds[0] as usize;
    let per = dims[0].div_ceil(chunks);
    crate::parallel::scope(|scope| {
        let (dims, ss, ds) = (&dims, &ss, &ds);
        let mut rest = &mut dst[doff..];
        let mut a = 0;
        while a < dims[0] {
            let n = per.min(dims[0] - a);
            let take = if a + n < dims[0] { n * step } else { rest.len() };
            let (head, tail) = std::mem::take(&mut rest).split_at_mut(take);
            rest = tail;
            let s_off = so + a as isize * ss[0];
            let mut copy = move || {
                let mut d = dims.clone();
                d[0] = n;
                copy_serial(src, s_off, ss, head, 0, ds, &d);
            };
            a += n;
            // The calling thread copies the last block itself.
            if a < dims[0] {
                scope.spawn(copy);
            } else {
                copy();
            }
        }
    });
}

/// One past the largest offset reached by non-negative `strides` over `dims`.
fn span(dims: &[usize], strides: &[isize]) -> usize {
    1 + dims
        .iter()
        .zip(strides)
        .map(|(&d, &s)| (d.saturating_sub(1)) * s.unsigned_abs())
        .sum::<usize>()
}

/// Drops size-1 axes and merges neighbours that are contiguous in both
/// views, so e.g. copying a dense tensor becomes a single run.
fn simplify(sv: &View, dv: &View) -> (Vec<usize>, Vec<isize>, Vec<isize>) {
    let (mut dims, mut ss, mut ds) = (Vec::new(), Vec::<isize>::new(), Vec::<isize>::new());
    for i in 0..sv.dims.len() {
        let d = sv.dims[i];
        if d == 1 {
            continue;
        }
        if let (Some(ld), Some(ls), Some(lds)) = (dims.last_mut(), ss.last_mut(), ds.last_mut()) {
            let n = d as isize;
            if *ls == sv.strides[i] * n && *lds == dv.strides[i] * n {
                *ld *= d;
                *ls = sv.strides[i];
                *lds = dv.strides[i];
                continue;
            }
        }
        dims.push(d);
        ss.push(sv.strides[i]);
        ds.push(dv.strides[i]);
    }
    (dims, ss, ds)
}

fn copy_serial<T: Copy>(
    src: &[T],
    s_off: isize,
    ss: &[isize],
    dst: &mut [T],
    d_off: isize,
    ds: &[isize],
    dims: &[usize],
) {
    let last = dims.len() - 1;
    let (n, sin, din) = (dims[last], ss[last], ds[last]);
    let outer: usize = dims[..last].iter().product();
    let mut idx = vec![0usize; last];
    let (mut s, mut d) = (s_off, d_off);
    for _ in 0..outer {
        if sin == 1 && din == 1 {
            let (s0, d0) = (s as usize, d as usize);
            dst[d0..d0 + n].copy_from_slice(&src[s0..s0 + n]);
        } else {
            let (mut si, mut di) = (s, d);
            for _ in 0..n {
                dst[di as usize] = src[si as usize];
                si += sin;
                di += din;
            }
        }
        // Advance the odometer over the outer axes.
        for ax in (0..last).rev() {
            idx[ax] += 1;
            s += ss[ax];
            d += ds[ax];
            if idx[ax] < dims[ax] {
                break;
            }
            s -= ss[ax] * dims[ax] as isize;
            d -= ds[ax] * dims[ax] as isize;
            idx[ax] = 0;
        }
    }
}

/// A new dense tensor holding the elements of `t` seen through `view`.
pub fn materialize<T: Element>(t: &Tensor, view: &View) -> Result<Tensor> {
    let shape = Shape::new(view.dims.clone());
    let mut out = vec![T::ZERO; shape.checked_size("copy")?];
    copy_strided(t.as_slice::<T>()?, view, &mut out, &View::dense(&shape));
    Tensor::from_vec(shape, out)
}

/// Calls `f(first_row, rows)` over disjoint runs of whole rows of `out`
/// (rows of `row_len` elements), in parallel when there are at least
/// `2 * grain` elements.
pub fn for_each_rows_mut<U: Send>(
    out: &mut [U],
    row_len: usize,
    grain: usize,
    f: impl Fn(usize, &mut [U]) + Sync,
) {
    if row_len == 0 || out.is_empty() {
        return;
    }
    let rows = out.len() / row_len;
    let chunks = chunk_count(out.len(), grain).min(rows);
    if chunks <= 1 {
        f(0, out);
        return;
    }
    let per = rows.div_ceil(chunks) * row_len;
    crate::parallel::scope(|s| {
        let f = &f;
        let (head, tail) = out.split_at_mut(per.min(out.len()));
        for (i, chunk) in tail.chunks_mut(per).enumerate() {
            s.spawn(move || f((i + 1) * per / row_len, chunk));
        }
        f(0, head);
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    fn naive(src: &[u32], v: &View) -> Vec<u32> {
        let mut out = Vec::new();
        let size = v.size();
        for flat in 0..size {
            let (mut rem, mut pos) = (flat, v.offset as isize);
            for ax in (0..v.dims.len()).rev() {
                pos += (rem % v.dims[ax]) as isize * v.strides[ax];
                rem /= v.dims[ax];
            }
            out.push(src[pos as usize]);
        }
        out
    }

    #[test]
    fn views_match_a_naive_copy() {
        let shape = Shape::new(vec![37, 41, 53]);
        let src: Vec<u32> = (0..shape.size() as u32).collect();
        let base = View::dense(&shape);
        let views = [
            base.clone(),
            base.permute(&[2, 0, 1]),
            base.permute(&[1, 2, 0]),
            base.reverse(&[0, 2]),
            base.slice(&[3, 1, 2], &[30, 40, 50], &[2, 3, 1]),
            View {
                dims: vec![4, 37, 41, 53],
                strides: vec![0, 41 * 53, 53, 1],
                offset: 0,
            },
            View {
                dims: vec![37, 2, 41],
                strides: vec![41 * 53, 0, 53],
                offset: 5,
            },
        ];
        for v in &views {
            let out_shape = Shape::new(v.dims.clone());
            let mut out = vec![0; out_shape.size()];
            copy_strided(&src, v, &mut out, &View::dense(&out_shape));
            assert_eq!(out, naive(&src, v), "view {v:?}");
        }
    }

    #[test]
    fn strided_destination_and_edge_cases() {
        // Write [1, 2, 3] at every other slot of 6 zeros, in parallel or not.
        let mut dst = vec![0u8; 6];
        let sv = View::dense(&Shape::new(vec![3]));
        let dv = View {
            dims: vec![3],
            strides: vec![2],
            offset: 1,
        };
        copy_strided(&[1, 2, 3], &sv, &mut dst, &dv);
        assert_eq!(dst, vec![0, 1, 0, 2, 0, 3]);
        // Scalars and empty views.
        let mut one = [0u8];
        let s = View::dense(&Shape::scalar());
        copy_strided(&[9], &s, &mut one, &s);
        assert_eq!(one, [9]);
        let e = View::dense(&Shape::new(vec![0, 3]));
        copy_strided::<u8>(&[], &e, &mut [], &e);
        // A large strided destination (parallel path).
        let rows = 300_000;
        let mut big = vec![0u32; rows * 3];
        let src: Vec<u32> = (0..rows as u32 * 2).collect();
        let sv = View::dense(&Shape::new(vec![rows, 2]));
        let dv = View {
            dims: vec![rows, 2],
            strides: vec![3, 1],
            offset: 1,
        };
        copy_strided(&src, &sv, &mut big, &dv);
        assert!((0..rows).all(|r| big[r * 3] == 0
            && big[r * 3 + 1] == 2 * r as u32
            && big[r * 3 + 2] == 2 * r as u32 + 1));
    }

    #[test]
    fn rows_cover_everything() {
        let mut out = vec![0usize; 1000 * 7];
        for_each_rows_mut(&mut out, 7, 10, |first, rows| {
            for (i, r) in rows.chunks_mut(7).enumerate() {
                r.fill(first + i);
            }
        });
        assert!(out.chunks(7).enumerate().all(|(i, r)| r.iter().all(|&x| x == i)));
    }
}
