//! Shape rules of the data-movement ops: transpose, squeeze, new_axis,
//! broadcast, slice, put_slice, concatenate, pad and reverse.
//!
//! Rules that move data return a [`View`] describing where each output
//! element comes from (or, for writes, goes to), so the backend needs one
//! strided-copy kernel rather than one loop per op.

use super::view::View;
use super::Shape;
use crate::error::{Error, Result};

/// The rule of `transpose`: `axes` (default: reversed) must be a permutation
/// of the axes. Returns the view of the input in output order.
pub fn transpose(shape: &Shape, axes: Option<&[i64]>) -> Result<View> {
    let rank = shape.rank();
    let perm: Vec<usize> = match axes {
        None => (0..rank).rev().collect(),
        Some(axes) => {
            if axes.len() != rank {
                return Err(Error::arg(
                    "transpose",
                    format!(
                        "expected axes to be a permutation of the {rank} axes of a tensor of shape {shape}, got {axes:?}"
                    ),
                ));
            }
            let mut perm = Vec::with_capacity(rank);
            for &a in axes {
                let n = shape.axis("transpose", a)?;
                if perm.contains(&n) {
                    return Err(Error::arg(
                        "transpose",
                        format!("expected axes to be a permutation, got {axes:?} with axis {a} repeated"),
                    ));
                }
                perm.push(n);
            }
            perm
        }
    };
    Ok(View::dense(shape).permute(&perm))
}

/// The rule of `squeeze`: removes `axes` (default: every axis of size 1);
/// each must have size 1.
pub fn squeeze(shape: &Shape, axes: Option<&[i64]>) -> Result<Shape> {
    let drop: Vec<usize> = match axes {
        None => (0..shape.rank()).filter(|&i| shape.dims()[i] == 1).collect(),
        Some(axes) => {
            let axes = shape.axes("squeeze", axes)?;
            if let Some(&a) = axes.iter().find(|&&a| shape.dims()[a] != 1) {
                return Err(Error::arg(
                    "squeeze",
                    format!(
                        "cannot squeeze axis {a} of size {} in a tensor of shape {shape}: only axes of size 1 can be squeezed",
                        shape.dims()[a]
                    ),
                ));
            }
            axes
        }
    };
    let dims = (0..shape.rank())
        .filter(|i| !drop.contains(i))
        .map(|i| shape.dims()[i])
        .collect();
    Ok(Shape::new(dims))
}

/// The rule of `new_axis`: inserts an axis of size 1 at `axis`, which may be
/// `rank` (append) or negative (`-1` appends, as in Nx).
pub fn new_axis(op: &str, shape: &Shape, axis: i64) -> Result<Shape> {
    let rank = shape.rank() as i64;
    let a = if axis < 0 { axis + rank + 1 } else { axis };
    if a < 0 || a > rank {
        return Err(Error::arg(
            op,
            format!(
                "axis {axis} is out of range for inserting an axis into a tensor of shape {shape} (expected -{} to {rank})",
                rank + 1
            ),
        ));
    }
    let mut dims = shape.dims().to_vec();
    dims.insert(a as usize, 1);
    Ok(Shape::new(dims))
}

/// The rule of `broadcast(t, shape, axes: axes)`: input axis `i` maps to
/// output axis `axes[i]` (default: aligned to the right), and must have
/// size 1 or the output's size there. Returns the view of the input.
pub fn broadcast(from: &Shape, to: &Shape, axes: Option<&[i64]>) -> Result<View> {
    let bad = |why: String| {
        Err(Error::arg(
            "broadcast",
            format!("cannot broadcast a tensor of shape {from} to shape {to}{why}"),
        ))
    };
    let axes: Vec<usize> = match axes {
        None if from.rank() <= to.rank() => (to.rank() - from.rank()..to.rank()).collect(),
        None => return bad(String::new()),
        Some(axes) => {
            if axes.len() != from.rank() {
                return bad(format!(
                    " with axes {axes:?}: expected one axis per input dimension ({})",
                    from.rank()
                ));
            }
            let mut out = Vec::with_capacity(axes.len());
            for &a in axes {
                let n = to.axis("broadcast", a)?;
                if out.last().is_some_and(|&prev| prev >= n) {
                    return bad(format!(" with axes {axes:?}: axes must be in increasing order"));
                }
                out.push(n);
            }
            out
        }
    };
    let src = from.strides();
    let mut strides = vec![0isize; to.rank()];
    for (i, &a) in axes.iter().enumerate() {
        let d = from.dims()[i];
        if d != 1 && d != to.dims()[a] {
            return bad(String::new());
        }
        if d != 1 {
            strides[a] = src[i] as isize;
        }
    }
    Ok(View {
        dims: to.dims().to_vec(),
        strides,
        offset: 0,
    })
}

fn check_len(op: &str, what: &str, got: usize, shape: &Shape) -> Result<()> {
    if got == shape.rank() {
        Ok(())
    } else {
        Err(Error::arg(
            op,
            format!(
                "expected {} {what} for a tensor of shape {shape}, got {got}",
                shape.rank()
            ),
        ))
    }
}

/// Clamps a start index so that `len` elements fit in `dim` (Nx and XLA
/// clamp dynamic starts rather than failing).
fn clamp_start(start: i64, len: usize, dim: usize) -> usize {
    let max = (dim - len) as i64;
    start.clamp(0, max) as usize
}

/// The rule of `slice`: lengths must fit each dimension, strides must be
/// positive; starts are clamped so the slice fits. Returns the view of the input.
pub fn slice(shape: &Shape, starts: &[i64], lengths: &[i64], strides: &[i64]) -> Result<View> {
    check_len("slice", "start indices", starts.len(), shape)?;
    check_len("slice", "lengths", lengths.len(), shape)?;
    check_len("slice", "strides", strides.len(), shape)?;
    let mut s = Vec::with_capacity(shape.rank());
    let mut l = Vec::with_capacity(shape.rank());
    let mut st = Vec::with_capacity(shape.rank());
    for (i, &dim) in shape.dims().iter().enumerate() {
        let (len, stride) = (lengths[i], strides[i]);
        if len < 0 || len as u64 > dim as u64 {
            return Err(Error::arg(
                "slice",
                format!(
                    "length {len} at axis {i} does not fit in a tensor of shape {shape} (expected 0 to {dim})"
                ),
            ));
        }
        if stride < 1 {
            return Err(Error::arg(
                "slice",
                format!("stride {stride} at axis {i} must be positive"),
            ));
        }
        s.push(clamp_start(starts[i], len as usize, dim));
        l.push(len as usize);
        st.push(stride as usize);
    }
    Ok(View::dense(shape).slice(&s, &l, &st))
}

/// The rule of `put_slice`: the slice must have the tensor's rank and fit
/// inside it; starts are clamped so it does. Returns the view of the output
/// that the slice is written to.
pub fn put_slice(shape: &Shape, slice: &Shape, starts: &[i64]) -> Result<View> {
    check_len("put_slice", "start indices", starts.len(), shape)?;
    let fits = slice.rank() == shape.rank() && slice.dims().iter().zip(shape.dims()).all(|(s, d)| s <= d);
    if !fits {
        return Err(Error::arg(
            "put_slice",
            format!("a slice of shape {slice} does not fit in a tensor of shape {shape}"),
        ));
    }
    let s: Vec<usize> = (0..shape.rank())
        .map(|i| clamp_start(starts[i], slice.dims()[i], shape.dims()[i]))
        .collect();
    let ones = vec![1; shape.rank()];
    Ok(View::dense(shape).slice(&s, slice.dims(), &ones))
}

/// The rule of `concatenate`: every shape has the same rank and the same
/// dimensions except on `axis`. Returns the output shape and the axis.
pub fn concatenate(shapes: &[&Shape], axis: i64) -> Result<(Shape, usize)> {
    let first = shapes
        .first()
        .ok_or_else(|| Error::arg("concatenate", "expected a non-empty list of tensors"))?;
    let a = first.axis("concatenate", axis)?;
    let mut dims = first.dims().to_vec();
    for s in &shapes[1..] {
        let same =
            s.rank() == first.rank() && (0..s.rank()).all(|i| i == a || s.dims()[i] == first.dims()[i]);
        if !same {
            return Err(Error::arg(
                "concatenate",
                format!("expected all shapes to match except on axis {a}, got {first} and {s}"),
            ));
        }
        dims[a] += s.dims()[a];
    }
    Ok((Shape::new(dims), a))
}

/// How `pad` copies: the output shape, the part of the input that survives
/// negative padding, and where that part lands in the output.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PadPlan {
    /// The output shape.
    pub shape: Shape,
    /// The view of the input that is copied.
    pub src: View,
    /// The view of the output it is copied into (same dims as `src`).
    pub dst: View,
}

/// The rule of `pad`: one `(low, high, interior)` per axis; `interior` must
/// be non-negative, and negative `low`/`high` crop. No output dimension may
/// be negative.
pub fn pad(shape: &Shape, config: &[(i64, i64, i64)]) -> Result<PadPlan> {
    if config.len() != shape.rank() {
        return Err(Error::arg(
            "pad",
            format!(
                "expected a padding configuration of {} {{low, high, interior}} tuples for a tensor of shape {shape}, got {}",
                shape.rank(),
                config.len()
            ),
        ));
    }
    let mut out = Vec::with_capacity(shape.rank());
    let (mut starts, mut counts) = (Vec::new(), Vec::new());
    let mut firsts = Vec::new();
    let mut steps = Vec::new();
    for (i, (&d, &(lo, hi, interior))) in shape.dims().iter().zip(config).enumerate() {
        if interior < 0 {
            return Err(Error::arg(
                "pad",
                format!("interior padding must be non-negative, got {interior} at axis {i}"),
            ));
        }
        let d = d as i128;
        let (lo, hi, step) = (lo as i128, hi as i128, interior as i128 + 1);
        let core = if d > 0 { d + (d - 1) * (step - 1) } else { 0 };
        let n = lo + hi + core;
        if n < 0 || n > isize::MAX as i128 {
            return Err(Error::arg(
                "pad",
                format!(
                    "padding {:?} gives a negative size ({n}) on axis {i} of a tensor of shape {shape}",
                    (lo, hi, interior)
                ),
            ));
        }
        // Input element j lands at lo + j * step; keep those inside [0, n).
        let first = if lo < 0 { (-lo + step - 1) / step } else { 0 };
        let last = if n - 1 - lo >= 0 {
            ((n - 1 - lo) / step + 1).min(d)
        } else {
            0
        };
        let count = (last - first).max(0);
        out.push(n as usize);
        starts.push(first.min(d) as usize);
        counts.push(count as usize);
        firsts.push(if count > 0 {
            (lo + first * step) as usize
        } else {
            0
        });
        steps.push(step as usize);
    }
    let out = Shape::new(out);
    let ones = vec![1; shape.rank()];
    let src = View::dense(shape).slice(&starts, &counts, &ones);
    let dense = View::dense(&out);
    let dst = View {
        dims: counts,
        strides: dense
            .strides
            .iter()
            .zip(&steps)
            .map(|(&s, &k)| s * k as isize)
            .collect(),
        offset: if src.size() == 0 {
            0
        } else {
            firsts
                .iter()
                .zip(&dense.strides)
                .map(|(&f, &s)| f * s as usize)
                .sum()
        },
    };
    Ok(PadPlan { shape: out, src, dst })
}

/// The rule of `reverse`: reverses `axes` (default: all). Returns the view of the input.
pub fn reverse(shape: &Shape, axes: Option<&[i64]>) -> Result<View> {
    let axes = match axes {
        None => (0..shape.rank()).collect(),
        Some(a) => shape.axes("reverse", a)?,
    };
    Ok(View::dense(shape).reverse(&axes))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(d: &[usize]) -> Shape {
        Shape::from(d)
    }

    #[test]
    fn transpose_and_squeeze() {
        assert_eq!(transpose(&s(&[2, 3, 4]), None).unwrap().dims, vec![4, 3, 2]);
        let v = transpose(&s(&[2, 3, 4]), Some(&[1, -1, 0])).unwrap();
        assert_eq!((v.dims, v.strides), (vec![3, 4, 2], vec![4, 1, 12]));
        assert!(transpose(&s(&[2, 3]), Some(&[0, 0])).is_err());
        assert!(transpose(&s(&[2, 3]), Some(&[0])).is_err());
        assert_eq!(squeeze(&s(&[1, 2, 1]), None).unwrap(), s(&[2]));
        assert_eq!(squeeze(&s(&[1, 2, 1]), Some(&[-1])).unwrap(), s(&[1, 2]));
        let e = squeeze(&s(&[1, 2]), Some(&[1])).unwrap_err();
        assert!(e
            .message()
            .starts_with("squeeze: cannot squeeze axis 1 of size 2"));
        assert_eq!(new_axis("new_axis", &s(&[2]), -1).unwrap(), s(&[2, 1]));
        assert_eq!(new_axis("new_axis", &s(&[2]), 0).unwrap(), s(&[1, 2]));
        assert!(new_axis("new_axis", &s(&[2]), 2).is_err());
    }

    #[test]
    fn broadcast_views() {
        let v = broadcast(&s(&[3]), &s(&[2, 3]), None).unwrap();
        assert_eq!(v.strides, vec![0, 1]);
        let v = broadcast(&s(&[2]), &s(&[2, 3]), Some(&[0])).unwrap();
        assert_eq!(v.strides, vec![1, 0]);
        assert!(broadcast(&s(&[2]), &s(&[2, 3]), None).is_err());
        assert!(broadcast(&s(&[1, 1]), &s(&[2, 3]), Some(&[1, 0])).is_err());
    }

    #[test]
    fn slices_clamp() {
        let v = slice(&s(&[6]), &[5], &[2], &[1]).unwrap();
        assert_eq!((v.dims, v.offset), (vec![2], 4));
        let v = slice(&s(&[6]), &[-3], &[3], &[2]).unwrap();
        assert_eq!((v.dims, v.strides, v.offset), (vec![2], vec![2], 0));
        assert!(slice(&s(&[6]), &[0], &[7], &[1]).is_err());
        assert!(slice(&s(&[6]), &[0], &[1], &[0]).is_err());
        assert!(slice(&s(&[6]), &[0, 0], &[1], &[1]).is_err());
        let v = put_slice(&s(&[5]), &s(&[2]), &[4]).unwrap();
        assert_eq!(v.offset, 3);
        assert!(put_slice(&s(&[2]), &s(&[3]), &[0]).is_err());
    }

    #[test]
    fn concatenate_and_pad() {
        let (out, a) = concatenate(&[&s(&[2, 3]), &s(&[2, 1])], -1).unwrap();
        assert_eq!((out, a), (s(&[2, 4]), 1));
        let e = concatenate(&[&s(&[2, 3]), &s(&[3, 3])], 1).unwrap_err();
        assert_eq!(
            e.message(),
            "concatenate: expected all shapes to match except on axis 1, got {2, 3} and {3, 3}"
        );
        let p = pad(&s(&[3]), &[(1, 2, 1)]).unwrap();
        assert_eq!(p.shape, s(&[8]));
        assert_eq!((p.dst.dims, p.dst.strides, p.dst.offset), (vec![3], vec![2], 1));
        let p = pad(&s(&[4]), &[(-1, -2, 0)]).unwrap();
        assert_eq!((p.shape, p.src.offset, p.src.dims), (s(&[1]), 1, vec![1]));
        let p = pad(&s(&[3]), &[(-2, 0, 1)]).unwrap();
        // [a 0 b 0 c] cropped by 2: [b 0 c].
        assert_eq!(
            (p.shape, p.src.offset, p.src.dims, p.dst.offset),
            (s(&[3]), 1, vec![2], 0)
        );
        assert!(pad(&s(&[3]), &[(-4, 0, 0)]).is_err());
        assert!(pad(&s(&[3]), &[]).is_err());
        assert!(pad(&s(&[3]), &[(0, 0, -1)]).is_err());
    }
}
