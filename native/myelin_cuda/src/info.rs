//! What this process can know about CUDA whether or not CUDA support is
//! built: which libraries load, and what a GPU is. Shared by the real
//! backend and its stub, so both report in the same words.

use myelin_core::{Error, Result};

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
        if !cfg!(feature = "cuda") {
            return Err(Error::internal(
                op,
                "CUDA is not available: Myelin was built without the `cuda` feature of myelin_cuda",
            ));
        }
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
        self.require(op)?;
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

pub(crate) const DRIVER: &str = "libcuda.so (the NVIDIA driver; is there an NVIDIA GPU?)";
pub(crate) const NVRTC: &str = "libnvrtc.so.12 (CUDA's NVRTC, e.g. `pip install nvidia-cuda-nvrtc-cu12`)";
pub(crate) const CUBLAS: &str = "libcublas.so.12 (cuBLAS, e.g. `pip install nvidia-cublas-cu12`)";

/// What a GPU is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DeviceInfo {
    /// The CUDA ordinal.
    pub ordinal: usize,
    /// The product name, e.g. "NVIDIA H100 80GB HBM3".
    pub name: String,
    /// Compute capability (major, minor).
    pub compute_capability: (i32, i32),
    /// Device memory in bytes.
    pub total_memory: usize,
}
