//! Rewrites applied while a graph is built, before anything differentiates
//! or plans it: [`Graph::add`] calls [`rewrite`] first and adds the node as
//! asked only when no rewrite applies. A rewrite returns a node computing
//! the very same values (bit for bit) more cheaply.
//!
//! The one rewrite so far moves max pooling in front of the elementwise ops
//! that feed it when those are non-decreasing and the same across every
//! pooled window: `max_pool(relu(conv + bias))` becomes
//! `relu(max_pool(conv) + bias)`. In a CNN the bias add and the relu (and
//! their gradients, and the bias gradient's sum) then run on the pooled
//! tensor, a quarter of the size for 2×2 pools, and positions no window
//! reads are never computed at all.
//!
//! Why the values are equal: every op of the chain is `f(x) = x ⊕ c` with
//! `⊕` one of add, subtract (x on the left), max, min, and `c` constant
//! along the pooled axes, so within one window `f` is one non-decreasing
//! function, and `max(f(a), f(b)) = f(max(a, b))`. Rounding keeps that
//! exact: IEEE addition rounds monotonically. NaN propagates through both
//! forms. Padding is the exception: a window wholly in padding pools
//! `-inf` (then `f(-inf)` is not `-inf` after a relu), so a rewrite needs
//! every window to hold at least one real element (padding below the
//! window size, and no empty spatial dim). Two corners differ, neither
//! reachable from finite data and a finite bias: an infinite `c` in an add
//! meeting the opposite infinity (`-inf + inf` is NaN, which the pool
//! would have propagated), and the sign of a zero result when `c` is a
//! zero on the left of a max or min (which of two equal operands a max
//! returns depends on their order).
//!
//! Gradients follow from the rewritten graph. They agree with the original
//! one except at ties: where rounding made two different inputs of a window
//! equal after `f`, or where a max or min against a non-constant `c` clamps
//! (the original sends the gradient to the first of the tied elements, or
//! to `c`; the rewrite to the larger input), and in the summation order of
//! the bias gradient. The bypassed nodes stay in the graph, so their values
//! can still be asked for, and each rewrite is recorded as a
//! [`crate::graph::Bypass`] so that [`crate::grad`] can differentiate with
//! respect to them.
//!
//! The readers of a node are only known up to the moment the pool is
//! added. A reader added later (a U-Net's skip connection from the
//! activation) makes the graph compute the unpooled chain as well, and a
//! training graph then keeps the chain's input alive until the pool's
//! gradient, one more activation-sized buffer.

use crate::graph::{Bypass, Graph, NodeId};
use crate::op::Op;
use myelin_core::ops::BinaryOp;
use myelin_core::Result;
use myelin_cpu::pool::PoolKind;

/// The rewritten node for `op` applied to `inputs`, or None when no rewrite
/// applies (the caller then adds the node as it is).
pub(crate) fn rewrite(g: &mut Graph, op: &Op, inputs: &[NodeId]) -> Result<Option<NodeId>> {
    pool_first(g, op, inputs)
}

/// One link of a chain that a max pool can move in front of: node `node`
/// computes `op` of its operands, the carrier (the chain's value) being
/// operand `carrier`.
struct Link {
    node: NodeId,
    op: BinaryOp,
    carrier: usize,
}

/// `max_pool(f(x))` as `f(max_pool(x))` (see the module docs).
fn pool_first(g: &mut Graph, op: &Op, inputs: &[NodeId]) -> Result<Option<NodeId>> {
    let Op::Pool {
        kind: PoolKind::Max,
        window,
    } = op
    else {
        return Ok(None);
    };
    let &[input] = inputs else { return Ok(None) };
    if input >= g.nodes().len() {
        return Ok(None);
    }
    let spatial = g.node(input).shape.dims().get(2..).unwrap_or_default();
    let every_window_real = spatial.len() == window.size.len()
        && spatial.iter().all(|&d| d > 0)
        && window
            .padding
            .iter()
            .zip(&window.size)
            .all(|(&(lo, hi), &size)| lo < size && hi < size);
    if !every_window_real {
        return Ok(None);
    }
    let chain = chain_below(g, input);
    let Some(last) = chain.last() else {
        return Ok(None);
    };
    let base = g.node(last.node).inputs[last.carrier];
    let mut value = g.add_exact(op.clone(), &[base])?;
    for link in chain.iter().rev() {
        let mut operands = g.node(link.node).inputs.clone();
        operands[link.carrier] = value;
        value = g.add_exact(Op::Binary(link.op), &operands)?;
    }
    g.record_bypass(Bypass {
        pool: op.clone(),
        top: input,
        chain: chain.iter().map(|l| l.node).collect(),
        carriers: chain.iter().map(|l| l.carrier).collect(),
        result: value,
    });
    Ok(Some(value))
}

/// The links from `top` down, as long as each is a pool-commuting op read
/// by nothing but the chain (`top` by nothing yet: the pool is about to be
/// added). A value read elsewhere ends the chain above it, since that
/// reader needs the unpooled value anyway.
fn chain_below(g: &Graph, top: NodeId) -> Vec<Link> {
    let mut chain = Vec::new();
    let mut node = top;
    loop {
        let allowed_readers = usize::from(!chain.is_empty());
        if readers(g, node) != allowed_readers {
            break;
        }
        let Some(link) = commuting_link(g, node) else {
            break;
        };
        node = g.node(node).inputs[link.carrier];
        chain.push(link);
    }
    chain
}

/// How many node operands read `id`.
fn readers(g: &Graph, id: NodeId) -> usize {
    g.nodes()[id + 1..]
        .iter()
        .map(|n| n.inputs.iter().filter(|&&i| i == id).count())
        .sum()
}

/// `node` as a link when it is `x ⊕ c` with `⊕` non-decreasing in `x`, `x`
/// a float of the node's own shape and dtype (integer adds wrap, so they
/// are not monotone), and `c` of size 1 along every pooled axis (all but
/// the leading two, `{N, C, *spatial}`).
fn commuting_link(g: &Graph, node: NodeId) -> Option<Link> {
    let n = g.node(node);
    let Op::Binary(op) = n.op else { return None };
    let carriers: &[usize] = match op {
        BinaryOp::Add | BinaryOp::Max | BinaryOp::Min => &[0, 1],
        BinaryOp::Subtract => &[0],
        _ => return None,
    };
    carriers.iter().find_map(|&carrier| {
        let x = g.node(n.inputs[carrier]);
        let c = g.node(n.inputs[1 - carrier]);
        let constant_per_window = {
            let (rank, c_dims) = (n.shape.rank(), c.shape.dims());
            // numpy alignment: `c`'s axes are the trailing ones.
            (2..rank).all(|axis| match (axis + c_dims.len()).checked_sub(rank) {
                Some(i) => c_dims[i] == 1,
                None => true,
            })
        };
        let same_float = x.shape == n.shape && x.dtype == n.dtype && x.dtype.is_float();
        (same_float && n.shape.rank() > 2 && constant_per_window).then_some(Link { node, op, carrier })
    })
}
