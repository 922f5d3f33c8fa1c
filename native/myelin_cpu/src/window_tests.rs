//! Tests of the window ops: every `iex>` example of Nx 0.7.2's window_sum,
//! window_product, window_max, window_min, window_scatter_max and
//! window_scatter_min (the vectorized ones as the devectorized call the
//! backend receives); a brute-force reference that transcribes
//! BinaryBackend's algorithm (anchors in the padded tensor, full windows,
//! padding values folded in) compared on random geometries; ties, NaN,
//! dtypes and every error path.

use super::WindowReduce::{Max, Min, Product, Sum};
use super::*;
use crate::conv::test_support::{indices, offset, random, values};
use half::{bf16, f16};

const OPS: [WindowReduce; 4] = [Sum, Product, Max, Min];

/// Each window's taps, row-major: an input offset, or None for padding.
type Windows = [Vec<Option<usize>>];

fn tensor<T: Element>(dims: &[usize], v: Vec<T>) -> Tensor {
    Tensor::from_vec(Shape::new(dims.to_vec()), v).unwrap()
}

fn scalar<T: Element>(v: T) -> Tensor {
    tensor(&[], vec![v])
}

fn red<T: Element>(x: &Tensor, op: WindowReduce, sp: &WindowSpec) -> Vec<T> {
    window_reduce(x, op, sp)
        .unwrap()
        .as_slice::<T>()
        .unwrap()
        .to_vec()
}

fn spec(window: &[usize], strides: &[usize], padding: &[(i64, i64)], dilations: &[usize]) -> WindowSpec {
    WindowSpec {
        window: window.to_vec(),
        strides: strides.to_vec(),
        padding: padding.to_vec(),
        dilations: dilations.to_vec(),
    }
}

/// `Nx.tensor([[[1, 2, 3], [4, 5, 6]], [[1, 2, 3], [4, 5, 6]]])`.
fn t1() -> Tensor {
    tensor(&[2, 2, 3], vec![1i64, 2, 3, 4, 5, 6, 1, 2, 3, 4, 5, 6])
}

/// The doctests' f32 tensor.
fn tf() -> Tensor {
    let v = [4.0f32, 2.0, 3.0, 2.0, 5.0, 6.5, 1.2, 2.2, 3.2, 4.0, 5.0, 6.2];
    tensor(&[2, 2, 3], v.to_vec())
}

/// `Nx.tensor([[[4, 2, 1, 3], [4, 2, 1, 7]], [[1, 2, 5, 7], [1, 8, 9, 2]]])`.
fn t2() -> Tensor {
    let v = [4i64, 2, 1, 3, 4, 2, 1, 7, 1, 2, 5, 7, 1, 8, 9, 2];
    tensor(&[2, 2, 4], v.to_vec())
}

/// `Nx.iota({2, 1, 2, 5})`, the vectorized doctests' input devectorized.
fn iota() -> Tensor {
    tensor(&[2, 1, 2, 5], (0..20i64).collect())
}

fn check_i64(x: &Tensor, op: WindowReduce, sp: &WindowSpec, dims: &[usize], want: &[i64]) {
    let r = window_reduce(x, op, sp).unwrap();
    assert_eq!((r.dtype(), r.dims()), (DType::S64, dims), "{op:?} {sp:?}");
    assert_eq!(r.as_slice::<i64>().unwrap(), want, "{op:?} {sp:?}");
}

/// Compares with values as Nx prints them (f32 widened to f64), bit for bit.
fn check_f32(x: &Tensor, op: WindowReduce, sp: &WindowSpec, dims: &[usize], want: &[&str]) {
    let r = window_reduce(x, op, sp).unwrap();
    assert_eq!((r.dtype(), r.dims()), (DType::F32, dims), "{op:?} {sp:?}");
    let want: Vec<u32> = want
        .iter()
        .map(|s| match *s {
            "Inf" => f32::INFINITY,
            "-Inf" => f32::NEG_INFINITY,
            s => s.parse::<f64>().unwrap() as f32,
        })
        .map(f32::to_bits)
        .collect();
    let got: Vec<u32> = r.as_slice::<f32>().unwrap().iter().map(|v| v.to_bits()).collect();
    assert_eq!(got, want, "{op:?} {sp:?}");
}

/// The three float doctests pad axes 0 and 2 and take every other row.
fn float_doctest(op: WindowReduce, pad: &str) {
    let sp = spec(&[2, 1, 1], &[2, 1, 1], &[(1, 1), (0, 0), (1, 1)], &[1, 1, 1]);
    let p = pad;
    #[rustfmt::skip]
    let want = [
        p, "4.0", "2.0", "3.0", p, p, "2.0", "5.0", "6.5", p,
        p, "1.2000000476837158", "2.200000047683716", "3.200000047683716", p,
        p, "4.0", "5.0", "6.199999809265137", p,
    ];
    check_f32(&tf(), op, &sp, &[2, 2, 5], &want);
}

#[test]
fn nx_window_sum_doctests() {
    let dense = WindowSpec::new(vec![1, 2, 1]);
    check_i64(&t1(), Sum, &dense, &[2, 1, 3], &[5, 7, 9, 5, 7, 9]);
    let sp = spec(&[2, 2, 1], &[1, 2, 3], &[(0, 1), (2, 0), (1, 1)], &[1, 1, 1]);
    check_i64(&t1(), Sum, &sp, &[2, 2, 2], &[0, 0, 0, 18, 0, 0, 0, 9]);
    float_doctest(Sum, "0.0");
    let sp = spec(&[1, 1, 2], &[2, 1, 1], &[(0, 0); 3], &[1, 2, 1]);
    check_i64(&t2(), Sum, &sp, &[1, 2, 3], &[6, 3, 4, 6, 3, 8]);
    let sp = spec(&[1, 1, 2], &[2, 1, 1], &[(0, 0); 3], &[1, 2, 2]);
    check_i64(&t2(), Sum, &sp, &[1, 2, 2], &[5, 5, 5, 9]);
    let sp = spec(&[2, 1, 2], &[2, 1, 1], &[(2, 1), (3, 1), (1, 0)], &[1, 2, 2]);
    let mut want = vec![0i64; 27];
    want.extend([4, 11, 14, 10, 15, 19, 0, 0, 0]);
    check_i64(&t2(), Sum, &sp, &[2, 6, 3], &want);
    let sp = spec(&[1, 1, 2, 2], &[1, 1, 1, 2], &[(0, 0); 4], &[1, 1, 1, 2]);
    check_i64(&iota(), Sum, &sp, &[2, 1, 1, 2], &[14, 22, 54, 62]);
}

#[test]
fn nx_window_max_and_min_doctests() {
    let dense = WindowSpec::new(vec![1, 2, 1]);
    check_i64(&t1(), Max, &dense, &[2, 1, 3], &[4, 5, 6, 4, 5, 6]);
    check_i64(&t1(), Min, &dense, &[2, 1, 3], &[1, 2, 3, 1, 2, 3]);
    let sp = spec(&[2, 2, 1], &[1, 2, 3], &[(0, 1), (2, 0), (1, 1)], &[1, 1, 1]);
    let m = i64::MIN;
    check_i64(&t1(), Max, &sp, &[2, 2, 2], &[m, m, m, 6, m, m, m, 6]);
    let m = i64::MAX;
    check_i64(&t1(), Min, &sp, &[2, 2, 2], &[m, m, m, 3, m, m, m, 3]);
    float_doctest(Max, "-Inf");
    float_doctest(Min, "Inf");
    let sp = spec(&[1, 1, 2], &[2, 1, 1], &[(0, 0); 3], &[1, 2, 2]);
    check_i64(&t2(), Max, &sp, &[1, 2, 2], &[4, 3, 4, 7]);
    check_i64(&t2(), Min, &sp, &[1, 2, 2], &[1, 2, 1, 2]);
    let sp = spec(&[1, 1, 2, 2], &[1, 1, 1, 2], &[(0, 0); 4], &[1, 1, 1, 2]);
    check_i64(&iota(), Max, &sp, &[2, 1, 1, 2], &[7, 9, 17, 19]);
    check_i64(&iota(), Min, &sp, &[2, 1, 1, 2], &[0, 2, 10, 12]);
}

#[test]
fn nx_window_product_doctests() {
    let dense = WindowSpec::new(vec![1, 2, 1]);
    check_i64(&t1(), Product, &dense, &[2, 1, 3], &[4, 10, 18, 4, 10, 18]);
    let sp = spec(&[2, 2, 1], &[1, 2, 3], &[(0, 1), (2, 0), (1, 1)], &[1, 1, 1]);
    check_i64(&t1(), Product, &sp, &[2, 2, 2], &[1, 1, 1, 324, 1, 1, 1, 18]);
    float_doctest(Product, "1.0");
    let sp = spec(&[1, 1, 2], &[2, 1, 1], &[(0, 0); 3], &[1, 2, 2]);
    check_i64(&t2(), Product, &sp, &[1, 2, 2], &[4, 6, 4, 14]);
    let sp = spec(&[1, 1, 2, 2], &[1, 1, 1, 2], &[(0, 0); 4], &[1, 1, 1, 2]);
    check_i64(&iota(), Product, &sp, &[2, 1, 1, 2], &[0, 504, 30600, 54264]);
}

fn scatter_i64(t: &Tensor, source: &Tensor, max: bool, sp: &WindowSpec) -> Vec<i64> {
    let r = window_scatter(t, source, &scalar(0i64), max, sp).unwrap();
    assert_eq!((r.dtype(), r.dims()), (DType::S64, t.dims()));
    r.as_slice::<i64>().unwrap().to_vec()
}

#[test]
fn nx_window_scatter_doctests() {
    #[rustfmt::skip]
    let a = tensor(&[4, 6], vec![7i64, 2, 5, 3, 10, 2, 3, 8, 9, 3, 4, 2, 1, 5, 7, 5, 6, 1, 0, 6, 2, 7, 2, 8]);
    let b = [7i64, 2, 5, 3, 8, 3, 8, 9, 3, 4, 1, 5, 7, 5, 6, 0, 6, 2, 10, 2];
    let b = tensor(&[4, 5], b.to_vec());
    let src = tensor(&[2, 2], vec![2i64, 6, 3, 1]);
    let sa = spec(&[2, 3], &[2, 3], &[(0, 0); 2], &[1, 1]);
    let sb = spec(&[2, 3], &[2, 2], &[(0, 0); 2], &[1, 1]);
    #[rustfmt::skip]
    let want = [
        [0, 0, 0, 0, 6, 0, 0, 0, 2, 0, 0, 0, 0, 0, 3, 0, 0, 0, 0, 0, 0, 0, 0, 1],
        [0, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 6, 0, 0, 0, 0, 0, 1, 3, 0, 0, 0, 0, 0],
    ];
    assert_eq!(scatter_i64(&a, &src, true, &sa), want[0]);
    assert_eq!(scatter_i64(&a, &src, false, &sa), want[1]);
    // In the second window of the min's top row, 3 and 3 tie: the later
    // one gets the 6.
    #[rustfmt::skip]
    let want = [
        [0, 0, 0, 0, 0, 0, 0, 8, 0, 0, 0, 0, 3, 0, 0, 0, 0, 0, 1, 0],
        [0, 2, 0, 0, 0, 0, 0, 0, 6, 0, 0, 0, 0, 0, 0, 3, 0, 0, 0, 1],
    ];
    assert_eq!(scatter_i64(&b, &src, true, &sb), want[0]);
    assert_eq!(scatter_i64(&b, &src, false, &sb), want[1]);

    // Vectorized: t over x, source over y, broadcast to [x: 2][y: 2].
    let vectorized = |t: [[i64; 8]; 2]| {
        let data: Vec<i64> = (0..4).flat_map(|xy| t[xy / 2]).collect();
        tensor(&[2, 2, 2, 4], data)
    };
    let source = tensor(&[2, 2, 1, 2], vec![2i64, 6, 3, 1, 2, 6, 3, 1]);
    let sp = spec(&[1, 1, 2, 2], &[1, 1, 1, 2], &[(0, 0); 4], &[1; 4]);
    let t = vectorized([[7, 2, 5, 3, 3, 8, 9, 3], [1, 5, 7, 5, 0, 6, 2, 8]]);
    #[rustfmt::skip]
    assert_eq!(scatter_i64(&t, &source, true, &sp), [
        0, 0, 0, 0, 0, 2, 6, 0, 0, 0, 0, 0, 0, 3, 1, 0,
        0, 0, 0, 0, 0, 2, 0, 6, 0, 0, 0, 0, 0, 3, 0, 1,
    ]);
    let t = vectorized([[7, 2, 5, 1, 3, 8, 9, 3], [1, 5, 7, 5, 0, 6, 2, 8]]);
    #[rustfmt::skip]
    assert_eq!(scatter_i64(&t, &source, false, &sp), [
        0, 2, 0, 6, 0, 0, 0, 0, 0, 3, 0, 1, 0, 0, 0, 0,
        0, 0, 0, 0, 2, 0, 6, 0, 0, 0, 0, 0, 3, 0, 1, 0,
    ]);
}

// ---------------------------------------------------------------------------
// The brute-force reference.

/// SplitMix64, for test parameters.
struct Rng(u64);

impl Rng {
    fn below(&mut self, n: u64) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        (z ^ (z >> 31)) % n
    }

    fn range(&mut self, lo: i64, hi: i64) -> i64 {
        lo + self.below((hi - lo + 1) as u64) as i64
    }
}

/// Rank 1-4, sizes 0-5, windows 1-3, strides 1-3, dilations 1-2, padding
/// -2..3 on each side independently (then raised at the high end until the
/// window fits). `low_zero` keeps every low padding at 0.
fn random_case(rng: &mut Rng, low_zero: bool) -> (Vec<usize>, WindowSpec) {
    let rank = rng.range(1, 4) as usize;
    let mut dims = vec![];
    let mut sp = WindowSpec::new(vec![]);
    for _ in 0..rank {
        let dim = if rng.below(12) == 0 { 0 } else { rng.range(1, 5) };
        let (w, d) = (rng.range(1, 3), rng.range(1, 2));
        let lo = if low_zero { 0 } else { rng.range(-2, 3) };
        let mut hi = rng.range(-2, 3);
        let span = (w - 1) * d + 1;
        hi += (span - (dim + lo + hi)).max(0);
        dims.push(dim as usize);
        sp.window.push(w as usize);
        sp.dilations.push(d as usize);
        sp.strides.push(rng.range(1, 3) as usize);
        sp.padding.push((lo, hi));
    }
    (dims, sp)
}

/// BinaryBackend's windows, literally: anchors at every multiple of the
/// stride of the padded tensor whose dilated window fits (`make_anchors`),
/// then each window's full set of taps, row-major, as the input offset or
/// None for padding (padded coordinate p is input coordinate p - lo).
fn ref_windows(dims: &[usize], sp: &WindowSpec) -> (Vec<usize>, Vec<Vec<Option<usize>>>) {
    let rank = dims.len();
    let anchors: Vec<Vec<i64>> = (0..rank)
        .map(|a| {
            let padded = dims[a] as i64 + sp.padding[a].0 + sp.padding[a].1;
            let span = (sp.window[a] as i64 - 1) * sp.dilations[a] as i64;
            (0..padded)
                .filter(|i| i % sp.strides[a] as i64 == 0 && i + span < padded)
                .collect()
        })
        .collect();
    let out: Vec<usize> = anchors.iter().map(Vec::len).collect();
    let windows = indices(&out)
        .into_iter()
        .map(|o| {
            indices(&sp.window)
                .into_iter()
                .map(|k| {
                    let coords: Option<Vec<usize>> = (0..rank)
                        .map(|a| {
                            let p = anchors[a][o[a]] + (k[a] * sp.dilations[a]) as i64 - sp.padding[a].0;
                            (0..dims[a] as i64).contains(&p).then_some(p as usize)
                        })
                        .collect();
                    coords.map(|c| offset(dims, &c))
                })
                .collect()
        })
        .collect();
    (out, windows)
}

/// Nx's `element_max(x, acc)` clause by clause (binary_backend.ex 712-718).
fn nx_max(x: f64, acc: f64) -> f64 {
    match (x, acc) {
        _ if x.is_nan() || acc.is_nan() => f64::NAN,
        _ if x == f64::INFINITY || acc == f64::INFINITY => f64::INFINITY,
        _ if x == f64::NEG_INFINITY => acc,
        _ if acc == f64::NEG_INFINITY => x,
        _ => {
            if x < acc {
                acc
            } else {
                x
            }
        }
    }
}

/// `window_reduce` over f64 values, padding folded in with Nx's pad values.
fn ref_reduce_float(vals: &[f64], windows: &Windows, op: WindowReduce) -> Vec<f64> {
    let (init, f): (f64, fn(f64, f64) -> f64) = match op {
        Sum => (0.0, |x, a| x + a),
        Product => (1.0, |x, a| x * a),
        Max => (f64::NEG_INFINITY, nx_max),
        Min => (f64::INFINITY, |x, a| -nx_max(-x, -a)),
    };
    let v = |tap: &Option<usize>| tap.map_or(init, |i| vals[i]);
    let fold = |w: &Vec<Option<usize>>| w.iter().fold(init, |a, tap| f(v(tap), a));
    windows.iter().map(fold).collect()
}

/// `window_reduce` over exact integers, wrapped to `T` at the end.
fn ref_reduce_int(vals: &[i128], windows: &Windows, op: WindowReduce, (min, max): (i128, i128)) -> Vec<i128> {
    let (init, f): (i128, fn(i128, i128) -> i128) = match op {
        Sum => (0, i128::wrapping_add),
        Product => (1, i128::wrapping_mul),
        Max => (min, i128::max),
        Min => (max, i128::min),
    };
    let v = |tap: &Option<usize>| tap.map_or(init, |i| vals[i]);
    let fold = |w: &Vec<Option<usize>>| w.iter().fold(init, |a, tap| f(v(tap), a));
    windows.iter().map(fold).collect()
}

fn same_float(got: f64, want: f64) -> bool {
    got.to_bits() == want.to_bits() || (got.is_nan() && want.is_nan())
}

fn check_reduce_float<T: Element>(dims: &[usize], vals: &[f64], sp: &WindowSpec, what: &str) {
    let x = tensor::<T>(dims, vals.iter().map(|&v| T::from_f64(v)).collect());
    let exact: Vec<f64> = x.as_slice::<T>().unwrap().iter().map(|v| v.to_f64()).collect();
    let (out, windows) = ref_windows(dims, sp);
    for op in OPS {
        let (r, ctx) = (
            window_reduce(&x, op, sp).unwrap(),
            format!("{what} {op:?} {dims:?} {sp:?}"),
        );
        assert_eq!((r.dtype(), r.dims()), (T::DTYPE, &out[..]), "{ctx}");
        let want = ref_reduce_float(&exact, &windows, op);
        for (i, (g, w)) in values(&r).into_iter().zip(want).enumerate() {
            let w = T::from_f64(w).to_f64();
            assert!(same_float(g, w), "{ctx}: output {i} is {g}, expected {w}");
        }
    }
}

fn check_reduce_int<T: Element + Bounded>(dims: &[usize], vals: &[i128], sp: &WindowSpec, what: &str) {
    let x = tensor::<T>(dims, vals.iter().map(|&v| T::from_i128(v)).collect());
    let exact: Vec<i128> = x.as_slice::<T>().unwrap().iter().map(|v| v.to_i128()).collect();
    let (out, windows) = ref_windows(dims, sp);
    let bounds = (T::min_value().to_i128(), T::max_value().to_i128());
    for op in OPS {
        let (r, ctx) = (
            window_reduce(&x, op, sp).unwrap(),
            format!("{what} {op:?} {dims:?} {sp:?}"),
        );
        assert_eq!((r.dtype(), r.dims()), (T::DTYPE, &out[..]), "{ctx}");
        let want = ref_reduce_int(&exact, &windows, op, bounds);
        let want: Vec<T> = want.into_iter().map(T::from_i128).collect();
        assert_eq!(r.as_slice::<T>().unwrap(), &want[..], "{ctx}");
    }
}

/// Random data: small integers (many ties) or spread-out values.
fn data(n: usize, seed: u64, ties: bool) -> Vec<f64> {
    let scale = |v: f64| if ties { (v * 3.0).round() } else { v * 10.0 };
    random(n, seed).into_iter().map(scale).collect()
}

#[test]
fn reduce_matches_reference_on_random_geometries() {
    let mut rng = Rng(7);
    for case in 0..300u64 {
        let (dims, sp) = random_case(&mut rng, false);
        let n = dims.iter().product();
        let vals = data(n, case, case.is_multiple_of(2));
        check_reduce_float::<f32>(&dims, &vals, &sp, "f32");
        check_reduce_float::<f64>(&dims, &vals, &sp, "f64");
        // Large values make products (and some sums) wrap.
        let scale = if case.is_multiple_of(3) {
            2f64.powi(50)
        } else {
            20.0
        };
        let ints: Vec<i128> = random(n, case + 1000)
            .iter()
            .map(|v| (v * scale).round() as i128)
            .collect();
        check_reduce_int::<i64>(&dims, &ints, &sp, "s64");
        if case.is_multiple_of(4) {
            check_reduce_int::<u8>(&dims, &ints, &sp, "u8");
            check_reduce_int::<i16>(&dims, &ints, &sp, "s16");
            check_reduce_int::<u64>(&dims, &ints, &sp, "u64");
            check_reduce_float::<f16>(&dims, &vals, &sp, "f16");
            check_reduce_float::<bf16>(&dims, &vals, &sp, "bf16");
        }
    }
}

#[test]
fn reduce_propagates_nan_and_infinities_like_the_reference() {
    let mut rng = Rng(11);
    for case in 0..150u64 {
        let (dims, sp) = random_case(&mut rng, false);
        let n = dims.iter().product();
        let specials = [f64::NAN, f64::INFINITY, f64::NEG_INFINITY, -0.0, 0.0];
        let mut vals = data(n, case, true);
        for (i, v) in vals
            .iter_mut()
            .enumerate()
            .filter(|(i, _)| (*i as u64 + case).is_multiple_of(4))
        {
            *v = specials[(i / 4) % 5];
        }
        check_reduce_float::<f32>(&dims, &vals, &sp, "f32 specials");
        check_reduce_float::<f64>(&dims, &vals, &sp, "f64 specials");
    }
}

#[test]
fn large_inputs_split_across_threads_and_agree() {
    let dims = [300, 520];
    let sp = spec(&[3, 4], &[1, 2], &[(1, 2), (-1, 3)], &[2, 1]);
    check_reduce_float::<f32>(&dims, &data(300 * 520, 3, false), &sp, "large f32");
    let (out, windows) = ref_windows(&dims, &sp);
    assert!(out.iter().product::<usize>() >= 2 * (ELEMENTWISE_GRAIN / 12));
    let x = tensor::<f32>(&dims, f32s(&data(300 * 520, 4, true)));
    let src = tensor::<f32>(&out, f32s(&data(out.iter().product(), 5, false)));
    let got = window_scatter(&x, &src, &scalar(0.5f32), true, &sp).unwrap();
    let want = ref_scatter_f32(&x, &src, 0.5, &windows, true);
    assert_eq!(got.as_slice::<f32>().unwrap(), &want[..]);
}

/// `window_scatter` selections with padding skipped: the first in-bounds
/// tap, replaced by each later one whose key is >= (max) or <= (min).
fn ref_select<K: PartialOrd + Copy>(keys: &[K], windows: &Windows, max: bool) -> Vec<Option<usize>> {
    let better = |i: usize, b: usize| {
        if max {
            keys[i] >= keys[b]
        } else {
            keys[i] <= keys[b]
        }
    };
    let select = |w: &Vec<Option<usize>>| {
        let taps = w.iter().flatten();
        taps.fold(None, |best: Option<usize>, &i| {
            if best.is_none_or(|b| better(i, b)) {
                Some(i)
            } else {
                best
            }
        })
    };
    windows.iter().map(select).collect()
}

fn f32s(v: &[f64]) -> Vec<f32> {
    v.iter().map(|&x| x as f32).collect()
}

/// An f32 scatter with native f32 additions, for f32 `t` and `source`.
fn ref_scatter_f32(t: &Tensor, src: &Tensor, init: f32, windows: &Windows, max: bool) -> Vec<f32> {
    let mut out = vec![init; t.size()];
    let selected = ref_select(t.as_slice::<f32>().unwrap(), windows, max);
    for (sel, &s) in selected.into_iter().zip(src.as_slice::<f32>().unwrap()) {
        if let Some(p) = sel {
            out[p] += s;
        }
    }
    out
}

#[test]
fn scatter_matches_reference_on_random_geometries() {
    let mut rng = Rng(23);
    for case in 0..300u64 {
        let (dims, sp) = random_case(&mut rng, false);
        let (out, windows) = ref_windows(&dims, &sp);
        let (n, m) = (dims.iter().product(), out.iter().product());
        let vals = data(n, case, true);
        let src = data(m, case + 500, false);
        for max in [true, false] {
            let what = format!("{dims:?} {sp:?} max={max}");
            // f32: keys and additions in f32.
            let (x, s) = (tensor::<f32>(&dims, f32s(&vals)), tensor::<f32>(&out, f32s(&src)));
            let got = window_scatter(&x, &s, &scalar(0.25f32), max, &sp).unwrap();
            assert_eq!((got.dtype(), got.dims()), (DType::F32, &dims[..]), "{what}");
            let want = ref_scatter_f32(&x, &s, 0.25, &windows, max);
            assert_eq!(got.as_slice::<f32>().unwrap(), &want[..], "{what}");
            // f64: keys in f32 (exact here), additions in f64.
            let (x, s) = (
                tensor::<f64>(&dims, vals.clone()),
                tensor::<f64>(&out, src.clone()),
            );
            let mut want = vec![-1.5f64; n];
            for (sel, &v) in ref_select(&f32s(&vals), &windows, max).into_iter().zip(&src) {
                if let Some(p) = sel {
                    want[p] += v;
                }
            }
            let got = window_scatter(&x, &s, &scalar(-1.5f64), max, &sp).unwrap();
            assert_eq!(got.as_slice::<f64>().unwrap(), &want[..], "{what}");
            // s64 with an s64 source: keys and wrapping sums in s64.
            let ints: Vec<i64> = vals.iter().map(|&v| v as i64).collect();
            let src_i: Vec<i64> = src.iter().map(|&v| (v * 1e17) as i64).collect();
            let mut want = vec![i64::MAX - 3; n];
            for (sel, &v) in ref_select(&ints, &windows, max).into_iter().zip(&src_i) {
                if let Some(p) = sel {
                    want[p] = want[p].wrapping_add(v);
                }
            }
            let (x, s) = (tensor::<i64>(&dims, ints), tensor::<i64>(&out, src_i));
            let got = window_scatter(&x, &s, &scalar(i64::MAX - 3), max, &sp).unwrap();
            assert_eq!(
                (got.dtype(), got.as_slice::<i64>().unwrap()),
                (DType::S64, &want[..]),
                "{what}"
            );
        }
    }
}

/// BinaryBackend's selection literally: padded taps hold `init` and take
/// part. None when some window selects a padded tap (BinaryBackend then
/// writes outside the output).
fn ref_select_literal(keys: &[f32], init: f32, windows: &Windows, max: bool) -> Option<Vec<usize>> {
    windows
        .iter()
        .map(|w| {
            let key = |tap: &Option<usize>| tap.map_or(init, |i| keys[i]);
            let (mut index, mut acc) = (0, key(&w[0]));
            for (cur, tap) in w.iter().enumerate() {
                let x = key(tap);
                if (max && x >= acc) || (!max && x <= acc) {
                    (index, acc) = (cur, x);
                }
            }
            w[index]
        })
        .collect()
}

#[test]
fn scatter_agrees_with_binary_backend_wherever_it_is_correct() {
    let mut rng = Rng(31);
    let mut compared = 0;
    for case in 0..400u64 {
        // Without low padding, padded and input coordinates coincide.
        let (dims, sp) = random_case(&mut rng, true);
        let (out, windows) = ref_windows(&dims, &sp);
        let vals = data(dims.iter().product(), case, true);
        let keys: Vec<f32> = vals.iter().map(|&v| v as f32).collect();
        let init = if case.is_multiple_of(2) { -5.0 } else { 0.0 };
        for max in [true, false] {
            let Some(selected) = ref_select_literal(&keys, init, &windows, max) else {
                continue;
            };
            let src: Vec<f32> = (0..selected.len()).map(|i| (1u32 << (i % 20)) as f32).collect();
            let mut want = vec![init; keys.len()];
            for (&p, &s) in selected.iter().zip(&src) {
                want[p] += s;
            }
            let x = tensor(&dims, keys.clone());
            let got = window_scatter(&x, &tensor(&out, src), &scalar(init), max, &sp).unwrap();
            assert_eq!(
                got.as_slice::<f32>().unwrap(),
                &want[..],
                "{dims:?} {sp:?} max={max}"
            );
            compared += 1;
        }
    }
    assert!(compared > 200, "only {compared} cases compared");
}

// ---------------------------------------------------------------------------
// Ties, NaN, dtypes, edge shapes.

/// Scatters 1.0 from one window over all of `t` onto zeros.
fn scatter_f64(t: Vec<f64>, max: bool) -> Vec<f64> {
    let sp = WindowSpec::new(vec![t.len()]);
    let x = tensor(&[t.len()], t);
    let r = window_scatter(&x, &tensor(&[1], vec![1.0f64]), &scalar(0.0f64), max, &sp);
    r.unwrap().as_slice::<f64>().unwrap().to_vec()
}

#[test]
fn scatter_ties_go_to_the_last_and_nan_only_when_first() {
    assert_eq!(scatter_f64(vec![1.0, 3.0, 3.0, 2.0], true), [0.0, 0.0, 1.0, 0.0]);
    assert_eq!(scatter_f64(vec![2.0, 1.0, 1.0, 3.0], false), [0.0, 0.0, 1.0, 0.0]);
    assert_eq!(scatter_f64(vec![-0.0, 0.0, -0.0], true), [0.0, 0.0, 1.0]);
    let nan = f64::NAN;
    assert_eq!(scatter_f64(vec![nan, 5.0, 7.0], true), [1.0, 0.0, 0.0]);
    assert_eq!(scatter_f64(vec![5.0, nan, 7.0], true), [0.0, 0.0, 1.0]);
    assert_eq!(scatter_f64(vec![5.0, nan, 3.0], true), [1.0, 0.0, 0.0]);
    assert_eq!(scatter_f64(vec![5.0, nan, 3.0], false), [0.0, 0.0, 1.0]);
    // f64 values compare as f32 (Nx.greater_equal on Elixir floats): these
    // two round to the same f32, so they tie and the later, smaller, wins.
    let above = 1.0 + 2f64.powi(-30);
    assert_eq!(scatter_f64(vec![above, 1.0], true), [0.0, 1.0]);
    assert_eq!(scatter_f64(vec![1.0, above], false), [0.0, 1.0]);
}

#[test]
fn scatter_comparison_and_output_types_follow_nx() {
    let one = WindowSpec::new(vec![2]);
    let pick = |t: Tensor, init: Tensor| {
        let r = window_scatter(&t, &tensor(&[1], vec![1i64]), &init, true, &one).unwrap();
        (r.dtype(), values(&r))
    };
    // An integer t with a float init is padded into f32 first: 2^24 + 1 and
    // 2^24 then tie. With an integer init they compare exactly.
    let big = tensor(&[2], vec![16_777_217i64, 16_777_216]);
    assert_eq!(pick(big.clone(), scalar(0.0f32)), (DType::F32, vec![0.0, 1.0]));
    assert_eq!(pick(big, scalar(0i64)), (DType::S64, vec![1.0, 0.0]));
    // u64 values compare as s64, so u64::MAX is -1.
    let huge = tensor(&[2], vec![u64::MAX, 1]);
    assert_eq!(pick(huge, scalar(0u8)), (DType::S64, vec![0.0, 1.0]));
    // Output type is merge(source, init).
    let t = tensor(&[2], vec![1.0f32, 2.0]);
    let (half, quarter) = (bf16::from_f32(0.5), f16::from_f32(0.25));
    let cases = [
        (scalar(3u8), scalar(-2i8), DType::S16, [-2.0, 1.0]),
        (scalar(half), scalar(quarter), DType::F32, [0.25, 0.75]),
        // The integer joins the f32 sum exactly, as Erlang's int + float.
        (
            scalar(16_777_217i64),
            scalar(1.0f32),
            DType::F32,
            [1.0, 16_777_218.0],
        ),
        (scalar(250u8), scalar(10u8), DType::U8, [10.0, 4.0]),
    ];
    for (src, init, dtype, want) in cases {
        let src = src.reshape(Shape::new(vec![1])).unwrap();
        let r = window_scatter(&t, &src, &init, true, &one).unwrap();
        assert_eq!((r.dtype(), values(&r)), (dtype, want.to_vec()));
    }
}

#[test]
fn scatter_skips_padding_and_maps_back_to_input_coordinates() {
    // Low padding 1: BinaryBackend would shift every result right by one.
    let x = tensor(&[3], vec![1i64, 5, 2]);
    let sp = spec(&[2], &[1], &[(1, 0)], &[1]);
    let r = window_scatter(&x, &tensor(&[3], vec![10i64, 20, 30]), &scalar(0i64), true, &sp).unwrap();
    assert_eq!(r.as_slice::<i64>().unwrap(), &[10, 50, 0]);
    // Negative values lose to padding's init 0 in BinaryBackend; here the
    // real maximum gets the gradient, and a window wholly in padding none.
    let x = tensor(&[2], vec![-3.0f32, -1.0]);
    let sp = spec(&[2], &[2], &[(0, 4)], &[1]);
    let src = tensor(&[3], vec![1.0f32, 2.0, 4.0]);
    let r = window_scatter(&x, &src, &scalar(0.0f32), true, &sp).unwrap();
    assert_eq!(r.as_slice::<f32>().unwrap(), &[0.0, 1.0]);
}

#[test]
fn reduce_nan_zeros_and_padding_values() {
    let f = |v: Vec<f32>, op, sp: &WindowSpec| -> Vec<u32> {
        let r = window_reduce(&tensor(&[v.len()], v), op, sp).unwrap();
        r.as_slice::<f32>().unwrap().iter().map(|x| x.to_bits()).collect()
    };
    let nan = 0x7FC0_0000u32;
    let w2 = WindowSpec::new(vec![2]);
    let odd_nan = f32::from_bits(0xFFC0_0001);
    assert_eq!(f(vec![1.0, odd_nan, 3.0], Max, &w2), [nan, nan]);
    assert_eq!(f(vec![f32::INFINITY, f32::NAN, 3.0], Min, &w2), [nan, nan]);
    assert_eq!(f(vec![f32::INFINITY, f32::NEG_INFINITY], Sum, &w2), [nan]);
    // Equal values keep the later: -0.0 and 0.0 tell which.
    let (z, nz) = (0.0f32.to_bits(), (-0.0f32).to_bits());
    assert_eq!(f(vec![0.0, -0.0, 0.0], Max, &w2), [nz, z]);
    assert_eq!(f(vec![0.0, -0.0, 0.0], Min, &w2), [nz, z]);
    // Sums start from +0.0.
    assert_eq!(f(vec![-0.0, -0.0], Sum, &w2), [z]);
    // f32 sums accumulate in f64 and round once.
    let mut v = vec![1.0f32];
    v.extend([1e-8f32; 127]);
    let exact = v.iter().fold(0.0f64, |a, &x| x as f64 + a) as f32;
    let stepwise = v.iter().fold(0.0f32, |a, &x| x + a);
    assert_ne!(exact, stepwise);
    assert_eq!(f(v, Sum, &WindowSpec::new(vec![128])), [exact.to_bits()]);
    // Half types pad with infinities.
    let h = tensor(&[1], vec![f16::from_f32(2.0)]);
    let r = window_reduce(&h, Max, &spec(&[2], &[1], &[(0, 1)], &[1])).unwrap();
    assert_eq!(r.as_slice::<f16>().unwrap(), &[f16::from_f32(2.0)]);
    let r = window_reduce(&h, Min, &spec(&[1], &[1], &[(1, 0)], &[1])).unwrap();
    assert_eq!(r.as_slice::<f16>().unwrap(), &[f16::INFINITY, f16::from_f32(2.0)]);
}

#[test]
fn reduce_integers_wrap_and_pad_with_type_bounds() {
    let u = tensor(&[2], vec![200u8, 100]);
    let all = WindowSpec::new(vec![2]);
    assert_eq!(red::<u8>(&u, Sum, &all), [44]);
    assert_eq!(red::<i8>(&tensor(&[2], vec![100i8, 3]), Product, &all), [44]);
    let padded = spec(&[1], &[1], &[(1, 0)], &[1]);
    assert_eq!(red::<u8>(&u, Max, &padded), [0, 200, 100]);
    assert_eq!(red::<u8>(&u, Min, &padded), [255, 200, 100]);
    // s16 pads with the real bounds (Nx's tables say -32678 and 32677).
    let s16 = tensor(&[1], vec![-32_700i16]);
    assert_eq!(
        red::<i16>(&s16, Max, &spec(&[2], &[1], &[(1, 0)], &[1])),
        [-32_700]
    );
    assert_eq!(red::<i16>(&s16, Max, &padded), [i16::MIN, -32_700]);
    assert_eq!(red::<i16>(&s16, Min, &padded), [i16::MAX, -32_700]);
}

#[test]
fn scalars_and_zero_sized_inputs() {
    let none = WindowSpec::new(vec![]);
    assert_eq!(red::<i64>(&scalar(5i64), Sum, &none), [5]);
    assert_eq!(red::<f32>(&scalar(-5.0f32), Max, &none), [-5.0]);
    let r = window_scatter(&scalar(1.0f32), &scalar(2.0f32), &scalar(0.5f32), true, &none).unwrap();
    assert_eq!((r.dims(), r.as_slice::<f32>().unwrap()), (&[][..], &[2.5f32][..]));
    // Every window of an empty input lies in padding.
    let e = tensor::<f32>(&[0, 3], vec![]);
    let sp = spec(&[2, 1], &[1, 1], &[(1, 1), (0, 0)], &[1, 1]);
    assert_eq!(window_reduce(&e, Sum, &sp).unwrap().dims(), &[1, 3]);
    assert_eq!(red::<f32>(&e, Sum, &sp), [0.0; 3]);
    assert_eq!(red::<f32>(&e, Max, &sp), [f32::NEG_INFINITY; 3]);
    let src = tensor(&[1, 3], vec![1.0f32; 3]);
    let r = window_scatter(&e, &src, &scalar(7.0f32), true, &sp).unwrap();
    assert_eq!((r.dims(), r.size()), (&[0, 3][..], 0));
    assert!(window_reduce(&e, Sum, &WindowSpec::new(vec![1, 1])).is_err());
}

// ---------------------------------------------------------------------------
// Errors.

fn assert_arg_err(r: Result<Tensor>, op: &str, needle: &str) {
    match r {
        Err(Error::Argument(m)) => assert!(m.starts_with(op) && m.contains(needle), "message: {m}"),
        other => panic!("expected an argument error from {op} mentioning {needle:?}, got {other:?}"),
    }
}

#[test]
fn invalid_specs_are_argument_errors() {
    let x = tensor(&[2, 3], vec![1.0f32; 6]);
    let ok = spec(&[1, 2], &[1, 1], &[(0, 0), (0, 0)], &[1, 1]);
    assert!(window_reduce(&x, Sum, &ok).is_ok());
    let z = [(0, 0); 2];
    let (fit, big) = ("does not fit", usize::MAX);
    #[rustfmt::skip]
    let cases = [
        (spec(&[2], &[1, 1], &z, &[1, 1]), "window"),
        (spec(&[1, 2], &[1], &z, &[1, 1]), "strides"),
        (spec(&[1, 2], &[1, 1], &[(0, 0); 3], &[1, 1]), "padding"),
        (spec(&[1, 2], &[1, 1], &z, &[1, 1, 1]), "window_dilations"),
        (spec(&[0, 2], &[1, 1], &z, &[1, 1]), "window"),
        (spec(&[1, 2], &[1, 0], &z, &[1, 1]), "strides"),
        (spec(&[1, 2], &[1, 1], &z, &[0, 1]), "window_dilations"),
        (spec(&[3, 1], &[1, 1], &z, &[1, 1]), fit),
        (spec(&[1, 3], &[1, 1], &[(0, 0), (-1, 0)], &[1, 1]), fit),
        (spec(&[1, 2], &[1, 1], &z, &[1, 3]), fit),
        (spec(&[1, 2], &[1, 1], &[(0, 0), (i64::MIN, i64::MAX)], &[1, 1]), "too large"),
        (spec(&[1, big], &[1, 1], &z, &[1, 1]), fit),
        (spec(&[1, 2], &[1, 1], &z, &[1, big]), fit),
    ];
    let (src, init) = (tensor(&[1], vec![1.0f32]), scalar(0.0f32));
    for (sp, needle) in &cases {
        for op in OPS {
            assert_arg_err(window_reduce(&x, op, sp), op.name(), needle);
        }
        assert_arg_err(
            window_scatter(&x, &src, &init, true, sp),
            "window_scatter_max",
            needle,
        );
        assert_arg_err(
            window_scatter(&x, &src, &init, false, sp),
            "window_scatter_min",
            needle,
        );
    }
    // Huge strides and dilations of one-wide windows are fine.
    let sp = spec(&[1, 2], &[usize::MAX, 1], &[(0, 0); 2], &[usize::MAX, 1]);
    assert_eq!(window_reduce(&x, Sum, &sp).unwrap().dims(), &[1, 2]);
}

#[test]
fn scatter_checks_source_and_init_value() {
    let x = tensor(&[2, 3], vec![1.0f32; 6]);
    let sp = spec(&[1, 2], &[1, 1], &[(0, 0); 2], &[1, 1]);
    let src = tensor(&[2, 2], vec![1.0f32; 4]);
    assert!(window_scatter(&x, &src, &scalar(0.0f32), true, &sp).is_ok());
    let (wrong, flat, zero) = (
        tensor(&[2, 3], vec![1.0f32; 6]),
        tensor(&[4], vec![1.0f32; 4]),
        scalar(0.0f32),
    );
    assert_arg_err(
        window_scatter(&x, &wrong, &zero, true, &sp),
        "window_scatter_max",
        "source shape",
    );
    assert_arg_err(
        window_scatter(&x, &flat, &zero, false, &sp),
        "window_scatter_min",
        "source shape",
    );
    let init = tensor(&[1], vec![0.0f32]);
    assert_arg_err(
        window_scatter(&x, &src, &init, true, &sp),
        "window_scatter_max",
        "init_value",
    );
    // A source of another rank, and a t whose rank the spec does not match.
    let t3 = tensor(&[1, 2, 3], vec![1.0f32; 6]);
    assert_arg_err(
        window_scatter(&t3, &src, &zero, true, &sp),
        "window_scatter_max",
        "window",
    );
}
