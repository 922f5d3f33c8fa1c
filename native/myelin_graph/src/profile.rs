//! An opt-in profile of graph runs: the time each step of an execution
//! plan takes, summed per op and output shape over every run in the process
//! (training steps, predictions, `jit` calls), to find where a model's time
//! goes without an external profiler.
//!
//! Off by default; while off a run pays one relaxed atomic load. While on,
//! each step also reads the clock twice, formats its label and updates one
//! table entry under a lock (about a microsecond, against the tens of
//! microseconds and more of the steps worth profiling).

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

static ENABLED: AtomicBool = AtomicBool::new(false);
static TABLE: Mutex<Option<Profile>> = Mutex::new(None);

/// What a stopped profile holds.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Profile {
    /// Graph runs completed while the profile was on.
    pub runs: u64,
    /// Per kind of step, largest total first (from [`stop`]).
    pub steps: Vec<StepTotal>,
    by_label: HashMap<String, StepTotal>,
}

/// The summed time of one kind of step.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StepTotal {
    /// The step: op name (or `fused(op, ...)` for a fused chain) and output shape.
    pub label: String,
    /// How many times it ran.
    pub calls: u64,
    /// Its total wall-clock time, in nanoseconds.
    pub nanos: u64,
}

/// Whether steps are being timed.
#[inline]
pub fn enabled() -> bool {
    ENABLED.load(Ordering::Relaxed)
}

/// Starts timing steps, from an empty table.
pub fn start() {
    // The flag changes under the table's lock, so concurrent starts and
    // stops cannot leave it on with no table.
    let mut table = table();
    table.replace(Profile::default());
    ENABLED.store(true, Ordering::Relaxed);
}

/// Stops timing and returns the profile, steps largest first (empty if
/// the profile was not started).
pub fn stop() -> Profile {
    let taken = {
        let mut table = table();
        ENABLED.store(false, Ordering::Relaxed);
        table.take()
    };
    let mut profile = taken.unwrap_or_default();
    let mut steps: Vec<StepTotal> = std::mem::take(&mut profile.by_label).into_values().collect();
    steps.sort_by(|a, b| b.nanos.cmp(&a.nanos).then_with(|| a.label.cmp(&b.label)));
    profile.steps = steps;
    profile
}

/// Counts one completed graph run.
pub(crate) fn record_run() {
    if let Some(profile) = table().as_mut() {
        profile.runs += 1;
    }
}

/// Adds one run of the step `label` names (the executor's steps, and work
/// around a run such as a trainer's optimizer update).
pub fn record(label: String, elapsed: Duration) {
    let nanos = u64::try_from(elapsed.as_nanos()).unwrap_or(u64::MAX);
    let mut table = table();
    // A run that started before `stop` may finish after it: drop it.
    let Some(profile) = table.as_mut() else { return };
    let entry = profile
        .by_label
        .entry(label)
        .or_insert_with_key(|label| StepTotal {
            label: label.clone(),
            calls: 0,
            nanos: 0,
        });
    entry.calls += 1;
    entry.nanos = entry.nanos.saturating_add(nanos);
}

fn table() -> MutexGuard<'static, Option<Profile>> {
    // Nothing panics while holding the lock; recover rather than abort.
    TABLE.lock().unwrap_or_else(|e| e.into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The table is global, so one test drives the whole cycle; other
    /// tests' graph runs may land in it meanwhile, so only this test's
    /// labels are looked at.
    #[test]
    fn totals_sum_per_label_and_reset_on_start() {
        let ours = |profile: Profile| -> Vec<(String, u64, u64)> {
            profile
                .steps
                .into_iter()
                .filter(|t| t.label.starts_with("test:"))
                .map(|t| (t.label, t.calls, t.nanos))
                .collect()
        };
        record("test: before".into(), Duration::from_micros(5));
        start();
        assert!(enabled());
        record("test: conv [2, 3]".into(), Duration::from_micros(30));
        record("test: add [2]".into(), Duration::from_micros(10));
        record("test: conv [2, 3]".into(), Duration::from_micros(20));
        record_run();
        let profile = stop();
        assert!(profile.runs >= 1, "runs are counted");
        let totals = ours(profile);
        assert!(!enabled());
        let expected = [("test: conv [2, 3]", 2, 50_000), ("test: add [2]", 1, 10_000)];
        let expected: Vec<(String, u64, u64)> =
            expected.iter().map(|&(l, c, n)| (l.to_string(), c, n)).collect();
        assert_eq!(totals, expected, "largest first; nothing from before start");
        record("test: late".into(), Duration::from_micros(1));
        assert!(ours(stop()).is_empty(), "a stopped profile keeps nothing");
        start();
        assert!(ours(stop()).is_empty(), "start empties the table");
    }
}
