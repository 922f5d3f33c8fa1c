//! The resource that carries an engine tensor through the BEAM.
//!
//! The BEAM's garbage collector drops the resource when no process holds it;
//! dropping the [`Tensor`] releases its storage (if no other tensor shares it).

use myelin_core::Tensor;
use rustler::ResourceArc;

/// An engine tensor owned by the BEAM.
pub struct TensorResource(pub Tensor);

#[rustler::resource_impl]
impl rustler::Resource for TensorResource {}

/// How NIFs receive and return tensors.
pub type TensorRef = ResourceArc<TensorResource>;
