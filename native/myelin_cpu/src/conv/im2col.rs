//! im2col and its adjoint col2im for one image, in 1 to 3 spatial dims.
//!
//! The column matrix of an image has one row per (channel, kernel offset)
//! pair, `C * K` rows in channel-major order, and one column per output
//! position, `P` columns in row-major order. Row `c*K + k`, column `p` holds
//! the input element that kernel element `k` of channel `c` meets at output
//! position `p`, or zero where it falls into padding or between dilated
//! input elements. A convolution is then one GEMM per group:
//! `out[O, P] = kernel[O, C*K] × col[C*K, P]`.
//!
//! A row is filled segment by segment, one segment per output row (the
//! innermost spatial dim), each read from one input row; with unit stride
//! that is one slice copy. Which input row each segment reads depends only
//! on the kernel offset, not on the channel, so it is computed once here:
//! per-segment index arithmetic cost as much as the GEMM on small images.

mod avx512;

use myelin_core::shape::conv::ConvSpec;
use std::ops::AddAssign;

/// Marks a segment or position whose input falls outside the image.
const OUTSIDE: usize = usize::MAX;

/// Where the kernel element at one offset of the innermost dim reads an
/// input row, for each output position of that dim.
enum Line {
    /// Positions `lo..hi` read input `start + (o - lo) * step`; the rest
    /// read padding.
    Affine {
        lo: usize,
        hi: usize,
        start: usize,
        step: usize,
    },
    /// The input index of every position, or [`OUTSIDE`] (input dilation).
    Table(Vec<usize>),
}

/// The index arithmetic of one convolution, shared by every image.
pub(crate) struct Geometry {
    /// Input channels.
    channels: usize,
    /// Kernel elements per channel (`K`).
    kernel_size: usize,
    /// Output positions (`P`).
    positions: usize,
    /// Elements of one input channel plane.
    plane: usize,
    /// Output positions of the innermost dim: the segment length.
    row_len: usize,
    /// For each kernel offset over the outer dims (all but the innermost,
    /// row-major), the plane offset of the input row each segment reads,
    /// or [`OUTSIDE`] when that row lies in padding.
    bases: Vec<Vec<usize>>,
    /// For each kernel offset of the innermost dim, its [`Line`].
    lines: Vec<Line>,
    /// The column matrix is the image itself (1×1 kernel, unit stride, no
    /// padding or dilation), so im2col can be skipped.
    pub(crate) pointwise: bool,
    /// The plan of the f32 AVX-512 kernels, when the geometry fits them.
    vector: Option<avx512::Runs>,
}

/// The element types of column matrices: f32 and f64, the types
/// convolutions compute in. f32 has vector kernels for short rows.
pub(crate) trait ColumnElement: Copy + Default + AddAssign {
    /// Runs [`Geometry::im2col`] with vector kernels if this type, the CPU
    /// and the geometry have them; returns whether it did.
    fn im2col_vector(_g: &Geometry, _image: &[Self], _col: &mut [Self], _ld: usize, _column: usize) -> bool {
        false
    }

    /// Runs [`Geometry::col2im`] with vector kernels if this type, the CPU
    /// and the geometry have them; returns whether it did.
    fn col2im_vector(_g: &Geometry, _col: &[Self], _ld: usize, _column: usize, _image: &mut [Self]) -> bool {
        false
    }
}

impl ColumnElement for f64 {}

impl ColumnElement for f32 {
    fn im2col_vector(g: &Geometry, image: &[f32], col: &mut [f32], ld: usize, column: usize) -> bool {
        avx512::im2col(g, image, col, ld, column)
    }

    fn col2im_vector(g: &Geometry, col: &[f32], ld: usize, column: usize, image: &mut [f32]) -> bool {
        avx512::col2im(g, col, ld, column, image)
    }
}

impl Geometry {
    /// The geometry for images of `channels × in_dims`, a kernel of `k_dims`
    /// and output `out_dims` (already validated by the shape rule).
    pub(crate) fn new(
        channels: usize,
        in_dims: &[usize],
        k_dims: &[usize],
        out_dims: &[usize],
        spec: &ConvSpec,
    ) -> Geometry {
        let rank = in_dims.len();
        let last = rank - 1;
        // The input index kernel offset k meets at output o in dim d.
        let source = |d: usize, k: usize, o: usize| -> usize {
            let v = (o * spec.strides[d] + k * spec.kernel_dilation[d]) as isize - spec.padding[d].0 as isize;
            let dil = spec.input_dilation[d] as isize;
            if v < 0 || v % dil != 0 || v / dil >= in_dims[d] as isize {
                OUTSIDE
            } else {
                (v / dil) as usize
            }
        };
        let mut in_strides = vec![1; rank];
        for d in (0..last).rev() {
            in_strides[d] = in_strides[d + 1] * in_dims[d + 1];
        }
        // Row offsets over the outer dims, built up one dim at a time: for
        // each (kernel prefix, output prefix) pair, the offset so far.
        let mut bases = vec![vec![0usize]];
        for d in 0..last {
            let mut next = Vec::with_capacity(bases.len() * k_dims[d]);
            for prefix in &bases {
                for k in 0..k_dims[d] {
                    let mut row = Vec::with_capacity(prefix.len() * out_dims[d]);
                    for &b in prefix {
                        for o in 0..out_dims[d] {
                            row.push(match (b, source(d, k, o)) {
                                (OUTSIDE, _) | (_, OUTSIDE) => OUTSIDE,
                                (b, i) => b + i * in_strides[d],
                            });
                        }
                    }
                    next.push(row);
                }
            }
            bases = next;
        }
        let lines = (0..k_dims[last])
            .map(|k| {
                let table: Vec<usize> = (0..out_dims[last]).map(|o| source(last, k, o)).collect();
                if spec.input_dilation[last] > 1 {
                    return Line::Table(table);
                }
                // Without input dilation the valid positions are contiguous.
                let lo = table.iter().position(|&i| i != OUTSIDE).unwrap_or(0);
                let hi = table.iter().rposition(|&i| i != OUTSIDE).map_or(lo, |p| p + 1);
                let start = if hi > lo { table[lo] } else { 0 };
                Line::Affine {
                    lo,
                    hi,
                    start,
                    step: spec.strides[last],
                }
            })
            .collect();
        let pointwise = k_dims.iter().all(|&k| k == 1)
            && spec.strides.iter().all(|&s| s == 1)
            && spec.input_dilation.iter().all(|&s| s == 1)
            && spec.padding.iter().all(|&p| p == (0, 0));
        let mut geometry = Geometry {
            channels,
            kernel_size: k_dims.iter().product(),
            positions: out_dims.iter().product(),
            plane: in_dims.iter().product(),
            row_len: out_dims[last],
            bases,
            lines,
            pointwise,
            vector: None,
        };
        geometry.vector = avx512::Runs::new(&geometry);
        geometry
    }

    /// Rows of the column matrix (`C * K`).
    pub(crate) fn rows(&self) -> usize {
        self.channels * self.kernel_size
    }

    /// Columns of the column matrix (`P`).
    pub(crate) fn positions(&self) -> usize {
        self.positions
    }

    /// Calls `f(row_offset, plane_offset, bases, line)` for every row of
    /// the column matrix, whose rows are `ld` apart and start at column
    /// `column`: `row_offset` is where the row starts, `plane_offset` where
    /// its channel starts in the image, and `bases` and `line` locate the
    /// row's segments in that plane.
    fn for_each_row(&self, ld: usize, column: usize, mut f: impl FnMut(usize, usize, &[usize], &Line)) {
        let k_last = self.lines.len();
        for c in 0..self.channels {
            for (ko, bases) in self.bases.iter().enumerate() {
                for (kl, line) in self.lines.iter().enumerate() {
                    let r = c * self.kernel_size + ko * k_last + kl;
                    f(r * ld + column, c * self.plane, bases, line);
                }
            }
        }
    }

    /// Fills columns `column..column + positions()` of `col` (`rows()`
    /// rows, `ld` apart) from one image. Several images side by side make
    /// one wide matrix, so one GEMM serves them all.
    pub(crate) fn im2col<T: ColumnElement>(&self, image: &[T], col: &mut [T], ld: usize, column: usize) {
        if !T::im2col_vector(self, image, col, ld, column) {
            self.im2col_portable(image, col, ld, column);
        }
    }

    fn im2col_portable<T: Copy + Default>(&self, image: &[T], col: &mut [T], ld: usize, column: usize) {
        let (len, zero) = (self.row_len, T::default());
        self.for_each_row(ld, column, |at, plane, bases, line| {
            let row = &mut col[at..at + self.positions];
            let plane = &image[plane..plane + self.plane];
            let segments = row.chunks_exact_mut(len).zip(bases);
            match line {
                &Line::Affine { lo, hi, start, step } => {
                    for (seg, &base) in segments {
                        if base == OUTSIDE {
                            seg.fill(zero);
                            continue;
                        }
                        let src = &plane[base + start..];
                        let (head, rest) = seg.split_at_mut(lo);
                        let (mid, tail) = rest.split_at_mut(hi - lo);
                        head.fill(zero);
                        tail.fill(zero);
                        if step == 1 {
                            // Short rows: an inlined loop beats a memcpy call.
                            for (v, &x) in mid.iter_mut().zip(&src[..hi - lo]) {
                                *v = x;
                            }
                        } else {
                            for (v, x) in mid.iter_mut().zip(src.iter().step_by(step)) {
                                *v = *x;
                            }
                        }
                    }
                }
                Line::Table(table) => {
                    for (seg, &base) in segments {
                        if base == OUTSIDE {
                            seg.fill(zero);
                            continue;
                        }
                        let src = &plane[base..];
                        for (v, &i) in seg.iter_mut().zip(table) {
                            *v = if i == OUTSIDE { zero } else { src[i] };
                        }
                    }
                }
            }
        });
    }

    /// Adds every element of one image's columns of `col` into the image
    /// element it was read from (the adjoint of [`Geometry::im2col`]).
    /// `image` must start zeroed or hold what the additions go onto.
    pub(crate) fn col2im<T: ColumnElement>(&self, col: &[T], ld: usize, column: usize, image: &mut [T]) {
        if !T::col2im_vector(self, col, ld, column, image) {
            self.col2im_portable(col, ld, column, image);
        }
    }

    fn col2im_portable<T: Copy + AddAssign>(&self, col: &[T], ld: usize, column: usize, image: &mut [T]) {
        let len = self.row_len;
        self.for_each_row(ld, column, |at, plane, bases, line| {
            let row = &col[at..at + self.positions];
            let plane = &mut image[plane..plane + self.plane];
            let segments = row
                .chunks_exact(len)
                .zip(bases)
                .filter(|(_, &base)| base != OUTSIDE);
            match line {
                &Line::Affine { lo, hi, start, step } => {
                    for (seg, &base) in segments {
                        let dst = &mut plane[base + start..];
                        if step == 1 {
                            for (d, &v) in dst[..hi - lo].iter_mut().zip(&seg[lo..hi]) {
                                *d += v;
                            }
                        } else {
                            for (d, &v) in dst.iter_mut().step_by(step).zip(&seg[lo..hi]) {
                                *d += v;
                            }
                        }
                    }
                }
                Line::Table(table) => {
                    for (seg, &base) in segments {
                        let dst = &mut plane[base..];
                        for (&v, &i) in seg.iter().zip(table) {
                            if i != OUTSIDE {
                                dst[i] += v;
                            }
                        }
                    }
                }
            }
        });
    }
}
