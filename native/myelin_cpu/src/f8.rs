//! Nx 0.13's 8-bit floats, `f8` (E5M2) and `f8_e4m3fn` (E4M3FN).
//!
//! The engine computes on f32: `Myelin.Backend` holds an f8 tensor as an f32
//! tensor whose values all lie on the f8 grid. These kernels convert
//! between that form and Nx's bytes ([`encode`], [`decode`]) and put f32
//! results back on the grid ([`round`]). They reproduce `Nx.Floating`'s
//! `dump_f8`/`load_f8` and `dump_f8_e4m3fn`/`load_f8_e4m3fn` bit for bit
//! (including their rounding: E5M2 keeps the top byte of the f16 encoding;
//! E4M3FN rounds half away from zero without carrying into the exponent,
//! and saturates at ±448), so both backends print the same values. One
//! deliberate difference: E5M2 subnormals (exponent bits 0) read as
//! subnormals, `2^-14 · m/4`, where `load_f8` reads them as normal numbers;
//! so every byte but NaN's reads to a value that dumps back to it, and
//! moving an f8 tensor to and from Myelin keeps its bytes.

use crate::parallel::{for_each_chunk_mut, ELEMENTWISE_GRAIN};
use half::f16;
use myelin_core::{DType, Element, Error, Result, Tensor};

/// The two 8-bit float formats.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum F8Format {
    /// 5 exponent bits, 2 mantissa bits, with infinities (Nx's `{:f, 8}`).
    E5M2,
    /// 4 exponent bits, 3 mantissa bits, no infinities (`{:f8_e4m3fn, 8}`).
    E4M3FN,
}

impl F8Format {
    /// The format of `e4m3fn` (true) or E5M2 (false).
    pub fn from_flag(e4m3fn: bool) -> F8Format {
        if e4m3fn {
            F8Format::E4M3FN
        } else {
            F8Format::E5M2
        }
    }

    /// The byte of `x` (an f32 or f64 value, rounded once).
    pub fn dump(self, x: Wide) -> u8 {
        match self {
            F8Format::E5M2 => dump_e5m2(x),
            F8Format::E4M3FN => dump_e4m3fn(x),
        }
    }

    /// The value of byte `b`.
    pub fn load(self, b: u8) -> f32 {
        match self {
            F8Format::E5M2 => load_e5m2(b),
            F8Format::E4M3FN => load_e4m3fn(b),
        }
    }
}

/// A value to encode, kept in its own precision so that it is rounded once.
#[derive(Clone, Copy, Debug)]
pub enum Wide {
    /// An f32 value.
    F32(f32),
    /// An f64 value.
    F64(f64),
}

impl Wide {
    fn is_nan(self) -> bool {
        match self {
            Wide::F32(x) => x.is_nan(),
            Wide::F64(x) => x.is_nan(),
        }
    }

    fn f64(self) -> f64 {
        match self {
            Wide::F32(x) => x as f64,
            Wide::F64(x) => x,
        }
    }
}

fn dump_e5m2(x: Wide) -> u8 {
    if x.is_nan() {
        return 0x7E;
    }
    let half = match x {
        Wide::F32(x) => f16::from_f32(x),
        Wide::F64(x) => f16::from_f64(x),
    };
    (half.to_bits() >> 8) as u8
}

fn load_e5m2(b: u8) -> f32 {
    let (sign, exp, mantissa) = (b >> 7, (b >> 2) & 0x1F, b & 0x3);
    let value = match (exp, mantissa) {
        (31, 0) => f32::INFINITY,
        (31, _) => return f32::NAN,
        // Subnormals. (Nx.Floating.load_f8 reads exponent 0 as normal, a
        // bug: its values would not dump back to their bytes.)
        (0, _) => 2f64.powi(-14) as f32 * (mantissa as f32 / 4.0),
        _ => 2f64.powi(exp as i32 - 15) as f32 * (1.0 + mantissa as f32 / 4.0),
    };
    if sign == 0 {
        value
    } else {
        -value
    }
}

fn dump_e4m3fn(x: Wide) -> u8 {
    if x.is_nan() {
        return 0x7F;
    }
    let x = x.f64();
    if x == 0.0 {
        return if x.is_sign_negative() { 0x80 } else { 0x00 };
    }
    let clamped = x.clamp(-448.0, 448.0);
    let sign = (clamped < 0.0) as u8;
    let value = clamped.abs();
    let exp_unbiased = value.log2().floor();
    let exp = exp_unbiased as i32 + 7;
    let bits = if exp <= 0 {
        (value / 2f64.powi(-6) * 8.0).round().min(7.0) as u8
    } else if exp > 15 {
        (15 << 3) | 6
    } else {
        let significand = value / 2f64.powf(exp_unbiased);
        let mantissa = ((significand - 1.0) * 8.0).round().clamp(0.0, 7.0) as u8;
        if exp == 15 && mantissa >= 7 {
            (15 << 3) | 6
        } else {
            ((exp as u8) << 3) | mantissa
        }
    };
    (sign << 7) | bits
}

fn load_e4m3fn(b: u8) -> f32 {
    let (sign, exp, mantissa) = (b >> 7, (b >> 3) & 0xF, b & 0x7);
    let value = match (exp, mantissa) {
        (15, 7) => return f32::NAN,
        (0, _) => 2f64.powi(-6) * (mantissa as f64 / 8.0),
        _ => 2f64.powi(exp as i32 - 7) * (1.0 + mantissa as f64 / 8.0),
    } as f32;
    if sign == 0 {
        value
    } else {
        -value
    }
}

fn map<A: Element, B: Element>(t: &Tensor, f: impl Fn(A) -> B + Sync) -> Result<Tensor> {
    let x = t.as_slice::<A>()?;
    let mut out = vec![B::ZERO; x.len()];
    for_each_chunk_mut(&mut out, ELEMENTWISE_GRAIN, |offset, chunk| {
        for (o, &v) in chunk.iter_mut().zip(&x[offset..]) {
            *o = f(v);
        }
    });
    Tensor::from_vec(t.shape().clone(), out)
}

fn expect(t: &Tensor, op: &str, want: &[DType]) -> Result<()> {
    if want.contains(&t.dtype()) {
        Ok(())
    } else {
        let names: Vec<String> = want.iter().map(|d| d.to_string()).collect();
        Err(Error::arg(
            op,
            format!("expected a {} tensor, got {}", names.join(" or "), t.dtype()),
        ))
    }
}

/// Applies `f` to every element of an f32 or f64 tensor, as a [`Wide`].
fn map_wide<B: Element>(t: &Tensor, op: &str, f: impl Fn(Wide) -> B + Sync) -> Result<Tensor> {
    expect(t, op, &[DType::F32, DType::F64])?;
    if t.dtype() == DType::F64 {
        map::<f64, B>(t, |x| f(Wide::F64(x)))
    } else {
        map::<f32, B>(t, |x| f(Wide::F32(x)))
    }
}

/// Nx's f8 bytes (a u8 tensor) of the f32 or f64 tensor `t`.
pub fn encode(t: &Tensor, format: F8Format) -> Result<Tensor> {
    map_wide::<u8>(t, "f8_encode", |x| format.dump(x))
}

/// The f32 values of the f8 bytes `t` (a u8 tensor).
pub fn decode(t: &Tensor, format: F8Format) -> Result<Tensor> {
    expect(t, "f8_decode", &[DType::U8])?;
    map::<u8, f32>(t, |b| format.load(b))
}

/// Rounds the f32 or f64 tensor `t` onto the f8 grid, as f32
/// (`decode(encode(t))` in one pass).
pub fn round(t: &Tensor, format: F8Format) -> Result<Tensor> {
    map_wide::<f32>(t, "f8_round", |x| format.load(format.dump(x)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use myelin_core::Shape;

    #[test]
    fn every_byte_round_trips_through_its_value() {
        for format in [F8Format::E5M2, F8Format::E4M3FN] {
            for b in 0..=255u8 {
                let v = format.load(b);
                if v.is_nan() {
                    continue;
                }
                assert_eq!(format.dump(Wide::F32(v)), b, "{format:?} byte {b:#04x} value {v}");
            }
        }
    }

    #[test]
    fn values_follow_nx_floating() {
        // The examples of Nx.Floating's docs.
        assert_eq!(dump_e4m3fn(Wide::F32(1.0)), 0x38);
        assert_eq!(dump_e4m3fn(Wide::F32(448.0)), 0x7E);
        assert_eq!(dump_e4m3fn(Wide::F32(-448.0)), 0xFE);
        assert_eq!(dump_e4m3fn(Wide::F32(f32::INFINITY)), 0x7E);
        assert_eq!(dump_e4m3fn(Wide::F32(f32::NEG_INFINITY)), 0xFE);
        assert_eq!(dump_e4m3fn(Wide::F32(f32::NAN)), 0x7F);
        assert_eq!(dump_e4m3fn(Wide::F32(-0.0)), 0x80);
        assert_eq!(load_e5m2(dump_e5m2(Wide::F32(-2.0))), -2.0);
        assert_eq!(dump_e5m2(Wide::F32(f32::INFINITY)), 0x7C);
        assert_eq!(dump_e5m2(Wide::F32(f32::NEG_INFINITY)), 0xFC);
        assert!(load_e5m2(dump_e5m2(Wide::F32(f32::NAN))).is_nan());
        // E5M2 keeps the top byte of f16: 1.2 is 0x3CCD in f16, so 0x3C = 1.0.
        assert_eq!(load_e5m2(dump_e5m2(Wide::F32(1.2))), 1.0);
        // E4M3FN rounds half away from zero and does not carry: 1.99 -> 1.875.
        assert_eq!(load_e4m3fn(dump_e4m3fn(Wide::F32(1.99))), 1.875);
        assert_eq!(load_e4m3fn(dump_e4m3fn(Wide::F32(1.0625))), 1.125);
        // Subnormals: 2^-6 * m / 8.
        assert_eq!(load_e4m3fn(0x01), 2f32.powi(-9));
    }

    #[test]
    fn tensor_kernels_check_their_types() {
        let t = Tensor::from_vec(Shape::new(vec![3]), vec![1.0f32, 1.99, -500.0]).unwrap();
        let e = encode(&t, F8Format::E4M3FN).unwrap();
        assert_eq!(e.as_slice::<u8>().unwrap(), &[0x38, 0x3F, 0xFE]);
        let d = decode(&e, F8Format::E4M3FN).unwrap();
        assert_eq!(d.as_slice::<f32>().unwrap(), &[1.0, 1.875, -448.0]);
        assert_eq!(
            round(&t, F8Format::E4M3FN).unwrap().as_slice::<f32>().unwrap(),
            &[1.0, 1.875, -448.0]
        );
        assert!(decode(&t, F8Format::E5M2)
            .unwrap_err()
            .to_string()
            .contains("expected a {:u, 8} tensor"));
        assert!(encode(&e, F8Format::E5M2)
            .unwrap_err()
            .to_string()
            .contains("expected a {:f, 32} or {:f, 64} tensor"));
        // From f64 the value is rounded once: just below 1.0625 is 1.0, not 1.125.
        let just_below = 1.0625f64 - 2f64.powi(-40);
        let t = Tensor::from_vec(Shape::new(vec![1]), vec![just_below]).unwrap();
        assert_eq!(
            round(&t, F8Format::E4M3FN).unwrap().as_slice::<f32>().unwrap(),
            &[1.0]
        );
    }
}
