//! The worker threads behind [`crate::parallel::scope`]: a fixed set of
//! threads that take spawned pieces of work from one shared queue.
//!
//! Why not rayon's pool (used until 2026-11-23): an idle rayon worker
//! sleeps after a few dozen `yield`s, about 20 µs, and waking a sleeping
//! thread on a virtual machine costs 30-60 µs (p90 over 100 µs, measured
//! here: `MYELIN_NUM_THREADS=2`, the caller busy alone for 50 µs, then a
//! spawned task started 41 µs later at the median). A training step
//! alternates short single-threaded stretches with parallel products of
//! 100-200 µs, so nearly every product started with its second half that
//! much late: the MLP's forward product took 0.20 ms in a step against
//! 0.15 ms alone. Workers here spin for [`spin_time`] after their last
//! piece before they sleep, as OpenMP's workers do, so the next op of a
//! step finds them awake.
//!
//! The caller of a scope computes its own piece, then runs its pieces
//! still queued itself rather than wait for a worker to wake, so a scope
//! never waits on a sleeping thread, and a piece that opens a scope of its
//! own (nested parallelism) cannot deadlock. Once none of its pieces is
//! left in the queue, the caller spins as a worker does, then parks until
//! the last one finishes.

use std::any::Any;
use std::collections::VecDeque;
use std::marker::PhantomData;
use std::panic::{catch_unwind, resume_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Condvar, Mutex, MutexGuard, OnceLock};
use std::thread::Thread;
use std::time::{Duration, Instant};

/// A queued piece of work and the scope that spawned it (its address,
/// only compared). Its true lifetime is its scope's: [`Scope`] does not
/// return before every piece it queued has run.
struct Job {
    scope: usize,
    run: Box<dyn FnOnce() + Send + 'static>,
}

/// How long an idle worker keeps looking for work before it sleeps:
/// `MYELIN_WORKER_SPIN_US` microseconds (default 300; 0 sleeps at once).
/// Long enough to span the single-threaded stretches of a training step
/// (the next batch's gather, the loss, the bias gradients), short enough
/// that an idle library costs nothing measurable.
pub fn spin_time() -> Duration {
    static SPIN: OnceLock<Duration> = OnceLock::new();
    *SPIN.get_or_init(|| {
        let us = std::env::var("MYELIN_WORKER_SPIN_US")
            .ok()
            .and_then(|v| v.parse::<u64>().ok())
            .unwrap_or(300);
        Duration::from_micros(us)
    })
}

struct Queue {
    jobs: Mutex<VecDeque<Job>>,
    /// `jobs.len()`, readable without the lock by spinning workers.
    queued: AtomicUsize,
    /// Signals sleeping workers that a job was queued.
    wake: Condvar,
}

impl Queue {
    fn lock(&self) -> MutexGuard<'_, VecDeque<Job>> {
        // A job never runs under the lock, so the lock cannot be poisoned
        // by a panicking job; recover anyway rather than panic.
        self.jobs.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn push(&self, job: Job) {
        let mut jobs = self.lock();
        jobs.push_back(job);
        self.queued.store(jobs.len(), Ordering::Release);
        drop(jobs);
        self.wake.notify_one();
    }

    /// The oldest job of scope `only`, or of any scope when None.
    fn pop(&self, only: Option<usize>) -> Option<Job> {
        if self.queued.load(Ordering::Acquire) == 0 {
            return None;
        }
        let mut jobs = self.lock();
        let at = match only {
            None => 0,
            Some(scope) => jobs.iter().position(|j| j.scope == scope)?,
        };
        let job = jobs.remove(at);
        self.queued.store(jobs.len(), Ordering::Release);
        job
    }
}

fn queue() -> &'static Queue {
    static QUEUE: OnceLock<Queue> = OnceLock::new();
    QUEUE.get_or_init(|| Queue {
        jobs: Mutex::new(VecDeque::new()),
        queued: AtomicUsize::new(0),
        wake: Condvar::new(),
    })
}

/// Starts `count` workers (once; later calls do nothing). A worker that
/// cannot be spawned is skipped: its share is then done by callers.
pub(crate) fn start(count: usize) {
    static STARTED: OnceLock<()> = OnceLock::new();
    STARTED.get_or_init(|| {
        for i in 0..count {
            let _ = std::thread::Builder::new()
                .name(format!("myelin-worker-{i}"))
                .spawn(work);
        }
    });
}

fn work() {
    let q = queue();
    loop {
        if let Some(job) = q.pop(None) {
            (job.run)();
            continue;
        }
        let idle = Instant::now();
        let mut spins = 0u32;
        while q.queued.load(Ordering::Acquire) == 0 && idle.elapsed() < spin_time() {
            std::hint::spin_loop();
            spins = spins.wrapping_add(1);
            if spins.is_multiple_of(256) {
                // Let another thread of this core run (the BEAM's own
                // schedulers spin on the same cores).
                std::thread::yield_now();
            }
        }
        let mut jobs = q.lock();
        while jobs.is_empty() {
            jobs = q.wake.wait(jobs).unwrap_or_else(|e| e.into_inner());
        }
    }
}

/// Pieces of work that may borrow from the caller's stack (lifetime `'s`),
/// spawned onto the workers by [`Scope::spawn`]; see [`scope`].
pub struct Scope<'s> {
    /// Pieces spawned and not yet finished.
    running: AtomicUsize,
    /// The first panic of a piece, re-raised by [`scope`].
    panic: Mutex<Option<Box<dyn Any + Send>>>,
    /// The caller, woken by the piece that finishes last.
    caller: Thread,
    _borrows: PhantomData<&'s mut &'s ()>,
}

impl<'s> Scope<'s> {
    /// Queues `f` for a worker (or the caller, see [`scope`]).
    pub fn spawn(&self, f: impl FnOnce() + Send + 's) {
        self.running.fetch_add(1, Ordering::AcqRel);
        let this = self as *const Scope<'s> as usize;
        let caller = self.caller.clone();
        let run: Box<dyn FnOnce() + Send + 's> = Box::new(move || {
            let outcome = catch_unwind(AssertUnwindSafe(f));
            // SAFETY: `scope` keeps the Scope alive until `running` is 0,
            // and the decrement below is the piece's last use of it.
            let scope = unsafe { &*(this as *const Scope<'s>) };
            if let Err(p) = outcome {
                let mut first = scope.panic.lock().unwrap_or_else(|e| e.into_inner());
                if first.is_none() {
                    *first = Some(p);
                } else {
                    drop(first);
                    // A payload's own drop may panic; nothing may unwind
                    // past the decrement below.
                    let _ = catch_unwind(AssertUnwindSafe(move || drop(p)));
                }
            }
            if scope.running.fetch_sub(1, Ordering::AcqRel) == 1 {
                caller.unpark();
            }
        });
        // SAFETY: only the lifetime changes. `scope` does not return (nor
        // unwind) before this job has run, so what it borrows outlives it.
        let run =
            unsafe { std::mem::transmute::<Box<dyn FnOnce() + Send + 's>, Box<dyn FnOnce() + Send>>(run) };
        queue().push(Job { scope: this, run });
    }
}

/// Runs `body` on the calling thread with a [`Scope`] whose spawned pieces
/// run on the workers, and returns once every piece has finished. While
/// its pieces are unfinished the caller runs those still queued itself
/// (never another caller's: a short op does not wait behind someone else's
/// long one), then spins for up to [`spin_time`] and parks until the last
/// one finishes. A panic in `body` or in a piece is re-raised here after
/// all pieces finished.
pub fn scope<'s, R>(body: impl FnOnce(&Scope<'s>) -> R) -> R {
    let s = Scope {
        running: AtomicUsize::new(0),
        panic: Mutex::new(None),
        caller: std::thread::current(),
        _borrows: PhantomData,
    };
    let result = catch_unwind(AssertUnwindSafe(|| body(&s)));
    let q = queue();
    let me = &s as *const Scope<'s> as usize;
    let mut waiting = Instant::now();
    let mut spins = 0u32;
    while s.running.load(Ordering::Acquire) > 0 {
        if let Some(job) = q.pop(Some(me)) {
            (job.run)();
            // The workers' pieces may end any moment now: spin afresh.
            waiting = Instant::now();
        } else if waiting.elapsed() < spin_time() {
            // As long as a worker would: waking a parked thread costs
            // 30-60 µs on a VM, more than most pieces' imbalance.
            std::hint::spin_loop();
            spins = spins.wrapping_add(1);
            if spins.is_multiple_of(256) {
                std::thread::yield_now();
            }
        } else {
            // Woken by the last piece; the timeout only bounds a wake-up
            // that raced with this check.
            std::thread::park_timeout(Duration::from_millis(1));
        }
    }
    if let Some(p) = s.panic.lock().unwrap_or_else(|e| e.into_inner()).take() {
        resume_unwind(p);
    }
    result.unwrap_or_else(|p| resume_unwind(p))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicU64;

    fn started() {
        crate::parallel::num_threads();
    }

    #[test]
    fn every_piece_runs_before_scope_returns() {
        started();
        let mut out = vec![0u64; 64];
        scope(|s| {
            for (i, slot) in out.iter_mut().enumerate() {
                s.spawn(move || *slot = i as u64 * 3);
            }
        });
        assert!(out.iter().enumerate().all(|(i, &v)| v == i as u64 * 3));
    }

    #[test]
    fn a_sleeping_worker_wakes_for_a_piece() {
        started();
        for _ in 0..3 {
            // Past the spin time: the workers are asleep on the condvar.
            std::thread::sleep(spin_time() + Duration::from_millis(2));
            let (to_body, from_piece) = std::sync::mpsc::channel();
            let (to_piece, from_body) = std::sync::mpsc::channel::<()>();
            scope(|s| {
                s.spawn(move || {
                    to_body.send(()).unwrap();
                    let _ = from_body.recv_timeout(Duration::from_secs(1));
                });
                // The caller cannot run the piece while it waits here: only
                // a worker can.
                let met = from_piece.recv_timeout(Duration::from_secs(1));
                let _ = to_piece.send(());
                assert!(met.is_ok(), "no worker ran the piece");
            });
        }
    }

    #[test]
    fn a_panicking_piece_is_reraised_after_the_others_finished() {
        started();
        let done = AtomicU64::new(0);
        let caught = catch_unwind(AssertUnwindSafe(|| {
            scope(|s| {
                for i in 0..8 {
                    let done = &done;
                    s.spawn(move || {
                        if i == 3 {
                            panic!("piece 3 failed");
                        }
                        std::thread::sleep(Duration::from_millis(2));
                        done.fetch_add(1, Ordering::SeqCst);
                    });
                }
            })
        }));
        let message = caught.unwrap_err();
        assert_eq!(message.downcast_ref::<&str>(), Some(&"piece 3 failed"));
        assert_eq!(done.load(Ordering::SeqCst), 7);
    }

    #[test]
    fn a_panicking_body_waits_for_its_pieces() {
        started();
        let done = AtomicU64::new(0);
        let caught = catch_unwind(AssertUnwindSafe(|| {
            scope(|s| {
                let done = &done;
                s.spawn(move || {
                    std::thread::sleep(Duration::from_millis(5));
                    done.fetch_add(1, Ordering::SeqCst);
                });
                panic!("body failed");
            })
        }));
        assert!(caught.is_err());
        assert_eq!(done.load(Ordering::SeqCst), 1);
    }

    #[test]
    fn nested_scopes_and_concurrent_callers_finish() {
        started();
        let total = AtomicU64::new(0);
        std::thread::scope(|threads| {
            for _ in 0..4 {
                threads.spawn(|| {
                    scope(|outer| {
                        for _ in 0..4 {
                            let total = &total;
                            outer.spawn(move || {
                                scope(|inner| {
                                    for _ in 0..4 {
                                        inner.spawn(move || {
                                            total.fetch_add(1, Ordering::SeqCst);
                                        });
                                    }
                                });
                            });
                        }
                    });
                });
            }
        });
        assert_eq!(total.load(Ordering::SeqCst), 4 * 4 * 4);
    }
}
