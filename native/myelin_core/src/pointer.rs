//! Tensor memory shared by address: Nx 0.13's `to_pointer`/`from_pointer`
//! in `:local` mode.
//!
//! [`share`] gives the address of a CPU tensor's buffer and remembers it;
//! [`open`] turns such an address back into a tensor over the same memory
//! (no copy when the dtype matches, a copy of the bytes when it does not).
//! Only addresses [`share`] handed out, whose tensor is still alive, are
//! accepted: anything else is an error, never a read of foreign memory,
//! so a wrong or stale address cannot crash the VM.

use crate::dtype::DType;
use crate::error::{Error, Result};
use crate::shape::Shape;
use crate::storage::Storage;
use crate::tensor::Tensor;
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, Weak};

/// Shared buffers by address. Entries hold no memory alive (weak
/// references); dead ones are dropped whenever a buffer is shared.
static SHARED: Mutex<BTreeMap<usize, Weak<Storage>>> = Mutex::new(BTreeMap::new());

fn registry() -> std::sync::MutexGuard<'static, BTreeMap<usize, Weak<Storage>>> {
    // A panic while holding the lock cannot leave the map inconsistent.
    SHARED.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// The address and byte size of `t`'s buffer, now valid for [`open`] for as
/// long as the buffer lives.
pub fn share(t: &Tensor) -> Result<(usize, usize)> {
    let bytes = t.cpu_storage("to_pointer")?.as_bytes();
    let (address, size) = (bytes.as_ptr() as usize, bytes.len());
    if size == 0 {
        return Err(Error::arg(
            "to_pointer",
            "an empty tensor has no memory to point to",
        ));
    }
    let mut shared = registry();
    shared.retain(|_, weak| weak.strong_count() > 0);
    shared.insert(address, Arc::downgrade(t.shared_storage()));
    Ok((address, size))
}

/// A tensor of `dtype` and `shape` over the buffer at `address`, which
/// [`share`] must have handed out and whose size must be the tensor's.
pub fn open(address: usize, dtype: DType, shape: Shape) -> Result<Tensor> {
    let storage = registry().get(&address).and_then(Weak::upgrade).ok_or_else(|| {
        Error::arg(
            "from_pointer",
            format!(
                "address {address:#x} is not the memory of a live Myelin tensor; \
                 only addresses from Myelin.Backend's to_pointer can be opened"
            ),
        )
    })?;
    let Storage::Cpu(cpu) = &*storage else {
        return Err(Error::internal("from_pointer", "shared memory is not on the CPU"));
    };
    let want = shape
        .checked_size("from_pointer")?
        .checked_mul(dtype.size_in_bytes())
        .ok_or_else(|| Error::arg("from_pointer", format!("shape {shape} is too large")))?;
    if cpu.as_bytes().len() != want {
        return Err(Error::arg(
            "from_pointer",
            format!(
                "the memory at {address:#x} holds {} bytes, but {dtype} of shape {shape} needs {want}",
                cpu.as_bytes().len()
            ),
        ));
    }
    if cpu.dtype() == dtype {
        Ok(Tensor::from_shared_storage(shape, dtype, storage))
    } else {
        Tensor::from_bytes(dtype, shape, cpu.as_bytes())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shared_memory_reopens_until_its_tensor_is_gone() {
        let t = Tensor::from_vec(Shape::new(vec![2, 2]), vec![1.0f32, 2.0, 3.0, 4.0]).unwrap();
        let (address, size) = share(&t).unwrap();
        assert_eq!(size, 16);
        let same = open(address, DType::F32, Shape::new(vec![4])).unwrap();
        assert_eq!(same.as_slice::<f32>().unwrap().as_ptr() as usize, address);
        // Another dtype of the same size: a copy of the bytes.
        let bits = open(address, DType::U32, Shape::new(vec![4])).unwrap();
        assert_eq!(bits.as_slice::<u32>().unwrap()[0], 1.0f32.to_bits());
        let err = open(address, DType::F32, Shape::new(vec![3])).unwrap_err();
        assert!(err.to_string().contains("holds 16 bytes"), "{err}");
        drop((t, same));
        let err = open(address, DType::F32, Shape::new(vec![4])).unwrap_err();
        assert!(
            err.to_string().contains("not the memory of a live Myelin tensor"),
            "{err}"
        );
        assert!(open(12345, DType::U8, Shape::new(vec![1])).is_err());
    }
}
