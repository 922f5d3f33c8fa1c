//! Shapes, strides, axis handling, and the shape-inference rule of every op.
//!
//! Every op's output shape is computed here, once, and validated with an
//! error message that names the op. Backends receive shapes that are already
//! known to be valid. Each op family keeps its rules in a submodule.

pub mod broadcast;
pub mod conv;
pub mod dot;
pub mod indexing;
pub mod reduce;
pub mod transform;
pub mod view;

pub use view::View;

use crate::error::{Error, Result};
use std::fmt;

/// A tensor's dimensions, outermost first. A scalar has no dimensions;
/// dimensions of size zero are allowed.
#[derive(Clone, PartialEq, Eq, Hash, Default)]
pub struct Shape(Vec<usize>);

impl Shape {
    /// A shape from its dimensions.
    pub fn new(dims: Vec<usize>) -> Self {
        Shape(dims)
    }

    /// The shape of a scalar.
    pub fn scalar() -> Self {
        Shape(Vec::new())
    }

    /// The dimensions.
    pub fn dims(&self) -> &[usize] {
        &self.0
    }

    /// Number of dimensions.
    pub fn rank(&self) -> usize {
        self.0.len()
    }

    /// Number of elements (1 for a scalar, 0 if any dimension is 0).
    pub fn size(&self) -> usize {
        self.0.iter().product()
    }

    /// Number of elements, failing on overflow (for shapes built from user input).
    pub fn checked_size(&self, op: &str) -> Result<usize> {
        self.0
            .iter()
            .try_fold(1usize, |acc, &d| acc.checked_mul(d))
            .ok_or_else(|| Error::arg(op, format!("shape {self} has more elements than fit in memory")))
    }

    /// Row-major strides, in elements.
    pub fn strides(&self) -> Vec<usize> {
        let mut strides = vec![1; self.rank()];
        for i in (0..self.rank().saturating_sub(1)).rev() {
            strides[i] = strides[i + 1] * self.0[i + 1];
        }
        strides
    }

    /// Normalizes a possibly negative axis (Nx allows `-1` for the last axis).
    pub fn axis(&self, op: &str, axis: i64) -> Result<usize> {
        let rank = self.rank() as i64;
        let a = if axis < 0 { axis + rank } else { axis };
        if a < 0 || a >= rank {
            return Err(Error::arg(
                op,
                format!("axis {axis} is out of range for a tensor of shape {self} (rank {rank})"),
            ));
        }
        Ok(a as usize)
    }

    /// Normalizes a list of axes, rejecting repeats. The result is sorted.
    pub fn axes(&self, op: &str, axes: &[i64]) -> Result<Vec<usize>> {
        let mut out = Vec::with_capacity(axes.len());
        for &a in axes {
            let n = self.axis(op, a)?;
            if out.contains(&n) {
                return Err(Error::arg(op, format!("axis {a} is repeated in axes {axes:?}")));
            }
            out.push(n);
        }
        out.sort_unstable();
        Ok(out)
    }

    /// The rule of `reshape`: the element count must not change.
    pub fn reshape(&self, op: &str, new: &Shape) -> Result<Shape> {
        if self.size() != new.checked_size(op)? {
            return Err(Error::arg(
                op,
                format!(
                    "cannot reshape a tensor of shape {self} ({} elements) to shape {new} ({} elements)",
                    self.size(),
                    new.size()
                ),
            ));
        }
        Ok(new.clone())
    }
}

impl From<Vec<usize>> for Shape {
    fn from(dims: Vec<usize>) -> Self {
        Shape(dims)
    }
}

impl From<&[usize]> for Shape {
    fn from(dims: &[usize]) -> Self {
        Shape(dims.to_vec())
    }
}

impl fmt::Display for Shape {
    /// Nx's tuple notation: `{2, 3}`, `{}` for a scalar.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("{")?;
        for (i, d) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str(", ")?;
            }
            write!(f, "{d}")?;
        }
        f.write_str("}")
    }
}

impl fmt::Debug for Shape {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strides_and_size() {
        let s = Shape::new(vec![2, 3, 4]);
        assert_eq!(s.strides(), vec![12, 4, 1]);
        assert_eq!(s.size(), 24);
        assert_eq!(Shape::scalar().size(), 1);
        assert_eq!(Shape::new(vec![3, 0]).size(), 0);
        assert_eq!(s.to_string(), "{2, 3, 4}");
    }

    #[test]
    fn axes_normalize_and_reject_bad_input() {
        let s = Shape::new(vec![2, 3, 4]);
        assert_eq!(s.axes("sum", &[-1, 0]).unwrap(), vec![0, 2]);
        let e = s.axis("sum", 3).unwrap_err();
        assert_eq!(
            e.message(),
            "sum: axis 3 is out of range for a tensor of shape {2, 3, 4} (rank 3)"
        );
        assert!(s.axes("sum", &[1, -2]).is_err());
    }

    #[test]
    fn reshape_checks_size() {
        let s = Shape::new(vec![2, 3]);
        assert!(s.reshape("reshape", &Shape::new(vec![3, 2])).is_ok());
        assert!(s.reshape("reshape", &Shape::new(vec![4])).is_err());
    }
}
