//! Run-queue latency in `dump --pane cpu` (per snapshot: the state, the count, p50/p99/max
//! and the histogram, system-wide and for the focused process) and in OpenMetrics
//! (`usetop_runq_latency_seconds`, a histogram).

use std::sync::{Arc, Mutex, PoisonError};

use prometheus_client::encoding::{EncodeMetric, MetricEncoder, NoLabelSet};
use prometheus_client::metrics::{MetricType, TypedMetric};
use prometheus_client::registry::{Registry, Unit};
use serde::{Deserialize, Serialize};

use crate::model::Snapshot;
use crate::model::runqlat::{BUCKETS, Runq, RunqHist, bucket_range_us};
use crate::widgets::text::sanitize;

/// The per-snapshot fields of the cpu view.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct RunqHeader {
    /// `on`, `starting`, `off` (nobody asked), or `n/a: why`.
    pub runqlat: String,
    /// Lower ends (µs) of the `*_hist` buckets, space-separated; each bucket holds waits up
    /// to the next one's lower end, the last everything above.
    pub runq_lat_bounds_us: String,
    /// Milliseconds of the interval the programs ran: the whole of it, or at high wait
    /// rates only its first part (the counts are then the waits that ended in that part).
    pub runq_lat_watched_ms: Option<f64>,
    pub runq_lat_count: Option<u64>,
    pub runq_lat_sum_ms: Option<f64>,
    pub runq_lat_p50_ms: Option<f64>,
    pub runq_lat_p99_ms: Option<f64>,
    pub runq_lat_max_ms: Option<f64>,
    pub runq_lat_hist: Option<String>,
    /// Wake-ups the kernel could not time (its table of waiting tasks was full).
    pub runq_lat_lost: Option<u64>,
    /// The focused process (the process view's), and its threads' waits.
    pub runq_focus_pid: Option<u32>,
    pub runq_focus_count: Option<u64>,
    pub runq_focus_p50_ms: Option<f64>,
    pub runq_focus_p99_ms: Option<f64>,
    pub runq_focus_max_ms: Option<f64>,
    pub runq_focus_hist: Option<String>,
}

fn ms(ns: u64) -> f64 {
    ns as f64 / 1e6
}

fn hist_text(h: &RunqHist) -> String {
    (0..BUCKETS)
        .map(|i| h.bucket_count(i).to_string())
        .collect::<Vec<_>>()
        .join(" ")
}

pub fn header(s: &Snapshot) -> RunqHeader {
    let mut h = RunqHeader {
        runq_lat_bounds_us: (0..BUCKETS)
            .map(|i| bucket_range_us(i).0.to_string())
            .collect::<Vec<_>>()
            .join(" "),
        ..RunqHeader::default()
    };
    match s.runq() {
        Runq::Off => h.runqlat = "off".into(),
        Runq::Starting => h.runqlat = "starting".into(),
        Runq::Unavailable(why) => h.runqlat = format!("n/a: {}", sanitize(why)),
        Runq::On(r) => {
            h.runqlat = "on".into();
            h.runq_lat_watched_ms = Some(ms(r.watched()));
            h.runq_lat_count = Some(r.all.count());
            h.runq_lat_sum_ms = Some(ms(r.all.sum_ns));
            h.runq_lat_p50_ms = r.all.quantile_ns(0.5).map(ms);
            h.runq_lat_p99_ms = r.all.quantile_ns(0.99).map(ms);
            h.runq_lat_max_ms = r.all.max_ns().map(ms);
            h.runq_lat_hist = Some(hist_text(&r.all));
            h.runq_lat_lost = Some(r.lost);
            if let Some(f) = &r.focus {
                h.runq_focus_pid = Some(f.pid);
                h.runq_focus_count = Some(f.hist.count());
                h.runq_focus_p50_ms = f.hist.quantile_ns(0.5).map(ms);
                h.runq_focus_p99_ms = f.hist.quantile_ns(0.99).map(ms);
                h.runq_focus_max_ms = f.hist.max_ns().map(ms);
                h.runq_focus_hist = Some(hist_text(&f.hist));
            }
        }
    }
    h
}

// ---- OpenMetrics ----

#[derive(Debug, Default)]
struct HistState {
    sum_s: f64,
    count: u64,
    buckets: [u64; BUCKETS],
}

/// The system-wide histogram, fed whole intervals (the kernel has already bucketed them).
#[derive(Clone, Debug, Default)]
pub struct RunqMetrics(Arc<Mutex<HistState>>);

impl TypedMetric for RunqMetrics {
    const TYPE: MetricType = MetricType::Histogram;
}

impl EncodeMetric for RunqMetrics {
    fn encode(&self, mut encoder: MetricEncoder) -> Result<(), std::fmt::Error> {
        let h = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        // A bucket's `le` is the next bucket's lower end, in seconds.
        let buckets: Vec<(f64, u64)> = (0..BUCKETS)
            .map(|i| crate::model::runqlat::bucket_le_s(i).unwrap_or(f64::INFINITY))
            .zip(h.buckets.iter().copied())
            .collect();
        encoder.encode_histogram::<NoLabelSet>(h.sum_s, h.count, &buckets, None)
    }

    fn metric_type(&self) -> MetricType {
        Self::TYPE
    }
}

impl RunqMetrics {
    pub fn register(r: &mut Registry) -> RunqMetrics {
        let m = RunqMetrics::default();
        r.register_with_unit(
            "usetop_runq_latency",
            "Time tasks waited on a run queue for a CPU, from wake-up or preemption to running (eBPF on sched_wakeup and sched_switch)",
            Unit::Seconds,
            m.clone(),
        );
        m
    }

    /// Adds the snapshot's interval (each snapshot once).
    pub fn update(&self, s: &Snapshot) {
        let Runq::On(r) = s.runq() else {
            return;
        };
        let mut h = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        h.sum_s += r.all.sum_ns as f64 / 1e9;
        h.count = h.count.saturating_add(r.all.count());
        for (i, b) in h.buckets.iter_mut().enumerate() {
            *b = b.saturating_add(r.all.bucket_count(i));
        }
    }
}
