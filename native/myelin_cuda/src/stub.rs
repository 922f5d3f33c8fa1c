//! The public functions of the CUDA backend when the `cuda` feature is
//! off: each reports that this build has no CUDA support.

pub use crate::info::{Availability, DeviceInfo};
use myelin_core::{Error, Result, Tensor};

fn not_built(op: &str) -> Error {
    Error::internal(
        op,
        "CUDA is not available: Myelin was built without the `cuda` feature of myelin_cuda",
    )
}

/// No library is available in a build without CUDA.
pub fn availability() -> Availability {
    Availability {
        driver: false,
        nvrtc: false,
        cublas: false,
    }
}

/// The "not built" error.
pub fn device_count() -> Result<usize> {
    Err(not_built("device_count"))
}

/// The "not built" error.
pub fn device_info(_ordinal: usize) -> Result<DeviceInfo> {
    Err(not_built("cuda"))
}

/// The "not built" error.
pub fn to_device(_t: &Tensor, _ordinal: usize) -> Result<Tensor> {
    Err(not_built("backend_transfer"))
}

/// A CPU tensor as it is; no other device exists in this build.
pub fn to_cpu(t: &Tensor) -> Result<Tensor> {
    Ok(t.clone())
}

/// The launchers, each reporting that this build has no CUDA support (no
/// tensor can be on a GPU in this build, so they are never reached).
pub mod ops {
    use super::not_built;
    use myelin_core::ops::{BinaryOp, ReduceOp, UnaryOp};
    use myelin_core::{DType, Result, Tensor};

    /// The "not built" error.
    pub fn as_type(_t: &Tensor, _dtype: DType) -> Result<Tensor> {
        Err(not_built("as_type"))
    }

    /// The "not built" error.
    pub fn unary(op: UnaryOp, _t: &Tensor) -> Result<Tensor> {
        Err(not_built(op.name()))
    }

    /// The "not built" error.
    pub fn binary(op: BinaryOp, _a: &Tensor, _b: &Tensor) -> Result<Tensor> {
        Err(not_built(op.name()))
    }

    /// The "not built" error.
    pub fn transpose(_t: &Tensor, _perm: &[usize]) -> Result<Tensor> {
        Err(not_built("transpose"))
    }

    /// The "not built" error.
    pub fn reduce(op: ReduceOp, _t: &Tensor, _axes: Option<&[i64]>, _keep: bool) -> Result<Tensor> {
        Err(not_built(op.name()))
    }

    /// The "not built" error.
    pub fn dot(
        _a: &Tensor,
        _ca: &[i64],
        _ba: &[i64],
        _b: &Tensor,
        _cb: &[i64],
        _bb: &[i64],
    ) -> Result<Tensor> {
        Err(not_built("dot"))
    }
}
