//! Unit tests of the binary kernels, one group per op class.

use super::*;
use half::{bf16, f16};
use myelin_core::Shape;

fn t<T: Element>(dims: &[usize], v: Vec<T>) -> Tensor {
    Tensor::from_vec(Shape::from(dims), v).unwrap()
}

fn v1<T: Element>(v: Vec<T>) -> Tensor {
    t(&[v.len()], v)
}

fn run<T: Element>(op: BinaryOp, a: &Tensor, b: &Tensor) -> Vec<T> {
    let r = binary(op, a, b).unwrap();
    assert_eq!(r.dtype(), T::DTYPE, "{op:?}");
    r.as_slice::<T>().unwrap().to_vec()
}

#[test]
fn float_arithmetic() {
    use BinaryOp::*;
    let a = v1(vec![7.0f32, -7.0, 2.0, f32::NAN]);
    let b = v1(vec![2.0f32, 2.0, -0.5, 1.0]);
    assert_eq!(run::<f32>(Add, &a, &b)[..3], [9.0, -5.0, 1.5]);
    assert_eq!(run::<f32>(Subtract, &a, &b)[..3], [5.0, -9.0, 2.5]);
    assert_eq!(run::<f32>(Multiply, &a, &b)[..3], [14.0, -14.0, -1.0]);
    assert_eq!(run::<f32>(Divide, &a, &b)[..3], [3.5, -3.5, -4.0]);
    assert_eq!(run::<f32>(Pow, &a, &b)[..3], [49.0, 49.0, 2.0f32.powf(-0.5)]);
    assert_eq!(run::<f32>(Remainder, &a, &b)[..3], [1.0, -1.0, 0.0]);
    assert_eq!(run::<f32>(Atan2, &a, &b)[..1], [7.0f32.atan2(2.0)]);
    let min = run::<f32>(Min, &a, &b);
    assert_eq!(min[..3], [2.0, -7.0, -0.5]);
    assert!(min[3].is_nan());
    // NaN propagates from either side.
    assert!(run::<f32>(Max, &b, &a)[3].is_nan());
}

#[test]
fn half_types_compute_in_f32() {
    let a = v1(vec![bf16::from_f32(1.5), bf16::from_f32(-3.0)]);
    let b = v1(vec![bf16::from_f32(2.0), bf16::from_f32(0.5)]);
    let r = run::<bf16>(BinaryOp::Multiply, &a, &b);
    assert_eq!(r, [bf16::from_f32(3.0), bf16::from_f32(-1.5)]);
    let h = v1(vec![f16::from_f32(1.0)]);
    let mixed = binary(BinaryOp::Add, &h, &a).unwrap();
    assert_eq!(mixed.dtype(), DType::F32);
    assert_eq!(mixed.as_slice::<f32>().unwrap(), &[2.5, -2.0]);
}

#[test]
fn integer_arithmetic_wraps_and_never_panics() {
    use BinaryOp::*;
    let a = v1(vec![i8::MAX, i8::MIN, -7, 7, 5]);
    let b = v1(vec![1i8, -1, 2, -2, 0]);
    assert_eq!(run::<i8>(Add, &a, &b), [i8::MIN, i8::MAX, -5, 5, 5]);
    assert_eq!(run::<i8>(Subtract, &a, &b), [126, -127, -9, 9, 5]);
    assert_eq!(run::<i8>(Multiply, &a, &b), [127, i8::MIN, -14, -14, 0]);
    assert_eq!(run::<i8>(Quotient, &a, &b), [127, i8::MIN, -3, -3, 0]);
    assert_eq!(run::<i8>(Remainder, &a, &b), [0, 0, -1, 1, 0]);
    assert_eq!(run::<i8>(Min, &a, &b), [1, i8::MIN, -7, -2, 0]);
    assert_eq!(run::<i8>(Max, &a, &b), [i8::MAX, -1, 2, 7, 5]);
    let d = binary(Divide, &a, &b).unwrap();
    assert_eq!(d.dtype(), DType::F32);
    assert_eq!(d.as_slice::<f32>().unwrap()[2], -3.5);
}

#[test]
fn integer_pow() {
    let base = v1(vec![2i32, -3, 1, -1, -1, 2, 0, 3]);
    let exp = v1(vec![10i32, 3, -5, -3, -4, -1, 0, 40]);
    let r = run::<i32>(BinaryOp::Pow, &base, &exp);
    assert_eq!(r[..7], [1024, -27, 1, -1, 1, 0, 1]);
    assert_eq!(r[7], 3i32.wrapping_pow(40));
    let u = run::<u8>(BinaryOp::Pow, &v1(vec![2u8, 3]), &v1(vec![9u8, 2]));
    assert_eq!(u, [0, 9]);
}

#[test]
fn bitwise_and_shifts() {
    use BinaryOp::*;
    let a = v1(vec![0b1100i16, -8, -8, 1, 1, -1]);
    let b = v1(vec![0b1010i16, 1, 100, 15, 16, -1]);
    assert_eq!(run::<i16>(BitwiseAnd, &a, &b)[..1], [0b1000]);
    assert_eq!(run::<i16>(BitwiseOr, &a, &b)[..1], [0b1110]);
    assert_eq!(run::<i16>(BitwiseXor, &a, &b)[..1], [0b0110]);
    assert_eq!(
        run::<i16>(LeftShift, &a, &b),
        [0b1100 << 10, -16, 0, i16::MIN, 0, 0]
    );
    assert_eq!(run::<i16>(RightShift, &a, &b), [0b1100 >> 10, -4, -1, 0, 0, -1]);
    let u = run::<u8>(RightShift, &v1(vec![0x80u8, 0x80]), &v1(vec![7u8, 8]));
    assert_eq!(u, [1, 0]);
    let e = binary(BitwiseAnd, &v1(vec![1.0f32]), &v1(vec![1i32])).unwrap_err();
    assert_eq!(
        e.message(),
        "bitwise_and: expected tensors of integer types, got {:f, 32} and {:s, 32}"
    );
    assert!(binary(Quotient, &v1(vec![1.0f64]), &v1(vec![1.0f64])).is_err());
}

#[test]
fn comparisons_and_logical_ops() {
    use BinaryOp::*;
    let a = v1(vec![1.0f64, 2.0, f64::NAN, 0.0]);
    let b = v1(vec![2i8, 2, 1, 0]);
    assert_eq!(run::<u8>(Equal, &a, &b), [0, 1, 0, 1]);
    assert_eq!(run::<u8>(NotEqual, &a, &b), [1, 0, 1, 0]);
    assert_eq!(run::<u8>(Less, &a, &b), [1, 0, 0, 0]);
    assert_eq!(run::<u8>(LessEqual, &a, &b), [1, 1, 0, 1]);
    assert_eq!(run::<u8>(Greater, &a, &b), [0, 0, 0, 0]);
    assert_eq!(run::<u8>(GreaterEqual, &a, &b), [0, 1, 0, 1]);
    assert_eq!(run::<u8>(LogicalAnd, &a, &b), [1, 1, 1, 0]);
    assert_eq!(run::<u8>(LogicalOr, &a, &b), [1, 1, 1, 0]);
    assert_eq!(run::<u8>(LogicalXor, &a, &v1(vec![0u8, 1, 0, 1])), [1, 0, 1, 1]);
    // Compared in the merged type (s16), not bit patterns.
    assert_eq!(run::<u8>(Less, &v1(vec![200u8]), &v1(vec![-1i8])), [0]);
}

#[test]
fn broadcasting_and_errors() {
    let a = t(&[2, 3], vec![1i32, 2, 3, 4, 5, 6]);
    let r = binary(BinaryOp::Add, &a, &v1(vec![10i32, 20, 30])).unwrap();
    assert_eq!(r.dims(), &[2, 3]);
    assert_eq!(r.as_slice::<i32>().unwrap(), &[11, 22, 33, 14, 25, 36]);
    let col = t(&[2, 1], vec![1.0f32, 2.0]);
    let row = t(&[1, 3], vec![10.0f32, 20.0, 30.0]);
    let r = binary(BinaryOp::Multiply, &col, &row).unwrap();
    assert_eq!(
        r.as_slice::<f32>().unwrap(),
        &[10.0, 20.0, 30.0, 20.0, 40.0, 60.0]
    );
    let s = binary(BinaryOp::Subtract, &t(&[], vec![1u8]), &v1(vec![2u8, 0])).unwrap();
    assert_eq!(s.as_slice::<u8>().unwrap(), &[255, 1]);
    let z = binary(
        BinaryOp::Add,
        &t(&[0, 3], Vec::<f32>::new()),
        &v1(vec![1.0f32, 2.0, 3.0]),
    )
    .unwrap();
    assert_eq!(z.dims(), &[0, 3]);
    let e = binary(BinaryOp::Add, &a, &v1(vec![1i32, 2])).unwrap_err();
    assert_eq!(
        e.message(),
        "add: cannot broadcast tensors of shapes {2, 3} and {2}"
    );
}

#[test]
fn large_same_shape_inputs_run_in_parallel_chunks() {
    let n = 300_001;
    let a = v1((0..n).map(|i| i as f32).collect());
    let b = v1(vec![1.0f32; n]);
    let r = run::<f32>(BinaryOp::Add, &a, &b);
    assert!(r.iter().enumerate().all(|(i, &v)| v == i as f32 + 1.0));
    let s = run::<f32>(BinaryOp::Multiply, &a, &t(&[], vec![2.0f32]));
    assert!(s.iter().enumerate().all(|(i, &v)| v == i as f32 * 2.0));
}
