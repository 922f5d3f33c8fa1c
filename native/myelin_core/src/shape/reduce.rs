//! Shape rules of reductions, arg-reductions and cumulative ops.

use super::Shape;
use crate::error::Result;

/// A validated reduction: which axes are reduced and the output shape.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReducePlan {
    /// The reduced axes, sorted, without repeats.
    pub axes: Vec<usize>,
    /// The output shape (reduced axes dropped, or kept as size 1).
    pub out: Shape,
}

impl ReducePlan {
    /// True when some output element reduces zero input elements.
    pub fn reduces_nothing(&self, input: &Shape) -> bool {
        self.axes.iter().any(|&a| input.dims()[a] == 0) && self.out.size() > 0
    }
}

/// The rule of `sum`, `reduce_max`, ...: `axes` (None = all) normalized for
/// `input`, and the output shape with or without the reduced axes.
pub fn reduce(op: &str, input: &Shape, axes: Option<&[i64]>, keep_axes: bool) -> Result<ReducePlan> {
    let axes = match axes {
        Some(list) => input.axes(op, list)?,
        None => (0..input.rank()).collect(),
    };
    let dims = input
        .dims()
        .iter()
        .enumerate()
        .filter_map(|(i, &d)| match (axes.contains(&i), keep_axes) {
            (false, _) => Some(d),
            (true, true) => Some(1),
            (true, false) => None,
        })
        .collect();
    Ok(ReducePlan {
        axes,
        out: Shape::new(dims),
    })
}

/// The rule of `argmax`/`argmin`: one axis (None = the flattened tensor).
/// Returns the normalized axis and the output shape.
pub fn arg_reduce(
    op: &str,
    input: &Shape,
    axis: Option<i64>,
    keep_axis: bool,
) -> Result<(Option<usize>, Shape)> {
    match axis {
        Some(a) => {
            let a = input.axis(op, a)?;
            let plan = reduce(op, input, Some(&[a as i64]), keep_axis)?;
            Ok((Some(a), plan.out))
        }
        None => {
            let dims = if keep_axis {
                vec![1; input.rank()]
            } else {
                Vec::new()
            };
            Ok((None, Shape::new(dims)))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reduce_shapes() {
        let s = Shape::new(vec![2, 3, 4]);
        let p = reduce("sum", &s, Some(&[-1, 0]), false).unwrap();
        assert_eq!(p.axes, vec![0, 2]);
        assert_eq!(p.out, Shape::new(vec![3]));
        let p = reduce("sum", &s, Some(&[1]), true).unwrap();
        assert_eq!(p.out, Shape::new(vec![2, 1, 4]));
        let p = reduce("sum", &s, None, false).unwrap();
        assert_eq!(p.out, Shape::scalar());
        assert!(reduce("sum", &s, Some(&[3]), false).is_err());
        let e = reduce("sum", &s, Some(&[0, -3]), false).unwrap_err();
        assert_eq!(e.message(), "sum: axis -3 is repeated in axes [0, -3]");
        let z = Shape::new(vec![2, 0]);
        assert!(reduce("reduce_max", &z, Some(&[1]), false)
            .unwrap()
            .reduces_nothing(&z));
        assert!(!reduce("reduce_max", &z, Some(&[0]), false)
            .unwrap()
            .reduces_nothing(&z));
    }

    #[test]
    fn arg_reduce_shapes() {
        let s = Shape::new(vec![2, 3]);
        assert_eq!(
            arg_reduce("argmax", &s, Some(-1), false).unwrap(),
            (Some(1), Shape::new(vec![2]))
        );
        assert_eq!(
            arg_reduce("argmax", &s, Some(0), true).unwrap().1,
            Shape::new(vec![1, 3])
        );
        assert_eq!(
            arg_reduce("argmax", &s, None, false).unwrap(),
            (None, Shape::scalar())
        );
        assert!(arg_reduce("argmax", &s, Some(2), false).is_err());
    }
}
