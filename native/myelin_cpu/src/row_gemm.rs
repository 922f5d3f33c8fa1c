//! Products with one left-hand row, such as batch-1 inference through a
//! dense layer.
//!
//! The `gemm` crate packs both operands into panels first, which for one
//! row costs more than the multiply itself (13.5 µs for 1×784 by 784×128
//! here, ~7 GFLOP/s). When the right operand's rows are contiguous, each
//! output row is instead a sum of scaled right-hand rows (`axpy`s), which
//! streams the matrix once at full SIMD width: about 5.5 µs for the same
//! product, the time to read the matrix from L2.
//! The loop is compiled for AVX-512 and AVX2+FMA and picked at run time, so
//! the library still runs on any x86-64 (and on ARM, where NEON and FMA are
//! baseline).

use num_traits::Float;

/// Left-hand rows up to which [`rows_times_matrix`] beats `gemm`. Measured
/// on the AVX-512 Xeon (2026-11-22) for 784×128: 1 row 4.9 µs against
/// 14 µs, 2 rows 13 µs against 8.7 µs (the output rows' loads and stores
/// then dominate, and `gemm`'s register tiles win).
pub(crate) const MAX_ROWS: usize = 1;

/// `out[i][j] = sum_q lhs[i*lrs + q*lcs] * rhs[q*n + j]` for `m` rows of
/// `n` outputs (`out` is `m×n`, row-major); `rhs` holds `k` contiguous rows
/// of `n`. Slices shorter than those shapes panic (a caller bug, caught by
/// the NIF guard).
pub(crate) fn rows_times_matrix<T: Float>(
    m: usize,
    n: usize,
    k: usize,
    lhs: &[T],
    (lrs, lcs): (usize, usize),
    rhs: &[T],
    out: &mut [T],
) {
    crate::simd::vectorized(
        #[inline(always)]
        || portable(m, n, k, lhs, (lrs, lcs), rhs, out),
    )
}

/// Output columns accumulated in registers at once: 8 AVX-512 vectors of
/// f32 (16 of f64), within the 32 vector registers.
const COLUMN_BLOCK: usize = 128;

/// The loop itself, inlined into each of [`crate::simd::vectorized`]'s
/// feature-specific copies so the compiler vectorizes it for that
/// instruction set. The right operand is
/// the big one (for 784×128, 401 KB: it lives in L2, not L1), so it is
/// streamed once. Each block of [`COLUMN_BLOCK`] output columns stays in
/// registers for the whole sum over `k`: no output loads or stores per
/// right-hand row. Against summing four rows at a time into the output in
/// memory, this took 1×784 by 784×128 from 8.4 to 5.5 µs here, which is
/// about the time to read the matrix from L2.
#[inline(always)]
fn portable<T: Float>(
    m: usize,
    n: usize,
    k: usize,
    lhs: &[T],
    (lrs, lcs): (usize, usize),
    rhs: &[T],
    out: &mut [T],
) {
    let rhs = &rhs[..k * n];
    for (i, row) in out[..m * n].chunks_exact_mut(n).enumerate() {
        let x = |q: usize| lhs[i * lrs + q * lcs];
        let mut j0 = 0;
        while j0 + COLUMN_BLOCK <= n {
            // A fixed-size block, so the accumulators are registers.
            let mut acc = [T::zero(); COLUMN_BLOCK];
            for q in 0..k {
                let (xq, r) = (x(q), &rhs[q * n + j0..q * n + j0 + COLUMN_BLOCK]);
                for (a, &w) in acc.iter_mut().zip(r) {
                    *a = xq.mul_add(w, *a);
                }
            }
            row[j0..j0 + COLUMN_BLOCK].copy_from_slice(&acc);
            j0 += COLUMN_BLOCK;
        }
        if j0 < n {
            let tail = &mut row[j0..];
            tail.iter_mut().for_each(|o| *o = T::zero());
            for q in 0..k {
                let (xq, r) = (x(q), &rhs[q * n + j0..(q + 1) * n]);
                for (o, &w) in tail.iter_mut().zip(r) {
                    *o = xq.mul_add(w, *o);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The product from its definition, in f64.
    fn reference(m: usize, n: usize, k: usize, lhs: &[f32], rhs: &[f32]) -> Vec<f64> {
        let mut out = vec![0.0; m * n];
        for i in 0..m {
            for j in 0..n {
                out[i * n + j] = (0..k)
                    .map(|q| lhs[i * k + q] as f64 * rhs[q * n + j] as f64)
                    .sum();
            }
        }
        out
    }

    /// Every copy of the loop this CPU can run, not only the one the
    /// dispatcher picks here: the AVX2 and portable copies are what other
    /// machines run.
    #[test]
    fn every_compiled_copy_matches_the_definition() {
        // n: one register block of 128 and a tail that is not a whole vector.
        let (m, n, k) = (1, 165, 131);
        let lhs: Vec<f32> = (0..m * k).map(|i| (i % 9) as f32 * 0.5 - 2.0).collect();
        let rhs: Vec<f32> = (0..k * n).map(|i| (i % 13) as f32 * 0.25 - 1.5).collect();
        let want = reference(m, n, k, &lhs, &rhs);
        for isa in crate::simd::Isa::available() {
            let mut out = vec![f32::NAN; m * n];
            crate::simd::run_on(
                isa,
                #[inline(always)]
                || portable(m, n, k, &lhs, (k, 1), &rhs, &mut out),
            );
            for (j, (&got, &w)) in out.iter().zip(&want).enumerate() {
                assert!((got as f64 - w).abs() < 1e-3, "{isa:?}, output {j}: {got} vs {w}");
            }
        }
        let mut out = vec![f32::NAN; m * n];
        rows_times_matrix(m, n, k, &lhs, (k, 1), &rhs, &mut out);
        for (j, (&got, &w)) in out.iter().zip(&want).enumerate() {
            assert!(
                (got as f64 - w).abs() < 1e-3,
                "dispatch, output {j}: {got} vs {w}"
            );
        }
    }
}
