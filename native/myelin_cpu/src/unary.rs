//! Elementwise ops of one tensor.

use crate::cast::as_type;
use crate::fast_math::Transcendental;
use crate::float::{FloatElement, Real};
use crate::integer::IntElement;
use crate::parallel::{build_vec, map_chunks, ELEMENTWISE_GRAIN};
use myelin_core::ops::unary::UnaryClass;
use myelin_core::ops::UnaryOp;
use myelin_core::{dispatch_dtype, dispatch_float, dispatch_integer, Element, Error, Result, Tensor};

/// Applies `op` to every element of `t`.
pub fn unary(op: UnaryOp, t: &Tensor) -> Result<Tensor> {
    let out_dtype = op.output_dtype(t.dtype())?;
    match op.class() {
        UnaryClass::Floating => {
            // Integers are computed in, and return, f32 (Nx's to_floating).
            let t = as_type(t, out_dtype)?;
            dispatch_float!(out_dtype, T => float_unary::<T>(op, &t), _ => unreachable_type(op, out_dtype))
        }
        UnaryClass::Predicate => dispatch_dtype!(t.dtype(), T => predicate::<T>(op, t)),
        UnaryClass::SameType | UnaryClass::IntegerOnly => dispatch_integer!(
            t.dtype(),
            T => integer_unary::<T>(op, t),
            _ => dispatch_float!(t.dtype(), T => float_unary::<T>(op, t), _ => unreachable_type(op, out_dtype))
        ),
    }
}

fn unreachable_type(op: UnaryOp, dtype: myelin_core::DType) -> Result<Tensor> {
    Err(Error::internal(op.name(), format!("no kernel for type {dtype}")))
}

/// Maps every element of `t` through `f` into a new tensor of the same shape.
pub(crate) fn map_elements<S: Element, D: Element>(t: &Tensor, f: impl Fn(S) -> D + Sync) -> Result<Tensor> {
    let src = t.as_slice::<S>()?;
    let mut out = vec![D::ZERO; src.len()];
    map_chunks(src, &mut out, ELEMENTWISE_GRAIN, |i, o| {
        for (x, y) in i.iter().zip(o.iter_mut()) {
            *y = f(*x);
        }
    });
    Tensor::from_vec(t.shape().clone(), out)
}

/// A kernel generic over a float unary op's formula, given as a function
/// over slices of the compute type (so an op can use a vectorized routine).
/// The one table of formulas ([`with_float_unary`]) serves the eager kernel
/// and the fused one (`fused.rs`), so both give the same bits.
pub(crate) trait FloatUnaryKernel<C> {
    /// What the kernel returns.
    type Output;
    /// Runs the kernel with `f`, which maps `x` into `out` (same length).
    fn run<F: Fn(&[C], &mut [C]) + Sync + Copy>(self, f: F) -> Self::Output;
}

/// `out[i] = f(x[i])`.
#[inline(always)]
fn each<C: Copy>(x: &[C], out: &mut [C], f: impl Fn(C) -> C) {
    for (o, &v) in out.iter_mut().zip(x) {
        *o = f(v);
    }
}

/// Runs `kernel` with the formula of the float op `op`, computed in `C`.
pub(crate) fn with_float_unary<C: Real, K: FloatUnaryKernel<C>>(op: UnaryOp, kernel: K) -> Result<K::Output> {
    use UnaryOp::*;
    let one = C::one();
    Ok(match op {
        Negate => kernel.run(|x, o| each(x, o, |v| -v)),
        Abs => kernel.run(|x, o| each(x, o, |v: C| v.abs())),
        Sign => kernel.run(|x, o| {
            each(
                x,
                o,
                |v: C| if v.is_nan() || v == C::ZERO { v } else { v.signum() },
            )
        }),
        Floor => kernel.run(|x, o| each(x, o, |v: C| v.floor())),
        Ceil => kernel.run(|x, o| each(x, o, |v: C| v.ceil())),
        Round => kernel.run(|x, o| each(x, o, |v: C| v.round())),
        Exp => kernel.run(|x, o| C::transcendental(Transcendental::Exp, x, o)),
        Expm1 => kernel.run(|x, o| each(x, o, |v: C| v.expm1_())),
        Log => kernel.run(|x, o| C::transcendental(Transcendental::Ln, x, o)),
        Log1p => kernel.run(|x, o| each(x, o, |v: C| v.ln_1p())),
        Sqrt => kernel.run(|x, o| each(x, o, |v: C| v.sqrt())),
        Rsqrt => kernel.run(move |x, o| each(x, o, |v: C| one / v.sqrt())),
        Cbrt => kernel.run(|x, o| each(x, o, |v: C| v.cbrt_())),
        Sin => kernel.run(|x, o| each(x, o, |v: C| v.sin())),
        Cos => kernel.run(|x, o| each(x, o, |v: C| v.cos())),
        Tan => kernel.run(|x, o| each(x, o, |v: C| v.tan())),
        Asin => kernel.run(|x, o| each(x, o, |v: C| v.asin())),
        Acos => kernel.run(|x, o| each(x, o, |v: C| v.acos())),
        Atan => kernel.run(|x, o| each(x, o, |v: C| v.atan())),
        Sinh => kernel.run(|x, o| each(x, o, |v: C| v.sinh_())),
        Cosh => kernel.run(|x, o| each(x, o, |v: C| v.cosh_())),
        Tanh => kernel.run(|x, o| C::transcendental(Transcendental::Tanh, x, o)),
        Asinh => kernel.run(|x, o| each(x, o, |v: C| v.asinh_())),
        Acosh => kernel.run(|x, o| each(x, o, |v: C| v.acosh_())),
        Atanh => kernel.run(|x, o| each(x, o, |v: C| v.atanh_())),
        Sigmoid => kernel.run(|x, o| C::transcendental(Transcendental::Sigmoid, x, o)),
        Erf => kernel.run(|x, o| each(x, o, |v: C| v.erf())),
        Erfc => kernel.run(|x, o| each(x, o, |v: C| v.erfc())),
        ErfInv => kernel.run(|x, o| each(x, o, |v: C| v.erf_inv_())),
        IsNan | IsInfinity | LogicalNot | BitwiseNot | CountLeadingZeros | PopulationCount => {
            return Err(Error::internal(op.name(), "not a float-to-float op"))
        }
    })
}

/// Values widened per block when a half type is computed in f32.
const WIDEN_BLOCK: usize = 1024;

/// The eager kernel: maps a whole float tensor, in parallel for large ones.
struct MapFloat<'a, T> {
    t: &'a Tensor,
    storage: std::marker::PhantomData<T>,
}

impl<T: FloatElement> FloatUnaryKernel<T::Compute> for MapFloat<'_, T> {
    type Output = Result<Tensor>;
    fn run<F: Fn(&[T::Compute], &mut [T::Compute]) + Sync + Copy>(self, f: F) -> Result<Tensor> {
        let src = self.t.as_slice::<T>()?;
        if let Some(src) = T::as_compute(src) {
            // f32, f64: computed straight into the result, unfilled.
            let out = build_vec(
                src.len(),
                ELEMENTWISE_GRAIN,
                WIDEN_BLOCK,
                || (),
                |_, offset, values| f(&src[offset..offset + values.len()], values),
            );
            return Tensor::from_vec(self.t.shape().clone(), out);
        }
        let mut out = vec![T::ZERO; src.len()];
        map_chunks(src, &mut out, ELEMENTWISE_GRAIN, |i, o| {
            match (T::as_compute(i), T::as_compute_mut(o)) {
                (Some(i), Some(o)) => f(i, o),
                // Half types: widen a block, compute, round back.
                _ => {
                    let zero = <T::Compute as Element>::ZERO;
                    let (mut wide, mut res) = ([zero; WIDEN_BLOCK], [zero; WIDEN_BLOCK]);
                    for (i, o) in i.chunks(WIDEN_BLOCK).zip(o.chunks_mut(WIDEN_BLOCK)) {
                        let n = i.len();
                        each_widen(i, &mut wide[..n]);
                        f(&wide[..n], &mut res[..n]);
                        for (d, &v) in o.iter_mut().zip(&res[..n]) {
                            *d = T::narrow(v);
                        }
                    }
                }
            }
        });
        Tensor::from_vec(self.t.shape().clone(), out)
    }
}

fn each_widen<T: FloatElement>(src: &[T], dst: &mut [T::Compute]) {
    for (d, &v) in dst.iter_mut().zip(src) {
        *d = v.widen();
    }
}

fn float_unary<T: FloatElement>(op: UnaryOp, t: &Tensor) -> Result<Tensor> {
    let kernel = MapFloat::<T> {
        t,
        storage: std::marker::PhantomData,
    };
    with_float_unary::<T::Compute, _>(op, kernel)?
}

fn integer_unary<T: IntElement>(op: UnaryOp, t: &Tensor) -> Result<Tensor> {
    use UnaryOp::*;
    match op {
        Negate => map_elements::<T, T>(t, |x| x.wrapping_neg()),
        Abs => map_elements::<T, T>(t, |x| x.wrapping_abs_()),
        Sign => map_elements::<T, T>(t, |x| x.signum_()),
        // Integers are already whole.
        Floor | Ceil | Round => Ok(t.clone()),
        BitwiseNot => map_elements::<T, T>(t, |x| !x),
        // Counts fit every integer type (at most 64).
        CountLeadingZeros => map_elements::<T, T>(t, |x| count_as::<T>(x.leading_zeros())),
        PopulationCount => map_elements::<T, T>(t, |x| count_as::<T>(x.count_ones())),
        _ => Err(Error::internal(op.name(), "not an integer-to-integer op")),
    }
}

fn count_as<T: IntElement>(n: u32) -> T {
    <T as num_traits::NumCast>::from(n).unwrap_or(<T as Element>::ZERO)
}

fn predicate<T: Element>(op: UnaryOp, t: &Tensor) -> Result<Tensor> {
    match op {
        UnaryOp::IsNan => map_elements::<T, u8>(t, |x| x.to_f64().is_nan() as u8),
        UnaryOp::IsInfinity => map_elements::<T, u8>(t, |x| x.to_f64().is_infinite() as u8),
        UnaryOp::LogicalNot => map_elements::<T, u8>(t, |x| (x == T::ZERO) as u8),
        _ => Err(Error::internal(op.name(), "not a predicate")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use half::bf16;
    use myelin_core::{DType, Shape};

    fn f32s(v: &[f32]) -> Tensor {
        Tensor::from_vec(Shape::new(vec![v.len()]), v.to_vec()).unwrap()
    }

    #[test]
    fn float_maths() {
        let t = f32s(&[0.0, 1.0, -2.0]);
        let e = unary(UnaryOp::Exp, &t).unwrap();
        assert_eq!(
            e.as_slice::<f32>().unwrap(),
            &[1.0, 1.0f32.exp(), (-2.0f32).exp()]
        );
        let s = unary(UnaryOp::Sigmoid, &f32s(&[-1000.0, 0.0, 1000.0])).unwrap();
        assert_eq!(s.as_slice::<f32>().unwrap(), &[0.0, 0.5, 1.0]);
        let r = unary(UnaryOp::Round, &f32s(&[2.5, -2.5, 0.4])).unwrap();
        assert_eq!(r.as_slice::<f32>().unwrap(), &[3.0, -3.0, 0.0]);
    }

    #[test]
    fn integers_promote_for_maths_and_wrap_otherwise() {
        let t = Tensor::from_vec(Shape::new(vec![2]), vec![i8::MIN, 4]).unwrap();
        let s = unary(UnaryOp::Sqrt, &t).unwrap();
        assert_eq!(s.dtype(), DType::F32);
        assert_eq!(s.as_slice::<f32>().unwrap()[1], 2.0);
        let n = unary(UnaryOp::Negate, &t).unwrap();
        assert_eq!(n.as_slice::<i8>().unwrap(), &[i8::MIN, -4]);
        let a = unary(UnaryOp::Abs, &t).unwrap();
        assert_eq!(a.as_slice::<i8>().unwrap(), &[i8::MIN, 4]);
        let b = unary(UnaryOp::BitwiseNot, &t).unwrap();
        assert_eq!(b.as_slice::<i8>().unwrap(), &[i8::MAX, -5]);
    }

    #[test]
    fn half_precision_computes_in_f32() {
        let t = Tensor::from_vec(Shape::new(vec![1]), vec![bf16::from_f32(1.0)]).unwrap();
        let e = unary(UnaryOp::Exp, &t).unwrap();
        assert_eq!(
            e.as_slice::<bf16>().unwrap(),
            &[bf16::from_f32(std::f32::consts::E)]
        );
    }

    #[test]
    fn predicates() {
        let t = f32s(&[f32::NAN, f32::INFINITY, 0.0]);
        let n = unary(UnaryOp::IsNan, &t).unwrap();
        assert_eq!(n.as_slice::<u8>().unwrap(), &[1, 0, 0]);
        let i = unary(UnaryOp::IsInfinity, &t).unwrap();
        assert_eq!(i.as_slice::<u8>().unwrap(), &[0, 1, 0]);
        let l = unary(UnaryOp::LogicalNot, &t).unwrap();
        assert_eq!(l.as_slice::<u8>().unwrap(), &[0, 0, 1]);
    }

    #[test]
    fn rejects_bitwise_not_on_floats() {
        assert!(unary(UnaryOp::BitwiseNot, &f32s(&[1.0])).is_err());
        assert!(unary(UnaryOp::PopulationCount, &f32s(&[1.0])).is_err());
    }

    #[test]
    fn bit_counts_per_integer_width() {
        let u = Tensor::from_vec(Shape::new(vec![3]), vec![0u8, 1, 255]).unwrap();
        let clz = unary(UnaryOp::CountLeadingZeros, &u).unwrap();
        assert_eq!(clz.as_slice::<u8>().unwrap(), &[8, 7, 0]);
        let s = Tensor::from_vec(Shape::new(vec![3]), vec![-1i32, 1, 0]).unwrap();
        let clz = unary(UnaryOp::CountLeadingZeros, &s).unwrap();
        assert_eq!(clz.as_slice::<i32>().unwrap(), &[0, 31, 32]);
        let p = Tensor::from_vec(Shape::new(vec![3]), vec![-1i8, 7, i8::MIN]).unwrap();
        let pc = unary(UnaryOp::PopulationCount, &p).unwrap();
        assert_eq!(pc.as_slice::<i8>().unwrap(), &[8, 3, 1]);
        let w = Tensor::from_vec(Shape::new(vec![1]), vec![u64::MAX]).unwrap();
        let pc = unary(UnaryOp::PopulationCount, &w).unwrap();
        assert_eq!(pc.as_slice::<u64>().unwrap(), &[64]);
    }

    #[test]
    fn erf_inv_inverts_erf() {
        // Reference values from mpmath's erfinv (50 digits, rounded).
        let cases = [
            (0.5, 0.476_936_276_204_469_9),
            (-0.9, -1.163_087_153_676_674_3),
            (0.999, 2.326_753_765_513_524_6),
            (1.0e-10, 8.862_269_254_527_58e-11),
        ];
        for (z, want) in cases {
            let got = crate::float::erf_inv(z);
            assert!(
                (got - want).abs() <= 4.0 * f64::EPSILON * want.abs(),
                "erf_inv({z}) = {got}, want {want}"
            );
        }
        for i in -999..=999 {
            let z = i as f64 / 1000.0;
            let x = crate::float::erf_inv(z);
            assert!(
                (libm::erf(x) - z).abs() <= 4.0 * f64::EPSILON,
                "erf(erf_inv({z})) = {}",
                libm::erf(x)
            );
        }
        let t = f32s(&[1.0, -1.0, 1.5, f32::NAN, 0.0, 0.5]);
        let y = unary(UnaryOp::ErfInv, &t).unwrap();
        let y = y.as_slice::<f32>().unwrap();
        assert_eq!(&y[..2], &[f32::INFINITY, f32::NEG_INFINITY]);
        assert!(y[2].is_nan() && y[3].is_nan());
        assert_eq!(&y[4..], &[0.0, 0.476_936_28]);
    }

    #[test]
    fn f32_special_functions_are_correctly_rounded() {
        // The f64 result rounded once to f32 (what Nx.BinaryBackend prints).
        let x = [0.1f32, 0.5, 1.0, 2.0, 3.0];
        for (op, f) in [
            (UnaryOp::Cosh, libm::cosh as fn(f64) -> f64),
            (UnaryOp::Expm1, libm::expm1),
            (UnaryOp::Asinh, libm::asinh),
            (UnaryOp::Erfc, libm::erfc),
        ] {
            let y = unary(op, &f32s(&x)).unwrap();
            let want: Vec<f32> = x.iter().map(|&v| f(v as f64) as f32).collect();
            assert_eq!(y.as_slice::<f32>().unwrap(), &want[..], "{op:?}");
        }
        let y = unary(UnaryOp::Atanh, &f32s(&[0.1, 0.5])).unwrap();
        assert_eq!(
            y.as_slice::<f32>().unwrap(),
            &[libm::atanh(0.1f32 as f64) as f32, libm::atanh(0.5) as f32]
        );
    }
}
