//! Vectorized f32 `exp`, `ln`, `tanh` and logistic sigmoid.
//!
//! std's f32 transcendentals are scalar libm calls: on the 2-core AVX-512
//! VM, `tanh` of 1 Mi f32 took 15.8 ms from Elixir against 0.67 ms for a
//! multiply. These are Cephes's range reductions and polynomials (as SLEEF
//! and PyTorch's vectorized functions use) written branch-free — plain f32
//! arithmetic, bit manipulation, and selects by comparison — so LLVM
//! vectorizes a loop over a slice. [`map`] compiles that loop for AVX-512
//! and AVX2+FMA and picks one at run time, as `row_gemm` does. On one
//! thread the AVX-512 copy takes about 0.5 (`exp`) to 1 (`tanh`) ns an
//! element against std's 4 to 13 (`bench_transcendentals`).
//!
//! Error against f64 std rounded to f32, over every 61st f32 bit pattern
//! plus every float (or every few) of the ranges where each function is
//! hardest; the tests enforce these on every compiled copy: `exp` 0.80
//! ulp, `ln` 0.83, `tanh` 1.03, `sigmoid` 1.24. Subnormal results are
//! computed, not flushed, and included (their error is in subnormal ulps).
//! Special values are std's: NaN gives NaN; `exp` is inf from 88.72 and
//! rounds gradually through the subnormals to 0 below -103.97; `ln(±0) =
//! -inf`, `ln(x < 0) = NaN`, `ln(inf) = inf`; `tanh(±0) = ±0`, `tanh(±inf)
//! = ±1`; `sigmoid(-inf) = 0`, `sigmoid(inf) = 1`.

/// The functions [`map`] has vectorized kernels for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Transcendental {
    /// `e^x`.
    Exp,
    /// The natural logarithm.
    Ln,
    /// The hyperbolic tangent.
    Tanh,
    /// The logistic function `1 / (1 + e^-x)`.
    Sigmoid,
}

impl Transcendental {
    /// The function in f64 with std's implementation: the f64 kernels use
    /// it, and the f32 ones are tested against it.
    #[inline]
    pub fn f64(self, x: f64) -> f64 {
        match self {
            Transcendental::Exp => x.exp(),
            Transcendental::Ln => x.ln(),
            Transcendental::Tanh => x.tanh(),
            // One exp of a non-positive argument, so nothing overflows.
            Transcendental::Sigmoid => {
                let e = (-x.abs()).exp();
                if x >= 0.0 {
                    1.0 / (1.0 + e)
                } else {
                    e / (1.0 + e)
                }
            }
        }
    }
}

/// `out[i] = f(x[i])` (the slices have one length), with the widest SIMD
/// copy of the loop this CPU runs.
pub fn map(f: Transcendental, x: &[f32], out: &mut [f32]) {
    debug_assert_eq!(x.len(), out.len());
    #[cfg(target_arch = "x86_64")]
    {
        if std::is_x86_feature_detected!("avx512f") {
            // SAFETY: the CPU supports the features the copy is compiled for.
            return unsafe { avx512(f, x, out) };
        }
        if std::is_x86_feature_detected!("avx2") && std::is_x86_feature_detected!("fma") {
            // SAFETY: as above.
            return unsafe { avx2(f, x, out) };
        }
    }
    portable(f, x, out)
}

/// [`map`] for f64, with std's functions (f64 is not the
/// performance path, and libm's f64 versions are already exact to < 1 ulp).
pub fn map_f64(f: Transcendental, x: &[f64], out: &mut [f64]) {
    for (o, &v) in out.iter_mut().zip(x) {
        *o = f.f64(v);
    }
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx2,fma")]
unsafe fn avx512(f: Transcendental, x: &[f32], out: &mut [f32]) {
    apply::<true>(f, x, out)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn avx2(f: Transcendental, x: &[f32], out: &mut [f32]) {
    apply::<true>(f, x, out)
}

/// Whether the baseline target has fused multiply-add (aarch64 does,
/// plain x86-64 does not).
const BASELINE_FMA: bool = cfg!(any(target_feature = "fma", target_arch = "aarch64"));

fn portable(f: Transcendental, x: &[f32], out: &mut [f32]) {
    apply::<BASELINE_FMA>(f, x, out)
}

/// The loop, inlined into each feature-specific copy so that it is
/// vectorized for that instruction set. The match is outside the loop, so
/// each arm is a loop of straight-line code.
#[inline(always)]
fn apply<const FMA: bool>(f: Transcendental, x: &[f32], out: &mut [f32]) {
    #[inline(always)]
    fn each(x: &[f32], out: &mut [f32], f: impl Fn(f32) -> f32) {
        for (o, &v) in out.iter_mut().zip(x) {
            *o = f(v);
        }
    }
    match f {
        Transcendental::Exp => each(x, out, exp::<FMA>),
        Transcendental::Ln => each(x, out, ln::<FMA>),
        Transcendental::Tanh => each(x, out, tanh::<FMA>),
        Transcendental::Sigmoid => each(x, out, sigmoid::<FMA>),
    }
}

/// `a * b + c`: fused where the copy has FMA (one rounding, one
/// instruction), two operations otherwise, since `mul_add` without
/// hardware FMA is a libm call that would stop vectorization.
#[inline(always)]
fn mad<const FMA: bool>(a: f32, b: f32, c: f32) -> f32 {
    if FMA {
        a.mul_add(b, c)
    } else {
        a * b + c
    }
}

/// Horner's scheme for `c[0] + c[1] x + ...`.
#[inline(always)]
fn poly<const FMA: bool, const N: usize>(x: f32, c: [f32; N]) -> f32 {
    let mut p = c[N - 1];
    for &ci in c[..N - 1].iter().rev() {
        p = mad::<FMA>(p, x, ci);
    }
    p
}

/// `ln 2` split in two (Cody–Waite): the high part has 9 significant bits,
/// so its product with any reduced exponent (|n| ≤ 150) is exact.
const LN2_HI: f32 = 0.693_359_4;
/// `ln 2 - LN2_HI`.
const LN2_LO: f32 = -2.121_944_4e-4;

/// 2^n for the normal range of exponents, -126 ≤ n ≤ 127.
#[inline(always)]
fn pow2(n: i32) -> f32 {
    f32::from_bits((n.wrapping_add(127) as u32) << 23)
}

/// `e^x`.
#[inline(always)]
fn exp<const FMA: bool>(x: f32) -> f32 {
    let (h, _, s1, s2) = exp_parts::<FMA>(x);
    h * s1 * s2
}

/// `e^x` as `(h + l) s1 s2`, `h` rounded to f32 and `l` its rounding
/// error, for callers that need more than f32 precision: `x = n ln 2 + r`
/// with |r| ≤ ln 2 / 2, `e^r` from Cephes's degree-7 polynomial, and
/// `s1 s2 = 2^n`.
#[inline(always)]
fn exp_parts<const FMA: bool>(x: f32) -> (f32, f32, f32, f32) {
    // Outside these e^x is inf or rounds to 0 anyway; clamping keeps n in
    // [-150, 128]. NaN fails both comparisons and propagates.
    let x = if x > 89.0 { 89.0 } else { x };
    let x = if x < -104.0 { -104.0 } else { x };
    // Adding 1.5 * 2^23 rounds x / ln 2 to an integer, which then sits in
    // the low bits of the sum's mantissa: no float-to-int conversion.
    const SHIFT: f32 = 12_582_912.0;
    let t = mad::<FMA>(x, std::f32::consts::LOG2_E, SHIFT);
    let n = t - SHIFT;
    let r = mad::<FMA>(n, -LN2_HI, x);
    let r = mad::<FMA>(n, -LN2_LO, r);
    let p = poly::<FMA, 6>(
        r,
        [
            0.5,
            1.666_666_5e-1,
            4.166_579_6e-2,
            8.333_452e-3,
            1.398_2e-3,
            1.987_569_1e-4,
        ],
    );
    // 1 + r + r² p, with the rounding error of 1 + r (exact, as |r| < 1)
    // carried into the small terms: one rounding at the end instead of
    // two, which takes the worst case from 1.0 to 0.8 ulp.
    let s = 1.0 + r;
    let u = mad::<FMA>(p, r * r, (1.0 - s) + r);
    let h = s + u;
    let l = (s - h) + u;
    // 2^n in two factors so that each stays a normal float: then n = -150
    // rounds once into the subnormals, and n = 128 overflows to inf, with
    // no special case.
    let n = (t.to_bits() as i32).wrapping_sub(SHIFT.to_bits() as i32);
    let half = n >> 1;
    (h, l, pow2(half), pow2(n.wrapping_sub(half)))
}

/// `a / b` where `a = ah + al` and `b = bh + bl` carry low parts from
/// error-free sums, and `inv_b ≈ 1 / b` (a rough value is enough): the
/// rounded quotient plus a first-order correction for the low parts. This
/// keeps the low parts' ~1 ulp from adding to the division's rounding.
#[inline(always)]
fn div_corrected<const FMA: bool>(
    (ah, al): (f32, f32),
    (bh, bl): (f32, f32),
    inv_b: impl Fn(f32) -> f32,
) -> f32 {
    let q = ah / bh;
    mad::<FMA>(mad::<FMA>(-q, bl, al), inv_b(q), q)
}

/// `ln x`: `x = 2^k m` with √½ ≤ m < √2, `ln m` from Cephes's polynomial
/// in `f = m - 1`, plus `k ln 2`.
#[inline(always)]
fn ln<const FMA: bool>(x: f32) -> f32 {
    // Subnormals are scaled into the normal range first.
    let tiny = x < f32::MIN_POSITIVE;
    let scaled = if tiny { x * 8_388_608.0 } else { x };
    let k_bias = if tiny { -23 } else { 0 };
    // Offsetting the bits by those of √½ makes the exponent field round
    // to the nearest power of two rather than truncate, so that m lands in
    // [√½, √2) where the polynomial is accurate.
    const SQRT_HALF_BITS: u32 = 0x3f35_04f3;
    let bits = scaled.to_bits().wrapping_sub(SQRT_HALF_BITS);
    let k = ((bits as i32) >> 23) + k_bias;
    let m = f32::from_bits((bits & 0x007f_ffff) + SQRT_HALF_BITS);
    let f = m - 1.0;
    let k = k as f32;
    let z = f * f;
    let p = poly::<FMA, 9>(
        f,
        [
            3.333_333e-1,
            -2.499_999_4e-1,
            2.000_071_4e-1,
            -1.666_805_7e-1,
            1.424_932_3e-1,
            -1.242_014_1e-1,
            1.167_699_9e-1,
            -1.151_461e-1,
            7.037_683_6e-2,
        ],
    );
    let y = p * f * z;
    let y = mad::<FMA>(k, LN2_LO, y);
    let y = mad::<FMA>(z, -0.5, y);
    let r = mad::<FMA>(k, LN2_HI, f + y);
    let r = if x == f32::INFINITY { x } else { r };
    let r = if x == 0.0 { f32::NEG_INFINITY } else { r };
    // Negative numbers and NaN.
    if x >= 0.0 {
        r
    } else {
        f32::NAN
    }
}

/// `tanh x`: Cephes's odd polynomial below 0.625 (0.78 ulp there),
/// `(1 - e) / (1 + e)` with `e = e^-2|x|` above, both computed on |x| with
/// x's sign put back last (so -0 stays -0).
#[inline(always)]
fn tanh<const FMA: bool>(x: f32) -> f32 {
    let a = x.abs();
    let z = a * a;
    let p = poly::<FMA, 5>(
        z,
        [
            -3.333_328e-1,
            1.333_144_2e-1,
            -5.373_971_6e-2,
            2.063_909e-2,
            -5.704_988_7e-3,
        ],
    );
    let small = mad::<FMA>(p * z, a, a);
    // e ≤ 1, so the rounding errors of 1 - e and 1 + e are recovered
    // exactly (Fast2Sum). e is 0 for |x| ≥ 52, which makes this exactly 1.
    let (h, l, s1, s2) = exp_parts::<FMA>(-2.0 * a);
    let (eh, el) = (h * s1 * s2, l * s1 * s2);
    let (nh, dh) = (1.0 - eh, 1.0 + eh);
    let num = (nh, ((1.0 - nh) - eh) - el);
    let den = (dh, ((1.0 - dh) + eh) + el);
    // 1 / (1 + e) = (1 + tanh) / 2.
    let large = div_corrected::<FMA>(num, den, |q| (1.0 + q) * 0.5);
    let t = if a >= 0.625 { large } else { small };
    t.copysign(x)
}

/// The logistic function from one `e = e^-|x|`, which cannot overflow:
/// `1 / (1 + e)` for x ≥ 0, `e / (1 + e)` below, where the result tends to
/// `e^x` itself and keeps its precision down to the subnormals. `e`'s low
/// part matters: without it the error reaches 2.3 ulp where `e` sits just
/// above a power of two and the quotient just below.
#[inline(always)]
fn sigmoid<const FMA: bool>(x: f32) -> f32 {
    let (h, l, s1, s2) = exp_parts::<FMA>(-x.abs());
    let (eh, el) = (h * s1 * s2, l * s1 * s2);
    let dh = 1.0 + eh;
    let den = (dh, ((1.0 - dh) + eh) + el);
    let neg = x < 0.0;
    let num = if neg { (eh, el) } else { (1.0, 0.0) };
    // For x < 0, 1 / (1 + e) = 1 - e / (1 + e).
    div_corrected::<FMA>(num, den, |q| if neg { 1.0 - q } else { q })
}

#[cfg(test)]
#[path = "fast_math_tests.rs"]
mod tests;
