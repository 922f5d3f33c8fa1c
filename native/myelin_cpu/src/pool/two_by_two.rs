//! 2×2, stride-2 max pooling a row of windows at a time: the target CNN's
//! pools, and the most common pooling there is.
//!
//! A row of windows reads two input rows; the forward pass writes one
//! output row, the gradient writes both input rows whole (each window's
//! first maximum gets the window's gradient, the other three elements 0).
//! When the windows start at every even row and column (no padding),
//! [`tiled_max`] and [`tiled_max_grad`] run the row pairs of each slice in
//! order: no per-window geometry, and no zero-fill of the gradient first,
//! since every element is written once (11 MB a step on the target CNN).
//! f32 rows go to AVX-512 kernels when the CPU has them.

mod avx512;

use super::{beats, Windows};
use crate::conv::for_each_image_run;
use crate::float::FloatElement;
use myelin_core::DType;
use std::mem::MaybeUninit;

/// Whether `w` is 2×2, stride-2 windows from the start of every input
/// row and column with no padding, so that row `i` of windows reads input
/// rows `2i` and `2i + 1` from their start. Odd sizes leave a last row or
/// column no window reads (its gradient is 0). A leading third spatial dim
/// must have windows of 1.
pub(super) fn tiles(w: &Windows) -> bool {
    let covers = |d: usize, size: usize| {
        let spans = &w.spans[d];
        !spans.is_empty()
            && w.in_dims[d] / size == spans.len()
            && spans
                .iter()
                .enumerate()
                .all(|(o, s)| s.lo == o * size && s.hi == s.lo + size)
    };
    covers(0, 1) && covers(1, 2) && covers(2, 2)
}

/// The sizes [`tiled_max`] and [`tiled_max_grad`] walk: input elements of
/// one 2-d slice, its row length, and its output rows and row length.
fn slice_sizes(w: &Windows) -> (usize, usize, usize, usize) {
    let [_, rows, width] = w.in_dims;
    (rows * width, width, w.spans[1].len(), w.spans[2].len())
}

/// Max pooling of `x` when [`tiles`] holds for `w`.
pub(super) fn tiled_max<T: FloatElement>(w: &Windows, x: &[T]) -> Vec<T> {
    let (slice, width, out_rows, n) = slice_sizes(w);
    let mut out = Box::<[T]>::new_uninit_slice(w.planes * w.out_plane());
    for_each_image_run(&mut out, out_rows * n, w.threads(x.len()), |first, run| {
        for (k, dst) in run.chunks_mut(out_rows * n).enumerate() {
            let src = &x[(first + k) * slice..][..slice];
            for (i, row) in dst.chunks_mut(n).enumerate() {
                let (r0, r1) = (
                    &src[2 * i * width..][..2 * n],
                    &src[(2 * i + 1) * width..][..2 * n],
                );
                max_row(r0, r1, row);
            }
        }
    });
    // SAFETY: the runs cover the output, slice by slice and row by row,
    // and `max_row` writes every element of its row.
    unsafe { out.assume_init() }.into_vec()
}

/// The max-pool gradient when [`tiles`] holds for `w`.
pub(super) fn tiled_max_grad<T: FloatElement>(w: &Windows, x: &[T], dy: &[T]) -> Vec<T> {
    let (slice, width, out_rows, n) = slice_sizes(w);
    let zero = |v: &mut [MaybeUninit<T>]| {
        for e in v {
            e.write(T::ZERO);
        }
    };
    let mut dx = Box::<[T]>::new_uninit_slice(w.planes * w.in_plane());
    for_each_image_run(&mut dx, slice, w.threads(x.len()), |first, run| {
        for (k, dst) in run.chunks_mut(slice).enumerate() {
            let src = &x[(first + k) * slice..][..slice];
            let g = &dy[(first + k) * out_rows * n..][..out_rows * n];
            let (pairs, rest) = dst.split_at_mut(out_rows * 2 * width);
            for (i, (pair, g)) in pairs.chunks_mut(2 * width).zip(g.chunks(n)).enumerate() {
                let (r0, r1) = (
                    &src[2 * i * width..][..2 * n],
                    &src[(2 * i + 1) * width..][..2 * n],
                );
                let (o0, o1) = pair.split_at_mut(width);
                grad_row(r0, r1, g, &mut o0[..2 * n], &mut o1[..2 * n]);
                zero(&mut o0[2 * n..]);
                zero(&mut o1[2 * n..]);
            }
            zero(rest);
        }
    });
    // SAFETY: the runs cover the result slice by slice; in each, the row
    // pairs are written by `grad_row` up to the last window and zeroed
    // after it, and the rest (an odd last row) is zeroed.
    unsafe { dx.assume_init() }.into_vec()
}

/// `out[c]` = the maximum (NaN counts as largest) of window `c` over input
/// rows `r0` and `r1`, into storage that may be uninitialized.
pub(super) fn max_row<T: FloatElement>(r0: &[T], r1: &[T], out: &mut [MaybeUninit<T>]) {
    if let (Some(a), Some(b), Some(o)) = (as_f32(r0), as_f32(r1), as_f32_out(out)) {
        if avx512::max_row(a, b, o) {
            return;
        }
    }
    portable_max_row(r0, r1, out);
}

fn portable_max_row<T: FloatElement>(r0: &[T], r1: &[T], out: &mut [MaybeUninit<T>]) {
    let max = |x: T::Compute, y: T::Compute| if beats(y, x) { y } else { x };
    for ((top, bottom), o) in r0.chunks_exact(2).zip(r1.chunks_exact(2)).zip(out) {
        let m_top = max(top[0].widen(), top[1].widen());
        o.write(T::narrow(max(m_top, max(bottom[0].widen(), bottom[1].widen()))));
    }
}

/// [`max_row`] into initialized storage.
pub(super) fn max_row_into<T: FloatElement>(r0: &[T], r1: &[T], out: &mut [T]) {
    // SAFETY: `max_row` writes only initialized values.
    max_row(r0, r1, unsafe { as_uninit(out) });
}

/// The gradient of a row of windows over input rows `r0` and `r1`: each
/// window's first maximum gets its `g`, its other three elements 0, in
/// rows `o0` and `o1`, every element written. Branch-free, so long rows
/// vectorize (pairs de-interleave into SIMD lanes).
pub(super) fn grad_row<T: FloatElement>(
    r0: &[T],
    r1: &[T],
    g: &[T],
    o0: &mut [MaybeUninit<T>],
    o1: &mut [MaybeUninit<T>],
) {
    let f32s = (as_f32(r0), as_f32(r1), as_f32(g), as_f32_out(o0), as_f32_out(o1));
    if let (Some(a), Some(b), Some(gf), Some(p), Some(q)) = f32s {
        if avx512::grad_row(a, b, gf, p, q) {
            return;
        }
    }
    portable_grad_row(r0, r1, g, o0, o1);
}

fn portable_grad_row<T: FloatElement>(
    r0: &[T],
    r1: &[T],
    g: &[T],
    o0: &mut [MaybeUninit<T>],
    o1: &mut [MaybeUninit<T>],
) {
    let windows = r0.chunks_exact(2).zip(r1.chunks_exact(2));
    let outs = o0.chunks_exact_mut(2).zip(o1.chunks_exact_mut(2));
    for (((top, bottom), (out0, out1)), &gc) in windows.zip(outs).zip(g) {
        let (a, b, c, d) = (
            top[0].widen(),
            top[1].widen(),
            bottom[0].widen(),
            bottom[1].widen(),
        );
        let (b_top, c_d) = (beats(b, a), beats(d, c));
        let m_top = if b_top { b } else { a };
        let m_bottom = if c_d { d } else { c };
        let bottom_wins = beats(m_bottom, m_top);
        let zero = T::ZERO;
        out0[0].write(if !bottom_wins & !b_top { gc } else { zero });
        out0[1].write(if !bottom_wins & b_top { gc } else { zero });
        out1[0].write(if bottom_wins & !c_d { gc } else { zero });
        out1[1].write(if bottom_wins & c_d { gc } else { zero });
    }
}

/// [`grad_row`] into initialized storage.
pub(super) fn grad_row_into<T: FloatElement>(r0: &[T], r1: &[T], g: &[T], o0: &mut [T], o1: &mut [T]) {
    // SAFETY: `grad_row` writes only initialized values.
    grad_row(r0, r1, g, unsafe { as_uninit(o0) }, unsafe { as_uninit(o1) });
}

/// `values` as storage to write to.
///
/// # Safety
/// Only initialized values may be written through the result.
unsafe fn as_uninit<T>(values: &mut [T]) -> &mut [MaybeUninit<T>] {
    // SAFETY: MaybeUninit<T> has T's layout; the caller keeps it initialized.
    unsafe { &mut *(values as *mut [T] as *mut [MaybeUninit<T>]) }
}

/// `values` as f32, when they are.
fn as_f32<T: FloatElement>(values: &[T]) -> Option<&[f32]> {
    (T::DTYPE == DType::F32)
        .then(|| bytemuck::try_cast_slice(values).ok())
        .flatten()
}

/// Output storage as f32, when it is.
fn as_f32_out<T: FloatElement>(values: &mut [MaybeUninit<T>]) -> Option<&mut [MaybeUninit<f32>]> {
    let same_layout =
        std::mem::size_of::<T>() == 4 && std::mem::align_of::<T>() == std::mem::align_of::<f32>();
    if T::DTYPE != DType::F32 || !same_layout {
        return None;
    }
    // SAFETY: T stores f32 (its dtype) with f32's size and alignment, and
    // as a Pod type every f32 bit pattern is a valid T.
    Some(unsafe { std::slice::from_raw_parts_mut(values.as_mut_ptr().cast(), values.len()) })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Rows with ties, signed zeros, NaNs and infinities.
    pub(super) fn rows(windows: usize, seed: usize) -> (Vec<f32>, Vec<f32>) {
        let pick = [
            1.0,
            -1.0,
            0.0,
            -0.0,
            f32::NAN,
            f32::INFINITY,
            2.5,
            1.0,
            f32::NEG_INFINITY,
            3.0,
        ];
        let row = |salt: usize| -> Vec<f32> {
            (0..2 * windows)
                .map(|i| pick[(i * 7 + salt * 13 + i / 3) % pick.len()])
                .collect()
        };
        (row(seed), row(seed + 1))
    }

    /// Each window's value and gradient against a plain scan of its four
    /// elements in row-major order (first maximum, NaN largest), in f64 so
    /// the f32 AVX-512 kernels do not check themselves.
    #[test]
    fn rows_follow_a_plain_scan() {
        for windows in [1, 5, 13, 16, 17, 40] {
            for seed in 0..5 {
                let (r0, r1) = rows(windows, seed);
                let (r0, r1): (Vec<f64>, Vec<f64>) = (
                    r0.iter().map(|&v| v as f64).collect(),
                    r1.iter().map(|&v| v as f64).collect(),
                );
                let g: Vec<f64> = (0..windows).map(|i| i as f64 + 1.0).collect();
                let mut out = vec![0.0; windows];
                let (mut o0, mut o1) = (vec![9.0; 2 * windows], vec![9.0; 2 * windows]);
                max_row_into(&r0, &r1, &mut out);
                grad_row_into(&r0, &r1, &g, &mut o0, &mut o1);
                for c in 0..windows {
                    let elems = [r0[2 * c], r0[2 * c + 1], r1[2 * c], r1[2 * c + 1]];
                    let mut best = 0;
                    for k in 1..4 {
                        if beats(elems[k], elems[best]) {
                            best = k;
                        }
                    }
                    assert_eq!(out[c].to_bits(), elems[best].to_bits(), "window {c}");
                    let got = [o0[2 * c], o0[2 * c + 1], o1[2 * c], o1[2 * c + 1]];
                    for (k, v) in got.iter().enumerate() {
                        assert_eq!(*v, if k == best { g[c] } else { 0.0 }, "window {c} element {k}");
                    }
                }
            }
        }
    }
}
