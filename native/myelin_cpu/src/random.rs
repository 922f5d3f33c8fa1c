//! Seeded random numbers that are the same on every machine.
//!
//! Generation is counter-based: element `i` is a function of `(seed, i)`
//! only (the SplitMix64 mixer applied to `seed + i·γ`), so results do not
//! depend on thread count, and the transcendental functions come from the
//! pure-Rust `libm`, so they do not depend on the platform's C library.

use crate::creation::generate;
use myelin_core::{dispatch_dtype, DType, Element, Error, Result, Shape, Tensor};

const GOLDEN_GAMMA: u64 = 0x9e37_79b9_7f4a_7c15;

/// The `i`-th 64 random bits of stream `seed`.
#[inline]
fn bits(seed: u64, i: u64) -> u64 {
    let mut z = seed.wrapping_add(GOLDEN_GAMMA.wrapping_mul(i.wrapping_add(1)));
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// A uniform f64 in [0, 1) with 53 random bits.
#[inline]
fn unit(seed: u64, i: u64) -> f64 {
    (bits(seed, i) >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
}

/// Uniform samples in `[min, max)`. For integer types the bounds are
/// integers and samples are whole numbers in `[min, max)`.
pub fn random_uniform(seed: u64, min: f64, max: f64, dtype: DType, shape: &Shape) -> Result<Tensor> {
    shape.checked_size("random_uniform")?;
    if !(min.is_finite() && max.is_finite()) || min >= max {
        return Err(Error::arg(
            "random_uniform",
            format!("expected finite bounds with min < max, got min = {min}, max = {max}"),
        ));
    }
    let span = max - min;
    dispatch_dtype!(dtype, T => generate::<T>(shape, |i| {
        let u = unit(seed, i as u64);
        if T::DTYPE.is_float() {
            T::from_f64(min + span * u)
        } else {
            T::from_f64((min + (span * u).floor()).min(max - 1.0))
        }
    }))
}

/// Normal samples with the given mean and standard deviation (Box–Muller,
/// computed in f64). Only float types are allowed.
pub fn random_normal(seed: u64, mean: f64, std: f64, dtype: DType, shape: &Shape) -> Result<Tensor> {
    shape.checked_size("random_normal")?;
    if !dtype.is_float() {
        return Err(Error::arg(
            "random_normal",
            format!("expected a float type, got {dtype}"),
        ));
    }
    if !(mean.is_finite() && std.is_finite()) || std < 0.0 {
        return Err(Error::arg(
            "random_normal",
            format!(
                "expected a finite mean and a finite, non-negative standard deviation, got {mean} and {std}"
            ),
        ));
    }
    dispatch_dtype!(dtype, T => generate::<T>(shape, |i| T::from_f64(mean + std * standard_normal(seed, i as u64))))
}

/// The `i`-th standard normal of stream `seed`: pairs (2k, 2k+1) share two
/// uniforms and take the cosine and sine halves of Box–Muller.
fn standard_normal(seed: u64, i: u64) -> f64 {
    let pair = i / 2;
    // 1 - u lies in (0, 1], so the logarithm is finite.
    let u1 = 1.0 - unit(seed, 2 * pair);
    let u2 = unit(seed, 2 * pair + 1);
    let r = libm::sqrt(-2.0 * libm::log(u1));
    let theta = 2.0 * std::f64::consts::PI * u2;
    if i.is_multiple_of(2) {
        r * libm::cos(theta)
    } else {
        r * libm::sin(theta)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_seed_same_numbers_and_known_values() {
        let s = Shape::new(vec![1000]);
        let a = random_uniform(42, 0.0, 1.0, DType::F64, &s).unwrap();
        let b = random_uniform(42, 0.0, 1.0, DType::F64, &s).unwrap();
        assert_eq!(a.as_slice::<f64>().unwrap(), b.as_slice::<f64>().unwrap());
        let c = random_uniform(43, 0.0, 1.0, DType::F64, &s).unwrap();
        assert_ne!(a.as_slice::<f64>().unwrap(), c.as_slice::<f64>().unwrap());
        // Pinned value: changing the generator must be a deliberate act.
        assert_eq!(bits(0, 0), 0xe220_a839_7b1d_cdaf);
    }

    #[test]
    fn moments_are_right() {
        let s = Shape::new(vec![200_000]);
        let u = random_uniform(7, -1.0, 3.0, DType::F32, &s).unwrap();
        let u = u.as_slice::<f32>().unwrap();
        let mean = u.iter().map(|&x| x as f64).sum::<f64>() / u.len() as f64;
        assert!((mean - 1.0).abs() < 0.02, "{mean}");
        assert!(u.iter().all(|&x| (-1.0..3.0).contains(&x)));
        let n = random_normal(7, 2.0, 0.5, DType::F64, &s).unwrap();
        let n = n.as_slice::<f64>().unwrap();
        let m = n.iter().sum::<f64>() / n.len() as f64;
        let v = n.iter().map(|x| (x - m) * (x - m)).sum::<f64>() / n.len() as f64;
        assert!((m - 2.0).abs() < 0.01 && (v.sqrt() - 0.5).abs() < 0.01, "{m} {v}");
    }

    #[test]
    fn integer_uniform_stays_in_range() {
        let t = random_uniform(1, 0.0, 10.0, DType::S32, &Shape::new(vec![10_000])).unwrap();
        let v = t.as_slice::<i32>().unwrap();
        assert!(v.iter().all(|&x| (0..10).contains(&x)));
        assert!((0..10).all(|k| v.contains(&k)));
        assert!(random_normal(1, 0.0, 1.0, DType::S32, &Shape::new(vec![1])).is_err());
        assert!(random_uniform(1, 1.0, 1.0, DType::F32, &Shape::new(vec![1])).is_err());
    }
}
