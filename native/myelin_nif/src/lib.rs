//! The BEAM boundary, and the only crate that knows rustler.
//!
//! Each file holds one family of NIFs; this file only declares them. Every
//! NIF returns `{:ok, value}` or `{:error, {:argument | :internal, message}}`
//! (see [`guard`]); `Myelin.Native`'s Elixir wrapper raises the errors.
//!
//! Scheduling: compute NIFs come in pairs, `name` on a normal scheduler and
//! `name_dirty` on a dirty CPU scheduler, sharing one body. `Myelin.Tensor`
//! picks the dirty twin when the work is large enough to hold a scheduler for
//! more than about a millisecond.

// First: the nif_pair! macro the family files use.
#[macro_use]
mod pair;

mod binary;
mod codec;
mod conversion;
mod creation;
mod device;
mod elementwise;
mod f8;
mod graph;
mod guard;
mod io;
mod linalg;
mod movement;
mod nn;
mod pointer;
mod reduction;
mod resource;
mod route;
mod spectral;
mod train;

/// Large tensor buffers are recycled instead of returned to the OS on every
/// free; see `myelin_core::buffer_cache` for why and for the bound.
#[global_allocator]
static ALLOCATOR: myelin_core::buffer_cache::BufferCache = myelin_core::buffer_cache::BufferCache::new();

rustler::init!("Elixir.Myelin.Native");
