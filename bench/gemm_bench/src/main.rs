//! f32 GEMM throughput of `matrixmultiply` and `gemm` on 2 threads.
use std::time::Instant;

fn fill(n: usize, seed: u32) -> Vec<f32> {
    let mut s = seed;
    (0..n)
        .map(|_| {
            s = s.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
            (s >> 8) as f32 / (1 << 24) as f32 - 0.5
        })
        .collect()
}

fn time(n: usize, mut f: impl FnMut()) -> f64 {
    f(); // warm up
    let flops = 2.0 * (n as f64).powi(3);
    let reps = ((2e10 / flops) as usize).clamp(3, 2000);
    let mut best = f64::INFINITY;
    for _ in 0..3 {
        let t = Instant::now();
        for _ in 0..reps {
            f();
        }
        best = best.min(t.elapsed().as_secs_f64() / reps as f64);
    }
    flops / best / 1e9
}

fn main() {
    // matrixmultiply reads its thread count from this variable.
    std::env::set_var("MATMUL_NUM_THREADS", "2");
    for n in [128usize, 512, 2048] {
        let a = fill(n * n, 1);
        let b = fill(n * n, 2);
        let mut c = vec![0f32; n * n];
        let mm = time(n, || unsafe {
            matrixmultiply::sgemm(
                n, n, n, 1.0, a.as_ptr(), n as isize, 1, b.as_ptr(), n as isize, 1, 0.0,
                c.as_mut_ptr(), n as isize, 1,
            )
        });
        let c_mm = c.clone();
        let ge = time(n, || unsafe {
            gemm::gemm(
                n, n, n, c.as_mut_ptr(), 1, n as isize, false, a.as_ptr(), 1, n as isize,
                b.as_ptr(), 1, n as isize, 0.0, 1.0, false, false, false,
                gemm::Parallelism::Rayon(2),
            )
        });
        let diff = c.iter().zip(&c_mm).map(|(x, y)| (x - y).abs()).fold(0f32, f32::max);
        println!("n={n:5}  matrixmultiply {mm:7.1} GFLOP/s   gemm {ge:7.1} GFLOP/s   max|diff| {diff:e}");
    }
}
