//! A fixed-capacity ring of snapshots addressed by sequence number: the newest pushes out the
//! oldest, and a cursor held by sequence stays valid (or falls off the end) as the ring moves.

use std::collections::VecDeque;

pub struct Ring<T> {
    buf: VecDeque<T>,
    cap: usize,
    /// Sequence number of `buf[0]`.
    first: u64,
}

impl<T> Ring<T> {
    pub fn new(cap: usize) -> Ring<T> {
        let cap = cap.max(2);
        Ring {
            buf: VecDeque::with_capacity(cap.min(4096)),
            cap,
            first: 0,
        }
    }

    /// Appends and returns the new item's sequence number.
    pub fn push(&mut self, item: T) -> u64 {
        if self.buf.len() == self.cap {
            self.buf.pop_front();
            self.first += 1;
        }
        self.buf.push_back(item);
        self.first + self.buf.len() as u64 - 1
    }

    /// Sequence number the next push will get.
    pub fn next_seq(&self) -> u64 {
        self.first + self.buf.len() as u64
    }

    pub fn get(&self, seq: u64) -> Option<&T> {
        let i = seq.checked_sub(self.first)?;
        self.buf.get(usize::try_from(i).ok()?)
    }

    pub fn latest(&self) -> Option<&T> {
        self.buf.back()
    }

    pub fn oldest_seq(&self) -> Option<u64> {
        (!self.buf.is_empty()).then_some(self.first)
    }

    pub fn latest_seq(&self) -> Option<u64> {
        (!self.buf.is_empty()).then(|| self.first + self.buf.len() as u64 - 1)
    }

    pub fn len(&self) -> usize {
        self.buf.len()
    }

    pub fn is_empty(&self) -> bool {
        self.buf.is_empty()
    }

    /// Every item, oldest first.
    pub fn iter(&self) -> impl Iterator<Item = &T> {
        self.buf.iter()
    }

    /// The last `n` items up to and including `seq`, oldest first.
    pub fn window(&self, seq: u64, n: usize) -> impl Iterator<Item = &T> {
        let end = seq
            .saturating_sub(self.first)
            .saturating_add(1)
            .min(self.buf.len() as u64) as usize;
        let start = end.saturating_sub(n);
        self.buf.range(start..end)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn evicts_oldest_and_keeps_sequence() {
        let mut r = Ring::new(3);
        for i in 0..5 {
            assert_eq!(r.push(i * 10), i);
        }
        assert_eq!(r.oldest_seq(), Some(2));
        assert_eq!(r.latest_seq(), Some(4));
        assert_eq!(r.get(1), None);
        assert_eq!(r.get(3), Some(&30));
        assert_eq!(r.window(4, 2).copied().collect::<Vec<_>>(), vec![30, 40]);
        assert_eq!(r.window(3, 10).copied().collect::<Vec<_>>(), vec![20, 30]);
    }
}
