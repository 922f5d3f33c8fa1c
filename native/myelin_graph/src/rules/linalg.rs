//! `dot` with contracting and batch axes, and its gradient.

use super::expect_args;
use crate::graph::{Graph, NodeId};
use crate::op::Op;
use myelin_core::shape::dot::dot as dot_rule;
use myelin_core::{DType, Error, Result, Shape, Tensor};

pub(crate) fn infer(op: &Op, args: &[(&Shape, DType)]) -> Result<(Shape, DType)> {
    expect_args("dot", args, 2)?;
    let Op::Dot {
        contract_a,
        batch_a,
        contract_b,
        batch_b,
    } = op
    else {
        return Err(Error::internal(op.name(), "not dot"));
    };
    let plan = dot_rule(args[0].0, contract_a, batch_a, args[1].0, contract_b, batch_b)?;
    Ok((plan.out, args[0].1.merge(args[1].1)))
}

pub(crate) fn eval(op: &Op, args: &[&Tensor]) -> Result<Tensor> {
    let Op::Dot {
        contract_a,
        batch_a,
        contract_b,
        batch_b,
    } = op
    else {
        return Err(Error::internal(op.name(), "not dot"));
    };
    myelin_cpu::dot(args[0], contract_a, batch_a, args[1], contract_b, batch_b)
}

fn ints(axes: impl IntoIterator<Item = usize>) -> Vec<i64> {
    axes.into_iter().map(|a| a as i64).collect()
}

/// The permutation that puts axes labelled `labels` (axis numbers of the
/// target operand, in the order they come out of a product) back in order.
fn restore_order(labels: &[usize]) -> Vec<i64> {
    (0..labels.len())
        .map(|axis| labels.iter().position(|&l| l == axis).unwrap_or(axis) as i64)
        .collect()
}

/// Transposes `x` so that its axes, labelled `labels`, come in order.
fn reorder(g: &mut Graph, x: NodeId, labels: &[usize]) -> Result<NodeId> {
    let perm = restore_order(labels);
    if perm.iter().enumerate().all(|(i, &p)| i as i64 == p) {
        return Ok(x);
    }
    g.add(Op::Transpose(Some(perm)), &[x])
}

/// dy has axes [batch, free_a, free_b]. Each operand's gradient is the
/// product of dy with the other operand over the other's free axes, then
/// transposed back into the operand's own axis order.
pub(crate) fn vjp(op: &Op, g: &mut Graph, node: NodeId, dy: NodeId) -> Result<Vec<Option<NodeId>>> {
    let Op::Dot {
        contract_a,
        batch_a,
        contract_b,
        batch_b,
    } = op
    else {
        return Err(Error::internal(op.name(), "not dot"));
    };
    let (a, b) = (g.node(node).inputs[0], g.node(node).inputs[1]);
    let (sa, sb) = (g.node(a).shape.clone(), g.node(b).shape.clone());
    let p = dot_rule(&sa, contract_a, batch_a, &sb, contract_b, batch_b)?;
    let (nb, nfa, nfb) = (p.batch_a.len(), p.free_a.len(), p.free_b.len());
    let dy_batch = ints(0..nb);
    let mut out = vec![None, None];

    if g.node(a).dtype.is_float() {
        // Remaining axes of b after contracting its free axes: its contract
        // axes in ascending order; each pairs with an axis of a.
        let mut rest_b = p.contract_b.clone();
        rest_b.sort_unstable();
        let mut labels: Vec<usize> = p.batch_a.clone();
        labels.extend(&p.free_a);
        labels.extend(rest_b.iter().map(|rb| {
            let i = p.contract_b.iter().position(|c| c == rb).unwrap_or(0);
            p.contract_a[i]
        }));
        let da = g.add(
            Op::Dot {
                contract_a: ints(nb + nfa..nb + nfa + nfb),
                batch_a: dy_batch.clone(),
                contract_b: ints(p.free_b.iter().copied()),
                batch_b: ints(p.batch_b.iter().copied()),
            },
            &[dy, b],
        )?;
        let da = reorder(g, da, &labels)?;
        out[0] = Some(g.cast(da, g.node(a).dtype)?);
    }
    if g.node(b).dtype.is_float() {
        let mut rest_a = p.contract_a.clone();
        rest_a.sort_unstable();
        let mut labels: Vec<usize> = p.batch_b.clone();
        labels.extend(rest_a.iter().map(|ra| {
            let i = p.contract_a.iter().position(|c| c == ra).unwrap_or(0);
            p.contract_b[i]
        }));
        labels.extend(&p.free_b);
        let db = g.add(
            Op::Dot {
                contract_a: ints(p.free_a.iter().copied()),
                batch_a: ints(p.batch_a.iter().copied()),
                contract_b: ints(nb..nb + nfa),
                batch_b: dy_batch,
            },
            &[a, dy],
        )?;
        let db = reorder(g, db, &labels)?;
        out[1] = Some(g.cast(db, g.node(b).dtype)?);
    }
    Ok(out)
}
