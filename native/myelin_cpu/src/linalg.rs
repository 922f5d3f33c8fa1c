//! Linear algebra kernels ported from Nx 0.7's `Nx.BinaryBackend.Matrix`:
//! `lu`, `triangular_solve` and `eigh`.
//!
//! Nx's doctests print these results to the last digit, so the ports keep
//! BinaryBackend's algorithms operation for operation: the same pivot
//! choice, loop and summation order (`acc + x * y` from a zero
//! accumulator, never fused), tolerance tests and zero approximations. All
//! arithmetic is in f64, as Elixir floats are, and results are rounded to
//! the input's float type only when written, the way BinaryBackend writes
//! its binaries (bf16 included: see [`to_tensor`]).
//!
//! BinaryBackend computes with Elixir numbers, where non-finite values are
//! the atoms `:infinity`, `:neg_infinity` and `:nan` handled by the
//! `Complex` library; the few places where that differs from IEEE
//! arithmetic ([`erl_div`], [`erl_ge`]) are reproduced. Where Elixir raises
//! instead (a finite overflow, a nonzero divided by zero), these kernels
//! give IEEE infinities.
//!
//! Matrices are processed independently; batches are split across cores.

use crate::parallel::{map_tasks, num_threads};
use half::bf16;
use myelin_core::{dispatch_float, DType, Element, Error, Result, Shape, Tensor};

/// Nx's default `:eps` for `Nx.LinAlg.lu/2`.
pub const LU_EPS: f64 = 1.0e-10;
/// Nx's default `:eps` for `Nx.LinAlg.eigh/2`.
pub const EIGH_EPS: f64 = 1.0e-4;
/// Nx's default `:max_iter` for `Nx.LinAlg.eigh/2`.
pub const EIGH_MAX_ITER: usize = 1_000;

/// Floating-point work (about n³ per matrix, summed over a batch) from
/// which batches are split across cores: below it, waking workers costs
/// more than it saves.
const BATCH_GRAIN: usize = 1 << 15;

/// LU decomposition of the last two (square) axes, batched over leading
/// axes, with Nx's default `eps` ([`LU_EPS`]). See [`lu_with_eps`].
pub fn lu(t: &Tensor) -> Result<(Tensor, Tensor, Tensor)> {
    lu_with_eps(t, LU_EPS)
}

/// LU decomposition with BinaryBackend's pivoting: returns `(p, l, u)`,
/// each with `t`'s shape and dtype, such that `a = p · l · u` (Nx's
/// convention, as its doctests `p |> Nx.dot(l) |> Nx.dot(u)` show; so
/// `pᵀ · a = l · u`). `l` is unit lower triangular, `u` upper triangular,
/// and entries of `l` and `u` smaller than `eps` in magnitude are zeroed.
///
/// The pivoting is BinaryBackend's, not textbook partial pivoting: rows are
/// first permuted so each column's largest entry (among the rows not yet
/// placed, of the *unreduced* matrix) lies on the diagonal, then a
/// Doolittle factorisation runs without further pivoting.
pub fn lu_with_eps(t: &Tensor, eps: f64) -> Result<(Tensor, Tensor, Tensor)> {
    let (batches, n) = square_batch("lu", t)?;
    let a = read_f64("lu", t)?;
    let mm = n * n;
    let parts = per_batch(batches, mm.saturating_mul(n), |b| {
        Ok(lu_matrix(&a[b * mm..(b + 1) * mm], n, eps))
    })?;
    let (mut p, mut l, mut u) = (
        Vec::with_capacity(a.len()),
        Vec::with_capacity(a.len()),
        Vec::with_capacity(a.len()),
    );
    for (pb, lb, ub) in parts {
        p.extend(pb);
        l.extend(lb);
        u.extend(ub);
    }
    let dt = t.dtype();
    Ok((
        to_tensor(dt, t.shape().clone(), &p)?,
        to_tensor(dt, t.shape().clone(), &l)?,
        to_tensor(dt, t.shape().clone(), &u)?,
    ))
}

/// Solves `op(a) · x = b` (`left_side`) or `x · op(a) = b`, where `a` is
/// lower (`lower`) or upper triangular and `op(a)` is `aᵀ` when
/// `transpose_a` (Nx's `transform_a: :transpose`), else `a`. Only the
/// triangle `lower` names (and the diagonal) is read.
///
/// Shapes follow `Nx.Shape.triangular_solve`: `a` is `{..., n, n}` and `b`
/// is `{..., n}` (one right-hand side per matrix; preferred when both
/// readings fit), or `{..., n, m}` when `left_side`, `{..., m, n}` when
/// not, with the same leading axes as `a`. The result has `b`'s shape.
/// Both inputs must have the same float type (the caller casts them to
/// the output type first). A zero on the diagonal is an error, as in
/// BinaryBackend ("can't solve for singular matrix").
pub fn triangular_solve(
    a: &Tensor,
    b: &Tensor,
    lower: bool,
    left_side: bool,
    transpose_a: bool,
) -> Result<Tensor> {
    const OP: &str = "triangular_solve";
    let (batches, n) = square_batch(OP, a)?;
    float_dtype(OP, b)?;
    if a.dtype() != b.dtype() {
        return Err(Error::arg(
            OP,
            format!(
                "expected a and b of the same type, got {} and {}",
                a.dtype(),
                b.dtype()
            ),
        ));
    }
    let rhs = rhs_layout(a.dims(), b.dims(), left_side).ok_or_else(|| {
        Error::arg(
            OP,
            format!(
                "incompatible dimensions for a and b on triangular solve: a has shape {}, so b must have shape \
                 {{..., {n}}}, or {} with the same leading axes, got {}",
                a.shape(),
                if left_side { format!("{{..., {n}, m}}") } else { format!("{{..., m, {n}}}") },
                b.shape()
            ),
        )
    })?;
    let av = read_f64(OP, a)?;
    let bv = read_f64(OP, b)?;
    let (mm, per_b) = (n * n, bv.len().checked_div(batches).unwrap_or(0));
    let flags = TsFlags::new(lower, left_side, transpose_a);
    let parts = per_batch(batches, mm.saturating_mul(rhs.count), |i| {
        ts_matrix(
            &av[i * mm..(i + 1) * mm],
            &bv[i * per_b..(i + 1) * per_b],
            n,
            rhs,
            flags,
        )
    })?;
    to_tensor(b.dtype(), b.shape().clone(), &parts.concat())
}

/// Eigen-decomposition of symmetric matrices on the last two axes, with
/// BinaryBackend's algorithm: a Householder reduction to Hessenberg form,
/// then unshifted QR iterations (at most `max_iter`, stopping once an
/// iteration changes the accumulated Q by at most `eps` everywhere). Returns
/// `(eigenvalues {..., n}, eigenvectors {..., n, n})` in the input's dtype,
/// eigenvectors as columns, in the order the iteration leaves them (not
/// sorted) and with its signs; entries smaller than `eps` are zeroed.
/// Nx's defaults are [`EIGH_EPS`] and [`EIGH_MAX_ITER`].
///
/// As in BinaryBackend, a matrix that differs from its transpose by more
/// than `eps` somewhere is an error, and `max_iter = 0` runs two iterations
/// (Elixir's `1..0` counts down).
pub fn eigh(t: &Tensor, eps: f64, max_iter: usize) -> Result<(Tensor, Tensor)> {
    let (batches, n) = square_batch("eigh", t)?;
    let a = read_f64("eigh", t)?;
    let mm = n * n;
    let parts = per_batch(batches, mm.saturating_mul(mm), |b| {
        eigh_matrix(&a[b * mm..(b + 1) * mm], n, eps, max_iter)
    })?;
    let (mut vals, mut vecs) = (Vec::with_capacity(batches * n), Vec::with_capacity(a.len()));
    for (vb, qb) in parts {
        vals.extend(vb);
        vecs.extend(qb);
    }
    let dims = t.dims();
    let vals_shape = Shape::new(dims[..dims.len() - 1].to_vec());
    Ok((
        to_tensor(t.dtype(), vals_shape, &vals)?,
        to_tensor(t.dtype(), t.shape().clone(), &vecs)?,
    ))
}

// ---------------------------------------------------------------------------
// Validation, conversion and batching.

/// Fails unless `t` has a float type.
fn float_dtype(op: &str, t: &Tensor) -> Result<()> {
    if t.dtype().is_float() {
        Ok(())
    } else {
        Err(Error::arg(
            op,
            format!(
                "expected a float tensor ({{:f, 16}}, {{:bf, 16}}, {{:f, 32}} or {{:f, 64}}), got type {}",
                t.dtype()
            ),
        ))
    }
}

/// Checks that `t` is a float batch of square matrices; returns the number
/// of matrices and their order.
fn square_batch(op: &str, t: &Tensor) -> Result<(usize, usize)> {
    float_dtype(op, t)?;
    let dims = t.dims();
    if dims.len() < 2 {
        return Err(Error::arg(
            op,
            format!(
                "expected a square matrix or a batch of square matrices (rank at least 2), got shape {}",
                t.shape()
            ),
        ));
    }
    let (m, n) = (dims[dims.len() - 2], dims[dims.len() - 1]);
    if m != n {
        return Err(Error::arg(
            op,
            format!(
                "expected a square matrix or a batch of square matrices, got shape {}",
                t.shape()
            ),
        ));
    }
    Ok((dims[..dims.len() - 2].iter().product(), n))
}

/// The elements of a float tensor, widened to f64 (exactly).
fn read_f64(op: &str, t: &Tensor) -> Result<Vec<f64>> {
    dispatch_float!(t.dtype(), T => Ok(t.as_slice::<T>()?.iter().map(|v| v.to_f64()).collect()),
        _ => Err(Error::internal(op, format!("read a {} tensor as floats", t.dtype()))))
}

/// Rounds f64 results to `dtype` as BinaryBackend writes them: f16, f32
/// and f64 round to nearest; bf16 is written as the top half of the value
/// rounded to f32, i.e. truncated from f32 (Nx's `write_bf16` path). NaN
/// is written as Nx's `nan_binary`, the positive quiet NaN (x86's
/// arithmetic NaN is negative).
fn to_tensor(dtype: DType, shape: Shape, values: &[f64]) -> Result<Tensor> {
    let canonical = |v: f64| if v.is_nan() { f64::NAN } else { v };
    if dtype == DType::BF16 {
        let bits = |v: f64| ((canonical(v) as f32).to_bits() >> 16) as u16;
        let data = values
            .iter()
            .map(|&v| bf16::from_bits(bits(v)))
            .collect::<Vec<_>>();
        return Tensor::from_vec(shape, data);
    }
    dispatch_float!(dtype, T => {
        let data = values.iter().map(|&v| T::from_f64(canonical(v))).collect::<Vec<T>>();
        Tensor::from_vec(shape, data)
    }, _ => Err(Error::internal("linalg", format!("wrote floats as {dtype}"))))
}

/// `f(0) .. f(batches - 1)` in order, across cores when the batch holds at
/// least [`BATCH_GRAIN`] work (`work` per matrix). The first error in batch
/// order wins, as when BinaryBackend raises on the first bad matrix.
fn per_batch<R: Send>(batches: usize, work: usize, f: impl Fn(usize) -> Result<R> + Sync) -> Result<Vec<R>> {
    let chunks = if batches > 1 && batches.saturating_mul(work) >= BATCH_GRAIN {
        num_threads().min(batches)
    } else {
        1
    };
    if chunks <= 1 {
        return (0..batches).map(f).collect();
    }
    let per = batches.div_ceil(chunks);
    let parts = map_tasks(chunks, |c| {
        (c * per..((c + 1) * per).min(batches))
            .map(&f)
            .collect::<Result<Vec<R>>>()
    });
    let mut out = Vec::with_capacity(batches);
    for part in parts {
        out.extend(part?);
    }
    Ok(out)
}

// ---------------------------------------------------------------------------
// Elixir number semantics.

/// `Complex.divide/2` on reals: non-finite operands follow its clauses
/// (e.g. a number divided by ±∞ is the integer 0, so +0.0), 0/0 is NaN.
fn erl_div(x: f64, y: f64) -> f64 {
    if !x.is_finite() && !y.is_finite() {
        f64::NAN
    } else if !x.is_finite() && y >= 0.0 {
        x
    } else if (x == 0.0 && y == 0.0) || x.is_nan() || y.is_nan() {
        f64::NAN
    } else if x.is_infinite() {
        // y < 0 here.
        -x
    } else if y.is_infinite() {
        0.0
    } else {
        x / y
    }
}

/// Erlang's `x >= y` where non-finite values are the atoms `:infinity`,
/// `:nan` and `:neg_infinity`: every number sorts below every atom, and
/// atoms sort alphabetically.
fn erl_ge(x: f64, y: f64) -> bool {
    let rank = |v: f64| match v {
        v if v.is_finite() => 0,
        v if v == f64::INFINITY => 1,
        v if v.is_nan() => 2,
        _ => 3,
    };
    match (rank(x), rank(y)) {
        (0, 0) => x >= y,
        (rx, ry) => rx >= ry,
    }
}

/// BinaryBackend's `approximate_zeros`: `0 * x` (a signed zero) where
/// `|x| < tol`.
fn approximate_zeros(m: &mut [f64], tol: f64) {
    for x in m.iter_mut() {
        if x.abs() < tol {
            *x *= 0.0;
        }
    }
}

// ---------------------------------------------------------------------------
// LU (B.Matrix.lu).

/// `(pᵀ, l, u)` of one row-major n×n matrix.
fn lu_matrix(a: &[f64], n: usize, eps: f64) -> (Vec<f64>, Vec<f64>, Vec<f64>) {
    // lu_validate_and_pivot: for each column j < n - 1 (for n = 1 Elixir's
    // range counts down to -1, but both steps keep the row in place), move
    // the first row at or below j with the largest |a[i][j]| to row j.
    // `Enum.sort_by(.., &>=/2)` is stable, so ties keep the earliest row;
    // it compares in Erlang's term order, where NaN (`:nan`) is largest.
    let mut a = a.to_vec();
    let mut perm: Vec<usize> = (0..n).collect();
    for j in 0..n.saturating_sub(1) {
        let mut max_idx = j;
        for i in j + 1..n {
            if !erl_ge(a[max_idx * n + j].abs(), a[i * n + j].abs()) {
                max_idx = i;
            }
        }
        if max_idx != j {
            perm.swap(j, max_idx);
            for c in 0..n {
                a.swap(j * n + c, max_idx * n + c);
            }
        }
    }
    // Doolittle, exactly as BinaryBackend: both sums run over k < i with
    // `x * y + acc` (terms with not-yet-computed zeros included: they can
    // turn a -0.0 accumulator into +0.0), values below eps become 0.
    let mut l = vec![0.0; n * n];
    let mut u = vec![0.0; n * n];
    let dot = |u: &[f64], l: &[f64], i: usize, j: usize| {
        (0..i).fold(0.0, |acc, k| u[k * n + j] * l[i * n + k] + acc)
    };
    for j in 0..n {
        l[j * n + j] = 1.0;
        for i in 0..=j {
            let value = a[i * n + j] - dot(&u, &l, i, j);
            u[i * n + j] = if value.abs() < eps { 0.0 } else { value };
        }
        for i in j + 1..n {
            let sum = dot(&u, &l, i, j);
            let (a_ij, u_jj) = (a[i * n + j], u[j * n + j]);
            let value = if u_jj != 0.0 {
                erl_div(a_ij - sum, u_jj)
            } else if erl_ge(a_ij, sum) {
                f64::INFINITY
            } else {
                f64::NEG_INFINITY
            };
            l[i * n + j] = if value.abs() < eps { 0.0 } else { value };
        }
    }
    approximate_zeros(&mut l, eps);
    approximate_zeros(&mut u, eps);
    // BinaryBackend returns the transpose of its row-permutation matrix, so
    // that a = p·l·u: p[r][c] = 1 where row c of the permuted matrix is
    // row r of a.
    let mut p = vec![0.0; n * n];
    for (c, &r) in perm.iter().enumerate() {
        p[r * n + c] = 1.0;
    }
    (p, l, u)
}

// ---------------------------------------------------------------------------
// Triangular solve (B.Matrix.ts).

/// Where each matrix's right-hand sides sit in its slice of `b`.
#[derive(Clone, Copy, Debug)]
struct RhsLayout {
    /// Number of right-hand-side vectors.
    count: usize,
    /// Element `i` of vector `j` is at `i * row + j * col`.
    row: usize,
    col: usize,
}

/// `Nx.Shape.triangular_solve`'s rule, in BinaryBackend's order: `b` read
/// as a batch of vectors first, then as a batch of matrices.
fn rhs_layout(a: &[usize], b: &[usize], left_side: bool) -> Option<RhsLayout> {
    let (ar, br) = (a.len(), b.len());
    let (batch, n) = (&a[..ar - 2], a[ar - 1]);
    if br >= 1 && &b[..br - 1] == batch && b[br - 1] == n {
        return Some(RhsLayout {
            count: 1,
            row: 1,
            col: 0,
        });
    }
    if br < 2 || &b[..br - 2] != batch {
        return None;
    }
    let (r, c) = (b[br - 2], b[br - 1]);
    match left_side {
        // {n, m}: column j is a right-hand side.
        true if r == n => Some(RhsLayout {
            count: c,
            row: c,
            col: 1,
        }),
        // {m, n}: x·op(a) = b row by row, i.e. op(a)ᵀ·xᵀ = bᵀ per row.
        false if c == n => Some(RhsLayout {
            count: r,
            row: 1,
            col: n,
        }),
        _ => None,
    }
}

/// BinaryBackend's reduction of every option combination to one forward
/// substitution with a lower-triangular matrix.
#[derive(Clone, Copy, Debug)]
struct TsFlags {
    /// Solve with aᵀ (in place of a).
    transpose: bool,
    /// Reverse rows and columns of the matrix, and the right-hand side and
    /// solution, turning upper-triangular systems into lower ones.
    reverse: bool,
}

impl TsFlags {
    fn new(lower: bool, left_side: bool, transpose_a: bool) -> TsFlags {
        TsFlags {
            transpose: left_side == transpose_a,
            reverse: left_side == (lower == transpose_a),
        }
    }
}

/// Solves every right-hand side of one matrix; the result has `b`'s layout.
fn ts_matrix(a: &[f64], b: &[f64], n: usize, rhs: RhsLayout, flags: TsFlags) -> Result<Vec<f64>> {
    // The effective lower-triangular matrix A'.
    let mut m = vec![0.0; n * n];
    for i in 0..n {
        for k in 0..n {
            let (r, c) = if flags.reverse {
                (n - 1 - i, n - 1 - k)
            } else {
                (i, k)
            };
            m[i * n + k] = if flags.transpose {
                a[c * n + r]
            } else {
                a[r * n + c]
            };
        }
    }
    let mut out = vec![0.0; b.len()];
    let mut y = vec![0.0; n];
    for j in 0..rhs.count {
        let at = |i: usize| {
            let i = if flags.reverse { n - 1 - i } else { i };
            i * rhs.row + j * rhs.col
        };
        // do_ts: y[i] = (b[i] - Σ_{k<i} A'[i][k]·y[k]) / A'[i][i].
        for i in 0..n {
            let value = m[i * n + i];
            if value == 0.0 {
                return Err(Error::arg("triangular_solve", "can't solve for singular matrix"));
            }
            let dot = (0..i).fold(0.0, |acc, k| m[i * n + k] * y[k] + acc);
            y[i] = erl_div(b[at(i)] - dot, value);
        }
        for (i, &v) in y.iter().enumerate() {
            out[at(i)] = v;
        }
    }
    Ok(out)
}

// ---------------------------------------------------------------------------
// eigh (B.Matrix.eigh) and its Householder helpers.

/// A Householder reflector `I - scale·v·vᵀ` acting on the trailing `k`
/// coordinates of n: identity on the first `p = n - k`, `block` (k×k,
/// row-major) on the rest.
struct Reflector {
    p: usize,
    k: usize,
    block: Vec<f64>,
}

impl Reflector {
    fn identity(n: usize) -> Reflector {
        Reflector {
            p: n,
            k: 0,
            block: Vec::new(),
        }
    }

    /// BinaryBackend's `householder_reflector` for the column slice `x`
    /// (real case): block[r][c] = δ - (scale·v[r])·v[c], evaluated in that
    /// order (so the block need not be exactly symmetric).
    fn new(x: &[f64], n: usize, eps: f64) -> Reflector {
        let Some(&a0) = x.first() else {
            return Reflector::identity(n);
        };
        let norm_sq = x.iter().fold(0.0, |acc, &v| v * v + acc);
        let norm_sq_1on = norm_sq - a0 * a0;
        let (scale, v0) = if norm_sq_1on < eps {
            // v = [1 | tail] with the integer scale 0: the identity.
            (0.0, None)
        } else {
            let v0 = if a0 <= 0.0 {
                a0 - norm_sq.sqrt()
            } else {
                -norm_sq_1on / (a0 + norm_sq.sqrt())
            };
            let v0_sq = v0 * v0;
            (2.0 * v0_sq / (norm_sq_1on + v0_sq), Some(v0))
        };
        let v: Vec<f64> = std::iter::once(1.0)
            .chain(x[1..].iter().map(|&t| v0.map_or(t, |v0| erl_div(t, v0))))
            .collect();
        let k = x.len();
        let mut block = vec![0.0; k * k];
        for r in 0..k {
            for c in 0..k {
                let delta = if r == c { 1.0 } else { 0.0 };
                block[r * k + c] = delta - scale * v[r] * v[c];
            }
        }
        Reflector { p: n - k, k, block }
    }

    /// The adjoint (transpose).
    fn adjoint(&self) -> Reflector {
        let k = self.k;
        let mut block = vec![0.0; k * k];
        for r in 0..k {
            for c in 0..k {
                block[r * k + c] = self.block[c * k + r];
            }
        }
        Reflector { p: self.p, k, block }
    }

    /// The full n×n matrix.
    fn dense(&self, n: usize) -> Vec<f64> {
        let (p, k) = (self.p, self.k);
        let mut m = vec![0.0; n * n];
        for i in 0..p {
            m[i * n + i] = 1.0;
        }
        for r in 0..k {
            m[(p + r) * n + p..(p + r + 1) * n].copy_from_slice(&self.block[r * k..(r + 1) * k]);
        }
        m
    }

    /// `H · m` with BinaryBackend's `dot_matrix_real` rounding. Rows and
    /// terms from the identity part are skipped: they multiply by exact 0s
    /// and 1s, adding only zeros to a +0.0 accumulator, whose one visible
    /// effect (for finite entries) is `0.0 + x`, turning -0.0 into +0.0.
    fn left_mul(&self, m: &[f64], n: usize) -> Vec<f64> {
        let (p, k) = (self.p, self.k);
        let mut out: Vec<f64> = m.iter().map(|&x| 0.0 + x).collect();
        for r in 0..k {
            for c in 0..n {
                out[(p + r) * n + c] =
                    (0..k).fold(0.0, |acc, q| acc + self.block[r * k + q] * m[(p + q) * n + c]);
            }
        }
        out
    }

    /// `m · H`, as [`Reflector::left_mul`].
    fn right_mul(&self, m: &[f64], n: usize) -> Vec<f64> {
        let (p, k) = (self.p, self.k);
        let mut out: Vec<f64> = m.iter().map(|&x| 0.0 + x).collect();
        for r in 0..n {
            for c in 0..k {
                out[r * n + p + c] =
                    (0..k).fold(0.0, |acc, q| acc + m[r * n + p + q] * self.block[q * k + c]);
            }
        }
        out
    }
}

/// `x · y` for n×n matrices (`dot_matrix_real`: `acc + x * y` over k).
fn matmul(x: &[f64], y: &[f64], n: usize) -> Vec<f64> {
    let mut out = vec![0.0; n * n];
    for r in 0..n {
        for c in 0..n {
            out[r * n + c] = (0..n).fold(0.0, |acc, k| acc + x[r * n + k] * y[k * n + c]);
        }
    }
    out
}

/// `is_approximately_same?`: every `|x - y| <= eps`, NaN counting as equal.
fn approximately_same(x: &[f64], y: &[f64], eps: f64) -> bool {
    x.iter().zip(y).all(|(a, b)| {
        let d = (a - b).abs();
        d.is_nan() || d <= eps
    })
}

/// The reflectors' column slices: for n = 1, Elixir's `0..(n - 2)` and
/// `0..-1` count down through two steps whose reflectors are 1×1
/// identities; otherwise `column(i)` for i in 0..=n-2.
fn reflector_steps(n: usize) -> impl Iterator<Item = Option<usize>> {
    let ones = if n == 1 { 2 } else { 0 };
    (0..n.saturating_sub(1))
        .map(Some)
        .chain(std::iter::repeat_n(None, ones))
}

/// Accumulates `q = h` (first step) or `q · h`.
fn accumulate(q: Option<Vec<f64>>, h: &Reflector, n: usize) -> Vec<f64> {
    match q {
        None => h.dense(n),
        Some(q) => h.right_mul(&q, n),
    }
}

/// `hessenberg_decomposition`: `(hess, q)`.
fn hessenberg(a: &[f64], n: usize, eps: f64) -> (Vec<f64>, Vec<f64>) {
    let mut hess = a.to_vec();
    let mut q = None;
    for step in reflector_steps(n) {
        let h = match step {
            Some(i) => {
                let col: Vec<f64> = (i + 1..n).map(|r| hess[r * n + i]).collect();
                Reflector::new(&col, n, eps)
            }
            None => Reflector::identity(n),
        };
        q = Some(accumulate(q, &h, n));
        hess = h.adjoint().right_mul(&h.left_mul(&hess, n), n);
    }
    let mut q = q.unwrap_or_default();
    approximate_zeros(&mut hess, eps);
    approximate_zeros(&mut q, eps);
    (hess, q)
}

/// `qr_decomposition` of a square matrix: `(q, r)`.
fn qr(a: &[f64], n: usize, eps: f64) -> (Vec<f64>, Vec<f64>) {
    let mut r = a.to_vec();
    let mut q = None;
    for step in reflector_steps(n) {
        let h = match step {
            Some(i) => {
                let col: Vec<f64> = (i..n).map(|row| r[row * n + i]).collect();
                Reflector::new(&col, n, eps)
            }
            None => Reflector::identity(n),
        };
        q = Some(accumulate(q, &h, n));
        r = h.left_mul(&r, n);
    }
    let mut q = q.unwrap_or_default();
    approximate_zeros(&mut q, eps);
    approximate_zeros(&mut r, eps);
    (q, r)
}

/// `(eigenvalues, eigenvectors)` of one n×n matrix.
fn eigh_matrix(a: &[f64], n: usize, eps: f64, max_iter: usize) -> Result<(Vec<f64>, Vec<f64>)> {
    if n == 0 {
        return Ok((Vec::new(), Vec::new()));
    }
    let symmetric = (0..n).all(|i| {
        (0..n).all(|j| {
            let d = (a[j * n + i] - a[i * n + j]).abs();
            d.is_nan() || d <= eps
        })
    });
    if !symmetric {
        return Err(Error::arg(
            "eigh",
            "matrix must be hermitian, a matrix is hermitian iff X = adjoint(X)",
        ));
    }
    let (mut a_cur, mut q_cur) = hessenberg(a, n, eps);
    // Enum.reduce_while(1..max_iter, ...): 1..0 counts down, so 0 runs twice.
    let iterations = if max_iter == 0 { 2 } else { max_iter };
    for _ in 0..iterations {
        let (q_now, r_now) = qr(&a_cur, n, eps);
        let a_new = matmul(&r_now, &q_now, n);
        let q_new = matmul(&q_cur, &q_now, n);
        let done = approximately_same(&q_cur, &q_new, eps);
        a_cur = a_new;
        q_cur = q_new;
        if done {
            break;
        }
    }
    let mut vals: Vec<f64> = (0..n).map(|i| a_cur[i * n + i]).collect();
    approximate_zeros(&mut vals, eps);
    approximate_zeros(&mut q_cur, eps);
    Ok((vals, q_cur))
}

#[cfg(test)]
#[path = "linalg_tests.rs"]
mod tests;
