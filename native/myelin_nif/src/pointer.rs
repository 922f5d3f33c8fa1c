//! NIFs sharing tensor memory by address (Nx 0.13's `to_pointer` and
//! `from_pointer`, `:local` mode). Only addresses handed out by
//! `to_pointer` are accepted (see `myelin_core::pointer`).

use crate::codec::{decode_dtype, decode_shape, tensor};
use crate::guard::run;
use crate::resource::TensorRef;
use rustler::{Encoder, Env, Term};

/// `{address, byte_size}` of a CPU tensor's buffer, now valid for
/// `from_pointer` while the tensor lives. Constant time.
#[rustler::nif]
fn to_pointer<'a>(env: Env<'a>, t: TensorRef) -> Term<'a> {
    run(env, "to_pointer", || {
        let (address, size) = myelin_core::pointer::share(tensor(&t))?;
        Ok((address as u64, size as u64).encode(env))
    })
}

// A tensor over the memory at `address` (shared when the type matches the
// memory's, else a copy of its bytes).
nif_pair!(from_pointer, from_pointer_dirty, "from_pointer", (address: u64, dtype: Term, shape: Term),
|address: u64, dtype: Term, shape: Term| {
    let dtype = decode_dtype("from_pointer", dtype)?;
    let shape = decode_shape("from_pointer", shape)?;
    myelin_core::pointer::open(address as usize, dtype, shape)
});
