//! Floating-point maths, written once for every float dtype.
//!
//! Kernels compute in [`FloatElement::Compute`]: f32 for f16, bf16 and f32,
//! f64 for f64. Half-precision values are widened on load and rounded on
//! store, as PyTorch's CPU kernels do.

use crate::fast_math::{self, Transcendental};
use half::{bf16, f16};
use myelin_core::Element;

/// The maths kernels need, on the two compute types.
pub trait Real:
    num_traits::Float + num_traits::FloatConst + Element + std::ops::AddAssign + std::ops::MulAssign + Sync + Send
{
    /// The error function.
    fn erf(self) -> Self;
    /// The complementary error function.
    fn erfc(self) -> Self;
    /// The cube root.
    fn cbrt_(self) -> Self;
    /// Inverse hyperbolic sine. From libm: std's f32 versions use a short
    /// formula that loses up to ~10 ulp near the domain edges.
    fn asinh_(self) -> Self;
    /// Inverse hyperbolic cosine (libm, as above).
    fn acosh_(self) -> Self;
    /// Inverse hyperbolic tangent (libm, as above).
    fn atanh_(self) -> Self;
    /// `out[i] = f(x[i])`: for f32 with [`fast_math`]'s kernels, which run
    /// at SIMD width (std's f32 functions are scalar libm calls); for f64
    /// with std's.
    fn transcendental(f: Transcendental, x: &[Self], out: &mut [Self]);
}

/// Implements [`Real`] with libm's functions and the slice kernel `$map`
/// for one compute type.
macro_rules! impl_real {
    ($t:ty, $erf:path, $erfc:path, $cbrt:path, $asinh:path, $acosh:path, $atanh:path, $map:path) => {
        impl Real for $t {
            fn erf(self) -> Self {
                $erf(self)
            }
            fn erfc(self) -> Self {
                $erfc(self)
            }
            fn cbrt_(self) -> Self {
                $cbrt(self)
            }
            fn asinh_(self) -> Self {
                $asinh(self)
            }
            fn acosh_(self) -> Self {
                $acosh(self)
            }
            fn atanh_(self) -> Self {
                $atanh(self)
            }
            fn transcendental(f: Transcendental, x: &[Self], out: &mut [Self]) {
                $map(f, x, out)
            }
        }
    };
}

impl_real!(
    f32,
    libm::erff,
    libm::erfcf,
    libm::cbrtf,
    libm::asinhf,
    libm::acoshf,
    libm::atanhf,
    fast_math::map
);
impl_real!(
    f64,
    libm::erf,
    libm::erfc,
    libm::cbrt,
    libm::asinh,
    libm::acosh,
    libm::atanh,
    fast_math::map_f64
);

/// A float storage type and the type it is computed in.
pub trait FloatElement: Element {
    /// The type arithmetic happens in.
    type Compute: Real;
    /// Widens to the compute type.
    fn widen(self) -> Self::Compute;
    /// Rounds back from the compute type.
    fn narrow(v: Self::Compute) -> Self;
    /// The values as the compute type, when it is the storage type (f32,
    /// f64), so kernels can skip widening.
    fn as_compute(values: &[Self]) -> Option<&[Self::Compute]> {
        let _ = values;
        None
    }
    /// As [`FloatElement::as_compute`], for output buffers.
    fn as_compute_mut(values: &mut [Self]) -> Option<&mut [Self::Compute]> {
        let _ = values;
        None
    }
}

/// Implements [`FloatElement`] for a type computed in itself.
macro_rules! impl_float_element_native {
    ($t:ty) => {
        impl FloatElement for $t {
            type Compute = $t;
            #[inline(always)]
            fn widen(self) -> $t {
                self
            }
            #[inline(always)]
            fn narrow(v: $t) -> Self {
                v
            }
            fn as_compute(values: &[Self]) -> Option<&[$t]> {
                Some(values)
            }
            fn as_compute_mut(values: &mut [Self]) -> Option<&mut [$t]> {
                Some(values)
            }
        }
    };
}

impl_float_element_native!(f32);
impl_float_element_native!(f64);

impl FloatElement for f16 {
    type Compute = f32;
    #[inline(always)]
    fn widen(self) -> f32 {
        self.to_f32()
    }
    #[inline(always)]
    fn narrow(v: f32) -> Self {
        f16::from_f32(v)
    }
}

impl FloatElement for bf16 {
    type Compute = f32;
    #[inline(always)]
    fn widen(self) -> f32 {
        self.to_f32()
    }
    #[inline(always)]
    fn narrow(v: f32) -> Self {
        bf16::from_f32(v)
    }
}
