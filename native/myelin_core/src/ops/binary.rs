//! Elementwise ops of two operands (with broadcasting), and the type rules
//! of `select` and `clip`.
//!
//! Every binary op first converts both operands to their merged type
//! ([`DType::merge`], Nx's `Nx.Type.merge/2`); the op's class then decides
//! the output type.

use crate::dtype::DType;
use crate::error::{Error, Result};
use crate::op_names;
use crate::shape::broadcast::broadcast_shapes;
use crate::shape::Shape;

/// An elementwise op of two tensors.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum BinaryOp {
    // Arithmetic: output has the merged type.
    Add,
    Subtract,
    Multiply,
    Pow,
    Remainder,
    Min,
    Max,
    // Floating: output is to_floating(merged).
    Divide,
    Atan2,
    // Integers only, merged type out.
    Quotient,
    BitwiseAnd,
    BitwiseOr,
    BitwiseXor,
    LeftShift,
    RightShift,
    // Comparisons: computed in the merged type, u8 0/1 out.
    Equal,
    NotEqual,
    Less,
    LessEqual,
    Greater,
    GreaterEqual,
    // Logical: nonzero is true, u8 0/1 out.
    LogicalAnd,
    LogicalOr,
    LogicalXor,
}

op_names!(BinaryOp {
    Add => "add", Subtract => "subtract", Multiply => "multiply", Pow => "pow",
    Remainder => "remainder", Min => "min", Max => "max", Divide => "divide",
    Atan2 => "atan2", Quotient => "quotient", BitwiseAnd => "bitwise_and",
    BitwiseOr => "bitwise_or", BitwiseXor => "bitwise_xor", LeftShift => "left_shift",
    RightShift => "right_shift", Equal => "equal", NotEqual => "not_equal", Less => "less",
    LessEqual => "less_equal", Greater => "greater", GreaterEqual => "greater_equal",
    LogicalAnd => "logical_and", LogicalOr => "logical_or", LogicalXor => "logical_xor",
});

/// How a binary op relates its operands' types to its output type.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BinaryClass {
    /// Output has the merged type.
    Arithmetic,
    /// Output is `to_floating(merged)`; operands are converted to it.
    Floating,
    /// Integer operands only; output has the merged type.
    IntegerOnly,
    /// Compared in the merged type; output is u8 0/1.
    Comparison,
    /// Nonzero is true; output is u8 0/1.
    Logical,
}

impl BinaryOp {
    /// The op's class.
    pub fn class(self) -> BinaryClass {
        use BinaryOp::*;
        match self {
            Add | Subtract | Multiply | Pow | Remainder | Min | Max => BinaryClass::Arithmetic,
            Divide | Atan2 => BinaryClass::Floating,
            Quotient | BitwiseAnd | BitwiseOr | BitwiseXor | LeftShift | RightShift => {
                BinaryClass::IntegerOnly
            }
            Equal | NotEqual | Less | LessEqual | Greater | GreaterEqual => BinaryClass::Comparison,
            LogicalAnd | LogicalOr | LogicalXor => BinaryClass::Logical,
        }
    }

    /// The type both operands are converted to before computing.
    pub fn compute_dtype(self, a: DType, b: DType) -> Result<DType> {
        let merged = a.merge(b);
        match self.class() {
            BinaryClass::Floating => Ok(merged.to_floating()),
            BinaryClass::IntegerOnly if merged.is_float() => Err(Error::arg(
                self.name(),
                format!("expected tensors of integer types, got {a} and {b}"),
            )),
            _ => Ok(merged),
        }
    }

    /// The output type for operands of types `a` and `b`.
    pub fn output_dtype(self, a: DType, b: DType) -> Result<DType> {
        let compute = self.compute_dtype(a, b)?;
        match self.class() {
            BinaryClass::Comparison | BinaryClass::Logical => Ok(DType::BOOL),
            _ => Ok(compute),
        }
    }

    /// The output shape: the broadcast of both operands' shapes.
    pub fn output_shape(self, a: &Shape, b: &Shape) -> Result<Shape> {
        broadcast_shapes(self.name(), a, b)
    }
}

/// The output shape of `select(pred, on_true, on_false)`: all three
/// broadcast together. Every shape Nx accepts (a scalar predicate, or
/// branches that broadcast to the predicate's shape) gives Nx's shape.
pub fn select_shape(pred: &Shape, on_true: &Shape, on_false: &Shape) -> Result<Shape> {
    let branches = broadcast_shapes("select", on_true, on_false)?;
    broadcast_shapes("select", pred, &branches).map_err(|_| {
        Error::arg(
            "select",
            format!(
                "cannot broadcast the predicate of shape {pred} with the branches of shapes {on_true} and {on_false}"
            ),
        )
    })
}

/// The output type of `select`: the branches' merged type (the predicate's
/// type does not matter: nonzero is true).
pub fn select_dtype(on_true: DType, on_false: DType) -> DType {
    on_true.merge(on_false)
}

/// The output type of `clip(t, min, max)`, checking that `min` and `max`
/// are scalars, as Nx requires.
pub fn clip_dtype(t: DType, min: (&Shape, DType), max: (&Shape, DType)) -> Result<DType> {
    for (which, (shape, _)) in [("min", min), ("max", max)] {
        if shape.rank() != 0 {
            return Err(Error::arg(
                "clip",
                format!("expected {which} to be a scalar, got a tensor of shape {shape}"),
            ));
        }
    }
    Ok(t.merge(min.1.merge(max.1)))
}

#[cfg(test)]
mod tests {
    use super::DType::*;
    use super::*;

    #[test]
    fn names_round_trip() {
        for &op in BinaryOp::ALL {
            assert_eq!(BinaryOp::from_name(op.name()), Some(op));
        }
        assert_eq!(BinaryOp::ALL.len(), 24);
        assert_eq!(BinaryOp::from_name("nope"), None);
    }

    #[test]
    fn output_types_follow_nx() {
        assert_eq!(BinaryOp::Add.output_dtype(U8, S8).unwrap(), S16);
        assert_eq!(BinaryOp::Add.output_dtype(S32, F16).unwrap(), F16);
        assert_eq!(BinaryOp::Multiply.output_dtype(F16, BF16).unwrap(), F32);
        assert_eq!(BinaryOp::Divide.output_dtype(S32, S32).unwrap(), F32);
        assert_eq!(BinaryOp::Atan2.output_dtype(BF16, U8).unwrap(), BF16);
        assert_eq!(BinaryOp::Less.output_dtype(F64, S8).unwrap(), U8);
        assert_eq!(BinaryOp::Less.compute_dtype(F64, S8).unwrap(), F64);
        assert_eq!(BinaryOp::LogicalXor.output_dtype(F32, F32).unwrap(), U8);
        assert_eq!(BinaryOp::LeftShift.output_dtype(U8, U32).unwrap(), U32);
    }

    #[test]
    fn integer_only_ops_reject_floats() {
        let e = BinaryOp::Quotient.output_dtype(F32, S32).unwrap_err();
        assert_eq!(
            e.message(),
            "quotient: expected tensors of integer types, got {:f, 32} and {:s, 32}"
        );
        assert!(BinaryOp::BitwiseAnd.output_dtype(S8, BF16).is_err());
    }

    #[test]
    fn select_and_clip_rules() {
        let s = |d: &[usize]| Shape::from(d);
        assert_eq!(select_shape(&s(&[]), &s(&[2, 3]), &s(&[3])).unwrap(), s(&[2, 3]));
        assert_eq!(select_shape(&s(&[2, 1]), &s(&[3]), &s(&[])).unwrap(), s(&[2, 3]));
        let e = select_shape(&s(&[4]), &s(&[2, 3]), &s(&[3])).unwrap_err();
        assert_eq!(
            e.message(),
            "select: cannot broadcast the predicate of shape {4} with the branches of shapes {2, 3} and {3}"
        );
        assert_eq!(select_dtype(U8, S8), S16);
        assert_eq!(clip_dtype(U8, (&s(&[]), U8), (&s(&[]), U8)).unwrap(), U8);
        let e = clip_dtype(F32, (&s(&[2]), F32), (&s(&[]), F32)).unwrap_err();
        assert_eq!(
            e.message(),
            "clip: expected min to be a scalar, got a tensor of shape {2}"
        );
    }
}
