//! Elementwise ops of one operand.

use crate::dtype::DType;
use crate::error::{Error, Result};
use crate::op_names;

/// An elementwise op of one tensor.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum UnaryOp {
    // Same type in and out.
    Negate,
    Abs,
    Sign,
    Floor,
    Ceil,
    Round,
    // Floating-point maths: integers are computed in (and return) f32.
    Exp,
    Expm1,
    Log,
    Log1p,
    Sqrt,
    Rsqrt,
    Cbrt,
    Sin,
    Cos,
    Tan,
    Asin,
    Acos,
    Atan,
    Sinh,
    Cosh,
    Tanh,
    Asinh,
    Acosh,
    Atanh,
    Sigmoid,
    Erf,
    Erfc,
    ErfInv,
    // Predicates: return u8 0/1.
    IsNan,
    IsInfinity,
    LogicalNot,
    // Integers only.
    BitwiseNot,
    CountLeadingZeros,
    PopulationCount,
}

op_names!(UnaryOp {
    Negate => "negate", Abs => "abs", Sign => "sign", Floor => "floor", Ceil => "ceil",
    Round => "round", Exp => "exp", Expm1 => "expm1", Log => "log", Log1p => "log1p",
    Sqrt => "sqrt", Rsqrt => "rsqrt", Cbrt => "cbrt", Sin => "sin", Cos => "cos", Tan => "tan",
    Asin => "asin", Acos => "acos", Atan => "atan", Sinh => "sinh", Cosh => "cosh",
    Tanh => "tanh", Asinh => "asinh", Acosh => "acosh", Atanh => "atanh",
    Sigmoid => "sigmoid", Erf => "erf", Erfc => "erfc", IsNan => "is_nan",
    IsInfinity => "is_infinity", LogicalNot => "logical_not", BitwiseNot => "bitwise_not",
    ErfInv => "erf_inv", CountLeadingZeros => "count_leading_zeros",
    PopulationCount => "population_count",
});

/// How an op relates its input type to its output type.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum UnaryClass {
    /// Output has the input's type.
    SameType,
    /// Floating maths: output is `to_floating(input)`.
    Floating,
    /// Output is u8 0/1.
    Predicate,
    /// Integer inputs only; same type out.
    IntegerOnly,
}

impl UnaryOp {
    /// The op's class.
    pub fn class(self) -> UnaryClass {
        use UnaryOp::*;
        match self {
            Negate | Abs | Sign | Floor | Ceil | Round => UnaryClass::SameType,
            IsNan | IsInfinity | LogicalNot => UnaryClass::Predicate,
            BitwiseNot | CountLeadingZeros | PopulationCount => UnaryClass::IntegerOnly,
            _ => UnaryClass::Floating,
        }
    }

    /// The output dtype for an input of dtype `input`.
    pub fn output_dtype(self, input: DType) -> Result<DType> {
        match self.class() {
            UnaryClass::SameType => Ok(input),
            UnaryClass::Floating => Ok(input.to_floating()),
            UnaryClass::Predicate => Ok(DType::BOOL),
            UnaryClass::IntegerOnly if input.is_integer() => Ok(input),
            UnaryClass::IntegerOnly => Err(Error::arg(
                self.name(),
                format!("expected a tensor of integer type, got {input}"),
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for &op in UnaryOp::ALL {
            assert_eq!(UnaryOp::from_name(op.name()), Some(op));
        }
        assert_eq!(UnaryOp::from_name("nope"), None);
    }

    #[test]
    fn output_types() {
        assert_eq!(UnaryOp::Exp.output_dtype(DType::S32).unwrap(), DType::F32);
        assert_eq!(UnaryOp::Exp.output_dtype(DType::BF16).unwrap(), DType::BF16);
        assert_eq!(UnaryOp::Negate.output_dtype(DType::U8).unwrap(), DType::U8);
        assert_eq!(UnaryOp::IsNan.output_dtype(DType::F64).unwrap(), DType::U8);
        let e = UnaryOp::BitwiseNot.output_dtype(DType::F32).unwrap_err();
        assert_eq!(
            e.message(),
            "bitwise_not: expected a tensor of integer type, got {:f, 32}"
        );
    }
}
