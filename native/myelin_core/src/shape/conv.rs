//! Shape rules of convolution and pooling, channels first.
//!
//! An input is `{N, C, *spatial}` with one to three spatial dims; a
//! convolution kernel is `{O, C/groups, *k}`. Every spatial dim follows the
//! same arithmetic: the input is dilated (`input_dilation - 1` zeros between
//! elements), padded, and a window of the dilated kernel size slides over it
//! with the given stride, keeping only the positions where it fits whole.

use super::Shape;
use crate::error::{Error, Result};

/// How a convolution slides its kernel. Each vector has one entry per
/// spatial dim.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConvSpec {
    /// Step between output positions (≥ 1).
    pub strides: Vec<usize>,
    /// Zeros added before and after the (dilated) input.
    pub padding: Vec<(usize, usize)>,
    /// Spacing of input elements (≥ 1; above 1 it is a transposed
    /// convolution's fractional stride).
    pub input_dilation: Vec<usize>,
    /// Spacing of kernel elements (≥ 1, "atrous" convolution).
    pub kernel_dilation: Vec<usize>,
    /// Feature groups (≥ 1): input and output channels are split into
    /// `groups` blocks and block g of the output sees only block g of the
    /// input. `groups == C` is a depthwise convolution.
    pub groups: usize,
}

impl ConvSpec {
    /// Unit strides, no padding, no dilation, one group, for `spatial` dims.
    pub fn new(spatial: usize) -> ConvSpec {
        ConvSpec {
            strides: vec![1; spatial],
            padding: vec![(0, 0); spatial],
            input_dilation: vec![1; spatial],
            kernel_dilation: vec![1; spatial],
            groups: 1,
        }
    }
}

/// The rule of `conv`: the output shape `{N, O, *out}` for `input`
/// `{N, C, *spatial}` and `kernel` `{O, C/groups, *k}`. Errors name "conv".
pub fn conv_output_shape(input: &Shape, kernel: &Shape, spec: &ConvSpec) -> Result<Shape> {
    conv_shape("conv", input, kernel, spec)
}

/// [`conv_output_shape`] with the errors naming `op` (the gradients use it).
pub fn conv_shape(op: &str, input: &Shape, kernel: &Shape, spec: &ConvSpec) -> Result<Shape> {
    let spatial = spatial_rank(op, "input", input)?;
    if kernel.rank() != input.rank() {
        return Err(Error::arg(
            op,
            format!(
                "expected a kernel of rank {} (like the input {input}), got kernel shape {kernel}",
                input.rank()
            ),
        ));
    }
    check_len(op, "strides", spec.strides.len(), spatial, input)?;
    check_len(op, "padding", spec.padding.len(), spatial, input)?;
    check_len(op, "input_dilation", spec.input_dilation.len(), spatial, input)?;
    check_len(op, "kernel_dilation", spec.kernel_dilation.len(), spatial, input)?;
    check_positive(op, "strides", &spec.strides)?;
    check_positive(op, "input_dilation", &spec.input_dilation)?;
    check_positive(op, "kernel_dilation", &spec.kernel_dilation)?;
    let (id, kd) = (input.dims(), kernel.dims());
    let groups = spec.groups;
    if groups == 0 || id[1] % groups != 0 || kd[0] % groups != 0 {
        return Err(Error::arg(
            op,
            format!(
                "groups must be at least 1 and divide both the input channels and the kernel's output \
                 channels, got groups {groups} for input shape {input} and kernel shape {kernel}"
            ),
        ));
    }
    if kd[1] * groups != id[1] {
        return Err(Error::arg(
            op,
            format!(
                "input shape {input} has {} channels, but kernel shape {kernel} with groups {groups} \
                 expects {} (kernel dim 1 times groups)",
                id[1],
                kd[1] * groups
            ),
        ));
    }
    let mut out = vec![id[0], kd[0]];
    for d in 0..spatial {
        let (size, k) = (id[d + 2], kd[d + 2]);
        let (lo, hi) = spec.padding[d];
        let dilated_in = dilated(size, spec.input_dilation[d]) + lo + hi;
        let dilated_k = dilated(k, spec.kernel_dilation[d]);
        if k == 0 || dilated_k > dilated_in {
            return Err(Error::arg(
                op,
                format!(
                    "kernel shape {kernel} (dilated size {dilated_k} in spatial dim {d}) must be non-empty and \
                     fit the padded input shape {input} (size {dilated_in} in that dim after dilation and padding)"
                ),
            ));
        }
        out.push((dilated_in - dilated_k) / spec.strides[d] + 1);
    }
    Ok(Shape::new(out))
}

/// The rule of windowed pooling (`op` is named in errors): the output
/// `{N, C, *out}` of a `window` sliding over the padded spatial dims of
/// `input` with `strides`.
pub fn pool_output_shape(
    op: &str,
    input: &Shape,
    window: &[usize],
    strides: &[usize],
    padding: &[(usize, usize)],
) -> Result<Shape> {
    let spatial = spatial_rank(op, "input", input)?;
    check_len(op, "window", window.len(), spatial, input)?;
    check_len(op, "strides", strides.len(), spatial, input)?;
    check_len(op, "padding", padding.len(), spatial, input)?;
    check_positive(op, "window", window)?;
    check_positive(op, "strides", strides)?;
    let dims = input.dims();
    let mut out = dims[..2].to_vec();
    for d in 0..spatial {
        let padded = dims[d + 2] + padding[d].0 + padding[d].1;
        if window[d] > padded {
            return Err(Error::arg(
                op,
                format!(
                    "window {window:?} does not fit the padded input shape {input} \
                     (size {padded} in spatial dim {d}, window {})",
                    window[d]
                ),
            ));
        }
        out.push((padded - window[d]) / strides[d] + 1);
    }
    Ok(Shape::new(out))
}

/// The rule of adaptive pooling: `{N, C, *output_size}`; every output size
/// must be at least 1 and at most the input size.
pub fn adaptive_pool_output_shape(op: &str, input: &Shape, output_size: &[usize]) -> Result<Shape> {
    let spatial = spatial_rank(op, "input", input)?;
    check_len(op, "output_size", output_size.len(), spatial, input)?;
    let dims = input.dims();
    if output_size.iter().zip(&dims[2..]).any(|(&o, &i)| o == 0 || o > i) {
        return Err(Error::arg(
            op,
            format!(
                "expected each output size to be between 1 and the input's spatial size, \
                 got output_size {output_size:?} for input shape {input}"
            ),
        ));
    }
    let mut out = dims[..2].to_vec();
    out.extend_from_slice(output_size);
    Ok(Shape::new(out))
}

/// The input range `[start, end)` pooled into each of `output` positions
/// from `input` positions, as PyTorch's adaptive pooling:
/// `start = floor(i * input / output)`, `end = ceil((i + 1) * input / output)`.
/// When `output` divides `input` these are equal windows of `input / output`,
/// the same as Axon's adaptive pooling (which uses a fixed window and stride).
pub fn adaptive_pool_ranges(input: usize, output: usize) -> Vec<(usize, usize)> {
    (0..output)
        .map(|i| (i * input / output, ((i + 1) * input).div_ceil(output)))
        .collect()
}

/// Nx's `:same` padding: the output has `ceil(input / stride)` positions,
/// and the padding needed for it is split with the smaller half first.
pub fn same_padding(
    input: &[usize],
    window: &[usize],
    strides: &[usize],
    dilation: &[usize],
) -> Vec<(usize, usize)> {
    input
        .iter()
        .zip(window)
        .zip(strides.iter().zip(dilation))
        .map(|((&i, &w), (&s, &d))| {
            let out = i.div_ceil(s.max(1));
            let total = ((out.max(1) - 1) * s + dilated(w, d)).saturating_sub(i);
            (total / 2, total - total / 2)
        })
        .collect()
}

/// The size of `size` elements spread `dilation` apart (0 stays 0).
pub fn dilated(size: usize, dilation: usize) -> usize {
    if size == 0 {
        0
    } else {
        (size - 1) * dilation + 1
    }
}

fn spatial_rank(op: &str, what: &str, shape: &Shape) -> Result<usize> {
    if !(3..=5).contains(&shape.rank()) {
        return Err(Error::arg(
            op,
            format!(
                "expected the {what} to have rank 3 to 5 ({{N, C}} and 1 to 3 spatial dims), got shape {shape}"
            ),
        ));
    }
    Ok(shape.rank() - 2)
}

fn check_len(op: &str, what: &str, got: usize, spatial: usize, input: &Shape) -> Result<()> {
    if got != spatial {
        return Err(Error::arg(
            op,
            format!(
                "expected {what} to have {spatial} entries (one per spatial dim of input shape {input}), got {got}"
            ),
        ));
    }
    Ok(())
}

fn check_positive(op: &str, what: &str, values: &[usize]) -> Result<()> {
    if values.contains(&0) {
        return Err(Error::arg(
            op,
            format!("expected every entry of {what} to be at least 1, got {values:?}"),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(d: &[usize]) -> Shape {
        Shape::new(d.to_vec())
    }

    #[test]
    fn conv_shapes() {
        let spec = ConvSpec::new(2);
        let out = conv_output_shape(&s(&[8, 3, 28, 28]), &s(&[16, 3, 3, 3]), &spec).unwrap();
        assert_eq!(out, s(&[8, 16, 26, 26]));
        let spec = ConvSpec {
            strides: vec![2, 1],
            padding: vec![(1, 1), (0, 2)],
            input_dilation: vec![1, 2],
            kernel_dilation: vec![2, 1],
            groups: 3,
        };
        // dim 0: 10 + 2 = 12 padded, kernel 3 dilated by 2 = 5: (12-5)/2+1 = 4.
        // dim 1: 7 dilated by 2 = 13, + 2 = 15, kernel 2: 14.
        let out = conv_output_shape(&s(&[1, 6, 10, 7]), &s(&[9, 2, 3, 2]), &spec).unwrap();
        assert_eq!(out, s(&[1, 9, 4, 14]));
    }

    #[test]
    fn conv_errors_name_the_op_and_shapes() {
        let spec = ConvSpec::new(2);
        let e = conv_output_shape(&s(&[1, 3, 5, 5]), &s(&[4, 2, 3, 3]), &spec).unwrap_err();
        assert_eq!(
            e.message(),
            "conv: input shape {1, 3, 5, 5} has 3 channels, but kernel shape {4, 2, 3, 3} with groups 1 \
             expects 2 (kernel dim 1 times groups)"
        );
        let e = conv_output_shape(&s(&[1, 3, 2, 5]), &s(&[4, 3, 3, 3]), &spec).unwrap_err();
        assert!(e
            .message()
            .starts_with("conv: kernel shape {4, 3, 3, 3} (dilated size 3 in spatial dim 0)"));
        let e = conv_output_shape(&s(&[1, 3, 5]), &s(&[4, 3, 3, 3]), &ConvSpec::new(1)).unwrap_err();
        assert!(e.message().contains("expected a kernel of rank 3"), "{e}");
        let e = conv_output_shape(&s(&[1, 3]), &s(&[4, 3]), &ConvSpec::new(0)).unwrap_err();
        assert!(e.message().contains("rank 3 to 5"), "{e}");
        let grouped = ConvSpec {
            groups: 2,
            ..ConvSpec::new(2)
        };
        let e = conv_output_shape(&s(&[1, 3, 5, 5]), &s(&[4, 1, 3, 3]), &grouped).unwrap_err();
        assert!(
            e.message().contains("groups must be at least 1 and divide"),
            "{e}"
        );
        let e = conv_shape(
            "conv_input_grad",
            &s(&[1, 3, 5, 5]),
            &s(&[4, 3, 3, 3]),
            &ConvSpec::new(1),
        )
        .unwrap_err();
        assert!(
            e.message()
                .starts_with("conv_input_grad: expected strides to have 2 entries"),
            "{e}"
        );
        let zero = ConvSpec {
            strides: vec![0, 1],
            ..ConvSpec::new(2)
        };
        let e = conv_output_shape(&s(&[1, 3, 5, 5]), &s(&[4, 3, 3, 3]), &zero).unwrap_err();
        assert!(e.message().contains("strides to be at least 1"), "{e}");
        let e = conv_output_shape(&s(&[1, 3, 5, 5]), &s(&[4, 3, 0, 3]), &spec).unwrap_err();
        assert!(e.message().contains("must be non-empty"), "{e}");
    }

    #[test]
    fn pool_shapes_and_errors() {
        let out = pool_output_shape("max_pool", &s(&[2, 3, 7, 6]), &[2, 2], &[2, 2], &[(0, 0), (1, 1)]);
        assert_eq!(out.unwrap(), s(&[2, 3, 3, 4]));
        let e = pool_output_shape("max_pool", &s(&[2, 3, 1]), &[2], &[1], &[(0, 0)]).unwrap_err();
        assert!(
            e.message().starts_with("max_pool: window [2] does not fit"),
            "{e}"
        );
        let e = pool_output_shape("avg_pool", &s(&[2, 3, 4]), &[2, 2], &[1], &[(0, 0)]).unwrap_err();
        assert!(e.message().contains("expected window to have 1 entries"), "{e}");
        let e = pool_output_shape("avg_pool", &s(&[2, 3, 4]), &[0], &[1], &[(0, 0)]).unwrap_err();
        assert!(e.message().contains("window to be at least 1"), "{e}");
    }

    #[test]
    fn adaptive_ranges_cover_the_input() {
        assert_eq!(
            adaptive_pool_ranges(10, 5),
            vec![(0, 2), (2, 4), (4, 6), (6, 8), (8, 10)]
        );
        assert_eq!(adaptive_pool_ranges(5, 3), vec![(0, 2), (1, 4), (3, 5)]);
        assert_eq!(adaptive_pool_ranges(3, 3), vec![(0, 1), (1, 2), (2, 3)]);
        let out = adaptive_pool_output_shape("adaptive_avg_pool", &s(&[1, 2, 5, 5]), &[3, 1]).unwrap();
        assert_eq!(out, s(&[1, 2, 3, 1]));
        let e = adaptive_pool_output_shape("adaptive_avg_pool", &s(&[1, 2, 5, 5]), &[6, 1]).unwrap_err();
        assert!(
            e.message().contains("between 1 and the input's spatial size"),
            "{e}"
        );
    }

    #[test]
    fn same_padding_as_nx() {
        // 5 wide, window 3, stride 1: pad 1 each side; stride 2: out 3, total 2.
        assert_eq!(same_padding(&[5], &[3], &[1], &[1]), vec![(1, 1)]);
        assert_eq!(
            same_padding(&[6, 5], &[3, 2], &[2, 2], &[1, 1]),
            vec![(0, 1), (0, 1)]
        );
        assert_eq!(same_padding(&[5], &[3], &[1], &[2]), vec![(2, 2)]);
    }
}
