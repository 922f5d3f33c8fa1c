//! Myelin's graph IR and the machinery around it.
//!
//! A [`Graph`] is a list of [`Node`]s in topological order (a node's inputs
//! always come before it). Each node applies one primitive [`Op`] and carries
//! its output shape and dtype, inferred when the node is added, with the same
//! rules the eager ops use (`myelin_core::shape`), so a graph that builds runs.
//!
//! * [`grad`] adds the gradient nodes of a scalar to the graph
//!   (reverse-mode differentiation as a graph transform). Each op family's
//!   gradient rule lives beside its forward rule, in `rules/`.
//! * [`Executable`] plans a graph once (which values to keep, when each buffer
//!   dies) and runs it many times on concrete tensors.
//! * `rewrite` replaces some subgraphs, as they are built, by cheaper ones
//!   that compute the same values (a max pool before a bias and relu).
//! * [`profile`] times the steps of every run, per op and shape, when asked.
//!
//! Graphs are built by the NIF layer from traced `Myelin.Tensor` calls, so
//! every op here is named as the eager NIF that computes it.

mod autodiff;
mod exec;
pub mod fusion;
mod graph;
mod op;
pub mod profile;
mod rewrite;
pub mod rules;

pub use autodiff::grad;
pub use exec::Executable;
pub use graph::{Bypass, Graph, Node, NodeId};
pub use op::Op;
pub use rules::conv::Window;
