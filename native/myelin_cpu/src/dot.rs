//! `dot` with contraction and batch axes (Nx.dot/2, /4, /6), reduced to a
//! batch of `m×k` by `k×n` matrix products.
//!
//! Operands are first converted to the merged type. An operand already laid
//! out as `[batch, free, contract]` or `[batch, contract, free]` is used in
//! place through strides; any other layout is copied once. f32 and f64 run
//! on [`crate::matmul`]; f16 and bf16 convert to f32 and back; integers use
//! a row-blocked loop with wrapping arithmetic.

use crate::cast::as_type;
use crate::integer::IntElement;
use crate::matmul::{matmul_uninit, Mat, Scalar};
use crate::parallel::{for_each_chunk_mut, num_threads, ELEMENTWISE_GRAIN};
use crate::permute::permute;
use crate::row_gemm;
use myelin_core::shape::dot::{dot as dot_rule, DotPlan};
use myelin_core::{dispatch_integer, DType, Element, Error, Result, Tensor};
use std::borrow::Cow;
use std::mem::MaybeUninit;

/// Multiply-adds (`m*n*k`) from which one product uses every core.
/// Measured on 2 cores (with rayon's pool, before `crate::workers`): one
/// thread won up to 192³ (the hand-off cost more than it saved). The MLP's 128×784×128 products (2^23.6) run
/// on both cores: in alternating runs on an AMD EPYC host (2026-11-23) the
/// epoch went from 0.47-0.52 s to 0.38-0.42 s once the forward product could
/// split too (see `matmul::split`). On an Intel host with CPU steal the
/// split had lost (a split product waits for its slower half).
const PARALLEL_GEMM_WORK: usize = 1 << 23;

/// Nx.dot/6: contracts `contract_a` of `a` with `contract_b` of `b`,
/// batching over `batch_a` / `batch_b`.
pub fn dot(
    a: &Tensor,
    contract_a: &[i64],
    batch_a: &[i64],
    b: &Tensor,
    contract_b: &[i64],
    batch_b: &[i64],
) -> Result<Tensor> {
    let plan = dot_rule(a.shape(), contract_a, batch_a, b.shape(), contract_b, batch_b)?;
    let out_type = a.dtype().merge(b.dtype());
    let compute = match out_type {
        DType::F16 | DType::BF16 => DType::F32,
        t => t,
    };
    let (a, b) = (as_type(a, compute)?, as_type(b, compute)?);
    let out = match compute {
        DType::F32 => float_dot::<f32>(&a, &b, &plan)?,
        DType::F64 => float_dot::<f64>(&a, &b, &plan)?,
        dt => dispatch_integer!(dt, T => int_dot::<T>(&a, &b, &plan)?,
            _ => return Err(Error::internal("dot", format!("no kernel for type {dt}")))),
    };
    as_type(&out, out_type)
}

/// An operand as `batch` matrices with row and column strides (elements),
/// each matrix `stride` elements apart.
struct Operand<'a, T: Clone> {
    data: Cow<'a, [T]>,
    rs: usize,
    cs: usize,
    stride: usize,
}

/// Lays `t` out as `[batch, rows, cols]` matrices, reusing its memory when
/// its axes are already in that order or with rows and cols swapped.
fn operand<'a, T: Element>(
    t: &'a Tensor,
    batch: &[usize],
    rows: &[usize],
    cols: &[usize],
) -> Result<Operand<'a, T>> {
    let data = t.as_slice::<T>()?;
    let dims = t.dims();
    let size = |axes: &[usize]| axes.iter().map(|&i| dims[i]).product::<usize>();
    let (r, c) = (size(rows), size(cols));
    let order =
        |x: &[usize], y: &[usize]| -> Vec<usize> { batch.iter().chain(x).chain(y).copied().collect() };
    let straight = order(rows, cols);
    let is_identity = |p: &[usize]| p.iter().enumerate().all(|(i, &v)| i == v);
    if is_identity(&straight) {
        return Ok(Operand {
            data: Cow::Borrowed(data),
            rs: c,
            cs: 1,
            stride: r * c,
        });
    }
    if is_identity(&order(cols, rows)) {
        return Ok(Operand {
            data: Cow::Borrowed(data),
            rs: 1,
            cs: r,
            stride: r * c,
        });
    }
    Ok(Operand {
        data: Cow::Owned(permute(data, dims, &straight)),
        rs: c,
        cs: 1,
        stride: r * c,
    })
}

fn float_dot<T: Scalar + Element>(a: &Tensor, b: &Tensor, p: &DotPlan) -> Result<Tensor> {
    let (m, n, k) = (p.m, p.n, p.k);
    if m == 0 || n == 0 || k == 0 || p.batch == 0 {
        return Tensor::from_vec(p.out.clone(), vec![T::ZERO; p.out.size()]);
    }
    // Every product writes its whole block, so the output is not zeroed
    // first (for the MLP's 784×128 weight gradient that was a 400 KB pass).
    let mut out = Box::<[T]>::new_uninit_slice(p.out.size());
    let lhs = operand::<T>(a, &p.batch_a, &p.free_a, &p.contract_a)?;
    let rhs = operand::<T>(b, &p.batch_b, &p.contract_b, &p.free_b)?;
    let work = m * n * k;
    let product = |bi: usize, dst: &mut [MaybeUninit<T>], threads: usize| {
        let (l, r) = (&lhs.data[bi * lhs.stride..], &rhs.data[bi * rhs.stride..]);
        if m <= row_gemm::MAX_ROWS && rhs.cs == 1 {
            let dst = zeroed(dst);
            return row_gemm::rows_times_matrix(m, n, k, l, (lhs.rs, lhs.cs), r, dst);
        }
        let (l, r) = (
            Mat {
                data: l,
                rs: lhs.rs,
                cs: lhs.cs,
            },
            Mat {
                data: r,
                rs: rhs.rs,
                cs: rhs.cs,
            },
        );
        matmul_uninit("dot", m, n, k, dst, l, r, threads);
    };
    if work >= PARALLEL_GEMM_WORK || p.batch == 1 {
        let threads = if work >= PARALLEL_GEMM_WORK {
            num_threads()
        } else {
            1
        };
        for (bi, dst) in out.chunks_mut(m * n).enumerate() {
            product(bi, dst, threads);
        }
    } else {
        // Many small products: share whole matrices out across cores.
        let per = m * n;
        let grain = (ELEMENTWISE_GRAIN / k).max(1).div_ceil(per) * per;
        for_each_chunk_mut(&mut out, grain, |start, chunk| {
            for (j, dst) in chunk.chunks_mut(per).enumerate() {
                product(start / per + j, dst, 1);
            }
        });
    }
    // SAFETY: the chunks of `m×n` cover the output, and each product wrote
    // all of its chunk.
    let out = unsafe { out.assume_init() };
    Tensor::from_vec(p.out.clone(), out.into_vec())
}

/// `dst` filled with zeros, as initialized values.
fn zeroed<T: Element>(dst: &mut [MaybeUninit<T>]) -> &mut [T] {
    dst.iter_mut().for_each(|d| {
        d.write(T::ZERO);
    });
    // SAFETY: every element was just written; MaybeUninit<T> has T's layout.
    unsafe { &mut *(dst as *mut [MaybeUninit<T>] as *mut [T]) }
}

fn int_dot<T: IntElement>(a: &Tensor, b: &Tensor, p: &DotPlan) -> Result<Tensor> {
    let (m, n, k) = (p.m, p.n, p.k);
    let mut out = vec![<T as Element>::ZERO; p.out.size()];
    if out.is_empty() || k == 0 {
        return Tensor::from_vec(p.out.clone(), out);
    }
    let lhs = operand::<T>(a, &p.batch_a, &p.free_a, &p.contract_a)?;
    // The right operand is made row-major so the inner loop is contiguous.
    let mut order: Vec<usize> = p.batch_b.clone();
    order.extend(&p.contract_b);
    order.extend(&p.free_b);
    let rhs = permute(b.as_slice::<T>()?, b.dims(), &order);
    let grain = (ELEMENTWISE_GRAIN / k).max(1).div_ceil(n) * n;
    for_each_chunk_mut(&mut out, grain, |start, chunk| {
        for (j, row) in chunk.chunks_mut(n).enumerate() {
            let (bi, i) = ((start / n + j) / m, (start / n + j) % m);
            let l = &lhs.data[bi * lhs.stride + i * lhs.rs..];
            let r = &rhs[bi * k * n..];
            for q in 0..k {
                let x = l[q * lhs.cs];
                for (o, &y) in row.iter_mut().zip(&r[q * n..(q + 1) * n]) {
                    *o = o.wrapping_add(&x.wrapping_mul(&y));
                }
            }
        }
    });
    Tensor::from_vec(p.out.clone(), out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use half::bf16;
    use myelin_core::Shape;

    fn t<T: Element>(dims: &[usize], v: Vec<T>) -> Tensor {
        Tensor::from_vec(Shape::new(dims.to_vec()), v).unwrap()
    }

    #[test]
    fn matrix_products_in_every_family() {
        let a = t(&[2, 3], vec![1i32, 2, 3, 4, 5, 6]);
        let b = t(&[3, 2], vec![7i32, 8, 9, 10, 11, 12]);
        let c = dot(&a, &[1], &[], &b, &[0], &[]).unwrap();
        assert_eq!(c.as_slice::<i32>().unwrap(), &[58, 64, 139, 154]);
        let af = as_type(&a, DType::F32).unwrap();
        let bf = as_type(&b, DType::F64).unwrap();
        let c = dot(&af, &[1], &[], &bf, &[0], &[]).unwrap();
        assert_eq!(c.as_slice::<f64>().unwrap(), &[58.0, 64.0, 139.0, 154.0]);
        // a^T b via strides: contract axis 0 of both.
        let c = dot(&af, &[0], &[], &af, &[0], &[]).unwrap();
        assert_eq!(
            c.as_slice::<f32>().unwrap(),
            &[17.0, 22.0, 27.0, 22.0, 29.0, 36.0, 27.0, 36.0, 45.0]
        );
        let ah = as_type(&a, DType::BF16).unwrap();
        let c = dot(&ah, &[1], &[], &ah, &[1], &[]).unwrap();
        assert_eq!(c.dtype(), DType::BF16);
        assert_eq!(c.as_slice::<bf16>().unwrap()[3], bf16::from_f32(77.0));
    }

    #[test]
    fn batched_and_wrapping() {
        let a = t(&[2, 1, 2], vec![1i64, 2, 3, 4]);
        let b = t(&[2, 2, 1], vec![5i64, 6, 7, 8]);
        let c = dot(&a, &[2], &[0], &b, &[1], &[0]).unwrap();
        assert_eq!(
            (c.dims(), c.as_slice::<i64>().unwrap()),
            (&[2, 1, 1][..], &[17i64, 53][..])
        );
        let a = t(&[1], vec![200u8]);
        let c = dot(&a, &[0], &[], &a, &[0], &[]).unwrap();
        assert_eq!(c.as_slice::<u8>().unwrap(), &[64]); // 40000 mod 256
    }

    #[test]
    fn large_products_match_a_reference() {
        let (m, n, k) = (70, 90, 80);
        let a: Vec<f32> = (0..m * k).map(|i| (i % 7) as f32 - 3.0).collect();
        let b: Vec<f32> = (0..k * n).map(|i| (i % 5) as f32 - 2.0).collect();
        let c = dot(
            &t(&[m, k], a.clone()),
            &[1],
            &[],
            &t(&[n, k], b.clone()),
            &[1],
            &[],
        )
        .unwrap();
        let c = c.as_slice::<f32>().unwrap();
        for (i, j) in [(0, 0), (13, 77), (69, 89)] {
            let want: f32 = (0..k).map(|q| a[i * k + q] * b[j * k + q]).sum();
            assert_eq!(c[i * n + j], want);
        }
    }

    #[test]
    fn single_row_products_match_a_reference() {
        // One left row takes the row kernel (row_gemm); k not a multiple of
        // its unroll, n not a multiple of a vector, batched, and a left
        // operand read through transposed strides.
        let (b, n, k) = (3, 37, 131);
        let a: Vec<f64> = (0..b * k).map(|i| (i % 9) as f64 * 0.5 - 2.0).collect();
        let w: Vec<f64> = (0..b * k * n).map(|i| (i % 13) as f64 * 0.25 - 1.5).collect();
        let c = dot(
            &t(&[b, 1, k], a.clone()),
            &[2],
            &[0],
            &t(&[b, k, n], w.clone()),
            &[1],
            &[0],
        )
        .unwrap();
        let c = c.as_slice::<f64>().unwrap();
        for bi in 0..b {
            for j in 0..n {
                let want: f64 = (0..k).map(|q| a[bi * k + q] * w[(bi * k + q) * n + j]).sum();
                assert!((c[bi * n + j] - want).abs() < 1e-9, "{bi} {j}");
            }
        }
        // x^T w with x stored as a column (contract axis 0 of a [k, 1] tensor).
        let x: Vec<f32> = (0..k).map(|i| (i % 5) as f32 - 2.0).collect();
        let w32: Vec<f32> = w[..k * n].iter().map(|&v| v as f32).collect();
        let c = dot(
            &t(&[k, 1], x.clone()),
            &[0],
            &[],
            &t(&[k, n], w32.clone()),
            &[0],
            &[],
        )
        .unwrap();
        assert_eq!(c.dims(), &[1, n]);
        for (j, &got) in c.as_slice::<f32>().unwrap().iter().enumerate() {
            let want: f32 = (0..k).map(|q| x[q] * w32[q * n + j]).sum();
            assert!((got - want).abs() < 1e-3, "{j}: {got} vs {want}");
        }
    }
}
