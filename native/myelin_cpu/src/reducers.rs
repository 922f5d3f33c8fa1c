//! The per-op pieces plugged into the reduction skeleton ([`crate::reduce`]):
//! an accumulator, how an element folds into it, how two partial
//! accumulators combine, and how the final value is produced.

use crate::float::FloatElement;
use myelin_core::Element;
use num_traits::Float;
use std::marker::PhantomData;

/// One reduction op over elements of type `T`.
pub trait Reducer<T: Element>: Sync {
    /// The running state.
    type Acc: Copy + Send + Sync;
    /// The output element type.
    type Out: Element;
    /// The state before any element (the op's identity).
    fn init(&self) -> Self::Acc;
    /// Folds one element in.
    fn fold(&self, acc: Self::Acc, x: T) -> Self::Acc;
    /// Merges two partial states (associative).
    fn combine(&self, a: Self::Acc, b: Self::Acc) -> Self::Acc;
    /// The result for a state that folded `n` elements.
    fn finish(&self, acc: Self::Acc, n: usize) -> Self::Out;
}

/// Integer sum (`PRODUCT = false`) or product, wrapping in 64 bits. Both
/// signednesses accumulate in `u64`: wrapping arithmetic has the same bits.
pub struct IntAgg<T, Out, const PRODUCT: bool>(PhantomData<(T, Out)>);

impl<T, Out, const PRODUCT: bool> Default for IntAgg<T, Out, PRODUCT> {
    fn default() -> Self {
        IntAgg(PhantomData)
    }
}

impl<T: Element, Out: Element, const PRODUCT: bool> Reducer<T> for IntAgg<T, Out, PRODUCT> {
    type Acc = u64;
    type Out = Out;
    #[inline(always)]
    fn init(&self) -> u64 {
        PRODUCT as u64
    }
    #[inline(always)]
    fn fold(&self, acc: u64, x: T) -> u64 {
        self.combine(acc, x.to_i128() as u64)
    }
    #[inline(always)]
    fn combine(&self, a: u64, b: u64) -> u64 {
        if PRODUCT {
            a.wrapping_mul(b)
        } else {
            a.wrapping_add(b)
        }
    }
    fn finish(&self, acc: u64, _n: usize) -> Out {
        Out::from_i128(acc as i128)
    }
}

/// Float sum, mean (`MEAN = true`) in the compute type (f32 for halves).
pub struct FloatSum<T, const MEAN: bool>(PhantomData<T>);

impl<T, const MEAN: bool> Default for FloatSum<T, MEAN> {
    fn default() -> Self {
        FloatSum(PhantomData)
    }
}

impl<T: FloatElement, const MEAN: bool> Reducer<T> for FloatSum<T, MEAN> {
    type Acc = T::Compute;
    type Out = T;
    #[inline(always)]
    fn init(&self) -> T::Compute {
        <T::Compute as Element>::ZERO
    }
    #[inline(always)]
    fn fold(&self, acc: T::Compute, x: T) -> T::Compute {
        acc + x.widen()
    }
    #[inline(always)]
    fn combine(&self, a: T::Compute, b: T::Compute) -> T::Compute {
        a + b
    }
    fn finish(&self, acc: T::Compute, n: usize) -> T {
        if MEAN {
            T::narrow(acc / <T::Compute as Element>::from_f64(n as f64))
        } else {
            T::narrow(acc)
        }
    }
}

/// Float product in the compute type.
pub struct FloatProduct<T>(PhantomData<T>);

impl<T> Default for FloatProduct<T> {
    fn default() -> Self {
        FloatProduct(PhantomData)
    }
}

impl<T: FloatElement> Reducer<T> for FloatProduct<T> {
    type Acc = T::Compute;
    type Out = T;
    #[inline(always)]
    fn init(&self) -> T::Compute {
        <T::Compute as Element>::ONE
    }
    #[inline(always)]
    fn fold(&self, acc: T::Compute, x: T) -> T::Compute {
        acc * x.widen()
    }
    #[inline(always)]
    fn combine(&self, a: T::Compute, b: T::Compute) -> T::Compute {
        a * b
    }
    fn finish(&self, acc: T::Compute, _n: usize) -> T {
        T::narrow(acc)
    }
}

/// The smallest value of `T` (-inf for floats).
pub fn lowest<T: Element>() -> T {
    if T::DTYPE.is_float() {
        T::from_f64(f64::NEG_INFINITY)
    } else if T::DTYPE.is_signed_integer() {
        T::from_i128(-(1i128 << (T::DTYPE.bits() - 1)))
    } else {
        T::ZERO
    }
}

/// The largest value of `T` (+inf for floats).
pub fn highest<T: Element>() -> T {
    if T::DTYPE.is_float() {
        T::from_f64(f64::INFINITY)
    } else if T::DTYPE.is_signed_integer() {
        T::from_i128((1i128 << (T::DTYPE.bits() - 1)) - 1)
    } else {
        T::from_i128((1i128 << T::DTYPE.bits()) - 1)
    }
}

/// The larger (`MAX`) or smaller of two values; NaN wins, as in XLA and Nx.
#[inline(always)]
#[allow(clippy::eq_op)]
pub fn pick<T: Element, const MAX: bool>(a: T, b: T) -> T {
    // `x != x` is the generic NaN test: never true for integers.
    if b != b {
        b
    } else if a != a {
        a
    } else if (MAX && b > a) || (!MAX && b < a) {
        b
    } else {
        a
    }
}

/// `reduce_max` (`MAX = true`) or `reduce_min`.
pub struct MinMax<T, const MAX: bool>(PhantomData<T>);

impl<T, const MAX: bool> Default for MinMax<T, MAX> {
    fn default() -> Self {
        MinMax(PhantomData)
    }
}

impl<T: Element, const MAX: bool> Reducer<T> for MinMax<T, MAX> {
    type Acc = T;
    type Out = T;
    #[inline(always)]
    fn init(&self) -> T {
        if MAX {
            lowest()
        } else {
            highest()
        }
    }
    #[inline(always)]
    fn fold(&self, acc: T, x: T) -> T {
        pick::<T, MAX>(acc, x)
    }
    #[inline(always)]
    fn combine(&self, a: T, b: T) -> T {
        pick::<T, MAX>(a, b)
    }
    fn finish(&self, acc: T, _n: usize) -> T {
        acc
    }
}

/// `all` (`ALL = true`) or `any`: u8 0/1.
pub struct Logic<T, const ALL: bool>(PhantomData<T>);

impl<T, const ALL: bool> Default for Logic<T, ALL> {
    fn default() -> Self {
        Logic(PhantomData)
    }
}

impl<T: Element, const ALL: bool> Reducer<T> for Logic<T, ALL> {
    type Acc = bool;
    type Out = u8;
    #[inline(always)]
    fn init(&self) -> bool {
        ALL
    }
    #[inline(always)]
    fn fold(&self, acc: bool, x: T) -> bool {
        self.combine(acc, x != T::ZERO)
    }
    #[inline(always)]
    fn combine(&self, a: bool, b: bool) -> bool {
        if ALL {
            a && b
        } else {
            a || b
        }
    }
    fn finish(&self, acc: bool, _n: usize) -> u8 {
        acc as u8
    }
}

/// `logsumexp` in one pass: the state is the running maximum `m` and
/// `s = sum(exp(x - m))`, rescaled whenever the maximum grows, so no
/// `exp` overflows.
pub struct LogSumExp<T>(PhantomData<T>);

impl<T> Default for LogSumExp<T> {
    fn default() -> Self {
        LogSumExp(PhantomData)
    }
}

impl<T: FloatElement> Reducer<T> for LogSumExp<T> {
    type Acc = (T::Compute, T::Compute);
    type Out = T;
    fn init(&self) -> Self::Acc {
        (
            <T::Compute as Float>::neg_infinity(),
            <T::Compute as Element>::ZERO,
        )
    }
    #[inline]
    fn fold(&self, acc: Self::Acc, x: T) -> Self::Acc {
        self.combine(acc, (x.widen(), <T::Compute as Element>::ONE))
    }
    #[inline]
    fn combine(&self, a: Self::Acc, b: Self::Acc) -> Self::Acc {
        let ((ma, sa), (mb, sb)) = (a, b);
        if ma.is_nan() || mb.is_nan() {
            return (<T::Compute as Float>::nan(), sa + sb);
        }
        let (hi, shi, lo, slo) = if ma >= mb {
            (ma, sa, mb, sb)
        } else {
            (mb, sb, ma, sa)
        };
        if lo == <T::Compute as Float>::neg_infinity() || slo == <T::Compute as Element>::ZERO {
            (hi, shi)
        } else if lo == hi {
            // Also covers hi = +inf, where hi - lo would be NaN.
            (hi, shi + slo)
        } else {
            (hi, shi + slo * (lo - hi).exp())
        }
    }
    fn finish(&self, (m, s): Self::Acc, _n: usize) -> T {
        if s == <T::Compute as Element>::ZERO {
            T::narrow(<T::Compute as Float>::neg_infinity())
        } else {
            T::narrow(m + s.ln())
        }
    }
}
