//! Discrete Fourier transforms of complex rows.
//!
//! The engine has no complex dtype: `Myelin.Backend` holds a complex tensor
//! of shape `S` as a real tensor of shape `S ++ [2]` (real and imaginary
//! parts interleaved, the same bytes as Nx's `c64`/`c128` binaries). [`fft`]
//! transforms such a tensor along its second-to-last axis, so each row is
//! `n` contiguous `(re, im)` pairs.
//!
//! Every transform is computed in f64 and rounded once to the tensor's type,
//! with the algorithm `Nx.BinaryBackend` uses (recursive radix-2
//! Cooley-Tukey with a direct DFT for odd lengths, Bluestein's algorithm for
//! lengths of at least 1024 that are not powers of two) and the same order
//! of operations, so the two backends agree to the last bit on the same
//! inputs. Values whose magnitude is at most `eps` become 0, as Nx's `eps:`
//! option asks.

use crate::parallel::{for_each_chunk_mut, ELEMENTWISE_GRAIN};
use myelin_core::{DType, Element, Error, Result, Tensor};
use std::f64::consts::PI;

/// A complex number in f64, `(re, im)`.
#[derive(Clone, Copy, Debug, PartialEq)]
struct C64 {
    re: f64,
    im: f64,
}

impl C64 {
    const ZERO: C64 = C64 { re: 0.0, im: 0.0 };

    fn new(re: f64, im: f64) -> C64 {
        C64 { re, im }
    }

    /// `e^(i·phase)`, as `Complex.exp(Complex.new(0, phase))` computes it.
    fn unit(phase: f64) -> C64 {
        if phase == 0.0 {
            return C64::new(1.0, 0.0);
        }
        C64::new(phase.cos(), phase.sin())
    }

    fn add(self, o: C64) -> C64 {
        C64::new(self.re + o.re, self.im + o.im)
    }

    fn sub(self, o: C64) -> C64 {
        C64::new(self.re - o.re, self.im - o.im)
    }

    fn mul(self, o: C64) -> C64 {
        C64::new(self.re * o.re - self.im * o.im, self.im * o.re + self.re * o.im)
    }

    fn conj(self) -> C64 {
        C64::new(self.re, -self.im)
    }
}

/// Transforms the rows of `t` (a real f32 or f64 tensor of shape
/// `[..., n, 2]`) forwards, or backwards when `inverse` (scaled by `1/n`).
/// The result has `t`'s shape and type.
pub fn fft(t: &Tensor, inverse: bool, eps: f64) -> Result<Tensor> {
    let op = if inverse { "ifft" } else { "fft" };
    let dims = t.dims();
    if dims.len() < 2 || dims[dims.len() - 1] != 2 {
        return Err(Error::arg(
            op,
            format!(
                "expected a tensor of (re, im) pairs, shape [..., n, 2], got {:?}",
                dims
            ),
        ));
    }
    match t.dtype() {
        DType::F32 => rows::<f32>(t, dims[dims.len() - 2], inverse, eps),
        DType::F64 => rows::<f64>(t, dims[dims.len() - 2], inverse, eps),
        other => Err(Error::arg(
            op,
            format!("expected the parts of a complex tensor, f32 or f64, got {other}"),
        )),
    }
}

fn rows<T: Element>(t: &Tensor, n: usize, inverse: bool, eps: f64) -> Result<Tensor> {
    let x = t.as_slice::<T>()?;
    let mut out = vec![T::ZERO; x.len()];
    let row_len = 2 * n;
    if row_len > 0 {
        // Whole rows per chunk; a row is O(n log n) or O(n^2) work, so
        // even a few rows are worth a thread.
        let grain = (ELEMENTWISE_GRAIN / 64).max(row_len).next_multiple_of(row_len);
        for_each_chunk_mut(&mut out, grain, |offset, chunk| {
            for (i, row_out) in chunk.chunks_exact_mut(row_len).enumerate() {
                let start = offset + i * row_len;
                let row: Vec<C64> = x[start..start + row_len]
                    .chunks_exact(2)
                    .map(|p| C64::new(p[0].to_f64(), p[1].to_f64()))
                    .collect();
                let y = if inverse { ifft_list(&row) } else { fft_list(&row) };
                for (o, v) in row_out.chunks_exact_mut(2).zip(y) {
                    o[0] = T::from_f64(if v.re.abs() <= eps { 0.0 } else { v.re });
                    o[1] = T::from_f64(if v.im.abs() <= eps { 0.0 } else { v.im });
                }
            }
        });
    }
    Tensor::from_vec(t.shape().clone(), out)
}

fn ifft_list(row: &[C64]) -> Vec<C64> {
    let n = row.len() as f64;
    let conj: Vec<C64> = row.iter().map(|v| v.conj()).collect();
    fft_list(&conj)
        .into_iter()
        .map(|v| C64::new(v.re / n, -v.im / n))
        .collect()
}

fn fft_list(row: &[C64]) -> Vec<C64> {
    let n = row.len();
    if n.is_power_of_two() || n < 1024 {
        fft_base(row)
    } else {
        bluestein(row)
    }
}

/// Radix-2 Cooley-Tukey, with a direct DFT for odd lengths.
fn fft_base(data: &[C64]) -> Vec<C64> {
    let n = data.len();
    if n < 2 {
        return data.to_vec();
    }
    if !n.is_multiple_of(2) {
        let step = -2.0 * PI / n as f64;
        return (0..n)
            .map(|k| {
                if k == 0 {
                    return data.iter().skip(1).fold(data[0], |acc, &x| acc.add(x));
                }
                let phase = step * k as f64;
                let mut acc = data[0].mul(C64::unit(0.0));
                for (i, &x) in data.iter().enumerate().skip(1) {
                    acc = acc.add(x.mul(C64::unit(phase * i as f64)));
                }
                acc
            })
            .collect();
    }
    let even: Vec<C64> = data.iter().step_by(2).copied().collect();
    let odd: Vec<C64> = data.iter().skip(1).step_by(2).copied().collect();
    let (even, odd) = (fft_base(&even), fft_base(&odd));
    let half = n / 2;
    let mut out = vec![C64::ZERO; n];
    for k in 0..half {
        let t = C64::unit(-2.0 * PI * k as f64 / n as f64).mul(odd[k]);
        out[k] = even[k].add(t);
        out[k + half] = even[k].sub(t);
    }
    out
}

/// Bluestein's algorithm: a length-`n` DFT as a convolution of power-of-two
/// length.
fn bluestein(x: &[C64]) -> Vec<C64> {
    let n = x.len();
    let m = (2 * n - 1).next_power_of_two();
    let w: Vec<C64> = (0..n)
        .map(|k| C64::unit(-PI * (k * k) as f64 / n as f64))
        .collect();
    let mut a: Vec<C64> = w.iter().zip(x).map(|(w, x)| w.mul(*x)).collect();
    a.resize(m, C64::ZERO);
    let mut b: Vec<C64> = w.iter().map(|v| v.conj()).collect();
    b.resize(m - n + 1, C64::ZERO);
    b.extend(w[1..].iter().rev().map(|v| v.conj()));
    let c: Vec<C64> = fft_base(&a)
        .into_iter()
        .zip(fft_base(&b))
        .map(|(p, q)| p.mul(q))
        .collect();
    ifft_list(&c)
        .into_iter()
        .zip(&w)
        .map(|(c, w)| c.mul(*w))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use myelin_core::Shape;

    /// The textbook DFT, for comparison.
    fn dft(x: &[C64], inverse: bool) -> Vec<C64> {
        let n = x.len();
        let sign = if inverse { 1.0 } else { -1.0 };
        (0..n)
            .map(|k| {
                let mut acc = C64::ZERO;
                for (j, v) in x.iter().enumerate() {
                    let phase = sign * 2.0 * PI * ((j * k) % n) as f64 / n as f64;
                    acc = acc.add(v.mul(C64::new(phase.cos(), phase.sin())));
                }
                if inverse {
                    C64::new(acc.re / n as f64, acc.im / n as f64)
                } else {
                    acc
                }
            })
            .collect()
    }

    fn signal(n: usize) -> Vec<C64> {
        (0..n)
            .map(|i| C64::new((i as f64 * 0.37).sin() + 0.25, (i as f64 * 0.11).cos() - 0.5))
            .collect()
    }

    fn close(a: &[C64], b: &[C64], tol: f64) {
        assert_eq!(a.len(), b.len());
        for (x, y) in a.iter().zip(b) {
            assert!(
                (x.re - y.re).abs() <= tol && (x.im - y.im).abs() <= tol,
                "{x:?} vs {y:?}"
            );
        }
    }

    #[test]
    fn every_path_matches_the_textbook_dft() {
        // Powers of two, odd lengths, even non-powers (radix-2 down to an
        // odd DFT) and Bluestein's lengths (>= 1024, not a power of two).
        for n in [1, 2, 3, 4, 5, 6, 8, 12, 15, 64, 96, 1025, 1100] {
            let x = signal(n);
            let tol = 1e-9 * n as f64;
            close(&fft_list(&x), &dft(&x, false), tol);
            close(&ifft_list(&x), &dft(&x, true), tol / n as f64 + 1e-12);
            close(&ifft_list(&fft_list(&x)), &x, 1e-12 * n as f64);
        }
    }

    #[test]
    fn tensor_rows_eps_and_types() {
        // Two rows of [1, 1, 0, 0]: the transform is [2, 1-i, 0, 1+i].
        let row = [1.0f32, 0.0, 1.0, 0.0, 0.0, 0.0, 0.0, 0.0];
        let data: Vec<f32> = row.iter().chain(row.iter()).copied().collect();
        let t = Tensor::from_vec(Shape::new(vec![2, 4, 2]), data).unwrap();
        let y = fft(&t, false, 1e-10).unwrap();
        let want = [2.0f32, 0.0, 1.0, -1.0, 0.0, 0.0, 1.0, 1.0];
        assert_eq!(&y.as_slice::<f32>().unwrap()[..8], &want);
        assert_eq!(&y.as_slice::<f32>().unwrap()[8..], &want);
        let back = fft(&y, true, 1e-10).unwrap();
        assert_eq!(back.as_slice::<f32>().unwrap(), t.as_slice::<f32>().unwrap());

        // A length-3 transform has tiny rounding residues: eps zeroes them.
        let t = Tensor::from_vec(Shape::new(vec![3, 2]), vec![1.0f64, 0.0, 1.0, 0.0, 1.0, 0.0]).unwrap();
        let y = fft(&t, false, 1e-10).unwrap();
        assert_eq!(y.as_slice::<f64>().unwrap(), &[3.0, 0.0, 0.0, 0.0, 0.0, 0.0]);
    }

    #[test]
    fn rejects_what_is_not_a_pair_tensor() {
        let t = Tensor::from_vec(Shape::new(vec![4]), vec![0.0f32; 4]).unwrap();
        assert!(fft(&t, false, 0.0)
            .unwrap_err()
            .to_string()
            .contains("[..., n, 2]"));
        let t = Tensor::from_vec(Shape::new(vec![2, 2]), vec![0i32; 4]).unwrap();
        assert!(fft(&t, false, 0.0)
            .unwrap_err()
            .to_string()
            .contains("f32 or f64"));
        let t = Tensor::from_vec(Shape::new(vec![0, 2]), Vec::<f32>::new()).unwrap();
        assert_eq!(fft(&t, true, 0.0).unwrap().dims(), &[0, 2]);
    }
}
