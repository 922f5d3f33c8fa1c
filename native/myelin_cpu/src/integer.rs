//! Integer arithmetic with Nx's semantics: two's-complement wrapping, never
//! a panic on overflow.

use myelin_core::Element;
use num_traits::{PrimInt, WrappingAdd, WrappingMul, WrappingNeg, WrappingSub};

/// The integer dtypes' Rust types, with wrapping arithmetic.
pub trait IntElement: Element + PrimInt + WrappingAdd + WrappingSub + WrappingMul + WrappingNeg {
    /// Absolute value; `MIN` stays `MIN` as in two's complement. Identity for unsigned.
    #[inline]
    fn wrapping_abs_(self) -> Self {
        if self < <Self as Element>::ZERO {
            self.wrapping_neg()
        } else {
            self
        }
    }

    /// -1, 0 or 1 (0 or 1 for unsigned types).
    #[inline]
    fn signum_(self) -> Self {
        if self > <Self as Element>::ZERO {
            <Self as Element>::ONE
        } else if self < <Self as Element>::ZERO {
            <Self as Element>::ONE.wrapping_neg()
        } else {
            <Self as Element>::ZERO
        }
    }
}

impl<T> IntElement for T where T: Element + PrimInt + WrappingAdd + WrappingSub + WrappingMul + WrappingNeg {}
