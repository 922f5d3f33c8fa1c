//! The primitive op set: one enum per op family, each op named as Nx names
//! it, with the rule that gives its output dtype. Output shapes are in
//! [`crate::shape`]. Backends implement the families; the NIF layer decodes
//! op names (Elixir atoms) with `from_name`.

pub mod binary;
pub mod reduce;
pub mod unary;

pub use binary::BinaryOp;
pub use reduce::{ArgReduceOp, CumulativeOp, ReduceOp, TieBreak};
pub use unary::UnaryOp;

/// Defines `name()` / `from_name()` for a fieldless op enum from one table,
/// so each op's Elixir name is written exactly once.
#[macro_export]
macro_rules! op_names {
    ($ty:ident { $($variant:ident => $name:literal),* $(,)? }) => {
        impl $ty {
            /// Every op of this family.
            pub const ALL: &'static [$ty] = &[$($ty::$variant),*];

            /// The op's name, as in Elixir (`Myelin.Tensor.<name>`).
            pub fn name(self) -> &'static str {
                match self { $($ty::$variant => $name),* }
            }

            /// Looks an op up by its Elixir name.
            pub fn from_name(name: &str) -> Option<$ty> {
                match name { $($name => Some($ty::$variant),)* _ => None }
            }
        }
    };
}
