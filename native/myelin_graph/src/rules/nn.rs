//! Neural-network primitives that exist as fused kernels: log_softmax,
//! softmax cross-entropy and dropout.

use super::expect_args;
use crate::graph::{Graph, NodeId};
use crate::op::Op;
use myelin_core::ops::{BinaryOp, UnaryOp};
use myelin_core::{DType, Error, Result, Shape, Tensor};

fn float_only(op: &str, dtype: DType) -> Result<DType> {
    let out = dtype.to_floating();
    if matches!(out, DType::F16 | DType::BF16 | DType::F32 | DType::F64) {
        Ok(out)
    } else {
        Err(Error::arg(op, format!("expected a float tensor, got {dtype}")))
    }
}

pub(crate) fn infer(op: &Op, args: &[(&Shape, DType)]) -> Result<(Shape, DType)> {
    match op {
        Op::LogSoftmax(axis) => {
            expect_args("log_softmax", args, 1)?;
            args[0].0.axis("log_softmax", *axis)?;
            Ok((args[0].0.clone(), float_only("log_softmax", args[0].1)?))
        }
        Op::SoftmaxCrossEntropy(axis) => {
            let name = "softmax_cross_entropy";
            expect_args(name, args, 2)?;
            let (logits, targets) = (args[0].0, args[1].0);
            if logits != targets {
                return Err(Error::arg(
                    name,
                    format!("expected targets of the logits' shape {logits}, got {targets}"),
                ));
            }
            let a = logits.axis(name, *axis)?;
            let mut dims = logits.dims().to_vec();
            dims.remove(a);
            Ok((Shape::new(dims), float_only(name, args[0].1.merge(args[1].1))?))
        }
        Op::Dropout { rate, .. } => {
            expect_args("dropout", args, 1)?;
            if !(0.0..1.0).contains(rate) {
                return Err(Error::arg(
                    "dropout",
                    format!("expected a rate in [0, 1), got {rate}"),
                ));
            }
            Ok((args[0].0.clone(), float_only("dropout", args[0].1)?))
        }
        _ => Err(Error::internal(op.name(), "not an nn op")),
    }
}

pub(crate) fn eval(op: &Op, args: &[&Tensor], seed: u64) -> Result<Tensor> {
    match op {
        Op::LogSoftmax(axis) => myelin_cpu::softmax::log_softmax(args[0], *axis),
        Op::SoftmaxCrossEntropy(axis) => myelin_cpu::softmax::softmax_cross_entropy(args[0], args[1], *axis),
        Op::Dropout { rate, salt } => dropout(args[0], *rate, seed ^ salt),
        _ => Err(Error::internal(op.name(), "not an nn op")),
    }
}

/// `x * mask / (1 - rate)` with a Bernoulli(1 - rate) mask drawn from
/// `seed` (counter-based, so the backward pass redraws the same mask).
fn dropout(x: &Tensor, rate: f64, seed: u64) -> Result<Tensor> {
    if rate == 0.0 {
        return Ok(x.clone());
    }
    let u = myelin_cpu::random_uniform(seed, 0.0, 1.0, x.dtype(), x.shape())?;
    let r = myelin_cpu::as_type(&Tensor::full(Shape::scalar(), rate)?, x.dtype())?;
    let keep = myelin_cpu::binary(BinaryOp::GreaterEqual, &u, &r)?;
    let scale = myelin_cpu::as_type(&Tensor::full(Shape::scalar(), 1.0 / (1.0 - rate))?, x.dtype())?;
    let kept = myelin_cpu::select(
        &keep,
        x,
        &myelin_cpu::as_type(&Tensor::full(Shape::scalar(), 0.0)?, x.dtype())?,
    )?;
    myelin_cpu::binary(BinaryOp::Multiply, &kept, &scale)
}

pub(crate) fn vjp(op: &Op, g: &mut Graph, node: NodeId, dy: NodeId) -> Result<Vec<Option<NodeId>>> {
    let inputs = g.node(node).inputs.clone();
    match op {
        Op::LogSoftmax(axis) => {
            // dx = dy - softmax(x) * sum(dy, axis)
            let shape = g.node(node).shape.clone();
            let a = shape.axis("log_softmax", *axis)? as i64;
            let sm = g.unary(UnaryOp::Exp, node)?;
            let s = g.sum(dy, vec![a], true)?;
            let s = g.broadcast_to(s, &shape)?;
            let t = g.binary(BinaryOp::Multiply, sm, s)?;
            Ok(vec![Some(g.binary(BinaryOp::Subtract, dy, t)?)])
        }
        Op::SoftmaxCrossEntropy(axis) => {
            // d/dlogits = dy * (softmax(x) * sum(t) - t); d/dt = -dy * log_softmax(x)
            let (x, t) = (inputs[0], inputs[1]);
            let shape = g.node(x).shape.clone();
            let a = shape.axis("softmax_cross_entropy", *axis)? as i64;
            let mut kept = shape.dims().to_vec();
            kept[a as usize] = 1;
            let dy_b = g.reshape(dy, Shape::new(kept))?;
            let dy_b = g.broadcast_to(dy_b, &shape)?;
            let ls = g.add(Op::LogSoftmax(*axis), &[x])?;
            let sm = g.unary(UnaryOp::Exp, ls)?;
            let st = g.sum(t, vec![a], true)?;
            let st = g.broadcast_to(st, &shape)?;
            let p = g.binary(BinaryOp::Multiply, sm, st)?;
            let d = g.binary(BinaryOp::Subtract, p, t)?;
            let dx = g.binary(BinaryOp::Multiply, dy_b, d)?;
            let dx = g.cast(dx, g.node(x).dtype)?;
            let dt = if g.node(t).dtype.is_float() {
                let m = g.binary(BinaryOp::Multiply, dy_b, ls)?;
                let m = g.unary(UnaryOp::Negate, m)?;
                Some(g.cast(m, g.node(t).dtype)?)
            } else {
                None
            };
            Ok(vec![Some(dx), dt])
        }
        // The same mask (same seed and salt) applied to dy.
        Op::Dropout { .. } => Ok(vec![Some(g.add(op.clone(), &[dy])?)]),
        _ => Err(Error::internal(op.name(), "not an nn op")),
    }
}
