//! NIFs that move data in and out of tensors, or relabel it: binaries,
//! lists, reshape, as_type and bitcast, and the element text for inspect.

use crate::codec::{
    decode_dtype, decode_shape, encode_element, encode_tensor, format_element, tensor, Number,
};
use crate::guard::run;
use crate::resource::TensorRef;
use myelin_core::{dispatch_dtype, Error, Tensor};
use rustler::{Binary, Encoder, Env, ListIterator, Term};

// Copies a binary into a new tensor (the only copy).
nif_pair!(from_binary, from_binary_dirty, "from_binary", (bin: Binary, dtype: Term, shape: Term),
|bin: Binary, dtype: Term, shape: Term| {
    Tensor::from_bytes(decode_dtype("from_binary", dtype)?, decode_shape("from_binary", shape)?, bin.as_slice())
});

// Builds a tensor from a flat list of numbers (and non-finite atoms).
nif_pair!(from_list, from_list_dirty, "tensor", (list: Term, dtype: Term, shape: Term),
|list: Term, dtype: Term, shape: Term| {
    let dtype = decode_dtype("tensor", dtype)?;
    let shape = decode_shape("tensor", shape)?;
    let items: ListIterator = list.decode().map_err(|_| Error::arg("tensor", "expected a flat list of numbers"))?;
    dispatch_dtype!(dtype, T => {
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
        Tensor::from_vec(shape, data)
    })
});

// Converts every element to another type.
nif_pair!(as_type, as_type_dirty, "as_type", (t: TensorRef, dtype: Term),
    |t: TensorRef, dtype: Term| crate::route::as_type(tensor(&t), decode_dtype("as_type", dtype)?));

// Reinterprets the bits of every element as another type of the same width.
nif_pair!(bitcast, bitcast_dirty, "bitcast", (t: TensorRef, dtype: Term),
    |t: TensorRef, dtype: Term| myelin_cpu::bitcast(tensor(&t), decode_dtype("bitcast", dtype)?));

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

/// [`to_flat_list`] on a dirty CPU scheduler.
#[rustler::nif(schedule = "DirtyCpu")]
fn to_flat_list_dirty<'a>(env: Env<'a>, t: TensorRef, limit: usize) -> Term<'a> {
    to_flat_list_body(env, t, limit)
}

/// The same data under a new shape. Shares memory; constant time.
#[rustler::nif]
fn reshape<'a>(env: Env<'a>, t: TensorRef, shape: Term) -> Term<'a> {
    run(env, "reshape", || {
        encode_tensor(env, tensor(&t).reshape(decode_shape("reshape", shape)?)?)
    })
}

/// The first `limit` elements formatted for `inspect` (see [`format_element`]).
#[rustler::nif]
fn inspect_elements<'a>(env: Env<'a>, t: TensorRef, limit: usize) -> Term<'a> {
    inspect_elements_body(env, t, limit)
}

/// [`inspect_elements`] on a dirty CPU scheduler, for `limit: :infinity` on
/// large tensors.
#[rustler::nif(schedule = "DirtyCpu")]
fn inspect_elements_dirty<'a>(env: Env<'a>, t: TensorRef, limit: usize) -> Term<'a> {
    inspect_elements_body(env, t, limit)
}

fn inspect_elements_body<'a>(env: Env<'a>, t: TensorRef, limit: usize) -> Term<'a> {
    run(env, "inspect", || {
        let t = tensor(&t);
        dispatch_dtype!(t.dtype(), T => {
            let data = t.as_slice::<T>()?;
            let text: Vec<String> = data.iter().take(limit).map(|x| format_element(*x)).collect();
            Ok(text.encode(env))
        })
    })
}
