//! Traced block I/O in `dump --pane disk` (per device: latency counts, p50/p99/max and the
//! histogram; per snapshot: the tracing state, lost events and the slowest requests) and in
//! OpenMetrics (`usetop_disk_io_latency_seconds`, a histogram by device and op).

use std::sync::{Arc, Mutex, PoisonError};

use prometheus_client::encoding::{EncodeMetric, MetricEncoder, NoLabelSet};
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::{MetricType, TypedMetric};
use prometheus_client::registry::{Registry, Unit};
use serde::{Deserialize, Serialize};

use crate::model::Snapshot;
use crate::model::blktrace::{BOUNDS_US, BUCKETS, BlockIo, OpLatency};
use crate::widgets::text::sanitize;

/// The per-snapshot fields (beside PSI io).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct TraceHeader {
    /// `on`, `starting`, `off` (nobody asked), or `n/a: why`.
    pub io_trace: String,
    /// Upper bounds (µs) of the `*_lat_hist` buckets, space-separated; the last bucket is
    /// everything at or above the last bound.
    pub io_lat_bounds_us: String,
    pub io_trace_lost: Option<u64>,
    pub io_trace_unmatched: Option<u64>,
    /// The slowest requests of the interval (JSON: objects; CSV: that JSON, quoted).
    pub slowest_io: Vec<SlowIoRecord>,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct SlowIoRecord {
    /// Completion time, Unix milliseconds.
    pub wall_ms: i64,
    pub device: String,
    pub op: String,
    pub bytes: u64,
    pub latency_ms: f64,
    pub pid: u32,
    pub comm: String,
}

/// One device's traced figures; all `None` while tracing is not on.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct DiskLatency {
    pub read_lat_count: Option<u64>,
    pub read_lat_p50_ms: Option<f64>,
    pub read_lat_p99_ms: Option<f64>,
    pub read_lat_max_ms: Option<f64>,
    /// The histogram's counts, space-separated, in `io_lat_bounds_us` order.
    pub read_lat_hist: Option<String>,
    pub write_lat_count: Option<u64>,
    pub write_lat_p50_ms: Option<f64>,
    pub write_lat_p99_ms: Option<f64>,
    pub write_lat_max_ms: Option<f64>,
    pub write_lat_hist: Option<String>,
    pub block_errors: Option<u64>,
}

fn ms(ns: u64) -> f64 {
    ns as f64 / 1e6
}

pub fn header(s: &Snapshot) -> TraceHeader {
    let bounds = BOUNDS_US.map(|b| b.to_string()).join(" ");
    let mut h = TraceHeader {
        io_lat_bounds_us: bounds,
        ..TraceHeader::default()
    };
    match s.block_io() {
        BlockIo::Off => h.io_trace = "off".into(),
        BlockIo::Starting => h.io_trace = "starting".into(),
        BlockIo::Unavailable(why) => h.io_trace = format!("n/a: {}", sanitize(why)),
        BlockIo::On { trace, .. } => {
            h.io_trace = "on".into();
            h.io_trace_lost = Some(trace.lost);
            h.io_trace_unmatched = Some(trace.unmatched);
            h.slowest_io = trace
                .slowest
                .iter()
                .map(|io| SlowIoRecord {
                    wall_ms: s.cur.wall_ms
                        - (s.cur.mono_ns.saturating_sub(io.done_ns) / 1_000_000) as i64,
                    device: s.dev_name(io.major, io.minor),
                    op: io.op.clone(),
                    bytes: io.bytes,
                    latency_ms: ms(io.latency_ns),
                    pid: io.pid,
                    comm: io.comm.clone(),
                })
                .collect();
        }
    }
    h
}

fn hist_text(o: &OpLatency) -> String {
    (0..BUCKETS)
        .map(|i| o.bucket_count(i).to_string())
        .collect::<Vec<_>>()
        .join(" ")
}

impl DiskLatency {
    pub fn for_device(s: &Snapshot, name: &str) -> DiskLatency {
        let BlockIo::On { devices, .. } = s.block_io() else {
            return DiskLatency::default();
        };
        let empty = OpLatency::default();
        let (r, w, errors) = match devices.iter().find(|d| d.name == name) {
            Some(d) => (&d.lat.read, &d.lat.write, d.lat.errors),
            None => (&empty, &empty, 0),
        };
        let pct = |o: &OpLatency, v: u64| (o.count > 0).then(|| ms(v));
        DiskLatency {
            read_lat_count: Some(r.count),
            read_lat_p50_ms: pct(r, r.p50_ns),
            read_lat_p99_ms: pct(r, r.p99_ns),
            read_lat_max_ms: pct(r, r.max_ns),
            read_lat_hist: Some(hist_text(r)),
            write_lat_count: Some(w.count),
            write_lat_p50_ms: pct(w, w.p50_ns),
            write_lat_p99_ms: pct(w, w.p99_ns),
            write_lat_max_ms: pct(w, w.max_ns),
            write_lat_hist: Some(hist_text(w)),
            block_errors: Some(errors),
        }
    }
}

// ---- OpenMetrics ----

#[derive(Debug, Default)]
struct HistState {
    sum_s: f64,
    count: u64,
    buckets: [u64; BUCKETS],
}

/// A histogram fed whole intervals (bucket counts, sum and count) rather than single
/// observations: the collector has already bucketed them.
#[derive(Clone, Debug, Default)]
pub struct LatencyHist(Arc<Mutex<HistState>>);

impl LatencyHist {
    fn add(&self, o: &OpLatency) {
        let mut h = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        h.sum_s += o.sum_ns as f64 / 1e9;
        h.count = h.count.saturating_add(o.count);
        for (i, b) in h.buckets.iter_mut().enumerate() {
            *b = b.saturating_add(o.bucket_count(i));
        }
    }
}

impl TypedMetric for LatencyHist {
    const TYPE: MetricType = MetricType::Histogram;
}

impl EncodeMetric for LatencyHist {
    fn encode(&self, mut encoder: MetricEncoder) -> Result<(), std::fmt::Error> {
        let h = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        let buckets: Vec<(f64, u64)> = BOUNDS_US
            .iter()
            .map(|&b| b as f64 / 1e6)
            .chain(std::iter::once(f64::INFINITY))
            .zip(h.buckets.iter().copied())
            .collect();
        encoder.encode_histogram::<NoLabelSet>(h.sum_s, h.count, &buckets, None)
    }

    fn metric_type(&self) -> MetricType {
        Self::TYPE
    }
}

type Labels = Vec<(String, String)>;

pub struct BlockMetrics {
    latency: Family<Labels, LatencyHist>,
}

impl BlockMetrics {
    pub fn register(r: &mut Registry) -> BlockMetrics {
        let latency = Family::<Labels, LatencyHist>::default();
        r.register_with_unit(
            "usetop_disk_io_latency",
            "Block I/O latency from issue to completion (block tracepoints), by device and op",
            Unit::Seconds,
            latency.clone(),
        );
        BlockMetrics { latency }
    }

    /// Adds the snapshot's interval (each snapshot once).
    pub fn update(&self, s: &Snapshot) {
        let BlockIo::On { devices, .. } = s.block_io() else {
            return;
        };
        for d in devices {
            for (op, o) in [("read", &d.lat.read), ("write", &d.lat.write)] {
                let labels = vec![
                    ("device".to_string(), sanitize(&d.name).into_owned()),
                    ("op".to_string(), op.to_string()),
                ];
                self.latency.get_or_create(&labels).add(o);
            }
        }
    }
}
