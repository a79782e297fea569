//! Tables derived from a snapshot on first use and kept for the next reader: per-task,
//! per-socket, per-cache and per-counter rates and the USE verdicts. Each is computed at
//! most once while kept; the timeline lets them go when the snapshot is no longer viewed,
//! so a ring of 600 snapshots holds the tables of the one on screen, not 600 of each.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use super::detail::DetailRates;
use super::perf::PerfTasks;
use super::slab::SlabRate;
use super::sockets::SockRate;
use super::tasks::TaskRate;
use super::thresholds::Thresholds;
use super::verdict::Verdict;

/// A derived table, shared by its readers. An `Arc<Vec<_>>` rather than an `Arc<[_]>`:
/// turning the derived `Vec` into a slice would copy every row once more.
pub type Table<T> = Arc<Vec<T>>;

/// One lazily computed value, shared by cloning (the values are `Arc`s or small).
pub struct Memo<T> {
    slot: Mutex<Option<T>>,
}

impl<T> Default for Memo<T> {
    fn default() -> Self {
        Memo {
            slot: Mutex::new(None),
        }
    }
}

impl<T: Clone> Memo<T> {
    /// The kept value, or `f()` computed now and kept. `f` runs under this memo's lock, so
    /// two readers never derive the same table twice.
    fn get_or(&self, held: &AtomicBool, f: impl FnOnce() -> T) -> T {
        // A panic while deriving leaves the slot empty, never half-written: the value is
        // stored only after `f` returns, so a poisoned lock is safe to take over.
        let mut slot = self.slot.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(v) = slot.as_ref() {
            return v.clone();
        }
        let v = f();
        *slot = Some(v.clone());
        held.store(true, Ordering::Release);
        v
    }

    /// Like `get_or`, but a kept value counts only if `fresh` accepts it.
    fn get_if(&self, held: &AtomicBool, fresh: impl Fn(&T) -> bool, f: impl FnOnce() -> T) -> T {
        let mut slot = self.slot.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(v) = slot.as_ref().filter(|v| fresh(v)) {
            return v.clone();
        }
        let v = f();
        *slot = Some(v.clone());
        held.store(true, Ordering::Release);
        v
    }

    fn clear(&self) {
        *self.slot.lock().unwrap_or_else(PoisonError::into_inner) = None;
    }

    fn is_set(&self) -> bool {
        self.slot
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .is_some()
    }
}

impl<T: Clone> Clone for Memo<T> {
    fn clone(&self) -> Self {
        Memo {
            slot: Mutex::new(
                self.slot
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .clone(),
            ),
        }
    }
}

/// The derived tables of one snapshot, each computed on first use.
#[derive(Default)]
pub struct Derived {
    /// Set when any table is kept, so a sweep over the ring skips the empty ones cheaply.
    held: AtomicBool,
    pub(super) tasks: Memo<Table<TaskRate>>,
    pub(super) threads: Memo<Option<Table<TaskRate>>>,
    pub(super) sockets: Memo<Table<SockRate>>,
    pub(super) slab: Memo<Table<SlabRate>>,
    pub(super) perf: Memo<Arc<PerfTasks>>,
    pub(super) detail: Memo<Option<Arc<DetailRates>>>,
    /// The verdicts with the thresholds they were judged against (boxed: every snapshot
    /// carries this slot, and thresholds are 256 bytes).
    pub(super) verdicts: Memo<(Box<Thresholds>, Option<usize>, Table<Verdict>)>,
}

impl Derived {
    pub(super) fn get<T: Clone>(&self, memo: &Memo<T>, f: impl FnOnce() -> T) -> T {
        memo.get_or(&self.held, f)
    }

    pub(super) fn get_if<T: Clone>(
        &self,
        memo: &Memo<T>,
        fresh: impl Fn(&T) -> bool,
        f: impl FnOnce() -> T,
    ) -> T {
        memo.get_if(&self.held, fresh, f)
    }

    /// True when some table may be kept.
    pub fn held(&self) -> bool {
        self.held.load(Ordering::Acquire)
    }

    /// Drops every kept table; the next reader derives it again.
    pub fn clear(&self) {
        // Cleared before the slots: a table stored meanwhile sets it again and is caught
        // by the next sweep.
        if !self.held.swap(false, Ordering::AcqRel) {
            return;
        }
        self.tasks.clear();
        self.threads.clear();
        self.sockets.clear();
        self.slab.clear();
        self.perf.clear();
        self.detail.clear();
        self.verdicts.clear();
    }

    /// How many tables are kept (for tests and the memory benchmark).
    pub fn kept(&self) -> usize {
        [
            self.tasks.is_set(),
            self.threads.is_set(),
            self.sockets.is_set(),
            self.slab.is_set(),
            self.perf.is_set(),
            self.detail.is_set(),
            self.verdicts.is_set(),
        ]
        .into_iter()
        .filter(|&b| b)
        .count()
    }
}

impl Clone for Derived {
    fn clone(&self) -> Self {
        Derived {
            held: AtomicBool::new(self.held()),
            tasks: self.tasks.clone(),
            threads: self.threads.clone(),
            sockets: self.sockets.clone(),
            slab: self.slab.clone(),
            perf: self.perf.clone(),
            detail: self.detail.clone(),
            verdicts: self.verdicts.clone(),
        }
    }
}

impl std::fmt::Debug for Derived {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Derived {{ kept: {} }}", self.kept())
    }
}
