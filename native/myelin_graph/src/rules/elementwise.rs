//! Unary and binary elementwise ops, select, clip and casts.

use super::expect_args;
use crate::graph::{Graph, NodeId};
use crate::op::Op;
use myelin_core::ops::binary::{clip_dtype, select_dtype, select_shape};
use myelin_core::ops::{BinaryOp, UnaryOp};
use myelin_core::{DType, Error, Result, Shape, Tensor};
use std::f64::consts::PI;

pub(crate) fn infer(op: &Op, args: &[(&Shape, DType)]) -> Result<(Shape, DType)> {
    match op {
        Op::Unary(u) => {
            expect_args(u.name(), args, 1)?;
            Ok((args[0].0.clone(), u.output_dtype(args[0].1)?))
        }
        Op::Binary(b) => {
            expect_args(b.name(), args, 2)?;
            let shape = b.output_shape(args[0].0, args[1].0)?;
            Ok((shape, b.output_dtype(args[0].1, args[1].1)?))
        }
        Op::Select => {
            expect_args("select", args, 3)?;
            let shape = select_shape(args[0].0, args[1].0, args[2].0)?;
            Ok((shape, select_dtype(args[1].1, args[2].1)))
        }
        Op::Clip => {
            expect_args("clip", args, 3)?;
            let dtype = clip_dtype(args[0].1, (args[1].0, args[1].1), (args[2].0, args[2].1))?;
            Ok((args[0].0.clone(), dtype))
        }
        Op::Cast(dtype) => {
            expect_args("as_type", args, 1)?;
            Ok((args[0].0.clone(), *dtype))
        }
        Op::Bitcast(dtype) => {
            expect_args("bitcast", args, 1)?;
            if args[0].1.bits() != dtype.bits() {
                return Err(Error::arg(
                    "bitcast",
                    format!(
                        "cannot bitcast a tensor of type {} to type {dtype}: the bit widths differ",
                        args[0].1
                    ),
                ));
            }
            Ok((args[0].0.clone(), *dtype))
        }
        _ => Err(Error::internal(op.name(), "not an elementwise op")),
    }
}

pub(crate) fn eval(op: &Op, args: &[&Tensor]) -> Result<Tensor> {
    match op {
        Op::Unary(u) => myelin_cpu::unary(*u, args[0]),
        Op::Binary(b) => myelin_cpu::binary(*b, args[0], args[1]),
        Op::Select => myelin_cpu::select(args[0], args[1], args[2]),
        Op::Clip => myelin_cpu::clip(args[0], args[1], args[2]),
        Op::Cast(dtype) => myelin_cpu::as_type(args[0], *dtype),
        Op::Bitcast(dtype) => myelin_cpu::bitcast(args[0], *dtype),
        _ => Err(Error::internal(op.name(), "not an elementwise op")),
    }
}

pub(crate) fn vjp(op: &Op, g: &mut Graph, node: NodeId, dy: NodeId) -> Result<Vec<Option<NodeId>>> {
    let inputs = g.node(node).inputs.clone();
    match op {
        Op::Unary(u) => Ok(vec![unary_vjp(*u, g, inputs[0], node, dy)?]),
        Op::Binary(b) => binary_vjp(*b, g, inputs[0], inputs[1], node, dy),
        Op::Select => {
            let zero = g.scalar_like(0.0, dy)?;
            let on_true = g.add(Op::Select, &[inputs[0], dy, zero])?;
            let on_false = g.add(Op::Select, &[inputs[0], zero, dy])?;
            let t_shape = g.node(inputs[1]).shape.clone();
            let f_shape = g.node(inputs[2]).shape.clone();
            Ok(vec![
                None,
                float_grad(g, inputs[1], |g| g.unbroadcast(on_true, &t_shape))?,
                float_grad(g, inputs[2], |g| g.unbroadcast(on_false, &f_shape))?,
            ])
        }
        Op::Clip => {
            // The gradient passes where min <= x <= max.
            let (x, lo, hi) = (inputs[0], inputs[1], inputs[2]);
            let above = g.binary(BinaryOp::GreaterEqual, x, lo)?;
            let below = g.binary(BinaryOp::LessEqual, x, hi)?;
            let inside = g.binary(BinaryOp::LogicalAnd, above, below)?;
            let zero = g.scalar_like(0.0, dy)?;
            Ok(vec![Some(g.add(Op::Select, &[inside, dy, zero])?), None, None])
        }
        Op::Cast(_) => {
            let x = inputs[0];
            float_grad(g, x, |g| g.cast(dy, g.node(x).dtype)).map(|d| vec![d])
        }
        // Reinterpreting bits is not differentiable.
        Op::Bitcast(_) => Ok(vec![None]),
        _ => Err(Error::internal(op.name(), "not an elementwise op")),
    }
}

/// `Some(f(g))` when `x` is a float (only floats carry gradients).
fn float_grad(
    g: &mut Graph,
    x: NodeId,
    f: impl FnOnce(&mut Graph) -> Result<NodeId>,
) -> Result<Option<NodeId>> {
    if g.node(x).dtype.is_float() {
        f(g).map(Some)
    } else {
        Ok(None)
    }
}

/// d/dx of `op(x)` times `dy`; `y` is the op's output node.
fn unary_vjp(op: UnaryOp, g: &mut Graph, x: NodeId, y: NodeId, dy: NodeId) -> Result<Option<NodeId>> {
    use BinaryOp::{Add, Divide, Multiply, Subtract};
    use UnaryOp::*;
    if !g.node(y).dtype.is_float() || !g.node(x).dtype.is_float() {
        return Ok(None);
    }
    let mul = |g: &mut Graph, a, b| g.binary(Multiply, a, b);
    // dy * f'(x), with f'(x) built from nodes.
    let local = match op {
        Negate => return g.unary(Negate, dy).map(Some),
        Abs | Sign => match op {
            Abs => g.unary(Sign, x)?,
            _ => return zeros_like(g, x).map(Some),
        },
        Floor | Ceil | Round => return zeros_like(g, x).map(Some),
        Exp => y,
        Expm1 => {
            let one = g.scalar_like(1.0, y)?;
            g.binary(Add, y, one)?
        }
        Log => return g.binary(Divide, dy, x).map(Some),
        Log1p => {
            let one = g.scalar_like(1.0, x)?;
            let d = g.binary(Add, x, one)?;
            return g.binary(Divide, dy, d).map(Some);
        }
        Sqrt => {
            let two_y = g.scale(y, 2.0)?;
            return g.binary(Divide, dy, two_y).map(Some);
        }
        Rsqrt => {
            // d/dx x^-1/2 = -1/2 * y / x
            let q = g.binary(Divide, y, x)?;
            g.scale(q, -0.5)?
        }
        Cbrt => {
            let y2 = mul(g, y, y)?;
            let d = g.scale(y2, 3.0)?;
            return g.binary(Divide, dy, d).map(Some);
        }
        Sin => g.unary(Cos, x)?,
        Cos => {
            let s = g.unary(Sin, x)?;
            g.unary(Negate, s)?
        }
        Tan => {
            let y2 = mul(g, y, y)?;
            let one = g.scalar_like(1.0, y)?;
            g.binary(Add, y2, one)?
        }
        Asin | Acos => {
            let x2 = mul(g, x, x)?;
            let one = g.scalar_like(1.0, x)?;
            let d = g.binary(Subtract, one, x2)?;
            let r = g.unary(Rsqrt, d)?;
            if op == Acos {
                g.unary(Negate, r)?
            } else {
                r
            }
        }
        Atan => {
            let x2 = mul(g, x, x)?;
            let one = g.scalar_like(1.0, x)?;
            let d = g.binary(Add, one, x2)?;
            return g.binary(Divide, dy, d).map(Some);
        }
        Sinh => g.unary(Cosh, x)?,
        Cosh => g.unary(Sinh, x)?,
        Tanh => {
            let y2 = mul(g, y, y)?;
            let one = g.scalar_like(1.0, y)?;
            g.binary(Subtract, one, y2)?
        }
        Asinh | Acosh => {
            let x2 = mul(g, x, x)?;
            let one = g.scalar_like(1.0, x)?;
            let d = if op == Asinh {
                g.binary(Add, x2, one)?
            } else {
                g.binary(Subtract, x2, one)?
            };
            g.unary(Rsqrt, d)?
        }
        Atanh => {
            let x2 = mul(g, x, x)?;
            let one = g.scalar_like(1.0, x)?;
            let d = g.binary(Subtract, one, x2)?;
            return g.binary(Divide, dy, d).map(Some);
        }
        Sigmoid => {
            let one = g.scalar_like(1.0, y)?;
            let c = g.binary(Subtract, one, y)?;
            mul(g, y, c)?
        }
        Erf | Erfc => {
            let x2 = mul(g, x, x)?;
            let nx2 = g.unary(Negate, x2)?;
            let e = g.unary(Exp, nx2)?;
            let k = if op == Erf { 2.0 } else { -2.0 } / PI.sqrt();
            g.scale(e, k)?
        }
        // d/dx erf_inv(x) = sqrt(pi)/2 * e^(y^2).
        ErfInv => {
            let y2 = mul(g, y, y)?;
            let e = g.unary(Exp, y2)?;
            g.scale(e, PI.sqrt() / 2.0)?
        }
        IsNan | IsInfinity | LogicalNot | BitwiseNot | CountLeadingZeros | PopulationCount => {
            return Ok(None)
        }
    };
    mul(g, dy, local).map(Some)
}

fn is_constant(g: &Graph, x: NodeId) -> bool {
    matches!(g.node(x).op, Op::Constant(_))
}

fn zeros_like(g: &mut Graph, x: NodeId) -> Result<NodeId> {
    let zero = g.scalar_like(0.0, x)?;
    let shape = g.node(x).shape.clone();
    g.broadcast_to(zero, &shape)
}

/// Gradients of `op(a, b)` for both operands, summed back over broadcast axes.
fn binary_vjp(
    op: BinaryOp,
    g: &mut Graph,
    a: NodeId,
    b: NodeId,
    y: NodeId,
    dy: NodeId,
) -> Result<Vec<Option<NodeId>>> {
    use BinaryOp::*;
    if !g.node(y).dtype.is_float() {
        return Ok(vec![None, None]);
    }
    let (da, db): (Option<NodeId>, Option<NodeId>) = match op {
        Add => (Some(dy), Some(dy)),
        Subtract => (Some(dy), Some(g.unary(UnaryOp::Negate, dy)?)),
        Multiply => (Some(g.binary(Multiply, dy, b)?), Some(g.binary(Multiply, dy, a)?)),
        Divide => {
            // d/da a/b = 1/b; d/db a/b = -y/b
            let da = g.binary(Divide, dy, b)?;
            let yb = g.binary(Divide, y, b)?;
            let t = g.binary(Multiply, dy, yb)?;
            (Some(da), Some(g.unary(UnaryOp::Negate, t)?))
        }
        Pow => {
            // d/da a^b = b a^(b-1); d/db a^b = y ln a
            let one = g.scalar_like(1.0, b)?;
            let bm1 = g.binary(Subtract, b, one)?;
            let p = g.binary(Pow, a, bm1)?;
            let local_a = g.binary(Multiply, b, p)?;
            let ln = g.unary(UnaryOp::Log, a)?;
            let local_b = g.binary(Multiply, y, ln)?;
            (
                Some(g.binary(Multiply, dy, local_a)?),
                Some(g.binary(Multiply, dy, local_b)?),
            )
        }
        Min | Max if is_constant(g, a) || is_constant(g, b) => {
            // Against a constant (relu = max(x, 0), relu6's min(x, 6)) the
            // mask comes from the output: the gradient stops where y is at or
            // past the constant (y <= c for max), as PyTorch's relu backward
            // does. So relu'(0) = 0 and a NaN passes its gradient, both as in
            // PyTorch, and the input is not read again, which lets it fuse
            // with its producer (bias + relu in one pass) and frees it after
            // the forward pass.
            let c = if is_constant(g, b) { b } else { a };
            let cmp = if op == Max { LessEqual } else { GreaterEqual };
            let stops = g.binary(cmp, y, c)?;
            let zero = g.scalar_like(0.0, dy)?;
            let dx = Some(g.add(Op::Select, &[stops, zero, dy])?);
            if c == b {
                (dx, None)
            } else {
                (None, dx)
            }
        }
        Min | Max => {
            // The gradient goes to the operand that was picked (to `a` on ties).
            let cmp = if op == Max { GreaterEqual } else { LessEqual };
            let pick_a = g.binary(cmp, a, b)?;
            let zero = g.scalar_like(0.0, dy)?;
            (
                Some(g.add(Op::Select, &[pick_a, dy, zero])?),
                Some(g.add(Op::Select, &[pick_a, zero, dy])?),
            )
        }
        Atan2 => {
            // d/da atan2(a, b) = b / (a² + b²); d/db = -a / (a² + b²)
            let a2 = g.binary(Multiply, a, a)?;
            let b2 = g.binary(Multiply, b, b)?;
            let r2 = g.binary(Add, a2, b2)?;
            let ga = g.binary(Divide, b, r2)?;
            let gb = g.binary(Divide, a, r2)?;
            let gb = g.unary(UnaryOp::Negate, gb)?;
            (
                Some(g.binary(Multiply, dy, ga)?),
                Some(g.binary(Multiply, dy, gb)?),
            )
        }
        Remainder => {
            // a - b * trunc(a / b): d/da = 1, d/db = -trunc(a / b)
            let q = g.binary(Divide, a, b)?;
            let zero = g.scalar_like(0.0, q)?;
            let neg = g.binary(Less, q, zero)?;
            let fl = g.unary(UnaryOp::Floor, q)?;
            let ce = g.unary(UnaryOp::Ceil, q)?;
            let tr = g.add(Op::Select, &[neg, ce, fl])?;
            let t = g.binary(Multiply, dy, tr)?;
            (Some(dy), Some(g.unary(UnaryOp::Negate, t)?))
        }
        _ => (None, None),
    };
    let mut out = Vec::with_capacity(2);
    for (x, d) in [(a, da), (b, db)] {
        let shape = g.node(x).shape.clone();
        out.push(match d {
            Some(d) => float_grad(g, x, |g| g.unbroadcast(d, &shape))?,
            None => None,
        });
    }
    Ok(out)
}
