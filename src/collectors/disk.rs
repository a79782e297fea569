//! Block devices (/proc/diskstats) and PSI io.

use super::procroot::ProcRoot;
use crate::model::{Note, disk::DiskSample};

pub struct DiskCollector {
    _root: ProcRoot,
}

impl DiskCollector {
    pub fn new(root: &ProcRoot) -> Self {
        DiskCollector {
            _root: root.clone(),
        }
    }

    pub fn sample(&mut self, _notes: &mut Vec<Note>) -> DiskSample {
        DiskSample::default()
    }
}
