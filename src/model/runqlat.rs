//! Run-queue latency (runqlat): how long tasks waited for a CPU between being woken (or
//! preempted) and running, as log2 histograms of one interval the kernel aggregated with
//! eBPF, system-wide and for the focused process, and the figures estimated from them.

use serde::{Deserialize, Serialize};

use super::Snapshot;

/// Buckets of wait time in microseconds, as runqlat's: bucket 0 holds 0–1 µs, bucket
/// `i` in `1..LAST` holds `2^i ..= 2^(i+1) - 1` µs, and the last holds everything from
/// 2^20 µs (1.05 s) on.
pub const BUCKETS: usize = 21;
const LAST: usize = BUCKETS - 1;

/// The bucket a wait of `ns` falls in (the same arithmetic as the kernel program's).
pub fn bucket(ns: u64) -> usize {
    let us = ns / 1_000;
    if us < 2 {
        0
    } else {
        (us.ilog2() as usize).min(LAST)
    }
}

/// The smallest and largest wait (µs) a bucket holds; the last one has no upper end.
pub fn bucket_range_us(i: usize) -> (u64, Option<u64>) {
    match i {
        0 => (0, Some(1)),
        i if i >= LAST => (1 << LAST, None),
        i => (1 << i, Some((1 << (i + 1)) - 1)),
    }
}

/// The upper bound of a bucket in seconds, as a Prometheus `le` (the bucket holds waits
/// below 2^(i+1) µs); `None` for the last (`+Inf`).
pub fn bucket_le_s(i: usize) -> Option<f64> {
    (i < LAST).then(|| (1u64 << (i + 1)) as f64 / 1e6)
}

/// A bucket's label, as iolatency labels its ranges by their upper end: `<2us`, `<1ms`
/// (2^10 µs), `<1s` (2^20 µs), `>=1s`.
pub fn bucket_label(i: usize) -> String {
    if i >= LAST {
        return ">=1s".into();
    }
    let hi = 1u64 << (i + 1);
    if hi >= 1 << 20 {
        format!("<{}s", hi >> 20)
    } else if hi >= 1 << 10 {
        format!("<{}ms", hi >> 10)
    } else {
        format!("<{hi}us")
    }
}

/// One interval of run-queue latency (`Sample::runqlat`; `None` while neither the cpu
/// pane, the process view nor a recording asked for it).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct RunqLat {
    pub state: RunqState,
    /// Nanoseconds this sample covers (from the previous read of the histograms).
    pub span_ns: u64,
    /// Every task's waits.
    pub all: RunqHist,
    /// The focused process's threads' waits, when a process is focused and its threads
    /// were being watched for the whole interval.
    pub focus: Option<FocusHist>,
    /// Wake-ups that could not be timed because the kernel's table of waiting tasks was
    /// full: their waits are missing from the histograms.
    pub lost: u64,
    /// Nanoseconds of `span_ns` the programs ran. Above `FULL_RATE` waits a second they
    /// run only the first part of each interval, to bound their cost: the histograms then
    /// count the waits that ended in that part (a sample of the interval), and rates are
    /// over this time.
    pub watched_ns: u64,
}

/// Waits a second up to which the programs run the whole interval; above it, they run a
/// share `FULL_RATE / rate` of it (at least `MIN_SHARE`), so their cost stays near what
/// `FULL_RATE` waits a second cost (about 3.5 % of one CPU, measured on a 2-CPU VM).
pub const FULL_RATE: f64 = 60_000.0;
pub const MIN_SHARE: f64 = 0.05;

/// The share of the next interval the programs should run, from this interval's waits
/// per second of watched time.
pub fn next_share(waits_per_s: f64) -> f64 {
    if waits_per_s <= FULL_RATE {
        1.0
    } else {
        (FULL_RATE / waits_per_s).max(MIN_SHARE)
    }
}

impl RunqLat {
    /// The time the histograms cover: `watched_ns`, or the span where it was not kept.
    pub fn watched(&self) -> u64 {
        if self.watched_ns > 0 {
            self.watched_ns
        } else {
            self.span_ns
        }
    }

    /// True when the programs ran only part of the interval.
    pub fn sampled(&self) -> bool {
        self.watched_ns > 0 && self.watched_ns < self.span_ns.saturating_mul(9) / 10
    }
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum RunqState {
    /// The programs ran for the whole of `span_ns`.
    #[default]
    On,
    /// The programs were loaded during this sample: figures from the next one.
    Starting,
    /// They could not be loaded or attached; why (no permission, no tracefs, refused).
    Unavailable(String),
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct FocusHist {
    pub pid: u32,
    /// Threads watched.
    pub threads: u32,
    pub hist: RunqHist,
}

/// A histogram of waits: `BUCKETS` counts (empty when nothing waited) and their exact sum.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunqHist {
    pub buckets: Vec<u64>,
    pub sum_ns: u64,
}

impl RunqHist {
    pub fn from_buckets(buckets: &[u64], sum_ns: u64) -> RunqHist {
        if buckets.iter().all(|&n| n == 0) {
            return RunqHist {
                buckets: Vec::new(),
                sum_ns,
            };
        }
        RunqHist {
            buckets: buckets.to_vec(),
            sum_ns,
        }
    }

    pub fn bucket_count(&self, i: usize) -> u64 {
        self.buckets.get(i).copied().unwrap_or(0)
    }

    pub fn count(&self) -> u64 {
        self.buckets.iter().sum()
    }

    pub fn mean_ns(&self) -> Option<u64> {
        self.sum_ns.checked_div(self.count())
    }

    /// The `q` quantile (0..=1) estimated from the buckets: linear within the bucket it
    /// falls in (the last bucket, without an upper end, answers its lower one).
    pub fn quantile_ns(&self, q: f64) -> Option<u64> {
        let total = self.count();
        if total == 0 {
            return None;
        }
        let rank = (q.clamp(0.0, 1.0) * total as f64).max(1.0);
        let mut seen = 0u64;
        for (i, &n) in self.buckets.iter().enumerate() {
            if n == 0 {
                continue;
            }
            if (seen + n) as f64 >= rank {
                let (lo, hi) = bucket_range_us(i);
                let Some(hi) = hi else {
                    return Some(lo * 1_000);
                };
                let frac = (rank - seen as f64) / n as f64;
                let us = lo as f64 + frac * (hi + 1 - lo) as f64;
                return Some((us * 1_000.0) as u64);
            }
            seen += n;
        }
        None
    }

    /// The largest wait estimated from the buckets: the top of the highest bucket used
    /// (its lower end for the last bucket).
    pub fn max_ns(&self) -> Option<u64> {
        let i = self.buckets.iter().rposition(|&n| n > 0)?;
        let (lo, hi) = bucket_range_us(i);
        Some(hi.map(|h| (h + 1) * 1_000).unwrap_or(lo * 1_000))
    }

    /// The interval's counts less an earlier read's, bucket by bucket (the kernel's
    /// counters only grow; a smaller one means the programs were reloaded).
    pub fn since(cur: &[u64], cur_sum: u64, prev: &[u64], prev_sum: u64) -> RunqHist {
        let b: Vec<u64> = (0..BUCKETS)
            .map(|i| {
                let c = cur.get(i).copied().unwrap_or(0);
                let p = prev.get(i).copied().unwrap_or(0);
                c.saturating_sub(p)
            })
            .collect();
        RunqHist::from_buckets(&b, cur_sum.saturating_sub(prev_sum))
    }
}

/// What the panes show of run-queue latency this snapshot.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Runq<'a> {
    Off,
    Starting,
    Unavailable(&'a str),
    On(&'a RunqLat),
}

impl Snapshot {
    pub fn runq(&self) -> Runq<'_> {
        let Some(r) = self.cur.runqlat.as_ref() else {
            return Runq::Off;
        };
        match &r.state {
            RunqState::Starting => Runq::Starting,
            RunqState::Unavailable(why) => Runq::Unavailable(why),
            RunqState::On => Runq::On(r),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_are_runqlats() {
        assert_eq!(bucket(0), 0);
        assert_eq!(bucket(1_999), 0);
        assert_eq!(bucket(2_000), 1);
        assert_eq!(bucket(3_999), 1);
        assert_eq!(bucket(4_000), 2);
        assert_eq!(bucket(1_023_999), 9);
        assert_eq!(bucket(1_024_000), 10);
        assert_eq!(bucket(1_048_575_999), 19);
        assert_eq!(bucket(1_048_576_000), 20);
        assert_eq!(bucket(u64::MAX), 20);
        assert_eq!(bucket_range_us(0), (0, Some(1)));
        assert_eq!(bucket_range_us(3), (8, Some(15)));
        assert_eq!(bucket_range_us(20), (1 << 20, None));
    }

    #[test]
    fn labels_and_bounds() {
        assert_eq!(bucket_label(0), "<2us");
        assert_eq!(bucket_label(8), "<512us");
        assert_eq!(bucket_label(9), "<1ms");
        assert_eq!(bucket_label(19), "<1s");
        assert_eq!(bucket_label(20), ">=1s");
        assert_eq!(bucket_le_s(0), Some(0.000_002));
        assert_eq!(bucket_le_s(19), Some(1.048_576));
        assert_eq!(bucket_le_s(20), None);
    }

    #[test]
    fn quantiles_from_buckets() {
        // 90 waits of 4-7 us, 9 of 64-127 us, one of 1-2 ms.
        let mut b = [0u64; BUCKETS];
        b[2] = 90;
        b[6] = 9;
        b[10] = 1;
        let h = RunqHist::from_buckets(&b, 1_000_000);
        assert_eq!(h.count(), 100);
        assert_eq!(h.mean_ns(), Some(10_000));
        // p50: the 50th of 90 in 4..8 us.
        assert_eq!(h.quantile_ns(0.5), Some(6_222));
        // p99: the 9th of 9 in 64..128 us: its top.
        assert_eq!(h.quantile_ns(0.99), Some(128_000));
        assert_eq!(h.max_ns(), Some(2_048_000));
        let empty = RunqHist::from_buckets(&[0; BUCKETS], 0);
        assert!(empty.buckets.is_empty());
        assert_eq!(empty.quantile_ns(0.5), None);
        assert_eq!(empty.max_ns(), None);
        let mut top = [0u64; BUCKETS];
        top[20] = 2;
        let t = RunqHist::from_buckets(&top, 0);
        assert_eq!(t.quantile_ns(0.99), Some(1_048_576_000));
        assert_eq!(t.max_ns(), Some(1_048_576_000));
    }

    #[test]
    fn the_share_watched_falls_as_the_rate_rises() {
        assert_eq!(next_share(0.0), 1.0);
        assert_eq!(next_share(FULL_RATE), 1.0);
        assert_eq!(next_share(2.0 * FULL_RATE), 0.5);
        assert_eq!(next_share(4.0 * FULL_RATE), 0.25);
        assert_eq!(next_share(1e9), MIN_SHARE);
        let mut r = RunqLat {
            span_ns: 1_000_000_000,
            ..RunqLat::default()
        };
        assert_eq!((r.watched(), r.sampled()), (1_000_000_000, false));
        r.watched_ns = 250_000_000;
        assert_eq!((r.watched(), r.sampled()), (250_000_000, true));
        r.watched_ns = 950_000_000;
        assert!(!r.sampled());
    }

    #[test]
    fn intervals_are_differences_of_the_kernels_counts() {
        let prev = [5u64, 3, 0];
        let cur = [7u64, 3, 4, 1];
        let h = RunqHist::since(&cur, 900, &prev, 400);
        assert_eq!(&h.buckets[..5], &[2, 0, 4, 1, 0]);
        assert_eq!(h.sum_ns, 500);
        // Counters that went back (programs reloaded) give nothing, not a wrap.
        let h = RunqHist::since(&prev, 400, &cur, 900);
        assert_eq!(h.count(), 0);
        assert_eq!(h.sum_ns, 0);
    }
}
