//! The normal/dirty NIF pair: every compute NIF exists twice, `name` on a
//! normal scheduler and `name_dirty` on a dirty CPU scheduler, with one body.
//! `Myelin.Tensor.dispatch/4` picks the twin by the size of the work.
//!
//! `nif_pair!(name, name_dirty, "op", (arg: Type, ...), body)` defines both.
//! `body` is a closure of the arguments returning `Result<Tensor>`; it runs
//! under [`crate::guard::run`] (errors and panics become error tuples) and
//! its tensor is returned as `{ref, data, shape, type}`. With `env` before
//! the argument list, the closure also receives the `Env` first (to decode
//! op atoms). Both NIF names are written out at every use, so they can be
//! found with grep.
//!
//! Argument types must be single identifiers: `#[rustler::nif]` cannot read
//! a type that a macro passes through as a `ty` fragment. The aliases below
//! name the compound ones.

use crate::resource::TensorRef;

/// Optional list of axes (`nil` or `[0, -1]`).
pub type Axes = Option<Vec<i64>>;
/// A list of integers (axes, indices, starts).
pub type Ints = Vec<i64>;
/// A list of dimensions.
pub type Dims = Vec<usize>;
/// A list of tensors.
pub type Refs = Vec<TensorRef>;
/// Nx's padding config: `[{low, high, interior}, ...]`.
pub type PadConfig = Vec<(i64, i64, i64)>;
/// An optional axis.
pub type MaybeAxis = Option<i64>;

macro_rules! nif_pair {
    ($name:ident, $dirty:ident, $op:literal, ($($arg:ident : $ty:ident),*), $body:expr) => {
        #[doc = concat!("`", $op, "` on a normal scheduler.")]
        // A NIF's arguments mirror its Elixir call, however many there are.
        #[allow(clippy::too_many_arguments)]
        #[rustler::nif]
        fn $name<'a>(env: rustler::Env<'a>, $($arg: $ty),*) -> rustler::Term<'a> {
            $crate::guard::run(env, $op, || $crate::codec::encode_tensor(env, ($body)($($arg),*)?))
        }

        #[doc = concat!("`", $op, "` on a dirty CPU scheduler.")]
        #[allow(clippy::too_many_arguments)]
        #[rustler::nif(schedule = "DirtyCpu")]
        fn $dirty<'a>(env: rustler::Env<'a>, $($arg: $ty),*) -> rustler::Term<'a> {
            $crate::guard::run(env, $op, || $crate::codec::encode_tensor(env, ($body)($($arg),*)?))
        }
    };
    ($name:ident, $dirty:ident, $op:literal, env, ($($arg:ident : $ty:ident),*), $body:expr) => {
        #[doc = concat!("`", $op, "` on a normal scheduler.")]
        // A NIF's arguments mirror its Elixir call, however many there are.
        #[allow(clippy::too_many_arguments)]
        #[rustler::nif]
        fn $name<'a>(env: rustler::Env<'a>, $($arg: $ty),*) -> rustler::Term<'a> {
            $crate::guard::run(env, $op, || $crate::codec::encode_tensor(env, ($body)(env, $($arg),*)?))
        }

        #[doc = concat!("`", $op, "` on a dirty CPU scheduler.")]
        #[allow(clippy::too_many_arguments)]
        #[rustler::nif(schedule = "DirtyCpu")]
        fn $dirty<'a>(env: rustler::Env<'a>, $($arg: $ty),*) -> rustler::Term<'a> {
            $crate::guard::run(env, $op, || $crate::codec::encode_tensor(env, ($body)(env, $($arg),*)?))
        }
    };
}
