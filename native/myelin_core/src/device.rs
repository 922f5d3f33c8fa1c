//! Where a tensor's memory lives.

use std::fmt;

/// A compute device. Only [`Device::Cpu`] has a backend today; the CUDA
/// variant is part of the type from day one so that code written now already
/// threads a device through.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub enum Device {
    /// Host memory, computed by `myelin_cpu`.
    #[default]
    Cpu,
    /// An NVIDIA GPU, by ordinal.
    Cuda(usize),
}

impl fmt::Display for Device {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Device::Cpu => write!(f, ":cpu"),
            Device::Cuda(i) => write!(f, "{{:cuda, {i}}}"),
        }
    }
}
