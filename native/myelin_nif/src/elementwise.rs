//! NIFs for unary elementwise ops. The op is named by its Elixir atom and
//! decoded into the engine's op enum (`:exp` → `UnaryOp::Exp` →
//! `myelin_cpu::unary`, or the CUDA launcher for a GPU tensor; see `route`).

use crate::codec::{decode_op, tensor};
use crate::resource::TensorRef;
use myelin_core::ops::UnaryOp;
use rustler::{Atom, Env};

nif_pair!(unary, unary_dirty, "unary", env, (op: Atom, t: TensorRef),
|env: Env, op: Atom, t: TensorRef| {
    let op = decode_op(env, "unary", op, UnaryOp::from_name)?;
    crate::route::unary(op, tensor(&t))
});
