//! Elementwise ops of one tensor.

use crate::cast::as_type;
use crate::float::{FloatElement, Real};
use crate::integer::IntElement;
use crate::parallel::{map_chunks, ELEMENTWISE_GRAIN};
use myelin_core::ops::unary::UnaryClass;
use myelin_core::ops::UnaryOp;
use myelin_core::{dispatch_dtype, dispatch_float, dispatch_integer, Element, Error, Result, Tensor};
use num_traits::Float;

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

/// Maps a float tensor through `f`, computed in the type's compute precision.
fn map_float<T: FloatElement>(t: &Tensor, f: impl Fn(T::Compute) -> T::Compute + Sync) -> Result<Tensor> {
    map_elements::<T, T>(t, |x| T::narrow(f(x.widen())))
}

fn float_unary<T: FloatElement>(op: UnaryOp, t: &Tensor) -> Result<Tensor> {
    use UnaryOp::*;
    let one = <T::Compute as num_traits::One>::one();
    match op {
        Negate => map_float::<T>(t, |x| -x),
        Abs => map_float::<T>(t, |x| x.abs()),
        Sign => map_float::<T>(t, |x| {
            if x.is_nan() || x == <T::Compute as Element>::ZERO {
                x
            } else {
                x.signum()
            }
        }),
        Floor => map_float::<T>(t, |x| x.floor()),
        Ceil => map_float::<T>(t, |x| x.ceil()),
        Round => map_float::<T>(t, |x| x.round()),
        Exp => map_float::<T>(t, |x| x.exp()),
        Expm1 => map_float::<T>(t, |x| x.exp_m1()),
        Log => map_float::<T>(t, |x| x.ln()),
        Log1p => map_float::<T>(t, |x| x.ln_1p()),
        Sqrt => map_float::<T>(t, |x| x.sqrt()),
        Rsqrt => map_float::<T>(t, |x| one / x.sqrt()),
        Cbrt => map_float::<T>(t, |x| x.cbrt_()),
        Sin => map_float::<T>(t, |x| x.sin()),
        Cos => map_float::<T>(t, |x| x.cos()),
        Tan => map_float::<T>(t, |x| x.tan()),
        Asin => map_float::<T>(t, |x| x.asin()),
        Acos => map_float::<T>(t, |x| x.acos()),
        Atan => map_float::<T>(t, |x| x.atan()),
        Sinh => map_float::<T>(t, |x| x.sinh()),
        Cosh => map_float::<T>(t, |x| x.cosh()),
        Tanh => map_float::<T>(t, |x| x.tanh()),
        Asinh => map_float::<T>(t, |x| x.asinh_()),
        Acosh => map_float::<T>(t, |x| x.acosh_()),
        Atanh => map_float::<T>(t, |x| x.atanh_()),
        Sigmoid => map_float::<T>(t, sigmoid),
        Erf => map_float::<T>(t, |x| x.erf()),
        Erfc => map_float::<T>(t, |x| x.erfc()),
        IsNan | IsInfinity | LogicalNot | BitwiseNot => {
            Err(Error::internal(op.name(), "not a float-to-float op"))
        }
    }
}

/// The logistic function, without overflow for large |x|.
#[inline]
fn sigmoid<R: Real>(x: R) -> R {
    let one = R::one();
    if x >= R::zero() {
        one / (one + (-x).exp())
    } else {
        let e = x.exp();
        e / (one + e)
    }
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
        _ => Err(Error::internal(op.name(), "not an integer-to-integer op")),
    }
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
    }
}
