//! AVX-512 im2col and col2im for f32, used when every output row has at
//! most 16 positions and each innermost kernel offset reads its input row
//! with unit stride ([`Line::Affine`] with step 1; padding is fine).
//! col2im also needs the columns one output row reads to span at most 16.
//!
//! Why: the portable loops move a segment (one output row's worth of a
//! column-matrix row) with a loop over a run-time length, an element or a
//! few at a time. Small images have short segments (11 on the target CNN's
//! second conv), so that loop cost more than the bytes it moved. Here a
//! segment is one masked load and one masked store (measured on that conv,
//! 128 images on one thread: im2col 0.9 -> 0.5 ms, col2im 1.0 -> 0.8 ms).
//!
//! col2im adds each input row once per channel: a register holds the row
//! while every (kernel offset, segment) that read it is added in, in the
//! portable loop's order (outer kernel offset, then innermost), so the sums
//! are bit-identical to it. Adding straight into memory instead made every
//! load wait on an overlapping masked store and ran 3x slower.

use super::{Geometry, Line, OUTSIDE};
use std::ops::Range;

/// Lanes of one f32 vector register: the longest segment and the widest
/// input-row window the kernels handle.
const LANES: usize = 16;

/// One innermost kernel offset: segment positions `lo..lo + count` read
/// input columns `start..start + count` of their row.
struct LineRun {
    lo: usize,
    count: usize,
    start: usize,
}

/// An input row col2im adds into, and the `(outer kernel offset, segment)`
/// pairs that read it, as a range of [`Runs::sources`].
struct Destination {
    offset: usize,
    sources: Range<usize>,
}

/// What the kernels need beyond the geometry, computed once per
/// convolution.
pub(super) struct Runs {
    lines: Vec<LineRun>,
    /// The first input column any line reads and how many columns from
    /// there the lines span.
    first_column: usize,
    width: usize,
    /// The rows col2im adds into; empty when `width` is over [`LANES`]
    /// (col2im then takes the portable loop).
    destinations: Vec<Destination>,
    sources: Vec<(usize, usize)>,
}

impl Runs {
    /// The runs of `g`, or `None` when the geometry does not fit the
    /// kernels (a segment longer than [`LANES`], strided or dilated input
    /// rows, or no line reading anything).
    pub(super) fn new(g: &Geometry) -> Option<Runs> {
        if g.row_len > LANES || g.row_len == 0 {
            return None;
        }
        let lines = g
            .lines
            .iter()
            .map(|line| match *line {
                Line::Affine { lo, hi, start, step } if step == 1 || hi - lo <= 1 => Some(LineRun {
                    lo,
                    count: hi - lo,
                    start,
                }),
                _ => None,
            })
            .collect::<Option<Vec<_>>>()?;
        let reading = || lines.iter().filter(|l| l.count > 0);
        let first_column = reading().map(|l| l.start).min()?;
        let width = reading().map(|l| l.start + l.count).max()? - first_column;
        // Every read and write stays inside its plane: checked here once,
        // so the kernels' unchecked accesses are in bounds.
        let in_plane = g
            .bases
            .iter()
            .flatten()
            .filter(|&&b| b != OUTSIDE)
            .all(|&b| b + first_column + width <= g.plane);
        if !in_plane {
            return None;
        }
        let mut runs = Runs {
            lines,
            first_column,
            width,
            destinations: Vec::new(),
            sources: Vec::new(),
        };
        if width <= LANES {
            runs.plan_accumulation(g);
        }
        Some(runs)
    }

    /// Whether col2im fits the kernel.
    pub(super) fn accumulates(&self) -> bool {
        !self.destinations.is_empty()
    }

    fn plan_accumulation(&mut self, g: &Geometry) {
        let mut pairs: Vec<(usize, usize, usize)> = Vec::new();
        for (outer, bases) in g.bases.iter().enumerate() {
            for (segment, &base) in bases.iter().enumerate() {
                if base != OUTSIDE {
                    pairs.push((base, outer, segment));
                }
            }
        }
        // By row, then by outer kernel offset: the portable loop's order
        // of additions into any one element.
        pairs.sort_unstable();
        let mut destinations: Vec<Destination> = Vec::new();
        for (i, &(base, _, _)) in pairs.iter().enumerate() {
            match destinations.last_mut() {
                Some(d) if d.offset == base => d.sources.end = i + 1,
                _ => destinations.push(Destination {
                    offset: base,
                    sources: i..i + 1,
                }),
            }
        }
        self.sources = pairs.into_iter().map(|(_, o, s)| (o, s)).collect();
        self.destinations = destinations;
    }
}

/// Whether this CPU runs the kernels.
pub(super) fn available() -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        std::is_x86_feature_detected!("avx512f")
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        false
    }
}

/// The kernels' plan for `g` when this CPU runs them. Panics unless the
/// image holds `g`'s channels and the column matrix its rows, `ld` apart
/// from `column`: with `Runs::new`'s plane check, that keeps every access
/// of the kernels in bounds.
fn checked<'g>(
    g: &'g Geometry,
    op: &str,
    image: usize,
    col: usize,
    ld: usize,
    column: usize,
) -> Option<&'g Runs> {
    let runs = g.vector.as_ref().filter(|_| available())?;
    assert!(image >= g.channels * g.plane, "{op}: image too short");
    assert!(
        g.rows() == 0 || col >= (g.rows() - 1) * ld + column + g.positions,
        "{op}: column matrix too short"
    );
    Some(runs)
}

/// [`Geometry::im2col`] for f32 on AVX-512; false (nothing written) when
/// the CPU or the geometry does not fit.
pub(super) fn im2col(g: &Geometry, image: &[f32], col: &mut [f32], ld: usize, column: usize) -> bool {
    let Some(runs) = checked(g, "im2col", image.len(), col.len(), ld, column) else {
        return false;
    };
    #[cfg(target_arch = "x86_64")]
    // SAFETY: the CPU has AVX-512F and `checked` bounds every access.
    unsafe {
        x86::im2col(g, runs, image, col, ld, column)
    };
    // Elsewhere `checked` finds no AVX-512 and this is not reached.
    #[cfg(not(target_arch = "x86_64"))]
    let _ = runs;
    true
}

/// [`Geometry::col2im`] for f32 on AVX-512; false (nothing added) when the
/// CPU or the geometry does not fit.
pub(super) fn col2im(g: &Geometry, col: &[f32], ld: usize, column: usize, image: &mut [f32]) -> bool {
    let runs = checked(g, "col2im", image.len(), col.len(), ld, column);
    let Some(runs) = runs.filter(|r| r.accumulates()) else {
        return false;
    };
    #[cfg(target_arch = "x86_64")]
    // SAFETY: as in `im2col`.
    unsafe {
        x86::col2im(g, runs, col, ld, column, image)
    };
    // Elsewhere `checked` finds no AVX-512 and this is not reached.
    #[cfg(not(target_arch = "x86_64"))]
    let _ = runs;
    true
}

#[cfg(target_arch = "x86_64")]
mod x86 {
    use super::{Geometry, Runs, OUTSIDE};
    use std::arch::x86_64::*;

    /// Lanes `first..first + count` set.
    #[inline(always)]
    fn lanes(first: usize, count: usize) -> __mmask16 {
        (((1u32 << count) - 1) << first) as __mmask16
    }

    /// # Safety
    /// AVX-512F; `image` holds the geometry's channels, `col` its rows `ld`
    /// apart from `column`, and `runs` was built from `g`.
    #[target_feature(enable = "avx512f")]
    pub(super) unsafe fn im2col(
        g: &Geometry,
        runs: &Runs,
        image: &[f32],
        col: &mut [f32],
        ld: usize,
        column: usize,
    ) {
        let len = g.row_len;
        let store = lanes(0, len);
        let zero = _mm512_setzero_ps();
        let rows_per_outer = runs.lines.len();
        for c in 0..g.channels {
            let plane = image.as_ptr().add(c * g.plane);
            for (outer, bases) in g.bases.iter().enumerate() {
                for (inner, line) in runs.lines.iter().enumerate() {
                    let r = c * g.kernel_size + outer * rows_per_outer + inner;
                    let row = col.as_mut_ptr().add(r * ld + column);
                    let load = lanes(line.lo, line.count);
                    for (s, &base) in bases.iter().enumerate() {
                        let v = if base == OUTSIDE {
                            zero
                        } else {
                            // Lane `lo` reads column `start`; lanes outside
                            // the mask are not read (and do not fault).
                            let at = plane.wrapping_add(base + line.start).wrapping_sub(line.lo);
                            _mm512_maskz_loadu_ps(load, at)
                        };
                        _mm512_mask_storeu_ps(row.add(s * len), store, v);
                    }
                }
            }
        }
    }

    /// # Safety
    /// As for [`im2col`].
    #[target_feature(enable = "avx512f")]
    pub(super) unsafe fn col2im(
        g: &Geometry,
        runs: &Runs,
        col: &[f32],
        ld: usize,
        column: usize,
        image: &mut [f32],
    ) {
        let len = g.row_len;
        let window = lanes(0, runs.width);
        let rows_per_outer = runs.lines.len();
        for c in 0..g.channels {
            let plane = image.as_mut_ptr().add(c * g.plane);
            let rows = col.as_ptr().add(c * g.kernel_size * ld + column);
            for d in &runs.destinations {
                let at = plane.add(d.offset + runs.first_column);
                let mut acc = _mm512_maskz_loadu_ps(window, at);
                for &(outer, s) in &runs.sources[d.sources.clone()] {
                    for (inner, line) in runs.lines.iter().enumerate() {
                        if line.count == 0 {
                            continue;
                        }
                        // Segment element `lo` lands on lane `start - first_column`.
                        let lane = line.start - runs.first_column;
                        let row = rows.add((outer * rows_per_outer + inner) * ld + s * len + line.lo);
                        let m = lanes(lane, line.count);
                        let v = _mm512_maskz_loadu_ps(m, row.wrapping_sub(lane));
                        // Lanes outside `m` keep their value exactly.
                        acc = _mm512_mask_add_ps(acc, m, acc, v);
                    }
                }
                _mm512_mask_storeu_ps(at, window, acc);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::Geometry;
    use myelin_core::shape::conv::ConvSpec;

    /// Geometries the kernels take and ones they refuse: valid, same
    /// padding, strides, dilations, 1 to 3 dims, 16- and 17-wide rows.
    fn geometries() -> Vec<(Geometry, bool, bool)> {
        let spec = |rank: usize, f: &dyn Fn(&mut ConvSpec)| {
            let mut s = ConvSpec::new(rank);
            f(&mut s);
            s
        };
        let out = |input: &[usize], k: &[usize], s: &ConvSpec| -> Vec<usize> {
            (0..input.len())
                .map(|d| {
                    let padded = (input[d] - 1) * s.input_dilation[d] + 1 + s.padding[d].0 + s.padding[d].1;
                    let reach = (k[d] - 1) * s.kernel_dilation[d] + 1;
                    (padded - reach) / s.strides[d] + 1
                })
                .collect()
        };
        // (channels, input, kernel, spec, im2col fits, col2im fits)
        type Case = (usize, Vec<usize>, Vec<usize>, ConvSpec, bool, bool);
        let cases: Vec<Case> = vec![
            (3, vec![13, 13], vec![3, 3], spec(2, &|_| {}), true, true),
            (
                2,
                vec![9, 9],
                vec![3, 3],
                spec(2, &|s| s.padding = vec![(1, 1); 2]),
                true,
                true,
            ),
            (
                2,
                vec![9, 10],
                vec![3, 2],
                spec(2, &|s| s.padding = vec![(2, 0), (0, 3)]),
                true,
                true,
            ),
            (
                2,
                vec![11, 11],
                vec![3, 3],
                spec(2, &|s| s.strides = vec![2, 1]),
                true,
                true,
            ),
            (
                2,
                vec![12, 12],
                vec![3, 3],
                spec(2, &|s| s.kernel_dilation = vec![2, 2]),
                true,
                true,
            ),
            (
                2,
                vec![4, 5, 6],
                vec![2, 2, 3],
                spec(3, &|s| s.padding = vec![(1, 0); 3]),
                true,
                true,
            ),
            (4, vec![16], vec![1], spec(1, &|_| {}), true, true),
            // 16 positions, but they read 18 input columns.
            (4, vec![18], vec![3], spec(1, &|_| {}), true, false),
            (2, vec![6, 18], vec![2, 2], spec(2, &|_| {}), false, false),
            (
                2,
                vec![9, 9],
                vec![3, 3],
                spec(2, &|s| s.strides = vec![1, 2]),
                false,
                false,
            ),
            (
                2,
                vec![5, 5],
                vec![2, 2],
                spec(2, &|s| s.input_dilation = vec![2, 2]),
                false,
                false,
            ),
        ];
        cases
            .into_iter()
            .map(|(c, input, k, s, im2col, col2im)| {
                let o = out(&input, &k, &s);
                (Geometry::new(c, &input, &k, &o, &s), im2col, col2im)
            })
            .collect()
    }

    fn values(len: usize, seed: u32) -> Vec<f32> {
        (0..len as u32)
            .map(|i| ((i.wrapping_mul(2_654_435_761) ^ seed) % 1000) as f32 / 7.0 - 70.0)
            .collect()
    }

    #[test]
    fn kernels_match_the_portable_loops_bit_for_bit() {
        if !super::available() {
            eprintln!("skipped: this CPU has no AVX-512F, so the kernels never run");
            return;
        }
        for (i, (g, im2col_fits, col2im_fits)) in geometries().into_iter().enumerate() {
            let takes = (
                g.vector.is_some(),
                g.vector.as_ref().is_some_and(|r| r.accumulates()),
            );
            assert_eq!(
                takes,
                (im2col_fits, col2im_fits),
                "geometry {i}: which kernels take it"
            );
            let (p, images) = (g.positions(), 3);
            let ld = p * images + 5;
            let image = values(g.channels * g.plane, i as u32);
            // Stale values around the written columns must stay as they are.
            let mut want = values(g.rows() * ld, 99);
            let mut got = want.clone();
            for b in 0..images {
                g.im2col_portable(&image, &mut want, ld, 2 + b * p);
                assert_eq!(super::im2col(&g, &image, &mut got, ld, 2 + b * p), im2col_fits);
            }
            if !im2col_fits {
                continue;
            }
            assert!(
                want.iter().zip(&got).all(|(a, b)| a.to_bits() == b.to_bits()),
                "geometry {i}: im2col"
            );

            let col = values(g.rows() * ld, 7 + i as u32);
            let mut want = values(g.channels * g.plane, 5);
            let mut got = want.clone();
            g.col2im_portable(&col, ld, 2 + p, &mut want);
            assert_eq!(super::col2im(&g, &col, ld, 2 + p, &mut got), col2im_fits);
            if !col2im_fits {
                continue;
            }
            assert!(
                want.iter().zip(&got).all(|(a, b)| a.to_bits() == b.to_bits()),
                "geometry {i}: col2im"
            );
        }
    }
}
