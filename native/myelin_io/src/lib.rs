//! Myelin's file formats: safetensors files of named tensors.
//!
//! A safetensors file (<https://github.com/huggingface/safetensors>) is
//!
//! ```text
//! [ u64 little-endian N ][ N bytes of JSON header ][ tensor data ]
//! ```
//!
//! The header maps each tensor's name to its `dtype` (`"F32"`, `"BF16"`,
//! ...), `shape` and `data_offsets` (`[begin, end)` within the data), plus an
//! optional `"__metadata__"` object of string to string. Elements are
//! little-endian and row-major.
//!
//! [`save`] writes through a temporary file in the same directory and renames
//! it over the target, so a crash leaves the old file or the new one, never
//! half of one. [`load`] trusts nothing in the file: it checks the header
//! length against the file size, the JSON, every dtype, shape and offset,
//! and that no two tensors share bytes, before it allocates any tensor.
//! Errors are [`Error::Argument`]s that name the file and the problem.

pub mod dtype;
mod header;
mod read;
mod write;

use std::collections::BTreeMap;

pub use myelin_core::{Error, Result, Tensor};
pub use read::load;
pub use write::save;

/// The file-level string metadata (the header's `"__metadata__"` object).
pub type Metadata = BTreeMap<String, String>;

/// The op name in load errors.
pub const LOAD_OP: &str = "safetensors_load";
/// The op name in save errors.
pub const SAVE_OP: &str = "safetensors_save";

/// The largest header Python's safetensors accepts (its `MAX_HEADER_SIZE`).
/// [`save`] refuses to write a bigger one, so every file it writes can be
/// read there too.
pub const MAX_HEADER_BYTES: usize = 100_000_000;
