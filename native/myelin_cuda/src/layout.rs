//! Plain-data structs passed by value to kernels, mirroring the structs of
//! the same names in `kernels/*.cu` field for field (`#[repr(C)]`), and the
//! host-side logic that fills them. Nothing here touches the GPU, so it is
//! tested on every machine.

use myelin_core::{Error, Result};

/// The most axes a strided kernel takes (`MYELIN_MAX_DIMS` in the prelude).
pub const MAX_DIMS: usize = 8;

/// How an elementwise kernel reads up to three operands: the output's
/// shape, and per operand its strides in elements (0 on broadcast axes).
/// `ndim == 0` tells the kernel every operand is dense and of the output's
/// shape, so it indexes them directly.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct StridedLayout {
    /// Axes in use (0: all operands dense, same shape).
    pub ndim: i32,
    /// Keeps `shape` 8-byte aligned, as in the C struct.
    pub pad_: i32,
    /// The iteration shape.
    pub shape: [i64; MAX_DIMS],
    /// Strides in elements, per operand.
    pub strides: [[i64; MAX_DIMS]; 3],
}

impl StridedLayout {
    /// The layout for operands that are all dense and shaped like the output.
    pub const DENSE: StridedLayout = StridedLayout {
        ndim: 0,
        pad_: 0,
        shape: [0; MAX_DIMS],
        strides: [[0; MAX_DIMS]; 3],
    };

    /// The layout for an elementwise op whose output has dims `out` and
    /// whose (at most three) operands have dims `operands`, broadcast to
    /// `out` by Nx's rule (aligned at the right; size-1 axes repeat).
    /// Adjacent axes that are contiguous in every operand are merged, so a
    /// bias added to a `{128, 10}` matrix becomes a two-axis walk whatever
    /// the rank.
    pub fn broadcast(op: &str, out: &[usize], operands: &[&[usize]]) -> Result<StridedLayout> {
        if operands.len() > 3 {
            return Err(Error::internal(op, "more than three operands"));
        }
        if operands.iter().all(|dims| *dims == out) {
            return Ok(StridedLayout::DENSE);
        }
        // Per operand, strides aligned to the output's axes.
        let mut strides: Vec<Vec<i64>> = Vec::with_capacity(operands.len());
        for dims in operands {
            if dims.len() > out.len() {
                return Err(Error::internal(op, "operand of higher rank than the output"));
            }
            let lead = out.len() - dims.len();
            let mut s = vec![0i64; out.len()];
            let mut step = 1i64;
            for axis in (0..dims.len()).rev() {
                let (d, o) = (dims[axis], out[lead + axis]);
                if d != o && d != 1 {
                    return Err(Error::internal(
                        op,
                        format!("cannot broadcast {dims:?} to {out:?}"),
                    ));
                }
                s[lead + axis] = if d == 1 { 0 } else { step };
                step *= d as i64;
            }
            strides.push(s);
        }
        let (shape, strides) = merge_axes(out, strides);
        StridedLayout::from_parts(op, &shape, &strides)
    }

    /// The layout for `copy_strided`: walk `region`, reading at
    /// `src_strides` and writing at `dst_strides` (element strides, any
    /// sign).
    pub fn copy(
        op: &str,
        region: &[usize],
        src_strides: &[i64],
        dst_strides: &[i64],
    ) -> Result<StridedLayout> {
        let (shape, strides) = merge_axes(region, vec![src_strides.to_vec(), dst_strides.to_vec()]);
        let mut layout = StridedLayout::from_parts(op, &shape, &strides)?;
        // ndim 0 would mean "dense"; a copy always walks its strides.
        if layout.ndim == 0 {
            layout.ndim = 1;
            layout.shape[0] = 1;
        }
        Ok(layout)
    }

    fn from_parts(op: &str, shape: &[usize], strides: &[Vec<i64>]) -> Result<StridedLayout> {
        if shape.len() > MAX_DIMS {
            return Err(Error::arg(
                op,
                format!(
                    "the CUDA kernels take at most {MAX_DIMS} non-mergeable axes, got {}",
                    shape.len()
                ),
            ));
        }
        let mut layout = StridedLayout::DENSE;
        layout.ndim = shape.len() as i32;
        for (axis, &d) in shape.iter().enumerate() {
            layout.shape[axis] = d as i64;
            for (k, s) in strides.iter().enumerate() {
                layout.strides[k][axis] = s[axis];
            }
        }
        Ok(layout)
    }
}

/// Drops size-1 axes and merges axis `a` into the next one `b` wherever
/// every operand has `stride[a] == stride[b] * dims[b]` (contiguous).
fn merge_axes(dims: &[usize], strides: Vec<Vec<i64>>) -> (Vec<usize>, Vec<Vec<i64>>) {
    let mut out_dims: Vec<usize> = Vec::new();
    let mut out_strides: Vec<Vec<i64>> = vec![Vec::new(); strides.len()];
    for axis in 0..dims.len() {
        let d = dims[axis];
        if d == 1 {
            continue;
        }
        let mergeable = !out_dims.is_empty()
            && strides.iter().zip(&out_strides).all(|(s, o)| {
                let last = *o.last().expect("non-empty");
                last == s[axis] * d as i64
            });
        if mergeable {
            *out_dims.last_mut().expect("non-empty") *= d;
            for (s, o) in strides.iter().zip(out_strides.iter_mut()) {
                *o.last_mut().expect("non-empty") = s[axis];
            }
        } else {
            out_dims.push(d);
            for (s, o) in strides.iter().zip(out_strides.iter_mut()) {
                o.push(s[axis]);
            }
        }
    }
    (out_dims, out_strides)
}

/// A 2-D convolution's geometry for `im2col`/`col2im` (one image,
/// channels first). Mirrors `ConvGeometry` in `kernels/conv.cu`.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct ConvGeometry {
    pub channels: i64,
    pub height: i64,
    pub width: i64,
    pub kernel_h: i64,
    pub kernel_w: i64,
    pub out_h: i64,
    pub out_w: i64,
    pub stride_h: i64,
    pub stride_w: i64,
    pub pad_h: i64,
    pub pad_w: i64,
    pub dilation_h: i64,
    pub dilation_w: i64,
}

/// A 2-D pooling's geometry over `{planes, H, W}`. Mirrors `PoolGeometry`
/// in `kernels/pool.cu`.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct PoolGeometry {
    pub planes: i64,
    pub height: i64,
    pub width: i64,
    pub size_h: i64,
    pub size_w: i64,
    pub out_h: i64,
    pub out_w: i64,
    pub stride_h: i64,
    pub stride_w: i64,
    pub pad_h: i64,
    pub pad_w: i64,
}

/// An optimizer step's shared values. Mirrors `Step` in
/// `kernels/optimizer.cu`.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Default)]
pub struct Step {
    /// Learning rate.
    pub lr: f64,
    /// Weight decay (L2 or decoupled, by rule).
    pub weight_decay: f64,
    /// Global-norm clipping scale (1 when off).
    pub scale: f64,
    /// Clip-by-value bound, applied when `clip_by_value` is nonzero.
    pub clip_value: f64,
    /// 1 to clip gradients to `[-clip_value, clip_value]`, else 0.
    pub clip_by_value: i64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_shapes_are_dense() {
        let l = StridedLayout::broadcast("add", &[2, 3], &[&[2, 3], &[2, 3]]).unwrap();
        assert_eq!(l, StridedLayout::DENSE);
    }

    #[test]
    fn a_bias_row_broadcasts_with_stride_zero() {
        let l = StridedLayout::broadcast("add", &[4, 2, 3], &[&[4, 2, 3], &[3]]).unwrap();
        // {4, 2} merge for the matrix but not for the bias: {8, 3}.
        assert_eq!(l.ndim, 2);
        assert_eq!(&l.shape[..2], &[8, 3]);
        assert_eq!(&l.strides[0][..2], &[3, 1]);
        assert_eq!(&l.strides[1][..2], &[0, 1]);
    }

    #[test]
    fn a_column_broadcasts_along_rows() {
        let l = StridedLayout::broadcast("subtract", &[5, 7], &[&[5, 7], &[5, 1]]).unwrap();
        assert_eq!(&l.shape[..2], &[5, 7]);
        assert_eq!(&l.strides[1][..2], &[1, 0]);
    }

    #[test]
    fn scalars_and_unit_axes() {
        let l = StridedLayout::broadcast("multiply", &[1, 6, 1], &[&[1, 6, 1], &[]]).unwrap();
        assert_eq!(l.ndim, 1);
        assert_eq!(l.shape[0], 6);
        assert_eq!((l.strides[0][0], l.strides[1][0]), (1, 0));
    }

    #[test]
    fn bad_broadcasts_are_errors() {
        assert!(StridedLayout::broadcast("add", &[2, 3], &[&[2, 4]]).is_err());
        assert!(StridedLayout::broadcast("add", &[3], &[&[2, 3]]).is_err());
    }

    #[test]
    fn a_transpose_copy_keeps_both_axes() {
        // Reading a {2, 3} matrix transposed into a dense {3, 2}.
        let l = StridedLayout::copy("transpose", &[3, 2], &[1, 3], &[2, 1]).unwrap();
        assert_eq!(l.ndim, 2);
        assert_eq!(&l.strides[0][..2], &[1, 3]);
        // A plain dense copy merges to one axis.
        let l = StridedLayout::copy("copy", &[4, 5], &[5, 1], &[5, 1]).unwrap();
        assert_eq!((l.ndim, l.shape[0]), (1, 20));
        let l = StridedLayout::copy("copy", &[1], &[1], &[1]).unwrap();
        assert_eq!((l.ndim, l.shape[0]), (1, 1));
    }

    #[test]
    fn too_many_axes_are_a_clear_error() {
        let dims = [2usize; 9];
        let strides: Vec<i64> = (0..9).map(|i| 1i64 << (2 * i)).collect();
        let e = StridedLayout::copy("transpose", &dims, &strides, &strides).unwrap_err();
        assert!(e.message().contains("at most 8"), "{e}");
    }

    #[test]
    fn struct_sizes_match_the_c_side() {
        assert_eq!(std::mem::size_of::<StridedLayout>(), 8 + 8 * 8 + 3 * 8 * 8);
        assert_eq!(std::mem::size_of::<ConvGeometry>(), 13 * 8);
        assert_eq!(std::mem::size_of::<PoolGeometry>(), 11 * 8);
        assert_eq!(std::mem::size_of::<Step>(), 5 * 8);
    }
}
