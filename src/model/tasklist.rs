//! A pid-sorted list of task records stored in chunks that samples share. Chunk boundaries
//! depend only on the pids (a pid whose hash falls in 1/32 of the range ends a chunk), so a
//! task that starts, exits or changes touches only its own chunk: with 2,000 processes a
//! ring of 600 samples holds the few chunks that changed, not 600 copies of the whole list.

use std::ops::Index;
use std::sync::Arc;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::tasks::TaskRecord;

/// A chunk never grows past this, whatever the pids.
const MAX_CHUNK: usize = 128;

type Chunk = Arc<[Arc<TaskRecord>]>;

#[derive(Clone, Default)]
pub struct TaskList {
    chunks: Vec<Chunk>,
    len: usize,
}

fn key(r: &TaskRecord) -> (u32, u32) {
    (r.tgid, r.stat.pid)
}

/// About one pid in 32 ends a chunk (Knuth's multiplicative hash, top 5 bits zero).
fn ends_chunk(pid: u32) -> bool {
    pid.wrapping_mul(2_654_435_761) >> 27 == 0
}

impl TaskList {
    /// Chunks `records` (sorted by (tgid, pid)), reusing each chunk of `prev` whose records
    /// are all the same `Arc`s.
    pub fn new(records: Vec<Arc<TaskRecord>>, prev: Option<&TaskList>) -> TaskList {
        let len = records.len();
        let prev = prev.map(|p| p.chunks.as_slice()).unwrap_or(&[]);
        let mut p = 0;
        let mut chunks = Vec::with_capacity(len / 24 + 1);
        let mut start = 0;
        for i in 0..len {
            if i + 1 < len && !ends_chunk(records[i].stat.pid) && i + 1 - start < MAX_CHUNK {
                continue;
            }
            let part = &records[start..=i];
            start = i + 1;
            let first = key(&part[0]);
            while p < prev.len() && prev[p].first().is_some_and(|r| key(r) < first) {
                p += 1;
            }
            let same = prev.get(p).filter(|c| {
                c.len() == part.len() && c.iter().zip(part).all(|(a, b)| Arc::ptr_eq(a, b))
            });
            chunks.push(match same {
                Some(c) => Arc::clone(c),
                None => Arc::from(part),
            });
        }
        TaskList { chunks, len }
    }

    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    pub fn iter(&self) -> impl Iterator<Item = &Arc<TaskRecord>> + Clone {
        self.chunks.iter().flat_map(|c| c.iter())
    }

    pub fn get(&self, mut i: usize) -> Option<&Arc<TaskRecord>> {
        for c in &self.chunks {
            if i < c.len() {
                return c.get(i);
            }
            i -= c.len();
        }
        None
    }

    /// The process `pid` in a list of processes (binary search over chunks, then within one).
    pub fn find_pid(&self, pid: u32) -> Option<&Arc<TaskRecord>> {
        let after = self
            .chunks
            .partition_point(|c| c.first().is_some_and(|r| r.stat.pid <= pid));
        let c = self.chunks.get(after.checked_sub(1)?)?;
        let i = c.binary_search_by_key(&pid, |r| r.stat.pid).ok()?;
        c.get(i)
    }

    pub fn to_vec(&self) -> Vec<Arc<TaskRecord>> {
        self.iter().cloned().collect()
    }

    /// Chunks held (for tests and the memory benchmark).
    pub fn chunk_count(&self) -> usize {
        self.chunks.len()
    }

    /// True when both lists hold the very same chunk at `i` (shared, not copied).
    pub fn shares_chunk(&self, other: &TaskList, i: usize) -> bool {
        matches!((self.chunks.get(i), other.chunks.get(i)), (Some(a), Some(b)) if Arc::ptr_eq(a, b))
    }
}

impl Index<usize> for TaskList {
    type Output = Arc<TaskRecord>;

    fn index(&self, i: usize) -> &Arc<TaskRecord> {
        match self.get(i) {
            Some(r) => r,
            None => panic!("task index {i} out of range for a list of {}", self.len),
        }
    }
}

impl<'a> IntoIterator for &'a TaskList {
    type Item = &'a Arc<TaskRecord>;
    type IntoIter = Box<dyn Iterator<Item = &'a Arc<TaskRecord>> + 'a>;

    fn into_iter(self) -> Self::IntoIter {
        Box::new(self.iter())
    }
}

impl From<Vec<Arc<TaskRecord>>> for TaskList {
    fn from(v: Vec<Arc<TaskRecord>>) -> TaskList {
        TaskList::new(v, None)
    }
}

impl FromIterator<Arc<TaskRecord>> for TaskList {
    fn from_iter<I: IntoIterator<Item = Arc<TaskRecord>>>(it: I) -> TaskList {
        TaskList::new(it.into_iter().collect(), None)
    }
}

impl PartialEq for TaskList {
    fn eq(&self, other: &TaskList) -> bool {
        self.len == other.len && self.iter().zip(other.iter()).all(|(a, b)| a == b)
    }
}

impl std::fmt::Debug for TaskList {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.iter()).finish()
    }
}

/// On disk a plain sequence, as a `Vec` was: the chunking is a memory layout only.
impl Serialize for TaskList {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeSeq;
        // The length up front: formats such as postcard need it before the elements.
        let mut seq = s.serialize_seq(Some(self.len))?;
        for r in self.iter() {
            seq.serialize_element(r)?;
        }
        seq.end()
    }
}

impl<'de> Deserialize<'de> for TaskList {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<TaskList, D::Error> {
        Vec::<Arc<TaskRecord>>::deserialize(d).map(TaskList::from)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::StatFields;

    fn rec(pid: u32, utime: u64) -> Arc<TaskRecord> {
        Arc::new(TaskRecord {
            tgid: pid,
            stat: StatFields {
                pid,
                utime,
                ..StatFields::default()
            },
            ..TaskRecord::default()
        })
    }

    #[test]
    fn unchanged_chunks_are_shared_and_order_kept() {
        let a: Vec<_> = (1..3000).map(|p| rec(p, 0)).collect();
        let la = TaskList::new(a.clone(), None);
        assert_eq!(la.len(), 2999);
        assert!(la.chunk_count() > 30);
        assert_eq!(la[1234].stat.pid, 1235);
        assert_eq!(la.find_pid(1235).map(|r| r.stat.pid), Some(1235));
        assert!(la.find_pid(0).is_none() && la.find_pid(3000).is_none());
        // One task changes, one starts, one exits: only their chunks are new.
        let mut b = a.clone();
        b[500] = rec(501, 7);
        b.remove(2000);
        b.push(rec(5000, 0));
        let lb = TaskList::new(b.clone(), Some(&la));
        assert_eq!(lb.to_vec().len(), b.len());
        assert!(lb.iter().zip(&b).all(|(x, y)| Arc::ptr_eq(x, y)));
        let shared = (0..la.chunk_count())
            .filter(|&i| lb.shares_chunk(&la, i))
            .count();
        assert!(
            shared + 4 >= la.chunk_count(),
            "{shared} of {}",
            la.chunk_count()
        );
        assert_eq!(lb, TaskList::from(b));
    }

    #[test]
    fn serializes_as_a_plain_sequence() {
        let v: Vec<_> = (1..100).map(|p| rec(p, p.into())).collect();
        let l = TaskList::from(v.clone());
        let a = serde_json::to_string(&l).unwrap();
        assert_eq!(a, serde_json::to_string(&v).unwrap());
        let back: TaskList = serde_json::from_str(&a).unwrap();
        assert_eq!(back, l);
    }
}
