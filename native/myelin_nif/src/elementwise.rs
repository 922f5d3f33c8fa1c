//! NIFs for elementwise ops. The op is named by its Elixir atom and decoded
//! into the engine's op enum (`:exp` → `UnaryOp::Exp` → `myelin_cpu::unary`).

use crate::codec::{encode_tensor, tensor};
use crate::guard::run;
use crate::resource::TensorRef;
use myelin_core::ops::UnaryOp;
use myelin_core::Error;
use rustler::{Atom, Env, Term};

/// Decodes an op atom for a family whose enum has `from_name`.
pub fn op_name(env: Env, family: &str, op: Atom) -> myelin_core::Result<String> {
    op.to_term(env)
        .atom_to_string()
        .map_err(|_| Error::internal(family, "op name is not an atom"))
}

fn unary_body<'a>(env: Env<'a>, op: Atom, t: TensorRef) -> Term<'a> {
    run(env, "unary", || {
        let name = op_name(env, "unary", op)?;
        let op = UnaryOp::from_name(&name).ok_or_else(|| Error::arg(&name, "unknown unary op"))?;
        encode_tensor(env, myelin_cpu::unary(op, tensor(&t))?)
    })
}

/// Applies a unary op (`:exp`, `:negate`, ...) to every element.
#[rustler::nif]
fn unary<'a>(env: Env<'a>, op: Atom, t: TensorRef) -> Term<'a> {
    unary_body(env, op, t)
}

#[rustler::nif(schedule = "DirtyCpu")]
fn unary_dirty<'a>(env: Env<'a>, op: Atom, t: TensorRef) -> Term<'a> {
    unary_body(env, op, t)
}
