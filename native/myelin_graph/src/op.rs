//! The primitive ops a graph node can apply. Each variant is named as the
//! eager NIF (and `Myelin.Tensor` function) that computes it, and carries the
//! same static arguments. The rules (shape/dtype inference, evaluation and
//! the gradient) live per family in `rules/`; this file only routes to them.

use crate::graph::{Graph, NodeId};
use crate::rules::conv::Window;
use crate::rules::{conv, elementwise, linalg, nn, reduce, scan, shape};
use myelin_core::ops::{ArgReduceOp, BinaryOp, CumulativeOp, ReduceOp, TieBreak, UnaryOp};
use myelin_core::shape::conv::ConvSpec;
use myelin_core::{DType, Result, Shape, Tensor};
use myelin_cpu::pool::PoolKind;

/// Nx's padding configuration: `(low, high, interior)` per axis.
pub type PadConfig = Vec<(i64, i64, i64)>;

/// A primitive op. Inputs are the node's operands, in the order given.
#[derive(Clone, Debug)]
pub enum Op {
    /// The run's input number `n`.
    Input(usize),
    /// The run's parameter number `n`.
    Param(usize),
    /// A value fixed when the graph was built.
    Constant(Tensor),
    /// `unary(op, x)`.
    Unary(UnaryOp),
    /// `binary(op, a, b)`, broadcasting.
    Binary(BinaryOp),
    /// `select(pred, on_true, on_false)`.
    Select,
    /// `clip(x, min, max)`.
    Clip,
    /// `as_type(x, dtype)`.
    Cast(DType),
    /// `reduce(op, x, axes, keep_axes)`.
    Reduce {
        /// Which reduction.
        op: ReduceOp,
        /// Axes (None: all).
        axes: Option<Vec<i64>>,
        /// Keep reduced axes as size 1.
        keep_axes: bool,
    },
    /// `arg_reduce(op, x, axis, tie_break, keep_axis)` (no gradient).
    ArgReduce {
        /// argmin or argmax.
        op: ArgReduceOp,
        /// Axis (None: flattened).
        axis: Option<i64>,
        /// Which of equal elements wins.
        tie_break: TieBreak,
        /// Keep the axis as size 1.
        keep_axis: bool,
    },
    /// `dot(a, contract_a, batch_a, b, contract_b, batch_b)`.
    Dot {
        /// Contracted axes of `a`.
        contract_a: Vec<i64>,
        /// Batch axes of `a`.
        batch_a: Vec<i64>,
        /// Contracted axes of `b`.
        contract_b: Vec<i64>,
        /// Batch axes of `b`.
        batch_b: Vec<i64>,
    },
    /// `reshape(x, shape)`.
    Reshape(Shape),
    /// `transpose(x, axes)`.
    Transpose(Option<Vec<i64>>),
    /// `squeeze(x, axes)`.
    Squeeze(Option<Vec<i64>>),
    /// `new_axis(x, axis)`.
    NewAxis(i64),
    /// `broadcast(x, shape, axes)`.
    Broadcast {
        /// Target shape.
        shape: Shape,
        /// Where `x`'s axes go (None: trailing).
        axes: Option<Vec<i64>>,
    },
    /// `slice(x, starts, lengths, strides)`.
    Slice {
        /// First index per axis.
        starts: Vec<i64>,
        /// Length per axis.
        lengths: Vec<i64>,
        /// Step per axis (None: 1).
        strides: Option<Vec<i64>>,
    },
    /// `pad(x, value, config)`.
    Pad(PadConfig),
    /// `concatenate(xs, axis)`: any number of operands.
    Concatenate(i64),
    /// `reverse(x, axes)`.
    Reverse(Option<Vec<i64>>),
    /// `take(x, indices, axis)`.
    Take(i64),
    /// `take_along_axis(x, indices, axis)`.
    TakeAlongAxis(i64),
    /// `indexed_add(x, indices, updates)`.
    IndexedAdd,
    /// `indexed_put(x, indices, updates)`.
    IndexedPut,
    /// `gather(x, indices)`.
    Gather,
    /// `put_slice(x, starts, slice)`: operands `(x, slice)`.
    PutSlice(Vec<i64>),
    /// `sort(x, axis, desc)`.
    Sort {
        /// The axis sorted along.
        axis: i64,
        /// Largest first.
        desc: bool,
    },
    /// `argsort(x, axis, desc)` (no gradient).
    Argsort {
        /// The axis sorted along.
        axis: i64,
        /// Largest first.
        desc: bool,
    },
    /// `cumulative(op, x, axis, reverse)`.
    Cumulative {
        /// Which scan.
        op: CumulativeOp,
        /// The axis scanned along.
        axis: i64,
        /// Scan from the end.
        reverse: bool,
    },
    /// `bitcast(x, dtype)` (no gradient).
    Bitcast(DType),
    /// `log_softmax(x, axis)`: one fused, max-shifted pass.
    LogSoftmax(i64),
    /// `softmax_cross_entropy(logits, target_probabilities, axis)`: per-row
    /// `-sum(target * log_softmax(logits))`, fused with its gradient.
    SoftmaxCrossEntropy(i64),
    /// `conv(x, kernel)`, channels first: `{N, C, *s}` with `{O, C/groups, *k}`.
    Conv(ConvSpec),
    /// The gradient of `conv` for its input: `(dy, kernel)`.
    ConvInputGrad {
        /// The convolution's spec.
        spec: ConvSpec,
        /// The convolution's input shape.
        input_shape: Shape,
    },
    /// The gradient of `conv` for its kernel: `(x, dy)`.
    ConvKernelGrad {
        /// The convolution's spec.
        spec: ConvSpec,
        /// The kernel's shape.
        kernel_shape: Shape,
    },
    /// Max or average pooling over the spatial dims of `{N, C, *s}`.
    Pool {
        /// Max or average.
        kind: PoolKind,
        /// Size, strides, padding.
        window: Window,
    },
    /// The gradient of max pooling: `(x, dy)`.
    MaxPoolGrad(Window),
    /// The gradient of average pooling: `(dy)`.
    AvgPoolGrad {
        /// Size, strides, padding.
        window: Window,
        /// The pooled input's shape.
        input_shape: Shape,
    },
    /// Adaptive pooling to a fixed output size.
    AdaptivePool {
        /// Max or average.
        kind: PoolKind,
        /// Output size per spatial dim.
        output_size: Vec<usize>,
    },
    /// The gradient of adaptive max pooling: `(x, dy)`.
    AdaptiveMaxPoolGrad,
    /// The gradient of adaptive average pooling: `(dy)`, to the input shape.
    AdaptiveAvgPoolGrad(Shape),
    /// `dropout_mask(x)` marker: multiplies by a Bernoulli(keep)/keep mask drawn
    /// from the run's step seed.
    Dropout {
        /// Probability of zeroing an element.
        rate: f64,
        /// Per-node stream, mixed with the step seed.
        salt: u64,
    },
}

impl Op {
    /// The op's name, as the NIF / `Myelin.Tensor` function is named.
    pub fn name(&self) -> &'static str {
        match self {
            Op::Input(_) => "input",
            Op::Param(_) => "param",
            Op::Constant(_) => "constant",
            Op::Unary(op) => op.name(),
            Op::Binary(op) => op.name(),
            Op::Select => "select",
            Op::Clip => "clip",
            Op::Cast(_) => "as_type",
            Op::Reduce { op, .. } => op.name(),
            Op::ArgReduce { op, .. } => op.name(),
            Op::Dot { .. } => "dot",
            Op::Reshape(_) => "reshape",
            Op::Transpose(_) => "transpose",
            Op::Squeeze(_) => "squeeze",
            Op::NewAxis(_) => "new_axis",
            Op::Broadcast { .. } => "broadcast",
            Op::Slice { .. } => "slice",
            Op::Pad(_) => "pad",
            Op::Concatenate(_) => "concatenate",
            Op::Reverse(_) => "reverse",
            Op::Take(_) => "take",
            Op::TakeAlongAxis(_) => "take_along_axis",
            Op::IndexedAdd => "indexed_add",
            Op::IndexedPut => "indexed_put",
            Op::Gather => "gather",
            Op::PutSlice(_) => "put_slice",
            Op::Sort { .. } => "sort",
            Op::Argsort { .. } => "argsort",
            Op::Cumulative { op, .. } => op.name(),
            Op::Bitcast(_) => "bitcast",
            Op::LogSoftmax(_) => "log_softmax",
            Op::SoftmaxCrossEntropy(_) => "softmax_cross_entropy",
            Op::Dropout { .. } => "dropout",
            Op::Conv(_) => "conv",
            Op::ConvInputGrad { .. } => "conv_input_grad",
            Op::ConvKernelGrad { .. } => "conv_kernel_grad",
            Op::Pool {
                kind: PoolKind::Max, ..
            } => "max_pool",
            Op::Pool { .. } => "avg_pool",
            Op::MaxPoolGrad(_) => "max_pool_grad",
            Op::AvgPoolGrad { .. } => "avg_pool_grad",
            Op::AdaptivePool {
                kind: PoolKind::Max, ..
            } => "adaptive_max_pool",
            Op::AdaptivePool { .. } => "adaptive_avg_pool",
            Op::AdaptiveMaxPoolGrad => "adaptive_max_pool_grad",
            Op::AdaptiveAvgPoolGrad(_) => "adaptive_avg_pool_grad",
        }
    }

    /// How many operands the op takes (None: any number).
    pub fn arity(&self) -> Option<usize> {
        match self {
            Op::Input(_) | Op::Param(_) | Op::Constant(_) => Some(0),
            Op::Concatenate(_) => None,
            Op::Select | Op::Clip | Op::IndexedAdd | Op::IndexedPut => Some(3),
            Op::Binary(_)
            | Op::Gather
            | Op::PutSlice(_)
            | Op::Dot { .. }
            | Op::Pad(_)
            | Op::Take(_)
            | Op::TakeAlongAxis(_)
            | Op::SoftmaxCrossEntropy(_)
            | Op::Conv(_)
            | Op::ConvInputGrad { .. }
            | Op::ConvKernelGrad { .. }
            | Op::MaxPoolGrad(_)
            | Op::AdaptiveMaxPoolGrad => Some(2),
            _ => Some(1),
        }
    }

    /// The family whose rules (in `rules/`) implement this op.
    fn family(&self) -> Family {
        match self {
            Op::Input(_) | Op::Param(_) | Op::Constant(_) => Family::Leaf,
            Op::Unary(_) | Op::Binary(_) | Op::Select | Op::Clip | Op::Cast(_) | Op::Bitcast(_) => {
                Family::Elementwise
            }
            Op::Sort { .. } | Op::Argsort { .. } | Op::Cumulative { .. } => Family::Scan,
            Op::Reduce { .. } | Op::ArgReduce { .. } => Family::Reduce,
            Op::Dot { .. } => Family::Linalg,
            Op::Conv(_)
            | Op::ConvInputGrad { .. }
            | Op::ConvKernelGrad { .. }
            | Op::Pool { .. }
            | Op::MaxPoolGrad(_)
            | Op::AvgPoolGrad { .. }
            | Op::AdaptivePool { .. }
            | Op::AdaptiveMaxPoolGrad
            | Op::AdaptiveAvgPoolGrad(_) => Family::Conv,
            Op::LogSoftmax(_) | Op::SoftmaxCrossEntropy(_) | Op::Dropout { .. } => Family::Nn,
            _ => Family::Shape,
        }
    }

    /// Output shape and dtype for operands of these shapes and dtypes.
    pub fn infer(&self, args: &[(&Shape, DType)]) -> Result<(Shape, DType)> {
        match self.family() {
            Family::Leaf => Err(myelin_core::Error::internal(
                self.name(),
                "leaf nodes carry their own shape",
            )),
            Family::Elementwise => elementwise::infer(self, args),
            Family::Reduce => reduce::infer(self, args),
            Family::Linalg => linalg::infer(self, args),
            Family::Conv => conv::infer(self, args),
            Family::Nn => nn::infer(self, args),
            Family::Scan => scan::infer(self, args),
            Family::Shape => shape::infer(self, args),
        }
    }

    /// Computes the op on concrete operands. `seed` is the run's step seed
    /// (used by random ops).
    pub fn eval(&self, args: &[&Tensor], seed: u64) -> Result<Tensor> {
        match self.family() {
            Family::Leaf => Err(myelin_core::Error::internal(
                self.name(),
                "the executor supplies leaf values",
            )),
            Family::Elementwise => elementwise::eval(self, args),
            Family::Reduce => reduce::eval(self, args),
            Family::Linalg => linalg::eval(self, args),
            Family::Conv => conv::eval(self, args),
            Family::Nn => nn::eval(self, args, seed),
            Family::Scan => scan::eval(self, args),
            Family::Shape => shape::eval(self, args),
        }
    }

    /// The vector-Jacobian product: given the node and `dy` (the gradient of
    /// the output), adds nodes computing each operand's gradient. `None`
    /// means the operand gets no gradient (integer data, indices, masks).
    pub fn vjp(&self, g: &mut Graph, node: NodeId, dy: NodeId) -> Result<Vec<Option<NodeId>>> {
        match self.family() {
            Family::Leaf => Ok(vec![]),
            Family::Elementwise => elementwise::vjp(self, g, node, dy),
            Family::Reduce => reduce::vjp(self, g, node, dy),
            Family::Linalg => linalg::vjp(self, g, node, dy),
            Family::Conv => conv::vjp(self, g, node, dy),
            Family::Nn => nn::vjp(self, g, node, dy),
            Family::Scan => scan::vjp(self, g, node, dy),
            Family::Shape => shape::vjp(self, g, node, dy),
        }
    }
}

/// The op families, one rules module each.
enum Family {
    Leaf,
    Elementwise,
    Reduce,
    Linalg,
    Conv,
    Nn,
    Scan,
    Shape,
}
