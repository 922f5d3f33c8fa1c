//! A global allocator that keeps recently freed large buffers for reuse.
//!
//! Why: glibc hands every freed block above its mmap threshold back to the
//! OS, so a training step, which allocates the same activation and gradient
//! sizes every step, page-faults its way through fresh memory each time. On
//! the target CNN a third of a step's time was in the kernel's page-fault
//! path. mimalloc removed the faults but kept memory freed on another thread
//! (the BEAM's garbage collector drops tensors on whichever scheduler runs
//! it): the VM-safety churn test grew by 4.7 GB, so it was dropped.
//!
//! This cache sits in front of the system allocator and only touches blocks
//! of [`MIN_CACHED`] to [`MAX_CACHED`] bytes. Their sizes are rounded up to a size
//! class (at most 1/16 larger), a freed block waits in one of [`SLOTS`]
//! slots, and an allocation of the same class and alignment takes the most
//! recently freed one. The cache is bounded: it holds at most
//! `MYELIN_BUFFER_CACHE_MB` megabytes (default [`DEFAULT_CAP_MB`]; 0 turns it
//! off), evicting the oldest block first, and a block idle for more than
//! [`IDLE_SECS`] seconds goes back to the OS at the next large allocation or
//! free. [`BufferCache::release`] empties it.

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, MutexGuard};
use std::time::{SystemTime, UNIX_EPOCH};

/// The smallest block the cache keeps; smaller ones go straight to the
/// system allocator, which serves them from its heap without faults.
///
/// It sits just below glibc's default mmap threshold (128 KiB). Inside the
/// BEAM that threshold never adapts upwards as it does in a plain program
/// (strace of a CNN training run showed the same 132 and 148 KiB blocks,
/// `gemm`'s packing buffers, mapped and unmapped about 250 times a step),
/// so every block from there up costs an mmap, a page fault per page and
/// an munmap with its TLB shootdown unless the cache keeps it.
pub const MIN_CACHED: usize = 120 << 10;
/// The largest block the cache keeps. Larger ones are rare, their page
/// faults are small next to the work on them, and a few of them would
/// fill the cache.
pub const MAX_CACHED: usize = 32 << 20;
/// How many freed blocks the cache can hold.
pub const SLOTS: usize = 64;
/// The default bound on cached bytes, in megabytes.
pub const DEFAULT_CAP_MB: usize = 256;
/// Seconds after which an unused cached block is given back.
pub const IDLE_SECS: u64 = 5;

const CAP_UNREAD: usize = usize::MAX;

#[derive(Clone, Copy)]
struct Slot {
    /// Null when the slot is empty.
    ptr: *mut u8,
    class: usize,
    align: usize,
    /// Order of freeing (larger is more recent).
    tick: u64,
    /// Wall-clock second of freeing.
    freed_at: u64,
}

const EMPTY: Slot = Slot {
    ptr: std::ptr::null_mut(),
    class: 0,
    align: 0,
    tick: 0,
    freed_at: 0,
};

struct Slots {
    slots: [Slot; SLOTS],
    bytes: usize,
    tick: u64,
}

// The raw pointers are blocks owned by the cache alone.
unsafe impl Send for Slots {}

/// Blocks taken out of the cache under its lock, freed after unlocking.
struct Evicted {
    blocks: [(*mut u8, usize, usize); SLOTS],
    len: usize,
}

impl Evicted {
    fn new() -> Self {
        Evicted {
            blocks: [(std::ptr::null_mut(), 0, 0); SLOTS],
            len: 0,
        }
    }

    fn push(&mut self, slot: &mut Slot) {
        self.blocks[self.len] = (slot.ptr, slot.class, slot.align);
        self.len += 1;
        *slot = EMPTY;
    }

    /// Frees every evicted block.
    ///
    /// # Safety
    /// Each block must have come from `System` with its recorded class and
    /// alignment.
    unsafe fn free(self) {
        for &(ptr, class, align) in &self.blocks[..self.len] {
            System.dealloc(ptr, Layout::from_size_align_unchecked(class, align));
        }
    }
}

/// A bounded cache of large freed blocks in front of [`System`]; see the
/// module docs. Install it with `#[global_allocator]`.
pub struct BufferCache {
    slots: Mutex<Slots>,
    cap: AtomicUsize,
}

impl Default for BufferCache {
    fn default() -> Self {
        Self::new()
    }
}

impl BufferCache {
    /// An empty cache whose bound is read from the environment on first use.
    pub const fn new() -> Self {
        Self::with_cap(CAP_UNREAD)
    }

    /// An empty cache bounded to `cap` bytes (for tests and embedding).
    pub const fn with_cap(cap: usize) -> Self {
        BufferCache {
            slots: Mutex::new(Slots {
                slots: [EMPTY; SLOTS],
                bytes: 0,
                tick: 0,
            }),
            cap: AtomicUsize::new(cap),
        }
    }

    /// The bytes currently held for reuse.
    pub fn cached_bytes(&self) -> usize {
        self.lock().bytes
    }

    /// Gives every cached block back to the OS.
    pub fn release(&self) {
        let mut evicted = Evicted::new();
        {
            let mut slots = self.lock();
            for slot in slots.slots.iter_mut().filter(|s| !s.ptr.is_null()) {
                evicted.push(slot);
            }
            slots.bytes = 0;
        }
        // SAFETY: every cached block came from System with its class.
        unsafe { evicted.free() }
    }

    fn lock(&self) -> MutexGuard<'_, Slots> {
        // Nothing panics while holding the lock; recover rather than abort.
        self.slots.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn cap(&self) -> usize {
        let cap = self.cap.load(Ordering::Relaxed);
        if cap != CAP_UNREAD {
            return cap;
        }
        // Reading the environment allocates only small blocks, which never
        // reach the cache's lock.
        let mb = std::env::var("MYELIN_BUFFER_CACHE_MB")
            .ok()
            .and_then(|v| v.trim().parse::<usize>().ok())
            .unwrap_or(DEFAULT_CAP_MB);
        let cap = mb.saturating_mul(1 << 20);
        self.cap.store(cap, Ordering::Relaxed);
        cap
    }

    /// Takes a cached block of `class` and `align`, the most recently freed.
    fn take(&self, class: usize, align: usize) -> Option<*mut u8> {
        let now = now_secs();
        let mut evicted = Evicted::new();
        let found = {
            let mut slots = self.lock();
            slots.evict_idle(now, &mut evicted);
            let best = (0..SLOTS)
                .filter(|&i| {
                    let s = &slots.slots[i];
                    !s.ptr.is_null() && s.class == class && s.align == align
                })
                .max_by_key(|&i| slots.slots[i].tick);
            best.map(|i| {
                let ptr = slots.slots[i].ptr;
                slots.slots[i] = EMPTY;
                slots.bytes -= class;
                ptr
            })
        };
        // SAFETY: evicted blocks came from System with their class.
        unsafe { evicted.free() }
        found
    }

    /// Keeps a freed block; false when it does not fit (the caller frees it).
    fn put(&self, ptr: *mut u8, class: usize, align: usize) -> bool {
        let cap = self.cap();
        if class > cap {
            return false;
        }
        let now = now_secs();
        let mut evicted = Evicted::new();
        {
            let mut slots = self.lock();
            slots.evict_idle(now, &mut evicted);
            // Make room: oldest first, until the block fits and a slot is free.
            loop {
                let full = slots.slots.iter().all(|s| !s.ptr.is_null());
                if slots.bytes + class <= cap && !full {
                    break;
                }
                let oldest = (0..SLOTS)
                    .filter(|&i| !slots.slots[i].ptr.is_null())
                    .min_by_key(|&i| slots.slots[i].tick);
                let Some(i) = oldest else { break };
                slots.bytes -= slots.slots[i].class;
                evicted.push(&mut slots.slots[i]);
            }
            slots.tick += 1;
            let tick = slots.tick;
            if let Some(slot) = slots.slots.iter_mut().find(|s| s.ptr.is_null()) {
                *slot = Slot {
                    ptr,
                    class,
                    align,
                    tick,
                    freed_at: now,
                };
                slots.bytes += class;
            }
        }
        // SAFETY: evicted blocks came from System with their class.
        unsafe { evicted.free() }
        true
    }
}

impl Slots {
    fn evict_idle(&mut self, now: u64, evicted: &mut Evicted) {
        for i in 0..SLOTS {
            let slot = self.slots[i];
            if !slot.ptr.is_null() && now.saturating_sub(slot.freed_at) > IDLE_SECS {
                self.bytes -= slot.class;
                evicted.push(&mut self.slots[i]);
            }
        }
    }
}

/// The size class of a large block: rounded up to a step of 1/16 of the
/// power of two at or below it (at least a page), so nearly equal sizes
/// share blocks and no block is more than 1/16 larger than asked.
pub fn size_class(size: usize) -> usize {
    let floor_pow2 = 1usize << (usize::BITS - 1 - size.max(1).leading_zeros());
    let step = (floor_pow2 / 16).max(4096);
    size.div_ceil(step) * step
}

fn now_secs() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// Whether a block of `size` bytes goes through the cache.
#[inline]
fn cached(size: usize) -> bool {
    (MIN_CACHED..=MAX_CACHED).contains(&size)
}

/// The layout a large block really has in the system allocator.
fn class_layout(layout: Layout) -> Layout {
    // SAFETY: the class is at least the size and keeps the alignment, which
    // was valid; size classes of valid sizes do not overflow isize.
    unsafe { Layout::from_size_align_unchecked(size_class(layout.size()), layout.align()) }
}

unsafe impl GlobalAlloc for BufferCache {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if !cached(layout.size()) {
            return System.alloc(layout);
        }
        let real = class_layout(layout);
        match self.take(real.size(), real.align()) {
            Some(ptr) => ptr,
            None => System.alloc(real),
        }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        if !cached(layout.size()) {
            return System.alloc_zeroed(layout);
        }
        let real = class_layout(layout);
        match self.take(real.size(), real.align()) {
            Some(ptr) => {
                // A reused block holds old data; fresh system memory is
                // already zero (calloc skips the pass for mmapped blocks).
                std::ptr::write_bytes(ptr, 0, layout.size());
                ptr
            }
            None => System.alloc_zeroed(real),
        }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        if !cached(layout.size()) {
            return System.dealloc(ptr, layout);
        }
        let real = class_layout(layout);
        if !self.put(ptr, real.size(), real.align()) {
            System.dealloc(ptr, real);
        }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let (old, new) = (layout.size(), new_size);
        match (cached(old), cached(new)) {
            (false, false) => return System.realloc(ptr, layout, new_size),
            (true, true) if size_class(old) == size_class(new) => return ptr,
            _ => {}
        }
        let new_layout = Layout::from_size_align_unchecked(new_size, layout.align());
        let fresh = self.alloc(new_layout);
        if !fresh.is_null() {
            std::ptr::copy_nonoverlapping(ptr, fresh, old.min(new));
            self.dealloc(ptr, layout);
        }
        fresh
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MB: usize = 1 << 20;

    fn layout(size: usize) -> Layout {
        Layout::from_size_align(size, 64).unwrap()
    }

    #[test]
    fn a_freed_block_is_reused_for_the_same_size_class() {
        let cache = BufferCache::with_cap(64 * MB);
        unsafe {
            let a = cache.alloc(layout(3 * MB));
            cache.dealloc(a, layout(3 * MB));
            assert_eq!(cache.cached_bytes(), size_class(3 * MB));
            // A slightly smaller request shares the class.
            let b = cache.alloc(layout(3 * MB - 1000));
            assert_eq!(a, b);
            assert_eq!(cache.cached_bytes(), 0);
            cache.dealloc(b, layout(3 * MB - 1000));
        }
        cache.release();
        assert_eq!(cache.cached_bytes(), 0);
    }

    #[test]
    fn reused_blocks_are_zeroed_when_asked() {
        let cache = BufferCache::with_cap(64 * MB);
        unsafe {
            let a = cache.alloc(layout(MB));
            std::ptr::write_bytes(a, 0xAB, MB);
            cache.dealloc(a, layout(MB));
            let b = cache.alloc_zeroed(layout(MB));
            assert_eq!(a, b);
            let bytes = std::slice::from_raw_parts(b, MB);
            assert!(bytes.iter().all(|&x| x == 0));
            cache.dealloc(b, layout(MB));
        }
        cache.release();
    }

    #[test]
    fn the_cache_stays_within_its_bound_evicting_the_oldest() {
        let cache = BufferCache::with_cap(10 * MB);
        unsafe {
            let blocks: Vec<_> = (0..4).map(|_| cache.alloc(layout(4 * MB))).collect();
            for &b in &blocks {
                cache.dealloc(b, layout(4 * MB));
                assert!(cache.cached_bytes() <= 10 * MB);
            }
            // Two 4 MB blocks fit in 10 MB: the last two freed.
            assert_eq!(cache.cached_bytes(), 8 * MB);
            let again = cache.alloc(layout(4 * MB));
            assert_eq!(again, blocks[3]);
            cache.dealloc(again, layout(4 * MB));
            // Larger than the whole bound: not kept.
            let huge = cache.alloc(layout(11 * MB));
            cache.dealloc(huge, layout(11 * MB));
            assert!(cache.cached_bytes() <= 10 * MB);
        }
        cache.release();
        let roomy = BufferCache::with_cap(1024 * MB);
        unsafe {
            // Beyond MAX_CACHED: straight to the system allocator.
            let big = roomy.alloc(layout(MAX_CACHED + 1));
            roomy.dealloc(big, layout(MAX_CACHED + 1));
            assert_eq!(roomy.cached_bytes(), 0);
        }
        cache.release();
    }

    #[test]
    fn small_blocks_and_a_zero_bound_bypass_the_cache() {
        let off = BufferCache::with_cap(0);
        unsafe {
            let a = off.alloc(layout(MB));
            off.dealloc(a, layout(MB));
            let s = off.alloc(layout(1024));
            off.dealloc(s, layout(1024));
        }
        assert_eq!(off.cached_bytes(), 0);
    }

    #[test]
    fn realloc_keeps_the_contents_across_classes() {
        let cache = BufferCache::with_cap(64 * MB);
        unsafe {
            let a = cache.alloc(layout(1024));
            std::ptr::write_bytes(a, 7, 1024);
            let b = cache.realloc(a, layout(1024), MB);
            assert_eq!(*b.add(1023), 7);
            let c = cache.realloc(b, layout(MB), MB - 10);
            assert_eq!(b, c, "the same size class grows in place");
            let d = cache.realloc(c, layout(MB - 10), 8 * MB);
            assert_eq!(*d.add(500), 7);
            cache.dealloc(d, layout(8 * MB));
        }
        cache.release();
    }

    #[test]
    fn size_classes_round_up_by_at_most_a_sixteenth() {
        for size in [MIN_CACHED, MIN_CACHED + 1, 3 * MB + 17, 11_075_584, 100 * MB] {
            let class = size_class(size);
            assert!(
                class >= size && class - size <= size / 16 + 4096,
                "{size} -> {class}"
            );
            assert_eq!(size_class(class), class);
        }
    }
}
