//! NIFs for the neural-network ops that are also eager tensor ops:
//! convolution (`Myelin.Tensor.conv/3`) and the window reductions and
//! scatters (`Myelin.Tensor.window_sum/3` ...), which Myelin.Backend uses
//! for Nx's.

use crate::codec::{op_name, tensor};
use crate::resource::TensorRef;
use myelin_core::shape::conv::ConvSpec;
use myelin_core::Error;
use myelin_cpu::window::{WindowReduce, WindowSpec};
use rustler::{Atom, Env};

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

/// `[{low, high}, ...]` padding that may be negative (crops), one per axis.
type SignedPads = Vec<(i64, i64)>;

fn window_spec(window: Sizes, strides: Sizes, padding: SignedPads, dilations: Sizes) -> WindowSpec {
    WindowSpec {
        window,
        strides,
        padding,
        dilations,
    }
}

// Nx.window_sum/product/max/min: `op` is :sum, :product, :max or :min.
nif_pair!(window_reduce, window_reduce_dirty, "window_reduce", env,
(op: Atom, t: TensorRef, window: Sizes, strides: Sizes, padding: SignedPads, dilations: Sizes),
|env: Env, op: Atom, t: TensorRef, window: Sizes, strides: Sizes, padding: SignedPads, dilations: Sizes| {
    let op = match op_name(env, "window_reduce", op)?.as_str() {
        "sum" => WindowReduce::Sum,
        "product" => WindowReduce::Product,
        "max" => WindowReduce::Max,
        "min" => WindowReduce::Min,
        other => return Err(Error::arg("window_reduce", format!("unknown window reduction :{other}, expected :sum, :product, :max or :min"))),
    };
    myelin_cpu::window::window_reduce(tensor(&t), op, &window_spec(window, strides, padding, dilations))
});

// Nx.window_scatter_max/min (`select_max` picks which).
nif_pair!(window_scatter, window_scatter_dirty, "window_scatter",
(t: TensorRef, source: TensorRef, init_value: TensorRef, select_max: bool, window: Sizes, strides: Sizes, padding: SignedPads, dilations: Sizes),
|t: TensorRef, source: TensorRef, init_value: TensorRef, select_max: bool, window: Sizes, strides: Sizes, padding: SignedPads, dilations: Sizes| {
    let spec = window_spec(window, strides, padding, dilations);
    myelin_cpu::window::window_scatter(tensor(&t), tensor(&source), tensor(&init_value), select_max, &spec)
});
