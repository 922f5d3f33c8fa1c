//! Convolution and pooling (channels first: `{N, C, *spatial}`), with
//! gradients as their own ops (the CPU kernels compute them with im2col /
//! col2im and window scans).

use super::expect_args;
use crate::graph::{Graph, NodeId};
use crate::op::Op;
use myelin_core::shape::conv::{adaptive_pool_output_shape, conv_shape, pool_output_shape};
use myelin_core::{DType, Error, Result, Shape, Tensor};
use myelin_cpu::pool::{self, PoolKind};

/// A pooling window: size, strides and padding per spatial dim.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Window {
    /// Window size per spatial dim.
    pub size: Vec<usize>,
    /// Step per spatial dim.
    pub strides: Vec<usize>,
    /// (low, high) padding per spatial dim.
    pub padding: Vec<(usize, usize)>,
}

fn float_out(op: &str, dtypes: &[DType]) -> Result<DType> {
    let t = dtypes.iter().fold(dtypes[0], |a, &b| a.merge(b)).to_floating();
    if t.is_float() {
        Ok(t)
    } else {
        Err(Error::arg(op, format!("expected float tensors, got {t}")))
    }
}

pub(crate) fn infer(op: &Op, args: &[(&Shape, DType)]) -> Result<(Shape, DType)> {
    match op {
        Op::Conv(spec) => {
            expect_args("conv", args, 2)?;
            let shape = conv_shape("conv", args[0].0, args[1].0, spec)?;
            Ok((shape, float_out("conv", &[args[0].1, args[1].1])?))
        }
        Op::ConvInputGrad { spec, input_shape } => {
            expect_args("conv_input_grad", args, 2)?;
            conv_shape("conv_input_grad", input_shape, args[1].0, spec)?;
            Ok((
                input_shape.clone(),
                float_out("conv_input_grad", &[args[0].1, args[1].1])?,
            ))
        }
        Op::ConvKernelGrad { spec, kernel_shape } => {
            expect_args("conv_kernel_grad", args, 2)?;
            conv_shape("conv_kernel_grad", args[0].0, kernel_shape, spec)?;
            Ok((
                kernel_shape.clone(),
                float_out("conv_kernel_grad", &[args[0].1, args[1].1])?,
            ))
        }
        Op::Pool { kind, window } => {
            expect_args(op.name(), args, 1)?;
            let _ = kind;
            let shape = pool_output_shape(
                op.name(),
                args[0].0,
                &window.size,
                &window.strides,
                &window.padding,
            )?;
            Ok((shape, float_out(op.name(), &[args[0].1])?))
        }
        Op::MaxPoolGrad(_) => {
            expect_args("max_pool_grad", args, 2)?;
            Ok((args[0].0.clone(), args[0].1))
        }
        Op::AvgPoolGrad { input_shape, .. } | Op::AdaptiveAvgPoolGrad(input_shape) => {
            expect_args(op.name(), args, 1)?;
            Ok((input_shape.clone(), args[0].1))
        }
        Op::AdaptivePool { output_size, .. } => {
            expect_args(op.name(), args, 1)?;
            let shape = adaptive_pool_output_shape(op.name(), args[0].0, output_size)?;
            Ok((shape, float_out(op.name(), &[args[0].1])?))
        }
        Op::AdaptiveMaxPoolGrad => {
            expect_args("adaptive_max_pool_grad", args, 2)?;
            Ok((args[0].0.clone(), args[0].1))
        }
        _ => Err(Error::internal(op.name(), "not a convolution or pooling op")),
    }
}

pub(crate) fn eval(op: &Op, args: &[&Tensor]) -> Result<Tensor> {
    use myelin_cpu::conv;
    match op {
        Op::Conv(spec) => conv::conv(args[0], args[1], spec),
        Op::ConvInputGrad { spec, input_shape } => conv::conv_input_grad(args[0], args[1], input_shape, spec),
        Op::ConvKernelGrad { spec, kernel_shape } => {
            conv::conv_kernel_grad(args[0], args[1], kernel_shape, spec)
        }
        Op::Pool { kind, window } => {
            pool::pool(*kind, args[0], &window.size, &window.strides, &window.padding)
        }
        Op::MaxPoolGrad(w) => pool::max_pool_grad(args[0], args[1], &w.size, &w.strides, &w.padding),
        Op::AvgPoolGrad {
            window: w,
            input_shape,
        } => pool::avg_pool_grad(args[0], input_shape, &w.size, &w.strides, &w.padding),
        Op::AdaptivePool { kind, output_size } => pool::adaptive_pool(*kind, args[0], output_size),
        Op::AdaptiveMaxPoolGrad => pool::adaptive_max_pool_grad(args[0], args[1]),
        Op::AdaptiveAvgPoolGrad(input_shape) => pool::adaptive_avg_pool_grad(args[0], input_shape),
        _ => Err(Error::internal(op.name(), "not a convolution or pooling op")),
    }
}

pub(crate) fn vjp(op: &Op, g: &mut Graph, node: NodeId, dy: NodeId) -> Result<Vec<Option<NodeId>>> {
    let inputs = g.node(node).inputs.clone();
    let x = inputs[0];
    let x_shape = g.node(x).shape.clone();
    match op {
        Op::Conv(spec) => {
            let k = inputs[1];
            let kernel_shape = g.node(k).shape.clone();
            let dx = g.add(
                Op::ConvInputGrad {
                    spec: spec.clone(),
                    input_shape: x_shape,
                },
                &[dy, k],
            )?;
            let dk = g.add(
                Op::ConvKernelGrad {
                    spec: spec.clone(),
                    kernel_shape,
                },
                &[x, dy],
            )?;
            Ok(vec![Some(g.cast(dx, g.node(x).dtype)?), Some(g.cast(dk, g.node(k).dtype)?)])
        }
        Op::Pool {
            kind: PoolKind::Max,
            window,
        } => Ok(vec![Some(g.add(Op::MaxPoolGrad(window.clone()), &[x, dy])?)]),
        Op::Pool {
            kind: PoolKind::Avg,
            window,
        } => Ok(vec![Some(g.add(
            Op::AvgPoolGrad {
                window: window.clone(),
                input_shape: x_shape,
            },
            &[dy],
        )?)]),
        Op::AdaptivePool {
            kind: PoolKind::Max, ..
        } => Ok(vec![Some(g.add(Op::AdaptiveMaxPoolGrad, &[x, dy])?)]),
        Op::AdaptivePool {
            kind: PoolKind::Avg, ..
        } => Ok(vec![Some(g.add(Op::AdaptiveAvgPoolGrad(x_shape), &[dy])?)]),
        _ => Err(Error::arg(
            op.name(),
            "this gradient op has no gradient of its own yet (no second derivatives through convolution or pooling)",
        )),
    }
}
