//! Elementwise ops of two tensors, with broadcasting.
//!
//! Both operands are first converted to the op's compute type (their merged
//! type, or its floating version for `divide` and `atan2`); the kernels
//! below then see two tensors of one type and run through [`zip2`].

use crate::cast::as_type;
use crate::float::{FloatElement, Real};
use crate::integer::IntElement;
use crate::zip::zip2;
use myelin_core::ops::binary::BinaryClass;
use myelin_core::ops::BinaryOp;
use myelin_core::{
    dispatch_dtype, dispatch_float, dispatch_integer, DType, Element, Error, Result, Shape, Tensor,
};
use num_traits::CheckedRem;

/// Applies `op` to `a` and `b`, broadcasting them to a common shape.
pub fn binary(op: BinaryOp, a: &Tensor, b: &Tensor) -> Result<Tensor> {
    let shape = op.output_shape(a.shape(), b.shape())?;
    let compute = op.compute_dtype(a.dtype(), b.dtype())?;
    let (a, b) = (as_type(a, compute)?, as_type(b, compute)?);
    let (a, b, s) = (&a, &b, &shape);
    match op.class() {
        BinaryClass::Comparison => dispatch_dtype!(compute, T => compare::<T>(op, a, b, s)),
        BinaryClass::Logical => dispatch_dtype!(compute, T => logical::<T>(op, a, b, s)),
        _ => dispatch_integer!(
            compute,
            T => int_binary::<T>(op, a, b, s),
            _ => dispatch_float!(compute, T => float_binary::<T>(op, a, b, s), _ => no_kernel(op, compute))
        ),
    }
}

fn no_kernel(op: BinaryOp, dtype: DType) -> Result<Tensor> {
    Err(Error::internal(op.name(), format!("no kernel for type {dtype}")))
}

/// A kernel generic over a float binary op's per-element formula: the one
/// table of formulas ([`with_float_binary`]) serves the eager kernel (which
/// broadcasts whole tensors) and the fused one (`lanes.rs`), so both give
/// the same bits.
pub(crate) trait FloatBinaryKernel<C> {
    /// What the kernel returns.
    type Output;
    /// Runs the kernel with the formula `f`.
    fn run<F: Fn(C, C) -> C + Sync + Copy>(self, f: F) -> Self::Output;
}

/// Runs `kernel` with the per-element formula of the float op `op`,
/// computed in `C` (f32 for the half types, as PyTorch's CPU kernels do).
/// Inlined so that a caller compiled for wider vectors vectorizes the loops.
#[inline(always)]
pub(crate) fn with_float_binary<C: Real, K: FloatBinaryKernel<C>>(
    op: BinaryOp,
    kernel: K,
) -> Result<K::Output> {
    use BinaryOp::*;
    Ok(match op {
        Add => kernel.run(|x, y| x + y),
        Subtract => kernel.run(|x, y| x - y),
        Multiply => kernel.run(|x, y| x * y),
        Divide => kernel.run(|x, y| x / y),
        Pow => kernel.run(|x: C, y| x.powf(y)),
        // Rust's float `%` is C's fmod: the result has the dividend's sign.
        Remainder => kernel.run(|x, y| x % y),
        Atan2 => kernel.run(|x: C, y| x.atan2(y)),
        // NaN in either operand gives NaN (Float::min/max would drop it).
        Min => kernel.run(|x: C, y| if x.is_nan() || x < y { x } else { y }),
        Max => kernel.run(|x: C, y| if x.is_nan() || x > y { x } else { y }),
        _ => return Err(Error::internal(op.name(), "not a float-to-float op")),
    })
}

/// The eager kernel: zips two whole float tensors with broadcasting.
struct ZipFloat<'a, T> {
    a: &'a Tensor,
    b: &'a Tensor,
    shape: &'a Shape,
    storage: std::marker::PhantomData<T>,
}

impl<T: FloatElement> FloatBinaryKernel<T::Compute> for ZipFloat<'_, T> {
    type Output = Result<Tensor>;
    fn run<F: Fn(T::Compute, T::Compute) -> T::Compute + Sync + Copy>(self, f: F) -> Result<Tensor> {
        zip2::<T, T, T>(self.a, self.b, self.shape, |x, y| {
            T::narrow(f(x.widen(), y.widen()))
        })
    }
}

fn float_binary<T: FloatElement>(op: BinaryOp, a: &Tensor, b: &Tensor, shape: &Shape) -> Result<Tensor> {
    let kernel = ZipFloat::<T> {
        a,
        b,
        shape,
        storage: std::marker::PhantomData,
    };
    with_float_binary::<T::Compute, _>(op, kernel)?
}

/// The integer types, with the extra arithmetic the binary ops need.
trait BinaryInt: IntElement + CheckedRem {}
impl<T: IntElement + CheckedRem> BinaryInt for T {}

fn int_binary<T: BinaryInt>(op: BinaryOp, a: &Tensor, b: &Tensor, s: &Shape) -> Result<Tensor> {
    use BinaryOp::*;
    match op {
        Add => zip2::<T, T, T>(a, b, s, |x, y| x.wrapping_add(&y)),
        Subtract => zip2::<T, T, T>(a, b, s, |x, y| x.wrapping_sub(&y)),
        Multiply => zip2::<T, T, T>(a, b, s, |x, y| x.wrapping_mul(&y)),
        Pow => zip2::<T, T, T>(a, b, s, int_pow::<T>),
        Remainder => zip2::<T, T, T>(a, b, s, int_rem::<T>),
        Quotient => zip2::<T, T, T>(a, b, s, int_quotient::<T>),
        Min => zip2::<T, T, T>(a, b, s, |x, y| x.min(y)),
        Max => zip2::<T, T, T>(a, b, s, |x, y| x.max(y)),
        BitwiseAnd => zip2::<T, T, T>(a, b, s, |x, y| x & y),
        BitwiseOr => zip2::<T, T, T>(a, b, s, |x, y| x | y),
        BitwiseXor => zip2::<T, T, T>(a, b, s, |x, y| x ^ y),
        LeftShift => zip2::<T, T, T>(a, b, s, shift_left::<T>),
        RightShift => zip2::<T, T, T>(a, b, s, shift_right::<T>),
        _ => Err(Error::internal(op.name(), "not an integer-to-integer op")),
    }
}

/// Integer power by squaring, wrapping on overflow. A negative exponent
/// gives 0, except for bases 1 and -1 (as XLA does).
#[inline]
fn int_pow<T: BinaryInt>(base: T, exp: T) -> T {
    let (zero, one) = (<T as Element>::ZERO, <T as Element>::ONE);
    if exp < zero {
        return if base == one {
            one
        } else if base == one.wrapping_neg() {
            // -1 to an odd power is -1, to an even power 1.
            if exp & one == one {
                base
            } else {
                one
            }
        } else {
            zero
        };
    }
    let (mut result, mut base, mut exp) = (one, base, exp);
    while exp > zero {
        if exp & one == one {
            result = result.wrapping_mul(&base);
        }
        base = base.wrapping_mul(&base);
        exp = exp >> 1;
    }
    result
}

/// The remainder with the dividend's sign (Elixir's `rem`); 0 for a zero
/// divisor, and for `MIN rem -1` (whose true value is 0 anyway).
#[inline]
fn int_rem<T: BinaryInt>(x: T, y: T) -> T {
    x.checked_rem(&y).unwrap_or(<T as Element>::ZERO)
}

/// Division truncating toward zero; 0 for a zero divisor, and `MIN / -1`
/// wraps to `MIN`.
#[inline]
fn int_quotient<T: BinaryInt>(x: T, y: T) -> T {
    let zero = <T as Element>::ZERO;
    x.checked_div(&y)
        .unwrap_or_else(|| if y == zero { zero } else { x.wrapping_neg() })
}

/// The shift amount, when it is in `0..bits`.
#[inline]
fn shift_amount<T: BinaryInt>(y: T) -> Option<usize> {
    let amount = y.to_i128();
    (0..T::DTYPE.bits() as i128)
        .contains(&amount)
        .then_some(amount as usize)
}

/// `x << y`; amounts outside `0..bits` shift every bit out (0).
#[inline]
fn shift_left<T: BinaryInt>(x: T, y: T) -> T {
    shift_amount(y).map_or(<T as Element>::ZERO, |n| x << n)
}

/// `x >> y`, arithmetic for signed types; amounts outside `0..bits` leave
/// only the sign (0, or -1 for negative `x`).
#[inline]
fn shift_right<T: BinaryInt>(x: T, y: T) -> T {
    let zero = <T as Element>::ZERO;
    shift_amount(y).map_or(
        if x < zero {
            <T as Element>::ONE.wrapping_neg()
        } else {
            zero
        },
        |n| x >> n,
    )
}

fn compare<T: Element>(op: BinaryOp, a: &Tensor, b: &Tensor, s: &Shape) -> Result<Tensor> {
    use BinaryOp::*;
    // PartialOrd is IEEE on every float type: NaN compares unequal and unordered.
    match op {
        Equal => zip2::<T, T, u8>(a, b, s, |x, y| (x == y) as u8),
        NotEqual => zip2::<T, T, u8>(a, b, s, |x, y| (x != y) as u8),
        Less => zip2::<T, T, u8>(a, b, s, |x, y| (x < y) as u8),
        LessEqual => zip2::<T, T, u8>(a, b, s, |x, y| (x <= y) as u8),
        Greater => zip2::<T, T, u8>(a, b, s, |x, y| (x > y) as u8),
        GreaterEqual => zip2::<T, T, u8>(a, b, s, |x, y| (x >= y) as u8),
        _ => Err(Error::internal(op.name(), "not a comparison")),
    }
}

fn logical<T: Element>(op: BinaryOp, a: &Tensor, b: &Tensor, s: &Shape) -> Result<Tensor> {
    // Nonzero is true; NaN is nonzero.
    let truth = |x: T| x != T::ZERO;
    match op {
        BinaryOp::LogicalAnd => zip2::<T, T, u8>(a, b, s, |x, y| (truth(x) && truth(y)) as u8),
        BinaryOp::LogicalOr => zip2::<T, T, u8>(a, b, s, |x, y| (truth(x) || truth(y)) as u8),
        BinaryOp::LogicalXor => zip2::<T, T, u8>(a, b, s, |x, y| (truth(x) != truth(y)) as u8),
        _ => Err(Error::internal(op.name(), "not a logical op")),
    }
}

#[cfg(test)]
#[path = "binary_tests.rs"]
mod tests;
