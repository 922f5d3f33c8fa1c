//! Broadcasting (Nx's and NumPy's rule: align trailing dimensions; a
//! dimension of 1 stretches to match).

use super::Shape;
use crate::error::{Error, Result};

/// The broadcast shape of two operands of a binary op.
pub fn broadcast_shapes(op: &str, a: &Shape, b: &Shape) -> Result<Shape> {
    let rank = a.rank().max(b.rank());
    let mut out = vec![0; rank];
    for (i, slot) in out.iter_mut().enumerate() {
        let da = dim_from_end(a, rank - 1 - i);
        let db = dim_from_end(b, rank - 1 - i);
        *slot = match (da, db) {
            (x, y) if x == y => x,
            (1, y) => y,
            (x, 1) => x,
            _ => {
                return Err(Error::arg(
                    op,
                    format!("cannot broadcast tensors of shapes {a} and {b}"),
                ))
            }
        };
    }
    Ok(Shape::new(out))
}

/// The rule of `broadcast(tensor, shape)`: `from` must broadcast to `to`
/// without changing `to`.
pub fn broadcast_to(op: &str, from: &Shape, to: &Shape) -> Result<Shape> {
    let ok = from.rank() <= to.rank()
        && (0..from.rank()).all(|i| {
            let f = dim_from_end(from, i);
            f == 1 || f == dim_from_end(to, i)
        });
    if ok {
        Ok(to.clone())
    } else {
        Err(Error::arg(
            op,
            format!("cannot broadcast a tensor of shape {from} to shape {to}"),
        ))
    }
}

/// Strides (in elements) for reading a tensor of shape `from` as if it had
/// the broadcast shape `to`: stretched dimensions get stride 0.
pub fn broadcast_strides(from: &Shape, to: &Shape) -> Vec<usize> {
    let src = from.strides();
    let offset = to.rank() - from.rank();
    (0..to.rank())
        .map(|i| {
            if i < offset || from.dims()[i - offset] == 1 {
                0
            } else {
                src[i - offset]
            }
        })
        .collect()
}

fn dim_from_end(s: &Shape, i: usize) -> usize {
    if i < s.rank() {
        s.dims()[s.rank() - 1 - i]
    } else {
        1
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(d: &[usize]) -> Shape {
        Shape::from(d)
    }

    #[test]
    fn broadcasts_like_nx() {
        assert_eq!(
            broadcast_shapes("add", &s(&[2, 3]), &s(&[3])).unwrap(),
            s(&[2, 3])
        );
        assert_eq!(
            broadcast_shapes("add", &s(&[2, 1]), &s(&[1, 3])).unwrap(),
            s(&[2, 3])
        );
        assert_eq!(broadcast_shapes("add", &s(&[]), &s(&[4])).unwrap(), s(&[4]));
        assert_eq!(
            broadcast_shapes("add", &s(&[0, 1]), &s(&[3])).unwrap(),
            s(&[0, 3])
        );
        let e = broadcast_shapes("add", &s(&[2, 3]), &s(&[4])).unwrap_err();
        assert_eq!(
            e.message(),
            "add: cannot broadcast tensors of shapes {2, 3} and {4}"
        );
    }

    #[test]
    fn strides_zero_on_stretched_dims() {
        assert_eq!(broadcast_strides(&s(&[3, 1]), &s(&[2, 3, 4])), vec![0, 1, 0]);
        assert!(broadcast_to("broadcast", &s(&[3]), &s(&[2, 3])).is_ok());
        assert!(broadcast_to("broadcast", &s(&[2]), &s(&[2, 3])).is_err());
    }
}
