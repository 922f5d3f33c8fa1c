//! A CUDA device as the engine sees it: one context and stream per GPU,
//! kernel modules compiled on first use, a cuBLAS handle, and the buffer
//! type that backs tensors on the GPU.
//!
//! Memory: buffers come from CUDA's stream-ordered allocator, whose pool
//! is told never to return memory to the driver (release threshold =
//! max), so after the first training step allocations are served from the
//! pool: it is the caching allocator the issue asks for, kept by the
//! driver. A buffer goes back to the pool when the last tensor holding it
//! is dropped (its `Drop` frees on the stream).

use crate::availability::{availability, guarded};
use crate::compile::cached_cubin;
pub use crate::info::DeviceInfo;
use crate::kernels::{family_of, Family};
use cudarc::cublas::CudaBlas;
use cudarc::driver::{CudaContext, CudaFunction, CudaModule, CudaSlice, CudaStream, DriverError};
use myelin_core::storage::DeviceStorage;
use myelin_core::{dispatch_dtype, CpuStorage, DType, Device, Element, Error, Result, Tensor};
use std::any::Any;
use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};

/// One GPU: context, stream, compiled modules and cuBLAS.
pub(crate) struct CudaDevice {
    pub(crate) info: DeviceInfo,
    pub(crate) stream: Arc<CudaStream>,
    arch: String,
    modules: Mutex<HashMap<&'static str, Arc<CudaModule>>>,
    functions: Mutex<HashMap<String, CudaFunction>>,
    blas: Mutex<Option<Arc<CudaBlas>>>,
}

impl std::fmt::Debug for CudaDevice {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "CudaDevice({}, {})", self.info.ordinal, self.info.name)
    }
}

pub(crate) fn driver_error(op: &str, e: DriverError) -> Error {
    Error::internal(op, format!("CUDA driver error: {e:?}"))
}

/// The number of GPUs this process can use (an error when CUDA is absent).
pub fn device_count() -> Result<usize> {
    availability().require("device_count")?;
    guarded("device_count", || {
        // The driver library can be installed where no GPU is usable (a
        // container without the device, a machine whose GPU is gone): its
        // initialization fails, and that is CUDA being unavailable.
        CudaContext::device_count()
            .map(|n| n.max(0) as usize)
            .map_err(|e| {
                Error::internal(
                    "device_count",
                    format!("CUDA is not available: the NVIDIA driver found no usable GPU ({e:?})"),
                )
            })
    })
}

/// Name, compute capability and memory of GPU `ordinal`.
pub fn device_info(ordinal: usize) -> Result<DeviceInfo> {
    Ok(CudaDevice::open("device_info", ordinal)?.info.clone())
}

impl CudaDevice {
    /// The device for `ordinal`, opened once per process; errors name `op`.
    pub(crate) fn open(op: &str, ordinal: usize) -> Result<Arc<CudaDevice>> {
        static OPEN: OnceLock<Mutex<HashMap<usize, Arc<CudaDevice>>>> = OnceLock::new();
        availability().require(op)?;
        let mut open = OPEN
            .get_or_init(Default::default)
            .lock()
            .map_err(|_| Error::internal(op, "device table poisoned"))?;
        if let Some(d) = open.get(&ordinal) {
            return Ok(Arc::clone(d));
        }
        let count = device_count()
            .map_err(|e| Error::internal(op, e.message().trim_start_matches("device_count: ")))?;
        if ordinal >= count {
            return Err(Error::arg(
                op,
                format!("no CUDA device {ordinal}: this machine has {count}"),
            ));
        }
        let device = guarded(op, || {
            let err = |e| driver_error(op, e);
            let ctx = CudaContext::new(ordinal).map_err(err)?;
            let (major, minor) = ctx.compute_capability().map_err(err)?;
            let info = DeviceInfo {
                ordinal,
                name: ctx.name().map_err(err)?,
                compute_capability: (major, minor),
                total_memory: ctx.total_mem().map_err(err)?,
            };
            keep_pool_memory(&ctx);
            Ok(Arc::new(CudaDevice {
                info,
                stream: ctx.default_stream(),
                arch: format!("sm_{major}{minor}"),
                modules: Mutex::new(HashMap::new()),
                functions: Mutex::new(HashMap::new()),
                blas: Mutex::new(None),
            }))
        })?;
        open.insert(ordinal, Arc::clone(&device));
        Ok(device)
    }

    /// The kernel `entry` for `op`, compiling its family on first use.
    pub(crate) fn function(&self, op: &str, entry: &str) -> Result<CudaFunction> {
        let cached = self
            .functions
            .lock()
            .map_err(|_| Error::internal(op, "function table poisoned"))?
            .get(entry)
            .cloned();
        if let Some(f) = cached {
            return Ok(f);
        }
        let f = self.load_function(op, entry)?;
        if let Ok(mut functions) = self.functions.lock() {
            functions.insert(entry.to_string(), f.clone());
        }
        Ok(f)
    }

    fn load_function(&self, op: &str, entry: &str) -> Result<CudaFunction> {
        let family: &Family =
            family_of(entry).ok_or_else(|| Error::internal(op, format!("no CUDA kernel named {entry}")))?;
        let module = {
            let mut modules = self
                .modules
                .lock()
                .map_err(|_| Error::internal(op, "module table poisoned"))?;
            match modules.get(family.name) {
                Some(m) => Arc::clone(m),
                None => {
                    let cubin = cached_cubin(family, &self.arch)?;
                    let m = guarded(op, || {
                        self.stream
                            .context()
                            .load_module(cudarc::nvrtc::Ptx::from_binary(cubin))
                            .map_err(|e| driver_error(op, e))
                    })?;
                    modules.insert(family.name, Arc::clone(&m));
                    m
                }
            }
        };
        guarded(op, || {
            module.load_function(entry).map_err(|e| driver_error(op, e))
        })
    }

    /// The cuBLAS handle, created on first use; `op` names the caller in
    /// errors (cuBLAS is only needed by the ops that multiply matrices).
    pub(crate) fn blas(&self, op: &str) -> Result<Arc<CudaBlas>> {
        availability().require_cublas(op)?;
        let mut blas = self
            .blas
            .lock()
            .map_err(|_| Error::internal(op, "cuBLAS handle poisoned"))?;
        if let Some(b) = blas.as_ref() {
            return Ok(Arc::clone(b));
        }
        let b = guarded(op, || {
            CudaBlas::new(Arc::clone(&self.stream))
                .map(Arc::new)
                .map_err(|e| Error::internal(op, format!("cuBLAS error: {e:?}")))
        })?;
        *blas = Some(Arc::clone(&b));
        Ok(b)
    }

    /// An uninitialized buffer of `len` elements of `dtype` for `op`; the
    /// kernel that receives it writes every element.
    pub(crate) fn alloc(self: &Arc<Self>, op: &str, dtype: DType, len: usize) -> Result<CudaBuffer> {
        let bytes = len
            .checked_mul(dtype.size_in_bytes())
            .ok_or_else(|| Error::arg(op, format!("{len} elements of {dtype} overflow")))?;
        // cudarc rejects zero-byte allocations; keep one byte behind them.
        let data = guarded(op, || {
            // SAFETY: every launcher writes the whole buffer before it is read.
            unsafe { self.stream.alloc::<u8>(bytes.max(1)) }.map_err(|e| {
                Error::internal(op, format!("out of GPU memory allocating {bytes} bytes: {e:?}"))
            })
        })?;
        Ok(CudaBuffer {
            device: Arc::clone(self),
            data,
            dtype,
            len,
        })
    }

    /// Copies host data to a new buffer.
    pub(crate) fn upload(self: &Arc<Self>, cpu: &CpuStorage) -> Result<CudaBuffer> {
        let mut buf = self.alloc("backend_transfer", cpu.dtype(), cpu.len())?;
        let bytes = cpu.as_bytes();
        if !bytes.is_empty() {
            guarded("backend_transfer", || {
                self.stream
                    .memcpy_htod(bytes, &mut buf.data.slice_mut(..bytes.len()))
                    .map_err(|e| driver_error("backend_transfer", e))
            })?;
        }
        Ok(buf)
    }
}

/// Lets the default memory pool keep freed memory for reuse instead of
/// returning it to the driver at every synchronization.
fn keep_pool_memory(ctx: &Arc<CudaContext>) {
    use cudarc::driver::sys;
    let mut pool: sys::CUmemoryPool = std::ptr::null_mut();
    let mut threshold: u64 = u64::MAX;
    // SAFETY: plain driver calls on a live context; failure only means
    // the pool keeps its default threshold, so the results are ignored.
    unsafe {
        if sys::cuDeviceGetDefaultMemPool(&mut pool, ctx.cu_device()) == sys::CUresult::CUDA_SUCCESS {
            let _ = sys::cuMemPoolSetAttribute(
                pool,
                sys::CUmemPool_attribute::CU_MEMPOOL_ATTR_RELEASE_THRESHOLD,
                &mut threshold as *mut u64 as *mut std::ffi::c_void,
            );
        }
    }
}

/// GPU memory holding `len` elements of `dtype`: the storage of a tensor
/// on `{:cuda, n}`.
pub(crate) struct CudaBuffer {
    pub(crate) device: Arc<CudaDevice>,
    pub(crate) data: CudaSlice<u8>,
    pub(crate) dtype: DType,
    pub(crate) len: usize,
}

impl std::fmt::Debug for CudaBuffer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "CudaBuffer({} x {} on {:?})",
            self.len, self.dtype, self.device
        )
    }
}

impl DeviceStorage for CudaBuffer {
    fn device(&self) -> Device {
        Device::Cuda(self.device.info.ordinal)
    }
    fn dtype(&self) -> DType {
        self.dtype
    }
    fn len(&self) -> usize {
        self.len
    }
    fn to_cpu(&self) -> Result<CpuStorage> {
        let op = "backend_transfer";
        dispatch_dtype!(self.dtype, T => {
            let mut host = vec![T::ZERO; self.len];
            let bytes: &mut [u8] = bytemuck::cast_slice_mut(&mut host);
            if !bytes.is_empty() {
                let n = bytes.len();
                guarded(op, || {
                    let stream = &self.device.stream;
                    stream
                        .memcpy_dtoh(&self.data.slice(..n), bytes)
                        .and_then(|_| stream.synchronize())
                        .map_err(|e| driver_error(op, e))
                })?;
            }
            Ok(CpuStorage::from_vec(host))
        })
    }
    fn as_any(&self) -> &dyn Any {
        self
    }
}

/// The CUDA buffer behind `t`, or an error for `op`.
pub(crate) fn buffer<'a>(op: &str, t: &'a Tensor) -> Result<&'a CudaBuffer> {
    t.device_storage()
        .and_then(|s| s.as_any().downcast_ref::<CudaBuffer>())
        .ok_or_else(|| {
            Error::arg(
                op,
                format!("expected a tensor on :cuda, got one on {}", t.device()),
            )
        })
}

/// A tensor over `buf`, shaped `dims`.
pub(crate) fn tensor(dims: &[usize], buf: CudaBuffer) -> Result<Tensor> {
    Tensor::from_device_storage(myelin_core::Shape::new(dims.to_vec()), Arc::new(buf))
}

/// Copies `t` to GPU `ordinal` (no copy if it is already there).
pub fn to_device(t: &Tensor, ordinal: usize) -> Result<Tensor> {
    if t.device() == Device::Cuda(ordinal) {
        return Ok(t.clone());
    }
    let host = to_cpu(t)?;
    let device = CudaDevice::open("backend_transfer", ordinal)?;
    let buf = device.upload(host.cpu_storage("backend_transfer")?)?;
    tensor(host.dims(), buf)
}

/// Copies `t` to host memory (no copy if it is already there).
pub fn to_cpu(t: &Tensor) -> Result<Tensor> {
    match t.device_storage() {
        None => Ok(t.clone()),
        Some(s) => Tensor::from_cpu_storage(t.shape().clone(), s.to_cpu()?),
    }
}
