//! Fused elementwise chains: a small program of float unary and binary ops
//! run block by block, so the intermediate values of a chain live in a few
//! kilobytes of cache instead of one full-size tensor per op.
//!
//! The graph executor builds a [`Program`] from a chain of elementwise
//! nodes (see `myelin_graph`'s fusion pass). Each op uses the same
//! per-element formula as its eager kernel (`with_float_binary`,
//! `with_float_unary`), so a fused chain gives exactly the eager bits.
//! Only f32 and f64 chains are fused: the half types round to storage
//! after every eager op, which a fused chain would skip.

use crate::binary::{with_float_binary, FloatBinaryKernel};
use crate::float::Real;
use crate::parallel::{for_each_chunk_mut, ELEMENTWISE_GRAIN};
use crate::unary::{with_float_unary, FloatUnaryKernel};
use myelin_core::ops::{BinaryOp, UnaryOp};
use myelin_core::{DType, Error, Result, Shape, Tensor};

/// Values per block: the chain's intermediates for one block (one buffer
/// per op) stay in L1/L2.
const BLOCK: usize = 1024;

/// Where an instruction reads an operand from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Source {
    /// The program's operand `n` (a tensor of the output's shape, or a
    /// single value broadcast to it).
    Operand(usize),
    /// The result of instruction `n` (an earlier one).
    Value(usize),
}

/// One elementwise op of a program.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Instr {
    /// A float unary op.
    Unary(UnaryOp, Source),
    /// A float binary op.
    Binary(BinaryOp, Source, Source),
}

/// A chain of elementwise ops over one shape and float dtype; the last
/// instruction's result is the program's output.
#[derive(Clone, Debug)]
pub struct Program {
    /// The ops, each reading operands and earlier results.
    pub instrs: Vec<Instr>,
    /// The output shape (every full-size operand has it too).
    pub shape: Shape,
    /// The dtype of every operand and of the output: f32 or f64.
    pub dtype: DType,
}

/// One operand of a lane kernel: a run of values, or one value repeated.
#[derive(Clone, Copy)]
pub enum Lane<'a, C> {
    /// As many values as the output has.
    Run(&'a [C]),
    /// One value for every output position.
    Splat(C),
}

/// Runs `program` on `operands`, returning a new tensor of the program's
/// shape and dtype.
pub fn run(program: &Program, operands: &[&Tensor]) -> Result<Tensor> {
    validate(program, operands)?;
    match program.dtype {
        DType::F32 => run_typed::<f32>(program, operands),
        DType::F64 => run_typed::<f64>(program, operands),
        other => Err(Error::internal(
            "fused",
            format!("only f32 and f64 chains are fused, got {other}"),
        )),
    }
}

fn validate(program: &Program, operands: &[&Tensor]) -> Result<()> {
    for (k, t) in operands.iter().enumerate() {
        if t.dtype() != program.dtype || (t.shape() != &program.shape && t.shape().size() != 1) {
            return Err(Error::internal(
                "fused",
                format!(
                    "operand {k} is {} {}, expected {} of shape {} or one value",
                    t.dtype(),
                    t.shape(),
                    program.dtype,
                    program.shape
                ),
            ));
        }
    }
    let source_ok = |i: usize, s: Source| match s {
        Source::Operand(n) => n < operands.len(),
        Source::Value(n) => n < i,
    };
    for (i, instr) in program.instrs.iter().enumerate() {
        // Dry runs on empty lanes reject ops that have no float formula.
        let ok = match *instr {
            Instr::Unary(op, x) => source_ok(i, x) && unary_into::<f64>(op, Lane::Run(&[]), &mut []).is_ok(),
            Instr::Binary(op, a, b) => {
                source_ok(i, a)
                    && source_ok(i, b)
                    && binary_into::<f64>(op, Lane::Run(&[]), Lane::Run(&[]), &mut []).is_ok()
            }
        };
        if !ok {
            return Err(Error::internal("fused", format!("invalid instruction {i}: {instr:?}")));
        }
    }
    if program.instrs.is_empty() {
        return Err(Error::internal("fused", "empty program"));
    }
    Ok(())
}

fn run_typed<C: Real>(program: &Program, operands: &[&Tensor]) -> Result<Tensor> {
    let n = program.shape.size();
    let data = operands
        .iter()
        .map(|t| {
            let s = t.as_slice::<C>()?;
            Ok(if t.shape() == &program.shape { Lane::Run(s) } else { Lane::Splat(s[0]) })
        })
        .collect::<Result<Vec<Lane<C>>>>()?;
    let instrs = &program.instrs;
    let last = instrs.len() - 1;
    // Longer chains do more work per element, so they split across cores
    // at smaller sizes.
    let grain = (ELEMENTWISE_GRAIN / instrs.len()).max(4 * BLOCK);
    let mut out = vec![C::ZERO; n];
    for_each_chunk_mut(&mut out, grain, |offset, chunk| {
        // Small tensors get small scratch buffers.
        let block = BLOCK.min(chunk.len()).max(1);
        let mut scratch = vec![C::ZERO; last * block];
        for (b, out_block) in chunk.chunks_mut(block).enumerate() {
            let start = offset + b * block;
            let len = out_block.len();
            for (i, instr) in instrs.iter().enumerate() {
                let (done, rest) = scratch.split_at_mut(i.min(last) * block);
                let lane = |s: Source| match s {
                    Source::Operand(k) => match data[k] {
                        Lane::Run(v) => Lane::Run(&v[start..start + len]),
                        splat => splat,
                    },
                    Source::Value(v) => Lane::Run(&done[v * block..v * block + len]),
                };
                let dst = if i == last { &mut *out_block } else { &mut rest[..len] };
                // Validated above: every op has a float formula.
                let _ = match *instr {
                    Instr::Unary(op, x) => unary_into(op, lane(x), dst),
                    Instr::Binary(op, a, b) => binary_into(op, lane(a), lane(b), dst),
                };
            }
        }
    });
    Tensor::from_vec(program.shape.clone(), out)
}

/// `out[i] = op(a[i], b[i])` with `op`'s eager formula.
pub fn binary_into<C: Real>(op: BinaryOp, a: Lane<C>, b: Lane<C>, out: &mut [C]) -> Result<()> {
    with_float_binary::<C, _>(op, BinaryLanes { a, b, out })
}

/// `out[i] = op(x[i])` with `op`'s eager formula.
pub fn unary_into<C: Real>(op: UnaryOp, x: Lane<C>, out: &mut [C]) -> Result<()> {
    with_float_unary::<C, _>(op, UnaryLanes { x, out })
}

struct BinaryLanes<'a, 'o, C> {
    a: Lane<'a, C>,
    b: Lane<'a, C>,
    out: &'o mut [C],
}

impl<C: Real> FloatBinaryKernel<C> for BinaryLanes<'_, '_, C> {
    type Output = ();
    fn run<F: Fn(C, C) -> C + Sync + Copy>(self, f: F) {
        let out = self.out;
        match (self.a, self.b) {
            (Lane::Run(a), Lane::Run(b)) => {
                for ((o, &x), &y) in out.iter_mut().zip(a).zip(b) {
                    *o = f(x, y);
                }
            }
            (Lane::Run(a), Lane::Splat(y)) => {
                for (o, &x) in out.iter_mut().zip(a) {
                    *o = f(x, y);
                }
            }
            (Lane::Splat(x), Lane::Run(b)) => {
                for (o, &y) in out.iter_mut().zip(b) {
                    *o = f(x, y);
                }
            }
            (Lane::Splat(x), Lane::Splat(y)) => out.fill(f(x, y)),
        }
    }
}

struct UnaryLanes<'a, 'o, C> {
    x: Lane<'a, C>,
    out: &'o mut [C],
}

impl<C: Real> FloatUnaryKernel<C> for UnaryLanes<'_, '_, C> {
    type Output = ();
    fn run<F: Fn(&[C], &mut [C]) + Sync + Copy>(self, f: F) {
        match self.x {
            Lane::Run(x) => f(x, self.out),
            Lane::Splat(x) => {
                let mut one = [C::ZERO];
                f(&[x], &mut one);
                self.out.fill(one[0]);
            }
        }
    }
}
