//! The timeline: the ring of derived snapshots, the previous raw sample that the next one is
//! derived against, and the cursor that pausing and time travel move. Live, headless,
//! replay, dump and serve all push samples through it, so derive runs in one place.
//!
//! Snapshots keep the tables derived from them (per task, per socket, the USE verdicts…)
//! for their next reader. Whenever the viewed snapshot changes, the timeline makes every
//! other snapshot drop them: the ring holds the tables of one snapshot, not of 600.

use std::sync::Arc;

use crate::model::{Sample, Snapshot};
use crate::ring::Ring;

pub struct Timeline {
    ring: Ring<Arc<Snapshot>>,
    /// The raw sample the next one is derived against.
    last: Option<Arc<Sample>>,
    /// Sequence number being viewed while paused; `None` follows the newest snapshot.
    cursor: Option<u64>,
}

impl Timeline {
    /// A timeline keeping the last `history` snapshots (at least 2).
    pub fn new(history: usize) -> Timeline {
        Timeline {
            ring: Ring::new(history),
            last: None,
            cursor: None,
        }
    }

    /// Derives a snapshot from the new sample and the previous one, stores it and returns it.
    pub fn push(&mut self, sample: Sample) -> Arc<Snapshot> {
        let cur = Arc::new(sample);
        let seq = self.ring.next_seq();
        let snap = Arc::new(Snapshot::derive(seq, self.last.take(), Arc::clone(&cur)));
        self.last = Some(cur);
        self.ring.push(Arc::clone(&snap));
        // A paused cursor that fell off the old end of the ring moves to the oldest kept.
        if let (Some(c), Some(oldest)) = (self.cursor, self.ring.oldest_seq())
            && c < oldest
        {
            self.cursor = Some(oldest);
        }
        self.forget_unviewed();
        snap
    }

    /// Drops the derived tables of every snapshot but the viewed one. A flag per snapshot
    /// makes this a pass of atomic loads over the ring when nothing else holds any.
    fn forget_unviewed(&self) {
        let viewed = self.snapshot().map(|s| s.seq);
        for s in self.iter() {
            if Some(s.seq) != viewed && s.holds_derived() {
                s.forget_derived();
            }
        }
    }

    /// The snapshot being viewed: the paused cursor's, or the newest.
    pub fn snapshot(&self) -> Option<&Arc<Snapshot>> {
        match self.cursor {
            Some(seq) => self.ring.get(seq).or_else(|| self.ring.latest()),
            None => self.ring.latest(),
        }
    }

    pub fn latest(&self) -> Option<&Arc<Snapshot>> {
        self.ring.latest()
    }

    pub fn paused(&self) -> bool {
        self.cursor.is_some()
    }

    pub fn cursor(&self) -> Option<u64> {
        self.cursor
    }

    pub fn len(&self) -> usize {
        self.ring.len()
    }

    pub fn is_empty(&self) -> bool {
        self.ring.is_empty()
    }

    /// Pauses on the newest snapshot, or resumes following the newest.
    pub fn toggle_pause(&mut self) {
        self.cursor = match self.cursor {
            Some(_) => None,
            None => self.ring.latest_seq(),
        };
        self.forget_unviewed();
    }

    /// Pauses on a given snapshot (clamped to what is stored).
    pub fn pause_at(&mut self, seq: u64) {
        let (Some(lo), Some(hi)) = (self.ring.oldest_seq(), self.ring.latest_seq()) else {
            return;
        };
        self.cursor = Some(seq.clamp(lo, hi));
        self.forget_unviewed();
    }

    /// Moves a paused cursor `by` snapshots (negative: older); pauses first when live.
    pub fn step(&mut self, by: i64) {
        let (Some(lo), Some(hi)) = (self.ring.oldest_seq(), self.ring.latest_seq()) else {
            return;
        };
        let cur = self.cursor.unwrap_or(hi);
        self.cursor = Some(cur.saturating_add_signed(by).clamp(lo, hi));
        self.forget_unviewed();
    }

    /// Pauses on the stored snapshot nearest the wall clock `wall_ms` in one direction: the
    /// first at or after it (`later`), else the last at or before it; the newest / oldest
    /// when none is that far. Returns whether a snapshot after a gap in the recording
    /// (`Sample::gap_before`) lies between the old view and the new one (the new included,
    /// the old not), and whether the move stopped short at the end of what is stored.
    pub fn seek_wall(&mut self, wall_ms: i64, later: bool) -> (bool, bool) {
        let Some(from) = self.snapshot().map(|s| s.seq) else {
            return (false, false);
        };
        let found = if later {
            self.iter().find(|s| s.cur.wall_ms >= wall_ms)
        } else {
            self.iter().filter(|s| s.cur.wall_ms <= wall_ms).last()
        };
        let short = found.is_none();
        let to = match found {
            Some(s) => s.seq,
            None if later => self.ring.latest_seq().unwrap_or(from),
            None => self.ring.oldest_seq().unwrap_or(from),
        };
        let (lo, hi) = if to >= from {
            (from + 1, to)
        } else {
            (to + 1, from)
        };
        let crossed = self
            .iter()
            .any(|s| (lo..=hi).contains(&s.seq) && s.cur.gap_before);
        self.cursor = Some(to);
        self.forget_unviewed();
        (crossed, short)
    }

    /// Jumps to the oldest stored snapshot.
    pub fn oldest(&mut self) {
        self.cursor = self.ring.oldest_seq();
        self.forget_unviewed();
    }

    /// Back to following the newest snapshot.
    pub fn live(&mut self) {
        self.cursor = None;
        self.forget_unviewed();
    }

    /// Every stored snapshot, oldest first.
    pub fn iter(&self) -> impl Iterator<Item = &Arc<Snapshot>> {
        self.ring.iter()
    }

    /// The `n` snapshots up to and including the viewed one, oldest first (history graphs).
    pub fn window(&self, n: usize) -> impl Iterator<Item = &Arc<Snapshot>> {
        let seq = self.snapshot().map(|s| s.seq).unwrap_or(0);
        self.ring.window(seq, if self.is_empty() { 0 } else { n })
    }

    /// Seconds between the viewed snapshot and the newest (how far back a pause looks).
    pub fn age_s(&self) -> f64 {
        match (self.snapshot(), self.latest()) {
            (Some(s), Some(l)) => l.cur.mono_ns.saturating_sub(s.cur.mono_ns) as f64 / 1e9,
            _ => 0.0,
        }
    }
}
