//! Where samples come from: the collectors on a /proc tree (live and headless), or a
//! recording (replay). Whatever the source, the app derives and draws them the same way.

use std::time::Duration;

use crate::collectors::{Clock, Collectors, ProcRoot, Request, SystemClock, VirtualClock};
use crate::model::Sample;

pub trait SampleSource {
    /// The sample for frame `frame` (0-based), or `None` when the source is exhausted.
    fn next_sample(&mut self, frame: usize, req: Request) -> Option<Sample>;

    /// An extra sample one interval later, before frame `frame`'s own (headless `Tick`):
    /// the state the previous frame showed, as it would read a moment later. `None` where a
    /// source cannot make one (a recording has only what was recorded).
    fn tick(&mut self, _frame: usize, _req: Request) -> Option<Sample> {
        None
    }
}

/// Collectors over a sequence of roots (one per frame, the last repeating), on the real
/// clock (sleeping between frames) or a virtual one (advanced by the interval, no sleep).
pub struct RootsSource {
    roots: Vec<ProcRoot>,
    collectors: Vec<Collectors>,
    interval: Duration,
    vclock: Option<VirtualClock>,
    /// Samples taken so far: every one after the first is an interval after the last.
    taken: usize,
}

impl RootsSource {
    pub fn new(roots: Vec<ProcRoot>, interval: Duration, virtual_clock: bool) -> RootsSource {
        let roots = if roots.is_empty() {
            vec![ProcRoot::default()]
        } else {
            roots
        };
        RootsSource {
            roots,
            collectors: Vec::new(),
            interval,
            vclock: virtual_clock.then(VirtualClock::new),
            taken: 0,
        }
    }

    /// A sample of root `i` (the last repeating), one interval after the previous sample.
    fn take(&mut self, i: usize, req: Request) -> Sample {
        if self.taken > 0 {
            match self.vclock.as_mut() {
                Some(v) => v.advance(self.interval),
                None => std::thread::sleep(self.interval),
            }
        }
        self.taken += 1;
        let i = i.min(self.roots.len() - 1);
        // One collector per root: each fake tree is its own "machine state" at that time,
        // but the task cache must carry over, so collectors are created lazily and reused.
        while self.collectors.len() <= i {
            let root = self.roots[self.collectors.len()].clone();
            self.collectors.push(Collectors::new(root));
        }
        let clock: &dyn Clock = match &self.vclock {
            Some(v) => v,
            None => &SystemClock,
        };
        self.collectors[i].sample(clock, req)
    }
}

impl SampleSource for RootsSource {
    fn next_sample(&mut self, frame: usize, req: Request) -> Option<Sample> {
        Some(self.take(frame, req))
    }

    fn tick(&mut self, frame: usize, req: Request) -> Option<Sample> {
        Some(self.take(frame.saturating_sub(1), req))
    }
}

/// Samples already in memory (a loaded recording, a test).
impl SampleSource for std::vec::IntoIter<Sample> {
    fn next_sample(&mut self, _frame: usize, _req: Request) -> Option<Sample> {
        self.next()
    }
}
