//! Tests of `conv` and its gradients against direct loops, and finite
//! differences; plus an ignored benchmark of the target CNN's convolutions.

use super::test_support::{assert_close, indices, offset, random, random_tensor, tensor, values};
use super::*;
use half::{bf16, f16};
use myelin_core::shape::conv::conv_output_shape;

fn s(d: &[usize]) -> Shape {
    Shape::new(d.to_vec())
}

/// Calls `f(x_index, w_index, out_index)` for every product the
/// convolution sums, straight from its definition.
fn visit(x: &[usize], w: &[usize], spec: &ConvSpec, mut f: impl FnMut(usize, usize, usize)) {
    let out = conv_output_shape(&s(x), &s(w), spec).unwrap();
    let out = out.dims();
    let (cg, og) = (w[1], w[0] / spec.groups);
    for n in 0..x[0] {
        for o in 0..w[0] {
            for opos in indices(&out[2..]) {
                for ci in 0..cg {
                    let c = (o / og) * cg + ci;
                    for kpos in indices(&w[2..]) {
                        let mut ipos = vec![];
                        for d in 0..opos.len() {
                            let v = (opos[d] * spec.strides[d] + kpos[d] * spec.kernel_dilation[d]) as isize
                                - spec.padding[d].0 as isize;
                            let dil = spec.input_dilation[d] as isize;
                            if v >= 0 && v % dil == 0 && ((v / dil) as usize) < x[d + 2] {
                                ipos.push((v / dil) as usize);
                            }
                        }
                        if ipos.len() == opos.len() {
                            let xi = offset(x, &[vec![n, c], ipos].concat());
                            let wi = offset(w, &[vec![o, ci], kpos.clone()].concat());
                            let oi = offset(out, &[vec![n, o], opos.clone()].concat());
                            f(xi, wi, oi);
                        }
                    }
                }
            }
        }
    }
}

/// The three results of the direct loops: output, input and kernel gradients.
fn reference(x: &[usize], xv: &[f64], w: &[usize], wv: &[f64], dy: &[f64], spec: &ConvSpec) -> [Vec<f64>; 3] {
    let mut out = vec![0.0; dy.len()];
    let mut dx = vec![0.0; xv.len()];
    let mut dw = vec![0.0; wv.len()];
    visit(x, w, spec, |xi, wi, oi| {
        out[oi] += xv[xi] * wv[wi];
        dx[xi] += dy[oi] * wv[wi];
        dw[wi] += dy[oi] * xv[xi];
    });
    [out, dx, dw]
}

/// Checks the three kernels against the direct loops, in f64 and f32.
fn check(x: &[usize], w: &[usize], spec: &ConvSpec) {
    let (xt, xv) = random_tensor(x, 1);
    let (wt, wv) = random_tensor(w, 2);
    let out_shape = conv_output_shape(&s(x), &s(w), spec).unwrap();
    let (dyt, dyv) = random_tensor(out_shape.dims(), 3);
    let [out, dx, dw] = reference(x, &xv, w, &wv, &dyv, spec);
    let what = format!("x {x:?} w {w:?} {spec:?}");
    let y = conv(&xt, &wt, spec).unwrap();
    assert_eq!(y.shape(), &out_shape);
    assert_close(&values(&y), &out, 1e-12, &format!("conv {what}"));
    let g = conv_input_grad(&dyt, &wt, &s(x), spec).unwrap();
    assert_close(&values(&g), &dx, 1e-12, &format!("input grad {what}"));
    let g = conv_kernel_grad(&xt, &dyt, &s(w), spec).unwrap();
    assert_close(&values(&g), &dw, 1e-12, &format!("kernel grad {what}"));
    // f32 through the same paths.
    let (x32, w32, dy32) = (
        tensor::<f32>(x, &xv),
        tensor::<f32>(w, &wv),
        tensor::<f32>(out_shape.dims(), &dyv),
    );
    let y = conv(&x32, &w32, spec).unwrap();
    assert_eq!(y.dtype(), DType::F32);
    assert_close(&values(&y), &out, 1e-4, &format!("f32 conv {what}"));
    let g = conv_input_grad(&dy32, &w32, &s(x), spec).unwrap();
    assert_close(&values(&g), &dx, 1e-4, &format!("f32 input grad {what}"));
    let g = conv_kernel_grad(&x32, &dy32, &s(w), spec).unwrap();
    assert_close(&values(&g), &dw, 1e-4, &format!("f32 kernel grad {what}"));
}

fn spec(strides: &[usize], padding: &[(usize, usize)], kernel_dilation: &[usize], groups: usize) -> ConvSpec {
    ConvSpec {
        strides: strides.to_vec(),
        padding: padding.to_vec(),
        input_dilation: vec![1; strides.len()],
        kernel_dilation: kernel_dilation.to_vec(),
        groups,
    }
}

#[test]
fn one_dimensional() {
    check(&[2, 3, 9], &[4, 3, 3], &ConvSpec::new(1));
    check(&[2, 3, 9], &[4, 3, 3], &spec(&[2], &[(1, 2)], &[2], 1));
    check(&[3, 4, 8], &[6, 2, 2], &spec(&[3], &[(0, 1)], &[1], 2));
}

#[test]
fn two_dimensional_with_strides_padding_and_dilation() {
    check(&[2, 3, 6, 5], &[4, 3, 3, 3], &ConvSpec::new(2));
    check(
        &[3, 4, 7, 6],
        &[6, 2, 3, 2],
        &spec(&[1, 2], &[(1, 0), (2, 1)], &[1, 1], 2),
    );
    check(
        &[2, 2, 9, 8],
        &[3, 2, 2, 3],
        &spec(&[2, 1], &[(0, 0), (1, 1)], &[3, 2], 1),
    );
    // Padding wider than the kernel: whole rows and segments of padding.
    check(
        &[1, 2, 3, 3],
        &[2, 2, 2, 2],
        &spec(&[1, 1], &[(3, 2), (0, 4)], &[1, 1], 1),
    );
}

#[test]
fn groups_and_depthwise() {
    // Depthwise with channel multiplier 2.
    check(
        &[2, 4, 6, 6],
        &[8, 1, 3, 3],
        &spec(&[1, 1], &[(1, 1), (1, 1)], &[1, 1], 4),
    );
    check(
        &[2, 6, 5, 5],
        &[3, 2, 2, 2],
        &spec(&[1, 1], &[(0, 0), (0, 0)], &[1, 1], 3),
    );
}

#[test]
fn input_dilation() {
    let mut sp = spec(&[1, 2], &[(1, 1), (0, 2)], &[1, 2], 1);
    sp.input_dilation = vec![2, 3];
    check(&[2, 3, 4, 5], &[2, 3, 3, 2], &sp);
    let mut sp = ConvSpec::new(1);
    sp.input_dilation = vec![2];
    sp.padding = vec![(2, 2)];
    check(&[1, 2, 5], &[3, 2, 3], &sp);
}

#[test]
fn three_dimensional() {
    check(&[2, 2, 4, 5, 3], &[3, 2, 2, 3, 2], &ConvSpec::new(3));
    check(
        &[1, 4, 5, 4, 6],
        &[4, 2, 3, 2, 2],
        &spec(&[1, 2, 1], &[(1, 1), (0, 1), (2, 0)], &[1, 1, 2], 2),
    );
}

#[test]
fn pointwise_fast_path_and_strided_one_by_one() {
    check(&[3, 5, 4, 4], &[7, 5, 1, 1], &ConvSpec::new(2));
    check(
        &[3, 6, 4, 4],
        &[6, 2, 1, 1],
        &spec(&[1, 1], &[(0, 0), (0, 0)], &[1, 1], 3),
    );
    check(
        &[2, 5, 5, 4],
        &[7, 5, 1, 1],
        &spec(&[2, 2], &[(0, 0), (0, 0)], &[1, 1], 1),
    );
    check(&[2, 3, 6], &[2, 3, 1], &ConvSpec::new(1));
}

#[test]
fn images_side_by_side_in_uneven_chunks() {
    // 400 positions: 3 images per GEMM, so chunks of 3 and 2.
    check(&[5, 2, 22, 22], &[2, 2, 3, 3], &ConvSpec::new(2));
    check(
        &[5, 4, 21, 21],
        &[4, 2, 2, 2],
        &spec(&[1, 1], &[(1, 0), (0, 1)], &[1, 1], 2),
    );
}

#[test]
fn batches_large_enough_to_use_threads() {
    // 8 images × 8 × 27 × 196 multiply-adds, above PARALLEL_WORK.
    check(&[8, 3, 16, 16], &[8, 3, 3, 3], &ConvSpec::new(2));
    check(&[7, 4, 12, 12], &[8, 4, 1, 1], &ConvSpec::new(2));
}

#[test]
fn empty_batches_and_channels() {
    check(&[0, 3, 5, 5], &[2, 3, 3, 3], &ConvSpec::new(2));
    check(&[2, 0, 5, 5], &[2, 0, 3, 3], &ConvSpec::new(2));
    check(&[2, 3, 5, 5], &[0, 3, 3, 3], &ConvSpec::new(2));
}

/// Finite differences of `L = sum(conv(x, w) * r)` in f64.
#[test]
fn gradients_match_finite_differences() {
    let (x, w) = ([2, 2, 5, 4], [4, 1, 3, 2]);
    let mut sp = spec(&[2, 1], &[(1, 1), (1, 0)], &[1, 2], 2);
    sp.input_dilation = vec![1, 2];
    let (xt, mut xv) = random_tensor(&x, 4);
    let (wt, mut wv) = random_tensor(&w, 5);
    let out = conv_output_shape(&s(&x), &s(&w), &sp).unwrap();
    let (rt, rv) = random_tensor(out.dims(), 6);
    let loss = |xv: &[f64], wv: &[f64]| -> f64 {
        let y = conv(&tensor::<f64>(&x, xv), &tensor::<f64>(&w, wv), &sp).unwrap();
        values(&y).iter().zip(&rv).map(|(a, b)| a * b).sum()
    };
    let eps = 1e-6;
    let dx = values(&conv_input_grad(&rt, &wt, &s(&x), &sp).unwrap());
    for i in 0..xv.len() {
        let v = xv[i];
        xv[i] = v + eps;
        let up = loss(&xv, &wv);
        xv[i] = v - eps;
        let down = loss(&xv, &wv);
        xv[i] = v;
        assert!(((up - down) / (2.0 * eps) - dx[i]).abs() < 1e-6, "dx[{i}]");
    }
    let dw = values(&conv_kernel_grad(&xt, &rt, &s(&w), &sp).unwrap());
    for i in 0..wv.len() {
        let v = wv[i];
        wv[i] = v + eps;
        let up = loss(&xv, &wv);
        wv[i] = v - eps;
        let down = loss(&xv, &wv);
        wv[i] = v;
        assert!(((up - down) / (2.0 * eps) - dw[i]).abs() < 1e-6, "dw[{i}]");
    }
}

#[test]
fn types_half_mixed_and_rejected() {
    let (x, w) = ([1, 2, 4, 4], [3, 2, 2, 2]);
    let (xv, wv) = (random(32, 7), random(24, 8));
    let want = values(
        &conv(
            &tensor::<f64>(&x, &xv),
            &tensor::<f64>(&w, &wv),
            &ConvSpec::new(2),
        )
        .unwrap(),
    );
    let y = conv(
        &tensor::<f16>(&x, &xv),
        &tensor::<f16>(&w, &wv),
        &ConvSpec::new(2),
    )
    .unwrap();
    assert_eq!(y.dtype(), DType::F16);
    assert_close(&values(&y), &want, 1e-2, "f16");
    let y = conv(
        &tensor::<bf16>(&x, &xv),
        &tensor::<bf16>(&w, &wv),
        &ConvSpec::new(2),
    )
    .unwrap();
    assert_eq!(y.dtype(), DType::BF16);
    assert_close(&values(&y), &want, 5e-2, "bf16");
    let y = conv(
        &tensor::<f32>(&x, &xv),
        &tensor::<f64>(&w, &wv),
        &ConvSpec::new(2),
    )
    .unwrap();
    assert_eq!(y.dtype(), DType::F64);
    assert_close(&values(&y), &want, 1e-6, "f32 with f64");
    // An integer operand is promoted as Nx does; two integers are rejected
    // by all three, naming the op and the types.
    let xi = tensor::<i32>(&x, &xv);
    let y = conv(&xi, &tensor::<f32>(&w, &wv), &ConvSpec::new(2)).unwrap();
    assert_eq!(y.dtype(), DType::F32);
    let e = conv(&xi, &tensor::<u8>(&w, &wv), &ConvSpec::new(2)).unwrap_err();
    assert!(matches!(e, Error::Argument(_)));
    assert_eq!(
        e.message(),
        "conv: expected floating-point tensors, got types {:s, 32} and {:u, 8}; convert with as_type first"
    );
    let dy = tensor::<u8>(&[1, 3, 3, 3], &[0.0; 27]);
    let e = conv_input_grad(&dy, &tensor::<i64>(&w, &wv), &s(&x), &ConvSpec::new(2)).unwrap_err();
    assert!(
        e.message()
            .starts_with("conv_input_grad: expected floating-point"),
        "{e}"
    );
    let e = conv_kernel_grad(&xi, &dy, &s(&w), &ConvSpec::new(2)).unwrap_err();
    assert!(
        e.message()
            .starts_with("conv_kernel_grad: expected floating-point"),
        "{e}"
    );
}

#[test]
fn gradient_shape_errors() {
    let (x, w) = ([1, 2, 4, 4], [3, 2, 2, 2]);
    let (wt, _) = random_tensor(&w, 1);
    let (xt, _) = random_tensor(&x, 2);
    let (bad, _) = random_tensor(&[1, 3, 2, 2], 3);
    let e = conv_input_grad(&bad, &wt, &s(&x), &ConvSpec::new(2)).unwrap_err();
    assert_eq!(
        e.message(),
        "conv_input_grad: expected the output gradient to have the convolution's output shape \
         {1, 3, 3, 3}, got {1, 3, 2, 2}"
    );
    let e = conv_kernel_grad(&xt, &bad, &s(&w), &ConvSpec::new(2)).unwrap_err();
    assert!(
        e.message()
            .starts_with("conv_kernel_grad: expected the output gradient"),
        "{e}"
    );
    let e = conv_kernel_grad(&xt, &bad, &s(&[3, 3, 2, 2]), &ConvSpec::new(2)).unwrap_err();
    assert!(
        e.message()
            .starts_with("conv_kernel_grad: input shape {1, 2, 4, 4} has 2 channels"),
        "{e}"
    );
    let e = conv_input_grad(&bad, &wt, &s(&[1, 2, 4]), &ConvSpec::new(1)).unwrap_err();
    assert!(
        e.message()
            .starts_with("conv_input_grad: expected a kernel of rank 3"),
        "{e}"
    );
    let e = conv(&xt, &wt, &ConvSpec::new(1)).unwrap_err();
    assert!(
        e.message()
            .starts_with("conv: expected strides to have 2 entries"),
        "{e}"
    );
}

/// The target CNN's two convolutions at batch 128, forward and backward.
/// `cargo test --release -p myelin_cpu bench_cnn_convs -- --ignored --nocapture`
#[test]
#[ignore]
fn bench_cnn_convs() {
    let time = |what: &str, f: &mut dyn FnMut()| {
        f();
        // The minimum of many runs: the machine is shared, so means are noisy.
        let mut times: Vec<f64> = (0..30)
            .map(|_| {
                let start = std::time::Instant::now();
                f();
                start.elapsed().as_secs_f64() * 1e3
            })
            .collect();
        times.sort_by(f64::total_cmp);
        println!(
            "{what:>24}: min {:7.2} ms, median {:7.2} ms",
            times[0],
            times[times.len() / 2]
        );
        times[0]
    };
    let v = |dims: &[usize], seed| tensor::<f32>(dims, &random(dims.iter().product(), seed));
    let sp = ConvSpec::new(2);
    let (x1, w1) = (v(&[128, 1, 28, 28], 1), v(&[32, 1, 3, 3], 2));
    let (x2, w2) = (v(&[128, 32, 13, 13], 3), v(&[64, 32, 3, 3], 4));
    let (dy1, dy2) = (v(&[128, 32, 26, 26], 5), v(&[128, 64, 11, 11], 6));
    let f1 = time("conv1 forward", &mut || drop(conv(&x1, &w1, &sp).unwrap()));
    let k1 = time("conv1 kernel grad", &mut || {
        drop(conv_kernel_grad(&x1, &dy1, w1.shape(), &sp).unwrap())
    });
    let f2 = time("conv2 forward", &mut || drop(conv(&x2, &w2, &sp).unwrap()));
    let i2 = time("conv2 input grad", &mut || {
        drop(conv_input_grad(&dy2, &w2, x2.shape(), &sp).unwrap())
    });
    let k2 = time("conv2 kernel grad", &mut || {
        drop(conv_kernel_grad(&x2, &dy2, w2.shape(), &sp).unwrap())
    });
    println!(
        "forward {:.2} ms, backward {:.2} ms (threads {})",
        f1 + f2,
        k1 + i2 + k2,
        num_threads()
    );
    // The column copies of conv2 alone, on this thread.
    let g2 = super::im2col::Geometry::new(32, &[13, 13], &[3, 3], &[11, 11], &sp);
    let xs: Vec<f32> = random(128 * 32 * 169, 11).iter().map(|&v| v as f32).collect();
    let mut col = vec![0f32; 288 * 968];
    time("conv2 im2col x128", &mut || {
        for (i, image) in xs.chunks(32 * 169).enumerate() {
            g2.im2col(image, &mut col, 968, (i % 8) * 121);
        }
    });
    let mut image = vec![0f32; 32 * 169];
    time("conv2 col2im x128", &mut || {
        for i in 0..128 {
            g2.col2im(&col, 968, (i % 8) * 121, &mut image);
        }
    });
    // The two 2×2 max pools that follow the convolutions.
    use crate::pool::{max_pool_grad, pool, PoolKind};
    let (p1, p2) = (v(&[128, 32, 26, 26], 7), v(&[128, 64, 11, 11], 8));
    let (g1, g2) = (v(&[128, 32, 13, 13], 9), v(&[128, 64, 5, 5], 10));
    let pad = [(0, 0); 2];
    time("max pools forward", &mut || {
        drop(pool(PoolKind::Max, &p1, &[2, 2], &[2, 2], &pad).unwrap());
        drop(pool(PoolKind::Max, &p2, &[2, 2], &[2, 2], &pad).unwrap());
    });
    time("max pools backward", &mut || {
        drop(max_pool_grad(&p1, &g1, &[2, 2], &[2, 2], &pad).unwrap());
        drop(max_pool_grad(&p2, &g2, &[2, 2], &[2, 2], &pad).unwrap());
    });
}
