//! NIFs for elementwise ops of several tensors: the binary ops (named by
//! their Elixir atom, `:add` → `BinaryOp::Add` → `myelin_cpu::binary`),
//! `select` and `clip`. Numbers have already become scalar tensors on the
//! Elixir side, with Nx's weak-scalar typing.

use crate::codec::{decode_op, tensor};
use crate::resource::TensorRef;
use myelin_core::ops::BinaryOp;
use rustler::{Atom, Env};

nif_pair!(binary, binary_dirty, "binary", env, (op: Atom, a: TensorRef, b: TensorRef),
|env: Env, op: Atom, a: TensorRef, b: TensorRef| {
    let op = decode_op(env, "binary", op, BinaryOp::from_name)?;
    crate::route::binary(op, tensor(&a), tensor(&b))
});

nif_pair!(select, select_dirty, "select", (pred: TensorRef, on_true: TensorRef, on_false: TensorRef),
|pred: TensorRef, on_true: TensorRef, on_false: TensorRef| {
    myelin_cpu::select(tensor(&pred), tensor(&on_true), tensor(&on_false))
});

nif_pair!(clip, clip_dirty, "clip", (t: TensorRef, min: TensorRef, max: TensorRef),
    |t: TensorRef, min: TensorRef, max: TensorRef| myelin_cpu::clip(tensor(&t), tensor(&min), tensor(&max)));
