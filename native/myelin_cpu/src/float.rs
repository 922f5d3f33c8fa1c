//! Floating-point maths, written once for every float dtype.
//!
//! Kernels compute in [`FloatElement::Compute`]: f32 for f16, bf16 and f32,
//! f64 for f64. Half-precision values are widened on load and rounded on
//! store, as PyTorch's CPU kernels do.

use crate::fast_math::{self, Transcendental};
use half::{bf16, f16};
use myelin_core::Element;

/// The maths kernels need, on the two compute types.
///
/// The scalar functions that are rarely on a hot path (erf, the hyperbolic
/// functions, cbrt, expm1) are computed for f32 in f64 and rounded once, so
/// they are correctly rounded in practice, as Nx.BinaryBackend's are (std's
/// and libm's f32 versions are off by an ulp or more in places). The hot
/// transcendental functions (exp, log, tanh, sigmoid) use [`fast_math`].
pub trait Real:
    num_traits::Float
    + num_traits::FloatConst
    + Element
    + std::ops::AddAssign
    + std::ops::MulAssign
    + Sync
    + Send
    + crate::matmul::Scalar
{
    /// The error function.
    fn erf(self) -> Self;
    /// The complementary error function.
    fn erfc(self) -> Self;
    /// The inverse error function: NaN outside [-1, 1], ±inf at ±1.
    fn erf_inv_(self) -> Self;
    /// The cube root.
    fn cbrt_(self) -> Self;
    /// e^x - 1.
    fn expm1_(self) -> Self;
    /// Hyperbolic sine.
    fn sinh_(self) -> Self;
    /// Hyperbolic cosine.
    fn cosh_(self) -> Self;
    /// Inverse hyperbolic sine.
    fn asinh_(self) -> Self;
    /// Inverse hyperbolic cosine.
    fn acosh_(self) -> Self;
    /// Inverse hyperbolic tangent.
    fn atanh_(self) -> Self;
    /// `out[i] = f(x[i])`: for f32 with [`fast_math`]'s kernels, which run
    /// at SIMD width (std's f32 functions are scalar libm calls); for f64
    /// with std's.
    fn transcendental(f: Transcendental, x: &[Self], out: &mut [Self]);
}

impl Real for f64 {
    fn erf(self) -> Self {
        libm::erf(self)
    }
    fn erfc(self) -> Self {
        libm::erfc(self)
    }
    fn erf_inv_(self) -> Self {
        erf_inv(self)
    }
    fn cbrt_(self) -> Self {
        libm::cbrt(self)
    }
    fn expm1_(self) -> Self {
        libm::expm1(self)
    }
    fn sinh_(self) -> Self {
        libm::sinh(self)
    }
    fn cosh_(self) -> Self {
        libm::cosh(self)
    }
    fn asinh_(self) -> Self {
        libm::asinh(self)
    }
    fn acosh_(self) -> Self {
        libm::acosh(self)
    }
    fn atanh_(self) -> Self {
        libm::atanh(self)
    }
    fn transcendental(f: Transcendental, x: &[Self], out: &mut [Self]) {
        fast_math::map_f64(f, x, out)
    }
}

/// Implements the scalar functions of [`Real`] for f32 as the f64 function
/// rounded to f32.
macro_rules! via_f64 {
    ($($name:ident),*) => {
        $(
            #[inline]
            fn $name(self) -> Self {
                <f64 as Real>::$name(self as f64) as f32
            }
        )*
    };
}

impl Real for f32 {
    via_f64!(erf, erfc, erf_inv_, cbrt_, expm1_, sinh_, cosh_, asinh_, acosh_, atanh_);
    fn transcendental(f: Transcendental, x: &[Self], out: &mut [Self]) {
        fast_math::map(f, x, out)
    }
}

/// The inverse error function in f64: Giles' single-precision
/// approximation (the one Nx's Complex.erf_inv uses) refined by two Newton
/// steps on erf, which bring it to full f64 precision.
pub fn erf_inv(z: f64) -> f64 {
    if z.is_nan() || z.abs() > 1.0 {
        return f64::NAN;
    }
    if z.abs() == 1.0 {
        return f64::INFINITY.copysign(z);
    }
    if z == 0.0 {
        return z;
    }
    let w = -((1.0 - z) * (1.0 + z)).ln();
    let p = if w < 5.0 {
        let w = w - 2.5;
        [
            3.43273939e-07,
            -3.5233877e-06,
            -4.39150654e-06,
            0.00021858087,
            -0.00125372503,
            -0.00417768164,
            0.246640727,
            1.50140941,
        ]
        .iter()
        .fold(2.81022636e-08, |acc, c| acc * w + c)
    } else {
        let w = w.sqrt() - 3.0;
        [
            0.000100950558,
            0.00134934322,
            -0.00367342844,
            0.00573950773,
            -0.0076224613,
            0.00943887047,
            1.00167406,
            2.83297682,
        ]
        .iter()
        .fold(-0.000200214257, |acc, c| acc * w + c)
    };
    // Newton on |z|, with f'(x) = 2/sqrt(pi) e^(-x^2). Above 0.5 the
    // residual is taken as erfc(x) - (1 - |z|) (1 - |z| is exact there),
    // which keeps its relative accuracy where erf flattens towards 1. When
    // the derivative underflows (|z| within ~1e-300 of 1) the
    // approximation is kept.
    let a = z.abs();
    let mut x = p * a;
    for _ in 0..2 {
        let d = std::f64::consts::FRAC_2_SQRT_PI * (-x * x).exp();
        if d == 0.0 || !d.is_finite() {
            break;
        }
        let residual = if a > 0.5 {
            (1.0 - a) - libm::erfc(x)
        } else {
            libm::erf(x) - a
        };
        let next = x - residual / d;
        if !next.is_finite() {
            break;
        }
        x = next;
    }
    x.copysign(z)
}

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
