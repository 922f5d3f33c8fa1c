//! Running a loop compiled for the widest vector unit the CPU has.
//!
//! The library is built for baseline x86-64 (SSE2), so it runs anywhere;
//! hot elementwise loops outside `myelin_cpu` (the optimizer updates, for
//! instance) get AVX-512 or AVX2 code through [`vectorized`]: the same
//! Rust, inlined into a function compiled with those features and picked
//! at run time. Without fast-math, LLVM does not fuse or reorder float
//! operations, so every variant computes bit-identical results; only the
//! vector width differs.

/// Calls `f` inside a function compiled for AVX-512 (or AVX2 + FMA) when
/// the CPU has it, so that the loops `f` contains, once inlined, are
/// vectorized for it. Put the loop in an `#[inline(always)]` function and
/// call it from a small closure, so the closure inlines too.
#[inline(always)]
pub fn vectorized<R>(f: impl FnOnce() -> R) -> R {
    #[cfg(target_arch = "x86_64")]
    {
        if std::is_x86_feature_detected!("avx512f") {
            // SAFETY: the CPU supports the features the copy is compiled for.
            return unsafe { avx512(f) };
        }
        if std::is_x86_feature_detected!("avx2") && std::is_x86_feature_detected!("fma") {
            // SAFETY: as above.
            return unsafe { avx2(f) };
        }
    }
    f()
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
    #[test]
    fn runs_the_closure_and_returns_its_value() {
        let xs: Vec<f32> = (0..100).map(|i| i as f32).collect();
        let total = super::vectorized(|| xs.iter().map(|x| x.sqrt()).sum::<f32>());
        let plain: f32 = xs.iter().map(|x| x.sqrt()).sum();
        assert_eq!(total, plain);
    }
}
