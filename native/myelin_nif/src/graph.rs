//! NIFs that build, differentiate, compile and run graphs.
//!
//! A traced `Myelin.Tensor` op records a node with `graph_op(graph, name,
//! args)`: `name` is the eager NIF's name and `args` are that NIF's
//! arguments, with node ids where the eager NIF takes tensors. So one name
//! and one argument layout serve both the eager call and the graph node.
//! Shapes and types are inferred in Rust and returned, never computed twice.

use crate::codec::{
    decode_dtype, decode_op, decode_shape, encode_dtype, encode_shape, encode_tensor, op_name, tensor,
};
use crate::guard::run;
use crate::pair::Refs;
use crate::resource::TensorRef;
use myelin_core::ops::{ArgReduceOp, BinaryOp, CumulativeOp, ReduceOp, TieBreak, UnaryOp};
use myelin_core::shape::conv::ConvSpec;
use myelin_core::{Error, Result, Shape, Tensor};
use myelin_cpu::pool::PoolKind;
use myelin_graph::{grad, Executable, Graph, NodeId, Op, Window};
use rustler::{Atom, Encoder, Env, ResourceArc, Term};
use std::sync::Mutex;

/// A graph under construction (tracing appends to it).
pub struct GraphResource(pub Mutex<Graph>);

#[rustler::resource_impl]
impl rustler::Resource for GraphResource {}

/// A planned graph, ready to run.
pub struct ExecutableResource(pub Executable);

#[rustler::resource_impl]
impl rustler::Resource for ExecutableResource {}

type GraphRef = ResourceArc<GraphResource>;
type ExeRef = ResourceArc<ExecutableResource>;

fn lock<'a>(g: &'a GraphRef, op: &str) -> Result<std::sync::MutexGuard<'a, Graph>> {
    g.0.lock()
        .map_err(|_| Error::internal(op, "graph lock poisoned by an earlier failure"))
}

/// `{id, shape, type}` of a node.
fn encode_node<'a>(env: Env<'a>, g: &Graph, id: NodeId) -> Term<'a> {
    let n = g.node(id);
    (id, encode_shape(env, &n.shape), encode_dtype(env, n.dtype)).encode(env)
}

#[rustler::nif]
fn graph_new() -> GraphRef {
    ResourceArc::new(GraphResource(Mutex::new(Graph::new())))
}

#[rustler::nif]
fn graph_input<'a>(env: Env<'a>, g: GraphRef, dtype: Term<'a>, shape: Term<'a>) -> Term<'a> {
    run(env, "graph_input", || {
        let (dtype, shape) = (decode_dtype("input", dtype)?, decode_shape("input", shape)?);
        let mut g = lock(&g, "input")?;
        let id = g.input(shape, dtype);
        Ok(encode_node(env, &g, id))
    })
}

#[rustler::nif]
fn graph_param<'a>(env: Env<'a>, g: GraphRef, dtype: Term<'a>, shape: Term<'a>) -> Term<'a> {
    run(env, "graph_param", || {
        let (dtype, shape) = (decode_dtype("param", dtype)?, decode_shape("param", shape)?);
        let mut g = lock(&g, "param")?;
        let id = g.param(shape, dtype);
        Ok(encode_node(env, &g, id))
    })
}

#[rustler::nif]
fn graph_constant(env: Env, g: GraphRef, t: TensorRef) -> Term {
    run(env, "graph_constant", || {
        let mut g = lock(&g, "constant")?;
        let id = g.constant(tensor(&t).clone());
        Ok(encode_node(env, &g, id))
    })
}

/// Records one traced op. See the module docs for the argument layout.
#[rustler::nif]
fn graph_op<'a>(env: Env<'a>, g: GraphRef, name: Atom, args: Vec<Term<'a>>) -> Term<'a> {
    let family = "graph_op";
    run(env, family, || {
        let name = op_name(env, family, name)?;
        let (op, inputs) = decode_node(env, &name, &args)?;
        let mut g = lock(&g, &name)?;
        let id = g.add(op, &inputs)?;
        Ok(encode_node(env, &g, id))
    })
}

fn arg<'a, T: rustler::Decoder<'a>>(op: &str, args: &[Term<'a>], i: usize) -> Result<T> {
    let term = args
        .get(i)
        .ok_or_else(|| Error::internal(op, format!("missing argument {i}")))?;
    term.decode()
        .map_err(|_| Error::arg(op, format!("argument {i} has the wrong form: {term:?}")))
}

/// The graph op and operand ids for a traced call of the eager NIF `name`.
fn decode_node(env: Env, name: &str, a: &[Term]) -> Result<(Op, Vec<NodeId>)> {
    let id = |i: usize| arg::<NodeId>(name, a, i);
    let axes = |i: usize| arg::<Option<Vec<i64>>>(name, a, i);
    let ints = |i: usize| arg::<Vec<i64>>(name, a, i);
    Ok(match name {
        "unary" => (
            Op::Unary(decode_op(env, name, arg(name, a, 0)?, UnaryOp::from_name)?),
            vec![id(1)?],
        ),
        "binary" => (
            Op::Binary(decode_op(env, name, arg(name, a, 0)?, BinaryOp::from_name)?),
            vec![id(1)?, id(2)?],
        ),
        "select" => (Op::Select, vec![id(0)?, id(1)?, id(2)?]),
        "clip" => (Op::Clip, vec![id(0)?, id(1)?, id(2)?]),
        "as_type" => (Op::Cast(decode_dtype(name, a[1])?), vec![id(0)?]),
        "reduce" => {
            let op = decode_op(env, name, arg(name, a, 0)?, ReduceOp::from_name)?;
            (
                Op::Reduce {
                    op,
                    axes: axes(2)?,
                    keep_axes: arg(name, a, 3)?,
                },
                vec![id(1)?],
            )
        }
        "arg_reduce" => {
            let op = decode_op(env, name, arg(name, a, 0)?, ArgReduceOp::from_name)?;
            let tie = TieBreak::from_name(op.name(), &op_name(env, name, arg(name, a, 3)?)?)?;
            let (axis, keep_axis) = (arg(name, a, 2)?, arg(name, a, 4)?);
            (
                Op::ArgReduce {
                    op,
                    axis,
                    tie_break: tie,
                    keep_axis,
                },
                vec![id(1)?],
            )
        }
        "dot" => (
            Op::Dot {
                contract_a: ints(1)?,
                batch_a: ints(2)?,
                contract_b: ints(4)?,
                batch_b: ints(5)?,
            },
            vec![id(0)?, id(3)?],
        ),
        "reshape" => (Op::Reshape(decode_shape(name, a[1])?), vec![id(0)?]),
        "transpose" => (Op::Transpose(axes(1)?), vec![id(0)?]),
        "squeeze" => (Op::Squeeze(axes(1)?), vec![id(0)?]),
        "reverse" => (Op::Reverse(axes(1)?), vec![id(0)?]),
        "new_axis" => (Op::NewAxis(arg(name, a, 1)?), vec![id(0)?]),
        "broadcast" => {
            let dims: Vec<usize> = arg(name, a, 1)?;
            (
                Op::Broadcast {
                    shape: Shape::new(dims),
                    axes: axes(2)?,
                },
                vec![id(0)?],
            )
        }
        "slice" => (
            Op::Slice {
                starts: ints(1)?,
                lengths: ints(2)?,
                strides: axes(3)?,
            },
            vec![id(0)?],
        ),
        "pad" => (Op::Pad(arg(name, a, 2)?), vec![id(0)?, id(1)?]),
        "concatenate" => (Op::Concatenate(arg(name, a, 1)?), arg(name, a, 0)?),
        "take" => (Op::Take(arg(name, a, 2)?), vec![id(0)?, id(1)?]),
        "take_along_axis" => (Op::TakeAlongAxis(arg(name, a, 2)?), vec![id(0)?, id(1)?]),
        "indexed_add" => (Op::IndexedAdd, vec![id(0)?, id(1)?, id(2)?]),
        "indexed_put" => (Op::IndexedPut, vec![id(0)?, id(1)?, id(2)?]),
        "gather" => (Op::Gather, vec![id(0)?, id(1)?]),
        "put_slice" => (Op::PutSlice(ints(1)?), vec![id(0)?, id(2)?]),
        "sort" | "argsort" => {
            let (axis, desc) = (arg(name, a, 1)?, arg(name, a, 2)?);
            let op = if name == "sort" {
                Op::Sort { axis, desc }
            } else {
                Op::Argsort { axis, desc }
            };
            (op, vec![id(0)?])
        }
        "cumulative" => {
            let op = decode_op(env, name, arg(name, a, 0)?, CumulativeOp::from_name)?;
            let (axis, reverse) = (arg(name, a, 2)?, arg(name, a, 3)?);
            (Op::Cumulative { op, axis, reverse }, vec![id(1)?])
        }
        "bitcast" => (Op::Bitcast(decode_dtype(name, a[1])?), vec![id(0)?]),
        "log_softmax" => (Op::LogSoftmax(arg(name, a, 1)?), vec![id(0)?]),
        "softmax_cross_entropy" => (Op::SoftmaxCrossEntropy(arg(name, a, 2)?), vec![id(0)?, id(1)?]),
        "dropout" => (
            Op::Dropout {
                rate: arg(name, a, 1)?,
                salt: arg(name, a, 2)?,
            },
            vec![id(0)?],
        ),
        "conv" => {
            let spec = ConvSpec {
                strides: arg(name, a, 2)?,
                padding: arg(name, a, 3)?,
                input_dilation: arg(name, a, 4)?,
                kernel_dilation: arg(name, a, 5)?,
                groups: arg(name, a, 6)?,
            };
            (Op::Conv(spec), vec![id(0)?, id(1)?])
        }
        "pool" => {
            let kind = pool_kind(env, name, arg(name, a, 0)?)?;
            let window = Window {
                size: arg(name, a, 2)?,
                strides: arg(name, a, 3)?,
                padding: arg(name, a, 4)?,
            };
            (Op::Pool { kind, window }, vec![id(1)?])
        }
        "adaptive_pool" => {
            let kind = pool_kind(env, name, arg(name, a, 0)?)?;
            let output_size = arg(name, a, 2)?;
            (Op::AdaptivePool { kind, output_size }, vec![id(1)?])
        }
        other => {
            return Err(Error::arg(
                other,
                "this op cannot be recorded in a graph yet (it has no graph rule)",
            ))
        }
    })
}

fn pool_kind(env: Env, op: &str, kind: Atom) -> Result<PoolKind> {
    match op_name(env, op, kind)?.as_str() {
        "max" => Ok(PoolKind::Max),
        "avg" => Ok(PoolKind::Avg),
        other => Err(Error::arg(
            op,
            format!("unknown pooling {other:?}, expected :max or :avg"),
        )),
    }
}

#[rustler::nif]
fn graph_grad<'a>(env: Env<'a>, g: GraphRef, output: NodeId, wrt: Vec<NodeId>) -> Term<'a> {
    run(env, "grad", || {
        let mut g = lock(&g, "grad")?;
        let ids = grad(&mut g, output, &wrt)?;
        let nodes: Vec<Term> = ids.iter().map(|&id| encode_node(env, &g, id)).collect();
        Ok(nodes.encode(env))
    })
}

/// Plans the graph for `outputs`. Returns `{executable, work}`, where work
/// estimates the multiply-adds of one run (to pick a scheduler).
#[rustler::nif]
fn graph_compile(env: Env, g: GraphRef, outputs: Vec<NodeId>) -> Term {
    run(env, "compile", || {
        let graph = lock(&g, "compile")?.clone();
        let exe = Executable::new(graph, outputs)?;
        let work = exe.work();
        Ok((ResourceArc::new(ExecutableResource(exe)), work).encode(env))
    })
}

fn tensors(list: &[TensorRef]) -> Vec<Tensor> {
    list.iter().map(|r| tensor(r).clone()).collect()
}

fn run_exe<'a>(env: Env<'a>, exe: ExeRef, inputs: Refs, params: Refs, seed: u64) -> Term<'a> {
    run(env, "run", || {
        let outs = exe.0.run(&tensors(&inputs), &tensors(&params), seed)?;
        let terms = outs
            .into_iter()
            .map(|t| encode_tensor(env, t))
            .collect::<Result<Vec<Term>>>()?;
        Ok(terms.encode(env))
    })
}

/// Runs a compiled graph on a normal scheduler (small work only).
#[rustler::nif]
fn exe_run(env: Env, exe: ExeRef, inputs: Refs, params: Refs, seed: u64) -> Term {
    run_exe(env, exe, inputs, params, seed)
}

/// Runs a compiled graph on a dirty CPU scheduler.
#[rustler::nif(schedule = "DirtyCpu")]
fn exe_run_dirty(env: Env, exe: ExeRef, inputs: Refs, params: Refs, seed: u64) -> Term {
    run_exe(env, exe, inputs, params, seed)
}

/// Starts timing the steps of every graph run (`Myelin.Profiler.start/0`).
#[rustler::nif]
fn profile_start(env: Env) -> Term {
    run(env, "profile_start", || {
        myelin_graph::profile::start();
        Ok(rustler::types::atom::ok().encode(env))
    })
}

/// Stops timing; returns `{runs, [{label, calls, nanoseconds}]}`, steps
/// largest first.
#[rustler::nif]
fn profile_stop(env: Env) -> Term {
    run(env, "profile_stop", || {
        let profile = myelin_graph::profile::stop();
        let steps: Vec<(String, u64, u64)> = profile
            .steps
            .into_iter()
            .map(|t| (t.label, t.calls, t.nanos))
            .collect();
        Ok((profile.runs, steps).encode(env))
    })
}
