//! The rules of each op family: `infer` (output shape and dtype), `eval`
//! (the kernel call) and `vjp` (the gradient, as new graph nodes), side by
//! side so an op's backward is written next to its forward.

pub mod conv;
pub mod elementwise;
pub mod linalg;
pub mod nn;
pub mod reduce;
pub mod scan;
pub mod shape;

use myelin_core::{Error, Result};

/// The error for an operand count the graph builder should have caught.
pub(crate) fn arity_error(op: &str) -> Error {
    Error::internal(op, "wrong number of operands reached the op's rule")
}

/// Checks the operand count inside a rule.
pub(crate) fn expect_args<T>(op: &str, args: &[T], n: usize) -> Result<()> {
    if args.len() == n {
        Ok(())
    } else {
        Err(arity_error(op))
    }
}
