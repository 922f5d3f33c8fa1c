//! Strided views: how to read (or write) a dense row-major buffer as if it
//! had another shape. Transpose, broadcast, slice, reverse and pad are all
//! views of their input (or output), so one copy kernel implements them all.

use super::Shape;

/// A strided view of a dense buffer: element `[i0, i1, ...]` of the view is
/// element `offset + i0 * strides[0] + i1 * strides[1] + ...` of the buffer.
/// Strides are in elements and may be zero (broadcast) or negative (reverse).
///
/// Views are built only by the shape rules in this module's siblings, which
/// guarantee that every index of the view lands inside the buffer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct View {
    /// The view's dimensions.
    pub dims: Vec<usize>,
    /// Per-axis stride in elements.
    pub strides: Vec<isize>,
    /// Buffer index of the view's first element.
    pub offset: usize,
}

impl View {
    /// The identity view of a dense tensor of `shape`.
    pub fn dense(shape: &Shape) -> View {
        View {
            dims: shape.dims().to_vec(),
            strides: shape.strides().into_iter().map(|s| s as isize).collect(),
            offset: 0,
        }
    }

    /// Number of elements the view covers.
    pub fn size(&self) -> usize {
        self.dims.iter().product()
    }

    /// The view with its axes reordered: axis `i` of the result is axis
    /// `perm[i]` of `self`. `perm` must be a permutation (checked by callers).
    pub fn permute(&self, perm: &[usize]) -> View {
        View {
            dims: perm.iter().map(|&p| self.dims[p]).collect(),
            strides: perm.iter().map(|&p| self.strides[p]).collect(),
            offset: self.offset,
        }
    }

    /// The sub-view starting at `starts` with `lengths` elements per axis,
    /// taking every `steps[i]`-th element. Callers check that it fits.
    pub fn slice(&self, starts: &[usize], lengths: &[usize], steps: &[usize]) -> View {
        let mut offset = self.offset as isize;
        let mut dims = Vec::with_capacity(self.dims.len());
        let mut strides = Vec::with_capacity(self.dims.len());
        for i in 0..self.dims.len() {
            offset += starts[i] as isize * self.strides[i];
            let step = steps[i].max(1);
            dims.push(lengths[i].div_ceil(step));
            strides.push(self.strides[i] * step as isize);
        }
        View {
            dims,
            strides,
            offset: offset.max(0) as usize,
        }
    }

    /// The view with `axes` traversed backwards.
    pub fn reverse(&self, axes: &[usize]) -> View {
        let mut v = self.clone();
        let mut offset = v.offset as isize;
        for &a in axes {
            if v.dims[a] > 0 {
                offset += (v.dims[a] as isize - 1) * v.strides[a];
                v.strides[a] = -v.strides[a];
            }
        }
        v.offset = offset.max(0) as usize;
        v
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn compose() {
        let v = View::dense(&Shape::new(vec![2, 3]));
        assert_eq!(v.strides, vec![3, 1]);
        let t = v.permute(&[1, 0]);
        assert_eq!((t.dims.clone(), t.strides.clone()), (vec![3, 2], vec![1, 3]));
        let s = v.slice(&[1, 0], &[1, 3], &[1, 2]);
        assert_eq!((s.dims, s.strides, s.offset), (vec![1, 2], vec![3, 2], 3));
        let r = v.reverse(&[1]);
        assert_eq!((r.strides, r.offset), (vec![3, -1], 2));
    }
}
