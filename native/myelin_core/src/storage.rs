//! Tensor memory. A tensor's storage is always dense and row-major.

use crate::device::Device;
use crate::dtype::DType;
use crate::element::Element;
use crate::error::Result;
use half::{bf16, f16};
use std::any::Any;
use std::fmt;
use std::sync::Arc;

/// Host memory holding elements of one dtype.
#[derive(Clone, Debug, PartialEq)]
pub enum CpuStorage {
    U8(Vec<u8>),
    U16(Vec<u16>),
    U32(Vec<u32>),
    U64(Vec<u64>),
    S8(Vec<i8>),
    S16(Vec<i16>),
    S32(Vec<i32>),
    S64(Vec<i64>),
    F16(Vec<f16>),
    BF16(Vec<bf16>),
    F32(Vec<f32>),
    F64(Vec<f64>),
}

/// Applies `$f` to the vector inside a [`CpuStorage`], whatever its type.
macro_rules! with_vec {
    ($s:expr, $v:ident => $f:expr) => {
        match $s {
            CpuStorage::U8($v) => $f,
            CpuStorage::U16($v) => $f,
            CpuStorage::U32($v) => $f,
            CpuStorage::U64($v) => $f,
            CpuStorage::S8($v) => $f,
            CpuStorage::S16($v) => $f,
            CpuStorage::S32($v) => $f,
            CpuStorage::S64($v) => $f,
            CpuStorage::F16($v) => $f,
            CpuStorage::BF16($v) => $f,
            CpuStorage::F32($v) => $f,
            CpuStorage::F64($v) => $f,
        }
    };
}

impl CpuStorage {
    /// Wraps a typed vector.
    pub fn from_vec<T: Element>(v: Vec<T>) -> Self {
        T::into_storage(v)
    }

    /// The elements as a typed slice, or `None` if `T` is not this storage's type.
    pub fn as_slice<T: Element>(&self) -> Option<&[T]> {
        T::view(self)
    }

    /// The raw bytes, in native byte order.
    pub fn as_bytes(&self) -> &[u8] {
        with_vec!(self, v => bytemuck::cast_slice(v.as_slice()))
    }

    /// Number of elements.
    pub fn len(&self) -> usize {
        with_vec!(self, v => v.len())
    }

    /// True when there are no elements.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The element type.
    pub fn dtype(&self) -> DType {
        with_vec!(self, v => element_dtype(v.as_slice()))
    }
}

fn element_dtype<T: Element>(_: &[T]) -> DType {
    T::DTYPE
}

/// Memory on an accelerator, implemented by a device backend crate
/// (`myelin_cuda`). The core needs only where it is, what it holds, and a
/// way back to the host; backends downcast through [`DeviceStorage::as_any`]
/// to reach their own buffers.
pub trait DeviceStorage: Send + Sync + fmt::Debug + 'static {
    /// Where the memory lives.
    fn device(&self) -> Device;
    /// The element type.
    fn dtype(&self) -> DType;
    /// Number of elements.
    fn len(&self) -> usize;
    /// True when there are no elements.
    fn is_empty(&self) -> bool {
        self.len() == 0
    }
    /// Bytes held, for accounting.
    fn size_in_bytes(&self) -> usize {
        self.len() * self.dtype().size_in_bytes()
    }
    /// A host copy of the data (a device-to-host transfer).
    fn to_cpu(&self) -> Result<CpuStorage>;
    /// The backend's own type, for downcasting.
    fn as_any(&self) -> &dyn Any;
}

/// Memory on some device.
#[derive(Clone, Debug)]
pub enum Storage {
    /// Host memory.
    Cpu(CpuStorage),
    /// Accelerator memory, owned by a device backend and freed when the
    /// last tensor holding it is dropped.
    Device(Arc<dyn DeviceStorage>),
}

impl PartialEq for Storage {
    /// Host memory compares by value; device memory by identity (comparing
    /// values would need a transfer).
    fn eq(&self, other: &Storage) -> bool {
        match (self, other) {
            (Storage::Cpu(a), Storage::Cpu(b)) => a == b,
            (Storage::Device(a), Storage::Device(b)) => Arc::ptr_eq(a, b),
            _ => false,
        }
    }
}

impl Storage {
    /// Where this memory lives.
    pub fn device(&self) -> Device {
        match self {
            Storage::Cpu(_) => Device::Cpu,
            Storage::Device(d) => d.device(),
        }
    }

    /// Bytes held, for accounting.
    pub fn size_in_bytes(&self) -> usize {
        match self {
            Storage::Cpu(s) => s.as_bytes().len(),
            Storage::Device(d) => d.size_in_bytes(),
        }
    }
}
