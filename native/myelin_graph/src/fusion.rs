//! The fusion pass: chains of elementwise nodes become one step that runs
//! a `myelin_cpu::fused::Program` block by block, so a chain of k ops reads
//! and writes memory once instead of k times and allocates one buffer.
//!
//! A node is fusable when it is a float unary or binary op over f32 or f64
//! whose operands have its own dtype and either its shape, a single
//! element, or a shape whose values cycle through it (a bias: `{c}` on
//! `{n, c}`, `{1, c, 1, 1}` on `{n, c, h, w}`; see `fused::broadcast_of`),
//! so bias + activation chains fuse. A comparison of two such floats fuses
//! only as the mask of a `select` of that float type (its value in the
//! chain is a 0/1 lane; as u8 it never leaves the chain), so a relu
//! gradient, `select(y > 0, dy, 0)`, is one pass. A fusable operand joins
//! its consumer's chain when nothing else reads it and it is not a graph
//! output. So every
//! chain is a tree whose only exported value is its last node (the root),
//! and nothing outside the chain can depend on a value inside it: fusing
//! never creates a cycle, and the chain can run where its root stood.

use crate::graph::{Graph, NodeId};
use crate::op::Op;
use myelin_core::ops::binary::BinaryClass;
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
    let mut fusable: Vec<bool> = (0..graph.nodes().len()).map(|id| is_fusable(graph, id)).collect();
    let joins = |fusable: &[bool], input: NodeId, consumer: NodeId| {
        fusable[input]
            && readers[input] == 1
            && !outputs.contains(&input)
            && graph.node(input).shape == graph.node(consumer).shape
    };
    // A select fuses only with its mask: a u8 operand cannot enter a chain.
    for &id in order {
        if matches!(graph.node(id).op, Op::Select) {
            let mask = graph.node(id).inputs[0];
            fusable[id] = fusable[id]
                && is_comparison(graph, mask)
                && lane_dtype(graph, mask) == graph.node(id).dtype
                && joins(&fusable, mask, id);
        }
    }

    // members[root]: the chain ending at `root`, in topological order.
    let mut members: HashMap<NodeId, Vec<NodeId>> = HashMap::new();
    let mut absorbed = vec![false; graph.nodes().len()];
    for &id in order.iter().filter(|&&id| fusable[id]) {
        let node = graph.node(id);
        let mut chain = Vec::new();
        // A comparison's value is a mask, never a chain's result: it takes
        // no members, so it either joins a select or runs on its own.
        let inputs = if is_comparison(graph, id) {
            Vec::new()
        } else {
            unique(&node.inputs)
        };
        for input in inputs {
            if joins(&fusable, input, id) {
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
                Op::Binary(op) if op.class() == BinaryClass::Comparison => {
                    Ok(Instr::Compare(op, source(node.inputs[0]), source(node.inputs[1])))
                }
                Op::Binary(op) => Ok(Instr::Binary(op, source(node.inputs[0]), source(node.inputs[1]))),
                Op::Select => Ok(Instr::Select(
                    source(node.inputs[0]),
                    source(node.inputs[1]),
                    source(node.inputs[2]),
                )),
                // `is_fusable` admits only the variants above.
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

/// Whether `id` can be part of a chain on its own terms (a select also
/// needs its mask to join; see [`plan`]).
fn is_fusable(graph: &Graph, id: NodeId) -> bool {
    let node = graph.node(id);
    let lane_type = lane_dtype(graph, id);
    if !matches!(lane_type, DType::F32 | DType::F64) {
        return false;
    }
    // A select's mask is checked by `plan`; its other operands, like every
    // other op's, have the chain's float type.
    let skip = usize::from(matches!(node.op, Op::Select)).min(node.inputs.len());
    let operands_fit = node.inputs[skip..].iter().all(|&i| {
        let input = graph.node(i);
        input.dtype == lane_type && broadcast_of(&input.shape, &node.shape).is_some()
    });
    // Dry runs on empty lanes: true when the op has a float formula.
    operands_fit
        && match node.op {
            Op::Unary(op) => unary_into::<f64>(op, Lane::Run(&[]), &mut []).is_ok(),
            Op::Binary(op) if op.class() == BinaryClass::Comparison => true,
            Op::Binary(op) => binary_into::<f64>(op, Lane::Run(&[]), Lane::Run(&[]), &mut []).is_ok(),
            Op::Select => node.inputs.len() == 3,
            _ => false,
        }
}

fn is_comparison(graph: &Graph, id: NodeId) -> bool {
    matches!(graph.node(id).op, Op::Binary(op) if op.class() == BinaryClass::Comparison)
}

/// The float type a node's values have inside a chain: a comparison's
/// mask takes its operands' type, every other node its own.
fn lane_dtype(graph: &Graph, id: NodeId) -> DType {
    let node = graph.node(id);
    match node.inputs.first() {
        Some(&a) if is_comparison(graph, id) => graph.node(a).dtype,
        _ => node.dtype,
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

    /// `select(y > 0, dy, 0)` (a relu gradient) and `select(x > 0, x, 0.1 * x)`
    /// (leaky relu) are one step each, with the eager bits; a mask with two
    /// readers, a mask that is an output, or a mask of another float type
    /// stays a node of its own.
    #[test]
    fn masks_fuse_into_their_select() {
        use myelin_cpu::{binary, select};
        let shape = Shape::new(vec![3, 501]);
        let values = |k: f64| {
            let v: Vec<f32> = (0..1503)
                .map(|i| match i % 11 {
                    0 => 0.0,
                    1 => f32::NAN,
                    _ => ((i as f64 * k).sin() * 3.0) as f32,
                })
                .collect();
            Tensor::from_vec(shape.clone(), v).unwrap()
        };
        let (y, dy) = (values(0.37), values(0.11));
        let scalar = |v: f32| Tensor::from_vec(Shape::new(vec![]), vec![v]).unwrap();

        let mut g = Graph::new();
        let (yn, dyn_) = (
            g.input(shape.clone(), DType::F32),
            g.input(shape.clone(), DType::F32),
        );
        let zero = g.scalar(0.0, DType::F32).unwrap();
        let mask = g.binary(BinaryOp::Greater, yn, zero).unwrap();
        let relu_grad = g.add(Op::Select, &[mask, dyn_, zero]).unwrap();
        let tenth = g.scalar(0.1, DType::F32).unwrap();
        let scaled = g.binary(BinaryOp::Multiply, yn, tenth).unwrap();
        let positive = g.binary(BinaryOp::Greater, yn, zero).unwrap();
        let leaky = g.add(Op::Select, &[positive, yn, scaled]).unwrap();
        let exe = Executable::new(g, vec![relu_grad, leaky]).unwrap();
        assert_eq!(fused_steps(&exe), vec![2, 3]);
        let got = exe.run(&[y.clone(), dy.clone()], &[], 0).unwrap();
        let want_grad = select(
            &binary(BinaryOp::Greater, &y, &scalar(0.0)).unwrap(),
            &dy,
            &scalar(0.0),
        )
        .unwrap();
        let scaled = binary(BinaryOp::Multiply, &y, &scalar(0.1)).unwrap();
        let want_leaky = select(&binary(BinaryOp::Greater, &y, &scalar(0.0)).unwrap(), &y, &scaled).unwrap();
        assert_eq!(got[0].as_bytes().unwrap(), want_grad.as_bytes().unwrap());
        assert_eq!(got[1].as_bytes().unwrap(), want_leaky.as_bytes().unwrap());

        // One mask, two selects (the general max/min gradient): unfused.
        let mut g = Graph::new();
        let (yn, dyn_) = (
            g.input(shape.clone(), DType::F32),
            g.input(shape.clone(), DType::F32),
        );
        let zero = g.scalar(0.0, DType::F32).unwrap();
        let mask = g.binary(BinaryOp::GreaterEqual, yn, dyn_).unwrap();
        let a = g.add(Op::Select, &[mask, dyn_, zero]).unwrap();
        let b = g.add(Op::Select, &[mask, zero, dyn_]).unwrap();
        let exe = Executable::new(g, vec![a, b]).unwrap();
        assert!(fused_steps(&exe).is_empty());
        let got = exe.run(&[y.clone(), dy.clone()], &[], 0).unwrap();
        let m = binary(BinaryOp::GreaterEqual, &y, &dy).unwrap();
        assert_eq!(
            got[1].as_bytes().unwrap(),
            select(&m, &scalar(0.0), &dy).unwrap().as_bytes().unwrap()
        );

        // The mask is also an output: it stays a u8 tensor of its own.
        let mut g = Graph::new();
        let yn = g.input(shape.clone(), DType::F32);
        let zero = g.scalar(0.0, DType::F32).unwrap();
        let mask = g.binary(BinaryOp::Greater, yn, zero).unwrap();
        let picked = g.add(Op::Select, &[mask, yn, zero]).unwrap();
        let exe = Executable::new(g, vec![mask, picked]).unwrap();
        assert!(fused_steps(&exe).is_empty());
        let got = exe.run(std::slice::from_ref(&y), &[], 0).unwrap();
        assert_eq!(got[0].dtype(), DType::U8);

        // An f64 mask choosing between f32 values: one chain has one type.
        let mut g = Graph::new();
        let wide = g.input(shape.clone(), DType::F64);
        let yn = g.input(shape.clone(), DType::F32);
        let zero64 = g.scalar(0.0, DType::F64).unwrap();
        let zero = g.scalar(0.0, DType::F32).unwrap();
        let mask = g.binary(BinaryOp::Greater, wide, zero64).unwrap();
        let picked = g.add(Op::Select, &[mask, yn, zero]).unwrap();
        let exe = Executable::new(g, vec![picked]).unwrap();
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
