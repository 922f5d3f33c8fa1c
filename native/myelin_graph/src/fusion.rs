//! The fusion pass: chains of elementwise nodes become one step that runs
//! a `myelin_cpu::fused::Program` block by block, so a chain of k ops reads
//! and writes memory once instead of k times and allocates one buffer.
//!
//! A node is fusable when it is a float unary or binary op over f32 or f64
//! whose operands have its own dtype and either its shape, a single
//! element, or a shape whose values cycle through it (a bias: `{c}` on
//! `{n, c}`, `{1, c, 1, 1}` on `{n, c, h, w}`; see `fused::broadcast_of`),
//! so bias + activation chains fuse. A fusable operand joins its consumer's
//! chain when nothing else reads it and it is not a graph output. So every
//! chain is a tree whose only exported value is its last node (the root),
//! and nothing outside the chain can depend on a value inside it: fusing
//! never creates a cycle, and the chain can run where its root stood.

use crate::graph::{Graph, NodeId};
use crate::op::Op;
use myelin_core::{DType, Error, Result};
use myelin_cpu::fused::{binary_into, broadcast_of, unary_into, Instr, Lane, Program, Source};
use std::collections::HashMap;

/// One step of an execution plan.
#[derive(Clone, Debug)]
pub enum Step {
    /// Evaluate one node with its op's kernel.
    Node(NodeId),
    /// Evaluate a fused chain; its result is the value of node `root`.
    Fused(Chain),
}

/// A fused chain of elementwise nodes.
#[derive(Clone, Debug)]
pub struct Chain {
    /// The node whose value the chain computes (its last member).
    pub root: NodeId,
    /// The nodes outside the chain that it reads, in program operand order.
    pub operands: Vec<NodeId>,
    /// The chain's ops.
    pub program: Program,
}

impl Step {
    /// The node whose value this step produces.
    pub fn output(&self) -> NodeId {
        match self {
            Step::Node(id) => *id,
            Step::Fused(chain) => chain.root,
        }
    }

    /// The values this step reads.
    pub fn inputs<'g>(&'g self, graph: &'g Graph) -> &'g [NodeId] {
        match self {
            Step::Node(id) => &graph.node(*id).inputs,
            Step::Fused(chain) => &chain.operands,
        }
    }
}

/// Turns `order` (the nodes to compute, in topological order) into steps,
/// fusing elementwise chains. `outputs` are the graph outputs (never
/// hidden inside a chain).
pub fn plan(graph: &Graph, order: &[NodeId], outputs: &[NodeId]) -> Result<Vec<Step>> {
    let mut readers = vec![0usize; graph.nodes().len()];
    for &id in order {
        for input in unique(&graph.node(id).inputs) {
            readers[input] += 1;
        }
    }
    let fusable: Vec<bool> = (0..graph.nodes().len()).map(|id| is_fusable(graph, id)).collect();

    // members[root]: the chain ending at `root`, in topological order.
    let mut members: HashMap<NodeId, Vec<NodeId>> = HashMap::new();
    let mut absorbed = vec![false; graph.nodes().len()];
    for &id in order.iter().filter(|&&id| fusable[id]) {
        let node = graph.node(id);
        let mut chain = Vec::new();
        for input in unique(&node.inputs) {
            let joins = fusable[input]
                && readers[input] == 1
                && !outputs.contains(&input)
                && graph.node(input).shape == node.shape;
            if joins {
                chain.extend(members.remove(&input).unwrap_or_else(|| vec![input]));
                absorbed[input] = true;
            }
        }
        chain.push(id);
        chain.sort_unstable();
        members.insert(id, chain);
    }

    order
        .iter()
        .filter(|&&id| !absorbed[id])
        .map(|&id| match members.remove(&id) {
            Some(chain) if chain.len() >= 2 => Ok(Step::Fused(build_chain(graph, &chain)?)),
            _ => Ok(Step::Node(id)),
        })
        .collect()
}

/// The program for `chain` (its members in topological order).
fn build_chain(graph: &Graph, chain: &[NodeId]) -> Result<Chain> {
    let root = *chain
        .last()
        .ok_or_else(|| Error::internal("fusion", "an empty chain"))?;
    let index: HashMap<NodeId, usize> = chain.iter().enumerate().map(|(i, &id)| (id, i)).collect();
    let mut operands: Vec<NodeId> = Vec::new();
    let mut source = |id: NodeId| match index.get(&id) {
        Some(&i) => Source::Value(i),
        None => {
            let k = operands.iter().position(|&o| o == id).unwrap_or_else(|| {
                operands.push(id);
                operands.len() - 1
            });
            Source::Operand(k)
        }
    };
    let instrs = chain
        .iter()
        .map(|&id| {
            let node = graph.node(id);
            match node.op {
                Op::Unary(op) => Ok(Instr::Unary(op, source(node.inputs[0]))),
                Op::Binary(op) => Ok(Instr::Binary(op, source(node.inputs[0]), source(node.inputs[1]))),
                // `is_fusable` admits only the two variants above.
                ref other => Err(Error::internal("fusion", format!("cannot fuse {}", other.name()))),
            }
        })
        .collect::<Result<Vec<Instr>>>()?;
    let node = graph.node(root);
    Ok(Chain {
        root,
        operands,
        program: Program {
            instrs,
            shape: node.shape.clone(),
            dtype: node.dtype,
        },
    })
}

fn is_fusable(graph: &Graph, id: NodeId) -> bool {
    let node = graph.node(id);
    if !matches!(node.dtype, DType::F32 | DType::F64) {
        return false;
    }
    let operands_fit = node.inputs.iter().all(|&i| {
        let input = graph.node(i);
        input.dtype == node.dtype && broadcast_of(&input.shape, &node.shape).is_some()
    });
    // Dry runs on empty lanes: true when the op has a float formula.
    operands_fit
        && match node.op {
            Op::Unary(op) => unary_into::<f64>(op, Lane::Run(&[]), &mut []).is_ok(),
            Op::Binary(op) => binary_into::<f64>(op, Lane::Run(&[]), Lane::Run(&[]), &mut []).is_ok(),
            _ => false,
        }
}

/// `ids` without repeats, in first-seen order (`x * x` reads `x` once).
fn unique(ids: &[NodeId]) -> Vec<NodeId> {
    let mut seen = Vec::with_capacity(ids.len());
    for &id in ids {
        if !seen.contains(&id) {
            seen.push(id);
        }
    }
    seen
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Executable;
    use myelin_core::ops::{BinaryOp, UnaryOp};
    use myelin_core::{Shape, Tensor};

    fn ramp(n: usize, dtype: DType) -> Tensor {
        let v: Vec<f64> = (0..n).map(|i| (i as f64 * 0.37).sin() * 3.0).collect();
        let t = Tensor::from_vec(Shape::new(vec![n]), v).unwrap();
        myelin_cpu::as_type(&t, dtype).unwrap()
    }

    /// x -> x * 1.5 -> tanh -> + x -> exp -> max(0.5): one chain.
    fn chain(g: &mut Graph, x: NodeId, dtype: DType) -> NodeId {
        let s = g.scalar(1.5, dtype).unwrap();
        let a = g.binary(BinaryOp::Multiply, x, s).unwrap();
        let b = g.unary(UnaryOp::Tanh, a).unwrap();
        let c = g.binary(BinaryOp::Add, b, x).unwrap();
        let d = g.unary(UnaryOp::Exp, c).unwrap();
        let half = g.scalar(0.5, dtype).unwrap();
        g.binary(BinaryOp::Max, d, half).unwrap()
    }

    fn eager(x: &Tensor, dtype: DType) -> Tensor {
        use myelin_cpu::{binary, unary};
        let s = |v: f64| {
            myelin_cpu::as_type(&Tensor::from_vec(Shape::new(vec![]), vec![v]).unwrap(), dtype).unwrap()
        };
        let a = binary(BinaryOp::Multiply, x, &s(1.5)).unwrap();
        let c = binary(BinaryOp::Add, &unary(UnaryOp::Tanh, &a).unwrap(), x).unwrap();
        binary(BinaryOp::Max, &unary(UnaryOp::Exp, &c).unwrap(), &s(0.5)).unwrap()
    }

    fn fused_steps(exe: &Executable) -> Vec<usize> {
        exe.steps()
            .iter()
            .filter_map(|s| match s {
                Step::Fused(c) => Some(c.program.instrs.len()),
                Step::Node(_) => None,
            })
            .collect()
    }

    #[test]
    fn a_chain_runs_as_one_step_and_gives_the_eager_bits() {
        for dtype in [DType::F32, DType::F64] {
            // Sizes below one block, across blocks, and across threads.
            for n in [1, 7, 1500, 300_001] {
                let mut g = Graph::new();
                let x = g.input(Shape::new(vec![n]), dtype);
                let y = chain(&mut g, x, dtype);
                let exe = Executable::new(g, vec![y]).unwrap();
                assert_eq!(fused_steps(&exe), vec![5], "{dtype} n={n}");
                let input = ramp(n, dtype);
                let got = exe.run(std::slice::from_ref(&input), &[], 0).unwrap();
                assert_eq!(
                    got[0].as_bytes().unwrap(),
                    eager(&input, dtype).as_bytes().unwrap(),
                    "{dtype} n={n}"
                );
            }
        }
    }

    #[test]
    fn shared_values_outputs_and_half_types_are_not_hidden_in_a_chain() {
        let shape = Shape::new(vec![10]);
        // `a` has two readers: it is computed on its own, and the two
        // single-node branches stay unfused.
        let mut g = Graph::new();
        let x = g.input(shape.clone(), DType::F32);
        let a = g.unary(UnaryOp::Exp, x).unwrap();
        let b = g.unary(UnaryOp::Log, a).unwrap();
        let c = g.unary(UnaryOp::Sqrt, a).unwrap();
        let exe = Executable::new(g, vec![b, c]).unwrap();
        assert!(fused_steps(&exe).is_empty());

        // An output inside a chain stays a value of its own.
        let mut g = Graph::new();
        let x = g.input(shape.clone(), DType::F32);
        let a = g.unary(UnaryOp::Exp, x).unwrap();
        let b = g.unary(UnaryOp::Log, a).unwrap();
        let c = g.unary(UnaryOp::Sqrt, b).unwrap();
        let exe = Executable::new(g, vec![a, c]).unwrap();
        assert_eq!(fused_steps(&exe), vec![2]);
        let out = exe.run(&[ramp(10, DType::F32)], &[], 0).unwrap();
        assert_eq!(out.len(), 2);

        // bf16 rounds after every eager op; it is not fused.
        let mut g = Graph::new();
        let x = g.input(shape, DType::BF16);
        let y = chain(&mut g, x, DType::BF16);
        let exe = Executable::new(g, vec![y]).unwrap();
        assert!(fused_steps(&exe).is_empty());
    }

    #[test]
    fn bias_and_activation_fuse_with_cycled_operands() {
        use myelin_cpu::fused::Broadcast;
        // Dense bias {c} on {n, c}, conv bias {1, c, 1, 1} on {n, c, h, w}.
        for (out, bias) in [
            (vec![5, 3], vec![3]),
            (vec![2, 3, 4, 5], vec![1, 3, 1, 1]),
            (vec![2, 700, 3], vec![700, 1]),
        ] {
            let mut g = Graph::new();
            let x = g.input(Shape::new(out.clone()), DType::F32);
            let b = g.input(Shape::new(bias.clone()), DType::F32);
            let y = g.binary(BinaryOp::Add, x, b).unwrap();
            let zero = g.scalar(0.0, DType::F32).unwrap();
            let z = g.binary(BinaryOp::Max, y, zero).unwrap();
            let exe = Executable::new(g, vec![z]).unwrap();
            assert_eq!(fused_steps(&exe), vec![2], "{out:?} + {bias:?}");
            let (xv, bv) = (
                ramp(out.iter().product(), DType::F32),
                ramp(bias.iter().product(), DType::F32),
            );
            let xv = xv.reshape(Shape::new(out.clone())).unwrap();
            let bv = bv.reshape(Shape::new(bias.clone())).unwrap();
            let got = exe.run(&[xv.clone(), bv.clone()], &[], 0).unwrap();
            let zero = Tensor::from_vec(Shape::new(vec![]), vec![0.0f32]).unwrap();
            let want = myelin_cpu::binary(
                BinaryOp::Max,
                &myelin_cpu::binary(BinaryOp::Add, &xv, &bv).unwrap(),
                &zero,
            )
            .unwrap();
            assert_eq!(
                got[0].as_bytes().unwrap(),
                want.as_bytes().unwrap(),
                "{out:?} + {bias:?}"
            );
        }
        let s = |d: &[usize]| Shape::new(d.to_vec());
        assert_eq!(
            broadcast_of(&s(&[3]), &s(&[5, 3])),
            Some(Broadcast::Cycle { repeat: 1, period: 3 })
        );
        assert_eq!(
            broadcast_of(&s(&[1, 3, 1, 1]), &s(&[2, 3, 4, 5])),
            Some(Broadcast::Cycle {
                repeat: 20,
                period: 3
            })
        );
        // {3, 1, 5} on {3, 4, 5}: two runs, not fusable.
        assert_eq!(broadcast_of(&s(&[3, 1, 5]), &s(&[3, 4, 5])), None);
    }
}
