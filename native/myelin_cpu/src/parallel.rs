//! Splitting work across cores on one persistent set of workers.
//!
//! Every parallel kernel runs its pieces on the workers of
//! [`crate::workers`]. They live as long as the library, so a parallel op
//! costs a hand-off, not a thread spawn per chunk. The calling thread (a
//! BEAM dirty scheduler) computes one piece itself while the workers take
//! the others, so an op cut in [`num_threads`] pieces needs only
//! `num_threads - 1` workers, and that is how many there are: with one
//! worker per core plus the caller, the cores are oversubscribed, and on
//! the 2-core VM a woken worker often waited a whole scheduler tick (1.4
//! ms, measured on a 512³ product) for a core held by the caller and an
//! idle-spinning worker. Small ops stay on the calling thread and the
//! grain is large, since a hand-off still costs microseconds.
//!
//! The `gemm` crate's own parallelism (rayon, which makes the caller wait
//! while only the pool works) is never used: `matmul` splits products
//! itself.

pub use crate::workers::Scope;
use std::sync::OnceLock;

/// Elements each thread's chunk of elementwise work must hold. Measured
/// from Elixir on the 2-core VM (2026-11-22): a bias add over 1024×128 f32
/// took 72 µs on one thread and 166 µs split in two (the worker's wake-up
/// and the BEAM's spinning schedulers cost more than the half saved), so
/// an op is split only from 2 × 128 Ki elements.
pub const ELEMENTWISE_GRAIN: usize = 1 << 17;

/// The number of threads ops may use, the caller's included:
/// `MYELIN_NUM_THREADS` if set, otherwise the number of available cores.
/// The first call starts the workers (one fewer, at least one).
pub fn num_threads() -> usize {
    static THREADS: OnceLock<usize> = OnceLock::new();
    *THREADS.get_or_init(|| {
        let threads = std::env::var("MYELIN_NUM_THREADS")
            .ok()
            .and_then(|v| v.parse::<usize>().ok())
            .filter(|&n| n > 0)
            .unwrap_or_else(|| std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1));
        crate::workers::start(threads.saturating_sub(1).max(1));
        threads
    })
}

/// Runs `body` on the calling thread with a scope whose spawned tasks run on
/// the workers, and returns once all of them have finished. Callers spawn
/// all pieces but one and compute that one in `body`. A panic in a task is
/// re-raised here, for the NIF guard to turn into an Elixir exception.
pub fn scope<'s, R>(body: impl FnOnce(&Scope<'s>) -> R) -> R {
    num_threads();
    crate::workers::scope(body)
}

/// `f(0) .. f(n - 1)`, computed in parallel on the workers, in order.
pub fn map_tasks<R: Send>(n: usize, f: impl Fn(usize) -> R + Sync) -> Vec<R> {
    let mut slots: Vec<Option<R>> = (0..n).map(|_| None).collect();
    scope(|s| {
        let f = &f;
        let Some((first, rest)) = slots.split_first_mut() else {
            return;
        };
        for (i, slot) in rest.iter_mut().enumerate() {
            s.spawn(move || *slot = Some(f(i + 1)));
        }
        *first = Some(f(0));
    });
    // `scope` returns only after every task ran or re-raises its panic.
    slots.into_iter().map(|r| r.expect("every task ran")).collect()
}

/// How many chunks to cut `len` units of work into, given that each chunk
/// should hold at least `grain` units.
pub fn chunk_count(len: usize, grain: usize) -> usize {
    (len / grain.max(1)).clamp(1, num_threads())
}

/// Calls `f(offset, chunk)` over disjoint chunks of `out` that together cover
/// it, in parallel when `out` has at least `2 * grain` elements. `offset` is
/// the index of the chunk's first element in `out`.
pub fn for_each_chunk_mut<U: Send>(out: &mut [U], grain: usize, f: impl Fn(usize, &mut [U]) + Sync) {
    let chunks = chunk_count(out.len(), grain);
    if chunks <= 1 {
        f(0, out);
        return;
    }
    let per = out.len().div_ceil(chunks);
    scope(|s| {
        let f = &f;
        let mut chunks = out.chunks_mut(per).enumerate();
        let first = chunks.next();
        for (i, chunk) in chunks {
            s.spawn(move || f(i * per, chunk));
        }
        if let Some((_, chunk)) = first {
            f(0, chunk);
        }
    });
}

/// Builds a vector of `n` values without zero-filling it first: each
/// thread's chunk is computed `block` values at a time by `f(state,
/// offset, values)` into a small buffer and copied into the result, where
/// `state` comes from `init()` once per chunk (scratch space) and `offset`
/// is the index of `values[0]`. For outputs larger than the cache, the
/// zero-fill this skips is a full extra pass over memory (a quarter of an
/// elementwise op's time on 2^20 f32).
pub fn build_vec<C: Copy + Default + Send + Sync, S>(
    n: usize,
    grain: usize,
    block: usize,
    init: impl Fn() -> S + Sync,
    f: impl Fn(&mut S, usize, &mut [C]) + Sync,
) -> Vec<C> {
    let block = block.clamp(1, n.max(1));
    let mut out = Box::<[C]>::new_uninit_slice(n);
    for_each_chunk_mut(&mut out, grain, |offset, chunk| {
        let mut state = init();
        let mut values = vec![C::default(); block];
        for (b, dst) in chunk.chunks_mut(block).enumerate() {
            let values = &mut values[..dst.len()];
            f(&mut state, offset + b * block, values);
            for (d, &v) in dst.iter_mut().zip(values.iter()) {
                d.write(v);
            }
        }
    });
    // SAFETY: the chunks cover the output and every element was written.
    unsafe { out.assume_init() }.into_vec()
}

/// Maps `input` into `out` (same length) with `f` applied chunk by chunk,
/// in parallel for large inputs.
pub fn map_chunks<T: Sync, U: Send>(
    input: &[T],
    out: &mut [U],
    grain: usize,
    f: impl Fn(&[T], &mut [U]) + Sync,
) {
    debug_assert_eq!(input.len(), out.len());
    for_each_chunk_mut(out, grain, |offset, chunk| {
        f(&input[offset..offset + chunk.len()], chunk)
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn covers_every_element_once() {
        let input: Vec<u32> = (0..300_000).collect();
        let mut out = vec![0u32; input.len()];
        map_chunks(&input, &mut out, 1000, |i, o| {
            for (a, b) in i.iter().zip(o.iter_mut()) {
                *b = a + 1;
            }
        });
        assert!(out.iter().enumerate().all(|(i, &v)| v == i as u32 + 1));
    }

    #[test]
    fn small_and_empty_inputs() {
        let mut out: Vec<u8> = vec![];
        for_each_chunk_mut(&mut out, 10, |_, c| assert!(c.is_empty()));
        assert_eq!(chunk_count(5, 10), 1);
    }

    #[test]
    fn map_tasks_keeps_order() {
        assert_eq!(map_tasks(5, |i| i * i), vec![0, 1, 4, 9, 16]);
        assert!(map_tasks(0, |i| i).is_empty());
    }

    #[test]
    fn a_panicking_task_reaches_the_caller() {
        let caught = std::panic::catch_unwind(|| map_tasks(3, |i| assert_ne!(i, 1, "task 1 fails")));
        assert!(caught.is_err());
        // The pool survives and still runs work.
        assert_eq!(map_tasks(2, |i| i + 1), vec![1, 2]);
    }
}
