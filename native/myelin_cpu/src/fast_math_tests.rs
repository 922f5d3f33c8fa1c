//! Tests of the vectorized transcendentals: ulp sweeps against f64 std on
//! every compiled copy of the loop, special values, and a benchmark.

use super::*;
use std::f32::consts::LN_2;
use Transcendental::*;

type Kernel = fn(Transcendental, &[f32], &mut [f32]);

/// Every copy of the loop this CPU can run, not only the one the
/// dispatcher picks here: the AVX2 and portable copies are what other
/// machines run.
fn copies() -> Vec<(&'static str, Kernel)> {
    let mut copies: Vec<(&str, Kernel)> = vec![("portable", portable), ("dispatch", map)];
    #[cfg(target_arch = "x86_64")]
    {
        if std::is_x86_feature_detected!("avx2") && std::is_x86_feature_detected!("fma") {
            // SAFETY: the features were just detected.
            copies.push(("avx2", |f, x, o| unsafe { avx2(f, x, o) }));
        }
        if std::is_x86_feature_detected!("avx512f") {
            // SAFETY: as above.
            copies.push(("avx512", |f, x, o| unsafe { avx512(f, x, o) }));
        }
    }
    copies
}

/// The error of `got` in units in the last place of f32 at `want`
/// (subnormal spacing below the normals, and inf counted as 2^128, so
/// that inf for f32::MAX is one ulp).
fn ulp_error(got: f32, want: f64) -> f64 {
    if got.is_nan() || want.is_nan() {
        return if got.is_nan() && want.is_nan() {
            0.0
        } else {
            f64::INFINITY
        };
    }
    if got == want as f32 {
        return 0.0;
    }
    let big = 2f64.powi(128);
    let (g, w) = ((got as f64).clamp(-big, big), want.clamp(-big, big));
    let binade = ((w.abs().max(2f64.powi(-126)).to_bits() >> 52) as i32) - 1023;
    (g - w).abs() / 2f64.powi(binade - 23)
}

/// Every `step`-th f32 from `lo` to `hi` (same sign) by bit pattern.
fn floats(lo: f32, hi: f32, step: usize) -> impl Iterator<Item = f32> {
    let (a, b) = (lo.to_bits().min(hi.to_bits()), lo.to_bits().max(hi.to_bits()));
    (a..=b).step_by(step).map(f32::from_bits)
}

/// The inputs each function is swept over: every 61st bit pattern
/// (both signs, NaNs and infinities included), then every float, or
/// every few, where the reduction, a threshold, overflow or the
/// subnormals make the function hardest. Debug builds take a sample.
fn inputs(f: Transcendental) -> impl Iterator<Item = f32> {
    let thin = if cfg!(debug_assertions) { 64 } else { 1 };
    let dense: &[(f32, f32, usize)] = match f {
        Exp => &[
            (-104.0, -80.0, 1),
            (80.0, 89.0, 1),
            (-1e-3, -1.0, 5),
            (1e-3, 1.0, 5),
            (0.3, 0.4, 1),
        ],
        Ln => &[(0.5, 2.0, 1), (1e-45, 1.2e-38, 3), (1e30, f32::MAX, 5)],
        Tanh => &[(0.3, 1.5, 1), (-1.5, -0.3, 1), (1e-4, 0.3, 5), (5.0, 10.0, 1)],
        Sigmoid => &[
            (-104.0, -80.0, 1),
            (-1e-3, -30.0, 5),
            (1e-3, 20.0, 5),
            (-0.5, -2.0, 1),
        ],
    };
    let sweep = (0..=u32::MAX).step_by(61 * thin).map(f32::from_bits);
    sweep.chain(
        dense
            .iter()
            .flat_map(move |&(lo, hi, step)| floats(lo, hi, step * thin)),
    )
}

/// The largest error of each compiled copy over the sweep, and where,
/// a block of inputs at a time.
fn worst_errors(f: Transcendental) -> Vec<(&'static str, f64, f32)> {
    let copies = copies();
    let mut worst = vec![(0.0, 0.0); copies.len()];
    let mut xs = inputs(f).peekable();
    while xs.peek().is_some() {
        let block: Vec<f32> = xs.by_ref().take(1 << 16).collect();
        let want: Vec<f64> = block.iter().map(|&x| f.f64(x as f64)).collect();
        for ((_, copy), worst) in copies.iter().zip(&mut worst) {
            let mut got = vec![0.0; block.len()];
            copy(f, &block, &mut got);
            for ((&g, &w), &x) in got.iter().zip(&want).zip(&block) {
                let e = ulp_error(g, w);
                if e > worst.0 {
                    *worst = (e, x);
                }
            }
        }
    }
    copies.iter().zip(worst).map(|(c, (e, x))| (c.0, e, x)).collect()
}

/// Asserts the largest error of every copy, printing them all (see them
/// with `--nocapture`).
fn assert_within(f: Transcendental, bound: f64) {
    for (name, err, at) in worst_errors(f) {
        println!("{f:?} ({name}): max {err:.3} ulp at {at:e}");
        assert!(err <= bound, "{f:?} ({name}): {err} ulp at {at:e} ({at:?})");
    }
}

// The bounds are the errors measured (see the module documentation),
// rounded up a little.

#[test]
fn exp_within_0_85_ulp() {
    assert_within(Exp, 0.85);
}

#[test]
fn ln_within_0_85_ulp() {
    assert_within(Ln, 0.85);
}

#[test]
fn tanh_within_1_1_ulp() {
    assert_within(Tanh, 1.1);
}

/// Including the deep negative tail, where the result is subnormal and
/// its error is counted in subnormal ulps.
#[test]
fn sigmoid_within_1_3_ulp() {
    assert_within(Sigmoid, 1.3);
}

/// Exact special values (NaN for NaN), on every copy, in a slice at once
/// and one element at a time (vector loop and scalar tail).
#[test]
fn special_values_match_std() {
    let (inf, nan, tiny, max) = (f32::INFINITY, f32::NAN, f32::from_bits(1), f32::MAX);
    // sigmoid(-100) = 3.78e-44 = 27 × 2^-149.
    let sig_100 = f32::from_bits(27);
    // f(x[i]) = y[i].
    let exp_x = [
        0.0, -0.0, inf, -inf, 88.8, 1e30, tiny, -tiny, -104.0, -1e30, nan, -nan,
    ];
    let exp_y = [1.0, 1.0, inf, 0.0, inf, inf, 1.0, 1.0, 0.0, 0.0, nan, nan];
    let ln_x = [1.0, 0.0, -0.0, -1.0, -inf, inf, -tiny, tiny, max, 2.0, nan, -nan];
    let ln_y = [
        0.0, -inf, -inf, nan, nan, inf, nan, -103.27893, 88.72284, LN_2, nan, nan,
    ];
    let tanh_x = [
        0.0, -0.0, tiny, -tiny, 1e-30, inf, -inf, 10.0, -20.0, 1e30, nan, -nan,
    ];
    let tanh_y = [0.0, -0.0, tiny, -tiny, 1e-30, 1.0, -1.0, 1.0, -1.0, 1.0, nan, nan];
    let sig_x = [
        0.0, -0.0, inf, -inf, 20.0, 100.0, -100.0, -110.0, -1e30, nan, -nan,
    ];
    let sig_y = [0.5, 0.5, 1.0, 0.0, 1.0, 1.0, sig_100, 0.0, 0.0, nan, nan];
    let cases: [(Transcendental, &[f32], &[f32]); 4] = [
        (Exp, &exp_x, &exp_y),
        (Ln, &ln_x, &ln_y),
        (Tanh, &tanh_x, &tanh_y),
        (Sigmoid, &sig_x, &sig_y),
    ];
    for (name, copy) in copies() {
        for (f, xs, ys) in cases {
            for len in [xs.len(), 1] {
                for (x, want) in xs.chunks(len).zip(ys.chunks(len)) {
                    let mut got = vec![0.0; x.len()];
                    copy(f, x, &mut got);
                    for ((&x, &want), g) in x.iter().zip(want).zip(got) {
                        let same = g.to_bits() == want.to_bits() || (g.is_nan() && want.is_nan());
                        assert!(same, "{name}: {f:?}({x:e}) = {g:e}, want {want:e}");
                    }
                }
            }
        }
    }
}

/// Single-threaded ns per element, std against every compiled copy of
/// the fast kernels (`dispatch` is the one this CPU runs), on 1 Mi f32
/// (8 MiB read and written, beyond cache) and on 16 Ki (in L1/L2: the
/// compute alone):
/// `cargo test --release -p myelin_cpu bench_transcendentals -- --ignored --nocapture`
#[test]
#[ignore]
fn bench_transcendentals() {
    // As the eager kernel computed it before (std's exp of -|x|).
    let std_sigmoid = |x: f32| {
        let e = (-x.abs()).exp();
        if x >= 0.0 {
            1.0 / (1.0 + e)
        } else {
            e / (1.0 + e)
        }
    };
    type Case = (Transcendental, fn(f32) -> f32, f32, f32);
    // Each function with std's version and an input range.
    let fns: [Case; 4] = [
        (Exp, f32::exp, -10.0, 10.0),
        (Ln, f32::ln, 1e-3, 1e3),
        (Tanh, f32::tanh, -5.0, 5.0),
        (Sigmoid, std_sigmoid, -10.0, 10.0),
    ];
    for n in [1 << 20, 1 << 14] {
        let reps = (1 << 24) / n;
        let time = |f: &mut dyn FnMut()| {
            let best = (0..20)
                .map(|_| {
                    let start = std::time::Instant::now();
                    (0..reps).for_each(|_| f());
                    start.elapsed().as_secs_f64()
                })
                .fold(f64::INFINITY, f64::min);
            best * 1e9 / (n * reps) as f64
        };
        for (f, std_f, lo, hi) in fns {
            let xs: Vec<f32> = (0..n)
                .map(|i| lo + (hi - lo) * ((i * 7919) % n) as f32 / n as f32)
                .collect();
            let mut ys = xs.clone();
            let std_ns = time(&mut || ys.iter_mut().zip(&xs).for_each(|(y, &x)| *y = std_f(x)));
            let mut line = format!("{n} x {f:?} (ns per element): std {std_ns:.2}");
            for (name, copy) in copies() {
                line += &format!(", {name} {:.2}", time(&mut || copy(f, &xs, &mut ys)));
            }
            println!("{line}");
        }
    }
}
