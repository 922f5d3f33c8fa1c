//! The broadcasting loops behind every elementwise op of several operands.
//!
//! [`zip2`] and [`zip3`] walk the output in row-major order and read each
//! operand through its broadcast strides (stride 0 on stretched
//! dimensions). Common cases skip the stride arithmetic entirely:
//!
//! * every operand already has the output's shape: a plain contiguous zip,
//!   which the compiler vectorizes (this is the path of `a + b` on two
//!   same-shaped tensors, and runs at memory bandwidth);
//! * one operand of `zip2` is a single element: a contiguous map with a
//!   constant.
//!
//! Large outputs are cut into chunks processed in parallel, each computed
//! block by block into uninitialized memory ([`build_vec`]); every path is
//! chunked the same way.

use crate::parallel::{build_vec, ELEMENTWISE_GRAIN};

/// Outputs are computed this many values at a time into a small buffer and
/// copied into the (never zero-filled) result; see [`build_vec`].
const ZIP_BLOCK: usize = 2048;
use myelin_core::shape::broadcast::broadcast_strides;
use myelin_core::{Element, Result, Shape, Tensor};

/// Computes `out[i] = f(a[i'], b[i''])` over `shape`, the (already
/// validated) broadcast shape of `a` and `b`.
pub(crate) fn zip2<A: Element, B: Element, O: Element>(
    a: &Tensor,
    b: &Tensor,
    shape: &Shape,
    f: impl Fn(A, B) -> O + Sync,
) -> Result<Tensor> {
    let (xa, xb) = (a.as_slice::<A>()?, b.as_slice::<B>()?);
    let n = shape.size();
    let full_a = a.shape() == shape;
    let full_b = b.shape() == shape;
    let out: Vec<O> = if full_a && full_b {
        build_vec(
            n,
            ELEMENTWISE_GRAIN,
            ZIP_BLOCK,
            || (),
            |_, off, o| {
                let end = off + o.len();
                for ((y, &p), &q) in o.iter_mut().zip(&xa[off..end]).zip(&xb[off..end]) {
                    *y = f(p, q);
                }
            },
        )
    } else if let ([p], true) = (xa, full_b) {
        let p = *p;
        build_vec(
            n,
            ELEMENTWISE_GRAIN,
            ZIP_BLOCK,
            || (),
            |_, off, o| {
                let end = off + o.len();
                for (y, &q) in o.iter_mut().zip(&xb[off..end]) {
                    *y = f(p, q);
                }
            },
        )
    } else if let ([q], true) = (xb, full_a) {
        let q = *q;
        build_vec(
            n,
            ELEMENTWISE_GRAIN,
            ZIP_BLOCK,
            || (),
            |_, off, o| {
                let end = off + o.len();
                for (y, &p) in o.iter_mut().zip(&xa[off..end]) {
                    *y = f(p, q);
                }
            },
        )
    } else {
        let walk = Walk::new(shape, [a.shape(), b.shape()]);
        build_vec(
            n,
            ELEMENTWISE_GRAIN,
            ZIP_BLOCK,
            || (),
            |_, off, o| {
                walk.rows(off, o, |row, [ia, ib], [sa, sb]| {
                    let n = row.len();
                    // Contiguous or constant operands: loops the compiler vectorizes.
                    match (sa, sb) {
                        (1, 1) => {
                            for ((y, &p), &q) in row.iter_mut().zip(&xa[ia..ia + n]).zip(&xb[ib..ib + n]) {
                                *y = f(p, q);
                            }
                        }
                        (1, 0) => {
                            let q = xb[ib];
                            for (y, &p) in row.iter_mut().zip(&xa[ia..ia + n]) {
                                *y = f(p, q);
                            }
                        }
                        (0, 1) => {
                            let p = xa[ia];
                            for (y, &q) in row.iter_mut().zip(&xb[ib..ib + n]) {
                                *y = f(p, q);
                            }
                        }
                        _ => {
                            for (k, y) in row.iter_mut().enumerate() {
                                *y = f(xa[ia + k * sa], xb[ib + k * sb]);
                            }
                        }
                    }
                });
            },
        )
    };
    Tensor::from_vec(shape.clone(), out)
}

/// Computes `out[i] = f(a[i'], b[i''], c[i'''])` over `shape`, the (already
/// validated) broadcast shape of the three operands.
pub(crate) fn zip3<A: Element, B: Element, C: Element, O: Element>(
    a: &Tensor,
    b: &Tensor,
    c: &Tensor,
    shape: &Shape,
    f: impl Fn(A, B, C) -> O + Sync,
) -> Result<Tensor> {
    let (xa, xb, xc) = (a.as_slice::<A>()?, b.as_slice::<B>()?, c.as_slice::<C>()?);
    let n = shape.size();
    let out: Vec<O> = if a.shape() == shape && b.shape() == shape && c.shape() == shape {
        build_vec(
            n,
            ELEMENTWISE_GRAIN,
            ZIP_BLOCK,
            || (),
            |_, off, o| {
                let end = off + o.len();
                let operands = xa[off..end].iter().zip(&xb[off..end]).zip(&xc[off..end]);
                for (y, ((&p, &q), &r)) in o.iter_mut().zip(operands) {
                    *y = f(p, q, r);
                }
            },
        )
    } else {
        let walk = Walk::new(shape, [a.shape(), b.shape(), c.shape()]);
        build_vec(
            n,
            ELEMENTWISE_GRAIN,
            ZIP_BLOCK,
            || (),
            |_, off, o| {
                walk.rows(off, o, |row, [ia, ib, ic], [sa, sb, sc]| {
                    let n = row.len();
                    // select(cond, x, 0) and clip(x, lo, hi) read two full
                    // operands and a constant, or one and two constants.
                    match (sa, sb, sc) {
                        (1, 1, 1) => {
                            let operands = xa[ia..ia + n].iter().zip(&xb[ib..ib + n]).zip(&xc[ic..ic + n]);
                            for (y, ((&p, &q), &r)) in row.iter_mut().zip(operands) {
                                *y = f(p, q, r);
                            }
                        }
                        (1, 1, 0) => {
                            let r = xc[ic];
                            for (y, (&p, &q)) in
                                row.iter_mut().zip(xa[ia..ia + n].iter().zip(&xb[ib..ib + n]))
                            {
                                *y = f(p, q, r);
                            }
                        }
                        (1, 0, 1) => {
                            let q = xb[ib];
                            for (y, (&p, &r)) in
                                row.iter_mut().zip(xa[ia..ia + n].iter().zip(&xc[ic..ic + n]))
                            {
                                *y = f(p, q, r);
                            }
                        }
                        (1, 0, 0) => {
                            let (q, r) = (xb[ib], xc[ic]);
                            for (y, &p) in row.iter_mut().zip(&xa[ia..ia + n]) {
                                *y = f(p, q, r);
                            }
                        }
                        _ => {
                            for (k, y) in row.iter_mut().enumerate() {
                                *y = f(xa[ia + k * sa], xb[ib + k * sb], xc[ic + k * sc]);
                            }
                        }
                    }
                });
            },
        )
    };
    Tensor::from_vec(shape.clone(), out)
}

/// A row-major walk over an output shape, tracking where each of `K`
/// broadcast operands is read from.
struct Walk<const K: usize> {
    /// The output's dimensions (a scalar is walked as `[1]`).
    dims: Vec<usize>,
    /// Per operand, its strides over the output's dimensions.
    strides: [Vec<usize>; K],
}

impl<const K: usize> Walk<K> {
    fn new(shape: &Shape, operands: [&Shape; K]) -> Self {
        let strides = operands.map(|s| broadcast_strides(s, shape));
        // Drop dims of size 1 and merge each dim into the one outside it
        // when every operand steps through both as through one: `{n, c, h,
        // w} + {1, c, 1, 1}` walks as `{n, c, h*w}`, so rows are long and
        // their inner strides are 0 or 1.
        let mut dims: Vec<usize> = Vec::with_capacity(shape.rank());
        let mut merged: [Vec<usize>; K] = std::array::from_fn(|_| Vec::new());
        for (d, &size) in shape.dims().iter().enumerate() {
            if size == 1 {
                continue;
            }
            let joins = !dims.is_empty()
                && merged
                    .iter()
                    .zip(&strides)
                    .all(|(m, s)| m.last() == Some(&(s[d] * size)));
            if joins {
                *dims.last_mut().expect("not empty") *= size;
                for (m, s) in merged.iter_mut().zip(&strides) {
                    *m.last_mut().expect("not empty") = s[d];
                }
            } else {
                dims.push(size);
                for (m, s) in merged.iter_mut().zip(&strides) {
                    m.push(s[d]);
                }
            }
        }
        if dims.is_empty() {
            // A scalar, or all dims of size 1: one element.
            dims.push(1);
            merged.iter_mut().for_each(|m| m.push(0));
        }
        Walk {
            dims,
            strides: merged,
        }
    }

    /// Calls `row(out_row, starts, inner_strides)` for each run of `out`
    /// along the innermost dimension, where `out` is the part of the output
    /// starting at flat index `offset`. `starts[k]` is where operand `k`'s
    /// first element of the run is; `inner_strides[k]` its step.
    fn rows<O>(&self, offset: usize, out: &mut [O], mut row: impl FnMut(&mut [O], [usize; K], [usize; K])) {
        if out.is_empty() {
            // Zero-sized outputs (a dimension of 0) have nothing to walk.
            return;
        }
        let rank = self.dims.len();
        let last = rank - 1;
        // The multi-index of `offset`, and each operand's position there.
        let mut index = vec![0; rank];
        let mut rest = offset;
        for d in (0..rank).rev() {
            index[d] = rest % self.dims[d];
            rest /= self.dims[d];
        }
        let mut pos = [0usize; K];
        for (p, s) in pos.iter_mut().zip(&self.strides) {
            *p = index.iter().zip(s).map(|(i, s)| i * s).sum();
        }
        let inner = self.strides.each_ref().map(|s| s[last]);
        let mut out = out;
        while !out.is_empty() {
            let run = (self.dims[last] - index[last]).min(out.len());
            let (head, tail) = out.split_at_mut(run);
            row(head, pos, inner);
            out = tail;
            // Advance past the run, carrying into outer dimensions.
            index[last] += run;
            for (p, s) in pos.iter_mut().zip(&self.strides) {
                *p += run * s[last];
            }
            let mut d = last;
            while d > 0 && index[d] == self.dims[d] {
                for (p, s) in pos.iter_mut().zip(&self.strides) {
                    *p = *p + s[d - 1] - self.dims[d] * s[d];
                }
                index[d] = 0;
                index[d - 1] += 1;
                d -= 1;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(dims: &[usize], v: Vec<i32>) -> Tensor {
        Tensor::from_vec(Shape::from(dims), v).unwrap()
    }

    /// The reference: index every operand by its multi-index.
    fn naive(dims: &[usize], a: &Tensor, b: &Tensor) -> Vec<i32> {
        let shape = Shape::from(dims);
        let (sa, sb) = (
            broadcast_strides(a.shape(), &shape),
            broadcast_strides(b.shape(), &shape),
        );
        let (xa, xb) = (a.as_slice::<i32>().unwrap(), b.as_slice::<i32>().unwrap());
        (0..shape.size())
            .map(|flat| {
                let (mut rest, mut ia, mut ib) = (flat, 0, 0);
                for d in (0..dims.len()).rev() {
                    let i = rest % dims[d];
                    rest /= dims[d];
                    ia += i * sa[d];
                    ib += i * sb[d];
                }
                xa[ia] * 100 + xb[ib]
            })
            .collect()
    }

    #[test]
    fn broadcast_walk_matches_naive_indexing() {
        let cases: &[(&[usize], &[usize], &[usize])] = &[
            (&[2, 3], &[3], &[2, 3]),
            (&[2, 1], &[1, 3], &[2, 3]),
            (&[3, 1, 5], &[4, 1], &[3, 4, 5]),
            (&[1], &[7], &[7]),
            (&[], &[2, 2], &[2, 2]),
            (&[0, 3], &[3], &[0, 3]),
        ];
        for &(da, db, out) in cases {
            let sa: usize = da.iter().product();
            let sb: usize = db.iter().product();
            let a = t(da, (0..sa as i32).collect());
            let b = t(db, (0..sb as i32).collect());
            let r = zip2::<i32, i32, i32>(&a, &b, &Shape::from(out), |x, y| x * 100 + y).unwrap();
            assert_eq!(r.as_slice::<i32>().unwrap(), naive(out, &a, &b), "{da:?} {db:?}");
        }
    }

    #[test]
    fn large_broadcasts_split_into_chunks_correctly() {
        // Big enough to run on several threads, with runs crossing chunk edges.
        let (rows, cols) = (1000, 333);
        let a = t(&[rows, 1], (0..rows as i32).collect());
        let b = t(&[cols], (0..cols as i32).collect());
        let r = zip2::<i32, i32, i32>(&a, &b, &Shape::from(&[rows, cols][..]), |x, y| x * 100 + y).unwrap();
        assert_eq!(r.as_slice::<i32>().unwrap(), naive(&[rows, cols], &a, &b));
        let c = t(&[], vec![5]);
        let s = zip3::<i32, i32, i32, i32>(&a, &b, &c, &Shape::from(&[rows, cols][..]), |x, y, z| {
            x * 100 + y + z
        })
        .unwrap();
        let expected: Vec<i32> = naive(&[rows, cols], &a, &b).iter().map(|v| v + 5).collect();
        assert_eq!(s.as_slice::<i32>().unwrap(), expected);
    }
}
