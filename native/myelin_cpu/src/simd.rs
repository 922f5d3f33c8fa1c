//! Running a loop compiled for the widest vector unit the CPU has.
//!
//! The library is built for baseline x86-64 (SSE2), so it runs anywhere.
//! Hot loops (fused elementwise blocks, the batch-1 product, the optimizer
//! updates) get AVX-512 or AVX2 code through [`vectorized`]: the same Rust,
//! inlined into a function compiled with those features and picked at run
//! time. Without fast-math, LLVM does not fuse or reorder float operations,
//! so every copy computes bit-identical results; only the vector width
//! differs. (`fast_math` keeps its own copies: it uses FMA when present,
//! which changes the bits by design.)

/// The instruction sets a loop can be compiled for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Isa {
    /// AVX-512F (with AVX2 and FMA).
    Avx512,
    /// AVX2 and FMA.
    Avx2,
    /// The build's baseline (SSE2 on x86-64, NEON on aarch64).
    Baseline,
}

impl Isa {
    /// The instruction sets this CPU runs, widest first; the baseline is
    /// always last.
    pub fn available() -> Vec<Isa> {
        let mut isas = Vec::new();
        #[cfg(target_arch = "x86_64")]
        {
            if has_avx512() {
                isas.push(Isa::Avx512);
            }
            if has_avx2() {
                isas.push(Isa::Avx2);
            }
        }
        isas.push(Isa::Baseline);
        isas
    }
}

/// Calls `f` inside a function compiled for AVX-512 (or AVX2 + FMA) when
/// the CPU has it, so that the loops `f` contains are vectorized for it.
/// Mark the closure `#[inline(always)]` (and the functions it calls), or
/// the compiler may keep it out of line, compiled for the baseline.
#[inline(always)]
pub fn vectorized<R>(f: impl FnOnce() -> R) -> R {
    #[cfg(target_arch = "x86_64")]
    {
        if has_avx512() {
            // SAFETY: the CPU supports the features the copy is compiled for.
            return unsafe { avx512(f) };
        }
        if has_avx2() {
            // SAFETY: as above.
            return unsafe { avx2(f) };
        }
    }
    f()
}

/// Calls `f` compiled for `isa`, which must be one of
/// [`Isa::available`] (tests use this to check every copy a machine can
/// run, not only the one [`vectorized`] picks). An unavailable `isa` runs
/// the baseline copy.
#[inline(always)]
pub fn run_on<R>(isa: Isa, f: impl FnOnce() -> R) -> R {
    #[cfg(target_arch = "x86_64")]
    {
        if isa == Isa::Avx512 && has_avx512() {
            // SAFETY: the CPU supports the features the copy is compiled for.
            return unsafe { avx512(f) };
        }
        if isa == Isa::Avx2 && has_avx2() {
            // SAFETY: as above.
            return unsafe { avx2(f) };
        }
    }
    let _ = isa;
    f()
}

/// Every feature the AVX-512 copy is compiled with (a VM may mask some).
#[cfg(target_arch = "x86_64")]
#[inline(always)]
fn has_avx512() -> bool {
    std::is_x86_feature_detected!("avx512f") && has_avx2()
}

#[cfg(target_arch = "x86_64")]
#[inline(always)]
fn has_avx2() -> bool {
    std::is_x86_feature_detected!("avx2") && std::is_x86_feature_detected!("fma")
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx2,fma")]
unsafe fn avx512<R>(f: impl FnOnce() -> R) -> R {
    f()
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn avx2<R>(f: impl FnOnce() -> R) -> R {
    f()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_copy_runs_the_closure_and_returns_its_value() {
        let xs: Vec<f32> = (0..100).map(|i| i as f32 * 0.37).collect();
        let plain: Vec<f32> = xs.iter().map(|x| x.sqrt() / (x + 1.0)).collect();
        let isas = Isa::available();
        assert_eq!(isas.last(), Some(&Isa::Baseline));
        for isa in isas {
            let got: Vec<f32> = run_on(
                isa,
                #[inline(always)]
                || xs.iter().map(|x| x.sqrt() / (x + 1.0)).collect(),
            );
            assert_eq!(got, plain, "{isa:?}");
        }
        let best: Vec<f32> = vectorized(
            #[inline(always)]
            || xs.iter().map(|x| x.sqrt() / (x + 1.0)).collect(),
        );
        assert_eq!(best, plain);
    }
}
