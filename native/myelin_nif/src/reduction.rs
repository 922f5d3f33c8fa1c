//! NIFs for reductions (`sum`, `argmax`, ...), cumulative ops and `dot`.
//! Axes arrive as lists of integers (possibly negative) or `nil` and are
//! normalized, with errors naming the op, in `myelin_core`.

use crate::codec::{decode_op, op_name, tensor};
use crate::pair::{Axes, Ints, MaybeAxis};
use crate::resource::TensorRef;
use myelin_core::ops::{ArgReduceOp, CumulativeOp, ReduceOp, TieBreak};
use rustler::{Atom, Env};

nif_pair!(reduce, reduce_dirty, "reduce", env, (op: Atom, t: TensorRef, axes: Axes, keep_axes: bool),
|env: Env, op: Atom, t: TensorRef, axes: Axes, keep_axes: bool| {
    let op = decode_op(env, "reduce", op, ReduceOp::from_name)?;
    crate::route::reduce(op, tensor(&t), axes.as_deref(), keep_axes)
});

nif_pair!(arg_reduce, arg_reduce_dirty, "arg_reduce", env,
(op: Atom, t: TensorRef, axis: MaybeAxis, tie: Atom, keep_axis: bool),
|env: Env, op: Atom, t: TensorRef, axis: MaybeAxis, tie: Atom, keep_axis: bool| {
    let op = decode_op(env, "arg_reduce", op, ArgReduceOp::from_name)?;
    let tie = TieBreak::from_name(op.name(), &op_name(env, op.name(), tie)?)?;
    myelin_cpu::arg_reduce(op, tensor(&t), axis, tie, keep_axis)
});

nif_pair!(cumulative, cumulative_dirty, "cumulative", env, (op: Atom, t: TensorRef, axis: i64, reverse: bool),
|env: Env, op: Atom, t: TensorRef, axis: i64, reverse: bool| {
    let op = decode_op(env, "cumulative", op, CumulativeOp::from_name)?;
    myelin_cpu::cumulative(op, tensor(&t), axis, reverse)
});

// Nx.dot/6: contraction and batch axes of both operands.
nif_pair!(dot, dot_dirty, "dot", (a: TensorRef, ca: Ints, ba: Ints, b: TensorRef, cb: Ints, bb: Ints),
|a: TensorRef, ca: Ints, ba: Ints, b: TensorRef, cb: Ints, bb: Ints| {
    crate::route::dot(tensor(&a), &ca, &ba, tensor(&b), &cb, &bb)
});
