//! NIFs for the neural-network ops that are also eager tensor ops:
//! convolution (`Myelin.Tensor.conv/3`, `Nx.conv/3` on Myelin.Backend).

use crate::codec::tensor;
use crate::resource::TensorRef;
use myelin_core::shape::conv::ConvSpec;

/// `[{low, high}, ...]` padding, one pair per spatial dim.
pub type Pads = Vec<(usize, usize)>;
/// One size per spatial dim.
type Sizes = Vec<usize>;

// Channels-first convolution; the Elixir side has already resolved Nx's
// options (permutations, negative padding) into this form.
nif_pair!(conv, conv_dirty, "conv",
(input: TensorRef, kernel: TensorRef, strides: Sizes, padding: Pads, input_dilation: Sizes, kernel_dilation: Sizes, groups: usize),
|input: TensorRef, kernel: TensorRef, strides: Sizes, padding: Pads, input_dilation: Sizes, kernel_dilation: Sizes, groups: usize| {
    let spec = ConvSpec { strides, padding, input_dilation, kernel_dilation, groups };
    myelin_cpu::conv::conv(tensor(&input), tensor(&kernel), &spec)
});
