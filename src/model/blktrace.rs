//! Block I/O latency from the kernel's block tracepoints (iolatency, iosnoop): what one
//! interval of `block_rq_issue` → `block_rq_complete` came to, per device and direction, as
//! the sampler aggregated it, and the figures the disk pane, dump and OpenMetrics draw from it.

use serde::{Deserialize, Serialize};

use super::Snapshot;

/// Upper bounds of the latency buckets, in microseconds: log2 from 64 µs, then 1 s. Bucket
/// `i < BOUNDS_US.len()` holds latencies below `BOUNDS_US[i]` (and at or above the bound
/// before); the last bucket holds everything at or above 1 s.
pub const BOUNDS_US: [u64; 15] = [
    64, 128, 256, 512, 1_024, 2_048, 4_096, 8_192, 16_384, 32_768, 65_536, 131_072, 262_144,
    524_288, 1_000_000,
];
pub const BUCKETS: usize = BOUNDS_US.len() + 1;

/// The bucket a latency (ns) falls in.
pub fn bucket(lat_ns: u64) -> usize {
    let us = lat_ns / 1_000;
    BOUNDS_US
        .iter()
        .position(|&b| us < b)
        .unwrap_or(BOUNDS_US.len())
}

/// How many slow requests an interval keeps.
pub const SLOWEST: usize = 10;

/// One interval of traced block I/O (`Sample::block_trace`; `None` while no pane or
/// recording asked for it).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct BlockTrace {
    pub state: TraceState,
    /// Nanoseconds of tracing this sample covers (from the previous drain, or from the
    /// moment the tracepoints were opened).
    pub span_ns: u64,
    /// Devices with at least one completed or failed request in the interval.
    pub devices: Vec<DevLatency>,
    /// The slowest requests of the interval, slowest first.
    pub slowest: Vec<SlowIo>,
    /// Events the kernel dropped because a ring buffer was full (PERF_RECORD_LOST): the
    /// histograms under-count by at least this many requests.
    pub lost: u64,
    /// Completions whose issue was not seen (issued before tracing started, or lost).
    pub unmatched: u64,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum TraceState {
    /// Tracing ran for the whole of `span_ns`.
    #[default]
    On,
    /// The tracepoints were opened during this sample: figures from the next one.
    Starting,
    /// Tracing could not start; why (no permission, no tracefs, no such tracepoint).
    Unavailable(String),
}

/// One device's requests of the interval. `major`/`minor` as in /proc/diskstats.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct DevLatency {
    pub major: u32,
    pub minor: u32,
    pub read: OpLatency,
    pub write: OpLatency,
    /// Requests that completed with an error (`block_rq_error`, else `block_rq_complete`'s
    /// error field).
    pub errors: u64,
}

/// Completed requests of one direction: the log2 histogram and exact figures.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct OpLatency {
    /// `BUCKETS` counts (empty when there were no requests).
    pub hist: Vec<u64>,
    pub count: u64,
    pub sum_ns: u64,
    pub max_ns: u64,
    pub p50_ns: u64,
    pub p99_ns: u64,
}

impl OpLatency {
    pub fn bucket_count(&self, i: usize) -> u64 {
        self.hist.get(i).copied().unwrap_or(0)
    }

    pub fn mean_ns(&self) -> Option<u64> {
        self.sum_ns.checked_div(self.count)
    }
}

/// A request as iosnoop prints it.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SlowIo {
    /// Monotonic time of completion, ns (the sample's `mono_ns` clock).
    pub done_ns: u64,
    pub major: u32,
    pub minor: u32,
    /// `R`, `W`, or the tracepoint's rwbs for anything else (flush, discard).
    pub op: String,
    pub bytes: u64,
    pub latency_ns: u64,
    /// The task current when the request was issued (often a kworker for writeback).
    pub pid: u32,
    pub comm: String,
}

/// A device's traced figures with its name from diskstats.
#[derive(Clone, Debug, PartialEq)]
pub struct DevIo<'a> {
    pub name: String,
    pub lat: &'a DevLatency,
}

/// What the panes show of the tracing this snapshot.
#[derive(Clone, Debug, PartialEq)]
pub enum BlockIo<'a> {
    /// No one asked for tracing when this sample was taken.
    Off,
    Starting,
    Unavailable(&'a str),
    On {
        devices: Vec<DevIo<'a>>,
        trace: &'a BlockTrace,
    },
}

impl Snapshot {
    /// The interval's traced block I/O, devices named from diskstats (`maj:min` where
    /// diskstats does not list them).
    pub fn block_io(&self) -> BlockIo<'_> {
        let Some(t) = self.cur.block_trace.as_ref() else {
            return BlockIo::Off;
        };
        match &t.state {
            TraceState::Starting => BlockIo::Starting,
            TraceState::Unavailable(why) => BlockIo::Unavailable(why),
            TraceState::On => BlockIo::On {
                devices: t
                    .devices
                    .iter()
                    .map(|d| DevIo {
                        name: self.dev_name(d.major, d.minor),
                        lat: d,
                    })
                    .collect(),
                trace: t,
            },
        }
    }

    /// The diskstats name of a device number.
    pub fn dev_name(&self, major: u32, minor: u32) -> String {
        self.cur
            .disk
            .devices
            .iter()
            .find(|d| d.major == major && d.minor == minor)
            .map(|d| d.name.clone())
            .unwrap_or_else(|| format!("{major}:{minor}"))
    }

    /// Block I/O errors of a device in the interval, when tracing ran for all of it.
    pub fn traced_errors(&self, name: &str) -> Option<u64> {
        match self.block_io() {
            BlockIo::On { devices, .. } => Some(
                devices
                    .iter()
                    .filter(|d| d.name == name)
                    .map(|d| d.lat.errors)
                    .sum(),
            ),
            _ => None,
        }
    }
}

/// A bucket's label as iolatency prints its ranges: `<64us`, `128us`, `1ms`, `>=1s`.
pub fn bucket_label(i: usize) -> String {
    let us = |u: u64| {
        if u >= 1_000_000 {
            format!("{}s", u / 1_000_000)
        } else if u >= 1_000 {
            format!("{}ms", u / 1_024)
        } else {
            format!("{u}us")
        }
    };
    match i {
        0 => format!("<{}", us(BOUNDS_US[0])),
        i if i >= BOUNDS_US.len() => format!(">={}", us(BOUNDS_US[BOUNDS_US.len() - 1])),
        i => format!("<{}", us(BOUNDS_US[i])),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_split_at_their_bounds() {
        assert_eq!(bucket(0), 0);
        assert_eq!(bucket(63_999), 0);
        assert_eq!(bucket(64_000), 1);
        assert_eq!(bucket(127_999), 1);
        assert_eq!(bucket(999_999_999), BUCKETS - 2);
        assert_eq!(bucket(1_000_000_000), BUCKETS - 1);
        assert_eq!(bucket(u64::MAX), BUCKETS - 1);
    }

    #[test]
    fn labels() {
        assert_eq!(bucket_label(0), "<64us");
        assert_eq!(bucket_label(1), "<128us");
        assert_eq!(bucket_label(4), "<1ms");
        assert_eq!(bucket_label(5), "<2ms");
        assert_eq!(bucket_label(14), "<1s");
        assert_eq!(bucket_label(15), ">=1s");
    }
}
