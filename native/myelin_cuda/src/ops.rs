//! Launchers: the engine's ops on tensors in GPU memory. Each computes its
//! output shape and dtype with myelin_core's rules (the same calls the CPU
//! backend makes), converts operands as the CPU backend does, and launches
//! the kernel named `<op>_<dtype>`.
//!
//! Covered so far: `as_type`, every unary and binary op, the reductions
//! (`sum`, `product`, `mean`, `reduce_min`, `reduce_max`, `all`, `any`
//! over any axes), `transpose`, and `dot` (any contracting and batch axes,
//! through cuBLAS). The training-step kernels (softmax + cross-entropy,
//! optimizers, im2col, pooling, gather) are compiled and name-checked, and
//! get launchers with the graph executor's CUDA path.

use crate::availability::guarded;
use crate::device::{buffer, driver_error, tensor, CudaBuffer, CudaDevice};
use crate::kernels::{dtype_suffix, kernel_name, sized_kernel_name};
use crate::layout::{ConvGeometry, PoolGeometry, Step, StridedLayout};
use cudarc::cublas::{sys::cublasOperation_t, Gemm, GemmConfig, StridedBatchedConfig};
use cudarc::driver::{DeviceRepr, LaunchConfig, PushKernelArg};
use myelin_core::ops::unary::UnaryClass;
use myelin_core::ops::{BinaryOp, ReduceOp, UnaryOp};
use myelin_core::shape::{dot::dot as dot_rule, reduce::reduce as reduce_rule};
use myelin_core::{DType, Error, Result, Tensor};
use std::sync::Arc;

// SAFETY: #[repr(C)] plain data, laid out as the C structs of the same names.
unsafe impl DeviceRepr for StridedLayout {}
unsafe impl DeviceRepr for ConvGeometry {}
unsafe impl DeviceRepr for PoolGeometry {}
unsafe impl DeviceRepr for Step {}

const BLOCK: u32 = 256;

/// A grid-stride launch over `n` elements: at most 65535 blocks of 256.
fn elementwise_config(n: usize) -> LaunchConfig {
    let blocks = n.div_ceil(BLOCK as usize).clamp(1, 65_535) as u32;
    LaunchConfig {
        grid_dim: (blocks, 1, 1),
        block_dim: (BLOCK, 1, 1),
        shared_mem_bytes: 0,
    }
}

/// Runs `launch`, which queues one kernel, turning errors and panics into
/// errors for `op`.
fn launch(op: &str, f: impl FnOnce() -> std::result::Result<(), cudarc::driver::DriverError>) -> Result<()> {
    guarded(op, || f().map_err(|e| driver_error(op, e)))
}

/// `t` converted to `dtype` on its device.
pub fn as_type(t: &Tensor, dtype: DType) -> Result<Tensor> {
    let op = "as_type";
    let x = buffer(op, t)?;
    if t.dtype() == dtype {
        return Ok(t.clone());
    }
    let name = format!("cast_{}_{}", dtype_suffix(t.dtype()), dtype_suffix(dtype));
    let dev = &x.device;
    let mut out = dev.alloc(dtype, x.len)?;
    let f = dev.function(&name)?;
    let n = x.len as u64;
    if n > 0 {
        launch(op, || {
            let mut b = dev.stream.launch_builder(&f);
            b.arg(&x.data).arg(&mut out.data).arg(&n);
            // SAFETY: the argument list matches `cast_<from>_<to>`.
            unsafe { b.launch(elementwise_config(x.len)) }.map(|_| ())
        })?;
    }
    tensor(t.dims(), out)
}

/// An elementwise op of one tensor.
pub fn unary(op: UnaryOp, t: &Tensor) -> Result<Tensor> {
    let out_dtype = op.output_dtype(t.dtype())?;
    // Floating maths on integers computes in the floating type, as on the CPU.
    let input = if op.class() == UnaryClass::Floating && t.dtype() != out_dtype {
        as_type(t, out_dtype)?
    } else {
        t.clone()
    };
    let x = buffer(op.name(), &input)?;
    let dev = &x.device;
    let mut out = dev.alloc(out_dtype, x.len)?;
    let f = dev.function(&kernel_name(op.name(), input.dtype()))?;
    let n = x.len as u64;
    if n > 0 {
        launch(op.name(), || {
            let mut b = dev.stream.launch_builder(&f);
            b.arg(&x.data).arg(&mut out.data).arg(&n);
            // SAFETY: the argument list matches `<op>_<dtype>` in unary.cu.
            unsafe { b.launch(elementwise_config(x.len)) }.map(|_| ())
        })?;
    }
    tensor(t.dims(), out)
}

/// An elementwise op of two tensors, broadcasting.
pub fn binary(op: BinaryOp, a: &Tensor, b: &Tensor) -> Result<Tensor> {
    let shape = op.output_shape(a.shape(), b.shape())?;
    let compute = op.compute_dtype(a.dtype(), b.dtype())?;
    let out_dtype = op.output_dtype(a.dtype(), b.dtype())?;
    let (a, b) = (as_type(a, compute)?, as_type(b, compute)?);
    let (xa, xb) = (buffer(op.name(), &a)?, buffer(op.name(), &b)?);
    same_device(op.name(), xa, xb)?;
    let layout = StridedLayout::broadcast(op.name(), shape.dims(), &[a.dims(), b.dims()])?;
    let dev = &xa.device;
    let n = shape.size();
    let mut out = dev.alloc(out_dtype, n)?;
    let f = dev.function(&kernel_name(op.name(), compute))?;
    let n64 = n as u64;
    if n > 0 {
        launch(op.name(), || {
            let mut l = dev.stream.launch_builder(&f);
            l.arg(&xa.data)
                .arg(&xb.data)
                .arg(&mut out.data)
                .arg(&n64)
                .arg(&layout);
            // SAFETY: the argument list matches `<op>_<dtype>` in binary.cu.
            unsafe { l.launch(elementwise_config(n)) }.map(|_| ())
        })?;
    }
    tensor(shape.dims(), out)
}

fn same_device(op: &str, a: &CudaBuffer, b: &CudaBuffer) -> Result<()> {
    if Arc::ptr_eq(&a.device, &b.device) {
        Ok(())
    } else {
        Err(Error::arg(
            op,
            format!(
                "expected tensors on one device, got {{:cuda, {}}} and {{:cuda, {}}}",
                a.device.info.ordinal, b.device.info.ordinal
            ),
        ))
    }
}

/// `transpose(t, perm)`: a strided copy into a new dense tensor.
pub fn transpose(t: &Tensor, perm: &[usize]) -> Result<Tensor> {
    let op = "transpose";
    let x = buffer(op, t)?;
    let dims = t.dims();
    if perm.len() != dims.len() {
        return Err(Error::arg(
            op,
            format!("expected {} axes, got {perm:?}", dims.len()),
        ));
    }
    if perm.iter().enumerate().all(|(i, &p)| i == p) {
        return Ok(t.clone());
    }
    let src_strides = t.shape().strides();
    let out_dims: Vec<usize> = perm.iter().map(|&p| dims[p]).collect();
    let read: Vec<i64> = perm.iter().map(|&p| src_strides[p] as i64).collect();
    let write: Vec<i64> = myelin_core::Shape::new(out_dims.clone())
        .strides()
        .into_iter()
        .map(|s| s as i64)
        .collect();
    let layout = StridedLayout::copy(op, &out_dims, &read, &write)?;
    let dev = &x.device;
    let n = x.len;
    let mut out = dev.alloc(t.dtype(), n)?;
    let f = dev.function(&sized_kernel_name("copy_strided", t.dtype()))?;
    let (n64, base) = (n as u64, 0i64);
    if n > 0 {
        launch(op, || {
            let mut l = dev.stream.launch_builder(&f);
            l.arg(&x.data)
                .arg(&mut out.data)
                .arg(&n64)
                .arg(&layout)
                .arg(&base)
                .arg(&base);
            // SAFETY: the argument list matches `copy_strided_b<bytes>` in layout.cu.
            unsafe { l.launch(elementwise_config(n)) }.map(|_| ())
        })?;
    }
    tensor(&out_dims, out)
}

/// A reduction over `axes` (None: all). The reduced axes are moved last
/// (a transpose, unless they already are), so the kernel sees rows.
pub fn reduce(op: ReduceOp, t: &Tensor, axes: Option<&[i64]>, keep_axes: bool) -> Result<Tensor> {
    if op == ReduceOp::Logsumexp {
        return Err(Error::arg(op.name(), "no CUDA launcher yet; transfer to :cpu"));
    }
    let plan = reduce_rule(op.name(), t.shape(), axes, keep_axes)?;
    let out_dtype = op.output_dtype(t.dtype());
    let input = if op == ReduceOp::Mean && t.dtype() != out_dtype {
        as_type(t, out_dtype)?
    } else {
        t.clone()
    };
    let dims = input.dims().to_vec();
    let kept: Vec<usize> = (0..dims.len()).filter(|a| !plan.axes.contains(a)).collect();
    let perm: Vec<usize> = kept.iter().chain(plan.axes.iter()).copied().collect();
    let rows = transpose(&input, &perm)?;
    let len: usize = plan.axes.iter().map(|&a| dims[a]).product();
    let outer: usize = kept.iter().map(|&a| dims[a]).product();
    let x = buffer(op.name(), &rows)?;
    let dev = &x.device;
    let mut out = dev.alloc(out_dtype, outer)?;
    let f = dev.function(&kernel_name(op.name(), input.dtype()))?;
    let (outer64, len64, inner64) = (outer as u64, len as u64, 1u64);
    if outer > 0 {
        let cfg = LaunchConfig {
            grid_dim: (outer.clamp(1, 65_535) as u32, 1, 1),
            block_dim: (BLOCK, 1, 1),
            shared_mem_bytes: 0,
        };
        launch(op.name(), || {
            let mut l = dev.stream.launch_builder(&f);
            l.arg(&x.data)
                .arg(&mut out.data)
                .arg(&outer64)
                .arg(&len64)
                .arg(&inner64);
            // SAFETY: the argument list matches `<op>_<dtype>` in reduce.cu.
            unsafe { l.launch(cfg) }.map(|_| ())
        })?;
    }
    tensor(plan.out.dims(), out)
}

/// `dot` with contracting and batch axes, through cuBLAS: both operands
/// are laid out as `{batch, M, K}` and `{batch, K, N}` (transposes where
/// needed) and multiplied by one strided-batched GEMM. f32 and f64 run
/// natively; other types compute in f32 (halves, as on the CPU) or f64
/// (integers, exact below 2^53) and convert back.
pub fn dot(
    a: &Tensor,
    contract_a: &[i64],
    batch_a: &[i64],
    b: &Tensor,
    contract_b: &[i64],
    batch_b: &[i64],
) -> Result<Tensor> {
    let op = "dot";
    let plan = dot_rule(a.shape(), contract_a, batch_a, b.shape(), contract_b, batch_b)?;
    let out_dtype = a.dtype().merge(b.dtype());
    let compute = match out_dtype {
        DType::F32 | DType::F16 | DType::BF16 => DType::F32,
        _ => DType::F64,
    };
    let (a, b) = (as_type(a, compute)?, as_type(b, compute)?);
    let (batch, m, k, n) = (plan.batch, plan.m, plan.k, plan.n);
    // {batch, M, K} and {batch, K, N}, row-major.
    let a3 = transpose(&a, &[&plan.batch_a[..], &plan.free_a, &plan.contract_a].concat())?;
    let b3 = transpose(&b, &[&plan.batch_b[..], &plan.contract_b, &plan.free_b].concat())?;
    let (xa, xb) = (buffer(op, &a3)?, buffer(op, &b3)?);
    same_device(op, xa, xb)?;
    let dev: &Arc<CudaDevice> = &xa.device;
    if batch * m * n == 0 || k == 0 {
        return as_type(&zeros(dev, compute, plan.out.dims())?, out_dtype);
    }
    let mut out = dev.alloc(compute, batch * m * n)?;
    let blas = dev.blas()?;
    let int = |v: usize| i32::try_from(v).map_err(|_| Error::arg(op, "matrix too large for cuBLAS"));
    let (mi, ni, ki, bi) = (int(m)?, int(n)?, int(k)?, int(batch)?);
    let view_err = || Error::internal(op, "buffer smaller than its tensor");
    let blas_err = |e| Error::internal(op, format!("cuBLAS error: {e:?}"));
    guarded(op, || {
        // SAFETY: each view covers exactly its tensor's elements, of the
        // type the buffer holds, and the config describes those extents.
        unsafe {
            if compute == DType::F32 {
                let vb = xb.data.transmute::<f32>(xb.len).ok_or_else(view_err)?;
                let va = xa.data.transmute::<f32>(xa.len).ok_or_else(view_err)?;
                let mut vc = out
                    .data
                    .transmute_mut::<f32>(batch * m * n)
                    .ok_or_else(view_err)?;
                blas.gemm_strided_batched(
                    batched_config(1.0f32, 0.0f32, (mi, ni, ki, bi), (m, n, k)),
                    &vb,
                    &va,
                    &mut vc,
                )
            } else {
                let vb = xb.data.transmute::<f64>(xb.len).ok_or_else(view_err)?;
                let va = xa.data.transmute::<f64>(xa.len).ok_or_else(view_err)?;
                let mut vc = out
                    .data
                    .transmute_mut::<f64>(batch * m * n)
                    .ok_or_else(view_err)?;
                blas.gemm_strided_batched(
                    batched_config(1.0f64, 0.0f64, (mi, ni, ki, bi), (m, n, k)),
                    &vb,
                    &va,
                    &mut vc,
                )
            }
            .map_err(blas_err)
        }
    })?;
    as_type(&tensor(plan.out.dims(), out)?, out_dtype)
}

/// cuBLAS's view of `batch` row-major products `{m, k} x {k, n}`: it is
/// column-major, so row-major C = A B is computed as C^T = B^T A^T, with
/// B passed first.
fn batched_config<T>(
    alpha: T,
    beta: T,
    (mi, ni, ki, bi): (i32, i32, i32, i32),
    (m, n, k): (usize, usize, usize),
) -> StridedBatchedConfig<T> {
    StridedBatchedConfig {
        gemm: GemmConfig {
            transa: cublasOperation_t::CUBLAS_OP_N,
            transb: cublasOperation_t::CUBLAS_OP_N,
            m: ni,
            n: mi,
            k: ki,
            alpha,
            lda: ni,
            ldb: ki,
            beta,
            ldc: ni,
        },
        batch_size: bi,
        stride_a: (k * n) as i64,
        stride_b: (m * k) as i64,
        stride_c: (m * n) as i64,
    }
}

/// A zero-filled tensor on `dev`.
fn zeros(dev: &Arc<CudaDevice>, dtype: DType, dims: &[usize]) -> Result<Tensor> {
    let n: usize = dims.iter().product();
    let mut out = dev.alloc(dtype, n)?;
    if n > 0 {
        launch("zeros", || dev.stream.memset_zeros(&mut out.data))?;
    }
    tensor(dims, out)
}
