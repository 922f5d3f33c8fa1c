//! The same ops on the GPU and on the CPU agree (the candle pattern: every
//! op test runs on every available device). Without a GPU each test skips
//! with a message saying why; on a GPU machine they must pass.

#![cfg(feature = "cuda")]

use myelin_core::ops::{BinaryOp, ReduceOp, UnaryOp};
use myelin_core::{DType, Shape, Tensor};
use myelin_cpu::cast::as_type;
use myelin_cpu::random::random_uniform;

/// GPU 0, or None (after saying why) when there is none.
fn gpu() -> Option<usize> {
    match myelin_cuda::device_count() {
        Ok(n) if n > 0 => Some(0),
        Ok(_) => {
            eprintln!("skipped: the CUDA driver reports no GPU");
            None
        }
        Err(e) => {
            eprintln!("skipped: {e}");
            None
        }
    }
}

fn uniform(seed: u64, dims: &[usize], lo: f64, hi: f64, dtype: DType) -> Tensor {
    random_uniform(seed, lo, hi, dtype, &Shape::new(dims.to_vec())).unwrap()
}

fn to_gpu(t: &Tensor, ordinal: usize) -> Tensor {
    myelin_cuda::to_device(t, ordinal).unwrap()
}

fn back(t: &Tensor) -> Tensor {
    myelin_cuda::to_cpu(t).unwrap()
}

/// Both results, widened to f64, agree within `rtol * |cpu| + atol`
/// (NaN matching NaN), with the same shape and dtype.
fn assert_close(what: &str, cpu: &Tensor, gpu: &Tensor, rtol: f64, atol: f64) {
    let gpu = back(gpu);
    assert_eq!(cpu.dims(), gpu.dims(), "{what}: shape");
    assert_eq!(cpu.dtype(), gpu.dtype(), "{what}: dtype");
    let c = as_type(cpu, DType::F64).unwrap();
    let g = as_type(&gpu, DType::F64).unwrap();
    for (i, (x, y)) in c
        .as_slice::<f64>()
        .unwrap()
        .iter()
        .zip(g.as_slice::<f64>().unwrap())
        .enumerate()
    {
        let ok = (x.is_nan() && y.is_nan()) || x == y || (x - y).abs() <= rtol * x.abs() + atol;
        assert!(ok, "{what}: element {i}: cpu {x}, gpu {y}");
    }
}

#[test]
fn transfers_round_trip_every_dtype() {
    let Some(d) = gpu() else { return };
    for dtype in DType::ALL {
        let t = uniform(1, &[3, 5], 0.0, 100.0, dtype);
        let g = to_gpu(&t, d);
        assert_eq!(g.device(), myelin_core::Device::Cuda(d));
        assert_close(&format!("transfer {dtype}"), &t, &g, 0.0, 0.0);
    }
    let empty = Tensor::from_vec(Shape::new(vec![0, 4]), Vec::<f32>::new()).unwrap();
    assert_close("empty", &empty, &to_gpu(&empty, d), 0.0, 0.0);
}

#[test]
fn unary_ops_match_the_cpu() {
    let Some(d) = gpu() else { return };
    for dtype in [DType::F32, DType::F64, DType::S32, DType::BF16] {
        // Inside every op's domain: (0.1, 0.9) suits log, asin, atanh, ...
        let t = uniform(2, &[257], 0.1, 0.9, dtype);
        let g = to_gpu(&t, d);
        for &op in UnaryOp::ALL {
            let Ok(cpu) = myelin_cpu::unary::unary(op, &t) else {
                continue;
            };
            let gpu = myelin_cuda::ops::unary(op, &g).unwrap();
            // CUDA's f32 maths is within 2-4 ulp; halves round once.
            let rtol = if dtype == DType::BF16 { 8e-3 } else { 1e-5 };
            assert_close(&format!("{} {dtype}", op.name()), &cpu, &gpu, rtol, 1e-6);
        }
    }
}

#[test]
fn binary_ops_broadcast_and_match_the_cpu() {
    let Some(d) = gpu() else { return };
    for dtype in [DType::F32, DType::S64, DType::U8, DType::F16] {
        let a = uniform(3, &[4, 3, 5], 1.0, 9.0, dtype);
        let b = uniform(4, &[3, 1], 1.0, 9.0, dtype);
        let (ga, gb) = (to_gpu(&a, d), to_gpu(&b, d));
        for &op in BinaryOp::ALL {
            let Ok(cpu) = myelin_cpu::binary::binary(op, &a, &b) else {
                continue;
            };
            let gpu = myelin_cuda::ops::binary(op, &ga, &gb).unwrap();
            let rtol = if dtype == DType::F16 { 2e-3 } else { 1e-6 };
            assert_close(&format!("{} {dtype}", op.name()), &cpu, &gpu, rtol, 0.0);
        }
    }
}

#[test]
fn integer_only_unary_ops_match_the_cpu_on_negative_values() {
    let Some(d) = gpu() else { return };
    for dtype in [DType::S8, DType::S16, DType::S32, DType::S64, DType::U8] {
        let t = uniform(12, &[200], -120.0, 120.0, dtype);
        let g = to_gpu(&t, d);
        for op in [
            UnaryOp::CountLeadingZeros,
            UnaryOp::PopulationCount,
            UnaryOp::BitwiseNot,
            UnaryOp::Abs,
            UnaryOp::Negate,
            UnaryOp::Sign,
        ] {
            let cpu = myelin_cpu::unary::unary(op, &t).unwrap();
            let gpu = myelin_cuda::ops::unary(op, &g).unwrap();
            assert_close(&format!("{} {dtype}", op.name()), &cpu, &gpu, 0.0, 0.0);
        }
    }
}

#[test]
fn a_cpu_scalar_joins_a_gpu_tensor_and_a_cpu_vector_is_refused() {
    let Some(d) = gpu() else { return };
    let a = uniform(13, &[3, 4], 0.0, 1.0, DType::F32);
    let two = Tensor::from_vec(Shape::scalar(), vec![2.0f32]).unwrap();
    let cpu = myelin_cpu::binary::binary(BinaryOp::Multiply, &a, &two).unwrap();
    let gpu = myelin_cuda::ops::binary(BinaryOp::Multiply, &to_gpu(&a, d), &two).unwrap();
    assert_close("gpu * cpu scalar", &cpu, &gpu, 0.0, 0.0);
    let e = myelin_cuda::ops::binary(BinaryOp::Add, &to_gpu(&a, d), &a).unwrap_err();
    assert!(
        e.message()
            .starts_with("add: expected both tensors on {:cuda, 0}, got one on :cpu"),
        "{e}"
    );
}

#[test]
fn casts_match_the_cpu() {
    let Some(d) = gpu() else { return };
    let t = uniform(5, &[64], -300.0, 300.0, DType::F64);
    for from in DType::ALL {
        let src = as_type(&t, from).unwrap();
        let g = to_gpu(&src, d);
        for to in DType::ALL {
            let cpu = as_type(&src, to).unwrap();
            let gpu = myelin_cuda::ops::as_type(&g, to).unwrap();
            assert_close(&format!("{from} -> {to}"), &cpu, &gpu, 0.0, 0.0);
        }
    }
}

#[test]
fn reductions_match_the_cpu() {
    let Some(d) = gpu() else { return };
    let t = uniform(6, &[3, 4, 50], 0.5, 1.5, DType::F32);
    let g = to_gpu(&t, d);
    for &op in ReduceOp::ALL {
        if op == ReduceOp::Logsumexp {
            continue;
        }
        for axes in [None, Some(vec![2i64]), Some(vec![0]), Some(vec![0, 2])] {
            for keep in [false, true] {
                let cpu = myelin_cpu::reduce::reduce(op, &t, axes.as_deref(), keep).unwrap();
                let gpu = myelin_cuda::ops::reduce(op, &g, axes.as_deref(), keep).unwrap();
                // Sums associate differently on the GPU.
                assert_close(&format!("{} {axes:?}", op.name()), &cpu, &gpu, 1e-5, 1e-5);
            }
        }
    }
}

#[test]
fn an_empty_max_is_the_cpus_error() {
    let Some(d) = gpu() else { return };
    let t = Tensor::from_vec(Shape::new(vec![3, 0]), Vec::<f32>::new()).unwrap();
    let cpu = myelin_cpu::reduce::reduce(ReduceOp::ReduceMax, &t, Some(&[1]), false).unwrap_err();
    let gpu = myelin_cuda::ops::reduce(ReduceOp::ReduceMax, &to_gpu(&t, d), Some(&[1]), false).unwrap_err();
    assert_eq!(cpu, gpu);
    // Sums of nothing are 0, as on the CPU.
    let cpu = myelin_cpu::reduce::reduce(ReduceOp::Sum, &t, Some(&[1]), false).unwrap();
    let gpu = myelin_cuda::ops::reduce(ReduceOp::Sum, &to_gpu(&t, d), Some(&[1]), false).unwrap();
    assert_close("empty sum", &cpu, &gpu, 0.0, 0.0);
}

#[test]
fn dot_matches_the_cpu_for_matmul_batched_and_transposed_forms() {
    let Some(d) = gpu() else { return };
    let a = uniform(7, &[2, 33, 17], -1.0, 1.0, DType::F32);
    let b = uniform(8, &[2, 17, 9], -1.0, 1.0, DType::F32);
    let bt = uniform(8, &[2, 9, 17], -1.0, 1.0, DType::F32);
    let (ga, gb, gbt) = (to_gpu(&a, d), to_gpu(&b, d), to_gpu(&bt, d));
    // (b on the CPU, b on the GPU, contract_a, batch_a, contract_b, batch_b)
    type Case<'a> = (&'a Tensor, &'a Tensor, &'a [i64], &'a [i64], &'a [i64], &'a [i64]);
    let cases: [Case; 3] = [
        (&b, &gb, &[2], &[0], &[1], &[0]),   // batched matmul: {2, 33, 9}
        (&b, &gb, &[2], &[], &[1], &[]),     // no batch: {2, 33, 2, 9}
        (&bt, &gbt, &[2], &[0], &[2], &[0]), // A B^T, batched: {2, 33, 9}
    ];
    for (b, gb, ca, ba, cb, bb) in cases {
        let cpu = myelin_cpu::dot::dot(&a, ca, ba, b, cb, bb).unwrap();
        let gpu = myelin_cuda::ops::dot(&ga, ca, ba, gb, cb, bb).unwrap();
        assert_close(
            &format!("dot {ca:?} {ba:?} {cb:?} {bb:?}"),
            &cpu,
            &gpu,
            1e-4,
            1e-5,
        );
    }
    let s = uniform(9, &[20, 30], 0.0, 3.0, DType::S32);
    let cpu = myelin_cpu::dot::dot(&s, &[1], &[], &s, &[1], &[]).unwrap();
    let gpu = myelin_cuda::ops::dot(&to_gpu(&s, d), &[1], &[], &to_gpu(&s, d), &[1], &[]).unwrap();
    assert_close("integer dot", &cpu, &gpu, 0.0, 0.0);
    // u8 products wrap on the CPU (sums past 255); the GPU must too.
    let u = uniform(11, &[8, 16], 100.0, 250.0, DType::U8);
    let cpu = myelin_cpu::dot::dot(&u, &[1], &[], &u, &[1], &[]).unwrap();
    let gu = to_gpu(&u, d);
    let gpu = myelin_cuda::ops::dot(&gu, &[1], &[], &gu, &[1], &[]).unwrap();
    assert_close("u8 dot wraps", &cpu, &gpu, 0.0, 0.0);
}

#[test]
fn cpu_only_ops_name_the_device_in_their_error() {
    let Some(d) = gpu() else { return };
    let g = to_gpu(&uniform(10, &[4], 0.0, 1.0, DType::F32), d);
    let e = myelin_cpu::unary::unary(UnaryOp::Exp, &g).unwrap_err();
    assert!(e.message().contains("{:cuda, 0}"), "{e}");
}
