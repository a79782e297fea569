//! Kernel slab caches (/proc/slabinfo).

use super::procroot::ProcRoot;
use crate::model::{Note, slab::SlabSample};

pub struct SlabCollector {
    _root: ProcRoot,
}

impl SlabCollector {
    pub fn new(root: &ProcRoot) -> Self {
        SlabCollector {
            _root: root.clone(),
        }
    }

    pub fn sample(&mut self, _notes: &mut Vec<Note>) -> SlabSample {
        SlabSample::default()
    }
}
