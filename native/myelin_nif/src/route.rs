//! Picks the backend of an op from where its operands live: the CUDA
//! launchers when any operand is on a GPU, the CPU kernels otherwise. Only
//! the ops below have CUDA launchers so far; every other op given a GPU
//! tensor fails with an error naming the device (from
//! `Tensor::cpu_storage`), telling the user to transfer it.

use myelin_core::ops::{BinaryOp, ReduceOp, UnaryOp};
use myelin_core::{DType, Device, Result, Tensor};

fn on_gpu(ts: &[&Tensor]) -> bool {
    ts.iter().any(|t| t.device() != Device::Cpu)
}

/// `unary(op, t)` on `t`'s device.
pub fn unary(op: UnaryOp, t: &Tensor) -> Result<Tensor> {
    if on_gpu(&[t]) {
        myelin_cuda::ops::unary(op, t)
    } else {
        myelin_cpu::unary(op, t)
    }
}

/// `binary(op, a, b)` on the operands' device.
pub fn binary(op: BinaryOp, a: &Tensor, b: &Tensor) -> Result<Tensor> {
    if on_gpu(&[a, b]) {
        myelin_cuda::ops::binary(op, a, b)
    } else {
        myelin_cpu::binary(op, a, b)
    }
}

/// `as_type(t, dtype)` on `t`'s device.
pub fn as_type(t: &Tensor, dtype: DType) -> Result<Tensor> {
    if on_gpu(&[t]) {
        myelin_cuda::ops::as_type(t, dtype)
    } else {
        myelin_cpu::as_type(t, dtype)
    }
}

/// `reduce(op, t, axes, keep_axes)` on `t`'s device.
pub fn reduce(op: ReduceOp, t: &Tensor, axes: Option<&[i64]>, keep_axes: bool) -> Result<Tensor> {
    if on_gpu(&[t]) {
        myelin_cuda::ops::reduce(op, t, axes, keep_axes)
    } else {
        myelin_cpu::reduce(op, t, axes, keep_axes)
    }
}

/// `dot` on the operands' device.
pub fn dot(a: &Tensor, ca: &[i64], ba: &[i64], b: &Tensor, cb: &[i64], bb: &[i64]) -> Result<Tensor> {
    if on_gpu(&[a, b]) {
        myelin_cuda::ops::dot(a, ca, ba, b, cb, bb)
    } else {
        myelin_cpu::dot(a, ca, ba, b, cb, bb)
    }
}
