//! Reverse-mode differentiation as a graph transform.
//!
//! [`grad`] walks the graph backwards from a scalar, asks each node's op for
//! its vector-Jacobian product (the rules in `rules/`), and sums the
//! contributions each node receives. The result is more nodes in the same
//! graph, so gradients are planned and executed like any other value, and
//! gradients of gradients work wherever the rules are differentiable.

use crate::graph::{Bypass, Graph, NodeId};
use crate::op::Op;
use myelin_core::ops::BinaryOp;
use myelin_core::{Error, Result};
use std::collections::HashMap;

/// Adds to `g` the nodes computing d`output`/d`wrt[i]` for each `i`, and
/// returns them (each with its `wrt` node's shape). `output` must be a float
/// scalar. A `wrt` node the output does not depend on gets zeros.
pub fn grad(g: &mut Graph, output: NodeId, wrt: &[NodeId]) -> Result<Vec<NodeId>> {
    g.check_id("grad", output)?;
    for &w in wrt {
        g.check_id("grad", w)?;
    }
    let out = g.node(output);
    if out.shape.size() != 1 || !out.dtype.is_float() {
        return Err(Error::arg(
            "grad",
            format!(
                "expected a float scalar to differentiate, got a tensor of shape {} and type {}",
                out.shape, out.dtype
            ),
        ));
    }
    let depends = depends_on(g, output, wrt);
    let mut adjoint: Vec<Option<NodeId>> = vec![None; output + 1];
    let one = g.scalar_like(1.0, output)?;
    adjoint[output] = Some(g.reshape(one, g.node(output).shape.clone())?);

    for id in (0..=output).rev() {
        let Some(dy) = adjoint[id] else { continue };
        if !depends[id] {
            continue;
        }
        let op = g.node(id).op.clone();
        let inputs = g.node(id).inputs.clone();
        let grads = op.vjp(g, id, dy)?;
        for (&input, d) in inputs.iter().zip(grads) {
            let Some(d) = d else { continue };
            if !depends[input] {
                continue;
            }
            let want = g.node(input).shape.clone();
            if g.node(d).shape != want {
                return Err(Error::internal(
                    op.name(),
                    format!(
                        "gradient rule produced shape {} for an operand of shape {want}",
                        g.node(d).shape
                    ),
                ));
            }
            let d = g.cast(d, g.node(input).dtype)?;
            adjoint[input] = Some(match adjoint[input] {
                Some(acc) => g.binary(BinaryOp::Add, acc, d)?,
                None => d,
            });
        }
    }

    let bypassed = through_bypasses(g, output, wrt, &adjoint)?;
    wrt.iter()
        .map(|&w| {
            let direct = adjoint[w].filter(|_| depends[w]);
            match (direct, bypassed.get(&w).copied()) {
                (Some(a), Some(b)) => g.binary(BinaryOp::Add, a, b),
                (Some(d), None) | (None, Some(d)) => Ok(d),
                (None, None) => {
                    let zero = g.scalar_like(0.0, w)?;
                    let shape = g.node(w).shape.clone();
                    g.broadcast_to(zero, &shape)
                }
            }
        })
        .collect()
}

/// The gradient reaching `wrt` nodes that a rewrite bypassed (see
/// `rewrite.rs`): nothing reads them on the way to `output` any more, but
/// the output still depends on them through the pool the rewrite moved.
/// Each bypass, newest first (a later one may have bypassed an earlier
/// one's result), sends its result's gradient into the pool's gradient at
/// the chain's top and down the chain with the chain ops' own rules. Only
/// chain nodes collect it: the chain's input and the ops' other operands
/// already have their whole gradient through the rewritten nodes.
fn through_bypasses(
    g: &mut Graph,
    output: NodeId,
    wrt: &[NodeId],
    adjoint: &[Option<NodeId>],
) -> Result<HashMap<NodeId, NodeId>> {
    let mut extra: HashMap<NodeId, NodeId> = HashMap::new();
    let wanted = |b: &Bypass| b.chain.iter().any(|c| wrt.contains(c));
    if !g.bypasses().iter().any(wanted) {
        return Ok(extra);
    }
    for b in g.bypasses().to_vec().into_iter().rev() {
        if b.result > output {
            continue;
        }
        let seed = match (adjoint[b.result], extra.get(&b.result).copied()) {
            (Some(a), Some(e)) => g.binary(BinaryOp::Add, a, e)?,
            (Some(d), None) | (None, Some(d)) => d,
            (None, None) => continue,
        };
        let Op::Pool { window, .. } = &b.pool else {
            return Err(Error::internal("grad", "a bypass that is not a pool"));
        };
        let top = g.add(Op::MaxPoolGrad(window.clone()), &[b.top, seed])?;
        accumulate(g, &mut extra, b.top, top)?;
        for (i, (&node, &carrier)) in b.chain.iter().zip(&b.carriers).enumerate() {
            let (Some(&below), Some(&dy)) = (b.chain.get(i + 1), extra.get(&node)) else {
                break;
            };
            let op = g.node(node).op.clone();
            if let Some(Some(d)) = op.vjp(g, node, dy)?.get(carrier).copied() {
                let d = g.cast(d, g.node(below).dtype)?;
                accumulate(g, &mut extra, below, d)?;
            }
        }
    }
    Ok(extra)
}

fn accumulate(g: &mut Graph, sums: &mut HashMap<NodeId, NodeId>, at: NodeId, d: NodeId) -> Result<()> {
    let sum = match sums.get(&at) {
        Some(&acc) => g.binary(BinaryOp::Add, acc, d)?,
        None => d,
    };
    sums.insert(at, sum);
    Ok(())
}

/// `depends[i]`: node `i` is a float node on a path from some `wrt` node to
/// `output` (only those need adjoints). A rewrite's bypass counts as an
/// edge from the chain's top to the pool's result.
fn depends_on(g: &Graph, output: NodeId, wrt: &[NodeId]) -> Vec<bool> {
    // (top, result) per bypass inside the graph up to `output`.
    let edges: Vec<(NodeId, NodeId)> = g
        .bypasses()
        .iter()
        .filter(|b| b.result <= output)
        .map(|b| (b.top, b.result))
        .collect();
    let tops_of = |id: NodeId| edges.iter().filter(move |e| e.1 == id).map(|e| e.0);
    let mut from_wrt = vec![false; output + 1];
    for (id, node) in g.nodes().iter().enumerate().take(output + 1) {
        let reads = node.inputs.iter().copied().chain(tops_of(id));
        from_wrt[id] = node.dtype.is_float() && (wrt.contains(&id) || reads.clone().any(|i| from_wrt[i]));
    }
    let mut to_output = vec![false; output + 1];
    to_output[output] = true;
    for id in (0..=output).rev() {
        if to_output[id] {
            for i in g.node(id).inputs.iter().copied().chain(tops_of(id)) {
                to_output[i] = true;
            }
        }
    }
    from_wrt.iter().zip(&to_output).map(|(a, b)| *a && *b).collect()
}
