//! AVX-512 kernels for rows of 2×2, stride-2 max pooling on f32: the
//! target CNN's two pools, whose rows hold 13 and 5 windows.
//!
//! Why: the portable row loops vectorize only over 16 or more windows at
//! a time, so rows this short ran one window at a time. Here 16 windows
//! are one pass: the row pairs are loaded with masks, split into even and
//! odd elements with a permute, compared lane by lane and (for the
//! gradient) interleaved back. The comparisons are the portable loops'
//! (`beats`: larger, or the first NaN; ties keep the earlier element) in
//! the same order, and values are only selected, never computed, so the
//! results are bit-identical to them.

use std::mem::MaybeUninit;

/// Whether this CPU runs the kernels.
fn available() -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        std::is_x86_feature_detected!("avx512f")
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        false
    }
}

/// `out[c]` = the maximum of window `c` over input rows `r0` and `r1`
/// (elements `2c` and `2c + 1` of each), as the portable `max_row`;
/// false (nothing written) when the CPU lacks AVX-512.
pub(super) fn max_row(r0: &[f32], r1: &[f32], out: &mut [MaybeUninit<f32>]) -> bool {
    if !available() {
        return false;
    }
    let n = out.len();
    assert!(r0.len() >= 2 * n && r1.len() >= 2 * n, "max_row: rows too short");
    #[cfg(target_arch = "x86_64")]
    // SAFETY: the CPU has AVX-512F; the rows hold 2n elements, out n.
    unsafe {
        x86::max_row(r0.as_ptr(), r1.as_ptr(), out.as_mut_ptr().cast(), n)
    };
    true
}

/// The gradient of [`max_row`]: each window's first maximum gets its
/// `g`, its other three elements 0, written to rows `o0` and `o1`, as the
/// portable `grad_row`; false (nothing written) without AVX-512.
pub(super) fn grad_row(
    r0: &[f32],
    r1: &[f32],
    g: &[f32],
    o0: &mut [MaybeUninit<f32>],
    o1: &mut [MaybeUninit<f32>],
) -> bool {
    if !available() {
        return false;
    }
    let n = g.len();
    let rows_fit = [r0.len(), r1.len(), o0.len(), o1.len()]
        .iter()
        .all(|&l| l >= 2 * n);
    assert!(rows_fit, "grad_row: rows too short");
    #[cfg(target_arch = "x86_64")]
    // SAFETY: the CPU has AVX-512F; the rows hold 2n elements, g n.
    unsafe {
        x86::grad_row(
            r0.as_ptr(),
            r1.as_ptr(),
            g.as_ptr(),
            o0.as_mut_ptr().cast(),
            o1.as_mut_ptr().cast(),
            n,
        )
    };
    true
}

#[cfg(target_arch = "x86_64")]
mod x86 {
    use std::arch::x86_64::*;

    /// Windows per pass: one register of f32.
    const LANES: usize = 16;

    /// Lanes `0..count` set (`count` ≤ 16).
    #[inline(always)]
    fn first_lanes(count: usize) -> __mmask16 {
        ((1u32 << count) - 1) as __mmask16
    }

    /// The masks of `2 * windows` input elements over two registers.
    #[inline(always)]
    fn pair_masks(windows: usize) -> (__mmask16, __mmask16) {
        let elements = 2 * windows;
        (
            first_lanes(elements.min(LANES)),
            first_lanes(elements.saturating_sub(LANES)),
        )
    }

    /// The even and odd elements of the `2 * windows` elements at `row`.
    #[inline(always)]
    unsafe fn split(row: *const f32, windows: usize) -> (__m512, __m512) {
        let (lo, hi) = pair_masks(windows);
        let a = _mm512_maskz_loadu_ps(lo, row);
        let b = _mm512_maskz_loadu_ps(hi, row.wrapping_add(LANES));
        let even = _mm512_set_epi32(30, 28, 26, 24, 22, 20, 18, 16, 14, 12, 10, 8, 6, 4, 2, 0);
        let odd = _mm512_set_epi32(31, 29, 27, 25, 23, 21, 19, 17, 15, 13, 11, 9, 7, 5, 3, 1);
        (
            _mm512_permutex2var_ps(a, even, b),
            _mm512_permutex2var_ps(a, odd, b),
        )
    }

    /// Writes `even` and `odd` interleaved as `2 * windows` elements at `row`.
    #[inline(always)]
    unsafe fn join(row: *mut f32, even: __m512, odd: __m512, windows: usize) {
        let (lo, hi) = pair_masks(windows);
        let low = _mm512_set_epi32(23, 7, 22, 6, 21, 5, 20, 4, 19, 3, 18, 2, 17, 1, 16, 0);
        let high = _mm512_set_epi32(31, 15, 30, 14, 29, 13, 28, 12, 27, 11, 26, 10, 25, 9, 24, 8);
        _mm512_mask_storeu_ps(row, lo, _mm512_permutex2var_ps(even, low, odd));
        _mm512_mask_storeu_ps(
            row.wrapping_add(LANES),
            hi,
            _mm512_permutex2var_ps(even, high, odd),
        );
    }

    /// The lanes where `x` beats `y`: larger, or NaN where `y` is not.
    #[inline(always)]
    unsafe fn beats(x: __m512, y: __m512) -> __mmask16 {
        let larger = _mm512_cmp_ps_mask::<_CMP_GT_OQ>(x, y);
        let x_nan = _mm512_cmp_ps_mask::<_CMP_UNORD_Q>(x, x);
        let y_nan = _mm512_cmp_ps_mask::<_CMP_UNORD_Q>(y, y);
        larger | (x_nan & !y_nan)
    }

    /// # Safety
    /// AVX-512F; `r0` and `r1` hold `2n` elements, `out` `n`.
    #[target_feature(enable = "avx512f")]
    pub(super) unsafe fn max_row(r0: *const f32, r1: *const f32, out: *mut f32, n: usize) {
        for c in (0..n).step_by(LANES) {
            let windows = (n - c).min(LANES);
            let (t0, t1) = split(r0.add(2 * c), windows);
            let (b0, b1) = split(r1.add(2 * c), windows);
            let top = _mm512_mask_blend_ps(beats(t1, t0), t0, t1);
            let bottom = _mm512_mask_blend_ps(beats(b1, b0), b0, b1);
            let best = _mm512_mask_blend_ps(beats(bottom, top), top, bottom);
            _mm512_mask_storeu_ps(out.add(c), first_lanes(windows), best);
        }
    }

    /// # Safety
    /// AVX-512F; `r0`, `r1`, `o0` and `o1` hold `2n` elements, `g` `n`.
    #[target_feature(enable = "avx512f")]
    pub(super) unsafe fn grad_row(
        r0: *const f32,
        r1: *const f32,
        g: *const f32,
        o0: *mut f32,
        o1: *mut f32,
        n: usize,
    ) {
        for c in (0..n).step_by(LANES) {
            let windows = (n - c).min(LANES);
            let (t0, t1) = split(r0.add(2 * c), windows);
            let (b0, b1) = split(r1.add(2 * c), windows);
            let gc = _mm512_maskz_loadu_ps(first_lanes(windows), g.add(c));
            let (right_top, right_bottom) = (beats(t1, t0), beats(b1, b0));
            let top = _mm512_mask_blend_ps(right_top, t0, t1);
            let bottom = _mm512_mask_blend_ps(right_bottom, b0, b1);
            let down = beats(bottom, top);
            let to = |k: __mmask16| _mm512_maskz_mov_ps(k, gc);
            join(
                o0.add(2 * c),
                to(!down & !right_top),
                to(!down & right_top),
                windows,
            );
            join(
                o1.add(2 * c),
                to(down & !right_bottom),
                to(down & right_bottom),
                windows,
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::tests::rows;
    use super::super::{portable_grad_row, portable_max_row};
    use std::mem::MaybeUninit;

    #[test]
    fn kernels_match_the_portable_loops_bit_for_bit() {
        if !super::available() {
            eprintln!("skipped: this CPU has no AVX-512F, so the kernels never run");
            return;
        }
        let fresh = |n: usize| vec![MaybeUninit::new(7.0f32); n];
        // SAFETY: every vector here starts initialized and only gets values.
        let bits = |v: &[MaybeUninit<f32>]| {
            v.iter()
                .map(|x| unsafe { x.assume_init() }.to_bits())
                .collect::<Vec<_>>()
        };
        for windows in 1..=40 {
            for seed in 0..5 {
                let (r0, r1) = rows(windows, seed);
                let g: Vec<f32> = (0..windows).map(|i| i as f32 - 3.5).collect();
                let (mut want, mut got) = (fresh(windows), fresh(windows));
                portable_max_row(&r0, &r1, &mut want);
                assert!(super::max_row(&r0, &r1, &mut got));
                assert_eq!(bits(&want), bits(&got), "max, {windows} windows, seed {seed}");

                let n = 2 * windows;
                let (mut w0, mut w1, mut g0, mut g1) = (fresh(n), fresh(n), fresh(n), fresh(n));
                portable_grad_row(&r0, &r1, &g, &mut w0, &mut w1);
                assert!(super::grad_row(&r0, &r1, &g, &mut g0, &mut g1));
                assert_eq!(
                    (bits(&w0), bits(&w1)),
                    (bits(&g0), bits(&g1)),
                    "grad, {windows} windows"
                );
            }
        }
    }
}
