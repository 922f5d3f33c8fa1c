//! Dense matrix products, `C = A·B` or `C += A·B`, for `dot` and `conv`:
//! the one place that calls the GEMM kernel (the `gemm` crate, see
//! bench/GEMM_CHOICE.md) and decides how a product is shared across cores.
//!
//! A product on several threads is cut here into blocks of whole output
//! rows (or columns), one per thread, each a single-threaded `gemm` call;
//! the calling thread computes the first block itself. The crate's own
//! rayon parallelism is never used: it makes the caller sleep while the
//! pool works, which needs as many workers as cores, and on this 2-core VM
//! a woken worker then often waited a whole scheduler tick (1.4 ms,
//! measured) for a core, doubling a 512³ product's time.

use crate::parallel::map_tasks;
use std::mem::MaybeUninit;
use std::ops::Range;

/// A read-only matrix inside a slice, with row and column strides
/// (elements).
#[derive(Clone, Copy)]
pub(crate) struct Mat<'a, T> {
    pub data: &'a [T],
    pub rs: usize,
    pub cs: usize,
}

impl<'a, T> Mat<'a, T> {
    /// Row-major rows of `width` elements.
    pub fn rows(data: &'a [T], width: usize) -> Self {
        Mat {
            data,
            rs: width,
            cs: 1,
        }
    }

    /// The transpose of row-major rows of `width` elements.
    pub fn cols(data: &'a [T], width: usize) -> Self {
        Mat {
            data,
            rs: 1,
            cs: width,
        }
    }

    /// The transpose, a view of the same elements.
    pub fn t(self) -> Self {
        Mat {
            data: self.data,
            rs: self.cs,
            cs: self.rs,
        }
    }

    /// Panics unless every element of an `r × c` matrix lies in the slice
    /// (keeps the unsafe GEMM calls sound; cheap next to the product). A
    /// panic is a caller bug, turned into an Elixir exception by the NIF
    /// guard.
    fn check(&self, op: &str, r: usize, c: usize) {
        if r > 0 && c > 0 {
            let last = (r - 1)
                .checked_mul(self.rs)
                .and_then(|a| (c - 1).checked_mul(self.cs).and_then(|b| a.checked_add(b)));
            assert!(
                last.is_some_and(|last| last < self.data.len()),
                "{op}: matrix out of bounds"
            );
        }
    }
}

/// The element types with a matrix product: f32 and f64 (a supertrait of
/// [`crate::float::Real`]).
pub trait Scalar: 'static + num_traits::Float + Send + Sync {}
impl Scalar for f32 {}
impl Scalar for f64 {}

/// Pointers into the operands and the output, shared by the threads of
/// one product.
#[derive(Clone, Copy)]
struct Pointers<T> {
    lhs: *const T,
    rhs: *const T,
    dst: *mut T,
}

// SAFETY: made only in `matmul` from borrowed slices that outlive the
// tasks; the tasks read the operands and write disjoint blocks of `dst`.
unsafe impl<T: Send + Sync> Send for Pointers<T> {}
unsafe impl<T: Send + Sync> Sync for Pointers<T> {}

impl<T> Pointers<T> {
    /// The three pointers advanced by the given offsets. A method, so a
    /// closure captures the whole `Pointers` rather than its raw fields.
    ///
    /// # Safety
    /// The offsets must stay inside the allocations.
    unsafe fn offset(self, lhs: usize, rhs: usize, dst: usize) -> (*const T, *const T, *mut T) {
        (self.lhs.add(lhs), self.rhs.add(rhs), self.dst.add(dst))
    }
}

/// The `gemm` crate picks its summation order from the shape it is given:
/// a dot-product kernel for outputs of at most 16×16, gemv for one row or
/// column, its small-output path (depth blocks of 512) when both sides
/// are at most this, and otherwise depth blocks that depend on the depth
/// and the caches only (`gemm_common::cache::kernel_params`). [`split`]
/// only cuts products whose other side is longer than this, into blocks
/// of at least [`MIN_BLOCK`] less a partial unit, so every block takes the
/// general path with the whole product's depth blocks, and a product gives
/// the same bits on any number of threads.
const GEMM_SMALL_SIDE: usize = 64;

/// The block length [`split`] aims for at least: a 128-row product (one
/// training batch) splits in two.
const MIN_BLOCK: usize = 64;

/// Cuts an `m × n` output into up to `threads` blocks of whole rows (or of
/// whole columns when it is wider than tall), as even as whole 32-long
/// units allow; one block when the product is too small to split without
/// changing its bits (see [`GEMM_SMALL_SIDE`]).
fn split(m: usize, n: usize, threads: usize) -> Vec<(Range<usize>, Range<usize>)> {
    const UNIT: usize = 32;
    let by_rows = m >= n;
    let (len, other) = if by_rows { (m, n) } else { (n, m) };
    let parts = if other > GEMM_SMALL_SIDE {
        threads.min(len / MIN_BLOCK).max(1)
    } else {
        1
    };
    let units = len.div_ceil(UNIT);
    let mut start = 0;
    (0..parts)
        .map(|p| {
            // The first `units % parts` blocks take one unit more.
            let count = units / parts + usize::from(p < units % parts);
            let end = (start + count * UNIT).min(len);
            let range = start..end;
            start = end;
            if by_rows {
                (range, 0..n)
            } else {
                (0..m, range)
            }
        })
        .collect()
}

/// `dst[m×n]` (row-major, row stride `n`) `= lhs[m×k] · rhs[k×n]`, or `+=`
/// when `accumulate`, on up to `threads` threads. `op` names the caller in
/// the (internal) error raised when an operand is smaller than its shape.
#[allow(clippy::too_many_arguments)]
pub(crate) fn matmul<T: Scalar>(
    op: &str,
    m: usize,
    n: usize,
    k: usize,
    dst: &mut [T],
    accumulate: bool,
    lhs: Mat<T>,
    rhs: Mat<T>,
    threads: usize,
) {
    if m == 0 || n == 0 {
        return;
    }
    assert!(m * n <= dst.len(), "{op}: destination out of bounds");
    if k == 0 {
        if !accumulate {
            dst[..m * n].fill(T::zero());
        }
        return;
    }
    product(op, m, n, k, dst.as_mut_ptr(), accumulate, lhs, rhs, threads);
}

/// [`matmul`] into memory not yet written (`=`, never `+=`): every one of
/// the `m×n` elements is written, so the caller can skip zero-filling an
/// output the product overwrites anyway (a full extra pass over memory for
/// a large output).
#[allow(clippy::too_many_arguments)]
pub(crate) fn matmul_uninit<T: Scalar>(
    op: &str,
    m: usize,
    n: usize,
    k: usize,
    dst: &mut [MaybeUninit<T>],
    lhs: Mat<T>,
    rhs: Mat<T>,
    threads: usize,
) {
    if m == 0 || n == 0 {
        return;
    }
    assert!(m * n <= dst.len(), "{op}: destination out of bounds");
    if k == 0 {
        dst[..m * n].iter_mut().for_each(|d| {
            d.write(T::zero());
        });
        return;
    }
    // `gemm` writes the block through the pointer without reading it
    // (`read_dst` false), and MaybeUninit<T> has T's layout.
    product(op, m, n, k, dst.as_mut_ptr().cast(), false, lhs, rhs, threads);
}

/// The product of [`matmul`] for `k > 0`, into `dst`, which must hold
/// `m×n` elements (checked by the callers).
#[allow(clippy::too_many_arguments)]
fn product<T: Scalar>(
    op: &str,
    m: usize,
    n: usize,
    k: usize,
    dst: *mut T,
    accumulate: bool,
    lhs: Mat<T>,
    rhs: Mat<T>,
    threads: usize,
) {
    lhs.check(op, m, k);
    rhs.check(op, k, n);
    let at = Pointers {
        lhs: lhs.data.as_ptr(),
        rhs: rhs.data.as_ptr(),
        dst,
    };
    let parts = split(m, n, threads);
    let block = |t: usize| {
        let (rows, cols) = parts[t].clone();
        // SAFETY: the callers' checks keep every address of the m×n output
        // (row stride n) and of the m×k and k×n operands (through their
        // strides) inside the slices; each task's block is a sub-block of
        // those, the blocks are disjoint, and `dst` does not alias the
        // operands (the callers borrow it mutably).
        unsafe {
            let (l, r, d) = at.offset(
                rows.start * lhs.rs,
                cols.start * rhs.cs,
                rows.start * n + cols.start,
            );
            gemm::gemm(
                rows.len(),
                cols.len(),
                k,
                d,
                1,
                n as isize,
                accumulate,
                l,
                lhs.cs as isize,
                lhs.rs as isize,
                r,
                rhs.cs as isize,
                rhs.rs as isize,
                T::one(),
                T::one(),
                false,
                false,
                false,
                gemm::Parallelism::None,
            )
        }
    };
    if parts.len() == 1 {
        // No pool hand-off for a product on one thread (many small batched
        // products come through here).
        block(0);
    } else {
        map_tasks(parts.len(), block);
    }
}

#[cfg(test)]
#[path = "matmul_tests.rs"]
mod tests;
