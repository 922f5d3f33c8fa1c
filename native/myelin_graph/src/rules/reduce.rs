//! Reductions (sum, mean, product, min, max, logsumexp) and arg-reductions.

use super::expect_args;
use crate::graph::{Graph, NodeId};
use crate::op::Op;
use myelin_core::ops::{BinaryOp, ReduceOp, UnaryOp};
use myelin_core::shape::reduce::{arg_reduce, reduce};
use myelin_core::{DType, Error, Result, Shape, Tensor};

pub(crate) fn infer(op: &Op, args: &[(&Shape, DType)]) -> Result<(Shape, DType)> {
    expect_args(op.name(), args, 1)?;
    let (shape, dtype) = args[0];
    match op {
        Op::Reduce { op, axes, keep_axes } => {
            let plan = reduce(op.name(), shape, axes.as_deref(), *keep_axes)?;
            if op.needs_elements() && plan.reduces_nothing(shape) {
                return Err(Error::arg(
                    op.name(),
                    format!("cannot reduce an empty axis of shape {shape}: there is no identity"),
                ));
            }
            Ok((plan.out, op.output_dtype(dtype)))
        }
        Op::ArgReduce {
            op, axis, keep_axis, ..
        } => {
            let (_, out) = arg_reduce(op.name(), shape, *axis, *keep_axis)?;
            Ok((out, DType::S64))
        }
        _ => Err(Error::internal(op.name(), "not a reduction")),
    }
}

pub(crate) fn eval(op: &Op, args: &[&Tensor]) -> Result<Tensor> {
    match op {
        Op::Reduce { op, axes, keep_axes } => myelin_cpu::reduce(*op, args[0], axes.as_deref(), *keep_axes),
        Op::ArgReduce {
            op,
            axis,
            tie_break,
            keep_axis,
        } => myelin_cpu::arg_reduce(*op, args[0], *axis, *tie_break, *keep_axis),
        _ => Err(Error::internal(op.name(), "not a reduction")),
    }
}

pub(crate) fn vjp(op: &Op, g: &mut Graph, node: NodeId, dy: NodeId) -> Result<Vec<Option<NodeId>>> {
    let Op::Reduce {
        op: rop,
        axes,
        keep_axes: _,
    } = op
    else {
        return Ok(vec![None]);
    };
    let x = g.node(node).inputs[0];
    let (x_shape, x_dtype) = (g.node(x).shape.clone(), g.node(x).dtype);
    if !x_dtype.is_float() {
        return Ok(vec![None]);
    }
    let plan = reduce(rop.name(), &x_shape, axes.as_deref(), true)?;
    // dy and y with the reduced axes kept as size 1, then stretched back.
    let dy_b = g.reshape(dy, plan.out.clone())?;
    let dy_b = g.broadcast_to(dy_b, &x_shape)?;
    let y_b = g.reshape(node, plan.out.clone())?;
    let y_b = g.broadcast_to(y_b, &x_shape)?;
    let count: usize = plan.axes.iter().map(|&a| x_shape.dims()[a]).product();
    let dx = match rop {
        ReduceOp::Sum => dy_b,
        ReduceOp::Mean => g.scale(dy_b, 1.0 / count.max(1) as f64)?,
        ReduceOp::Product => {
            // d/dx_i prod(x) = prod(x) / x_i (undefined where x_i = 0).
            let q = g.binary(BinaryOp::Divide, y_b, x)?;
            g.binary(BinaryOp::Multiply, dy_b, q)?
        }
        ReduceOp::ReduceMax | ReduceOp::ReduceMin => {
            // Ties share the gradient equally.
            let hit = g.binary(BinaryOp::Equal, x, y_b)?;
            let mask = g.cast(hit, x_dtype)?;
            let n = g.sum(mask, plan.axes.iter().map(|&a| a as i64).collect(), true)?;
            let n = g.broadcast_to(n, &x_shape)?;
            let share = g.binary(BinaryOp::Divide, mask, n)?;
            g.binary(BinaryOp::Multiply, dy_b, share)?
        }
        ReduceOp::Logsumexp => {
            let d = g.binary(BinaryOp::Subtract, x, y_b)?;
            let softmax = g.unary(UnaryOp::Exp, d)?;
            g.binary(BinaryOp::Multiply, dy_b, softmax)?
        }
        ReduceOp::All | ReduceOp::Any => return Ok(vec![None]),
    };
    Ok(vec![Some(dx)])
}
