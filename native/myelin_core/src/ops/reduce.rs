//! Reductions (`sum`, `reduce_max`, `argmax`, ...) and cumulative ops
//! (`cumulative_sum`, ...). Output shapes are in [`crate::shape::reduce`].

use crate::dtype::DType;
use crate::error::{Error, Result};
use crate::op_names;

/// A reduction over a set of axes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ReduceOp {
    /// Sum; integers accumulate (and return) 64 bits.
    Sum,
    /// Product; integers accumulate (and return) 64 bits.
    Product,
    /// Arithmetic mean, in `to_floating(type)`.
    Mean,
    /// Smallest element (NaN wins).
    ReduceMin,
    /// Largest element (NaN wins).
    ReduceMax,
    /// 1 if every element is non-zero.
    All,
    /// 1 if any element is non-zero.
    Any,
    /// `log(sum(exp(x)))`, computed max-shifted.
    Logsumexp,
}

op_names!(ReduceOp {
    Sum => "sum", Product => "product", Mean => "mean", ReduceMin => "reduce_min",
    ReduceMax => "reduce_max", All => "all", Any => "any", Logsumexp => "logsumexp",
});

impl ReduceOp {
    /// The output dtype for an input of dtype `input` (Nx's rules).
    pub fn output_dtype(self, input: DType) -> DType {
        use ReduceOp::*;
        match self {
            Sum | Product => input.to_aggregate(),
            Mean | Logsumexp => input.to_floating(),
            ReduceMin | ReduceMax => input,
            All | Any => DType::BOOL,
        }
    }

    /// Whether reducing zero elements is an error (there is no identity).
    pub fn needs_elements(self) -> bool {
        matches!(self, ReduceOp::ReduceMin | ReduceOp::ReduceMax)
    }
}

/// The index of an extreme element along one axis (output `{:s, 64}`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ArgReduceOp {
    /// Index of the smallest element (NaN counts as smallest).
    Argmin,
    /// Index of the largest element (NaN counts as largest).
    Argmax,
}

op_names!(ArgReduceOp { Argmin => "argmin", Argmax => "argmax" });

/// Which index wins among equal extremes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum TieBreak {
    /// The first (Nx's default, `:low`).
    Low,
    /// The last (`:high`).
    High,
}

impl TieBreak {
    /// Parses Nx's `:low` / `:high`.
    pub fn from_name(op: &str, name: &str) -> Result<TieBreak> {
        match name {
            "low" => Ok(TieBreak::Low),
            "high" => Ok(TieBreak::High),
            other => Err(Error::arg(
                op,
                format!("expected tie_break: to be :low or :high, got :{other}"),
            )),
        }
    }
}

/// A running (inclusive) scan along one axis; output has the input's type.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum CumulativeOp {
    /// Running sum (integers wrap).
    CumulativeSum,
    /// Running product (integers wrap).
    CumulativeProduct,
    /// Running minimum (NaN propagates).
    CumulativeMin,
    /// Running maximum (NaN propagates).
    CumulativeMax,
}

op_names!(CumulativeOp {
    CumulativeSum => "cumulative_sum", CumulativeProduct => "cumulative_product",
    CumulativeMin => "cumulative_min", CumulativeMax => "cumulative_max",
});

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_types() {
        for &op in ReduceOp::ALL {
            assert_eq!(ReduceOp::from_name(op.name()), Some(op));
        }
        for &op in CumulativeOp::ALL {
            assert_eq!(CumulativeOp::from_name(op.name()), Some(op));
        }
        assert_eq!(ReduceOp::Sum.output_dtype(DType::U8), DType::U64);
        assert_eq!(ReduceOp::Product.output_dtype(DType::S8), DType::S64);
        assert_eq!(ReduceOp::Sum.output_dtype(DType::BF16), DType::BF16);
        assert_eq!(ReduceOp::Mean.output_dtype(DType::S32), DType::F32);
        assert_eq!(ReduceOp::Any.output_dtype(DType::F64), DType::U8);
        assert_eq!(ReduceOp::ReduceMax.output_dtype(DType::U16), DType::U16);
        assert!(TieBreak::from_name("argmax", "mid").is_err());
    }
}
