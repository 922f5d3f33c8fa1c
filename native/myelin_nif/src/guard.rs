//! Turning results, errors and panics into terms.
//!
//! Every NIF body runs inside [`run`], which catches panics: nothing a NIF
//! does can unwind into the VM. Errors become
//! `{:error, {:argument | :internal, message}}`.

use myelin_core::{Error, Result};
use rustler::{Encoder, Env, Term};
use std::panic::{catch_unwind, AssertUnwindSafe};

rustler::atoms! { ok, error, argument, internal }

/// Runs a NIF body for `op`, encoding its result as `{:ok, term}` or
/// `{:error, {kind, message}}`, and a panic as an internal error.
pub fn run<'a>(env: Env<'a>, op: &str, body: impl FnOnce() -> Result<Term<'a>>) -> Term<'a> {
    let outcome = catch_unwind(AssertUnwindSafe(body)).unwrap_or_else(|payload| {
        let why = payload
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| payload.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "unknown cause".to_string());
        Err(Error::internal(
            op,
            format!("internal error (caught panic: {why})"),
        ))
    });
    match outcome {
        Ok(term) => (ok(), term).encode(env),
        Err(Error::Argument(msg)) => (error(), (argument(), msg)).encode(env),
        Err(Error::Internal(msg)) => (error(), (internal(), msg)).encode(env),
    }
}

/// Deliberately fails in the way named by `kind`, so the test suite can
/// prove that internal failures surface as Elixir exceptions and leave the
/// VM running.
#[rustler::nif]
fn debug_fault(env: Env, kind: rustler::Atom) -> Term {
    run(env, "debug_fault", || {
        let kind = kind.to_term(env).atom_to_string().unwrap_or_default();
        match kind.as_str() {
            "panic" => panic!("deliberate panic for testing"),
            "internal" => Err(Error::internal("debug_fault", "deliberate internal error")),
            _ => Err(Error::arg(
                "debug_fault",
                format!("unknown fault {kind:?}, expected :panic or :internal"),
            )),
        }
    })
}
