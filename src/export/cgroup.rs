//! The cgroups in `dump --pane cgroup` (its header here; one record per cgroup from
//! `CGROUP_FIELDS`, every figure, field names with their unit) and in the OpenMetrics exposition (`usetop_cgroup_*`, labelled with the
//! cgroup's path), bounded by depth and count so a node with thousands of pods does not
//! explode a scrape.

use std::collections::{HashMap, HashSet};
use std::sync::atomic::AtomicU64;

use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::{Registry, Unit};
use serde::{Deserialize, Serialize};

use crate::model::Snapshot;
use crate::model::cgroup::{CgroupRow, CgroupTable, Limit};
use crate::model::delta;
use crate::model::fields::CgroupLine;
use crate::widgets::text::sanitize;

// ---- dump ----

/// The layout and what was read, beside the cgroups.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct CgroupHeader {
    /// `v2`, `v1`, `hybrid` or `none`.
    pub cgroup_layout: String,
    /// Whether the detail files were read (a dump always asks for them).
    pub cgroup_detail: bool,
    pub cgroup_count: usize,
    /// What could not be read and why, `; `-separated; `null` when everything was.
    pub cgroup_notes: Option<String>,
}

/// The dump of one snapshot's cgroups.
pub fn records(s: &Snapshot) -> (CgroupHeader, Vec<CgroupLine>) {
    let t = s.cgroups();
    let notes: Vec<String> = t
        .notes
        .iter()
        .map(|n| format!("{}: {}", n.source, n.reason))
        .collect();
    let header = CgroupHeader {
        cgroup_layout: t.layout.name().into(),
        cgroup_detail: t.detail,
        cgroup_count: t.rows.len(),
        cgroup_notes: (!notes.is_empty()).then(|| notes.join("; ")),
    };
    (header, CgroupLine::all(&t))
}

// ---- OpenMetrics ----

/// Which cgroups get series: those at most `max_depth` below the root (the root is depth
/// 0, `/system.slice` 1, a pod 3 under kubepods), and of those at most `max_count`: the
/// shallowest first, then the busiest (CPU, then memory), then by path.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CgroupLimits {
    pub max_depth: usize,
    pub max_count: usize,
}

pub const DEFAULT_CGROUP_DEPTH: usize = 3;
pub const DEFAULT_CGROUP_LIMIT: usize = 200;

impl Default for CgroupLimits {
    fn default() -> Self {
        CgroupLimits {
            max_depth: DEFAULT_CGROUP_DEPTH,
            max_count: DEFAULT_CGROUP_LIMIT,
        }
    }
}

/// The rows `limits` lets through, in export order.
pub fn exported(t: &CgroupTable, limits: CgroupLimits) -> Vec<&CgroupRow> {
    let mut rows: Vec<&CgroupRow> = t
        .rows
        .iter()
        .filter(|r| r.depth <= limits.max_depth)
        .collect();
    rows.sort_by(|a, b| {
        a.depth
            .cmp(&b.depth)
            .then(
                b.cpu_pct
                    .unwrap_or(0.0)
                    .total_cmp(&a.cpu_pct.unwrap_or(0.0)),
            )
            .then(
                b.mem_current()
                    .unwrap_or(0)
                    .cmp(&a.mem_current().unwrap_or(0)),
            )
            .then(a.rec.path.cmp(&b.rec.path))
    });
    rows.truncate(limits.max_count);
    rows
}

type Labels = Vec<(String, String)>;
type FGauge = Gauge<f64, AtomicU64>;
type FCounter = Counter<f64, AtomicU64>;

/// The `usetop_cgroup_*` families. Kernel counters are counters that only go up within
/// this process (each update adds the growth since the last); a cgroup re-created under
/// the same path adds from zero.
pub struct CgroupMetrics {
    pub limits: CgroupLimits,
    cpu: Family<Labels, FCounter>,
    periods: Family<Labels, Counter>,
    throttled_periods: Family<Labels, Counter>,
    throttled: Family<Labels, FCounter>,
    quota: Family<Labels, FGauge>,
    mem: Family<Labels, Gauge>,
    mem_max: Family<Labels, Gauge>,
    mem_high: Family<Labels, Gauge>,
    mem_events: Family<Labels, Counter>,
    pids: Family<Labels, Gauge>,
    pids_max: Family<Labels, Gauge>,
    io_read: Family<Labels, Counter>,
    io_written: Family<Labels, Counter>,
    io_reads: Family<Labels, Counter>,
    io_writes: Family<Labels, Counter>,
    psi: Family<Labels, FCounter>,
    count: Gauge,
    /// Last raw value per series key (`path\0inode\0what`).
    last: HashMap<String, u64>,
    /// Label sets set last update, to remove those of cgroups no longer exported.
    shown: HashSet<String>,
}

fn fam<M>(r: &mut Registry, name: &str, help: &str, unit: Option<Unit>) -> Family<Labels, M>
where
    M: Default
        + prometheus_client::metrics::TypedMetric
        + prometheus_client::encoding::EncodeMetric
        + Clone
        + std::fmt::Debug
        + Send
        + Sync
        + 'static,
{
    let f = Family::<Labels, M>::default();
    match unit {
        Some(u) => r.register_with_unit(name, help, u, f.clone()),
        None => r.register(name, help, f.clone()),
    }
    f
}

const EVENTS: [&str; 5] = ["low", "high", "max", "oom", "oom_kill"];

impl CgroupMetrics {
    pub fn register(r: &mut Registry) -> CgroupMetrics {
        let s = Some(Unit::Seconds);
        let b = Some(Unit::Bytes);
        let count = Gauge::default();
        r.register(
            "usetop_cgroups",
            "Cgroups read in the last sample (all of them, exported or not)",
            count.clone(),
        );
        CgroupMetrics {
            limits: CgroupLimits::default(),
            cpu: fam(
                r,
                "usetop_cgroup_cpu_usage",
                "CPU time used by the cgroup's tasks (cpu.stat usage_usec, v1 cpuacct.usage)",
                s.clone(),
            ),
            periods: fam(
                r,
                "usetop_cgroup_cpu_periods",
                "CFS enforcement periods elapsed (cpu.stat nr_periods)",
                None,
            ),
            throttled_periods: fam(
                r,
                "usetop_cgroup_cpu_throttled_periods",
                "Periods in which the cgroup was throttled at its quota (nr_throttled)",
                None,
            ),
            throttled: fam(
                r,
                "usetop_cgroup_cpu_throttled",
                "Time throttled at the quota (throttled_usec, v1 throttled_time)",
                s.clone(),
            ),
            quota: fam(
                r,
                "usetop_cgroup_cpu_quota",
                "CPU quota in CPUs (cpu.max, v1 cfs_quota_us/cfs_period_us); absent without one",
                Some(Unit::Other("cpus".into())),
            ),
            mem: fam(
                r,
                "usetop_cgroup_memory",
                "Memory charged to the cgroup (memory.current, v1 memory.usage_in_bytes)",
                b.clone(),
            ),
            mem_max: fam(
                r,
                "usetop_cgroup_memory_max",
                "memory.max (v1 memory.limit_in_bytes); absent when unlimited",
                b.clone(),
            ),
            mem_high: fam(
                r,
                "usetop_cgroup_memory_high",
                "memory.high (reclaim and throttling above it); absent when unlimited",
                b.clone(),
            ),
            mem_events: fam(
                r,
                "usetop_cgroup_memory_events",
                "memory.events by event (low, high, max, oom, oom_kill; v1: max is memory.failcnt, oom_kill from memory.oom_control)",
                None,
            ),
            pids: fam(
                r,
                "usetop_cgroup_pids",
                "Tasks in the cgroup (pids.current)",
                None,
            ),
            pids_max: fam(
                r,
                "usetop_cgroup_pids_max",
                "pids.max; absent when unlimited",
                None,
            ),
            io_read: fam(
                r,
                "usetop_cgroup_io_read",
                "Bytes read, all devices (io.stat rbytes, v1 blkio.throttle.io_service_bytes)",
                b.clone(),
            ),
            io_written: fam(
                r,
                "usetop_cgroup_io_written",
                "Bytes written, all devices (io.stat wbytes)",
                b,
            ),
            io_reads: fam(
                r,
                "usetop_cgroup_io_reads",
                "Read I/Os, all devices (io.stat rios, v1 blkio.throttle.io_serviced)",
                None,
            ),
            io_writes: fam(
                r,
                "usetop_cgroup_io_writes",
                "Write I/Os, all devices (io.stat wios)",
                None,
            ),
            psi: fam(
                r,
                "usetop_cgroup_pressure_stall",
                "Time the cgroup's tasks stalled (PSI; resource cpu, memory, io; kind some or full)",
                s,
            ),
            count,
            last: HashMap::new(),
            shown: HashSet::new(),
        }
    }

    fn grow(
        last: &mut HashMap<String, u64>,
        seen: &mut HashSet<String>,
        key: String,
        cur: u64,
    ) -> u64 {
        seen.insert(key.clone());
        match last.insert(key, cur) {
            Some(prev) => delta(prev, cur),
            None => cur,
        }
    }

    pub fn update(&mut self, snap: &Snapshot) {
        let t = snap.cgroups();
        self.count.set(t.rows.len() as i64);
        let rows = exported(&t, self.limits);
        let mut shown = HashSet::with_capacity(rows.len());
        let mut seen = HashSet::with_capacity(rows.len() * 16);
        let g = |v: u64| i64::try_from(v).unwrap_or(i64::MAX);
        for r in rows {
            let c = &r.rec;
            let path = sanitize(&c.path).into_owned();
            let labels: Labels = vec![("cgroup".into(), path.clone())];
            let k = |what: &str| format!("{path}\0{}\0{what}", c.ino);
            let (last, seen_ref) = (&mut self.last, &mut seen);
            let mut grow = |what: &str, v: u64| Self::grow(last, seen_ref, k(what), v);
            if let Some(v) = c.cpu.usage_us {
                let d = grow("cpu", v);
                self.cpu.get_or_create(&labels).inc_by(d as f64 / 1e6);
            }
            if let Some(v) = c.cpu.nr_periods {
                let d = grow("periods", v);
                self.periods.get_or_create(&labels).inc_by(d);
            }
            if let Some(v) = c.cpu.nr_throttled {
                let d = grow("thr_periods", v);
                self.throttled_periods.get_or_create(&labels).inc_by(d);
            }
            if let Some(v) = c.cpu.throttled_us {
                let d = grow("thr", v);
                self.throttled.get_or_create(&labels).inc_by(d as f64 / 1e6);
            }
            set_or_remove_f(&self.quota, &labels, r.quota_cpus);
            set_or_remove(&self.mem, &labels, c.mem.current.map(g));
            set_or_remove(
                &self.mem_max,
                &labels,
                c.mem.max.and_then(Limit::value).map(g),
            );
            set_or_remove(
                &self.mem_high,
                &labels,
                c.mem.high.and_then(Limit::value).map(g),
            );
            set_or_remove(&self.pids, &labels, c.pids.current.map(g));
            set_or_remove(
                &self.pids_max,
                &labels,
                c.pids.max.and_then(Limit::value).map(g),
            );
            let ev = c.mem.events;
            for (name, v) in EVENTS
                .into_iter()
                .zip([ev.low, ev.high, ev.max, ev.oom, ev.oom_kill])
            {
                if let Some(v) = v {
                    let d = grow(name, v);
                    let mut l = labels.clone();
                    l.push(("event".into(), name.into()));
                    self.mem_events.get_or_create(&l).inc_by(d);
                }
            }
            if let Some(devs) = &c.io.stat {
                let sum = |f: fn(&crate::model::cgroup::IoDevStat) -> u64| {
                    devs.iter().map(f).fold(0u64, u64::saturating_add)
                };
                for (what, fam, v) in [
                    ("rb", &self.io_read, sum(|d| d.rbytes)),
                    ("wb", &self.io_written, sum(|d| d.wbytes)),
                    ("ri", &self.io_reads, sum(|d| d.rios)),
                    ("wi", &self.io_writes, sum(|d| d.wios)),
                ] {
                    let d = grow(what, v);
                    fam.get_or_create(&labels).inc_by(d);
                }
            }
            for (res, psi) in [
                ("cpu", c.psi.cpu),
                ("memory", c.psi.memory),
                ("io", c.psi.io),
            ] {
                let Some(psi) = psi else { continue };
                for (kind, line) in [("some", Some(psi.some)), ("full", psi.full)] {
                    let Some(line) = line else { continue };
                    let d = grow(&format!("psi/{res}/{kind}"), line.total_us);
                    let mut l = labels.clone();
                    l.push(("resource".into(), res.into()));
                    l.push(("kind".into(), kind.into()));
                    self.psi.get_or_create(&l).inc_by(d as f64 / 1e6);
                }
            }
            shown.insert(path);
        }
        // Cgroups gone or no longer among those exported: their series go, and so does
        // what was kept to add their growth.
        for path in self.shown.difference(&shown) {
            self.remove(path);
        }
        self.last.retain(|k, _| seen.contains(k));
        self.shown = shown;
    }

    fn remove(&self, path: &str) {
        let labels: Labels = vec![("cgroup".into(), path.to_string())];
        self.cpu.remove(&labels);
        self.periods.remove(&labels);
        self.throttled_periods.remove(&labels);
        self.throttled.remove(&labels);
        self.quota.remove(&labels);
        self.mem.remove(&labels);
        self.mem_max.remove(&labels);
        self.mem_high.remove(&labels);
        self.pids.remove(&labels);
        self.pids_max.remove(&labels);
        self.io_read.remove(&labels);
        self.io_written.remove(&labels);
        self.io_reads.remove(&labels);
        self.io_writes.remove(&labels);
        for ev in EVENTS {
            let mut l = labels.clone();
            l.push(("event".into(), ev.into()));
            self.mem_events.remove(&l);
        }
        for res in ["cpu", "memory", "io"] {
            for kind in ["some", "full"] {
                let mut l = labels.clone();
                l.push(("resource".into(), res.into()));
                l.push(("kind".into(), kind.into()));
                self.psi.remove(&l);
            }
        }
    }
}

fn set_or_remove(f: &Family<Labels, Gauge>, labels: &Labels, v: Option<i64>) {
    match v {
        Some(v) => {
            f.get_or_create(labels).set(v);
        }
        None => {
            f.remove(labels);
        }
    }
}

fn set_or_remove_f(f: &Family<Labels, FGauge>, labels: &Labels, v: Option<f64>) {
    match v {
        Some(v) => {
            f.get_or_create(labels).set(v);
        }
        None => {
            f.remove(labels);
        }
    }
}
