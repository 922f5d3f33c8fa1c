//! Data movement: reshape, transpose, squeeze, new_axis, broadcast, slice,
//! put_slice, pad, concatenate, reverse, take, take_along_axis, gather,
//! indexed_add, indexed_put.

use crate::graph::{Graph, NodeId};
use crate::op::Op;
use myelin_core::shape::{indexing, transform};
use myelin_core::{DType, Error, Result, Shape, Tensor};
use myelin_cpu::indexing::Scatter;
use myelin_cpu::{indexing as cpu_index, reshape_ops as cpu};

fn ones(n: usize) -> Vec<i64> {
    vec![1; n]
}

pub(crate) fn infer(op: &Op, args: &[(&Shape, DType)]) -> Result<(Shape, DType)> {
    let (shape, dtype) = *args
        .first()
        .ok_or_else(|| Error::arg(op.name(), "expected at least one operand"))?;
    let out = match op {
        Op::Reshape(new) => shape.reshape("reshape", new)?,
        Op::Transpose(axes) => Shape::new(transform::transpose(shape, axes.as_deref())?.dims),
        Op::Squeeze(axes) => transform::squeeze(shape, axes.as_deref())?,
        Op::NewAxis(axis) => transform::new_axis("new_axis", shape, *axis)?,
        Op::Broadcast { shape: to, axes } => {
            Shape::new(transform::broadcast(shape, to, axes.as_deref())?.dims)
        }
        Op::Slice {
            starts,
            lengths,
            strides,
        } => {
            let strides = strides.clone().unwrap_or_else(|| ones(shape.rank()));
            Shape::new(transform::slice(shape, starts, lengths, &strides)?.dims)
        }
        Op::Pad(config) => {
            let merged = dtype.merge(args[1].1);
            return Ok((transform::pad(shape, config)?.shape, merged));
        }
        Op::Concatenate(axis) => {
            let shapes: Vec<&Shape> = args.iter().map(|a| a.0).collect();
            let merged = args.iter().fold(dtype, |t, a| t.merge(a.1));
            return Ok((transform::concatenate(&shapes, *axis)?.0, merged));
        }
        Op::Reverse(axes) => Shape::new(transform::reverse(shape, axes.as_deref())?.dims),
        Op::Take(axis) => {
            indexing::check_indices_type("take", args[1].1)?;
            indexing::take(shape, args[1].0, *axis)?.0
        }
        Op::TakeAlongAxis(axis) => {
            indexing::check_indices_type("take_along_axis", args[1].1)?;
            indexing::take_along_axis(shape, args[1].0, *axis)?;
            args[1].0.clone()
        }
        Op::IndexedAdd | Op::IndexedPut => {
            indexing::check_indices_type(op.name(), args[1].1)?;
            indexing::indexed(op.name(), shape, args[1].0, args[2].0)?;
            return Ok((shape.clone(), dtype.merge(args[2].1)));
        }
        Op::Gather => {
            indexing::check_indices_type("gather", args[1].1)?;
            indexing::gather("gather", shape, args[1].0)?.0
        }
        Op::PutSlice(starts) => {
            transform::put_slice(shape, args[1].0, starts)?;
            return Ok((shape.clone(), dtype.merge(args[1].1)));
        }
        _ => return Err(Error::internal(op.name(), "not a shape op")),
    };
    Ok((out, dtype))
}

pub(crate) fn eval(op: &Op, args: &[&Tensor]) -> Result<Tensor> {
    let t = args[0];
    match op {
        Op::Reshape(new) => t.reshape(new.clone()),
        Op::Transpose(axes) => cpu::transpose(t, axes.as_deref()),
        Op::Squeeze(axes) => cpu::squeeze(t, axes.as_deref()),
        Op::NewAxis(axis) => cpu::new_axis(t, *axis),
        Op::Broadcast { shape, axes } => cpu::broadcast(t, shape, axes.as_deref()),
        Op::Slice {
            starts,
            lengths,
            strides,
        } => cpu::slice(t, starts, lengths, strides.as_deref()),
        Op::Pad(config) => cpu::pad(t, args[1], config),
        Op::Concatenate(axis) => {
            let ts: Vec<Tensor> = args.iter().map(|&t| t.clone()).collect();
            cpu::concatenate(&ts, *axis)
        }
        Op::Reverse(axes) => cpu::reverse(t, axes.as_deref()),
        Op::Take(axis) => cpu_index::take(t, args[1], *axis),
        Op::TakeAlongAxis(axis) => cpu_index::take_along_axis(t, args[1], *axis),
        Op::IndexedAdd => cpu_index::indexed(Scatter::Add, t, args[1], args[2]),
        Op::IndexedPut => cpu_index::indexed(Scatter::Put, t, args[1], args[2]),
        Op::Gather => cpu_index::gather(t, args[1]),
        Op::PutSlice(starts) => cpu::put_slice(t, starts, args[1]),
        _ => Err(Error::internal(op.name(), "not a shape op")),
    }
}

pub(crate) fn vjp(op: &Op, g: &mut Graph, node: NodeId, dy: NodeId) -> Result<Vec<Option<NodeId>>> {
    let inputs = g.node(node).inputs.clone();
    let x = inputs[0];
    let (x_shape, x_dtype) = (g.node(x).shape.clone(), g.node(x).dtype);
    if !x_dtype.is_float() {
        return Ok(vec![None; inputs.len()]);
    }
    let dx = match op {
        Op::Reshape(_) | Op::Squeeze(_) | Op::NewAxis(_) => g.reshape(dy, x_shape)?,
        Op::Transpose(axes) => {
            let perm = match axes {
                Some(axes) => axes
                    .iter()
                    .map(|&a| x_shape.axis("transpose", a))
                    .collect::<Result<Vec<_>>>()?,
                None => (0..x_shape.rank()).rev().collect(),
            };
            let mut inverse = vec![0i64; perm.len()];
            for (j, &i) in perm.iter().enumerate() {
                inverse[i] = j as i64;
            }
            g.add(Op::Transpose(Some(inverse)), &[dy])?
        }
        Op::Broadcast { shape, axes } => broadcast_vjp(g, dy, &x_shape, shape, axes.as_deref())?,
        Op::Slice {
            starts,
            lengths,
            strides,
        } => {
            // Zeros around the slice, and between its elements when strided.
            let strides = strides.clone().unwrap_or_else(|| ones(x_shape.rank()));
            let config: Vec<(i64, i64, i64)> = (0..x_shape.rank())
                .map(|i| {
                    let dim = x_shape.dims()[i] as i64;
                    let start = starts[i].clamp(0, dim - lengths[i]);
                    let out_len = g.node(node).shape.dims()[i] as i64;
                    let span = if out_len == 0 {
                        0
                    } else {
                        (out_len - 1) * strides[i] + 1
                    };
                    (start, dim - start - span, strides[i] - 1)
                })
                .collect();
            let zero = g.scalar_like(0.0, dy)?;
            g.add(Op::Pad(config), &[dy, zero])?
        }
        Op::Pad(config) => {
            // Undo the edges, then keep every (interior + 1)-th element.
            let unpad: Vec<(i64, i64, i64)> = config.iter().map(|&(l, h, _)| (-l, -h, 0)).collect();
            let zero = g.scalar_like(0.0, dy)?;
            let cropped = g.add(Op::Pad(unpad), &[dy, zero])?;
            let dims = g.node(cropped).shape.dims().to_vec();
            let strides: Vec<i64> = config.iter().map(|&(_, _, i)| i + 1).collect();
            let sliced = g.add(
                Op::Slice {
                    starts: vec![0; dims.len()],
                    lengths: dims.iter().map(|&d| d as i64).collect(),
                    strides: Some(strides),
                },
                &[cropped],
            )?;
            return Ok(vec![Some(g.cast(sliced, x_dtype)?), None]);
        }
        Op::Concatenate(axis) => {
            let a = x_shape.axis("concatenate", *axis)?;
            let mut offset = 0i64;
            let mut grads = Vec::with_capacity(inputs.len());
            for &input in &inputs {
                let s = g.node(input).shape.clone();
                let mut starts = vec![0i64; s.rank()];
                starts[a] = offset;
                offset += s.dims()[a] as i64;
                let piece = g.add(
                    Op::Slice {
                        starts,
                        lengths: s.dims().iter().map(|&d| d as i64).collect(),
                        strides: None,
                    },
                    &[dy],
                )?;
                let dtype = g.node(input).dtype;
                grads.push(if dtype.is_float() {
                    Some(g.cast(piece, dtype)?)
                } else {
                    None
                });
            }
            return Ok(grads);
        }
        Op::Reverse(axes) => g.add(Op::Reverse(axes.clone()), &[dy])?,
        Op::Take(axis) => take_vjp(g, x, inputs[1], dy, *axis)?,
        // Every update is added at its index: it gets dy gathered there.
        Op::IndexedAdd => {
            let du = float_piece(g, inputs[2], |g| g.add(Op::Gather, &[dy, inputs[1]]))?;
            return Ok(vec![Some(dy), None, du]);
        }
        // Overwritten positions lose their gradient to the updates.
        Op::IndexedPut => {
            let zero = g.scalar_like(0.0, dy)?;
            let upd_shape = g.node(inputs[2]).shape.clone();
            let zeros = g.broadcast_to(zero, &upd_shape)?;
            let dx = g.add(Op::IndexedPut, &[dy, inputs[1], zeros])?;
            let du = float_piece(g, inputs[2], |g| g.add(Op::Gather, &[dy, inputs[1]]))?;
            return Ok(vec![Some(g.cast(dx, x_dtype)?), None, du]);
        }
        // Gathered elements scatter their gradient back (repeats add up).
        Op::Gather => {
            let zero = g.scalar_like(0.0, dy)?;
            let zeros = g.broadcast_to(zero, &x_shape)?;
            g.add(Op::IndexedAdd, &[zeros, inputs[1], dy])?
        }
        Op::PutSlice(starts) => {
            let s_shape = g.node(inputs[1]).shape.clone();
            let zero = g.scalar_like(0.0, dy)?;
            let zeros = g.broadcast_to(zero, &s_shape)?;
            let dx = g.add(Op::PutSlice(starts.clone()), &[dy, zeros])?;
            // The slice's gradient: dy at the (clamped) window it was put in.
            let clamped: Vec<i64> = (0..x_shape.rank())
                .map(|i| starts[i].clamp(0, (x_shape.dims()[i] - s_shape.dims()[i]) as i64))
                .collect();
            let ds = float_piece(g, inputs[1], |g| {
                g.add(
                    Op::Slice {
                        starts: clamped,
                        lengths: s_shape.dims().iter().map(|&d| d as i64).collect(),
                        strides: None,
                    },
                    &[dy],
                )
            })?;
            return Ok(vec![Some(g.cast(dx, x_dtype)?), ds]);
        }
        _ => {
            return Err(Error::arg(
                op.name(),
                "this op has no gradient rule yet".to_string(),
            ))
        }
    };
    Ok(vec![Some(dx)]
        .into_iter()
        .chain(std::iter::repeat_n(None, inputs.len() - 1))
        .collect())
}

/// Sums dy over the axes that `broadcast` created or stretched.
fn broadcast_vjp(
    g: &mut Graph,
    dy: NodeId,
    x_shape: &Shape,
    to: &Shape,
    axes: Option<&[i64]>,
) -> Result<NodeId> {
    let Some(axes) = axes else {
        return g.unbroadcast(dy, x_shape);
    };
    let mapped = axes
        .iter()
        .map(|&a| to.axis("broadcast", a))
        .collect::<Result<Vec<_>>>()?;
    if mapped.windows(2).any(|w| w[0] > w[1]) {
        return Err(Error::arg(
            "broadcast",
            format!("gradient needs increasing broadcast axes, got {axes:?}"),
        ));
    }
    let summed: Vec<i64> = (0..to.rank())
        .filter(|i| match mapped.iter().position(|m| m == i) {
            None => true,
            Some(k) => x_shape.dims()[k] == 1 && to.dims()[*i] != 1,
        })
        .map(|i| i as i64)
        .collect();
    let s = if summed.is_empty() {
        dy
    } else {
        g.sum(dy, summed, true)?
    };
    g.reshape(s, x_shape.clone())
}

/// The gradient of `take`: dy scattered (added) back to the taken rows.
fn take_vjp(g: &mut Graph, x: NodeId, idx: NodeId, dy: NodeId, axis: i64) -> Result<NodeId> {
    let x_shape = g.node(x).shape.clone();
    let a = x_shape.axis("take", axis)?;
    if a != 0 {
        return Err(Error::arg(
            "take",
            format!("the gradient of take is implemented for axis 0, got axis {axis}"),
        ));
    }
    // Rows of dy (one per index) are added into a zero tensor of x's shape:
    // indexed_add with indices {n, 1}.
    let n = g.node(idx).shape.size();
    let row: Vec<usize> = x_shape.dims()[1..].to_vec();
    let idx_col = g.reshape(idx, Shape::new(vec![n, 1]))?;
    let mut upd_dims = vec![n];
    upd_dims.extend(&row);
    let upd = g.reshape(dy, Shape::new(upd_dims))?;
    let zero = g.scalar_like(0.0, dy)?;
    let zeros = g.broadcast_to(zero, &x_shape)?;
    g.add(Op::IndexedAdd, &[zeros, idx_col, upd])
}

/// `f(g)` cast to `operand`'s dtype when it is a float operand, else no
/// gradient.
fn float_piece(
    g: &mut Graph,
    operand: NodeId,
    f: impl FnOnce(&mut Graph) -> Result<NodeId>,
) -> Result<Option<NodeId>> {
    let dtype = g.node(operand).dtype;
    if !dtype.is_float() {
        return Ok(None);
    }
    let d = f(g)?;
    Ok(Some(g.cast(d, dtype)?))
}
