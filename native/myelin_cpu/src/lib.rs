//! Myelin's CPU backend.
//!
//! Every public function takes tensors whose shapes and types it validates
//! with the rules in `myelin_core` (so errors name the op and say what was
//! expected), computes into freshly allocated storage, and returns a new
//! tensor. Large ops split their work across cores with [`parallel`].

pub mod binary;
pub mod cast;
pub mod conv;
pub mod creation;
pub mod cumulative;
pub mod dot;
pub mod f8;
pub mod fast_math;
pub mod fft;
pub mod float;
pub mod fused;
pub mod indexing;
pub mod integer;
pub mod layout;
pub mod linalg;
mod matmul;
pub mod parallel;
pub mod permute;
pub mod pool;
pub mod random;
pub mod reduce;
pub mod reduce_arg;
pub mod reducers;
pub mod reshape_ops;
mod row_gemm;
pub mod select;
pub mod simd;
pub mod softmax;
pub mod sort;
pub mod unary;
pub mod window;
pub mod workers;
mod zip;

pub use binary::binary;
pub use cast::{as_type, bitcast};
pub use creation::{eye, iota};
pub use cumulative::cumulative;
pub use dot::dot;
pub use fft::fft;
pub use random::{random_normal, random_uniform};
pub use reduce::reduce;
pub use reduce_arg::arg_reduce;
pub use select::{clip, select};
pub use unary::unary;
