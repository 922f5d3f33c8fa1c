//! Tests of pooling and its gradients against direct loops over padded
//! windows, finite differences, and hand-worked examples.

use super::*;
use crate::conv::test_support::{assert_close, indices, offset, random, random_tensor, tensor, values};
use half::{bf16, f16};

fn s(d: &[usize]) -> Shape {
    Shape::new(d.to_vec())
}

/// For every output element, the input index (None for padding) of every
/// window element, in row-major window order, from the definition.
fn windows(
    x: &[usize],
    window: &[usize],
    strides: &[usize],
    padding: &[(usize, usize)],
) -> Vec<Vec<Option<usize>>> {
    let out = pool_output_shape("test", &s(x), window, strides, padding).unwrap();
    let mut all = vec![];
    for lead in indices(&out.dims()[..2]) {
        for o in indices(&out.dims()[2..]) {
            let members = indices(window)
                .into_iter()
                .map(|k| {
                    let pos: Vec<isize> = (0..k.len())
                        .map(|d| (o[d] * strides[d] + k[d]) as isize - padding[d].0 as isize)
                        .collect();
                    let inside = pos.iter().zip(&x[2..]).all(|(&p, &n)| p >= 0 && (p as usize) < n);
                    let pos: Vec<usize> = pos.iter().map(|&p| p as usize).collect();
                    inside.then(|| offset(x, &[lead.clone(), pos].concat()))
                })
                .collect();
            all.push(members);
        }
    }
    all
}

/// Output, max gradient and average gradient, from the definition.
fn reference(
    x: &[usize],
    xv: &[f64],
    dy: &[f64],
    window: &[usize],
    strides: &[usize],
    padding: &[(usize, usize)],
) -> [Vec<f64>; 4] {
    let size: usize = window.iter().product();
    let (mut max, mut avg) = (vec![], vec![]);
    let (mut dmax, mut davg) = (vec![0.0; xv.len()], vec![0.0; xv.len()]);
    for (o, members) in windows(x, window, strides, padding).iter().enumerate() {
        let value = |m: &Option<usize>| m.map_or(f64::NEG_INFINITY, |i| xv[i]);
        let best = members.iter().map(value).fold(f64::NEG_INFINITY, f64::max);
        max.push(best);
        if let Some(Some(i)) = members.iter().find(|m| m.is_some() && value(m) == best) {
            dmax[*i] += dy[o];
        }
        avg.push(members.iter().flatten().map(|&i| xv[i]).sum::<f64>() / size as f64);
        for &i in members.iter().flatten() {
            davg[i] += dy[o] / size as f64;
        }
    }
    [max, avg, dmax, davg]
}

fn check(x: &[usize], window: &[usize], strides: &[usize], padding: &[(usize, usize)]) {
    let (xt, xv) = random_tensor(x, 11);
    let out = pool_output_shape("test", &s(x), window, strides, padding).unwrap();
    let (dyt, dyv) = random_tensor(out.dims(), 12);
    let [max, avg, dmax, davg] = reference(x, &xv, &dyv, window, strides, padding);
    let what = format!("x {x:?} window {window:?} strides {strides:?} padding {padding:?}");
    let y = pool(PoolKind::Max, &xt, window, strides, padding).unwrap();
    assert_eq!(y.shape(), &out);
    assert_close(&values(&y), &max, 0.0, &format!("max {what}"));
    let y = pool(PoolKind::Avg, &xt, window, strides, padding).unwrap();
    assert_close(&values(&y), &avg, 1e-12, &format!("avg {what}"));
    let g = max_pool_grad(&xt, &dyt, window, strides, padding).unwrap();
    assert_close(&values(&g), &dmax, 1e-12, &format!("max grad {what}"));
    let g = avg_pool_grad(&dyt, &s(x), window, strides, padding).unwrap();
    assert_close(&values(&g), &davg, 1e-12, &format!("avg grad {what}"));
    // f32 takes the same paths (and, for tiling 2×2 windows on AVX-512
    // CPUs, the f32 kernels).
    let x32 = tensor::<f32>(x, &xv);
    let y = pool(PoolKind::Avg, &x32, window, strides, padding).unwrap();
    assert_eq!(y.dtype(), DType::F32);
    assert_close(&values(&y), &avg, 1e-5, &format!("f32 avg {what}"));
    let y = pool(PoolKind::Max, &x32, window, strides, padding).unwrap();
    assert_close(&values(&y), &max, 1e-6, &format!("f32 max {what}"));
    let g = max_pool_grad(&x32, &tensor::<f32>(out.dims(), &dyv), window, strides, padding).unwrap();
    assert_close(&values(&g), &dmax, 1e-6, &format!("f32 max grad {what}"));
}

#[test]
fn one_two_and_three_dimensional() {
    check(&[2, 3, 9], &[3], &[2], &[(1, 1)]);
    check(&[2, 3, 8, 8], &[2, 2], &[2, 2], &[(0, 0), (0, 0)]);
    check(&[2, 3, 2, 4, 6], &[1, 2, 2], &[1, 2, 2], &[(0, 0); 3]);
    // Odd sizes: a last row or column that no window reads.
    check(&[1, 2, 5, 6], &[2, 2], &[2, 2], &[(0, 0), (0, 0)]);
    check(&[3, 4, 11, 11], &[2, 2], &[2, 2], &[(0, 0), (0, 0)]);
    check(&[2, 1, 4, 35], &[2, 2], &[2, 2], &[(0, 0), (0, 0)]);
    check(&[2, 3, 40, 36], &[2, 2], &[2, 2], &[(0, 0), (0, 0)]);
    check(&[1, 2, 7, 6], &[3, 2], &[2, 1], &[(1, 2), (0, 1)]);
    check(
        &[2, 2, 4, 5, 3],
        &[2, 3, 2],
        &[1, 2, 1],
        &[(0, 1), (1, 1), (0, 0)],
    );
    // Windows wholly in padding: max gives -inf, avg 0, no gradient.
    check(&[1, 1, 2, 2], &[2, 2], &[1, 3], &[(2, 1), (0, 3)]);
}

#[test]
fn large_enough_to_use_threads() {
    check(&[16, 8, 26, 26], &[2, 2], &[2, 2], &[(0, 0), (0, 0)]);
}

#[test]
fn axon_semantics_by_hand() {
    let x = tensor::<f32>(&[1, 1, 3], &[1.0, 2.0, 3.0]);
    // Average includes padding in the divisor (Nx.window_mean).
    let y = pool(PoolKind::Avg, &x, &[2], &[1], &[(1, 0)]).unwrap();
    assert_eq!(values(&y), vec![0.5, 1.5, 2.5]);
    let x = tensor::<f64>(&[1, 1, 2], &[-1.0, -2.0]);
    let y = pool(PoolKind::Max, &x, &[2], &[1], &[(1, 1)]).unwrap();
    assert_eq!(values(&y), vec![-1.0, -1.0, -2.0]);
    // Ties: the gradient goes to the first maximum only.
    let x = tensor::<f64>(&[1, 1, 2, 2], &[5.0, 5.0, 5.0, 1.0]);
    let dy = tensor::<f64>(&[1, 1, 1, 1], &[3.0]);
    let g = max_pool_grad(&x, &dy, &[2, 2], &[2, 2], &[(0, 0), (0, 0)]).unwrap();
    assert_eq!(values(&g), vec![3.0, 0.0, 0.0, 0.0]);
    // NaN propagates and takes the gradient.
    let x = tensor::<f32>(&[1, 1, 3], &[1.0, f64::NAN, 2.0]);
    let y = pool(PoolKind::Max, &x, &[3], &[1], &[(0, 0)]).unwrap();
    assert!(values(&y)[0].is_nan());
    let g = max_pool_grad(&x, &tensor::<f32>(&[1, 1, 1], &[1.0]), &[3], &[1], &[(0, 0)]).unwrap();
    assert_eq!(values(&g), vec![0.0, 1.0, 0.0]);
}

#[test]
fn disjoint_windows_with_ties_and_nan() {
    // 2×2 stride-2 windows take the disjoint gradient path, its 2×2
    // comparison tree in the interior and the per-window scan at the
    // padded edge; values drawn from {0, 1, 2} tie in almost every window.
    let x = [2, 3, 6, 7];
    let xv: Vec<f64> = (0..2 * 3 * 6 * 7).map(|i| ((i * 7 + i / 5) % 3) as f64).collect();
    let padding = [(0, 0), (1, 0)];
    let out = pool_output_shape("test", &s(&x), &[2, 2], &[2, 2], &padding).unwrap();
    let (dyt, dyv) = random_tensor(out.dims(), 5);
    let [max, _, dmax, _] = reference(&x, &xv, &dyv, &[2, 2], &[2, 2], &padding);
    let xt = tensor::<f64>(&x, &xv);
    assert_eq!(
        values(&pool(PoolKind::Max, &xt, &[2, 2], &[2, 2], &padding).unwrap()),
        max
    );
    let g = max_pool_grad(&xt, &dyt, &[2, 2], &[2, 2], &padding).unwrap();
    assert_eq!(values(&g), dmax);
    // The first NaN of a window takes its gradient, wherever it sits.
    for (data, want) in [
        ([1.0, f64::NAN, f64::NAN, 3.0], [0.0, 1.0, 0.0, 0.0]),
        ([1.0, 2.0, f64::NAN, 3.0], [0.0, 0.0, 1.0, 0.0]),
        ([4.0, 2.0, 4.0, f64::NAN], [0.0, 0.0, 0.0, 1.0]),
    ] {
        let x = tensor::<f32>(&[1, 1, 2, 2], &data);
        let y = pool(PoolKind::Max, &x, &[2, 2], &[2, 2], &[(0, 0); 2]).unwrap();
        assert!(values(&y)[0].is_nan(), "{data:?}");
        let g = max_pool_grad(
            &x,
            &tensor::<f32>(&[1, 1, 1, 1], &[1.0]),
            &[2, 2],
            &[2, 2],
            &[(0, 0); 2],
        );
        assert_eq!(values(&g.unwrap()), want.to_vec(), "{data:?}");
    }
}

#[test]
fn gradients_match_finite_differences() {
    let (x, window, strides, padding) = ([1, 2, 5, 4], [2, 3], [2, 1], [(1, 0), (1, 1)]);
    let (xt, mut xv) = random_tensor(&x, 21);
    let out = pool_output_shape("test", &s(&x), &window, &strides, &padding).unwrap();
    let (rt, rv) = random_tensor(out.dims(), 22);
    for kind in [PoolKind::Max, PoolKind::Avg] {
        let loss = |xv: &[f64]| -> f64 {
            let y = pool(kind, &tensor::<f64>(&x, xv), &window, &strides, &padding).unwrap();
            values(&y).iter().zip(&rv).map(|(a, b)| a * b).sum()
        };
        let grad = match kind {
            PoolKind::Max => max_pool_grad(&xt, &rt, &window, &strides, &padding),
            PoolKind::Avg => avg_pool_grad(&rt, &s(&x), &window, &strides, &padding),
        };
        let grad = values(&grad.unwrap());
        let eps = 1e-7;
        for i in 0..xv.len() {
            let v = xv[i];
            xv[i] = v + eps;
            let up = loss(&xv);
            xv[i] = v - eps;
            let down = loss(&xv);
            xv[i] = v;
            assert!(
                ((up - down) / (2.0 * eps) - grad[i]).abs() < 1e-6,
                "{kind:?} dx[{i}]"
            );
        }
    }
}

#[test]
fn adaptive_pooling_and_gradients() {
    let x = [2, 3, 7, 5];
    let (xt, xv) = random_tensor(&x, 31);
    let size = [3, 2];
    let (dyt, dyv) = random_tensor(&[2, 3, 3, 2], 32);
    let range = |i: usize, n: usize, o: usize| (i * n / o)..((i + 1) * n).div_ceil(o);
    let (mut max, mut avg) = (vec![], vec![]);
    let (mut dmax, mut davg) = (vec![0.0; xv.len()], vec![0.0; xv.len()]);
    for lead in indices(&[2, 3]) {
        for o in indices(&size) {
            let members: Vec<usize> = range(o[0], 7, 3)
                .flat_map(|i| range(o[1], 5, 2).map(move |j| (i, j)))
                .map(|(i, j)| offset(&x, &[lead[0], lead[1], i, j]))
                .collect();
            let at = offset(&[2, 3, 3, 2], &[lead.clone(), o].concat());
            let best = members
                .iter()
                .copied()
                .max_by(|&a, &b| xv[a].total_cmp(&xv[b]))
                .unwrap();
            max.push(xv[best]);
            dmax[best] += dyv[at];
            avg.push(members.iter().map(|&i| xv[i]).sum::<f64>() / members.len() as f64);
            members
                .iter()
                .for_each(|&i| davg[i] += dyv[at] / members.len() as f64);
        }
    }
    let y = adaptive_pool(PoolKind::Max, &xt, &size).unwrap();
    assert_eq!(y.dims(), &[2, 3, 3, 2]);
    assert_close(&values(&y), &max, 0.0, "adaptive max");
    let y = adaptive_pool(PoolKind::Avg, &xt, &size).unwrap();
    assert_close(&values(&y), &avg, 1e-12, "adaptive avg");
    assert_close(
        &values(&adaptive_max_pool_grad(&xt, &dyt).unwrap()),
        &dmax,
        1e-12,
        "adaptive max grad",
    );
    assert_close(
        &values(&adaptive_avg_pool_grad(&dyt, &s(&x)).unwrap()),
        &davg,
        1e-12,
        "adaptive avg grad",
    );
    // Global average pooling of a 1-d input.
    let y = adaptive_pool(
        PoolKind::Avg,
        &tensor::<f32>(&[1, 1, 4], &[1.0, 2.0, 3.0, 6.0]),
        &[1],
    )
    .unwrap();
    assert_eq!(values(&y), vec![3.0]);
}

#[test]
fn half_types_compute_in_f32() {
    let x = [2, 2, 4, 4];
    let xv = random(64, 41);
    let want = values(
        &pool(
            PoolKind::Avg,
            &tensor::<f64>(&x, &xv),
            &[2, 2],
            &[2, 2],
            &[(0, 0); 2],
        )
        .unwrap(),
    );
    let y = pool(
        PoolKind::Avg,
        &tensor::<f16>(&x, &xv),
        &[2, 2],
        &[2, 2],
        &[(0, 0); 2],
    )
    .unwrap();
    assert_eq!(y.dtype(), DType::F16);
    assert_close(&values(&y), &want, 2e-3, "f16 avg");
    let xb = tensor::<bf16>(&x, &xv);
    let y = pool(PoolKind::Max, &xb, &[2, 2], &[2, 2], &[(0, 0); 2]).unwrap();
    assert_eq!(y.dtype(), DType::BF16);
    let dy = tensor::<bf16>(&[2, 2, 2, 2], &[1.0; 16]);
    let g = max_pool_grad(&xb, &dy, &[2, 2], &[2, 2], &[(0, 0); 2]).unwrap();
    assert_eq!((g.dtype(), values(&g).iter().sum::<f64>()), (DType::BF16, 16.0));
}

#[test]
fn errors_name_the_op() {
    let x = tensor::<i32>(&[1, 1, 4], &[1.0, 2.0, 3.0, 4.0]);
    let e = pool(PoolKind::Max, &x, &[2], &[2], &[(0, 0)]).unwrap_err();
    assert!(matches!(e, Error::Argument(_)));
    assert_eq!(
        e.message(),
        "max_pool: expected a floating-point tensor, got type {:s, 32}; convert with as_type first"
    );
    let e = adaptive_pool(PoolKind::Avg, &x, &[2]).unwrap_err();
    assert!(
        e.message()
            .starts_with("adaptive_avg_pool: expected a floating-point"),
        "{e}"
    );
    let (xf, _) = random_tensor(&[1, 1, 4], 1);
    let e = pool(PoolKind::Avg, &xf, &[5], &[1], &[(0, 0)]).unwrap_err();
    assert!(
        e.message().starts_with("avg_pool: window [5] does not fit"),
        "{e}"
    );
    let e = pool(PoolKind::Avg, &xf, &[2, 2], &[1], &[(0, 0)]).unwrap_err();
    assert!(
        e.message()
            .starts_with("avg_pool: expected window to have 1 entries"),
        "{e}"
    );
    let (dy, _) = random_tensor(&[1, 1, 3], 2);
    let e = max_pool_grad(&xf, &dy, &[2], &[2], &[(0, 0)]).unwrap_err();
    assert_eq!(
        e.message(),
        "max_pool_grad: expected the output gradient to have the pooling's output shape {1, 1, 2}, got {1, 1, 3}"
    );
    let e = avg_pool_grad(&dy, &s(&[1, 1, 4]), &[2], &[2], &[(0, 0)]).unwrap_err();
    assert!(
        e.message()
            .starts_with("avg_pool_grad: expected the output gradient"),
        "{e}"
    );
    let e = avg_pool_grad(
        &tensor::<u8>(&[1, 1, 2], &[1.0, 1.0]),
        &s(&[1, 1, 4]),
        &[2],
        &[2],
        &[(0, 0)],
    );
    assert!(e
        .unwrap_err()
        .message()
        .starts_with("avg_pool_grad: expected a floating-point"));
    let e = adaptive_max_pool_grad(&xf, &tensor::<f64>(&[1, 2, 2], &[0.0; 4])).unwrap_err();
    assert!(
        e.message()
            .starts_with("adaptive_max_pool_grad: expected the output gradient"),
        "{e}"
    );
    let e = adaptive_avg_pool_grad(&tensor::<f64>(&[1, 1, 5], &[0.0; 5]), &s(&[1, 1, 4])).unwrap_err();
    assert!(
        e.message()
            .starts_with("adaptive_avg_pool_grad: expected each output size"),
        "{e}"
    );
    let e = adaptive_avg_pool_grad(&tensor::<f64>(&[2], &[0.0; 2]), &s(&[1, 1, 4])).unwrap_err();
    assert!(
        e.message()
            .starts_with("adaptive_avg_pool_grad: expected output_size to have 1 entries"),
        "{e}"
    );
    let e = pool(
        PoolKind::Max,
        &tensor::<f32>(&[4], &[0.0; 4]),
        &[2],
        &[1],
        &[(0, 0)],
    )
    .unwrap_err();
    assert!(
        e.message()
            .starts_with("max_pool: expected the input to have rank 3 to 5"),
        "{e}"
    );
}

/// The target CNN's first 2×2 max pool at batch 128, per window.
/// `cargo test --release -p myelin_cpu bench_max_pool -- --ignored --nocapture`
#[test]
#[ignore]
fn bench_max_pool() {
    let x = tensor::<f32>(&[128, 32, 26, 26], &random(128 * 32 * 26 * 26, 7));
    let dy = tensor::<f32>(&[128, 32, 13, 13], &random(128 * 32 * 13 * 13, 8));
    let pad = [(0, 0); 2];
    let windows = (128 * 32 * 13 * 13) as f64;
    let time = |what: &str, f: &dyn Fn()| {
        let best = (0..20)
            .map(|_| {
                let start = std::time::Instant::now();
                f();
                start.elapsed().as_secs_f64()
            })
            .fold(f64::INFINITY, f64::min);
        println!(
            "{what}: {:.2} ms, {:.1} ns per window",
            best * 1e3,
            best * 1e9 / windows
        );
    };
    time("forward", &|| {
        drop(pool(PoolKind::Max, &x, &[2, 2], &[2, 2], &pad).unwrap())
    });
    time("backward", &|| {
        drop(max_pool_grad(&x, &dy, &[2, 2], &[2, 2], &pad).unwrap())
    });
}

#[test]
fn max_pool_gradient_writes_every_element() {
    // The 2×2 row path writes its result without zero-filling it first. A
    // freed block of the result's size, full of NaN, is what the allocator
    // hands out next, so an element the gradient leaves unwritten shows.
    for dims in [[1, 2, 5, 6], [2, 1, 4, 35], [3, 4, 11, 11], [2, 3, 8, 8]] {
        let (xt, _) = random_tensor(&dims, 3);
        let x = as_type(&xt, DType::F32).unwrap();
        let out = pool_output_shape("test", &s(&dims), &[2, 2], &[2, 2], &[(0, 0); 2]).unwrap();
        let dy = as_type(&random_tensor(out.dims(), 4).0, DType::F32).unwrap();
        for _ in 0..3 {
            drop(std::hint::black_box(vec![f32::NAN; dims.iter().product()]));
            let g = max_pool_grad(&x, &dy, &[2, 2], &[2, 2], &[(0, 0); 2]).unwrap();
            assert!(values(&g).iter().all(|v| v.is_finite()), "{dims:?}");
        }
    }
}
