//! The graph: nodes in topological order, each with its inferred shape and
//! dtype, plus the small builders that gradient rules use.

use crate::op::Op;
use myelin_core::ops::{BinaryOp, ReduceOp, UnaryOp};
use myelin_core::{DType, Error, Result, Shape, Tensor};

/// Index of a node in its graph.
pub type NodeId = usize;

/// One op applied to earlier nodes.
#[derive(Clone, Debug)]
pub struct Node {
    /// What the node computes.
    pub op: Op,
    /// The nodes it reads, in the op's argument order.
    pub inputs: Vec<NodeId>,
    /// Output shape, inferred when the node was added.
    pub shape: Shape,
    /// Output dtype, inferred when the node was added.
    pub dtype: DType,
}

/// A max pool that a rewrite moved in front of the elementwise nodes that
/// fed it (see `rewrite.rs`): node `result` computes `pool(top)`, though
/// not from `top`. [`crate::grad`] uses this to differentiate with respect
/// to the bypassed nodes.
#[derive(Clone, Debug)]
pub struct Bypass {
    /// The pool as it was asked for (an `Op::Pool` of kind max).
    pub pool: Op,
    /// The node the pool was asked to read.
    pub top: NodeId,
    /// The bypassed nodes, `top` first; each is its successor's carrier
    /// operand, numbered as in `carriers`.
    pub chain: Vec<NodeId>,
    /// Which operand of each chain node carries the chain.
    pub carriers: Vec<usize>,
    /// The node returned for the pool.
    pub result: NodeId,
}

/// A computation over inputs (data fed per run) and parameters (values the
/// caller owns and may update between runs).
#[derive(Clone, Debug, Default)]
pub struct Graph {
    nodes: Vec<Node>,
    inputs: Vec<NodeId>,
    params: Vec<NodeId>,
    bypasses: Vec<Bypass>,
}

impl Graph {
    /// An empty graph.
    pub fn new() -> Graph {
        Graph::default()
    }

    /// All nodes, in topological order.
    pub fn nodes(&self) -> &[Node] {
        &self.nodes
    }

    /// One node. Panics never: ids come from this graph (checked by callers
    /// that take ids from outside with [`Graph::check_id`]).
    pub fn node(&self, id: NodeId) -> &Node {
        &self.nodes[id]
    }

    /// Fails unless `id` names a node of this graph.
    pub fn check_id(&self, op: &str, id: NodeId) -> Result<NodeId> {
        if id < self.nodes.len() {
            Ok(id)
        } else {
            Err(Error::arg(
                op,
                format!(
                    "unknown graph node {id} (the graph has {} nodes)",
                    self.nodes.len()
                ),
            ))
        }
    }

    /// The input nodes, in the order runs supply them.
    pub fn inputs(&self) -> &[NodeId] {
        &self.inputs
    }

    /// The parameter nodes, in the order runs supply them.
    pub fn params(&self) -> &[NodeId] {
        &self.params
    }

    /// The rewrites that bypassed nodes, oldest first.
    pub fn bypasses(&self) -> &[Bypass] {
        &self.bypasses
    }

    pub(crate) fn record_bypass(&mut self, bypass: Bypass) {
        self.bypasses.push(bypass);
    }

    /// Adds a per-run input of the given shape and dtype.
    pub fn input(&mut self, shape: Shape, dtype: DType) -> NodeId {
        let index = self.inputs.len();
        let id = self.push(Op::Input(index), vec![], shape, dtype);
        self.inputs.push(id);
        id
    }

    /// Adds a parameter of the given shape and dtype.
    pub fn param(&mut self, shape: Shape, dtype: DType) -> NodeId {
        let index = self.params.len();
        let id = self.push(Op::Param(index), vec![], shape, dtype);
        self.params.push(id);
        id
    }

    /// Adds a constant.
    pub fn constant(&mut self, t: Tensor) -> NodeId {
        let (shape, dtype) = (t.shape().clone(), t.dtype());
        self.push(Op::Constant(t), vec![], shape, dtype)
    }

    /// Adds `op` applied to `inputs`, inferring its shape and dtype; fails
    /// (naming the op and the shapes) when the op cannot apply. The node
    /// returned computes exactly that value, but may be the end of a cheaper
    /// equivalent subgraph (see `rewrite.rs`, e.g. a max pool moved in front
    /// of a bias and relu).
    pub fn add(&mut self, op: Op, inputs: &[NodeId]) -> Result<NodeId> {
        match crate::rewrite::rewrite(self, &op, inputs)? {
            Some(id) => Ok(id),
            None => self.add_exact(op, inputs),
        }
    }

    /// [`Graph::add`] without rewrites: one node applying `op` to `inputs`.
    pub fn add_exact(&mut self, op: Op, inputs: &[NodeId]) -> Result<NodeId> {
        for &i in inputs {
            self.check_id(op.name(), i)?;
        }
        if let Some(arity) = op.arity() {
            if arity != inputs.len() {
                return Err(Error::arg(
                    op.name(),
                    format!("expected {arity} operands, got {}", inputs.len()),
                ));
            }
        }
        let args: Vec<(&Shape, DType)> = inputs
            .iter()
            .map(|&i| (&self.nodes[i].shape, self.nodes[i].dtype))
            .collect();
        let (shape, dtype) = op.infer(&args)?;
        Ok(self.push(op, inputs.to_vec(), shape, dtype))
    }

    fn push(&mut self, op: Op, inputs: Vec<NodeId>, shape: Shape, dtype: DType) -> NodeId {
        self.nodes.push(Node {
            op,
            inputs,
            shape,
            dtype,
        });
        self.nodes.len() - 1
    }

    // Builders for gradient rules. They only combine nodes whose shapes the
    // rules have already made compatible, so their errors are internal.

    /// A scalar constant of `dtype`.
    pub fn scalar(&mut self, value: f64, dtype: DType) -> Result<NodeId> {
        let t = myelin_cpu::as_type(&Tensor::full(Shape::scalar(), value)?, dtype)?;
        Ok(self.constant(t))
    }

    /// A scalar constant with `like`'s dtype.
    pub fn scalar_like(&mut self, value: f64, like: NodeId) -> Result<NodeId> {
        self.scalar(value, self.nodes[like].dtype)
    }

    /// `op(x)`.
    pub fn unary(&mut self, op: UnaryOp, x: NodeId) -> Result<NodeId> {
        self.add(Op::Unary(op), &[x])
    }

    /// `op(a, b)` with broadcasting.
    pub fn binary(&mut self, op: BinaryOp, a: NodeId, b: NodeId) -> Result<NodeId> {
        self.add(Op::Binary(op), &[a, b])
    }

    /// `a * value`.
    pub fn scale(&mut self, a: NodeId, value: f64) -> Result<NodeId> {
        let s = self.scalar_like(value, a)?;
        self.binary(BinaryOp::Multiply, a, s)
    }

    /// Sum over `axes` (all when empty would be ambiguous: pass them).
    pub fn sum(&mut self, x: NodeId, axes: Vec<i64>, keep_axes: bool) -> Result<NodeId> {
        self.add(
            Op::Reduce {
                op: ReduceOp::Sum,
                axes: Some(axes),
                keep_axes,
            },
            &[x],
        )
    }

    /// `x` under a new shape with the same size.
    pub fn reshape(&mut self, x: NodeId, shape: Shape) -> Result<NodeId> {
        if self.nodes[x].shape == shape {
            return Ok(x);
        }
        self.add(Op::Reshape(shape), &[x])
    }

    /// `x` converted to `dtype` (itself when it already has it).
    pub fn cast(&mut self, x: NodeId, dtype: DType) -> Result<NodeId> {
        if self.nodes[x].dtype == dtype {
            return Ok(x);
        }
        self.add(Op::Cast(dtype), &[x])
    }

    /// `x` broadcast to `shape` by numpy rules (trailing axes aligned).
    pub fn broadcast_to(&mut self, x: NodeId, shape: &Shape) -> Result<NodeId> {
        if &self.nodes[x].shape == shape {
            return Ok(x);
        }
        self.add(
            Op::Broadcast {
                shape: shape.clone(),
                axes: None,
            },
            &[x],
        )
    }

    /// The gradient of a broadcast: `dy` summed down to `shape` (the axes
    /// that numpy-style broadcasting added or stretched).
    pub fn unbroadcast(&mut self, dy: NodeId, shape: &Shape) -> Result<NodeId> {
        let out = self.nodes[dy].shape.clone();
        if &out == shape {
            return Ok(dy);
        }
        let lead = out.rank() - shape.rank();
        let axes: Vec<i64> = (0..out.rank())
            .filter(|&i| i < lead || (shape.dims()[i - lead] == 1 && out.dims()[i] != 1))
            .map(|i| i as i64)
            .collect();
        let summed = if axes.is_empty() {
            dy
        } else {
            self.sum(dy, axes, true)?
        };
        self.reshape(summed, shape.clone())
    }
}
