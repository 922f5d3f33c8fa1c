//! NIFs for linear algebra (`Myelin.Tensor.LinAlg`): LU, triangular solve
//! and the symmetric eigen-decomposition. LU and eigh return several
//! tensors, as a tuple of `{ref, data, shape, type}`.

use crate::codec::{encode_tensor, tensor};
use crate::guard;
use crate::resource::TensorRef;
use myelin_core::Tensor;
use rustler::types::tuple::make_tuple;
use rustler::{Env, Term};

fn encode_all<'a>(env: Env<'a>, tensors: Vec<Tensor>) -> myelin_core::Result<Term<'a>> {
    let terms = tensors
        .into_iter()
        .map(|t| encode_tensor(env, t))
        .collect::<myelin_core::Result<Vec<_>>>()?;
    Ok(make_tuple(env, &terms))
}

fn lu_body<'a>(env: Env<'a>, t: TensorRef, eps: f64) -> Term<'a> {
    guard::run(env, "lu", || {
        let (p, l, u) = myelin_cpu::linalg::lu_with_eps(tensor(&t), eps)?;
        encode_all(env, vec![p, l, u])
    })
}

/// `lu` on a normal scheduler: `{p, l, u}`.
#[rustler::nif]
fn lu(env: Env, t: TensorRef, eps: f64) -> Term {
    lu_body(env, t, eps)
}

/// `lu` on a dirty CPU scheduler.
#[rustler::nif(schedule = "DirtyCpu")]
fn lu_dirty(env: Env, t: TensorRef, eps: f64) -> Term {
    lu_body(env, t, eps)
}

fn eigh_body<'a>(env: Env<'a>, t: TensorRef, eps: f64, max_iter: usize) -> Term<'a> {
    guard::run(env, "eigh", || {
        let (values, vectors) = myelin_cpu::linalg::eigh(tensor(&t), eps, max_iter)?;
        encode_all(env, vec![values, vectors])
    })
}

/// `eigh` on a normal scheduler: `{eigenvalues, eigenvectors}`.
#[rustler::nif]
fn eigh(env: Env, t: TensorRef, eps: f64, max_iter: usize) -> Term {
    eigh_body(env, t, eps, max_iter)
}

/// `eigh` on a dirty CPU scheduler.
#[rustler::nif(schedule = "DirtyCpu")]
fn eigh_dirty(env: Env, t: TensorRef, eps: f64, max_iter: usize) -> Term {
    eigh_body(env, t, eps, max_iter)
}

nif_pair!(triangular_solve, triangular_solve_dirty, "triangular_solve",
(a: TensorRef, b: TensorRef, lower: bool, left_side: bool, transpose_a: bool),
|a: TensorRef, b: TensorRef, lower: bool, left_side: bool, transpose_a: bool| {
    myelin_cpu::linalg::triangular_solve(tensor(&a), tensor(&b), lower, left_side, transpose_a)
});
