//! CPU hardware and software counters (perf_event_open).

use super::procroot::ProcRoot;
use crate::model::{Note, perf::PerfSample};

pub struct PerfCollector {
    _root: ProcRoot,
}

impl PerfCollector {
    pub fn new(root: &ProcRoot) -> Self {
        PerfCollector {
            _root: root.clone(),
        }
    }

    pub fn sample(&mut self, _notes: &mut Vec<Note>) -> PerfSample {
        PerfSample::default()
    }
}
