//! The executor: a graph planned once, run many times.
//!
//! Planning keeps only the nodes the outputs need, fuses chains of
//! elementwise nodes into single steps (`fusion.rs`) and records, for each
//! step, which values die there, so every intermediate buffer is released
//! as soon as its last reader has run (peak memory is the live set, not the
//! whole graph).

use crate::fusion::{self, Step};
use crate::graph::{Graph, NodeId};
use crate::op::Op;
use crate::profile;
use myelin_core::{Error, Result, Tensor};
use myelin_cpu::fused;
use std::time::Instant;

/// Multiply-adds of a `dot` counted as one unit of [`Executable::work`].
pub const MACS_PER_ELEMENT_OP: u64 = 8;

/// A graph with a fixed set of outputs and its execution plan.
#[derive(Clone, Debug)]
pub struct Executable {
    graph: Graph,
    outputs: Vec<NodeId>,
    /// The nodes to compute, in order.
    order: Vec<NodeId>,
    /// How to compute them: `order` with elementwise chains fused.
    steps: Vec<Step>,
    /// `release[k]`: values no longer needed after step `k`.
    release: Vec<Vec<NodeId>>,
}

impl Executable {
    /// Plans `graph` to compute `outputs`.
    pub fn new(graph: Graph, outputs: Vec<NodeId>) -> Result<Executable> {
        for &o in &outputs {
            graph.check_id("compile", o)?;
        }
        let n = graph.nodes().len();
        let mut needed = vec![false; n];
        for &o in &outputs {
            needed[o] = true;
        }
        for id in (0..n).rev() {
            if needed[id] {
                for &i in &graph.node(id).inputs {
                    needed[i] = true;
                }
            }
        }
        let order: Vec<NodeId> = (0..n).filter(|&i| needed[i]).collect();
        let steps = fusion::plan(&graph, &order, &outputs)?;
        let mut last_use = vec![None; n];
        for (k, step) in steps.iter().enumerate() {
            for &i in step.inputs(&graph) {
                last_use[i] = Some(k);
            }
        }
        let mut release = vec![Vec::new(); steps.len()];
        for step in &steps {
            let id = step.output();
            if let Some(k) = last_use[id] {
                if !outputs.contains(&id) {
                    release[k].push(id);
                }
            }
        }
        Ok(Executable {
            graph,
            outputs,
            order,
            steps,
            release,
        })
    }

    /// The planned graph.
    pub fn graph(&self) -> &Graph {
        &self.graph
    }

    /// The execution plan: one step per computed node, or per fused chain.
    pub fn steps(&self) -> &[Step] {
        &self.steps
    }

    /// The output nodes, in the order [`Executable::run`] returns them.
    pub fn outputs(&self) -> &[NodeId] {
        &self.outputs
    }

    /// An estimate of one run's work in elementwise-op equivalents, used to
    /// choose between a normal and a dirty scheduler. A GEMM multiply-add
    /// costs a fraction of an elementwise op: measured here, even the
    /// memory-bound single-row product (1×1000 by 1000×1000) does 5.5
    /// multiply-adds per ns, against about one element per ns for an
    /// elementwise kernel, so `dot` counts [`MACS_PER_ELEMENT_OP`] multiply-adds
    /// as one. Batch-1 inference of a 784-128-10 MLP is then 13k units and
    /// stays on the calling scheduler (about 8 µs), skipping the dirty
    /// scheduler hop.
    pub fn work(&self) -> u64 {
        self.order
            .iter()
            .map(|&id| {
                let node = self.graph.node(id);
                let out = node.shape.size() as u64;
                match &node.op {
                    Op::Dot { contract_a, .. } => {
                        let a = &self.graph.node(node.inputs[0]).shape;
                        let k: u64 = contract_a
                            .iter()
                            .filter_map(|&c| a.axis("dot", c).ok())
                            .map(|c| a.dims()[c] as u64)
                            .product();
                        out * k / MACS_PER_ELEMENT_OP
                    }
                    // Multiply-adds: each output element reads a kernel window.
                    Op::Conv(_) | Op::ConvInputGrad { .. } | Op::ConvKernelGrad { .. } => {
                        let k = self.graph.node(node.inputs[1]).shape.size() as u64;
                        out.max(k) * 9
                    }
                    Op::Input(_) | Op::Param(_) | Op::Constant(_) | Op::Reshape(_) => 0,
                    _ => out,
                }
            })
            .sum()
    }

    /// Runs the graph on `inputs` and `params` (in the graph's order; each
    /// must match its node's shape and dtype). `seed` feeds random ops.
    pub fn run(&self, inputs: &[Tensor], params: &[Tensor], seed: u64) -> Result<Vec<Tensor>> {
        check_values("run", "input", self.graph.inputs(), inputs, &self.graph)?;
        check_values("run", "parameter", self.graph.params(), params, &self.graph)?;
        let mut values: Vec<Option<Tensor>> = vec![None; self.graph.nodes().len()];
        let profiling = profile::enabled();
        for (k, step) in self.steps.iter().enumerate() {
            let started = (profiling && !self.is_leaf(step)).then(Instant::now);
            let args = step
                .inputs(&self.graph)
                .iter()
                .map(|&i| {
                    values[i]
                        .as_ref()
                        .ok_or_else(|| Error::internal("run", "an operand was released too early"))
                })
                .collect::<Result<Vec<&Tensor>>>()?;
            let value = match step {
                Step::Fused(chain) => fused::run(&chain.program, &args)?,
                Step::Node(id) => match &self.graph.node(*id).op {
                    Op::Input(i) => inputs[*i].clone(),
                    Op::Param(i) => params[*i].clone(),
                    Op::Constant(t) => t.clone(),
                    op => op.eval(&args, seed)?,
                },
            };
            if let Some(started) = started {
                profile::record(self.step_label(step), started.elapsed());
            }
            values[step.output()] = Some(value);
            for &dead in &self.release[k] {
                values[dead] = None;
            }
        }
        if profiling {
            profile::record_run();
        }
        self.outputs
            .iter()
            .map(|&o| {
                values[o]
                    .clone()
                    .ok_or_else(|| Error::internal("run", "an output was not computed"))
            })
            .collect()
    }

    /// Whether a step only hands over a value it was given (not profiled).
    fn is_leaf(&self, step: &Step) -> bool {
        let Step::Node(id) = step else { return false };
        matches!(
            self.graph.node(*id).op,
            Op::Input(_) | Op::Param(_) | Op::Constant(_)
        )
    }

    /// A step's name in a profile: its op (each op of a fused chain) and
    /// its output shape, e.g. `conv [128, 64, 11, 11]` or
    /// `fused(add, max) [128, 32, 26, 26]`.
    fn step_label(&self, step: &Step) -> String {
        let node = self.graph.node(step.output());
        let name = match step {
            Step::Node(_) => node.op.name().to_string(),
            Step::Fused(chain) => {
                let ops: Vec<&str> = chain.program.instrs.iter().map(|i| i.name()).collect();
                format!("fused({})", ops.join(", "))
            }
        };
        format!("{name} {:?}", node.shape.dims())
    }
}

fn check_values(op: &str, what: &str, nodes: &[NodeId], values: &[Tensor], g: &Graph) -> Result<()> {
    if nodes.len() != values.len() {
        return Err(Error::arg(
            op,
            format!("expected {} {what}s, got {}", nodes.len(), values.len()),
        ));
    }
    for (k, (&id, v)) in nodes.iter().zip(values).enumerate() {
        let node = g.node(id);
        if v.shape() != &node.shape || v.dtype() != node.dtype {
            return Err(Error::arg(
                op,
                format!(
                    "{what} {k}: expected a tensor of shape {} and type {}, got shape {} and type {}",
                    node.shape,
                    node.dtype,
                    v.shape(),
                    v.dtype()
                ),
            ));
        }
    }
    Ok(())
}
