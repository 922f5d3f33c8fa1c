//! Myelin's CUDA backend.
//!
//! Built on cudarc with dynamic loading: the CUDA driver, NVRTC and cuBLAS
//! are found at run time, so building needs no CUDA toolkit and a machine
//! without a GPU runs everything else unchanged. cudarc panics when a
//! library it needs is absent, so nothing here calls it before
//! [`availability`] has found the libraries; a missing GPU is an
//! [`Error`](myelin_core::Error) naming what is missing, never a panic.
//!
//! Layout:
//!
//! * [`kernels`]: the `kernels/*.cu` sources (one file per op family) and
//!   the names of their entry points (`exp_f32`, `add_bf16`, ...);
//! * [`layout`]: the plain structs kernels take by value, and the host
//!   logic that fills them (broadcast strides, axis merging);
//! * `availability`, `compile` (NVRTC with an on-disk PTX cache),
//!   `device` (context, stream, modules, cuBLAS, the buffer type) and
//!   `ops` (the launchers): compiled with the `cuda` feature;
//! * `stub`: the same public functions when the feature is off, each
//!   reporting that CUDA support was not built.

pub mod info;
pub mod kernels;
pub mod layout;

#[cfg(feature = "cuda")]
mod availability;
#[cfg(feature = "cuda")]
mod compile;
#[cfg(feature = "cuda")]
mod device;
#[cfg(feature = "cuda")]
pub mod ops;

#[cfg(feature = "cuda")]
pub use availability::{availability, Availability};
#[cfg(feature = "cuda")]
pub use compile::{compile_family, compile_family_cubin, nvrtc_version};
#[cfg(feature = "cuda")]
pub use device::{device_count, device_info, to_cpu, to_device, DeviceInfo};

#[cfg(not(feature = "cuda"))]
mod stub;
#[cfg(not(feature = "cuda"))]
pub use stub::*;
