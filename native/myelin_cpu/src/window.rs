//! Nx's window reductions (`window_sum`, `window_product`, `window_max`,
//! `window_min`) and window scatters (`window_scatter_max`,
//! `window_scatter_min`) over tensors of any rank, every axis windowed.
//!
//! The reference is Nx 0.7.2's `Nx.BinaryBackend` (`lib/nx/binary_backend.ex`,
//! cited by line below); the deliberate differences are listed at the end.
//!
//! Geometry (`window_reduce`, 1478, and `Nx.Shape.pool`): the input is padded
//! by `(lo, hi)` per axis (negative values crop, as `Nx.pad` does); windows
//! start at every multiple of the stride whose dilated window `(w - 1) * d +
//! 1` fits the padded size, so an axis has `(padded - dilated) / stride + 1`
//! outputs; tap `k` of a window sits `k * d` after its start. Windows and
//! their taps are visited row-major.
//!
//! Reductions (1511-1556) fold the taps into an accumulator that starts at
//! the padding value, which is also what every padded tap contributes:
//!
//! * sum pads with 0, product with 1; integers wrap in the input type
//!   (Nx computes exactly and writes the result modulo 2^bits, which is the
//!   same); floats accumulate in f64 and round to the input type once at the
//!   end, because Nx folds Elixir floats (f64) and writes the result;
//! * max pads with -inf for floats and the type's minimum for integers, min
//!   with +inf or the maximum; NaN anywhere in a window gives NaN (the
//!   type's canonical NaN, as Nx writes it), and equal values keep the later
//!   one (`element_max`/`element_min`, 712-726, call Erlang's `max(x, acc)`
//!   which returns its first argument on ties; only -0.0 vs 0.0 can tell).
//!
//! Because every padding value is the fold's identity, padded taps are
//! skipped instead of materialized: each window walks only the box of its
//! in-bounds taps, and a window wholly in padding gives the padding value.
//!
//! Scatters (`select_and_scatter`, 1596-1690): each window selects one
//! element of `t` by folding its taps with `x >= acc` (max, 1574) or
//! `x <= acc` (min, 1588) starting from the first tap (1633-1640), so
//! among equal values the last one (row-major) wins, a NaN is never
//! selected unless it is the window's first tap, and then it stays
//! selected (every comparison with NaN is false). Nx compares with
//! `Nx.greater_equal`/`Nx.less_equal` on Elixir numbers, which become f32
//! tensors for floats and s64 tensors for integers, so floats compare
//! after rounding to f32 (an f64 input's values that round to the same
//! f32 tie) and integers as s64 (u64 above 2^63 wraps negative); when `t`
//! holds integers but `init_value` is a float, `Nx.pad` first turns `t`
//! into f32, so those compare as f32 too. The output, of `t`'s shape and
//! type `merge(source, init_value)`, starts at
//! `init_value` everywhere; each selected position then gets the window's
//! `source` element added, in window order (1663-1670), in the output type
//! (floats add in f64 and round to the output type after every addition,
//! which for f32 is exactly Nx's f32 `Nx.add`; integers wrap).
//!
//! Differences from BinaryBackend, each where BinaryBackend is broken:
//!
//! * scatter padding: BinaryBackend pads `t` with `init_value`, lets padded
//!   taps be selected, and writes padded coordinates into the unpadded
//!   output (1612, 1646-1669), shifting every result by the low padding and
//!   writing out of bounds when a pad wins. Here padded taps are never
//!   selected (XLA's `SelectAndScatter` rule, which EXLA follows) and a
//!   window wholly in padding scatters nothing. Where BinaryBackend's result
//!   is right (no low padding and no pad selected) it is the same as this.
//! * BinaryBackend writes the scatter sums as f32/s64 tensors whatever the
//!   output type (only f32 and s64 outputs come out intact); here they are
//!   computed in the output type.
//! * s16 max/min pad with -32768/32767; `Nx.Type.min_finite_binary` and
//!   `max_finite_binary` (type.ex 66, 88) have typos (-32678, 32677) that
//!   would clamp every s16 window_max below -32678.
//! * a scalar input (rank 0) is one window of one element (BinaryBackend
//!   crashes making anchors); float sums that overflow give ±inf (Erlang
//!   raises).
//!
//! Windows are independent, so the outputs (or, for scatters, the
//! selections) are split across cores; the scatter's additions then run in
//! window order on one thread, which keeps float sums in Nx's order.

use crate::cast::as_type;
use crate::parallel::{for_each_chunk_mut, ELEMENTWISE_GRAIN};
use myelin_core::{
    dispatch_dtype, dispatch_float, dispatch_integer, DType, Element, Error, Result, Shape, Tensor,
};
use num_traits::{Bounded, Float, WrappingAdd, WrappingMul};

/// Which reduction a window applies.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WindowReduce {
    /// `Nx.window_sum`: pads with 0.
    Sum,
    /// `Nx.window_product`: pads with 1.
    Product,
    /// `Nx.window_max`: pads with -inf (floats) or the type's minimum.
    Max,
    /// `Nx.window_min`: pads with +inf (floats) or the type's maximum.
    Min,
}

impl WindowReduce {
    /// The Nx function's name, which error messages start with.
    pub fn name(self) -> &'static str {
        match self {
            WindowReduce::Sum => "window_sum",
            WindowReduce::Product => "window_product",
            WindowReduce::Max => "window_max",
            WindowReduce::Min => "window_min",
        }
    }
}

/// Where windows sit: one entry per axis of the input (every axis is
/// windowed, as in Nx).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WindowSpec {
    /// The window's size along each axis; each at least 1.
    pub window: Vec<usize>,
    /// The step between consecutive windows along each axis; each at least 1.
    pub strides: Vec<usize>,
    /// `(low, high)` padding of each axis, as Nx hands it to the backend
    /// (`:valid` and `:same` already resolved). Negative values crop.
    pub padding: Vec<(i64, i64)>,
    /// The step between a window's taps along each axis (`window_dilations`);
    /// each at least 1, and 1 is a dense window.
    pub dilations: Vec<usize>,
}

impl WindowSpec {
    /// A dense window with unit strides and no padding: Nx's defaults.
    pub fn new(window: Vec<usize>) -> WindowSpec {
        let rank = window.len();
        WindowSpec {
            window,
            strides: vec![1; rank],
            padding: vec![(0, 0); rank],
            dilations: vec![1; rank],
        }
    }
}

/// `Nx.window_sum/product/max/min`: reduces each window of `t`. The output
/// has `t`'s dtype and the shape of `Nx.Shape.pool`: per axis
/// `(dim + lo + hi - ((window - 1) * dilation + 1)) / stride + 1`.
pub fn window_reduce(t: &Tensor, op: WindowReduce, spec: &WindowSpec) -> Result<Tensor> {
    let name = op.name();
    let g = Geometry::new(name, t.shape(), spec)?;
    let dtype = t.dtype();
    dispatch_integer!(dtype, T => reduce_integers::<T>(&g, t, op),
        _ => dispatch_float!(dtype, T => reduce_floats::<T>(&g, t, op),
            _ => Err(Error::internal(name, format!("type {dtype} is neither integer nor float")))))
}

/// [`window_reduce`] for an integer type: wrapping sums and products.
fn reduce_integers<T>(g: &Geometry, t: &Tensor, op: WindowReduce) -> Result<Tensor>
where
    T: Element + WrappingAdd + WrappingMul + Bounded,
{
    let data = t.as_slice::<T>()?;
    // Never returned: integers have no NaN.
    let nan = T::ZERO;
    let out = match op {
        WindowReduce::Sum => g.reduce(data, T::ZERO, |a: T, x| a.wrapping_add(&x), |a| a),
        WindowReduce::Product => g.reduce(data, T::ONE, |a: T, x| a.wrapping_mul(&x), |a| a),
        WindowReduce::Max => g.reduce(data, T::min_value(), |a, x| pick_max(a, x, nan), |a| a),
        WindowReduce::Min => g.reduce(data, T::max_value(), |a, x| pick_min(a, x, nan), |a| a),
    };
    Tensor::from_vec(g.out.clone(), out)
}

/// [`window_reduce`] for a float type: sums and products in f64.
fn reduce_floats<T: Element + Float>(g: &Geometry, t: &Tensor, op: WindowReduce) -> Result<Tensor> {
    let data = t.as_slice::<T>()?;
    let nan = T::nan();
    // Nx writes every NaN as the type's canonical NaN; x86 makes inf - inf
    // a negative one.
    let round = |a: f64| {
        if a.is_nan() {
            nan
        } else {
            <T as Element>::from_f64(a)
        }
    };
    let out = match op {
        WindowReduce::Sum => g.reduce(data, 0.0, |a, x: T| Element::to_f64(x) + a, round),
        WindowReduce::Product => g.reduce(data, 1.0, |a, x: T| Element::to_f64(x) * a, round),
        WindowReduce::Max => g.reduce(data, T::neg_infinity(), |a, x| pick_max(a, x, nan), |a| a),
        WindowReduce::Min => g.reduce(data, T::infinity(), |a, x| pick_min(a, x, nan), |a| a),
    };
    Tensor::from_vec(g.out.clone(), out)
}

/// `Nx.window_scatter_max` (`select_max`) / `Nx.window_scatter_min`: for
/// each window of `t`, selects the position of its max (min) element, with
/// BinaryBackend's tie-breaking (the last of equal values), and adds the
/// window's element of `source` there; positions no window selects hold
/// `init_value` (a scalar tensor). `source` must have the windows' shape
/// (what [`window_reduce`] would return). The output has `t`'s shape and
/// the type `merge(source, init_value)`, as in Nx. See the module docs for
/// padding, NaN and the comparison type.
pub fn window_scatter(
    t: &Tensor,
    source: &Tensor,
    init_value: &Tensor,
    select_max: bool,
    spec: &WindowSpec,
) -> Result<Tensor> {
    let name = if select_max {
        "window_scatter_max"
    } else {
        "window_scatter_min"
    };
    let g = Geometry::new(name, t.shape(), spec)?;
    if init_value.shape().rank() != 0 {
        return Err(Error::arg(
            name,
            format!(
                "expected init_value to be a scalar tensor, got shape {}",
                init_value.shape()
            ),
        ));
    }
    if *source.shape() != g.out {
        return Err(Error::arg(
            name,
            format!(
                "source shape must match valid windows in input tensor: expected {}, got {}",
                g.out,
                source.shape()
            ),
        ));
    }
    // Nx pads `t` with init_value as a number (1612): a float init turns
    // an integer `t` into f32, and floats compare as f32 tensors anyway.
    let as_f32 = t.dtype().is_float() || init_value.dtype().is_float();
    let selected = dispatch_dtype!(t.dtype(), T => {
        let data = t.as_slice::<T>()?;
        match (as_f32, select_max) {
            (true, true) => g.select(data, |x: T| x.to_f64() as f32, |x, best| x >= best),
            (true, false) => g.select(data, |x: T| x.to_f64() as f32, |x, best| x <= best),
            // s64 tensors: `as i64` wraps u64 as Nx's s64 constants do.
            (false, true) => g.select(data, |x: T| x.to_i128() as i64, |x, best| x >= best),
            (false, false) => g.select(data, |x: T| x.to_i128() as i64, |x, best| x <= best),
        }
    });
    let out_type = source.dtype().merge(init_value.dtype());
    dispatch_dtype!(out_type, O => {
        let init: O = dispatch_dtype!(init_value.dtype(), I => {
            let value = init_value.as_slice::<I>()?.first().copied();
            value.ok_or_else(|| Error::internal(name, "scalar init_value holds no element"))?.cast::<O>()
        });
        let mut out = vec![init; t.size()];
        if out_type.is_float() {
            // f64 holds every source value as Nx reads it (integers round
            // as Erlang's int + float does).
            let src = as_type(source, DType::F64)?;
            scatter_add(&mut out, &selected, src.as_slice::<f64>()?, |a: O, s| O::from_f64(a.to_f64() + s));
        } else {
            // Integer to integer casts wrap, which keeps sums modulo 2^bits.
            let src = as_type(source, out_type)?;
            scatter_add(&mut out, &selected, src.as_slice::<O>()?, |a: O, s: O| {
                O::from_i128(a.to_i128() + s.to_i128())
            });
        }
        Tensor::from_vec(t.shape().clone(), out)
    })
}

/// Adds `src[w]` at `out[selected[w]]` in window order; [`NONE`] (a window
/// wholly in padding) adds nothing.
fn scatter_add<O: Copy, S: Copy>(out: &mut [O], selected: &[usize], src: &[S], add: impl Fn(O, S) -> O) {
    for (&p, &s) in selected.iter().zip(src) {
        if let Some(o) = out.get_mut(p) {
            *o = add(*o, s);
        }
    }
}

/// Nx's `element_max(x, acc)`: NaN wins, then Erlang's `max(x, acc)`,
/// which keeps `x` (the later tap) on ties.
#[inline]
#[allow(clippy::eq_op)]
fn pick_max<T: PartialOrd>(acc: T, x: T, nan: T) -> T {
    if acc != acc || x != x {
        nan
    } else if x < acc {
        acc
    } else {
        x
    }
}

/// Nx's `element_min(x, acc)`, the mirror of [`pick_max`].
#[inline]
#[allow(clippy::eq_op)]
fn pick_min<T: PartialOrd>(acc: T, x: T, nan: T) -> T {
    if acc != acc || x != x {
        nan
    } else if x > acc {
        acc
    } else {
        x
    }
}

/// The selection of a window with no in-bounds tap.
const NONE: usize = usize::MAX;

/// The largest input size, padding magnitude or dilated window accepted, so
/// that every coordinate below fits an i64 with room to spare (padded sizes
/// stay under 3 * 2^60, coordinates under 2^62).
const LIMIT: u128 = 1 << 60;

/// One axis of a windowing, in input coordinates (i64 so that padding can
/// put window starts before the input).
struct Axis {
    in_dim: i64,
    out_dim: usize,
    lo: i64,
    stride: i64,
    dilation: i64,
    window: i64,
    /// Elements between consecutive taps in the input: dilation * row stride.
    step: usize,
    /// Elements between consecutive input coordinates of this axis.
    in_stride: usize,
}

impl Axis {
    /// The in-bounds taps of the window at output coordinate `o`: the input
    /// offset of the first and how many there are (0 when the window lies
    /// wholly in padding along this axis).
    #[inline]
    fn taps(&self, o: usize) -> (usize, usize) {
        let start = o as i64 * self.stride - self.lo;
        let k_min = if start >= 0 {
            0
        } else {
            (-start + self.dilation - 1) / self.dilation
        };
        let room = self.in_dim - 1 - start;
        if room < 0 {
            return (0, 0);
        }
        let k_max = (room / self.dilation + 1).min(self.window);
        if k_max <= k_min {
            return (0, 0);
        }
        let first = (start + k_min * self.dilation) as usize;
        (first.wrapping_mul(self.in_stride), (k_max - k_min) as usize)
    }
}

/// A validated windowing of one input shape.
struct Geometry {
    axes: Vec<Axis>,
    out: Shape,
    /// Taps per window (padding included), to size parallel chunks.
    window_size: usize,
    /// The input has no elements, so every window lies wholly in padding.
    empty_input: bool,
}

impl Geometry {
    fn new(op: &str, input: &Shape, spec: &WindowSpec) -> Result<Geometry> {
        let rank = input.rank();
        let lens = [
            ("window", spec.window.len()),
            ("strides", spec.strides.len()),
            ("padding", spec.padding.len()),
            ("window_dilations", spec.dilations.len()),
        ];
        for (what, len) in lens {
            if len != rank {
                return Err(Error::arg(
                    op,
                    format!(
                        "expected {what} to have one entry per axis of the input shape {input} \
                         (rank {rank}), got {len}"
                    ),
                ));
            }
        }
        for (what, v) in [
            ("window", &spec.window),
            ("strides", &spec.strides),
            ("window_dilations", &spec.dilations),
        ] {
            if v.contains(&0) {
                return Err(Error::arg(
                    op,
                    format!("expected every {what} entry to be positive, got {v:?}"),
                ));
            }
        }
        let too_large = |what: &str, a: usize| {
            Error::arg(
                op,
                format!("{what} of axis {a} is too large (input shape {input}, {spec:?})"),
            )
        };
        let dims = input.dims();
        let mut axes = Vec::with_capacity(rank);
        let mut in_stride = 1usize;
        for a in (0..rank).rev() {
            let (lo, hi) = spec.padding[a];
            let (w, d) = (spec.window[a] as u128, spec.dilations[a] as u128);
            // Dilation means nothing for a window of 1 (Nx ignores it too),
            // and forcing it to 1 keeps huge values out of the arithmetic.
            let d = if w == 1 { 1 } else { d };
            let dilated = (w - 1) * d + 1;
            if dims[a] as u128 > LIMIT {
                return Err(too_large("the size", a));
            }
            if lo.unsigned_abs() as u128 > LIMIT || hi.unsigned_abs() as u128 > LIMIT {
                return Err(too_large("the padding", a));
            }
            let padded = dims[a] as i64 + lo + hi;
            if dilated > LIMIT || padded < dilated as i64 {
                return Err(Error::arg(
                    op,
                    format!(
                        "window {:?} with dilations {:?} does not fit the padded input: axis {a} \
                         spans {dilated} but the input shape {input} padded by {:?} has size \
                         {padded} there",
                        spec.window, spec.dilations, spec.padding
                    ),
                ));
            }
            let stride = i64::try_from(spec.strides[a]).unwrap_or(i64::MAX);
            axes.push(Axis {
                in_dim: dims[a] as i64,
                out_dim: ((padded - dilated as i64) / stride + 1) as usize,
                lo,
                stride,
                dilation: d as i64,
                window: w as i64,
                // Only used for two or more taps, which bounds it by the size.
                step: (d as usize).wrapping_mul(in_stride),
                in_stride,
            });
            in_stride = in_stride.wrapping_mul(dims[a]);
        }
        axes.reverse();
        let out = Shape::new(axes.iter().map(|x| x.out_dim).collect());
        out.checked_size(op)?;
        Ok(Geometry {
            axes,
            out,
            window_size: spec.window.iter().fold(1usize, |n, &w| n.saturating_mul(w)),
            empty_input: input.size() == 0,
        })
    }

    /// Outputs per parallel chunk: about [`ELEMENTWISE_GRAIN`] taps' work.
    fn grain(&self) -> usize {
        (ELEMENTWISE_GRAIN / self.window_size.max(1)).max(1)
    }

    /// Folds the in-bounds taps of every window, starting each at `init`.
    fn reduce<T: Element, A: Copy + Sync>(
        &self,
        data: &[T],
        init: A,
        fold: impl Fn(A, T) -> A + Sync,
        finish: impl Fn(A) -> T + Sync,
    ) -> Vec<T> {
        let mut out = vec![T::ZERO; self.out.size()];
        for_each_chunk_mut(&mut out, self.grain(), |offset, chunk| {
            let mut cursor = Cursor::new(self, offset);
            for o in chunk {
                let mut acc = init;
                cursor.for_each_tap(&mut |i| {
                    if let Some(&x) = data.get(i) {
                        acc = fold(acc, x);
                    }
                });
                *o = finish(acc);
                cursor.advance();
            }
        });
        out
    }

    /// The input offset each window selects: its first in-bounds tap,
    /// replaced by every later tap whose key is `better` than the current
    /// one's (or equal, with `>=`/`<=`). [`NONE`] for windows with no tap.
    fn select<T: Element, K: Copy>(
        &self,
        data: &[T],
        key: impl Fn(T) -> K + Sync,
        better: impl Fn(K, K) -> bool + Sync,
    ) -> Vec<usize> {
        let mut selected = vec![NONE; self.out.size()];
        for_each_chunk_mut(&mut selected, self.grain(), |offset, chunk| {
            let mut cursor = Cursor::new(self, offset);
            for s in chunk {
                let mut best: Option<K> = None;
                cursor.for_each_tap(&mut |i| {
                    if let Some(&x) = data.get(i) {
                        let k = key(x);
                        if best.is_none_or(|b| better(k, b)) {
                            best = Some(k);
                            *s = i;
                        }
                    }
                });
                cursor.advance();
            }
        });
        selected
    }
}

/// Walks windows in row-major output order, keeping each axis's in-bounds
/// taps for the current window (recomputed only for the axes that moved).
struct Cursor<'g> {
    g: &'g Geometry,
    index: Vec<usize>,
    first: Vec<usize>,
    count: Vec<usize>,
}

impl<'g> Cursor<'g> {
    /// A cursor at the window whose row-major output offset is `offset`.
    fn new(g: &'g Geometry, mut offset: usize) -> Cursor<'g> {
        let rank = g.axes.len();
        let mut c = Cursor {
            g,
            index: vec![0; rank],
            first: vec![0; rank],
            count: vec![0; rank],
        };
        for a in (0..rank).rev() {
            let n = g.axes[a].out_dim.max(1);
            c.index[a] = offset % n;
            offset /= n;
        }
        for a in 0..rank {
            c.update(a);
        }
        c
    }

    fn update(&mut self, a: usize) {
        let (first, count) = if self.g.empty_input {
            (0, 0)
        } else {
            self.g.axes[a].taps(self.index[a])
        };
        self.first[a] = first;
        self.count[a] = count;
    }

    /// Moves to the next window (past the last, back to the first).
    fn advance(&mut self) {
        for a in (0..self.index.len()).rev() {
            self.index[a] += 1;
            let wrapped = self.index[a] == self.g.axes[a].out_dim;
            if wrapped {
                self.index[a] = 0;
            }
            self.update(a);
            if !wrapped {
                return;
            }
        }
    }

    /// Calls `f` with the input offset of each in-bounds tap, row-major.
    #[inline]
    fn for_each_tap(&self, f: &mut impl FnMut(usize)) {
        if !self.count.contains(&0) {
            self.walk(0, 0, f);
        }
    }

    fn walk(&self, a: usize, base: usize, f: &mut impl FnMut(usize)) {
        let Some(axis) = self.g.axes.get(a) else {
            // Rank 0: the scalar itself.
            f(base);
            return;
        };
        let mut at = base.wrapping_add(self.first[a]);
        if a + 1 == self.g.axes.len() {
            for _ in 0..self.count[a] {
                f(at);
                at = at.wrapping_add(axis.step);
            }
        } else {
            for _ in 0..self.count[a] {
                self.walk(a + 1, at, f);
                at = at.wrapping_add(axis.step);
            }
        }
    }
}

#[cfg(test)]
#[path = "window_tests.rs"]
mod tests;
