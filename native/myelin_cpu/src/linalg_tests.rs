//! Tests of `lu`, `triangular_solve` and `eigh`: the real-valued doctests
//! of Nx 0.7.2's `Nx.LinAlg` (whose expected values BinaryBackend printed),
//! properties on random matrices, batching, and every error path.
//!
//! Doctest values are f32 results printed as f64 digits; they are compared
//! here bit for bit after widening our f32 result to f64 (`assert_exact`),
//! which also checks the sign of zeros, since Nx prints -0.0 as "-0.0".

use super::*;
use crate::conv::test_support::{random, tensor, values};
use half::f16;

fn t32(dims: &[usize], v: &[f64]) -> Tensor {
    tensor::<f32>(dims, v)
}

fn t64(dims: &[usize], v: &[f64]) -> Tensor {
    tensor::<f64>(dims, v)
}

/// Bit-for-bit equality of `got` (widened to f64) with `want`.
fn assert_exact(got: &Tensor, want: &[f64], what: &str) {
    let g = values(got);
    assert_eq!(g.len(), want.len(), "{what}: lengths differ");
    for (i, (a, b)) in g.iter().zip(want).enumerate() {
        assert!(a.to_bits() == b.to_bits(), "{what}[{i}]: got {a:?}, want {b:?}");
    }
}

/// Largest |got - want|.
fn max_diff(got: &[f64], want: &[f64]) -> f64 {
    assert_eq!(got.len(), want.len());
    got.iter()
        .zip(want)
        .map(|(a, b)| (a - b).abs())
        .fold(0.0, f64::max)
}

/// Row-major (r×k)·(k×c).
fn mm(x: &[f64], y: &[f64], r: usize, k: usize, c: usize) -> Vec<f64> {
    let mut out = vec![0.0; r * c];
    for i in 0..r {
        for j in 0..c {
            out[i * c + j] = (0..k).map(|q| x[i * k + q] * y[q * c + j]).sum();
        }
    }
    out
}

fn transpose(x: &[f64], r: usize, c: usize) -> Vec<f64> {
    let mut out = vec![0.0; r * c];
    for i in 0..r {
        for j in 0..c {
            out[j * r + i] = x[i * c + j];
        }
    }
    out
}

fn assert_arg_error<T: std::fmt::Debug>(r: Result<T>, op: &str, needle: &str) {
    match r {
        Err(Error::Argument(m)) => {
            assert!(m.starts_with(op) && m.contains(needle), "unexpected message: {m}")
        }
        other => panic!("expected an argument error mentioning {needle:?}, got {other:?}"),
    }
}

// ---------------------------------------------------------------------------
// lu

#[test]
fn lu_doctests() {
    let (p, l, u) = lu(&t32(&[3, 3], &[1., 2., 3., 4., 5., 6., 7., 8., 9.])).unwrap();
    assert_exact(&p, &[0., 0., 1., 0., 1., 0., 1., 0., 0.], "p");
    assert_exact(
        &l,
        &[1., 0., 0., 0.5714285969734192, 1., 0., 0.1428571492433548, 2., 1.],
        "l",
    );
    assert_exact(
        &u,
        &[7., 8., 9., 0., 0.4285714328289032, 0.8571428656578064, 0., 0., 0.],
        "u",
    );

    let (p, l, u) = lu(&t32(&[3, 3], &[1., 0., 1., -1., 0., -1., 1., 1., 1.])).unwrap();
    assert_exact(&p, &[1., 0., 0., 0., 0., 1., 0., 1., 0.], "p");
    assert_exact(&l, &[1., 0., 0., 1., 1., 0., -1., 0., 1.], "l");
    assert_exact(&u, &[1., 0., 1., 0., 1., 0., 0., 0., 0.], "u");

    // The batched doctest (also the vectorized one, which devectorizes to it).
    let a = [
        9., 8., 7., 6., 5., 4., 3., 2., 1., -1., 0., -1., 1., 0., 1., 1., 1., 1.,
    ];
    let (p, l, u) = lu(&t32(&[2, 3, 3], &a)).unwrap();
    assert_exact(
        &p,
        &[
            1., 0., 0., 0., 1., 0., 0., 0., 1., 1., 0., 0., 0., 0., 1., 0., 1., 0.,
        ],
        "p",
    );
    #[rustfmt::skip]
    assert_exact(&l, &[1., 0., 0., 0.6666666865348816, 1., 0., 0.3333333432674408, 2., 1.,
                       1., 0., 0., -1., 1., 0., -1., 0., 1.], "l");
    #[rustfmt::skip]
    assert_exact(&u, &[9., 8., 7., 0., -0.3333333432674408, -0.6666666865348816, 0., 0., 0.,
                       -1., 0., -1., 0., 1., 0., 0., 0., 0.], "u");
    assert_eq!(p.dtype(), DType::F32);
}

/// Checks p·l·u = a with p a permutation, l unit lower and u upper.
fn check_plu(a: &[f64], p: &[f64], l: &[f64], u: &[f64], n: usize, tol: f64) {
    for r in 0..n {
        assert_eq!((0..n).filter(|&c| p[r * n + c] == 1.0).count(), 1, "p row {r}");
        assert_eq!((0..n).filter(|&c| p[c * n + r] == 1.0).count(), 1, "p column {r}");
        assert!((0..n).all(|c| p[r * n + c] == 0.0 || p[r * n + c] == 1.0));
        assert_eq!(l[r * n + r], 1.0, "l diagonal");
        for c in r + 1..n {
            assert_eq!(l[r * n + c], 0.0, "l above the diagonal");
            assert_eq!(u[c * n + r], 0.0, "u below the diagonal");
        }
    }
    let plu = mm(&mm(p, l, n, n, n), u, n, n, n);
    let d = max_diff(&plu, a);
    assert!(d <= tol, "|p·l·u - a| = {d} for n = {n}");
}

#[test]
fn lu_reconstructs_random_matrices() {
    for n in 1..=7 {
        for seed in 0..4 {
            let v = random(n * n, 100 + seed * 10 + n as u64);
            let (p, l, u) = lu(&t64(&[n, n], &v)).unwrap();
            check_plu(&v, &values(&p), &values(&l), &values(&u), n, 1e-12);
            let a32 = t32(&[n, n], &v);
            let (p, l, u) = lu(&a32).unwrap();
            assert_eq!(l.dtype(), DType::F32);
            check_plu(&values(&a32), &values(&p), &values(&l), &values(&u), n, 1e-5);
        }
    }
}

#[test]
fn lu_batches_match_single_matrices() {
    // 64 matrices of order 8 are enough work to be split across cores.
    for dims in [vec![2, 3, 4, 4], vec![64, 8, 8]] {
        let n = dims[dims.len() - 1];
        let v = random(dims.iter().product(), 7);
        let (p, l, u) = lu(&t32(&dims, &v)).unwrap();
        let (p, l, u) = (values(&p), values(&l), values(&u));
        for b in 0..v.len() / (n * n) {
            let r = b * n * n..(b + 1) * n * n;
            let (p1, l1, u1) = lu(&t32(&[n, n], &v[r.clone()])).unwrap();
            assert_exact(&p1, &p[r.clone()], "p");
            assert_exact(&l1, &l[r.clone()], "l");
            assert_exact(&u1, &u[r], "u");
        }
    }
}

#[test]
fn lu_follows_binary_backend_on_singular_and_half_inputs() {
    // A zero pivot makes BinaryBackend store ±infinity in l (here a[1][0]
    // >= the sum, so +inf), which then reaches u.
    let (_, l, u) = lu(&t64(&[2, 2], &[0., 1., 0., 1.])).unwrap();
    assert_eq!(values(&l), vec![1., 0., f64::INFINITY, 1.]);
    assert_eq!(values(&u), vec![0., 1., 0., f64::NEG_INFINITY]);
    // bf16 is written truncated from f32, as Nx's write path does: 1/3 is
    // 0x3EAAAAAB in f32, 0x3EAA truncated (0x3EAB rounded).
    let a = tensor::<bf16>(&[2, 2], &[3., 1., 1., 1.]);
    let (_, l, _) = lu(&a).unwrap();
    assert_eq!(l.as_slice::<bf16>().unwrap()[2].to_bits(), 0x3EAA);
    let a = tensor::<f16>(&[2, 2], &[3., 1., 1., 1.]);
    let (_, l, _) = lu(&a).unwrap();
    assert_eq!(l.as_slice::<f16>().unwrap()[2], f16::from_f64(1.0 / 3.0));
    // Entries below eps are approximated to zero.
    let (_, l, _) = lu_with_eps(&t64(&[2, 2], &[1., 0., 1e-3, 1.]), 1e-2).unwrap();
    assert_eq!(values(&l), vec![1., 0., 0., 1.]);
}

/// Non-finite entries, against BinaryBackend (atoms there): a NaN pivot
/// wins (`:nan` sorts above numbers), and the not-yet-computed zero of l
/// times an infinite pivot makes NaN, as `Complex.multiply` does.
#[test]
fn lu_propagates_non_finite_values_like_binary_backend() {
    let (nan, inf) = (f64::NAN, f64::INFINITY);
    for (a, want_u) in [
        ([1., 2., nan, 3.], [nan, 3., 0., nan]),
        ([1., 2., -inf, 3.], [-inf, 3., 0., nan]),
    ] {
        let (p, l, u) = lu(&t64(&[2, 2], &a)).unwrap();
        assert_exact(&p, &[0., 1., 1., 0.], "p");
        assert_exact(&l, &[1., 0., nan, 1.], "l");
        assert_exact(&u, &want_u, "u");
    }
}

#[test]
fn lu_rejects_bad_inputs() {
    let ints = Tensor::from_vec(Shape::new(vec![2, 2]), vec![1i32, 2, 3, 4]).unwrap();
    assert_arg_error(lu(&ints), "lu", "{:s, 32}");
    assert_arg_error(lu(&t32(&[2, 3], &[0.; 6])), "lu", "got shape {2, 3}");
    assert_arg_error(lu(&t32(&[3], &[0.; 3])), "lu", "rank at least 2");
    assert_arg_error(lu(&t32(&[], &[0.])), "lu", "got shape {}");
}

// ---------------------------------------------------------------------------
// triangular_solve

#[test]
fn triangular_solve_doctests() {
    let ts = |a: &Tensor, b: &Tensor, lower, left, tr| triangular_solve(a, b, lower, left, tr).unwrap();
    let a = t32(
        &[4, 4],
        &[3., 0., 0., 0., 2., 1., 0., 0., 1., 0., 1., 0., 1., 1., 1., 1.],
    );
    let x = ts(&a, &t32(&[4], &[4., 2., 4., 2.]), true, true, false);
    let want = [
        1.3333333730697632,
        -0.6666666865348816,
        2.6666667461395264,
        -1.3333333730697632,
    ];
    assert_exact(&x, &want, "lower");

    let a = t64(&[3, 3], &[1., 0., 0., 1., 1., 0., 1., 1., 1.]);
    let x = ts(&a, &t64(&[3], &[1., 2., 1.]), true, true, false);
    assert_exact(&x, &[1., 1., -1.], "f64");
    assert_eq!(x.dtype(), DType::F64);

    let a = t32(&[3, 3], &[1., 0., 0., 1., 1., 0., 0., 1., 1.]);
    let x = ts(
        &a,
        &t32(&[3, 3], &[1., 2., 3., 2., 2., 4., 2., 0., 1.]),
        true,
        true,
        false,
    );
    assert_exact(&x, &[1., 2., 3., 1., 0., 1., 1., 0., 0.], "matrix b");

    let a = t32(
        &[4, 4],
        &[1., 1., 1., 1., 0., 1., 0., 1., 0., 0., 1., 2., 0., 0., 0., 3.],
    );
    let x = ts(&a, &t32(&[4], &[2., 4., 2., 4.]), false, true, false);
    let want = [
        -1.3333333730697632,
        2.6666667461395264,
        -0.6666666865348816,
        1.3333333730697632,
    ];
    assert_exact(&x, &want, "upper");

    let a = t32(&[3, 3], &[1., 0., 0., 1., 1., 0., 1., 2., 1.]);
    let x = ts(
        &a,
        &t32(&[3, 3], &[0., 2., 1., 1., 1., 0., 3., 3., 1.]),
        true,
        false,
        false,
    );
    assert_exact(&x, &[-1., 0., 1., 0., 1., 0., 1., 1., 1.], "right side");

    let a = t64(&[3, 3], &[1., 1., 1., 0., 1., 1., 0., 0., 1.]);
    let x = ts(&a, &t64(&[3], &[1., 2., 1.]), false, true, true);
    assert_exact(&x, &[1., 1., -1.], "transpose");

    let a = t64(&[3, 3], &[1., 0., 0., 1., 1., 0., 1., 1., 1.]);
    let x = ts(&a, &t64(&[3], &[1., 2., 1.]), true, true, false);
    assert_exact(&x, &[1., 1., -1.], "transform none");

    let a = t32(&[3, 3], &[1., 0., 0., 1., 1., 0., 1., 2., 1.]);
    let x = ts(&a, &t32(&[2, 3], &[0., 1., 3., 2., 1., 3.]), true, false, false);
    assert_exact(&x, &[2., -5., 3., 4., -5., 3.], "right side, 2 rows");
    assert_eq!(x.dims(), &[2, 3]);
    let x = ts(&a, &t32(&[3, 2], &[0., 2., 3., 0., 0., 0.]), true, true, false);
    assert_exact(&x, &[0., 2., 3., -2., -6., 2.], "left side, 2 columns");

    // {2, 2, 2} with {2, 2}: b read as one vector per matrix.
    let a = t32(&[2, 2, 2], &[1., 0., 2., 3., 4., 0., 5., 6.]);
    let x = ts(&a, &t32(&[2, 2], &[2., -1., 3., 7.]), true, true, false);
    assert_exact(
        &x,
        &[2., -1.6666666269302368, 0.75, 0.5416666865348816],
        "batched",
    );

    // The vectorized doctest after broadcast_vectors and devectorize:
    // a {x: 2, y: 2, 2, 2}, b {x: 2, y: 2, 2}.
    let (a0, a1) = ([1., 1., 0., 1.], [2., 0., 0., 2.]);
    let a = t32(&[2, 2, 2, 2], &[a0, a0, a1, a1].concat());
    let b = t32(&[2, 2, 2], &[2., 1., 5., -1., 2., 1., 5., -1.]);
    let x = ts(&a, &b, false, true, false);
    assert_exact(&x, &[1., 1., 6., -1., 1., 0.5, 2.5, -0.5], "vectorized");
}

/// A random n×n matrix whose `lower` (or upper) triangle is well
/// conditioned and whose other triangle is large garbage the solver must
/// ignore; also returns the clean triangular matrix.
fn triangular(n: usize, lower: bool, seed: u64) -> (Vec<f64>, Vec<f64>) {
    let v = random(n * n, seed);
    let (mut messy, mut clean) = (vec![0.0; n * n], vec![0.0; n * n]);
    for i in 0..n {
        for j in 0..n {
            let x = v[i * n + j];
            let inside = if lower { j <= i } else { j >= i };
            let x = if i == j { 2.0 + x.abs() } else { x };
            messy[i * n + j] = if inside { x } else { 100.0 * x };
            clean[i * n + j] = if inside { x } else { 0.0 };
        }
    }
    (messy, clean)
}

#[test]
fn triangular_solve_solves_every_option_combination() {
    let (n, m) = (5, 3);
    let mut seed = 0;
    for lower in [true, false] {
        for left in [true, false] {
            for tr in [true, false] {
                for vector_b in [true, false] {
                    seed += 1;
                    let (messy, clean) = triangular(n, lower, seed);
                    let op = if tr { transpose(&clean, n, n) } else { clean };
                    let (rows, cols) = match (vector_b, left) {
                        (true, _) => (n, 1),
                        (false, true) => (n, m),
                        (false, false) => (m, n),
                    };
                    let b = random(rows * cols, 1000 + seed);
                    let b_dims = if vector_b { vec![n] } else { vec![rows, cols] };
                    for f32_inputs in [false, true] {
                        let mk = |d: &[usize], v: &[f64]| if f32_inputs { t32(d, v) } else { t64(d, v) };
                        let (at, bt) = (mk(&[n, n], &messy), mk(&b_dims, &b));
                        let x = triangular_solve(&at, &bt, lower, left, tr).unwrap();
                        assert_eq!(x.dims(), &b_dims[..]);
                        let xv = values(&x);
                        // Check against the (rounded) inputs actually solved.
                        let opv: Vec<f64> = if f32_inputs {
                            op.iter().map(|&v| v as f32 as f64).collect()
                        } else {
                            op.clone()
                        };
                        let got = match (vector_b, left) {
                            (true, true) | (false, true) => mm(&opv, &xv, n, n, cols),
                            (true, false) => mm(&xv, &opv, 1, n, n),
                            (false, false) => mm(&xv, &opv, m, n, n),
                        };
                        let tol = if f32_inputs { 1e-5 } else { 1e-12 };
                        let d = max_diff(&got, &values(&bt));
                        assert!(
                            d <= tol,
                            "lower {lower} left {left} transpose {tr} vector {vector_b}: {d}"
                        );
                    }
                }
            }
        }
    }
}

#[test]
fn triangular_solve_batches_match_single_matrices() {
    let (n, m, batch) = (4, 2, 3usize);
    let mut a = Vec::new();
    for s in 0..batch {
        a.extend(triangular(n, false, 50 + s as u64).0);
    }
    let b = random(batch * n * m, 9);
    for left in [true, false] {
        let b_dims = if left { [batch, n, m] } else { [batch, m, n] };
        let x = triangular_solve(&t32(&[batch, n, n], &a), &t32(&b_dims, &b), false, left, true).unwrap();
        let x = values(&x);
        for s in 0..batch {
            let x1 = triangular_solve(
                &t32(&[n, n], &a[s * n * n..(s + 1) * n * n]),
                &t32(&b_dims[1..], &b[s * n * m..(s + 1) * n * m]),
                false,
                left,
                true,
            )
            .unwrap();
            assert_exact(&x1, &x[s * n * m..(s + 1) * n * m], "batch");
        }
    }
}

#[test]
fn triangular_solve_rejects_bad_inputs() {
    const OP: &str = "triangular_solve";
    let eye4 = t32(
        &[4, 4],
        &[1., 0., 0., 0., 0., 1., 0., 0., 0., 0., 1., 0., 0., 0., 0., 1.],
    );
    let b4 = t32(&[4], &[4., 2., 4., 2.]);
    // The error doctests: a non-square matrix, a b of the wrong length and
    // a singular matrix.
    let a = t32(&[2, 4], &[3., 0., 0., 0., 2., 1., 0., 0.]);
    assert_arg_error(
        triangular_solve(&a, &b4, true, true, false),
        OP,
        "got shape {2, 4}",
    );
    let r = triangular_solve(&eye4, &t32(&[1], &[4.]), true, true, false);
    assert_arg_error(r, OP, "incompatible dimensions for a and b");
    let mut sing = vec![0.; 16];
    sing[12..].copy_from_slice(&[1., 1., 1., 1.]);
    let r = triangular_solve(&t32(&[4, 4], &sing), &b4, true, true, false);
    assert_arg_error(r, OP, "can't solve for singular matrix");
    // Types.
    let ints = Tensor::from_vec(Shape::new(vec![4]), vec![1i64, 2, 3, 4]).unwrap();
    assert_arg_error(triangular_solve(&eye4, &ints, true, true, false), OP, "{:s, 64}");
    let int_a = Tensor::from_vec(Shape::new(vec![1, 1]), vec![1u8]).unwrap();
    assert_arg_error(
        triangular_solve(&int_a, &t32(&[1], &[1.]), true, true, false),
        OP,
        "{:u, 8}",
    );
    let r = triangular_solve(&eye4, &t64(&[4], &[1.; 4]), true, true, false);
    assert_arg_error(r, OP, "same type");
    // Ranks and shapes.
    assert_arg_error(
        triangular_solve(&b4, &b4, true, true, false),
        OP,
        "rank at least 2",
    );
    let r = triangular_solve(&eye4, &t32(&[4, 2], &[0.; 8]), true, false, false);
    assert_arg_error(r, OP, "{..., m, 4}");
    let r = triangular_solve(&eye4, &t32(&[2, 4], &[0.; 8]), true, true, false);
    assert_arg_error(r, OP, "{..., 4, m}");
    let batched = t32(&[2, 2, 2], &[1., 0., 0., 1., 1., 0., 0., 1.]);
    let r = triangular_solve(&batched, &t32(&[3, 2], &[0.; 6]), true, true, false);
    assert_arg_error(r, OP, "got {3, 2}");
    let r = triangular_solve(&batched, &t32(&[], &[0.]), true, true, false);
    assert_arg_error(r, OP, "got {}");
}

// ---------------------------------------------------------------------------
// eigh

#[test]
fn eigh_doctests() {
    let round = |t: &Tensor| values(t).iter().map(|v| v.round()).collect::<Vec<_>>();
    let (vals, vecs) = eigh(&t32(&[2, 2], &[1., 0., 0., 2.]), EIGH_EPS, EIGH_MAX_ITER).unwrap();
    assert_eq!(round(&vals), vec![1., 2.]);
    assert_exact(&vecs, &[1., 0., 0., 1.], "diagonal");

    let a = t32(&[3, 3], &[0., 1., 2., 1., 0., 2., 2., 2., 3.]);
    let (vals, vecs) = eigh(&a, EIGH_EPS, EIGH_MAX_ITER).unwrap();
    assert_eq!(round(&vals), vec![5., -1., -1.]);
    #[rustfmt::skip]
    let want = [
        0.4075949788093567, 0.9131628274917603, 0.0,
        0.40837883949279785, -0.18228201568126678, 0.8944271802902222,
        0.8167576789855957, -0.36456403136253357, -0.4472135901451111,
    ];
    assert_exact(&vecs, &want, "3×3");

    // The batched doctest (and the vectorized one, which devectorizes to it).
    let a = t32(&[2, 2, 2], &[2., 5., 5., 6., 1., 0., 0., 4.]);
    let (vals, vecs) = eigh(&a, EIGH_EPS, EIGH_MAX_ITER).unwrap();
    assert_eq!(vals.dims(), &[2, 2]);
    assert_eq!(round(&vals), vec![9., -1., 1., 4.]);
    #[rustfmt::skip]
    let want = [0.5612090229988098, -0.8276740908622742, 0.8276740908622742, 0.5612090229988098,
                1., 0., 0., 1.];
    assert_exact(&vecs, &want, "batched");
}

/// A symmetric matrix with eigenvalues `lambda` (distinct magnitudes, so
/// unshifted QR converges) and random eigenvectors.
fn symmetric(lambda: &[f64], seed: u64) -> Vec<f64> {
    let n = lambda.len();
    let mut q = random(n * n, seed);
    // Gram–Schmidt on the columns.
    for c in 0..n {
        for prev in 0..c {
            let d: f64 = (0..n).map(|r| q[r * n + c] * q[r * n + prev]).sum();
            for r in 0..n {
                q[r * n + c] -= d * q[r * n + prev];
            }
        }
        let norm = (0..n).map(|r| q[r * n + c].powi(2)).sum::<f64>().sqrt();
        for r in 0..n {
            q[r * n + c] /= norm;
        }
    }
    let mut a = vec![0.0; n * n];
    for i in 0..n {
        for j in i..n {
            let v: f64 = (0..n).map(|k| q[i * n + k] * lambda[k] * q[j * n + k]).sum();
            a[i * n + j] = v;
            a[j * n + i] = v;
        }
    }
    a
}

/// Checks a·v = v·diag(λ) (within `tol` times the largest |λ|), vᵀv = I
/// (within `orth`), and that the eigenvalues are `lambda`.
fn check_eigh(a: &[f64], vals: &[f64], vecs: &[f64], lambda: &[f64], tol: f64, orth: f64) {
    let n = vals.len();
    let av = mm(a, vecs, n, n, n);
    let mut vl = vecs.to_vec();
    for r in 0..n {
        for c in 0..n {
            vl[r * n + c] *= vals[c];
        }
    }
    let scale = lambda.iter().fold(1.0f64, |m, l| m.max(l.abs()));
    assert!(
        max_diff(&av, &vl) <= tol * scale,
        "a·v - v·λ: {}",
        max_diff(&av, &vl)
    );
    let vtv = mm(&transpose(vecs, n, n), vecs, n, n, n);
    let eye: Vec<f64> = (0..n * n)
        .map(|i| if i % (n + 1) == 0 { 1.0 } else { 0.0 })
        .collect();
    assert!(max_diff(&vtv, &eye) <= orth, "vᵀv - I: {}", max_diff(&vtv, &eye));
    let (mut got, mut want) = (vals.to_vec(), lambda.to_vec());
    got.sort_by(f64::total_cmp);
    want.sort_by(f64::total_cmp);
    assert!(
        max_diff(&got, &want) <= tol * scale,
        "eigenvalues {got:?}, expected {want:?}"
    );
}

/// Nx's algorithm is only as accurate as `eps` lets it be: QR stops once
/// the subdiagonal's squared norm is below eps (entries ~√eps), and the
/// reflector computes that norm as `|x|² - x₀²`, whose cancellation makes
/// reflectors non-orthogonal when eps nears ulp(|x|²). Measured on these
/// matrices, eps = 1e-8 is best (a·v - v·λ ≈ 1e-4, vᵀv - I ≈ 1e-6); the
/// default 1e-4 gives ≈ 1e-2 and 3e-4; eps = 1e-14 already gives ≈ 1
/// (BinaryBackend agrees bit for bit, so the tolerances are Nx's).
#[test]
fn eigh_decomposes_random_symmetric_matrices() {
    let lambda = [6.0, -3.0, 1.5, 0.75, -0.375];
    for seed in 0..4 {
        for n in [2, 3, 5] {
            let a = symmetric(&lambda[..n], 40 + seed);
            let (vals, vecs) = eigh(&t64(&[n, n], &a), 1e-8, EIGH_MAX_ITER).unwrap();
            check_eigh(&a, &values(&vals), &values(&vecs), &lambda[..n], 5e-5, 5e-6);
            let a32 = t32(&[n, n], &a);
            let (vals, vecs) = eigh(&a32, 1e-8, EIGH_MAX_ITER).unwrap();
            assert_eq!(vecs.dtype(), DType::F32);
            check_eigh(
                &values(&a32),
                &values(&vals),
                &values(&vecs),
                &lambda[..n],
                5e-5,
                5e-6,
            );
            let (vals, vecs) = eigh(&t64(&[n, n], &a), EIGH_EPS, EIGH_MAX_ITER).unwrap();
            check_eigh(&a, &values(&vals), &values(&vecs), &lambda[..n], 5e-3, 1e-3);
        }
    }
}

#[test]
fn eigh_batches_match_single_matrices() {
    for (dims, n) in [(vec![2, 3], 3), (vec![8], 8)] {
        let mut a = Vec::new();
        let count: usize = dims.iter().product();
        for s in 0..count {
            let lambda: Vec<f64> = (0..n)
                .map(|i| (1.7f64).powi(i as i32) * if i % 2 == 0 { 1.0 } else { -1.0 })
                .collect();
            a.extend(symmetric(&lambda, 70 + s as u64));
        }
        let full = [dims.clone(), vec![n, n]].concat();
        let (vals, vecs) = eigh(&t32(&full, &a), EIGH_EPS, EIGH_MAX_ITER).unwrap();
        assert_eq!(vals.dims(), &[dims.clone(), vec![n]].concat()[..]);
        let (vals, vecs) = (values(&vals), values(&vecs));
        for s in 0..count {
            let one = t32(&[n, n], &a[s * n * n..(s + 1) * n * n]);
            let (v1, q1) = eigh(&one, EIGH_EPS, EIGH_MAX_ITER).unwrap();
            assert_exact(&v1, &vals[s * n..(s + 1) * n], "eigenvalues");
            assert_exact(&q1, &vecs[s * n * n..(s + 1) * n * n], "eigenvectors");
        }
    }
}

#[test]
fn eigh_small_and_degenerate_cases() {
    let (vals, vecs) = eigh(&t64(&[1, 1], &[-2.5]), EIGH_EPS, EIGH_MAX_ITER).unwrap();
    assert_exact(&vals, &[-2.5], "1×1 value");
    assert_exact(&vecs, &[1.0], "1×1 vector");
    // max_iter = 0 still iterates (twice, as Elixir's 1..0 does).
    let (vals, _) = eigh(&t64(&[2, 2], &[2., 1., 1., 2.]), EIGH_EPS, 0).unwrap();
    assert!(values(&vals).iter().all(|v| v.is_finite()));
    let (vals, vecs) = eigh(&t32(&[0, 2, 2], &[]), EIGH_EPS, EIGH_MAX_ITER).unwrap();
    assert_eq!((vals.dims(), vecs.dims()), (&[0, 2][..], &[0, 2, 2][..]));
}

#[test]
fn eigh_rejects_bad_inputs() {
    let ints = Tensor::from_vec(Shape::new(vec![2, 2]), vec![1i16, 0, 0, 1]).unwrap();
    assert_arg_error(eigh(&ints, EIGH_EPS, EIGH_MAX_ITER), "eigh", "{:s, 16}");
    let r = eigh(&t32(&[2, 3], &[1., 2., 3., 4., 5., 6.]), EIGH_EPS, EIGH_MAX_ITER);
    assert_arg_error(r, "eigh", "got shape {2, 3}");
    assert_arg_error(
        eigh(&t32(&[2], &[1., 2.]), EIGH_EPS, EIGH_MAX_ITER),
        "eigh",
        "rank at least 2",
    );
    let r = eigh(&t32(&[2, 2], &[1., 2., 3., 4.]), EIGH_EPS, EIGH_MAX_ITER);
    assert_arg_error(r, "eigh", "must be hermitian");
    // Asymmetry within eps is accepted.
    assert!(eigh(&t64(&[2, 2], &[1., 2., 2.00001, 4.]), EIGH_EPS, EIGH_MAX_ITER).is_ok());
}

// ---------------------------------------------------------------------------
// Against BinaryBackend itself, beyond the doctests.

/// The input formulas of the Elixir script below (exact in every dtype).
fn nx_input(kind: &str, seed: i64, rows: usize, cols: usize) -> Vec<f64> {
    let val = |i: i64, j: i64| (((i + 1) * 37 + (j + 1) * 101 + seed * 53) % 97 - 48) as f64 / 16.0;
    let mut v = Vec::with_capacity(rows * cols);
    for i in 0..rows as i64 {
        for j in 0..cols as i64 {
            v.push(match kind {
                "mat" => val(i, j),
                "sym" => val(i.min(j), i.max(j)),
                "tie" => (((i + 1) * 3 + (j + 1) * 7 + seed * 5) % 5 - 2) as f64,
                _ if i == j => 3.0 + val(i, j).abs(),
                _ => val(i, j),
            });
        }
    }
    v
}

/// FNV-1a over the f64 bit patterns of `outputs`, continuing from `h`.
fn fnv(mut h: u64, outputs: &[&Tensor]) -> u64 {
    for v in outputs.iter().flat_map(|t| values(t)) {
        for byte in v.to_bits().to_le_bytes() {
            h = (h ^ byte as u64).wrapping_mul(0x100_0000_01b3);
        }
    }
    h
}

/// 860 cases (lu with ties, zero pivots and the resulting ±inf/NaN;
/// triangular_solve with every option; eigh with several eps and max_iter,
/// including eps values where Nx's result is inaccurate) in all four float
/// types, hashed per op and type. The hashes are of BinaryBackend's
/// outputs, computed with Nx 0.7.2 from this script (inputs built by
/// `nx_input` with the same formulas; outputs `Nx.as_type(:f64)` bits):
///
/// ```text
/// for t <- [:f64, :f32, :f16, :bf16], n <- [1, 2, 3, 5, 6, 8], s <- 1..3, k <- [:mat, :tie]:
///   Nx.LinAlg.lu(Nx.tensor(k_matrix(s, n), type: t))                       # → p, l, u
/// for t, lower <- [true, false], left <- [true, false], tr <- [:none, :transpose],
///     b <- [:vec, :mat], s <- 1..2:                                          # n = 4
///   Nx.LinAlg.triangular_solve(tri(s), b_of(s + 10 | s + 20), lower:, left_side:, transform_a: tr)
///   # b: row 0 of mat(s + 10), the first 2 columns (left) or rows (right) of mat(s + 20)
/// for t, n <- [1, 2, 3, 4, 5, 6, 9], s <- 1..3, {eps, it} <- [{1.0e-4, 1000}, {1.0e-10, 1000},
///     {1.0e-4, 0}, {1.0e-4, 3}, {1.0e-8, 1000}, {1.0e-14, 1000}, {1.0e-24, 1000}]:
///   Nx.LinAlg.eigh(Nx.tensor(sym(s, n), type: t), eps: eps, max_iter: it)     # → vals, vecs
/// ```
#[test]
fn matches_binary_backend_bit_for_bit() {
    let types = [DType::F64, DType::F32, DType::F16, DType::BF16];
    let mk = |dt: DType, dims: &[usize], v: &[f64]| -> Tensor {
        dispatch_float!(dt, T => tensor::<T>(dims, v), _ => unreachable!())
    };
    let want_lu = [
        0x556f42a45dbe802d,
        0x1bacf461f64f042a,
        0x381a096e657c733e,
        0x73ec6d3ddc0c1162,
    ];
    let want_ts = [
        0xf78925ddc971fb4f,
        0xe39e360a3279bf21,
        0x6a1973b2cfabfeaa,
        0x041e4ffe9b89d076,
    ];
    let want_eigh = [
        0x0bf7f92c091b4901,
        0xc3252de7eece5609,
        0xe644c6c52854ab74,
        0x8f38644fca369e07,
    ];
    const FNV_START: u64 = 0xcbf2_9ce4_8422_2325;
    for (i, &dt) in types.iter().enumerate() {
        let mut h = FNV_START;
        for n in [1, 2, 3, 5, 6, 8] {
            for seed in 1..=3 {
                for kind in ["mat", "tie"] {
                    let (p, l, u) = lu(&mk(dt, &[n, n], &nx_input(kind, seed, n, n))).unwrap();
                    h = fnv(h, &[&p, &l, &u]);
                }
            }
        }
        assert_eq!(h, want_lu[i], "lu {dt}");

        let mut h = FNV_START;
        for (lower, left, tr) in [true, false].into_iter().flat_map(|lo| {
            [true, false]
                .into_iter()
                .flat_map(move |le| [false, true].map(move |tr| (lo, le, tr)))
        }) {
            for vector_b in [true, false] {
                for seed in 1..=2 {
                    let n = 4;
                    let a = mk(dt, &[n, n], &nx_input("tri", seed, n, n));
                    let b = match (vector_b, left) {
                        (true, _) => mk(dt, &[n], &nx_input("mat", seed + 10, 1, n)),
                        (false, true) => {
                            let m = nx_input("mat", seed + 20, n, n);
                            mk(
                                dt,
                                &[n, 2],
                                &(0..n)
                                    .flat_map(|r| m[r * n..r * n + 2].to_vec())
                                    .collect::<Vec<_>>(),
                            )
                        }
                        (false, false) => mk(dt, &[2, n], &nx_input("mat", seed + 20, 2, n)),
                    };
                    h = fnv(h, &[&triangular_solve(&a, &b, lower, left, tr).unwrap()]);
                }
            }
        }
        assert_eq!(h, want_ts[i], "triangular_solve {dt}");

        let mut h = FNV_START;
        for n in [1, 2, 3, 4, 5, 6, 9] {
            for seed in 1..=3 {
                for (eps, it) in [
                    (1e-4, 1000),
                    (1e-10, 1000),
                    (1e-4, 0),
                    (1e-4, 3),
                    (1e-8, 1000),
                    (1e-14, 1000),
                    (1e-24, 1000),
                ] {
                    let (v, q) = eigh(&mk(dt, &[n, n], &nx_input("sym", seed, n, n)), eps, it).unwrap();
                    h = fnv(h, &[&v, &q]);
                }
            }
        }
        assert_eq!(h, want_eigh[i], "eigh {dt}");
    }
}

/// One of the cases above in readable form: f64 results to the last bit.
#[test]
fn matches_binary_backend_in_f64() {
    let a = t64(&[3, 3], &nx_input("sym", 1, 3, 3));
    let (vals, vecs) = eigh(&a, EIGH_EPS, EIGH_MAX_ITER).unwrap();
    assert_exact(
        &vals,
        &[5.841467758622402, -2.9369432536369833, 1.282975495030334],
        "eigenvalues",
    );
    #[rustfmt::skip]
    let want = [
        0.7924571005016967, -0.5478428535054661, 0.2681567415407097,
        -0.32950627716002234, -0.7544391093292416, -0.5676899822853633,
        -0.513261491080583, -0.36151049320966316, 0.7783444271732447,
    ];
    assert_exact(&vecs, &want, "eigenvectors");
    let (p, l, u) = lu(&t64(&[3, 3], &nx_input("mat", 1, 3, 3))).unwrap();
    assert_exact(&p, &[1., 0., 0., 0., 0., 1., 0., 1., 0.], "p");
    assert_exact(
        &l,
        &[
            1.,
            0.,
            0.,
            0.5,
            1.,
            0.,
            -0.30434782608695654,
            -0.48127421437795953,
            1.,
        ],
        "l",
    );
    assert_exact(
        &u,
        &[
            2.875,
            -2.9375,
            -2.6875,
            0.,
            3.15625,
            3.28125,
            0.,
            0.,
            0.3862462333189841,
        ],
        "u",
    );
}
