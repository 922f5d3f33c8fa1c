//! The tensor value: a shape, a dtype and shared, immutable storage.

use crate::device::Device;
use crate::dispatch_dtype;
use crate::dtype::DType;
use crate::element::Element;
use crate::error::{Error, Result};
use crate::shape::Shape;
use crate::storage::{CpuStorage, DeviceStorage, Storage};
use std::sync::Arc;

/// A dense, row-major, immutable tensor.
///
/// Storage is reference-counted, so cloning a tensor or reshaping it costs no
/// copy. Ops never mutate their inputs; they return new tensors.
#[derive(Clone, Debug)]
pub struct Tensor {
    shape: Shape,
    dtype: DType,
    storage: Arc<Storage>,
}

impl Tensor {
    /// A CPU tensor owning `data`, which must hold `shape.size()` elements.
    pub fn from_vec<T: Element>(shape: Shape, data: Vec<T>) -> Result<Tensor> {
        if data.len() != shape.size() {
            return Err(Error::internal(
                "tensor",
                format!("{} elements given for shape {shape}", data.len()),
            ));
        }
        Ok(Tensor {
            shape,
            dtype: T::DTYPE,
            storage: Arc::new(Storage::Cpu(CpuStorage::from_vec(data))),
        })
    }

    /// A CPU tensor copied from native-endian bytes (the only copy made).
    pub fn from_bytes(dtype: DType, shape: Shape, bytes: &[u8]) -> Result<Tensor> {
        let size = shape.checked_size("from_binary")?;
        let expected = size
            .checked_mul(dtype.size_in_bytes())
            .ok_or_else(|| Error::arg("from_binary", format!("shape {shape} is too large")))?;
        if bytes.len() != expected {
            return Err(Error::arg(
                "from_binary",
                format!(
                    "binary of {} bytes does not match shape {shape} of type {dtype} ({expected} bytes expected)",
                    bytes.len()
                ),
            ));
        }
        dispatch_dtype!(dtype, T => {
            let mut data = vec![T::ZERO; size];
            bytemuck::cast_slice_mut::<T, u8>(&mut data).copy_from_slice(bytes);
            Tensor::from_vec(shape, data)
        })
    }

    /// A tensor of `shape` filled with `value`.
    pub fn full<T: Element>(shape: Shape, value: T) -> Result<Tensor> {
        let size = shape.checked_size("full")?;
        Tensor::from_vec(shape, vec![value; size])
    }

    /// The shape.
    pub fn shape(&self) -> &Shape {
        &self.shape
    }

    /// The dimensions.
    pub fn dims(&self) -> &[usize] {
        self.shape.dims()
    }

    /// The element type.
    pub fn dtype(&self) -> DType {
        self.dtype
    }

    /// Number of elements.
    pub fn size(&self) -> usize {
        self.shape.size()
    }

    /// Where the data lives.
    pub fn device(&self) -> Device {
        self.storage.device()
    }

    /// The underlying storage.
    pub fn storage(&self) -> &Storage {
        &self.storage
    }

    /// The CPU storage, or an error naming `op` for a tensor on another
    /// device (the op has no kernel there yet).
    pub fn cpu_storage(&self, op: &str) -> Result<&CpuStorage> {
        match &*self.storage {
            Storage::Cpu(s) => Ok(s),
            Storage::Device(d) => Err(not_on_cpu(op, d.device())),
        }
    }

    /// A CPU tensor over `storage`, which must hold `shape.size()` elements.
    pub fn from_cpu_storage(shape: Shape, storage: CpuStorage) -> Result<Tensor> {
        if storage.len() != shape.size() {
            return Err(Error::internal(
                "tensor",
                format!("{} elements given for shape {shape}", storage.len()),
            ));
        }
        Ok(Tensor {
            shape,
            dtype: storage.dtype(),
            storage: Arc::new(Storage::Cpu(storage)),
        })
    }

    /// A tensor over device memory, for device backends. The storage must
    /// hold `shape.size()` elements of `dtype`.
    pub fn from_device_storage(shape: Shape, storage: Arc<dyn DeviceStorage>) -> Result<Tensor> {
        if storage.len() != shape.size() {
            return Err(Error::internal(
                "tensor",
                format!(
                    "{} elements on {} for shape {shape}",
                    storage.len(),
                    storage.device()
                ),
            ));
        }
        Ok(Tensor {
            shape,
            dtype: storage.dtype(),
            storage: Arc::new(Storage::Device(storage)),
        })
    }

    /// The device storage, when the tensor is not on the CPU.
    pub fn device_storage(&self) -> Option<&Arc<dyn DeviceStorage>> {
        match &*self.storage {
            Storage::Cpu(_) => None,
            Storage::Device(d) => Some(d),
        }
    }

    /// The elements as a typed slice. Fails if `T` is not the tensor's type
    /// or the tensor is not on the CPU.
    pub fn as_slice<T: Element>(&self) -> Result<&[T]> {
        self.cpu_storage("as_slice")?.as_slice::<T>().ok_or_else(|| {
            Error::internal(
                "as_slice",
                format!("tensor of type {} read as {}", self.dtype, T::DTYPE),
            )
        })
    }

    /// The elements as a mutable slice, for in-place updates (optimizer
    /// steps). Copy-on-write: when the storage is shared with another tensor
    /// (a clone, a reshape, or a value Elixir still holds), this tensor gets
    /// its own copy first, so no other tensor ever sees the change.
    pub fn as_mut_slice<T: Element>(&mut self) -> Result<&mut [T]> {
        let dtype = self.dtype;
        if let Storage::Device(d) = &*self.storage {
            return Err(not_on_cpu("as_mut_slice", d.device()));
        }
        let Storage::Cpu(s) = Arc::make_mut(&mut self.storage) else {
            return Err(Error::internal("as_mut_slice", "storage moved off the CPU"));
        };
        T::view_mut(s).ok_or_else(|| {
            Error::internal(
                "as_mut_slice",
                format!("tensor of type {dtype} written as {}", T::DTYPE),
            )
        })
    }

    /// The raw native-endian bytes of a CPU tensor.
    pub fn as_bytes(&self) -> Result<&[u8]> {
        Ok(self.cpu_storage("to_binary")?.as_bytes())
    }

    /// The reference-counted storage, for sharing it by address ([`crate::pointer`]).
    pub(crate) fn shared_storage(&self) -> &Arc<Storage> {
        &self.storage
    }

    /// A tensor over shared storage of `dtype` holding `shape.size()` elements.
    pub(crate) fn from_shared_storage(shape: Shape, dtype: DType, storage: Arc<Storage>) -> Tensor {
        Tensor {
            shape,
            dtype,
            storage,
        }
    }

    /// The same data under a new shape with the same element count. No copy.
    pub fn reshape(&self, shape: Shape) -> Result<Tensor> {
        let shape = self.shape.reshape("reshape", &shape)?;
        Ok(Tensor {
            shape,
            dtype: self.dtype,
            storage: Arc::clone(&self.storage),
        })
    }
}

/// The error of a CPU-only op given a tensor on `device`.
fn not_on_cpu(op: &str, device: Device) -> Error {
    Error::arg(
        op,
        format!(
            "expected a tensor on :cpu, got one on {device}; this op has no {device} kernel yet, \
             so move the tensor with backend_transfer(tensor, :cpu) first"
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bytes_round_trip() {
        let t = Tensor::from_vec(Shape::new(vec![2, 2]), vec![1.0f32, 2.0, 3.0, 4.0]).unwrap();
        let b = t.as_bytes().unwrap().to_vec();
        let u = Tensor::from_bytes(DType::F32, Shape::new(vec![4]), &b).unwrap();
        assert_eq!(u.as_slice::<f32>().unwrap(), &[1.0, 2.0, 3.0, 4.0]);
        assert!(Tensor::from_bytes(DType::F32, Shape::new(vec![3]), &b).is_err());
        assert!(u.as_slice::<f64>().is_err());
    }

    #[test]
    fn writes_copy_shared_storage_first() {
        let t = Tensor::full(Shape::new(vec![2]), 1.0f32).unwrap();
        let mut u = t.clone();
        u.as_mut_slice::<f32>().unwrap()[0] = 5.0;
        assert_eq!(t.as_slice::<f32>().unwrap(), &[1.0, 1.0]);
        assert_eq!(u.as_slice::<f32>().unwrap(), &[5.0, 1.0]);
        assert!(u.as_mut_slice::<f64>().is_err());
    }

    #[test]
    fn reshape_shares_storage() {
        let t = Tensor::full(Shape::new(vec![2, 3]), 7i32).unwrap();
        let r = t.reshape(Shape::new(vec![3, 2])).unwrap();
        assert!(Arc::ptr_eq(&t.storage, &r.storage));
        assert!(t.reshape(Shape::new(vec![5])).is_err());
    }

    /// Device memory as a backend would provide it, held on the host.
    #[derive(Debug)]
    struct FakeDevice(CpuStorage);

    impl DeviceStorage for FakeDevice {
        fn device(&self) -> Device {
            Device::Cuda(1)
        }
        fn dtype(&self) -> DType {
            self.0.dtype()
        }
        fn len(&self) -> usize {
            self.0.len()
        }
        fn to_cpu(&self) -> Result<CpuStorage> {
            Ok(self.0.clone())
        }
        fn as_any(&self) -> &dyn std::any::Any {
            self
        }
    }

    #[test]
    fn device_tensors_refuse_cpu_access_with_an_error_naming_the_device() {
        let storage = Arc::new(FakeDevice(CpuStorage::from_vec(vec![1.0f32, 2.0])));
        let mut t = Tensor::from_device_storage(Shape::new(vec![2]), storage.clone()).unwrap();
        assert_eq!(t.device(), Device::Cuda(1));
        assert_eq!(t.dtype(), DType::F32);
        assert_eq!(t.storage().size_in_bytes(), 8);
        let e = t.cpu_storage("exp").unwrap_err();
        assert_eq!(
            e.message(),
            "exp: expected a tensor on :cpu, got one on {:cuda, 1}; this op has no {:cuda, 1} \
             kernel yet, so move the tensor with backend_transfer(tensor, :cpu) first"
        );
        assert!(t.as_mut_slice::<f32>().is_err());
        assert!(t.as_bytes().is_err());
        // Device storage compares by identity; a reshape shares it.
        assert_eq!(t.reshape(Shape::new(vec![2, 1])).unwrap().storage(), t.storage());
        let other = Tensor::from_device_storage(Shape::new(vec![2]), storage.clone()).unwrap();
        assert_eq!(other.storage(), t.storage());
        let copy = Arc::new(FakeDevice(CpuStorage::from_vec(vec![1.0f32, 2.0])));
        let copy = Tensor::from_device_storage(Shape::new(vec![2]), copy).unwrap();
        assert_ne!(copy.storage(), t.storage());
        // Back on the host through the backend.
        let host = Tensor::from_cpu_storage(t.shape().clone(), t.device_storage().unwrap().to_cpu().unwrap())
            .unwrap();
        assert_eq!(host.as_slice::<f32>().unwrap(), &[1.0, 2.0]);
        assert!(host.device_storage().is_none());
        // A size mismatch is an internal error, not a panic.
        assert!(Tensor::from_device_storage(Shape::new(vec![3]), storage).is_err());
    }
}
