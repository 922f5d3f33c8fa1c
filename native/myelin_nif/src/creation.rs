//! NIFs that create tensors: full, iota, eye and seeded random numbers.

use crate::codec::{decode_dtype, decode_shape, encode_tensor, Number};
use crate::guard::run;
use myelin_core::{dispatch_dtype, Tensor};
use rustler::{Env, Term};

fn full_body<'a>(env: Env<'a>, value: Term, dtype: Term, shape: Term) -> Term<'a> {
    run(env, "full", || {
        let dtype = decode_dtype("full", dtype)?;
        let shape = decode_shape("full", shape)?;
        let value = Number::decode("full", value)?;
        let t = dispatch_dtype!(dtype, T => Tensor::full(shape, value.to_element::<T>("full")?)?);
        encode_tensor(env, t)
    })
}

/// A tensor with every element equal to `value`.
#[rustler::nif]
fn full<'a>(env: Env<'a>, value: Term, dtype: Term, shape: Term) -> Term<'a> {
    full_body(env, value, dtype, shape)
}

#[rustler::nif(schedule = "DirtyCpu")]
fn full_dirty<'a>(env: Env<'a>, value: Term, dtype: Term, shape: Term) -> Term<'a> {
    full_body(env, value, dtype, shape)
}

fn iota_body<'a>(env: Env<'a>, dtype: Term, shape: Term, axis: Option<i64>) -> Term<'a> {
    run(env, "iota", || {
        let t = myelin_cpu::iota(decode_dtype("iota", dtype)?, &decode_shape("iota", shape)?, axis)?;
        encode_tensor(env, t)
    })
}

/// Counts up along an axis (or the flattened tensor when `axis` is nil).
#[rustler::nif]
fn iota<'a>(env: Env<'a>, dtype: Term, shape: Term, axis: Option<i64>) -> Term<'a> {
    iota_body(env, dtype, shape, axis)
}

#[rustler::nif(schedule = "DirtyCpu")]
fn iota_dirty<'a>(env: Env<'a>, dtype: Term, shape: Term, axis: Option<i64>) -> Term<'a> {
    iota_body(env, dtype, shape, axis)
}

fn eye_body<'a>(env: Env<'a>, dtype: Term, shape: Term) -> Term<'a> {
    run(env, "eye", || {
        encode_tensor(
            env,
            myelin_cpu::eye(decode_dtype("eye", dtype)?, &decode_shape("eye", shape)?)?,
        )
    })
}

/// Identity matrices.
#[rustler::nif]
fn eye<'a>(env: Env<'a>, dtype: Term, shape: Term) -> Term<'a> {
    eye_body(env, dtype, shape)
}

#[rustler::nif(schedule = "DirtyCpu")]
fn eye_dirty<'a>(env: Env<'a>, dtype: Term, shape: Term) -> Term<'a> {
    eye_body(env, dtype, shape)
}

/// Which distribution [`random_body`] samples.
#[derive(Clone, Copy)]
enum Distribution {
    Uniform,
    Normal,
}

fn random_body<'a>(
    env: Env<'a>,
    dist: Distribution,
    seed: u64,
    a: Term,
    b: Term,
    dtype: Term,
    shape: Term,
) -> Term<'a> {
    let op = match dist {
        Distribution::Uniform => "random_uniform",
        Distribution::Normal => "random_normal",
    };
    run(env, op, || {
        let (a, b) = (Number::decode(op, a)?.as_f64(), Number::decode(op, b)?.as_f64());
        let (dtype, shape) = (decode_dtype(op, dtype)?, decode_shape(op, shape)?);
        let t = match dist {
            Distribution::Uniform => myelin_cpu::random_uniform(seed, a, b, dtype, &shape)?,
            Distribution::Normal => myelin_cpu::random_normal(seed, a, b, dtype, &shape)?,
        };
        encode_tensor(env, t)
    })
}

/// Uniform samples in `[min, max)` from stream `seed`.
#[rustler::nif]
fn random_uniform<'a>(env: Env<'a>, seed: u64, min: Term, max: Term, dtype: Term, shape: Term) -> Term<'a> {
    random_body(env, Distribution::Uniform, seed, min, max, dtype, shape)
}

#[rustler::nif(schedule = "DirtyCpu")]
fn random_uniform_dirty<'a>(
    env: Env<'a>,
    seed: u64,
    min: Term,
    max: Term,
    dtype: Term,
    shape: Term,
) -> Term<'a> {
    random_body(env, Distribution::Uniform, seed, min, max, dtype, shape)
}

/// Normal samples with mean `mean` and standard deviation `std` from stream `seed`.
#[rustler::nif]
fn random_normal<'a>(env: Env<'a>, seed: u64, mean: Term, std: Term, dtype: Term, shape: Term) -> Term<'a> {
    random_body(env, Distribution::Normal, seed, mean, std, dtype, shape)
}

#[rustler::nif(schedule = "DirtyCpu")]
fn random_normal_dirty<'a>(
    env: Env<'a>,
    seed: u64,
    mean: Term,
    std: Term,
    dtype: Term,
    shape: Term,
) -> Term<'a> {
    random_body(env, Distribution::Normal, seed, mean, std, dtype, shape)
}
