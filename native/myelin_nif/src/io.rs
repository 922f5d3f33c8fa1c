//! File NIFs: safetensors save and load (see the myelin_io crate). They
//! wait on the disk, so they run on dirty IO schedulers, never on a normal
//! one, whatever the file's size.

use crate::codec::{encode_tensor, tensor};
use crate::guard::run;
use crate::resource::TensorRef;
use myelin_core::{Error, Result};
use myelin_io::{Metadata, LOAD_OP, SAVE_OP};
use rustler::types::atom;
use rustler::{Binary, Encoder, Env, ListIterator, Term};
use std::collections::HashMap;
use std::path::PathBuf;

/// A path given as an Elixir binary. On Unix any bytes are a valid path;
/// elsewhere it must be UTF-8.
fn decode_path(op: &str, term: Term) -> Result<PathBuf> {
    let bin: Binary = term
        .decode()
        .map_err(|_| Error::arg(op, format!("expected the path as a binary, got {term:?}")))?;
    #[cfg(unix)]
    {
        use std::os::unix::ffi::OsStrExt;
        Ok(PathBuf::from(std::ffi::OsStr::from_bytes(bin.as_slice())))
    }
    #[cfg(not(unix))]
    std::str::from_utf8(bin.as_slice())
        .map(PathBuf::from)
        .map_err(|_| Error::arg(op, "the path is not valid UTF-8"))
}

/// Writes `[{name, tensor_ref}]` and a `%{string => string}` metadata map
/// to `path` (atomically, see `myelin_io::save`). Returns `:ok`.
#[rustler::nif(schedule = "DirtyIo")]
fn safetensors_save<'a>(env: Env<'a>, path: Term<'a>, entries: Term<'a>, metadata: Term<'a>) -> Term<'a> {
    run(env, SAVE_OP, || {
        let path = decode_path(SAVE_OP, path)?;
        let bad_entries = || {
            Error::arg(
                SAVE_OP,
                format!("expected a list of {{name, tensor}} pairs, got {entries:?}"),
            )
        };
        let items: ListIterator = entries.decode().map_err(|_| bad_entries())?;
        let tensors = items
            .map(|item| {
                let (name, r): (String, TensorRef) = item.decode().map_err(|_| bad_entries())?;
                Ok((name, tensor(&r).clone()))
            })
            .collect::<Result<Vec<_>>>()?;
        let metadata: HashMap<String, String> = metadata.decode().map_err(|_| {
            Error::arg(
                SAVE_OP,
                format!("expected metadata as a map of strings to strings, got {metadata:?}"),
            )
        })?;
        myelin_io::save(&path, &tensors, &metadata.into_iter().collect::<Metadata>())?;
        Ok(atom::ok().encode(env))
    })
}

/// Reads `path`: `{[{name, tensor}], %{string => string}}`, tensors in file
/// order.
#[rustler::nif(schedule = "DirtyIo")]
fn safetensors_load<'a>(env: Env<'a>, path: Term<'a>) -> Term<'a> {
    run(env, LOAD_OP, || {
        let (tensors, metadata) = myelin_io::load(&decode_path(LOAD_OP, path)?)?;
        let entries = tensors
            .into_iter()
            .map(|(name, t)| Ok((name, encode_tensor(env, t)?).encode(env)))
            .collect::<Result<Vec<Term>>>()?;
        let metadata: HashMap<String, String> = metadata.into_iter().collect();
        Ok((entries, metadata).encode(env))
    })
}
