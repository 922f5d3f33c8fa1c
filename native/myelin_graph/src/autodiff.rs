//! Reverse-mode differentiation as a graph transform.
//!
//! [`grad`] walks the graph backwards from a scalar, asks each node's op for
//! its vector-Jacobian product (the rules in `rules/`), and sums the
//! contributions each node receives. The result is more nodes in the same
//! graph, so gradients are planned and executed like any other value, and
//! gradients of gradients work wherever the rules are differentiable.

use crate::graph::{Graph, NodeId};
use myelin_core::ops::BinaryOp;
use myelin_core::{Error, Result};

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

    wrt.iter()
        .map(|&w| match adjoint[w] {
            Some(d) if depends[w] => Ok(d),
            _ => {
                let zero = g.scalar_like(0.0, w)?;
                let shape = g.node(w).shape.clone();
                g.broadcast_to(zero, &shape)
            }
        })
        .collect()
}

/// `depends[i]`: node `i` is a float node on a path from some `wrt` node to
/// `output` (only those need adjoints).
fn depends_on(g: &Graph, output: NodeId, wrt: &[NodeId]) -> Vec<bool> {
    let mut from_wrt = vec![false; output + 1];
    for (id, node) in g.nodes().iter().enumerate().take(output + 1) {
        from_wrt[id] =
            node.dtype.is_float() && (wrt.contains(&id) || node.inputs.iter().any(|&i| from_wrt[i]));
    }
    let mut to_output = vec![false; output + 1];
    to_output[output] = true;
    for id in (0..=output).rev() {
        if to_output[id] {
            for &i in &g.node(id).inputs {
                to_output[i] = true;
            }
        }
    }
    from_wrt.iter().zip(&to_output).map(|(a, b)| *a && *b).collect()
}
