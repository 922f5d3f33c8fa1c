//! NIFs for reductions (`sum`, `argmax`, ...), cumulative ops and `dot`.
//! Axes arrive as lists of integers (possibly negative) or `nil` and are
//! normalized, with errors naming the op, in `myelin_core`.

use crate::codec::{encode_tensor, tensor};
use crate::elementwise::op_name;
use crate::guard::run;
use crate::resource::TensorRef;
use myelin_core::ops::{ArgReduceOp, CumulativeOp, ReduceOp, TieBreak};
use myelin_core::Error;
use rustler::{Atom, Env, Term};

fn reduce_body<'a>(
    env: Env<'a>,
    op: Atom,
    t: TensorRef,
    axes: Option<Vec<i64>>,
    keep_axes: bool,
) -> Term<'a> {
    run(env, "reduce", || {
        let name = op_name(env, "reduce", op)?;
        let op = ReduceOp::from_name(&name).ok_or_else(|| Error::arg(&name, "unknown reduction"))?;
        encode_tensor(
            env,
            myelin_cpu::reduce(op, tensor(&t), axes.as_deref(), keep_axes)?,
        )
    })
}

/// Reduces over `axes` (`nil` = all) with `op` (`:sum`, `:reduce_max`, ...).
#[rustler::nif]
fn reduce<'a>(env: Env<'a>, op: Atom, t: TensorRef, axes: Option<Vec<i64>>, keep_axes: bool) -> Term<'a> {
    reduce_body(env, op, t, axes, keep_axes)
}

#[rustler::nif(schedule = "DirtyCpu")]
fn reduce_dirty<'a>(
    env: Env<'a>,
    op: Atom,
    t: TensorRef,
    axes: Option<Vec<i64>>,
    keep_axes: bool,
) -> Term<'a> {
    reduce_body(env, op, t, axes, keep_axes)
}

fn arg_reduce_body<'a>(
    env: Env<'a>,
    op: Atom,
    t: TensorRef,
    axis: Option<i64>,
    tie: Atom,
    keep_axis: bool,
) -> Term<'a> {
    run(env, "arg_reduce", || {
        let name = op_name(env, "arg_reduce", op)?;
        let op = ArgReduceOp::from_name(&name).ok_or_else(|| Error::arg(&name, "unknown reduction"))?;
        let tie = TieBreak::from_name(op.name(), &op_name(env, op.name(), tie)?)?;
        encode_tensor(env, myelin_cpu::arg_reduce(op, tensor(&t), axis, tie, keep_axis)?)
    })
}

/// `argmax` / `argmin` along `axis` (`nil` = flattened).
#[rustler::nif]
fn arg_reduce<'a>(
    env: Env<'a>,
    op: Atom,
    t: TensorRef,
    axis: Option<i64>,
    tie: Atom,
    keep_axis: bool,
) -> Term<'a> {
    arg_reduce_body(env, op, t, axis, tie, keep_axis)
}

#[rustler::nif(schedule = "DirtyCpu")]
fn arg_reduce_dirty<'a>(
    env: Env<'a>,
    op: Atom,
    t: TensorRef,
    axis: Option<i64>,
    tie: Atom,
    keep_axis: bool,
) -> Term<'a> {
    arg_reduce_body(env, op, t, axis, tie, keep_axis)
}

fn cumulative_body<'a>(env: Env<'a>, op: Atom, t: TensorRef, axis: i64, reverse: bool) -> Term<'a> {
    run(env, "cumulative", || {
        let name = op_name(env, "cumulative", op)?;
        let op = CumulativeOp::from_name(&name).ok_or_else(|| Error::arg(&name, "unknown cumulative op"))?;
        encode_tensor(env, myelin_cpu::cumulative(op, tensor(&t), axis, reverse)?)
    })
}

/// A cumulative op (`:cumulative_sum`, ...) along `axis`.
#[rustler::nif]
fn cumulative<'a>(env: Env<'a>, op: Atom, t: TensorRef, axis: i64, reverse: bool) -> Term<'a> {
    cumulative_body(env, op, t, axis, reverse)
}

#[rustler::nif(schedule = "DirtyCpu")]
fn cumulative_dirty<'a>(env: Env<'a>, op: Atom, t: TensorRef, axis: i64, reverse: bool) -> Term<'a> {
    cumulative_body(env, op, t, axis, reverse)
}

#[allow(clippy::too_many_arguments)]
fn dot_body<'a>(
    env: Env<'a>,
    a: TensorRef,
    ca: Vec<i64>,
    ba: Vec<i64>,
    b: TensorRef,
    cb: Vec<i64>,
    bb: Vec<i64>,
) -> Term<'a> {
    run(env, "dot", || {
        encode_tensor(env, myelin_cpu::dot(tensor(&a), &ca, &ba, tensor(&b), &cb, &bb)?)
    })
}

/// Nx.dot/6: contraction and batch axes of both operands.
#[rustler::nif]
fn dot<'a>(
    env: Env<'a>,
    a: TensorRef,
    ca: Vec<i64>,
    ba: Vec<i64>,
    b: TensorRef,
    cb: Vec<i64>,
    bb: Vec<i64>,
) -> Term<'a> {
    dot_body(env, a, ca, ba, b, cb, bb)
}

#[rustler::nif(schedule = "DirtyCpu")]
fn dot_dirty<'a>(
    env: Env<'a>,
    a: TensorRef,
    ca: Vec<i64>,
    ba: Vec<i64>,
    b: TensorRef,
    cb: Vec<i64>,
    bb: Vec<i64>,
) -> Term<'a> {
    dot_body(env, a, ca, ba, b, cb, bb)
}
