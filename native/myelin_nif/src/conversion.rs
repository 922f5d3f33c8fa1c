//! NIFs that move data in and out of tensors, or relabel it: binaries,
//! lists, reshape, as_type and bitcast.

use crate::codec::{decode_dtype, decode_shape, encode_element, encode_tensor, tensor, Number};
use crate::guard::run;
use crate::resource::TensorRef;
use myelin_core::{dispatch_dtype, Error, Result, Shape, Tensor};
use rustler::{Binary, Encoder, Env, ListIterator, Term};

fn from_binary_body<'a>(env: Env<'a>, bin: Binary, dtype: Term, shape: Term) -> Term<'a> {
    run(env, "from_binary", || {
        let dtype = decode_dtype("from_binary", dtype)?;
        let shape = decode_shape("from_binary", shape)?;
        encode_tensor(env, Tensor::from_bytes(dtype, shape, bin.as_slice())?)
    })
}

/// Copies a binary into a new tensor (the only copy).
#[rustler::nif]
fn from_binary<'a>(env: Env<'a>, bin: Binary, dtype: Term, shape: Term) -> Term<'a> {
    from_binary_body(env, bin, dtype, shape)
}

#[rustler::nif(schedule = "DirtyCpu")]
fn from_binary_dirty<'a>(env: Env<'a>, bin: Binary, dtype: Term, shape: Term) -> Term<'a> {
    from_binary_body(env, bin, dtype, shape)
}

fn from_list_body<'a>(env: Env<'a>, list: Term<'a>, dtype: Term, shape: Term) -> Term<'a> {
    run(env, "tensor", || {
        let dtype = decode_dtype("tensor", dtype)?;
        let shape = decode_shape("tensor", shape)?;
        let items: ListIterator = list
            .decode()
            .map_err(|_| Error::arg("tensor", "expected a flat list of numbers"))?;
        let t = dispatch_dtype!(dtype, T => {
            let mut data: Vec<T> = Vec::with_capacity(shape.size());
            for item in items {
                data.push(Number::decode("tensor", item)?.to_element::<T>("tensor")?);
            }
            if data.len() != shape.size() {
                return Err(Error::arg(
                    "tensor",
                    format!("got {} numbers for shape {shape}, expected {}", data.len(), shape.size()),
                ));
            }
            Tensor::from_vec(shape, data)?
        });
        encode_tensor(env, t)
    })
}

/// Builds a tensor from a flat list of numbers (and non-finite atoms).
#[rustler::nif]
fn from_list<'a>(env: Env<'a>, list: Term<'a>, dtype: Term, shape: Term) -> Term<'a> {
    from_list_body(env, list, dtype, shape)
}

#[rustler::nif(schedule = "DirtyCpu")]
fn from_list_dirty<'a>(env: Env<'a>, list: Term<'a>, dtype: Term, shape: Term) -> Term<'a> {
    from_list_body(env, list, dtype, shape)
}

fn to_flat_list_body<'a>(env: Env<'a>, t: TensorRef, limit: usize) -> Term<'a> {
    run(env, "to_flat_list", || {
        let t = tensor(&t);
        dispatch_dtype!(t.dtype(), T => {
            let data = t.as_slice::<T>()?;
            let terms: Vec<Term> = data.iter().take(limit).map(|&x| encode_element::<T>(env, x)).collect();
            Ok(terms.encode(env))
        })
    })
}

/// The first `limit` elements as a flat list of numbers (floats that are
/// not finite become `:nan`, `:infinity` or `:neg_infinity`).
#[rustler::nif]
fn to_flat_list<'a>(env: Env<'a>, t: TensorRef, limit: usize) -> Term<'a> {
    to_flat_list_body(env, t, limit)
}

#[rustler::nif(schedule = "DirtyCpu")]
fn to_flat_list_dirty<'a>(env: Env<'a>, t: TensorRef, limit: usize) -> Term<'a> {
    to_flat_list_body(env, t, limit)
}

/// The same data under a new shape. Shares memory; constant time.
#[rustler::nif]
fn reshape<'a>(env: Env<'a>, t: TensorRef, shape: Term) -> Term<'a> {
    run(env, "reshape", || {
        let shape: Shape = decode_shape("reshape", shape)?;
        encode_tensor(env, tensor(&t).reshape(shape)?)
    })
}

fn convert_body<'a>(
    env: Env<'a>,
    op: &str,
    t: TensorRef,
    dtype: Term,
    f: fn(&Tensor, myelin_core::DType) -> Result<Tensor>,
) -> Term<'a> {
    run(env, op, || {
        let dtype = decode_dtype(op, dtype)?;
        encode_tensor(env, f(tensor(&t), dtype)?)
    })
}

/// Converts every element to another type.
#[rustler::nif]
fn as_type<'a>(env: Env<'a>, t: TensorRef, dtype: Term) -> Term<'a> {
    convert_body(env, "as_type", t, dtype, myelin_cpu::as_type)
}

#[rustler::nif(schedule = "DirtyCpu")]
fn as_type_dirty<'a>(env: Env<'a>, t: TensorRef, dtype: Term) -> Term<'a> {
    convert_body(env, "as_type", t, dtype, myelin_cpu::as_type)
}

/// Reinterprets the bits of every element as another type of the same width.
#[rustler::nif]
fn bitcast<'a>(env: Env<'a>, t: TensorRef, dtype: Term) -> Term<'a> {
    convert_body(env, "bitcast", t, dtype, myelin_cpu::bitcast)
}

#[rustler::nif(schedule = "DirtyCpu")]
fn bitcast_dirty<'a>(env: Env<'a>, t: TensorRef, dtype: Term) -> Term<'a> {
    convert_body(env, "bitcast", t, dtype, myelin_cpu::bitcast)
}

/// Bytes of memory held by the tensor's storage (shared storage counted in full).
#[rustler::nif]
fn byte_size(t: TensorRef) -> usize {
    tensor(&t).storage().size_in_bytes()
}

/// The first `limit` elements formatted for `inspect`: the shortest text
/// that reads back as the same value in the tensor's own precision, in
/// Elixir's float style (`1.0`, `1.0e-7`, `NaN`, `Inf`, `-Inf`).
#[rustler::nif]
fn inspect_elements<'a>(env: Env<'a>, t: TensorRef, limit: usize) -> Term<'a> {
    run(env, "inspect", || {
        let t = tensor(&t);
        dispatch_dtype!(t.dtype(), T => {
            let data = t.as_slice::<T>()?;
            let text: Vec<String> = data.iter().take(limit).map(|x| crate::codec::format_element(*x)).collect();
            Ok(text.encode(env))
        })
    })
}
