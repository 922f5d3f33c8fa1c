//! Orderings and scans: sort, argsort and the cumulative ops.

use super::expect_args;
use crate::graph::{Graph, NodeId};
use crate::op::Op;
use myelin_core::ops::CumulativeOp;
use myelin_core::{DType, Error, Result, Shape, Tensor};
use myelin_cpu::sort::Direction;

fn direction(desc: bool) -> Direction {
    if desc {
        Direction::Desc
    } else {
        Direction::Asc
    }
}

pub(crate) fn infer(op: &Op, args: &[(&Shape, DType)]) -> Result<(Shape, DType)> {
    expect_args(op.name(), args, 1)?;
    let (shape, dtype) = args[0];
    match op {
        Op::Sort { axis, .. } | Op::Argsort { axis, .. } => {
            shape.axis(op.name(), *axis)?;
            let out = if matches!(op, Op::Argsort { .. }) {
                DType::S64
            } else {
                dtype
            };
            Ok((shape.clone(), out))
        }
        Op::Cumulative { axis, .. } => {
            if shape.rank() > 0 {
                shape.axis(op.name(), *axis)?;
            }
            Ok((shape.clone(), dtype))
        }
        _ => Err(Error::internal(op.name(), "not a scan op")),
    }
}

pub(crate) fn eval(op: &Op, args: &[&Tensor]) -> Result<Tensor> {
    match op {
        Op::Sort { axis, desc } => myelin_cpu::sort::sort(args[0], *axis, direction(*desc)),
        Op::Argsort { axis, desc } => myelin_cpu::sort::argsort(args[0], *axis, direction(*desc)),
        Op::Cumulative { op, axis, reverse } => myelin_cpu::cumulative(*op, args[0], *axis, *reverse),
        _ => Err(Error::internal(op.name(), "not a scan op")),
    }
}

pub(crate) fn vjp(op: &Op, g: &mut Graph, node: NodeId, dy: NodeId) -> Result<Vec<Option<NodeId>>> {
    let x = g.node(node).inputs[0];
    if !g.node(x).dtype.is_float() {
        return Ok(vec![None]);
    }
    let dx = match op {
        // sort(x) = take_along_axis(x, p) with p = argsort(x); the gradient
        // puts dy back through the inverse permutation, argsort(p).
        Op::Sort { axis, desc } => {
            let p = g.add(
                Op::Argsort {
                    axis: *axis,
                    desc: *desc,
                },
                &[x],
            )?;
            let inverse = g.add(
                Op::Argsort {
                    axis: *axis,
                    desc: false,
                },
                &[p],
            )?;
            g.add(Op::TakeAlongAxis(*axis), &[dy, inverse])?
        }
        Op::Argsort { .. } => return Ok(vec![None]),
        // Each input feeds every later (earlier, reversed) partial sum.
        Op::Cumulative {
            op: CumulativeOp::CumulativeSum,
            axis,
            reverse,
        } => g.add(
            Op::Cumulative {
                op: CumulativeOp::CumulativeSum,
                axis: *axis,
                reverse: !*reverse,
            },
            &[dy],
        )?,
        _ => return Err(Error::arg(op.name(), "this op has no gradient rule yet")),
    };
    Ok(vec![Some(dx)])
}
