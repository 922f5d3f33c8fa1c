//! Every gradient rule against central finite differences in f64.
//!
//! Each case builds `f(x...)` into a graph, reduces it to a scalar with fixed
//! pseudo-random weights (so every output element matters differently), and
//! compares the graph's gradient with (L(x + h) - L(x - h)) / 2h per element.

use myelin_core::ops::{BinaryOp, ReduceOp, UnaryOp};
use myelin_core::{DType, Shape, Tensor};
use myelin_graph::{grad, Executable, Graph, NodeId, Op};

/// Deterministic values in [lo, hi).
fn values(n: usize, seed: u64, lo: f64, hi: f64) -> Vec<f64> {
    (0..n)
        .map(|i| {
            let mut z = seed.wrapping_add((i as u64 + 1).wrapping_mul(0x9E37_79B9_7F4A_7C15));
            z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
            z ^= z >> 31;
            lo + (hi - lo) * (z >> 11) as f64 / (1u64 << 53) as f64
        })
        .collect()
}

fn tensor(dims: &[usize], v: Vec<f64>) -> Tensor {
    Tensor::from_vec(Shape::new(dims.to_vec()), v).unwrap()
}

/// Builds L = sum(f(params) * w) and returns (graph, loss node).
fn build(shapes: &[Vec<usize>], f: &dyn Fn(&mut Graph, &[NodeId]) -> NodeId) -> (Graph, NodeId, Vec<NodeId>) {
    let mut g = Graph::new();
    let ps: Vec<NodeId> = shapes
        .iter()
        .map(|s| g.param(Shape::new(s.clone()), DType::F64))
        .collect();
    let y = f(&mut g, &ps);
    let y_shape = g.node(y).shape.clone();
    let w = g.constant(tensor(y_shape.dims(), values(y_shape.size(), 99, 0.5, 1.5)));
    let yw = g.binary(BinaryOp::Multiply, y, w).unwrap();
    let loss = sum_all(&mut g, yw);
    (g, loss, ps)
}

/// The sum of every element of `y`.
fn sum_all(g: &mut Graph, y: NodeId) -> NodeId {
    let sum = Op::Reduce {
        op: ReduceOp::Sum,
        axes: None,
        keep_axes: false,
    };
    g.add(sum, &[y]).unwrap()
}

fn scalar(t: &Tensor) -> f64 {
    t.as_slice::<f64>().unwrap()[0]
}

/// Checks d sum(f * w) / d x_i for every parameter and element.
fn check(name: &str, xs: Vec<(Vec<usize>, Vec<f64>)>, f: &dyn Fn(&mut Graph, &[NodeId]) -> NodeId) {
    let shapes: Vec<Vec<usize>> = xs.iter().map(|x| x.0.clone()).collect();
    let (mut g, loss, ps) = build(&shapes, f);
    let grads = grad(&mut g, loss, &ps).unwrap();
    let mut outs = vec![loss];
    outs.extend(&grads);
    let exe = Executable::new(g, outs).unwrap();
    let params: Vec<Tensor> = xs.iter().map(|(s, v)| tensor(s, v.clone())).collect();
    let got = exe.run(&[], &params, 7).unwrap();
    let h = 1e-6;
    for (p, (s, v)) in xs.iter().enumerate() {
        let analytic = got[1 + p].as_slice::<f64>().unwrap().to_vec();
        for i in 0..v.len() {
            let at = |delta: f64| {
                let mut ps = params.clone();
                let mut w = v.clone();
                w[i] += delta;
                ps[p] = tensor(s, w);
                scalar(&exe.run(&[], &ps, 7).unwrap()[0])
            };
            let numeric = (at(h) - at(-h)) / (2.0 * h);
            let tol = 1e-5 * (1.0 + numeric.abs());
            assert!(
                (analytic[i] - numeric).abs() < tol,
                "{name}: d/dx{p}[{i}] analytic {} numeric {numeric}",
                analytic[i]
            );
        }
    }
}

fn one(dims: &[usize], lo: f64, hi: f64) -> Vec<(Vec<usize>, Vec<f64>)> {
    let n = dims.iter().product();
    vec![(dims.to_vec(), values(n, 1, lo, hi))]
}

#[test]
fn unary_ops() {
    use UnaryOp::*;
    let cases: &[(UnaryOp, f64, f64)] = &[
        (Negate, -2.0, 2.0),
        (Abs, 0.1, 2.0),
        (Exp, -2.0, 2.0),
        (Expm1, -2.0, 2.0),
        (Log, 0.2, 3.0),
        (Log1p, -0.5, 3.0),
        (Sqrt, 0.2, 3.0),
        (Rsqrt, 0.2, 3.0),
        (Cbrt, 0.2, 3.0),
        (Sin, -3.0, 3.0),
        (Cos, -3.0, 3.0),
        (Tan, -1.0, 1.0),
        (Asin, -0.9, 0.9),
        (Acos, -0.9, 0.9),
        (Atan, -3.0, 3.0),
        (Sinh, -2.0, 2.0),
        (Cosh, -2.0, 2.0),
        (Tanh, -2.0, 2.0),
        (Asinh, -2.0, 2.0),
        (Acosh, 1.2, 3.0),
        (Atanh, -0.9, 0.9),
        (Sigmoid, -3.0, 3.0),
        (Erf, -2.0, 2.0),
        (Erfc, -2.0, 2.0),
        (ErfInv, -0.9, 0.9),
        (Floor, 0.1, 0.9),
        (Ceil, 0.1, 0.9),
        (Round, 0.1, 0.4),
        (Sign, 0.1, 1.0),
    ];
    for &(op, lo, hi) in cases {
        check(op.name(), one(&[2, 3], lo, hi), &|g, p| {
            g.unary(op, p[0]).unwrap()
        });
    }
}

#[test]
fn binary_ops_with_broadcasting() {
    use BinaryOp::*;
    for op in [Add, Subtract, Multiply, Divide, Pow, Min, Max, Atan2, Remainder] {
        let xs = vec![
            (vec![2, 3], values(6, 3, 0.5, 2.0)),
            (vec![3], values(3, 4, 0.6, 2.1)),
        ];
        check(op.name(), xs, &|g, p| g.binary(op, p[0], p[1]).unwrap());
    }
}

/// max/min against a constant (relu, relu6) take the constant-side rule:
/// finite differences away from the kink, and at it the gradient is 0 as
/// in PyTorch (relu'(0) = 0), for the constant on either side.
#[test]
fn max_and_min_against_a_constant() {
    use BinaryOp::{Max, Min};
    for op in [Max, Min] {
        let constant_right = |g: &mut Graph, p: &[NodeId]| {
            let c = g.scalar(0.3, DType::F64).unwrap();
            g.binary(op, p[0], c).unwrap()
        };
        let constant_left = |g: &mut Graph, p: &[NodeId]| {
            let c = g.constant(tensor(&[3], vec![0.3, -0.2, 0.5]));
            g.binary(op, c, p[0]).unwrap()
        };
        check(op.name(), one(&[2, 3], -1.0, 1.0), &constant_right);
        check(op.name(), one(&[2, 3], -1.0, 1.0), &constant_left);

        // At the kink: x == the constant.
        for f in [
            &constant_right as &dyn Fn(&mut Graph, &[NodeId]) -> NodeId,
            &constant_left,
        ] {
            let mut g = Graph::new();
            let x = g.param(Shape::new(vec![3]), DType::F64);
            let y = f(&mut g, &[x]);
            let loss = sum_all(&mut g, y);
            let dx = grad(&mut g, loss, &[x]).unwrap()[0];
            let exe = Executable::new(g, vec![dx]).unwrap();
            let at = |v: Vec<f64>| {
                exe.run(&[], &[tensor(&[3], v)], 0).unwrap()[0]
                    .as_slice::<f64>()
                    .unwrap()
                    .to_vec()
            };
            // Left constants are [0.3, -0.2, 0.5]; the right one is 0.3.
            let kink = at(vec![0.3, 0.3, 0.3]);
            assert_eq!(kink[0], 0.0, "{op:?} at the kink");
            let (above, below) = (at(vec![2.0; 3]), at(vec![-2.0; 3]));
            let (picked, dropped) = if op == Max { (above, below) } else { (below, above) };
            assert_eq!(picked, vec![1.0; 3], "{op:?}");
            assert_eq!(dropped, vec![0.0; 3], "{op:?}");
            // NaN propagates through max/min, and its gradient passes (as
            // PyTorch's relu backward passes it).
            assert_eq!(at(vec![f64::NAN; 3]), vec![1.0; 3], "{op:?} of NaN");
        }
    }
}

#[test]
fn select_and_clip() {
    let xs = vec![
        (vec![2, 3], values(6, 5, -1.0, 1.0)),
        (vec![2, 3], values(6, 6, -1.0, 1.0)),
    ];
    check("select", xs, &|g, p| {
        let zero = g.scalar(0.0, DType::F64).unwrap();
        let pred = g.binary(BinaryOp::Greater, p[0], zero).unwrap();
        g.add(Op::Select, &[pred, p[0], p[1]]).unwrap()
    });
    check("clip", one(&[2, 4], -2.0, 2.0), &|g, p| {
        let lo = g.scalar(-0.5, DType::F64).unwrap();
        let hi = g.scalar(0.7, DType::F64).unwrap();
        g.add(Op::Clip, &[p[0], lo, hi]).unwrap()
    });
}

#[test]
fn reductions() {
    for op in [
        ReduceOp::Sum,
        ReduceOp::Mean,
        ReduceOp::Product,
        ReduceOp::ReduceMax,
        ReduceOp::ReduceMin,
        ReduceOp::Logsumexp,
    ] {
        for (axes, keep) in [(Some(vec![1]), false), (Some(vec![0, 2]), true), (None, false)] {
            check(op.name(), one(&[2, 3, 2], 0.5, 2.0), &|g, p| {
                g.add(
                    Op::Reduce {
                        op,
                        axes: axes.clone(),
                        keep_axes: keep,
                    },
                    &[p[0]],
                )
                .unwrap()
            });
        }
    }
}

#[test]
fn dot_products() {
    let dot = |ca: Vec<i64>, ba: Vec<i64>, cb: Vec<i64>, bb: Vec<i64>| Op::Dot {
        contract_a: ca,
        batch_a: ba,
        contract_b: cb,
        batch_b: bb,
    };
    let cases = vec![
        (
            "matmul",
            vec![2, 3],
            vec![3, 4],
            dot(vec![1], vec![], vec![0], vec![]),
        ),
        (
            "a^T b",
            vec![3, 2],
            vec![3, 4],
            dot(vec![0], vec![], vec![0], vec![]),
        ),
        (
            "a b^T",
            vec![2, 3],
            vec![4, 3],
            dot(vec![1], vec![], vec![1], vec![]),
        ),
        (
            "batched",
            vec![2, 3, 4],
            vec![2, 4, 5],
            dot(vec![2], vec![0], vec![1], vec![0]),
        ),
        (
            "batch last",
            vec![3, 4, 2],
            vec![4, 2, 5],
            dot(vec![1], vec![2], vec![0], vec![1]),
        ),
        (
            "two contractions",
            vec![2, 3, 4],
            vec![4, 3, 2],
            dot(vec![1, 2], vec![], vec![1, 0], vec![]),
        ),
        ("outer", vec![3], vec![2], dot(vec![], vec![], vec![], vec![])),
    ];
    for (name, sa, sb, op) in cases {
        let na = sa.iter().product();
        let nb = sb.iter().product();
        let xs = vec![(sa, values(na, 8, -1.0, 1.0)), (sb, values(nb, 9, -1.0, 1.0))];
        check(name, xs, &|g, p| g.add(op.clone(), &[p[0], p[1]]).unwrap());
    }
}

#[test]
fn shape_ops() {
    let cases: Vec<(&str, Vec<usize>, Op)> = vec![
        ("reshape", vec![2, 3], Op::Reshape(Shape::new(vec![3, 2]))),
        ("transpose", vec![2, 3, 4], Op::Transpose(Some(vec![2, 0, 1]))),
        ("transpose default", vec![2, 3], Op::Transpose(None)),
        ("squeeze", vec![2, 1, 3], Op::Squeeze(None)),
        ("new_axis", vec![2, 3], Op::NewAxis(1)),
        (
            "broadcast",
            vec![3],
            Op::Broadcast {
                shape: Shape::new(vec![2, 3]),
                axes: None,
            },
        ),
        (
            "broadcast axes",
            vec![2, 1],
            Op::Broadcast {
                shape: Shape::new(vec![2, 4, 3]),
                axes: Some(vec![0, 2]),
            },
        ),
        (
            "slice",
            vec![4, 5],
            Op::Slice {
                starts: vec![1, 0],
                lengths: vec![2, 5],
                strides: Some(vec![1, 2]),
            },
        ),
        ("reverse", vec![2, 3], Op::Reverse(Some(vec![1]))),
    ];
    for (name, dims, op) in cases {
        check(name, one(&dims, -1.0, 1.0), &|g, p| {
            g.add(op.clone(), &[p[0]]).unwrap()
        });
    }
    for config in [vec![(1, 2, 0), (0, 1, 1)], vec![(-1, 1, 1), (2, -1, 0)]] {
        check("pad", one(&[3, 3], -1.0, 1.0), &|g, p| {
            let v = g.scalar(0.5, DType::F64).unwrap();
            g.add(Op::Pad(config.clone()), &[p[0], v]).unwrap()
        });
    }
    let xs = vec![
        (vec![2, 2], values(4, 1, -1.0, 1.0)),
        (vec![2, 3], values(6, 2, -1.0, 1.0)),
    ];
    check("concatenate", xs, &|g, p| {
        g.add(Op::Concatenate(1), &[p[0], p[1]]).unwrap()
    });
    check("take", one(&[4, 3], -1.0, 1.0), &|g, p| {
        let idx = g.constant(Tensor::from_vec(Shape::new(vec![2, 2]), vec![3i64, 0, 3, 1]).unwrap());
        g.add(Op::Take(0), &[p[0], idx]).unwrap()
    });
}

#[test]
fn softmax_family() {
    check("log_softmax", one(&[3, 4], -2.0, 2.0), &|g, p| {
        g.add(Op::LogSoftmax(1), &[p[0]]).unwrap()
    });
    check("log_softmax axis 0", one(&[3, 4], -2.0, 2.0), &|g, p| {
        g.add(Op::LogSoftmax(0), &[p[0]]).unwrap()
    });
    let xs = vec![
        (vec![3, 4], values(12, 1, -2.0, 2.0)),
        (vec![3, 4], values(12, 2, 0.0, 1.0)),
    ];
    check("softmax_cross_entropy", xs, &|g, p| {
        g.add(Op::SoftmaxCrossEntropy(1), &[p[0], p[1]]).unwrap()
    });
}

#[test]
fn dropout_reuses_its_mask_in_the_backward_pass() {
    check("dropout", one(&[4, 5], -1.0, 1.0), &|g, p| {
        g.add(Op::Dropout { rate: 0.5, salt: 3 }, &[p[0]]).unwrap()
    });
}

#[test]
fn second_derivatives() {
    // d/dx of sum(d/dx sum(x^3)) = d/dx sum(3x^2) = 6x
    let mut g = Graph::new();
    let x = g.param(Shape::new(vec![3]), DType::F64);
    let three = g.scalar(3.0, DType::F64).unwrap();
    let cube = g.binary(BinaryOp::Pow, x, three).unwrap();
    let s = g
        .add(
            Op::Reduce {
                op: ReduceOp::Sum,
                axes: None,
                keep_axes: false,
            },
            &[cube],
        )
        .unwrap();
    let dx = grad(&mut g, s, &[x]).unwrap()[0];
    let s2 = g
        .add(
            Op::Reduce {
                op: ReduceOp::Sum,
                axes: None,
                keep_axes: false,
            },
            &[dx],
        )
        .unwrap();
    let ddx = grad(&mut g, s2, &[x]).unwrap()[0];
    let exe = Executable::new(g, vec![dx, ddx]).unwrap();
    let out = exe.run(&[], &[tensor(&[3], vec![1.0, 2.0, -1.0])], 0).unwrap();
    assert_eq!(out[0].as_slice::<f64>().unwrap(), &[3.0, 12.0, 3.0]);
    assert_eq!(out[1].as_slice::<f64>().unwrap(), &[6.0, 12.0, -6.0]);
}

#[test]
fn errors_name_the_op_and_shapes() {
    let mut g = Graph::new();
    let a = g.input(Shape::new(vec![2, 3]), DType::F32);
    let b = g.input(Shape::new(vec![4]), DType::F32);
    let e = g.binary(BinaryOp::Add, a, b).unwrap_err();
    assert!(e.message().contains("add"), "{}", e.message());
    let e = grad(&mut g, a, &[a]).unwrap_err();
    assert!(e.message().contains("expected a float scalar"), "{}", e.message());
    let exe = Executable::new(g, vec![a]).unwrap();
    let wrong = Tensor::full(Shape::new(vec![3]), 1.0f32).unwrap();
    let e = exe.run(&[wrong.clone(), wrong], &[], 0).unwrap_err();
    assert!(
        e.message().contains("input 0: expected a tensor of shape {2, 3}"),
        "{}",
        e.message()
    );
}

fn conv_spec(
    strides: Vec<usize>,
    padding: Vec<(usize, usize)>,
    dilation: Vec<usize>,
    groups: usize,
) -> myelin_core::shape::conv::ConvSpec {
    let mut spec = myelin_core::shape::conv::ConvSpec::new(strides.len());
    spec.strides = strides;
    spec.padding = padding;
    spec.kernel_dilation = dilation;
    spec.groups = groups;
    spec
}

#[test]
fn convolutions() {
    let cases = vec![
        (
            "conv2d",
            vec![2, 2, 5, 5],
            vec![3, 2, 3, 3],
            conv_spec(vec![1, 1], vec![(0, 0), (0, 0)], vec![1, 1], 1),
        ),
        (
            "conv2d strided padded",
            vec![1, 2, 6, 5],
            vec![2, 2, 3, 2],
            conv_spec(vec![2, 1], vec![(1, 1), (0, 1)], vec![1, 1], 1),
        ),
        (
            "conv2d dilated grouped",
            vec![1, 4, 6, 6],
            vec![4, 2, 2, 2],
            conv_spec(vec![1, 1], vec![(0, 0), (0, 0)], vec![2, 2], 2),
        ),
        (
            "conv1d",
            vec![2, 3, 7],
            vec![2, 3, 3],
            conv_spec(vec![2], vec![(1, 0)], vec![1], 1),
        ),
        (
            "conv3d",
            vec![1, 1, 4, 4, 3],
            vec![2, 1, 2, 2, 2],
            conv_spec(vec![1, 1, 1], vec![(0, 0); 3], vec![1, 1, 1], 1),
        ),
    ];
    for (name, xs, ks, spec) in cases {
        let (nx, nk) = (xs.iter().product(), ks.iter().product());
        let args = vec![(xs, values(nx, 11, -1.0, 1.0)), (ks, values(nk, 12, -1.0, 1.0))];
        check(name, args, &|g, p| {
            g.add(Op::Conv(spec.clone()), &[p[0], p[1]]).unwrap()
        });
    }
}

#[test]
fn pooling() {
    use myelin_cpu::pool::PoolKind;
    use myelin_graph::Window;
    for kind in [PoolKind::Max, PoolKind::Avg] {
        let window = Window {
            size: vec![2, 3],
            strides: vec![2, 1],
            padding: vec![(0, 1), (1, 0)],
        };
        check("pool", one(&[2, 2, 5, 4], -1.0, 1.0), &|g, p| {
            g.add(
                Op::Pool {
                    kind,
                    window: window.clone(),
                },
                &[p[0]],
            )
            .unwrap()
        });
        check("adaptive pool", one(&[1, 2, 5, 7], -1.0, 1.0), &|g, p| {
            g.add(
                Op::AdaptivePool {
                    kind,
                    output_size: vec![2, 3],
                },
                &[p[0]],
            )
            .unwrap()
        });
    }
}

#[test]
fn sorting_scans_and_scatters() {
    use myelin_core::ops::CumulativeOp;
    // Distinct values, so the sort's permutation is stable under h.
    check("sort", one(&[3, 4], -2.0, 2.0), &|g, p| {
        g.add(Op::Sort { axis: 1, desc: false }, &[p[0]]).unwrap()
    });
    check("sort desc", one(&[4, 3], -2.0, 2.0), &|g, p| {
        g.add(Op::Sort { axis: 0, desc: true }, &[p[0]]).unwrap()
    });
    for reverse in [false, true] {
        check("cumulative_sum", one(&[2, 5], -1.0, 1.0), &|g, p| {
            let op = Op::Cumulative {
                op: CumulativeOp::CumulativeSum,
                axis: 1,
                reverse,
            };
            g.add(op, &[p[0]]).unwrap()
        });
    }
    let idx = |g: &mut Graph| {
        g.constant(Tensor::from_vec(Shape::new(vec![3, 2]), vec![0i64, 1, 2, 0, 0, 1]).unwrap())
    };
    // Repeated index {0, 1}: gather adds both reads back, indexed_add adds both updates.
    check("gather", one(&[3, 2], -1.0, 1.0), &|g, p| {
        let i = idx(g);
        g.add(Op::Gather, &[p[0], i]).unwrap()
    });
    let xs_and_updates = vec![
        (vec![3, 2], values(6, 1, -1.0, 1.0)),
        (vec![3], values(3, 2, -1.0, 1.0)),
    ];
    check("indexed_add", xs_and_updates.clone(), &|g, p| {
        let i = idx(g);
        g.add(Op::IndexedAdd, &[p[0], i, p[1]]).unwrap()
    });
    let distinct = |g: &mut Graph| {
        g.constant(Tensor::from_vec(Shape::new(vec![3, 2]), vec![0i64, 1, 2, 0, 1, 1]).unwrap())
    };
    check("indexed_put", xs_and_updates, &|g, p| {
        let i = distinct(g);
        g.add(Op::IndexedPut, &[p[0], i, p[1]]).unwrap()
    });
    // Starts [2, 5] are clamped to [1, 2] so the {2, 2} slice fits {3, 4}.
    check(
        "put_slice",
        vec![
            (vec![3, 4], values(12, 3, -1.0, 1.0)),
            (vec![2, 2], values(4, 4, -1.0, 1.0)),
        ],
        &|g, p| g.add(Op::PutSlice(vec![2, 5]), &[p[0], p[1]]).unwrap(),
    );
}
