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
use crate::device::{buffer, driver_error, tensor, to_device, CudaDevice};
use crate::kernels::{dtype_suffix, kernel_name, sized_kernel_name};
use crate::layout::{ConvGeometry, PoolGeometry, Step, StridedLayout};
use cudarc::cublas::{sys::cublasOperation_t, Gemm, GemmConfig, StridedBatchedConfig};
use cudarc::driver::{DeviceRepr, LaunchConfig, PushKernelArg};
use myelin_core::ops::unary::UnaryClass;
use myelin_core::ops::{BinaryOp, ReduceOp, UnaryOp};
use myelin_core::shape::{dot::dot as dot_rule, reduce::reduce as reduce_rule};
use myelin_core::{DType, Device, Error, Kind, Result, Shape, Tensor};
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
    cast("as_type", t, dtype)
}

/// [`as_type`] for `op`, whose name its errors carry.
fn cast(op: &str, t: &Tensor, dtype: DType) -> Result<Tensor> {
    let x = buffer(op, t)?;
    if t.dtype() == dtype {
        return Ok(t.clone());
    }
    let name = format!("cast_{}_{}", dtype_suffix(t.dtype()), dtype_suffix(dtype));
    let dev = &x.device;
    let mut out = dev.alloc(op, dtype, x.len)?;
    let f = dev.function(op, &name)?;
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
    let name = op.name();
    buffer(name, t)?;
    let out_dtype = op.output_dtype(t.dtype())?;
    // Floating maths on integers computes in the floating type, as on the CPU.
    let input = if op.class() == UnaryClass::Floating && t.dtype() != out_dtype {
        cast(name, t, out_dtype)?
    } else {
        t.clone()
    };
    let x = buffer(name, &input)?;
    let dev = &x.device;
    let mut out = dev.alloc(name, out_dtype, x.len)?;
    let f = dev.function(name, &kernel_name(name, input.dtype()))?;
    let n = x.len as u64;
    if n > 0 {
        launch(name, || {
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
    let name = op.name();
    let (a, b) = colocate(name, a, b)?;
    let shape = op.output_shape(a.shape(), b.shape())?;
    let compute = op.compute_dtype(a.dtype(), b.dtype())?;
    let out_dtype = op.output_dtype(a.dtype(), b.dtype())?;
    let (a, b) = (cast(name, &a, compute)?, cast(name, &b, compute)?);
    let (xa, xb) = (buffer(name, &a)?, buffer(name, &b)?);
    let layout = StridedLayout::broadcast(name, shape.dims(), &[a.dims(), b.dims()])?;
    let dev = &xa.device;
    let n = shape.size();
    let mut out = dev.alloc(name, out_dtype, n)?;
    let f = dev.function(name, &kernel_name(name, compute))?;
    let n64 = n as u64;
    if n > 0 {
        launch(name, || {
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

/// Both operands on one GPU. A CPU operand with at most one element (a
/// number from Elixir becomes one) is uploaded next to the other, as
/// PyTorch lets CPU scalars meet CUDA tensors; any other mix of devices
/// is an error naming both.
fn colocate(op: &str, a: &Tensor, b: &Tensor) -> Result<(Tensor, Tensor)> {
    let ordinal = |t: &Tensor| match t.device() {
        Device::Cuda(n) => Some(n),
        Device::Cpu => None,
    };
    let place = |t: &Tensor, n: usize| -> Result<Tensor> {
        if t.device() == Device::Cuda(n) {
            Ok(t.clone())
        } else if t.size() <= 1 {
            to_device(t, n)
        } else {
            Err(Error::arg(
                op,
                format!(
                    "expected both tensors on {{:cuda, {n}}}, got one on {}; move it with \
                     backend_transfer(tensor, {{:cuda, {n}}})",
                    t.device()
                ),
            ))
        }
    };
    let n = ordinal(a)
        .or_else(|| ordinal(b))
        .ok_or_else(|| Error::internal(op, "no operand is on a GPU"))?;
    Ok((place(a, n)?, place(b, n)?))
}

/// `transpose(t, perm)`: a strided copy into a new dense tensor.
pub fn transpose(t: &Tensor, perm: &[usize]) -> Result<Tensor> {
    permute("transpose", t, perm)
}

/// [`transpose`] for `op`, whose name its errors carry.
fn permute(op: &str, t: &Tensor, perm: &[usize]) -> Result<Tensor> {
    let x = buffer(op, t)?;
    let dims = t.dims();
    let mut seen = vec![false; dims.len()];
    let valid = perm.len() == dims.len()
        && perm
            .iter()
            .all(|&p| p < dims.len() && !std::mem::replace(&mut seen[p], true));
    if !valid {
        return Err(Error::arg(
            op,
            format!("expected a permutation of the {} axes, got {perm:?}", dims.len()),
        ));
    }
    if perm.iter().enumerate().all(|(i, &p)| i == p) {
        return Ok(t.clone());
    }
    let src_strides = t.shape().strides();
    let out_dims: Vec<usize> = perm.iter().map(|&p| dims[p]).collect();
    let read: Vec<i64> = perm.iter().map(|&p| src_strides[p] as i64).collect();
    let write: Vec<i64> = Shape::new(out_dims.clone())
        .strides()
        .into_iter()
        .map(|s| s as i64)
        .collect();
    let layout = StridedLayout::copy(op, &out_dims, &read, &write)?;
    let dev = &x.device;
    let n = x.len;
    let mut out = dev.alloc(op, t.dtype(), n)?;
    let f = dev.function(op, &sized_kernel_name("copy_strided", t.dtype()))?;
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
    let name = op.name();
    buffer(name, t)?;
    if op == ReduceOp::Logsumexp {
        return Err(Error::arg(
            name,
            format!(
                "has no {} kernel yet; move the tensor with backend_transfer(tensor, :cpu)",
                t.device()
            ),
        ));
    }
    let plan = reduce_rule(name, t.shape(), axes, keep_axes)?;
    if op.needs_elements() && plan.reduces_nothing(t.shape()) {
        // The CPU's error, word for word.
        return Err(Error::arg(
            name,
            format!(
                "cannot reduce zero elements (shape {} over axes {:?}): the op has no identity",
                t.shape(),
                plan.axes
            ),
        ));
    }
    let out_dtype = op.output_dtype(t.dtype());
    let input = if op == ReduceOp::Mean && t.dtype() != out_dtype {
        cast(name, t, out_dtype)?
    } else {
        t.clone()
    };
    let dims = input.dims().to_vec();
    let kept: Vec<usize> = (0..dims.len()).filter(|a| !plan.axes.contains(a)).collect();
    let perm: Vec<usize> = kept.iter().chain(plan.axes.iter()).copied().collect();
    let rows = permute(name, &input, &perm)?;
    let len: usize = plan.axes.iter().map(|&a| dims[a]).product();
    let outer: usize = kept.iter().map(|&a| dims[a]).product();
    let x = buffer(name, &rows)?;
    let dev = &x.device;
    let mut out = dev.alloc(name, out_dtype, outer)?;
    let f = dev.function(name, &kernel_name(name, input.dtype()))?;
    let (outer64, len64, inner64) = (outer as u64, len as u64, 1u64);
    if outer > 0 {
        let cfg = LaunchConfig {
            grid_dim: (outer.clamp(1, 65_535) as u32, 1, 1),
            block_dim: (BLOCK, 1, 1),
            shared_mem_bytes: 0,
        };
        launch(name, || {
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
/// natively; the half types compute in f32 (as on the CPU), integers in
/// f64 and then wrap into their type as the CPU's integer products do
/// (exact while the sums stay below 2^53).
pub fn dot(
    a: &Tensor,
    contract_a: &[i64],
    batch_a: &[i64],
    b: &Tensor,
    contract_b: &[i64],
    batch_b: &[i64],
) -> Result<Tensor> {
    let op = "dot";
    let (a, b) = colocate(op, a, b)?;
    let plan = dot_rule(a.shape(), contract_a, batch_a, b.shape(), contract_b, batch_b)?;
    let out_dtype = a.dtype().merge(b.dtype());
    let compute = match out_dtype {
        DType::F32 | DType::F16 | DType::BF16 => DType::F32,
        _ => DType::F64,
    };
    // Back to the output type: integers through their 64-bit type, whose
    // conversion to a narrower integer wraps (f64 to int would saturate).
    let finish = |t: Tensor| -> Result<Tensor> {
        let t = match out_dtype.kind() {
            Kind::Signed => cast(op, &t, DType::S64)?,
            Kind::Unsigned => cast(op, &t, DType::U64)?,
            _ => t,
        };
        cast(op, &t, out_dtype)
    };
    let (a, b) = (cast(op, &a, compute)?, cast(op, &b, compute)?);
    let (batch, m, k, n) = (plan.batch, plan.m, plan.k, plan.n);
    // {batch, M, K} and {batch, K, N}, row-major.
    let a3 = permute(
        op,
        &a,
        &[&plan.batch_a[..], &plan.free_a, &plan.contract_a].concat(),
    )?;
    let b3 = permute(
        op,
        &b,
        &[&plan.batch_b[..], &plan.contract_b, &plan.free_b].concat(),
    )?;
    let (xa, xb) = (buffer(op, &a3)?, buffer(op, &b3)?);
    let dev: &Arc<CudaDevice> = &xa.device;
    if batch * m * n == 0 || k == 0 {
        return finish(zeros(op, dev, compute, plan.out.dims())?);
    }
    let mut out = dev.alloc(op, compute, batch * m * n)?;
    let blas = dev.blas(op)?;
    let int = |v: usize| i32::try_from(v).map_err(|_| Error::arg(op, "matrix too large for cuBLAS"));
    let sizes = ((int(m)?, int(n)?, int(k)?, int(batch)?), (m, n, k));
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
                blas.gemm_strided_batched(batched_config(1.0f32, 0.0f32, sizes), &vb, &va, &mut vc)
            } else {
                let vb = xb.data.transmute::<f64>(xb.len).ok_or_else(view_err)?;
                let va = xa.data.transmute::<f64>(xa.len).ok_or_else(view_err)?;
                let mut vc = out
                    .data
                    .transmute_mut::<f64>(batch * m * n)
                    .ok_or_else(view_err)?;
                blas.gemm_strided_batched(batched_config(1.0f64, 0.0f64, sizes), &vb, &va, &mut vc)
            }
            .map_err(blas_err)
        }
    })?;
    finish(tensor(plan.out.dims(), out)?)
}

/// cuBLAS's view of `batch` row-major products `{m, k} x {k, n}`: it is
/// column-major, so row-major C = A B is computed as C^T = B^T A^T, with
/// B passed first.
type GemmSizes = ((i32, i32, i32, i32), (usize, usize, usize));

fn batched_config<T>(alpha: T, beta: T, ((mi, ni, ki, bi), (m, n, k)): GemmSizes) -> StridedBatchedConfig<T> {
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

/// A zero-filled tensor on `dev`, for `op`.
fn zeros(op: &str, dev: &Arc<CudaDevice>, dtype: DType, dims: &[usize]) -> Result<Tensor> {
    let n: usize = dims.iter().product();
    let mut out = dev.alloc(op, dtype, n)?;
    if n > 0 {
        launch(op, || dev.stream.memset_zeros(&mut out.data))?;
    }
    tensor(dims, out)
}
