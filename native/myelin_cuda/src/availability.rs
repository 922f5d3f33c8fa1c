//! Finding the CUDA libraries before cudarc is allowed to touch them.
//!
//! cudarc loads each library on the first call into it and panics if the
//! library is missing, so every entry point of this crate asks
//! [`availability`] first. The probe uses cudarc's own search (the same
//! file names, through `dlopen`), so "present" here means cudarc will find
//! it.

use myelin_core::{Error, Result};
use std::sync::OnceLock;

/// Which CUDA libraries this process can load.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Availability {
    /// The driver API (`libcuda.so`, installed with the NVIDIA driver).
    pub driver: bool,
    /// The runtime compiler (`libnvrtc.so.12`), which compiles the kernels.
    pub nvrtc: bool,
    /// cuBLAS (`libcublas.so.12`), for matrix products.
    pub cublas: bool,
}

impl Availability {
    /// Ok when the driver and NVRTC are present (all a GPU tensor needs),
    /// else an error for `op` that says which are missing and how to get
    /// them. cuBLAS is checked by [`Availability::require_cublas`], only
    /// where matrices are multiplied.
    pub fn require(&self, op: &str) -> Result<()> {
        let mut missing = Vec::new();
        if !self.driver {
            missing.push(DRIVER);
        }
        if !self.nvrtc {
            missing.push(NVRTC);
        }
        if missing.is_empty() {
            return Ok(());
        }
        Err(Error::internal(
            op,
            format!(
                "CUDA is not available: cannot load {}. Libraries are searched for on \
                 LD_LIBRARY_PATH and the system's library path",
                missing.join(", ")
            ),
        ))
    }

    /// Ok when cuBLAS is present, else an error for `op` saying how to get it.
    pub fn require_cublas(&self, op: &str) -> Result<()> {
        if self.cublas {
            Ok(())
        } else {
            Err(Error::internal(
                op,
                format!("cuBLAS is not available: cannot load {CUBLAS}"),
            ))
        }
    }
}

const DRIVER: &str = "libcuda.so (the NVIDIA driver; is there an NVIDIA GPU?)";
const NVRTC: &str = "libnvrtc.so.12 (CUDA's NVRTC, e.g. `pip install nvidia-cuda-nvrtc-cu12`)";
const CUBLAS: &str = "libcublas.so.12 (cuBLAS, e.g. `pip install nvidia-cublas-cu12`)";

/// The libraries this process can load, probed once.
pub fn availability() -> Availability {
    static PROBED: OnceLock<Availability> = OnceLock::new();
    PROBED
        .get_or_init(|| {
            // SAFETY: these only dlopen candidate file names and drop the
            // handles; no symbol is called.
            unsafe {
                Availability {
                    driver: cudarc::driver::sys::is_culib_present(),
                    nvrtc: cudarc::nvrtc::sys::is_culib_present(),
                    cublas: cudarc::cublas::sys::is_culib_present(),
                }
            }
        })
        .clone()
}

/// Ok when NVRTC alone can be loaded (compiling kernels needs no GPU).
pub(crate) fn require_nvrtc(op: &str) -> Result<()> {
    if availability().nvrtc {
        Ok(())
    } else {
        Err(Error::internal(
            op,
            format!("NVRTC is not available: cannot load {NVRTC}"),
        ))
    }
}

/// Runs `f`, which calls into cudarc, turning a panic (cudarc's answer to
/// a missing symbol in an old driver, say) into an error for `op`.
pub(crate) fn guarded<T>(op: &str, f: impl FnOnce() -> Result<T>) -> Result<T> {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)).unwrap_or_else(|payload| {
        let msg = payload
            .downcast_ref::<String>()
            .map(String::as_str)
            .or_else(|| payload.downcast_ref::<&str>().copied())
            .unwrap_or("unknown panic");
        Err(Error::internal(op, format!("the CUDA libraries failed: {msg}")))
    })
}
