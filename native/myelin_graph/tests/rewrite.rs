//! The build-time rewrites of `Graph::add` against the graphs built
//! without them (`Graph::add_exact`): same values bit for bit, gradients
//! equal up to summation order, and no rewrite where it would be wrong.

use myelin_core::ops::{BinaryOp, ReduceOp};
use myelin_core::{DType, Shape, Tensor};
use myelin_cpu::pool::PoolKind;
use myelin_graph::{grad, Executable, Graph, NodeId, Op, Window};

/// Deterministic f32 values in [-1, 1), with a few exact zeros, ties and
/// a NaN and -inf when `special`.
fn values(n: usize, seed: u32, special: bool) -> Vec<f32> {
    let mut v: Vec<f32> = (0..n)
        .map(|i| {
            let z = (i as u32)
                .wrapping_mul(2_654_435_761)
                .wrapping_add(seed.wrapping_mul(40_503));
            (z >> 8) as f32 / (1u32 << 23) as f32 - 1.0
        })
        .collect();
    for i in (0..n).step_by(7) {
        v[i] = 0.0;
    }
    for i in (3..n).step_by(11) {
        v[i] = v[i - 1];
    }
    if special {
        v[5] = f32::NAN;
        v[n / 2] = f32::NEG_INFINITY;
    }
    v
}

fn pool(size: usize, stride: usize, pad: usize) -> Op {
    Op::Pool {
        kind: PoolKind::Max,
        window: Window {
            size: vec![size, size],
            strides: vec![stride, stride],
            padding: vec![(pad, pad), (pad, pad)],
        },
    }
}

/// `pool(min(max(x + b, 0), 6))` (a conv's bias and relu6, then a pool),
/// built with or without rewrites; returns (graph, x, b, pooled).
fn relu6_pool(
    x_dims: &[usize],
    b_dims: &[usize],
    pool_op: Op,
    rewrite: bool,
) -> (Graph, NodeId, NodeId, NodeId) {
    let mut g = Graph::new();
    let x = g.param(Shape::new(x_dims.to_vec()), DType::F32);
    let b = g.param(Shape::new(b_dims.to_vec()), DType::F32);
    let zero = g.scalar(0.0, DType::F32).unwrap();
    let six = g.scalar(6.0, DType::F32).unwrap();
    let y = g.binary(BinaryOp::Add, x, b).unwrap();
    let y = g.binary(BinaryOp::Max, y, zero).unwrap();
    let y = g.binary(BinaryOp::Min, six, y).unwrap();
    let p = if rewrite {
        g.add(pool_op, &[y]).unwrap()
    } else {
        g.add_exact(pool_op, &[y]).unwrap()
    };
    (g, x, b, p)
}

fn run(g: Graph, outputs: Vec<NodeId>, params: &[Tensor]) -> Vec<Tensor> {
    Executable::new(g, outputs).unwrap().run(&[], params, 0).unwrap()
}

fn bits(t: &Tensor) -> Vec<u32> {
    t.as_slice::<f32>().unwrap().iter().map(|v| v.to_bits()).collect()
}

fn params(x_dims: &[usize], b_dims: &[usize], special: bool) -> Vec<Tensor> {
    let x_size = x_dims.iter().product();
    let b_size = b_dims.iter().product();
    // Scaled so that x + b crosses both of relu6's corners.
    let x: Vec<f32> = values(x_size, 1, special).iter().map(|v| v * 8.0).collect();
    vec![
        Tensor::from_vec(Shape::new(x_dims.to_vec()), x).unwrap(),
        Tensor::from_vec(Shape::new(b_dims.to_vec()), values(b_size, 2, false)).unwrap(),
    ]
}

#[test]
fn pool_moves_before_bias_and_relu_with_the_same_bits() {
    for (x_dims, pool_op) in [
        (vec![2, 3, 6, 6], pool(2, 2, 0)),
        (vec![2, 3, 7, 7], pool(2, 2, 0)), // the last row and column are read by no window
        (vec![1, 4, 5, 5], pool(3, 1, 0)), // overlapping windows
        (vec![2, 2, 5, 5], pool(2, 2, 1)), // padding below the window size
    ] {
        let b_dims = [1, x_dims[1], 1, 1];
        let ps = params(&x_dims, &b_dims, true);
        let (g, _, _, p) = relu6_pool(&x_dims, &b_dims, pool_op.clone(), true);
        assert!(
            matches!(g.node(p).op, Op::Binary(BinaryOp::Min)),
            "{x_dims:?}: expected the rewrite, got {:?}",
            g.node(p).op
        );
        let rewritten = run(g, vec![p], &ps);
        let (g, _, _, p) = relu6_pool(&x_dims, &b_dims, pool_op, false);
        assert!(matches!(g.node(p).op, Op::Pool { .. }));
        let exact = run(g, vec![p], &ps);
        assert_eq!(rewritten[0].shape(), exact[0].shape());
        assert_eq!(bits(&rewritten[0]), bits(&exact[0]), "{x_dims:?}");
    }
}

#[test]
fn gradients_through_the_rewrite_match_the_original() {
    let (x_dims, b_dims) = ([2, 3, 7, 7], [1, 3, 1, 1]);
    let ps = params(&x_dims, &b_dims, false);
    let grads = |rewrite: bool| {
        let (mut g, x, b, p) = relu6_pool(&x_dims, &b_dims, pool(2, 2, 0), rewrite);
        let shape = g.node(p).shape.clone();
        let w: Vec<f32> = values(shape.size(), 3, false);
        let w = g.constant(Tensor::from_vec(shape, w).unwrap());
        let yw = g.binary(BinaryOp::Multiply, p, w).unwrap();
        let sum = Op::Reduce {
            op: ReduceOp::Sum,
            axes: None,
            keep_axes: false,
        };
        let loss = g.add(sum, &[yw]).unwrap();
        let d = grad(&mut g, loss, &[x, b]).unwrap();
        run(g, d, &ps)
    };
    let (rewritten, exact) = (grads(true), grads(false));
    assert_eq!(bits(&rewritten[0]), bits(&exact[0]), "input gradient");
    let (got, want) = (
        rewritten[1].as_slice::<f32>().unwrap(),
        exact[1].as_slice::<f32>().unwrap(),
    );
    for (g, w) in got.iter().zip(want) {
        assert!(
            (g - w).abs() <= 1e-5 * (1.0 + w.abs()),
            "bias gradient {g} vs {w}"
        );
    }
}

/// `sum(y * w)` for fixed weights `w`, and its gradients with respect to
/// `wrt`, evaluated.
fn loss_grads(mut g: Graph, y: NodeId, wrt: &[NodeId], params: &[Tensor]) -> Vec<Tensor> {
    let shape = g.node(y).shape.clone();
    let w: Vec<f32> = values(shape.size(), 3, false);
    let w = g.constant(Tensor::from_vec(shape, w).unwrap());
    let yw = g.binary(BinaryOp::Multiply, y, w).unwrap();
    let sum = Op::Reduce {
        op: ReduceOp::Sum,
        axes: None,
        keep_axes: false,
    };
    let loss = g.add(sum, &[yw]).unwrap();
    let d = grad(&mut g, loss, wrt).unwrap();
    run(g, d, params)
}

#[test]
fn gradients_with_respect_to_bypassed_nodes_match_the_original() {
    let (x_dims, b_dims) = ([2, 3, 7, 7], [1, 3, 1, 1]);
    let ps = params(&x_dims, &b_dims, false);
    // relu6_pool's chain: x + b (node sum), max(., 0) (node relu), min(6, .).
    let build = |rewrite: bool| {
        let (g, x, b, p) = relu6_pool(&x_dims, &b_dims, pool(2, 2, 0), rewrite);
        let top = if rewrite {
            g.bypasses()[0].top
        } else {
            g.node(p).inputs[0]
        };
        let relu = g.node(top).inputs[1];
        let sum = g.node(relu).inputs[0];
        (g, x, b, p, [top, relu, sum])
    };
    let (g, x, b, p, chain) = build(true);
    assert_eq!(g.bypasses().len(), 1);
    assert_eq!(g.bypasses()[0].chain, chain.to_vec());
    let wrt = [chain[0], chain[1], chain[2], x, b];
    let rewritten = loss_grads(g, p, &wrt, &ps);
    let (g, x, b, p, chain) = build(false);
    let exact = loss_grads(g, p, &[chain[0], chain[1], chain[2], x, b], &ps);
    for (i, (r, e)) in rewritten.iter().zip(&exact).enumerate().take(4) {
        assert_eq!(bits(r), bits(e), "gradient {i}");
    }
}

#[test]
fn a_bypassed_node_read_again_later_gets_both_gradients() {
    let (x_dims, b_dims) = ([1, 2, 4, 4], [1, 2, 1, 1]);
    let ps = params(&x_dims, &b_dims, false);
    let build = |rewrite: bool| {
        let (mut g, _, _, p) = relu6_pool(&x_dims, &b_dims, pool(2, 2, 0), rewrite);
        let top = if rewrite {
            g.bypasses()[0].top
        } else {
            g.node(p).inputs[0]
        };
        // A skip connection: the activation, pooled by a strided slice,
        // added to the pool's output.
        let skip = Op::Slice {
            starts: vec![0, 0, 0, 0],
            lengths: vec![1, 2, 2, 2],
            strides: Some(vec![1, 1, 2, 2]),
        };
        let skip = g.add(skip, &[top]).unwrap();
        let y = g.binary(BinaryOp::Add, p, skip).unwrap();
        (g, y, top)
    };
    let (g, y, top) = build(true);
    let rewritten = loss_grads(g, y, &[top], &ps);
    let (g, y, top) = build(false);
    let exact = loss_grads(g, y, &[top], &ps);
    assert_eq!(bits(&rewritten[0]), bits(&exact[0]));
}

#[test]
fn pools_in_sequence_bypass_each_other_and_differentiate_through_both() {
    let (x_dims, b_dims) = ([1, 2, 8, 8], [1, 2, 1, 1]);
    let ps = params(&x_dims, &b_dims, false);
    let build = |rewrite: bool| {
        let (mut g, _, b, p) = relu6_pool(&x_dims, &b_dims, pool(2, 2, 0), rewrite);
        let first_top = if rewrite {
            g.bypasses()[0].top
        } else {
            g.node(p).inputs[0]
        };
        let zero = g.scalar(0.0, DType::F32).unwrap();
        let s = g.binary(BinaryOp::Subtract, p, b).unwrap();
        let r = g.binary(BinaryOp::Max, s, zero).unwrap();
        let q = if rewrite {
            g.add(pool(2, 2, 0), &[r]).unwrap()
        } else {
            g.add_exact(pool(2, 2, 0), &[r]).unwrap()
        };
        (g, q, [first_top, r, s])
    };
    let (g, q, wrt) = build(true);
    assert_eq!(g.bypasses().len(), 2);
    // The second rewrite moved the second pool below the first one's
    // moved chain too: it now reads the first pool directly.
    let second = &g.bypasses()[1];
    let below = g.node(*second.chain.last().unwrap()).inputs[second.carriers[second.chain.len() - 1]];
    assert!(matches!(g.node(below).op, Op::Pool { .. }));
    let values_rewritten = run(g.clone(), vec![q], &ps);
    let rewritten = loss_grads(g, q, &wrt, &ps);
    let (g, q, wrt) = build(false);
    let values_exact = run(g.clone(), vec![q], &ps);
    let exact = loss_grads(g, q, &wrt, &ps);
    assert_eq!(bits(&values_rewritten[0]), bits(&values_exact[0]));
    for (i, (r, e)) in rewritten.iter().zip(&exact).enumerate() {
        assert_eq!(bits(r), bits(e), "gradient {i}");
    }
}

#[test]
fn no_rewrite_where_values_would_change_or_work_would_grow() {
    let not_rewritten = |g: &Graph, p: NodeId| matches!(g.node(p).op, Op::Pool { .. });

    // A window wholly in padding pools -inf, which the relu would turn into 0.
    let (g, _, _, p) = relu6_pool(&[1, 2, 4, 4], &[1, 2, 1, 1], pool(2, 2, 2), true);
    assert!(not_rewritten(&g, p));

    // A bias that varies inside the windows stays before the pool (the
    // relu6 above it still moves).
    let (g, x, b, p) = relu6_pool(&[1, 2, 4, 4], &[1, 2, 4, 1], pool(2, 2, 0), true);
    let relu = g.node(p).inputs[1];
    let pooled = g.node(relu).inputs[0];
    assert!(matches!(g.node(pooled).op, Op::Pool { .. }));
    let add = g.node(pooled).inputs[0];
    assert!(matches!(g.node(add).op, Op::Binary(BinaryOp::Add)));
    assert_eq!(g.node(add).inputs, vec![x, b]);

    // An empty spatial dim with padding: the one window is all padding.
    let (g, _, _, p) = relu6_pool(&[1, 2, 0, 3], &[1, 2, 1, 1], pool(2, 1, 1), true);
    assert!(not_rewritten(&g, p));

    // `c - x` decreases in x.
    let mut g = Graph::new();
    let x = g.param(Shape::new(vec![1, 2, 4, 4]), DType::F32);
    let c = g.param(Shape::new(vec![1, 2, 1, 1]), DType::F32);
    let y = g.binary(BinaryOp::Subtract, c, x).unwrap();
    let p = g.add(pool(2, 2, 0), &[y]).unwrap();
    assert!(not_rewritten(&g, p));

    // An operand that broadcasts the chain's value to a larger shape.
    let mut g = Graph::new();
    let x = g.param(Shape::new(vec![1, 1, 4, 4]), DType::F32);
    let c = g.param(Shape::new(vec![1, 2, 1, 1]), DType::F32);
    let y = g.binary(BinaryOp::Add, x, c).unwrap();
    let p = g.add(pool(2, 2, 0), &[y]).unwrap();
    assert!(not_rewritten(&g, p));

    // A float operand that changes the chain's dtype.
    let mut g = Graph::new();
    let x = g.param(Shape::new(vec![1, 2, 4, 4]), DType::F32);
    let c = g.param(Shape::new(vec![1, 2, 1, 1]), DType::F64);
    let y = g.binary(BinaryOp::Add, x, c).unwrap();
    let p = g.add(pool(2, 2, 0), &[y]).unwrap();
    assert!(not_rewritten(&g, p));

    // Average pooling does not commute with a relu.
    let avg = Op::Pool {
        kind: PoolKind::Avg,
        window: Window {
            size: vec![2, 2],
            strides: vec![2, 2],
            padding: vec![(0, 0), (0, 0)],
        },
    };
    let (g, _, _, p) = relu6_pool(&[1, 2, 4, 4], &[1, 2, 1, 1], avg, true);
    assert!(not_rewritten(&g, p));

    // The activation is read elsewhere too: it is computed unpooled anyway.
    let mut g = Graph::new();
    let x = g.param(Shape::new(vec![1, 2, 4, 4]), DType::F32);
    let zero = g.scalar(0.0, DType::F32).unwrap();
    let y = g.binary(BinaryOp::Max, x, zero).unwrap();
    let _other = g.binary(BinaryOp::Multiply, y, y).unwrap();
    let p = g.add(pool(2, 2, 0), &[y]).unwrap();
    assert!(not_rewritten(&g, p));

    // Only the part of the chain that nothing else reads moves: here the
    // bias sum is read elsewhere, so only the relu moves.
    let mut g = Graph::new();
    let x = g.param(Shape::new(vec![1, 2, 4, 4]), DType::F32);
    let b = g.param(Shape::new(vec![1, 2, 1, 1]), DType::F32);
    let zero = g.scalar(0.0, DType::F32).unwrap();
    let s = g.binary(BinaryOp::Add, x, b).unwrap();
    let _other = g.binary(BinaryOp::Multiply, s, s).unwrap();
    let y = g.binary(BinaryOp::Max, s, zero).unwrap();
    let p = g.add(pool(2, 2, 0), &[y]).unwrap();
    assert!(matches!(g.node(p).op, Op::Binary(BinaryOp::Max)));
    let pooled = g.node(p).inputs[0];
    assert!(matches!(g.node(pooled).op, Op::Pool { .. }));
    assert_eq!(g.node(pooled).inputs, vec![s]);
}

#[test]
fn a_bad_pool_fails_as_it_would_without_the_rewrite() {
    let mut g = Graph::new();
    let x = g.param(Shape::new(vec![1, 2, 4, 4]), DType::F32);
    let zero = g.scalar(0.0, DType::F32).unwrap();
    let y = g.binary(BinaryOp::Max, x, zero).unwrap();
    let too_big = pool(5, 1, 0);
    let rewritten = g.add(too_big.clone(), &[y]).unwrap_err().to_string();
    let exact = g.add_exact(too_big, &[y]).unwrap_err().to_string();
    assert_eq!(rewritten, exact);
}
