use super::*;

/// A deterministic pseudo-random matrix (no two neighbours equal, so a
/// transposed or shifted read gives a different product).
fn values(len: usize, seed: u64) -> Vec<f32> {
    let mut s = seed
        .wrapping_mul(6364136223846793005)
        .wrapping_add(1442695040888963407);
    (0..len)
        .map(|_| {
            s = s
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            ((s >> 40) as f32 / (1u64 << 24) as f32) * 2.0 - 1.0
        })
        .collect()
}

/// The product in f64, element by element.
fn reference(m: usize, n: usize, k: usize, a: &Mat<f32>, b: &Mat<f32>) -> Vec<f64> {
    let mut c = vec![0.0; m * n];
    for i in 0..m {
        for j in 0..n {
            c[i * n + j] = (0..k)
                .map(|q| a.data[i * a.rs + q * a.cs] as f64 * b.data[q * b.rs + j * b.cs] as f64)
                .sum();
        }
    }
    c
}

/// Checks one product, both layouts of each operand, overwrite and
/// accumulate, on 1 and 2 threads.
fn check(m: usize, n: usize, k: usize) {
    let a_data = values(m * k, (m * 31 + k) as u64);
    let b_data = values(k * n, (n * 17 + k) as u64);
    let layouts = |data: &'static [f32], r: usize, c: usize| [Mat::rows(data, c), Mat::cols(data, r)];
    let a_data: &'static [f32] = Box::leak(a_data.into_boxed_slice());
    let b_data: &'static [f32] = Box::leak(b_data.into_boxed_slice());
    for a in layouts(a_data, m, k) {
        for b in layouts(b_data, k, n) {
            let want = reference(m, n, k, &a, &b);
            for threads in [1, 2] {
                let mut c = vec![f32::NAN; m * n];
                matmul("test", m, n, k, &mut c, false, a, b, threads);
                let tol = 1e-5 * (k as f64).sqrt() + 1e-6;
                for (idx, (&got, &w)) in c.iter().zip(&want).enumerate() {
                    assert!(
                        (got as f64 - w).abs() <= tol,
                        "{m}x{n}x{k} a({},{}) b({},{}) threads {threads}: [{}, {}] = {got}, want {w}",
                        a.rs,
                        a.cs,
                        b.rs,
                        b.cs,
                        idx / n,
                        idx % n
                    );
                }
                matmul("test", m, n, k, &mut c, true, a, b, threads);
                for (&got, &w) in c.iter().zip(&want) {
                    assert!(
                        (got as f64 - 2.0 * w).abs() <= 2.0 * tol,
                        "{m}x{n}x{k} accumulate"
                    );
                }
            }
        }
    }
}

#[test]
fn small_and_edge_shapes() {
    for &(m, n, k) in &[
        (1, 1, 1),
        (2, 3, 4),
        (13, 31, 7),
        (14, 32, 1),
        (15, 33, 2),
        (28, 64, 9),
        (29, 10, 300),
        (5, 100, 17),
    ] {
        check(m, n, k);
    }
}

#[test]
fn products_spanning_several_blocks() {
    // Deep sums, and threads' blocks with a ragged last one.
    check(200, 70, 600);
    check(70, 300, 260);
}

#[test]
fn wide_outputs_split_by_columns() {
    check(70, 2100, 5);
}

#[test]
fn zero_depth_and_empty_outputs() {
    let a = [1.0f32; 6];
    // (m, n, k, accumulate, threads) on a 2x3 output holding 7s.
    let run = |c: &mut Vec<f32>, (m, n, k, accumulate, threads)| {
        let lhs = Mat::rows(&a, k);
        matmul("test", m, n, k, c, accumulate, lhs, Mat::rows(&a, 3), threads);
    };
    let mut c = vec![7.0f32; 6];
    run(&mut c, (2, 3, 0, true, 1));
    assert_eq!(c, vec![7.0; 6], "k = 0 accumulates nothing");
    run(&mut c, (2, 3, 0, false, 1));
    assert_eq!(c, vec![0.0; 6], "k = 0 overwrites with zeros");
    run(&mut c, (0, 3, 2, false, 2));
    assert_eq!(c, vec![0.0; 6], "an empty output writes nothing");
}

#[test]
fn f64_products() {
    let a = [1.0f64, 2.0, 3.0, 4.0];
    let mut c = vec![0.0f64; 4];
    matmul(
        "test",
        2,
        2,
        2,
        &mut c,
        false,
        Mat::rows(&a, 2),
        Mat::rows(&a, 2),
        1,
    );
    assert_eq!(c, vec![7.0, 10.0, 15.0, 22.0]);
}

/// The panic message of a 2x2 `dot` whose left operand is `lhs` with depth `k`
/// (the right one is a valid 2-column matrix).
fn rejection(lhs: Mat<'static, f32>, k: usize) -> String {
    static B: [f32; 6] = [1.0; 6];
    let mut c = vec![0.0f32; 4];
    let caught =
        std::panic::catch_unwind(move || matmul("dot", 2, 2, k, &mut c, false, lhs, Mat::rows(&B, 2), 1));
    *caught.unwrap_err().downcast::<String>().unwrap()
}

#[test]
fn an_operand_smaller_than_its_shape_panics_with_the_op_name() {
    static A: [f32; 5] = [1.0; 5];
    assert_eq!(rejection(Mat::rows(&A, 3), 3), "dot: matrix out of bounds");
}

#[test]
fn splits_cover_the_output_once_in_blocks_longer_than_gemms_small_side() {
    for &(m, n, t) in &[
        (512, 512, 2),
        (100, 3, 2),
        (3, 100, 4),
        (1, 1, 2),
        (64, 64, 8),
        (257, 70, 2),
        (70, 1000, 3),
    ] {
        let parts = split(m, n, t);
        assert!(parts.len() <= t.max(1));
        let cells: usize = parts.iter().map(|(r, c)| r.len() * c.len()).sum();
        assert_eq!(cells, m * n, "{m}x{n} on {t}");
        if parts.len() > 1 {
            // Every block takes gemm's general path: one side longer than
            // its small side, the other at least MIN_BLOCK less a unit.
            for (r, c) in &parts {
                let (long, short) = (r.len().max(c.len()), r.len().min(c.len()));
                assert!(
                    long > GEMM_SMALL_SIDE && short >= MIN_BLOCK - 32,
                    "{m}x{n}: {r:?} {c:?}"
                );
            }
        }
    }
    assert_eq!(split(512, 512, 2).len(), 2);
    assert_eq!(split(128, 128, 2).len(), 2, "a training batch's product");
    assert_eq!(split(100, 3, 2).len(), 1, "the other side is gemm's small side");
    assert_eq!(split(100, 100, 2).len(), 1, "a block would be under MIN_BLOCK");
}

#[test]
fn products_give_the_same_bits_on_any_thread_count() {
    // Deep enough for several of gemm's depth blocks; shapes that split
    // and shapes that must not.
    for &(m, n, k) in &[
        (300, 200, 1300),
        (100, 40, 5000),
        (260, 66, 700),
        (70, 300, 600),
        // The MLP's products: forward (128-row blocks of 64) and weight gradient.
        (128, 128, 784),
        (784, 128, 128),
        (128, 200, 3000),
    ] {
        let a = values(m * k, 7);
        let b = values(k * n, 8);
        let run = |threads| {
            let mut c = vec![0.0f32; m * n];
            matmul(
                "test",
                m,
                n,
                k,
                &mut c,
                false,
                Mat::rows(&a, k),
                Mat::rows(&b, n),
                threads,
            );
            c
        };
        let one = run(1);
        for threads in [2, 3] {
            let many = run(threads);
            assert!(
                one.iter().zip(&many).all(|(x, y)| x.to_bits() == y.to_bits()),
                "{m}x{n}x{k} on {threads} threads"
            );
        }
    }
}

#[test]
fn checks_catch_strides_that_overflow() {
    static A: [f32; 4] = [1.0; 4];
    let lhs = Mat {
        data: &A,
        rs: usize::MAX / 2,
        cs: 1,
    };
    assert_eq!(rejection(lhs, 2), "dot: matrix out of bounds");
}
