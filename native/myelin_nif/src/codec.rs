//! Converting between terms and engine values: dtypes as `{:f, 32}`,
//! shapes as tuples, numbers (with `:nan`, `:infinity`, `:neg_infinity`),
//! and tensors as `{ref, shape, type}`.

use crate::resource::{TensorRef, TensorResource};
use myelin_core::{DType, Device, Element, Error, Kind, Result, Shape, Tensor};
use rustler::types::tuple::{get_tuple, make_tuple};
use rustler::{Atom, Encoder, Env, ResourceArc, Term, TermType};

rustler::atoms! { u, s, f, bf, nan, infinity, neg_infinity, cuda_atom = "cuda" }

/// Decodes Nx's `{kind, bits}` type tuple.
pub fn decode_dtype(op: &str, term: Term) -> Result<DType> {
    let bad = || Error::arg(op, format!("expected a type such as {{:f, 32}}, got {term:?}"));
    let (kind, bits): (Atom, usize) = term.decode().map_err(|_| bad())?;
    let kind = kind.to_term(term.get_env()).atom_to_string().map_err(|_| bad())?;
    Kind::from_nx_name(&kind)
        .and_then(|k| DType::from_kind_bits(k, bits))
        .ok_or_else(bad)
}

/// Encodes a dtype as `{kind, bits}`.
pub fn encode_dtype<'a>(env: Env<'a>, dtype: DType) -> Term<'a> {
    let kind = match dtype.kind() {
        Kind::Unsigned => u(),
        Kind::Signed => s(),
        Kind::Float => f(),
        Kind::BFloat => bf(),
    };
    (kind, dtype.bits()).encode(env)
}

/// Decodes a shape tuple such as `{2, 3}`.
pub fn decode_shape(op: &str, term: Term) -> Result<Shape> {
    let bad = || {
        Error::arg(
            op,
            format!("expected a shape tuple of non-negative integers, got {term:?}"),
        )
    };
    let dims = get_tuple(term).map_err(|_| bad())?;
    let dims = dims
        .iter()
        .map(|d| d.decode::<usize>().map_err(|_| bad()))
        .collect::<Result<Vec<_>>>()?;
    Ok(Shape::new(dims))
}

/// Encodes a shape as a tuple.
pub fn encode_shape<'a>(env: Env<'a>, shape: &Shape) -> Term<'a> {
    let dims: Vec<Term> = shape.dims().iter().map(|d| d.encode(env)).collect();
    make_tuple(env, &dims)
}

/// Wraps a tensor as a resource and returns `{ref, data, shape, type}`.
///
/// `data` is a binary over the tensor's own memory (no copy), or, for a
/// tensor in GPU memory, `{:cuda, ordinal}`. It is there
/// for the garbage collector: the BEAM counts a binary's full size towards
/// the process's binary heap, so a process that drops large tensors is
/// collected promptly. A bare resource would count as a few words, and dead
/// gigabytes could pile up before the next collection.
pub fn encode_tensor<'a>(env: Env<'a>, t: Tensor) -> Result<Term<'a>> {
    let shape = encode_shape(env, t.shape());
    let dtype = encode_dtype(env, t.dtype());
    let device = t.device();
    let r = ResourceArc::new(TensorResource(t));
    let data = match device {
        Device::Cpu => r
            .make_binary(env, |res| res.0.as_bytes().unwrap_or(&[]))
            .encode(env),
        // GPU memory has no binary view: `data` names the device instead.
        Device::Cuda(n) => (cuda_atom(), n).encode(env),
    };
    Ok((r, data, shape, dtype).encode(env))
}

/// The tensor inside a resource.
pub fn tensor(r: &TensorRef) -> &Tensor {
    &r.0
}

/// A scalar from Elixir: an integer, a float, or a non-finite atom.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Number {
    /// Any integer that fits in 64 bits, signed or unsigned.
    Int(i128),
    /// A float, including the non-finite atoms.
    Float(f64),
}

impl Number {
    /// Decodes an integer, float, `:nan`, `:infinity` or `:neg_infinity`.
    pub fn decode(op: &str, term: Term) -> Result<Number> {
        let bad = || {
            Error::arg(
                op,
                format!("expected a number, :nan, :infinity or :neg_infinity, got {term:?}"),
            )
        };
        match term.get_type() {
            TermType::Integer => term
                .decode::<i64>()
                .map(|v| Number::Int(v as i128))
                .or_else(|_| term.decode::<u64>().map(|v| Number::Int(v as i128)))
                .map_err(|_| Error::arg(op, format!("integer {term:?} does not fit in 64 bits"))),
            TermType::Float => term.decode::<f64>().map(Number::Float).map_err(|_| bad()),
            TermType::Atom => {
                let a: Atom = term.decode().map_err(|_| bad())?;
                if a == nan() {
                    Ok(Number::Float(f64::NAN))
                } else if a == infinity() {
                    Ok(Number::Float(f64::INFINITY))
                } else if a == neg_infinity() {
                    Ok(Number::Float(f64::NEG_INFINITY))
                } else {
                    Err(bad())
                }
            }
            _ => Err(bad()),
        }
    }

    /// Converts to element type `T` (integers wrap, floats truncate into
    /// integer types). Non-finite values cannot be stored in integer types.
    pub fn to_element<T: Element>(self, op: &str) -> Result<T> {
        match self {
            Number::Int(i) => Ok(T::from_i128(i)),
            Number::Float(x) if !x.is_finite() && T::DTYPE.is_integer() => Err(Error::arg(
                op,
                format!("cannot store {} in a tensor of type {}", fmt_float(x), T::DTYPE),
            )),
            Number::Float(x) => Ok(T::from_f64(x)),
        }
    }

    /// As f64.
    pub fn as_f64(self) -> f64 {
        match self {
            Number::Int(i) => i as f64,
            Number::Float(x) => x,
        }
    }
}

fn fmt_float(x: f64) -> &'static str {
    if x.is_nan() {
        ":nan"
    } else if x > 0.0 {
        ":infinity"
    } else {
        ":neg_infinity"
    }
}

/// Encodes one element as an Elixir number or non-finite atom.
pub fn encode_element<'a, T: Element>(env: Env<'a>, x: T) -> Term<'a> {
    if T::DTYPE.is_float() {
        let v = x.to_f64();
        if v.is_nan() {
            nan().encode(env)
        } else if v == f64::INFINITY {
            infinity().encode(env)
        } else if v == f64::NEG_INFINITY {
            neg_infinity().encode(env)
        } else {
            v.encode(env)
        }
    } else if T::DTYPE == DType::U64 {
        (x.to_i128() as u64).encode(env)
    } else {
        (x.to_i128() as i64).encode(env)
    }
}

/// Formats one element as Elixir would print it, using the shortest
/// decimal that round-trips in the element's own precision.
pub fn format_element<T: Element>(x: T) -> String {
    if T::DTYPE.is_integer() {
        return x.to_i128().to_string();
    }
    let v = x.to_f64();
    if v.is_nan() {
        return "NaN".into();
    }
    if v.is_infinite() {
        return if v > 0.0 { "Inf".into() } else { "-Inf".into() };
    }
    // The shortest decimal that converts back to the same element: try
    // 1, 2, ... significant digits. Debug of the resulting f64 then prints
    // it in Rust's shortest style ("0.1", "1e-7"), which Elixir writes as
    // "1.0e-7".
    let text = (0..17)
        .map(|digits| format!("{v:.digits$e}").parse::<f64>().unwrap_or(v))
        .find(|&candidate| T::from_f64(candidate) == x)
        .map_or_else(|| format!("{v:?}"), |candidate| format!("{candidate:?}"));
    match text.split_once('e') {
        Some((mantissa, exp)) if !mantissa.contains('.') => format!("{mantissa}.0e{exp}"),
        _ => text,
    }
}

/// The name of an op atom.
pub fn op_name(env: Env, family: &str, op: Atom) -> Result<String> {
    op.to_term(env)
        .atom_to_string()
        .map_err(|_| Error::internal(family, "op name is not an atom"))
}

/// Decodes an op atom into a family's enum with its `from_name`.
pub fn decode_op<T>(env: Env, family: &str, op: Atom, from_name: fn(&str) -> Option<T>) -> Result<T> {
    let name = op_name(env, family, op)?;
    from_name(&name).ok_or_else(|| Error::arg(&name, format!("unknown {family} op")))
}
