//! Turns block tracepoint events into one interval's `BlockTrace`: each completion is
//! matched to its issue by (device, sector) for the request's latency, which goes into its
//! device's histogram and figures; the slowest requests are kept. Pure: fed in time order.

use std::collections::HashMap;

use super::format::{BlockRecord, Op};
use crate::model::blktrace::{BUCKETS, BlockTrace, DevLatency, OpLatency, SLOWEST, SlowIo, bucket};

/// What a traced event is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Issue,
    Complete,
    Error,
}

/// One event: its tracepoint, when (monotonic ns) and in which task, and its fields.
#[derive(Clone, Copy, Debug)]
pub struct Event {
    pub kind: Kind,
    pub time_ns: u64,
    pub pid: u32,
    pub rec: BlockRecord,
}

/// An issued request waiting for its completion.
#[derive(Clone, Copy, Debug)]
struct Pending {
    time_ns: u64,
    pid: u32,
    op: Op,
    bytes: u64,
    rwbs: [u8; 8],
    comm: [u8; 16],
}

/// A bound on requests in flight: a device never has this many, so beyond it issues whose
/// completion was lost are dropped (oldest first is not worth the bookkeeping: all go).
const MAX_PENDING: usize = 1 << 16;
/// Latencies kept per device and direction for exact percentiles; past this the
/// percentiles are of the first `MAX_KEPT` requests of the interval.
const MAX_KEPT: usize = 1 << 18;

#[derive(Default)]
struct OpAgg {
    hist: [u64; BUCKETS],
    count: u64,
    sum_ns: u64,
    max_ns: u64,
    lats: Vec<u64>,
}

impl OpAgg {
    fn add(&mut self, lat: u64) {
        self.hist[bucket(lat)] += 1;
        self.count += 1;
        self.sum_ns = self.sum_ns.saturating_add(lat);
        self.max_ns = self.max_ns.max(lat);
        if self.lats.len() < MAX_KEPT {
            self.lats.push(lat);
        }
    }

    fn finish(&mut self) -> OpLatency {
        if self.count == 0 {
            return OpLatency::default();
        }
        self.lats.sort_unstable();
        let pct = |p: usize| {
            let n = self.lats.len();
            // Nearest rank: the smallest value with at least p% of values at or below it.
            let rank = (n * p).div_ceil(100).clamp(1, n);
            self.lats[rank - 1]
        };
        let out = OpLatency {
            hist: self.hist.to_vec(),
            count: self.count,
            sum_ns: self.sum_ns,
            max_ns: self.max_ns,
            p50_ns: pct(50),
            p99_ns: pct(99),
        };
        *self = OpAgg::default();
        out
    }
}

#[derive(Default)]
struct DevAgg {
    read: OpAgg,
    write: OpAgg,
    errors: u64,
}

#[derive(Default)]
pub struct Aggregator {
    pending: HashMap<(u64, u64), Pending>,
    devs: HashMap<u64, DevAgg>,
    slowest: Vec<SlowIo>,
    lost: u64,
    unmatched: u64,
    /// Errors come from `block_rq_error` when it is traced, else from completions.
    pub errors_from_error_event: bool,
}

impl Aggregator {
    pub fn new(errors_from_error_event: bool) -> Aggregator {
        Aggregator {
            errors_from_error_event,
            ..Aggregator::default()
        }
    }

    pub fn lost(&mut self, n: u64) {
        self.lost = self.lost.saturating_add(n);
    }

    pub fn push(&mut self, ev: &Event) {
        let r = &ev.rec;
        match ev.kind {
            Kind::Issue => {
                if self.pending.len() >= MAX_PENDING {
                    self.pending.clear();
                }
                self.pending.insert(
                    (r.dev, r.sector),
                    Pending {
                        time_ns: ev.time_ns,
                        pid: ev.pid,
                        op: r.op(),
                        bytes: r.bytes.unwrap_or(r.nr_sector as u64 * 512),
                        rwbs: r.rwbs,
                        comm: r.comm,
                    },
                );
            }
            Kind::Error => {
                if self.errors_from_error_event {
                    self.devs.entry(r.dev).or_default().errors += 1;
                }
            }
            Kind::Complete => {
                let dev = self.devs.entry(r.dev).or_default();
                if r.error != 0 && !self.errors_from_error_event {
                    dev.errors += 1;
                }
                let Some(p) = self.pending.remove(&(r.dev, r.sector)) else {
                    self.unmatched += 1;
                    return;
                };
                let lat = ev.time_ns.saturating_sub(p.time_ns);
                match p.op {
                    Op::Read => dev.read.add(lat),
                    Op::Write => dev.write.add(lat),
                    Op::Other => {}
                }
                self.keep_slow(SlowIo {
                    done_ns: ev.time_ns,
                    major: r.major(),
                    minor: r.minor(),
                    op: match p.op {
                        Op::Read => "R".into(),
                        Op::Write => "W".into(),
                        Op::Other => text(&p.rwbs),
                    },
                    bytes: p.bytes,
                    latency_ns: lat,
                    pid: p.pid,
                    comm: text(&p.comm),
                });
            }
        }
    }

    fn keep_slow(&mut self, io: SlowIo) {
        if self.slowest.len() == SLOWEST
            && self
                .slowest
                .last()
                .is_some_and(|s| s.latency_ns >= io.latency_ns)
        {
            return;
        }
        let at = self
            .slowest
            .partition_point(|s| s.latency_ns >= io.latency_ns);
        self.slowest.insert(at, io);
        self.slowest.truncate(SLOWEST);
    }

    /// The interval so far as a `BlockTrace`, and a fresh start for the next one. Requests
    /// in flight stay pending.
    pub fn take(&mut self, span_ns: u64) -> BlockTrace {
        let mut devices: Vec<DevLatency> = self
            .devs
            .drain()
            .map(|(dev, mut a)| DevLatency {
                major: (dev >> 20) as u32,
                minor: (dev & ((1 << 20) - 1)) as u32,
                read: a.read.finish(),
                write: a.write.finish(),
                errors: a.errors,
            })
            .filter(|d| d.read.count + d.write.count + d.errors > 0)
            .collect();
        devices.sort_by_key(|d| (d.major, d.minor));
        BlockTrace {
            state: crate::model::blktrace::TraceState::On,
            span_ns,
            devices,
            slowest: std::mem::take(&mut self.slowest),
            lost: std::mem::take(&mut self.lost),
            unmatched: std::mem::take(&mut self.unmatched),
        }
    }
}

/// A kernel char array as text, control bytes replaced (drawn later, sanitised again).
fn text(b: &[u8]) -> String {
    let end = b.iter().position(|&c| c == 0).unwrap_or(b.len());
    String::from_utf8_lossy(&b[..end])
        .chars()
        .map(|c| if c.is_control() { '?' } else { c })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rec(dev: u64, sector: u64, rwbs: &[u8], error: i64) -> BlockRecord {
        let mut r = [0u8; 8];
        r[..rwbs.len()].copy_from_slice(rwbs);
        let mut comm = [0u8; 16];
        comm[..2].copy_from_slice(b"dd");
        BlockRecord {
            id: 0,
            dev,
            sector,
            nr_sector: 8,
            bytes: Some(4096),
            rwbs: r,
            comm,
            error,
        }
    }

    fn ev(kind: Kind, t: u64, r: BlockRecord) -> Event {
        Event {
            kind,
            time_ns: t,
            pid: 42,
            rec: r,
        }
    }

    const VDA: u64 = 254 << 20;

    #[test]
    fn latency_of_matched_requests_by_direction() {
        let mut a = Aggregator::new(true);
        a.push(&ev(Kind::Issue, 1_000, rec(VDA, 8, b"WS", 0)));
        a.push(&ev(Kind::Issue, 2_000, rec(VDA, 16, b"R", 0)));
        a.push(&ev(Kind::Complete, 101_000, rec(VDA, 8, b"WS", 0)));
        a.push(&ev(Kind::Complete, 2_000_002_000, rec(VDA, 16, b"R", 0)));
        // No issue seen for this one.
        a.push(&ev(Kind::Complete, 3_000, rec(VDA, 99, b"W", 0)));
        let t = a.take(1_000_000_000);
        assert_eq!(t.unmatched, 1);
        assert_eq!(t.devices.len(), 1);
        let d = &t.devices[0];
        assert_eq!((d.major, d.minor), (254, 0));
        assert_eq!(d.write.count, 1);
        assert_eq!(d.write.max_ns, 100_000);
        assert_eq!(d.write.hist[1], 1, "100 us is in [64, 128)");
        assert_eq!(d.read.count, 1);
        assert_eq!(d.read.hist[BUCKETS - 1], 1, "2 s is in >= 1 s");
        assert_eq!(t.slowest[0].op, "R");
        assert_eq!(t.slowest[0].comm, "dd");
        assert_eq!(t.slowest[1].latency_ns, 100_000);
        // The interval starts afresh.
        let t = a.take(1);
        assert!(t.devices.is_empty() && t.slowest.is_empty() && t.unmatched == 0);
    }

    #[test]
    fn percentiles_are_nearest_rank() {
        let mut a = Aggregator::new(true);
        for i in 0..100u64 {
            a.push(&ev(Kind::Issue, 0, rec(VDA, i * 8, b"R", 0)));
            a.push(&ev(
                Kind::Complete,
                (i + 1) * 1_000,
                rec(VDA, i * 8, b"R", 0),
            ));
        }
        let t = a.take(1);
        let r = &t.devices[0].read;
        assert_eq!(
            (r.count, r.p50_ns, r.p99_ns, r.max_ns),
            (100, 50_000, 99_000, 100_000)
        );
        assert_eq!(t.slowest.len(), SLOWEST);
        assert_eq!(t.slowest[0].latency_ns, 100_000);
        assert_eq!(t.slowest[SLOWEST - 1].latency_ns, 91_000);
    }

    #[test]
    fn errors_counted_once() {
        // block_rq_error traced: the completion's error field is not counted again.
        let mut a = Aggregator::new(true);
        a.push(&ev(Kind::Issue, 0, rec(VDA, 8, b"W", 0)));
        a.push(&ev(Kind::Error, 5, rec(VDA, 8, b"W", -5)));
        a.push(&ev(Kind::Complete, 5, rec(VDA, 8, b"W", -5)));
        assert_eq!(a.take(1).devices[0].errors, 1);
        // Without it, completions with an error count.
        let mut a = Aggregator::new(false);
        a.push(&ev(Kind::Complete, 5, rec(VDA, 8, b"W", -5)));
        a.push(&ev(Kind::Complete, 5, rec(VDA, 16, b"W", 0)));
        let t = a.take(1);
        assert_eq!(t.devices[0].errors, 1);
        assert_eq!(t.unmatched, 2);
    }

    #[test]
    fn flushes_are_timed_but_not_in_the_histograms() {
        let mut a = Aggregator::new(true);
        a.push(&ev(Kind::Issue, 0, rec(VDA, 0, b"FF", 0)));
        a.push(&ev(Kind::Complete, 10, rec(VDA, 0, b"FF", 0)));
        a.lost(3);
        let t = a.take(1);
        assert!(t.devices.is_empty());
        assert_eq!(t.slowest[0].op, "FF");
        assert_eq!(t.lost, 3);
    }
}
