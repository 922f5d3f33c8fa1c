//! Fused elementwise chains: a small program of float unary and binary ops
//! run block by block, so the intermediate values of a chain live in a few
//! kilobytes of cache instead of one full-size tensor per op.
//!
//! A program may also hold comparisons and selects, so masks such as a relu
//! gradient's `select(y > 0, dy, 0)` fuse: a comparison's lane holds 1 where
//! it is true and 0 elsewhere (its eager kernel writes the same as u8), and
//! a select picks where its mask lane is nonzero, as the eager `select` does.
//!
//! The graph executor builds a [`Program`] from a chain of elementwise
//! nodes (see `myelin_graph`'s fusion pass). Each op uses the same
//! per-element formula as its eager kernel (`with_float_binary`,
//! `with_float_unary`), so a fused chain gives exactly the eager bits.
//! Only f32 and f64 chains are fused: the half types round to storage
//! after every eager op, which a fused chain would skip.

use crate::binary::{with_float_binary, FloatBinaryKernel};
use crate::float::Real;
use crate::parallel::{build_vec, ELEMENTWISE_GRAIN};
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
    /// A comparison (`Equal` .. `GreaterEqual`) as a mask lane: 1 where it
    /// holds, else 0.
    Compare(BinaryOp, Source, Source),
    /// `select(mask, on_true, on_false)`: `on_true` where `mask` is nonzero.
    Select(Source, Source, Source),
}

impl Instr {
    /// The op's name, as its eager NIF is named (`select` for a select).
    pub fn name(&self) -> &'static str {
        match self {
            Instr::Unary(op, _) => op.name(),
            Instr::Binary(op, ..) | Instr::Compare(op, ..) => op.name(),
            Instr::Select(..) => "select",
        }
    }
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

/// How an operand's values map onto the output's positions.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Broadcast {
    /// The output's shape: value `i` at position `i`.
    Full,
    /// One value everywhere.
    Splat,
    /// Value `(i / repeat) % period` at position `i`: the operand's
    /// non-unit axes are one run of the output's axes (a bias `{c}` on
    /// `{n, c}`, or `{1, c, 1, 1}` on `{n, c, h, w}`).
    Cycle {
        /// Positions each value covers in a row.
        repeat: usize,
        /// The operand's element count.
        period: usize,
    },
}

/// How an operand of shape `operand` broadcasts onto `out` inside a fused
/// chain, or `None` when it cannot (it would need a general strided walk).
pub fn broadcast_of(operand: &Shape, out: &Shape) -> Option<Broadcast> {
    if operand == out {
        return Some(Broadcast::Full);
    }
    if operand.size() == 1 {
        return Some(Broadcast::Splat);
    }
    let (od, xd) = (out.dims(), operand.dims());
    if xd.len() > od.len() {
        return None;
    }
    // Align to the right (numpy broadcasting); the non-unit axes must be
    // one contiguous run, each equal to the output's axis.
    let offset = od.len() - xd.len();
    let non_unit: Vec<usize> = (0..xd.len()).filter(|&i| xd[i] != 1).collect();
    let (lo, hi) = (non_unit[0], non_unit[non_unit.len() - 1] + 1);
    let contiguous = non_unit.len() == hi - lo && (lo..hi).all(|i| xd[i] == od[i + offset]);
    contiguous.then(|| Broadcast::Cycle {
        repeat: od[hi + offset..].iter().product(),
        period: operand.size(),
    })
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
        if t.dtype() != program.dtype || broadcast_of(t.shape(), &program.shape).is_none() {
            return Err(Error::internal(
                "fused",
                format!(
                    "operand {k} is {} {}, expected {} broadcastable to {}",
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
            Instr::Compare(op, a, b) => {
                source_ok(i, a)
                    && source_ok(i, b)
                    && compare_into::<f64>(op, Lane::Run(&[]), Lane::Run(&[]), &mut []).is_ok()
            }
            Instr::Select(m, t, f) => source_ok(i, m) && source_ok(i, t) && source_ok(i, f),
        };
        if !ok {
            return Err(Error::internal(
                "fused",
                format!("invalid instruction {i}: {instr:?}"),
            ));
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
            let values = t.as_slice::<C>()?;
            let how = broadcast_of(t.shape(), &program.shape)
                .ok_or_else(|| Error::internal("fused", "operand does not broadcast"))?;
            Ok((values, how))
        })
        .collect::<Result<Vec<OperandData<C>>>>()?;
    let instrs = &program.instrs;
    // Longer chains do more work per element, so they split across cores
    // at smaller sizes.
    let grain = (ELEMENTWISE_GRAIN / instrs.len()).max(4 * BLOCK);
    let data = &data[..];
    let block = BLOCK.min(n).max(1);
    let out = build_vec(
        n,
        grain,
        block,
        || Scratch::new(instrs.len(), data, block),
        |scratch, offset, values| run_block_best(instrs, data, scratch, offset, values),
    );
    Tensor::from_vec(program.shape.clone(), out)
}

/// An operand's values and how they broadcast.
type OperandData<'a, C> = (&'a [C], Broadcast);

/// Per-thread scratch space: one block per instruction result but the
/// last, and one per cycled operand.
struct Scratch<C> {
    values: Vec<C>,
    cycled: Vec<Vec<C>>,
}

impl<C: Real> Scratch<C> {
    fn new(instrs: usize, data: &[OperandData<C>], block: usize) -> Scratch<C> {
        let cycled = data
            .iter()
            .map(|(_, how)| match how {
                Broadcast::Cycle { .. } => vec![C::ZERO; block],
                _ => Vec::new(),
            })
            .collect();
        Scratch {
            values: vec![C::ZERO; (instrs - 1) * block],
            cycled,
        }
    }
}

/// [`run_block`] compiled for the widest vector unit this CPU has, so the
/// binary ops' loops (plain Rust, vectorized by the compiler) use AVX-512
/// or AVX2 rather than the baseline SSE2. Rust never contracts `a * b + c`
/// into a fused multiply-add, so every copy gives the same bits.
fn run_block_best<C: Real>(
    instrs: &[Instr],
    data: &[OperandData<C>],
    s: &mut Scratch<C>,
    start: usize,
    out: &mut [C],
) {
    crate::simd::vectorized(
        #[inline(always)]
        || run_block(instrs, data, s, start, out),
    )
}

/// Runs the program for output positions `start..start + out.len()` (at
/// most one block).
#[inline(always)]
fn run_block<C: Real>(
    instrs: &[Instr],
    data: &[OperandData<C>],
    s: &mut Scratch<C>,
    start: usize,
    out: &mut [C],
) {
    let last = instrs.len() - 1;
    let len = out.len();
    // A one-instruction program has no scratch values.
    let block = s.values.len().checked_div(last).unwrap_or(len);
    for ((values, how), buf) in data.iter().zip(s.cycled.iter_mut()) {
        if let Broadcast::Cycle { repeat, period } = *how {
            fill_cycle(&mut buf[..len], values, start, repeat, period);
        }
    }
    let cycled = &s.cycled;
    for (i, instr) in instrs.iter().enumerate() {
        let (done, rest) = s.values.split_at_mut(i.min(last) * block);
        let lane = |src: Source| match src {
            Source::Operand(k) => match data[k] {
                (v, Broadcast::Full) => Lane::Run(&v[start..start + len]),
                (v, Broadcast::Splat) => Lane::Splat(v[0]),
                (_, Broadcast::Cycle { .. }) => Lane::Run(&cycled[k][..len]),
            },
            Source::Value(v) => Lane::Run(&done[v * block..v * block + len]),
        };
        let dst = if i == last { &mut *out } else { &mut rest[..len] };
        // Validated above: every op has a float formula.
        let _ = match *instr {
            Instr::Unary(op, x) => unary_into(op, lane(x), dst),
            Instr::Binary(op, a, b) => binary_into(op, lane(a), lane(b), dst),
            Instr::Compare(op, a, b) => compare_into(op, lane(a), lane(b), dst),
            Instr::Select(m, t, f) => {
                select_into(lane(m), lane(t), lane(f), dst);
                Ok(())
            }
        };
    }
}

/// Writes the values of a cycled operand for output positions
/// `start..start + out.len()`: position `p` gets `values[(p / repeat) % period]`.
/// Copies whole runs (a bias along the last axis, `repeat == 1`, is one
/// slice copy per row) and wraps the index without dividing per value: a
/// division per element made this fill cost more than the rest of a bias +
/// relu block.
fn fill_cycle<C: Copy>(out: &mut [C], values: &[C], start: usize, repeat: usize, period: usize) {
    let mut filled = 0;
    if repeat == 1 {
        let mut q = start % period;
        while filled < out.len() {
            let run = (period - q).min(out.len() - filled);
            out[filled..filled + run].copy_from_slice(&values[q..q + run]);
            filled += run;
            q = 0;
        }
        return;
    }
    let (mut q, mut skip) = ((start / repeat) % period, start % repeat);
    while filled < out.len() {
        let run = (repeat - skip).min(out.len() - filled);
        out[filled..filled + run].fill(values[q]);
        filled += run;
        q += 1;
        if q == period {
            q = 0;
        }
        skip = 0;
    }
}

/// `out[i] = op(a[i], b[i])` with `op`'s eager formula.
#[inline(always)]
pub fn binary_into<C: Real>(op: BinaryOp, a: Lane<C>, b: Lane<C>, out: &mut [C]) -> Result<()> {
    with_float_binary::<C, _>(op, BinaryLanes { a, b, out })
}

/// `out[i] = op(x[i])` with `op`'s eager formula.
#[inline(always)]
pub fn unary_into<C: Real>(op: UnaryOp, x: Lane<C>, out: &mut [C]) -> Result<()> {
    with_float_unary::<C, _>(op, UnaryLanes { x, out })
}

/// `out[i] = 1` where `a[i] op b[i]` holds, else `0`, with the eager
/// comparison's IEEE semantics (NaN is unordered and unequal).
#[inline(always)]
pub fn compare_into<C: Real>(op: BinaryOp, a: Lane<C>, b: Lane<C>, out: &mut [C]) -> Result<()> {
    use BinaryOp::*;
    let lanes = BinaryLanes { a, b, out };
    let mask = |holds: bool| if holds { C::ONE } else { C::ZERO };
    match op {
        Equal => lanes.run(move |x, y| mask(x == y)),
        NotEqual => lanes.run(move |x, y| mask(x != y)),
        Less => lanes.run(move |x, y| mask(x < y)),
        LessEqual => lanes.run(move |x, y| mask(x <= y)),
        Greater => lanes.run(move |x, y| mask(x > y)),
        GreaterEqual => lanes.run(move |x, y| mask(x >= y)),
        other => return Err(Error::internal(other.name(), "not a comparison")),
    }
    Ok(())
}

/// `out[i] = if mask[i] != 0 { on_true[i] } else { on_false[i] }`.
#[inline(always)]
pub fn select_into<C: Real>(mask: Lane<C>, on_true: Lane<C>, on_false: Lane<C>, out: &mut [C]) {
    let m = match mask {
        Lane::Splat(m) => {
            let pick = if m != C::ZERO { on_true } else { on_false };
            return match pick {
                Lane::Run(v) => out.copy_from_slice(&v[..out.len()]),
                Lane::Splat(v) => out.fill(v),
            };
        }
        Lane::Run(m) => m,
    };
    let pick = |m: C, x: C, y: C| if m != C::ZERO { x } else { y };
    match (on_true, on_false) {
        (Lane::Run(t), Lane::Run(f)) => {
            for (((o, &m), &x), &y) in out.iter_mut().zip(m).zip(t).zip(f) {
                *o = pick(m, x, y);
            }
        }
        (Lane::Run(t), Lane::Splat(y)) => {
            for ((o, &m), &x) in out.iter_mut().zip(m).zip(t) {
                *o = pick(m, x, y);
            }
        }
        (Lane::Splat(x), Lane::Run(f)) => {
            for ((o, &m), &y) in out.iter_mut().zip(m).zip(f) {
                *o = pick(m, x, y);
            }
        }
        (Lane::Splat(x), Lane::Splat(y)) => {
            for (o, &m) in out.iter_mut().zip(m) {
                *o = pick(m, x, y);
            }
        }
    }
}

struct BinaryLanes<'a, 'o, C> {
    a: Lane<'a, C>,
    b: Lane<'a, C>,
    out: &'o mut [C],
}

impl<C: Real> FloatBinaryKernel<C> for BinaryLanes<'_, '_, C> {
    type Output = ();
    #[inline(always)]
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cycled_values_follow_the_formula_from_any_start() {
        let values: Vec<u32> = (0..7).collect();
        for repeat in [1, 3] {
            for start in [0, 1, 6, 7, 20, 22] {
                let mut out = vec![99u32; 30];
                fill_cycle(&mut out, &values, start, repeat, values.len());
                let want: Vec<u32> = (start..start + 30).map(|p| values[(p / repeat) % 7]).collect();
                assert_eq!(out, want, "repeat {repeat} start {start}");
            }
        }
    }

    /// `max(tanh(x * w + b), 0.1) / x` with `b` cycled, as eager ops.
    fn program(shape: &Shape) -> Program {
        use Source::*;
        Program {
            instrs: vec![
                Instr::Binary(BinaryOp::Multiply, Operand(0), Operand(1)),
                Instr::Binary(BinaryOp::Add, Value(0), Operand(2)),
                Instr::Unary(UnaryOp::Tanh, Value(1)),
                Instr::Binary(BinaryOp::Max, Value(2), Operand(3)),
                Instr::Binary(BinaryOp::Divide, Value(3), Operand(0)),
            ],
            shape: shape.clone(),
            dtype: DType::F32,
        }
    }

    fn f32s(dims: &[usize], f: impl Fn(usize) -> f32) -> Tensor {
        let n = dims.iter().product();
        Tensor::from_vec(Shape::new(dims.to_vec()), (0..n).map(f).collect::<Vec<f32>>()).unwrap()
    }

    #[test]
    fn every_compiled_copy_gives_the_eager_bits() {
        let dims = [3, 700];
        let x = f32s(&dims, |i| ((i as f32) * 0.37).sin() * 2.0 + 0.01);
        let w = f32s(&dims, |i| ((i as f32) * 0.11).cos());
        let b = f32s(&[700], |i| i as f32 * 0.001 - 0.3);
        let floor = f32s(&[], |_| 0.1);
        let prog = program(x.shape());
        let operands = [&x, &w, &b, &floor];

        let eager = {
            use crate::{binary, unary};
            let y = binary(BinaryOp::Add, &binary(BinaryOp::Multiply, &x, &w).unwrap(), &b).unwrap();
            let y = binary(BinaryOp::Max, &unary(UnaryOp::Tanh, &y).unwrap(), &floor).unwrap();
            binary(BinaryOp::Divide, &y, &x).unwrap()
        };
        let fused = run(&prog, &operands).unwrap();
        assert_eq!(fused.as_bytes().unwrap(), eager.as_bytes().unwrap());

        // A block that starts mid-row of the cycled bias, as a second
        // thread's does.
        every_copy_gives(&prog, &operands, &eager, 1000, 700, "");
    }

    /// Runs one block of `prog` (positions `start..start + len`) with every
    /// compiled copy of the loop this CPU has, and checks the bits against
    /// `eager`.
    fn every_copy_gives(
        prog: &Program,
        operands: &[&Tensor],
        eager: &Tensor,
        start: usize,
        len: usize,
        what: &str,
    ) {
        let data: Vec<OperandData<f32>> = operands
            .iter()
            .map(|t| {
                let how = broadcast_of(t.shape(), &prog.shape).unwrap();
                (t.as_slice::<f32>().unwrap(), how)
            })
            .collect();
        let want = &eager.as_slice::<f32>().unwrap()[start..start + len];
        let mut scratch = Scratch::new(prog.instrs.len(), &data, len);
        for isa in crate::simd::Isa::available() {
            let mut out = vec![0.0f32; len];
            crate::simd::run_on(
                isa,
                #[inline(always)]
                || run_block(&prog.instrs, &data, &mut scratch, start, &mut out),
            );
            let same = out.iter().zip(want).all(|(a, b)| a.to_bits() == b.to_bits());
            assert!(same, "{what} {isa:?} copy");
        }
    }

    /// Every comparison as a mask for select, over values with ties and NaN,
    /// against the eager `compare` then `select` (and every compiled copy).
    #[test]
    fn masks_give_the_eager_comparison_and_select_bits() {
        use crate::{binary, select};
        let dims = [2, 600];
        let x = f32s(&dims, |i| match i % 7 {
            0 => 0.0,
            1 => f32::NAN,
            k => (k as f32 - 3.5) * ((i as f32) * 0.3).sin(),
        });
        let dy = f32s(&dims, |i| i as f32 * 0.5 - 100.0);
        let zero = f32s(&[], |_| 0.0);
        let bias = f32s(&[600], |i| (i % 5) as f32 - 2.0);
        for op in [
            BinaryOp::Equal,
            BinaryOp::NotEqual,
            BinaryOp::Less,
            BinaryOp::LessEqual,
            BinaryOp::Greater,
            BinaryOp::GreaterEqual,
        ] {
            use Source::*;
            // select(x op bias, dy, 0) and select(x op 0, 0, x).
            let prog = Program {
                instrs: vec![
                    Instr::Compare(op, Operand(0), Operand(3)),
                    Instr::Select(Value(0), Operand(1), Operand(2)),
                    Instr::Compare(op, Operand(0), Operand(2)),
                    Instr::Select(Value(2), Operand(2), Operand(0)),
                    Instr::Binary(BinaryOp::Add, Value(1), Value(3)),
                ],
                shape: x.shape().clone(),
                dtype: DType::F32,
            };
            let operands = [&x, &dy, &zero, &bias];
            let first = select(&binary(op, &x, &bias).unwrap(), &dy, &zero).unwrap();
            let second = select(&binary(op, &x, &zero).unwrap(), &zero, &x).unwrap();
            let eager = binary(BinaryOp::Add, &first, &second).unwrap();
            let fused = run(&prog, &operands).unwrap();
            assert_eq!(fused.as_bytes().unwrap(), eager.as_bytes().unwrap(), "{op:?}");
            every_copy_gives(&prog, &operands, &eager, 300, 700, &format!("{op:?}"));
        }
    }

    #[test]
    fn a_splat_mask_picks_a_whole_lane() {
        let (mut out, t, f) = ([0.0f32; 3], [1.0, 2.0, 3.0], [4.0, 5.0, 6.0]);
        select_into(Lane::Splat(f32::NAN), Lane::Run(&t), Lane::Run(&f), &mut out);
        assert_eq!(out, t, "NaN is nonzero, as in eager select");
        select_into(Lane::Splat(0.0), Lane::Run(&t), Lane::Splat(9.0), &mut out);
        assert_eq!(out, [9.0; 3]);
    }

    #[test]
    fn bad_programs_are_errors() {
        let x = f32s(&[4], |i| i as f32);
        let mut prog = program(x.shape());
        assert!(run(&prog, &[&x]).is_err(), "missing operands");
        prog.instrs = vec![Instr::Binary(
            BinaryOp::Equal,
            Source::Operand(0),
            Source::Operand(0),
        )];
        assert!(run(&prog, &[&x]).is_err(), "comparison has no float formula");
        prog.instrs = vec![Instr::Compare(
            BinaryOp::Add,
            Source::Operand(0),
            Source::Operand(0),
        )];
        assert!(run(&prog, &[&x]).is_err(), "add is not a comparison");
        prog.instrs = vec![Instr::Select(
            Source::Operand(0),
            Source::Value(0),
            Source::Operand(0),
        )];
        assert!(run(&prog, &[&x]).is_err(), "select reads its own result");
        prog.instrs = vec![Instr::Unary(UnaryOp::Exp, Source::Value(0))];
        assert!(run(&prog, &[&x]).is_err(), "reads its own result");
        let other = f32s(&[3], |i| i as f32);
        prog.instrs = vec![Instr::Unary(UnaryOp::Exp, Source::Operand(0))];
        assert!(run(&prog, &[&other]).is_err(), "operand does not broadcast");
    }
}
