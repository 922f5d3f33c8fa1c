//! Helpers shared by the convolution and pooling tests.

use myelin_core::{Element, Shape, Tensor};

/// Deterministic values in [-1, 1) (SplitMix64), different per `seed`.
pub(crate) fn random(len: usize, seed: u64) -> Vec<f64> {
    (0..len as u64)
        .map(|i| {
            let mut z = seed
                .wrapping_mul(0x9E37_79B9_7F4A_7C15)
                .wrapping_add(i.wrapping_mul(0xBF58_476D_1CE4_E5B9));
            z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
            z ^= z >> 31;
            (z >> 11) as f64 / (1u64 << 52) as f64 - 1.0
        })
        .collect()
}

/// A tensor of `dims` holding `values` converted to `T`.
pub(crate) fn tensor<T: Element>(dims: &[usize], values: &[f64]) -> Tensor {
    let data: Vec<T> = values.iter().map(|&v| T::from_f64(v)).collect();
    Tensor::from_vec(Shape::new(dims.to_vec()), data).unwrap()
}

/// A random f64 tensor of `dims`, with its values.
pub(crate) fn random_tensor(dims: &[usize], seed: u64) -> (Tensor, Vec<f64>) {
    let v = random(dims.iter().product(), seed);
    (tensor::<f64>(dims, &v), v)
}

/// The elements of `t` as f64.
pub(crate) fn values(t: &Tensor) -> Vec<f64> {
    myelin_core::dispatch_dtype!(t.dtype(), T => t.as_slice::<T>().unwrap().iter().map(|v| v.to_f64()).collect())
}

/// Every multi-index of `dims`, row-major.
pub(crate) fn indices(dims: &[usize]) -> Vec<Vec<usize>> {
    let mut all = vec![vec![]];
    for &d in dims {
        all = all
            .into_iter()
            .flat_map(|p| (0..d).map(move |i| [p.clone(), vec![i]].concat()))
            .collect();
    }
    all
}

/// The row-major offset of `index` in `dims`.
pub(crate) fn offset(dims: &[usize], index: &[usize]) -> usize {
    dims.iter().zip(index).fold(0, |acc, (&d, &i)| acc * d + i)
}

/// Asserts `got` and `want` agree within `tol` (absolute, relative above 1).
pub(crate) fn assert_close(got: &[f64], want: &[f64], tol: f64, what: &str) {
    assert_eq!(got.len(), want.len(), "{what}: lengths differ");
    for (i, (g, w)) in got.iter().zip(want).enumerate() {
        assert!(
            g == w || (g - w).abs() <= tol * w.abs().max(1.0),
            "{what}: element {i} is {g}, expected {w}"
        );
    }
}
