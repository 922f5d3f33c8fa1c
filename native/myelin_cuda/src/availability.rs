//! Finding the CUDA libraries before cudarc is allowed to touch them.
//!
//! cudarc loads each library on the first call into it and panics if the
//! library is missing, so every entry point of this crate asks
//! [`availability`] first. The probe uses cudarc's own search (the same
//! file names, through `dlopen`), so "present" here means cudarc will find
//! it.

pub use crate::info::Availability;
use crate::info::NVRTC;
use myelin_core::{Error, Result};
use std::sync::OnceLock;

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
