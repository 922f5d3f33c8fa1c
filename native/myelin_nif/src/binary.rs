//! NIFs for elementwise ops of several tensors: the binary ops (named by
//! their Elixir atom, `:add` → `BinaryOp::Add` → `myelin_cpu::binary`),
//! `select` and `clip`. Numbers have already become scalar tensors on the
//! Elixir side, with Nx's weak-scalar typing.

use crate::codec::{encode_tensor, tensor};
use crate::elementwise::op_name;
use crate::guard::run;
use crate::resource::TensorRef;
use myelin_core::ops::BinaryOp;
use myelin_core::Error;
use rustler::{Atom, Env, Term};

fn binary_body<'a>(env: Env<'a>, op: Atom, a: TensorRef, b: TensorRef) -> Term<'a> {
    run(env, "binary", || {
        let name = op_name(env, "binary", op)?;
        let op = BinaryOp::from_name(&name).ok_or_else(|| Error::arg(&name, "unknown binary op"))?;
        encode_tensor(env, myelin_cpu::binary(op, tensor(&a), tensor(&b))?)
    })
}

/// Applies a binary op (`:add`, `:less`, ...) with broadcasting.
#[rustler::nif]
fn binary<'a>(env: Env<'a>, op: Atom, a: TensorRef, b: TensorRef) -> Term<'a> {
    binary_body(env, op, a, b)
}

#[rustler::nif(schedule = "DirtyCpu")]
fn binary_dirty<'a>(env: Env<'a>, op: Atom, a: TensorRef, b: TensorRef) -> Term<'a> {
    binary_body(env, op, a, b)
}

fn select_body<'a>(env: Env<'a>, pred: TensorRef, on_true: TensorRef, on_false: TensorRef) -> Term<'a> {
    run(env, "select", || {
        encode_tensor(
            env,
            myelin_cpu::select(tensor(&pred), tensor(&on_true), tensor(&on_false))?,
        )
    })
}

/// `on_true` where `pred` is nonzero, else `on_false`, all broadcast together.
#[rustler::nif]
fn select<'a>(env: Env<'a>, pred: TensorRef, on_true: TensorRef, on_false: TensorRef) -> Term<'a> {
    select_body(env, pred, on_true, on_false)
}

#[rustler::nif(schedule = "DirtyCpu")]
fn select_dirty<'a>(env: Env<'a>, pred: TensorRef, on_true: TensorRef, on_false: TensorRef) -> Term<'a> {
    select_body(env, pred, on_true, on_false)
}

fn clip_body<'a>(env: Env<'a>, t: TensorRef, min: TensorRef, max: TensorRef) -> Term<'a> {
    run(env, "clip", || {
        encode_tensor(env, myelin_cpu::clip(tensor(&t), tensor(&min), tensor(&max))?)
    })
}

/// Clamps every element into `[min, max]` (scalar tensors).
#[rustler::nif]
fn clip<'a>(env: Env<'a>, t: TensorRef, min: TensorRef, max: TensorRef) -> Term<'a> {
    clip_body(env, t, min, max)
}

#[rustler::nif(schedule = "DirtyCpu")]
fn clip_dirty<'a>(env: Env<'a>, t: TensorRef, min: TensorRef, max: TensorRef) -> Term<'a> {
    clip_body(env, t, min, max)
}
