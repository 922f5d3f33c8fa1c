//! Splitting work across cores with scoped threads.
//!
//! Small ops run on the calling thread: spawning costs tens of microseconds,
//! more than the op itself. Above a size threshold, work is cut into one
//! contiguous chunk per core.

use std::sync::OnceLock;

/// Elements below which elementwise work stays on one thread. Spawning a
/// scoped thread costs ~20 µs; an elementwise pass over 64 Ki elements takes
/// about that long, so parallelism starts to pay above it.
pub const ELEMENTWISE_GRAIN: usize = 1 << 16;

/// The number of worker threads ops may use: `MYELIN_NUM_THREADS` if set,
/// otherwise the number of available cores.
pub fn num_threads() -> usize {
    static THREADS: OnceLock<usize> = OnceLock::new();
    *THREADS.get_or_init(|| {
        std::env::var("MYELIN_NUM_THREADS")
            .ok()
            .and_then(|v| v.parse::<usize>().ok())
            .filter(|&n| n > 0)
            .unwrap_or_else(|| std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1))
    })
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
    std::thread::scope(|scope| {
        let f = &f;
        let mut rest = out;
        let mut offset = 0;
        while rest.len() > per {
            let (head, tail) = rest.split_at_mut(per);
            scope.spawn(move || f(offset, head));
            offset += per;
            rest = tail;
        }
        // The calling thread takes the last chunk instead of idling.
        f(offset, rest);
    });
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
}
