//! Myelin's engine core.
//!
//! This crate knows nothing about the BEAM or about any particular device
//! backend. It defines the vocabulary every other crate shares:
//!
//! * [`DType`] and Nx's type-promotion rules ([`dtype`]),
//! * [`Shape`] and every shape-inference rule ([`shape`]): shapes are computed
//!   once, here, and backends trust them,
//! * [`Element`], the trait implemented by the twelve scalar types, and the
//!   [`dispatch_dtype!`] family of macros that turn a runtime [`DType`] into a
//!   generic type parameter,
//! * [`Storage`] / [`Device`] and the [`Tensor`] value itself,
//! * [`Error`], the error type every op returns,
//! * [`buffer_cache`], the allocator the NIF installs so that a training
//!   step's large buffers are reused instead of page-faulted afresh.

pub mod buffer_cache;
pub mod device;
pub mod dtype;
pub mod element;
pub mod error;
pub mod ops;
pub mod pointer;
pub mod shape;
pub mod storage;
pub mod tensor;

pub use half;

pub use device::Device;
pub use dtype::{DType, Kind};
pub use element::Element;
pub use error::{Error, Result};
pub use shape::Shape;
pub use storage::{CpuStorage, DeviceStorage, Storage};
pub use tensor::Tensor;
