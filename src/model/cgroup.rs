//! Resource controls: the raw counters of every cgroup (v2, or v1 and hybrid merged by path)
//! as one sample holds them, and the figures derived from two samples over the measured
//! interval (CPU against its quota, throttling, memory against the nearest limit, events,
//! I/O, pids, PSI). A cgroup is its path plus its directory's inode: one re-created under
//! the same name is new, and gets no rates until its second sample.

use std::cmp::Ordering;
use std::collections::HashMap;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use super::counters::delta;
use super::sample::{Note, Psi, PsiLine};
use super::snapshot::Snapshot;

pub use super::cgroup_name::cgroup_name;

/// Which cgroup layout the sample was read from.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum CgroupLayout {
    /// Neither v1 controllers nor a v2 hierarchy under `/sys/fs/cgroup`.
    #[default]
    None,
    /// cgroup v2 alone (`/sys/fs/cgroup/cgroup.controllers`).
    Unified,
    /// v1 controllers under `/sys/fs/cgroup/<controller>/`, no v2 hierarchy.
    V1,
    /// v1 controllers plus a v2 hierarchy at `/sys/fs/cgroup/unified` (its pressure files).
    Hybrid,
}

impl CgroupLayout {
    pub fn name(self) -> &'static str {
        match self {
            CgroupLayout::None => "none",
            CgroupLayout::Unified => "v2",
            CgroupLayout::V1 => "v1",
            CgroupLayout::Hybrid => "hybrid",
        }
    }
}

/// Every cgroup of one sample, in tree order (a parent before its children, siblings by
/// name). Part of the recording format: fields are positional, never reorder them.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct CgroupSample {
    pub layout: CgroupLayout,
    /// Whether the detail files (cgroup.procs, memory.stat, io.stat, …) were read; without
    /// them those figures are `None`, not zero.
    pub detail: bool,
    pub groups: Vec<Arc<CgroupRecord>>,
    /// What could not be read and why (no permission, no controller, no cgroup mounted).
    /// Kept here rather than in `Sample::notes`: the cgroup pane shows them.
    pub notes: Vec<Note>,
}

/// A limit file: `max` (or v1's "unlimited" values) or a number.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Limit {
    Max,
    At(u64),
}

impl Limit {
    pub fn value(self) -> Option<u64> {
        match self {
            Limit::Max => None,
            Limit::At(v) => Some(v),
        }
    }
}

/// `cpu.max` (v2) or `cpu.cfs_quota_us` and `cpu.cfs_period_us` (v1).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CpuMax {
    /// `None`: no quota (`max`, or -1 in v1).
    pub quota_us: Option<u64>,
    pub period_us: u64,
}

impl CpuMax {
    /// The quota in CPUs (0.5 = half of one CPU), `None` without a quota.
    pub fn cpus(&self) -> Option<f64> {
        let q = self.quota_us?;
        (self.period_us > 0).then(|| q as f64 / self.period_us as f64)
    }
}

/// CPU counters in microseconds (v1's nanoseconds are converted when read).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CgCpu {
    pub usage_us: Option<u64>,
    pub user_us: Option<u64>,
    pub system_us: Option<u64>,
    pub nr_periods: Option<u64>,
    pub nr_throttled: Option<u64>,
    pub throttled_us: Option<u64>,
    pub nr_bursts: Option<u64>,
    pub max: Option<CpuMax>,
    pub weight: Option<u64>,
}

/// `memory.events` (v2). In v1, `max` is `memory.failcnt` and `oom_kill` comes from
/// `memory.oom_control`; the others are `None` there.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct MemEvents {
    pub low: Option<u64>,
    pub high: Option<u64>,
    pub max: Option<u64>,
    pub oom: Option<u64>,
    pub oom_kill: Option<u64>,
}

/// The main lines of `memory.stat`, bytes except the event counters.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct MemStat {
    pub anon: Option<u64>,
    pub file: Option<u64>,
    pub kernel: Option<u64>,
    pub sock: Option<u64>,
    pub shmem: Option<u64>,
    pub pgmajfault: Option<u64>,
    pub workingset_refault_anon: Option<u64>,
    pub workingset_refault_file: Option<u64>,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CgMem {
    /// `memory.current` (v2) or `memory.usage_in_bytes` (v1).
    pub current: Option<u64>,
    /// `memory.max` (v2) or `memory.limit_in_bytes` (v1).
    pub max: Option<Limit>,
    pub high: Option<Limit>,
    pub low: Option<u64>,
    pub swap_current: Option<u64>,
    pub events: MemEvents,
    /// v1 `memory.oom_control` under_oom: the cgroup is stalled in OOM right now.
    pub under_oom: Option<bool>,
    pub stat: Option<MemStat>,
}

/// One device's line of `io.stat` (or the v1 blkio throttle files).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct IoDevStat {
    pub major: u32,
    pub minor: u32,
    pub rbytes: u64,
    pub wbytes: u64,
    pub rios: u64,
    pub wios: u64,
}

/// One device's line of `io.max`; `None` is `max`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct IoMax {
    pub major: u32,
    pub minor: u32,
    pub rbps: Option<u64>,
    pub wbps: Option<u64>,
    pub riops: Option<u64>,
    pub wiops: Option<u64>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CgIo {
    pub stat: Option<Vec<IoDevStat>>,
    pub max: Option<Vec<IoMax>>,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CgPids {
    pub current: Option<u64>,
    pub max: Option<Limit>,
    /// `pids.events` max: forks refused at the limit.
    pub events_max: Option<u64>,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct CgPsi {
    pub cpu: Option<Psi>,
    pub memory: Option<Psi>,
    pub io: Option<Psi>,
}

/// The raw files of one cgroup. `None` is "not read" (no controller, no permission, a
/// detail file while only the overview was asked for), never zero.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct CgroupRecord {
    /// `/` for the root, else `/system.slice/nginx.service`.
    pub path: String,
    /// The directory's inode (v2: the cgroup id). In v1 layouts a mix of the inodes of the
    /// path's directory in every hierarchy, so a re-creation in any of them is seen.
    pub ino: u64,
    /// Processes in `cgroup.procs` (detail).
    pub procs: Option<u64>,
    pub cpu: CgCpu,
    pub mem: CgMem,
    pub io: CgIo,
    pub pids: CgPids,
    pub psi: CgPsi,
}

/// Whose `/proc/PID/cgroup` the sampler reads.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum TaskCgroups {
    #[default]
    None,
    /// The processes on screen (`Request::screen`).
    Screen,
    /// Every process (a `cgroup:` filter is active).
    All,
}

/// A process's cgroups, from `/proc/PID/cgroup` (read only for the processes that need it;
/// not part of recordings).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TaskCgroup {
    pub pid: u32,
    /// The process's start time (clock ticks after boot): a reused pid is another process.
    pub start_time: u64,
    /// The path the cgroup pane knows it by (v1 and hybrid: the cpu hierarchy's).
    pub path: String,
    /// Every hierarchy's path, sorted, without repeats.
    pub paths: Vec<String>,
}

impl TaskCgroup {
    /// A `cgroup:` filter term: a path (`/system.slice`, the cgroup and those under it, in
    /// any hierarchy), or the start of a readable name (`nginx`, `docker:`).
    pub fn matches(&self, term: &str) -> bool {
        if term.starts_with('/') {
            let t = term.trim_end_matches('/');
            self.paths.iter().any(|p| {
                t.is_empty() || p == t || p.strip_prefix(t).is_some_and(|r| r.starts_with('/'))
            })
        } else {
            let t = term.to_lowercase();
            self.paths
                .iter()
                .any(|p| cgroup_name(p).to_lowercase().starts_with(&t))
        }
    }
}

/// The tree order of cgroup paths: the root first, then component by component, so a
/// parent comes right before its subtree (plain string order would put `/a-b` between
/// `/a` and `/a/b`).
pub fn cmp_paths(a: &str, b: &str) -> Ordering {
    components(a).cmp(components(b))
}

fn components(p: &str) -> impl Iterator<Item = &str> {
    let p = p.trim_start_matches('/');
    let empty = p.is_empty();
    p.split('/').filter(move |_| !empty)
}

/// Depth of a path: 0 for the root, 1 for `/system.slice`.
pub fn path_depth(path: &str) -> usize {
    let p = path.trim_matches('/');
    if p.is_empty() {
        0
    } else {
        p.split('/').count()
    }
}

/// The parent's path, `None` for the root.
pub fn parent_path(path: &str) -> Option<&str> {
    let p = path.trim_end_matches('/');
    if p.is_empty() {
        return None;
    }
    match p.rfind('/') {
        Some(0) => Some("/"),
        Some(i) => Some(&p[..i]),
        None => Some("/"),
    }
}

/// Events counted during the interval (`None` where either sample lacks the counter).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct EventCounts {
    pub low: Option<u64>,
    pub high: Option<u64>,
    pub max: Option<u64>,
    pub oom: Option<u64>,
    pub oom_kill: Option<u64>,
}

/// PSI stall share of wall time over the interval, from the `total` counters.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct PsiPct {
    pub cpu_some: Option<f64>,
    pub cpu_full: Option<f64>,
    pub mem_some: Option<f64>,
    pub mem_full: Option<f64>,
    pub io_some: Option<f64>,
    pub io_full: Option<f64>,
}

/// The tightest memory limit on the way to the root.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct NearestLimit {
    /// Row of the cgroup whose limit it is (this row, or an ancestor).
    pub at: usize,
    /// The lower of its `memory.max` and `memory.high`.
    pub bytes: u64,
    /// That cgroup's usage as a share of it (it includes this cgroup's).
    pub pct: f64,
}

/// One cgroup over one interval. Rates are `None` for a cgroup new in this sample (or
/// re-created: another inode), and where a figure was not read at either end.
#[derive(Clone, Debug, PartialEq)]
pub struct CgroupRow {
    pub rec: Arc<CgroupRecord>,
    /// A name that fits a narrow column (`nginx.service`, `docker:0123456789ab`).
    pub name: String,
    pub depth: usize,
    /// The parent's row in the same table (`None` for the root, or where the parent was
    /// not read).
    pub parent: Option<usize>,
    /// No earlier sample of this cgroup: rates start next interval.
    pub fresh: bool,
    /// CPU used, percent of one CPU (like top: 200 is two CPUs busy).
    pub cpu_pct: Option<f64>,
    /// CPU used, percent of all the host's CPUs.
    pub cpu_host_pct: Option<f64>,
    pub cpu_user_pct: Option<f64>,
    pub cpu_system_pct: Option<f64>,
    /// The quota in CPUs; `None` without one.
    pub quota_cpus: Option<f64>,
    /// CPU used as a share of the quota.
    pub cpu_quota_pct: Option<f64>,
    /// Periods throttled as a share of periods run; `None` when no period ran.
    pub throttled_pct: Option<f64>,
    /// Time throttled, milliseconds per second.
    pub throttled_ms_s: Option<f64>,
    /// CFS bursts during the interval.
    pub bursts: Option<u64>,
    pub mem_limit: Option<NearestLimit>,
    pub events: EventCounts,
    /// Forks refused at `pids.max` during the interval.
    pub pids_refused: Option<u64>,
    pub pids_pct: Option<f64>,
    pub read_bps: Option<f64>,
    pub write_bps: Option<f64>,
    pub read_iops: Option<f64>,
    pub write_iops: Option<f64>,
    pub pgmajfault_s: Option<f64>,
    pub refault_s: Option<f64>,
    pub psi: PsiPct,
}

impl CgroupRow {
    /// The stable key of a row (selection survives refreshes by it).
    pub fn key(&self) -> &str {
        &self.rec.path
    }

    pub fn mem_current(&self) -> Option<u64> {
        self.rec.mem.current
    }
}

/// Every cgroup of a snapshot with its figures, in tree order.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct CgroupTable {
    pub layout: CgroupLayout,
    pub detail: bool,
    pub rows: Vec<CgroupRow>,
    /// The sample's notes, and one saying so when the sample holds no cgroup data at all
    /// (a recording made before cgroups were recorded).
    pub notes: Vec<Note>,
}

/// Note source for a sample without cgroup data.
pub const NOTE_NONE_RECORDED: &str = "cgroup";

impl CgroupTable {
    /// `prev` and `cur` as sampled; `dt_s` the measured interval (0: no rates); `ncpu` the
    /// host's CPUs, for the share of the host.
    pub fn derive(
        prev: Option<&CgroupSample>,
        cur: Option<&CgroupSample>,
        dt_s: f64,
        ncpu: usize,
    ) -> CgroupTable {
        let Some(cur) = cur else {
            return CgroupTable {
                notes: vec![Note {
                    source: NOTE_NONE_RECORDED.into(),
                    reason: "this recording holds no cgroup data (made by an older usetop)".into(),
                }],
                ..CgroupTable::default()
            };
        };
        let prev = if dt_s > 0.0 { prev } else { None };
        let mut index: HashMap<&str, usize> = HashMap::with_capacity(cur.groups.len());
        for (i, g) in cur.groups.iter().enumerate() {
            index.insert(g.path.as_str(), i);
        }
        let mut rows: Vec<CgroupRow> = cur
            .groups
            .iter()
            .map(|g| {
                let before = prev.and_then(|p| find(&p.groups, &g.path));
                let before = before.filter(|b| b.ino == g.ino);
                let mut row = derive_row(before.map(|b| &**b), g, dt_s, ncpu);
                row.parent = parent_path(&g.path).and_then(|pp| index.get(pp).copied());
                row
            })
            .collect();
        for i in 0..rows.len() {
            rows[i].mem_limit = nearest_limit(&rows, i);
        }
        CgroupTable {
            layout: cur.layout,
            detail: cur.detail,
            rows,
            notes: cur.notes.clone(),
        }
    }

    pub fn get(&self, path: &str) -> Option<&CgroupRow> {
        self.index_of(path).map(|i| &self.rows[i])
    }

    pub fn index_of(&self, path: &str) -> Option<usize> {
        self.rows
            .binary_search_by(|r| cmp_paths(&r.rec.path, path))
            .ok()
    }

    /// Rows whose parent is row `i`.
    pub fn children(&self, i: usize) -> impl Iterator<Item = usize> + '_ {
        self.rows
            .iter()
            .enumerate()
            .skip(i + 1)
            .take_while(move |(_, r)| r.depth > self.rows[i].depth)
            .filter(move |(_, r)| r.parent == Some(i))
            .map(|(j, _)| j)
    }

    pub fn note(&self, source: &str) -> Option<&str> {
        self.notes
            .iter()
            .find(|n| n.source == source)
            .map(|n| n.reason.as_str())
    }
}

impl Snapshot {
    /// Every cgroup's figures over this snapshot's interval, derived on demand (like
    /// `tasks()`): a ring of snapshots does not hold a table each.
    pub fn cgroups(&self) -> CgroupTable {
        CgroupTable::derive(
            self.prev.as_ref().and_then(|p| p.cgroups.as_ref()),
            self.cur.cgroups.as_ref(),
            self.dt_s,
            self.cpu.ncpu,
        )
    }
}

fn find<'a>(groups: &'a [Arc<CgroupRecord>], path: &str) -> Option<&'a Arc<CgroupRecord>> {
    match groups.binary_search_by(|g| cmp_paths(&g.path, path)) {
        Ok(i) => groups.get(i),
        // A sample not in tree order (a hostile recording): look it up the slow way.
        Err(_) => groups.iter().find(|g| g.path == path),
    }
}

/// Increase of a counter read in both samples.
fn d(p: Option<u64>, c: Option<u64>) -> Option<u64> {
    Some(delta(p?, c?))
}

fn per_s(v: Option<u64>, dt: f64) -> Option<f64> {
    v.map(|v| v as f64 / dt)
}

fn psi_pct(p: Option<&PsiLine>, c: Option<&PsiLine>, dt: f64) -> Option<f64> {
    let us = delta(p?.total_us, c?.total_us);
    Some((us as f64 / dt / 1e4).clamp(0.0, 100.0))
}

fn io_totals(p: &[IoDevStat], c: &[IoDevStat]) -> [u64; 4] {
    let mut t = [0u64; 4];
    for dev in c {
        // A device first listed this interval started from zero: the cgroup is the same.
        let before = p
            .iter()
            .find(|x| x.major == dev.major && x.minor == dev.minor)
            .copied()
            .unwrap_or(IoDevStat {
                major: dev.major,
                minor: dev.minor,
                ..IoDevStat::default()
            });
        t[0] = t[0].saturating_add(delta(before.rbytes, dev.rbytes));
        t[1] = t[1].saturating_add(delta(before.wbytes, dev.wbytes));
        t[2] = t[2].saturating_add(delta(before.rios, dev.rios));
        t[3] = t[3].saturating_add(delta(before.wios, dev.wios));
    }
    t
}

fn derive_row(p: Option<&CgroupRecord>, c: &Arc<CgroupRecord>, dt: f64, ncpu: usize) -> CgroupRow {
    let quota_cpus = c.cpu.max.and_then(|m| m.cpus());
    let pids_pct = match (c.pids.current, c.pids.max) {
        (Some(cur), Some(Limit::At(max))) if max > 0 => {
            Some((cur as f64 * 100.0 / max as f64).min(100.0))
        }
        _ => None,
    };
    let mut row = CgroupRow {
        rec: Arc::clone(c),
        name: cgroup_name(&c.path),
        depth: path_depth(&c.path),
        parent: None,
        fresh: p.is_none(),
        cpu_pct: None,
        cpu_host_pct: None,
        cpu_user_pct: None,
        cpu_system_pct: None,
        quota_cpus,
        cpu_quota_pct: None,
        throttled_pct: None,
        throttled_ms_s: None,
        bursts: None,
        mem_limit: None,
        events: EventCounts::default(),
        pids_refused: None,
        pids_pct,
        read_bps: None,
        write_bps: None,
        read_iops: None,
        write_iops: None,
        pgmajfault_s: None,
        refault_s: None,
        psi: PsiPct::default(),
    };
    let Some(p) = p else {
        return row;
    };
    if dt <= 0.0 {
        return row;
    }
    // Microseconds of CPU per second of wall time, over 1e4, is percent of one CPU.
    let cpu = |f: fn(&CgCpu) -> Option<u64>| per_s(d(f(&p.cpu), f(&c.cpu)), dt).map(|v| v / 1e4);
    row.cpu_pct = cpu(|x| x.usage_us);
    row.cpu_user_pct = cpu(|x| x.user_us);
    row.cpu_system_pct = cpu(|x| x.system_us);
    row.cpu_host_pct = row.cpu_pct.map(|v| v / ncpu.max(1) as f64);
    row.cpu_quota_pct = row
        .cpu_pct
        .zip(quota_cpus)
        .filter(|(_, q)| *q > 0.0)
        .map(|(u, q)| u / q);
    let periods = d(p.cpu.nr_periods, c.cpu.nr_periods);
    let throttled = d(p.cpu.nr_throttled, c.cpu.nr_throttled);
    row.throttled_pct = match (periods, throttled) {
        (Some(n), Some(t)) if n > 0 => Some((t as f64 * 100.0 / n as f64).min(100.0)),
        _ => None,
    };
    row.throttled_ms_s = per_s(d(p.cpu.throttled_us, c.cpu.throttled_us), dt).map(|v| v / 1e3);
    row.bursts = d(p.cpu.nr_bursts, c.cpu.nr_bursts);
    let (pe, ce) = (&p.mem.events, &c.mem.events);
    row.events = EventCounts {
        low: d(pe.low, ce.low),
        high: d(pe.high, ce.high),
        max: d(pe.max, ce.max),
        oom: d(pe.oom, ce.oom),
        oom_kill: d(pe.oom_kill, ce.oom_kill),
    };
    row.pids_refused = d(p.pids.events_max, c.pids.events_max);
    if let (Some(ps), Some(cs)) = (&p.io.stat, &c.io.stat) {
        let [rb, wb, ri, wi] = io_totals(ps, cs);
        row.read_bps = Some(rb as f64 / dt);
        row.write_bps = Some(wb as f64 / dt);
        row.read_iops = Some(ri as f64 / dt);
        row.write_iops = Some(wi as f64 / dt);
    }
    if let (Some(ps), Some(cs)) = (&p.mem.stat, &c.mem.stat) {
        row.pgmajfault_s = per_s(d(ps.pgmajfault, cs.pgmajfault), dt);
        let refault = |s: &MemStat| match (s.workingset_refault_anon, s.workingset_refault_file) {
            (None, None) => None,
            (a, f) => Some(a.unwrap_or(0).saturating_add(f.unwrap_or(0))),
        };
        row.refault_s = per_s(d(refault(ps), refault(cs)), dt);
    }
    let line = |psi: &Option<Psi>, full: bool| {
        psi.as_ref()
            .and_then(|x| if full { x.full } else { Some(x.some) })
    };
    let pct = |f: fn(&CgPsi) -> &Option<Psi>, full: bool| {
        psi_pct(
            line(f(&p.psi), full).as_ref(),
            line(f(&c.psi), full).as_ref(),
            dt,
        )
    };
    row.psi = PsiPct {
        cpu_some: pct(|x| &x.cpu, false),
        cpu_full: pct(|x| &x.cpu, true),
        mem_some: pct(|x| &x.memory, false),
        mem_full: pct(|x| &x.memory, true),
        io_some: pct(|x| &x.io, false),
        io_full: pct(|x| &x.io, true),
    };
    row
}

/// The limit of one cgroup itself: the lower of memory.max and memory.high.
fn own_limit(m: &CgMem) -> Option<u64> {
    let max = m.max.and_then(Limit::value);
    let high = m.high.and_then(Limit::value);
    match (max, high) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}

/// The limit on the way to the root whose cgroup is fullest: a parent's limit counts, set
/// against the parent's own usage (which includes this cgroup's and its siblings').
fn nearest_limit(rows: &[CgroupRow], i: usize) -> Option<NearestLimit> {
    let mut best: Option<NearestLimit> = None;
    let mut at = Some(i);
    let mut hops = 0;
    while let Some(j) = at {
        let r = &rows[j];
        if let (Some(lim), Some(cur)) = (own_limit(&r.rec.mem), r.rec.mem.current) {
            let pct = if lim == 0 {
                100.0
            } else {
                (cur as f64 * 100.0 / lim as f64).min(100.0)
            };
            if best.is_none_or(|b| pct > b.pct) {
                best = Some(NearestLimit {
                    at: j,
                    bytes: lim,
                    pct,
                });
            }
        }
        at = r.parent.filter(|&p| p < j);
        hops += 1;
        if hops > rows.len() {
            break;
        }
    }
    best
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tree_order_puts_a_subtree_after_its_parent() {
        let mut v = vec!["/a/b", "/a-b", "/", "/a", "/b", "/a/b/c"];
        v.sort_by(|a, b| cmp_paths(a, b));
        assert_eq!(v, ["/", "/a", "/a/b", "/a/b/c", "/a-b", "/b"]);
        assert_eq!(cmp_paths("/", "/"), Ordering::Equal);
    }

    #[test]
    fn depth_and_parent() {
        assert_eq!(path_depth("/"), 0);
        assert_eq!(path_depth("/a"), 1);
        assert_eq!(path_depth("/a/b"), 2);
        assert_eq!(parent_path("/"), None);
        assert_eq!(parent_path("/a"), Some("/"));
        assert_eq!(parent_path("/a/b"), Some("/a"));
    }

    fn rec(path: &str, ino: u64, usage: u64) -> Arc<CgroupRecord> {
        Arc::new(CgroupRecord {
            path: path.into(),
            ino,
            cpu: CgCpu {
                usage_us: Some(usage),
                ..CgCpu::default()
            },
            ..CgroupRecord::default()
        })
    }

    fn sample(groups: Vec<Arc<CgroupRecord>>) -> CgroupSample {
        CgroupSample {
            layout: CgroupLayout::Unified,
            groups,
            ..CgroupSample::default()
        }
    }

    #[test]
    fn a_recreated_cgroup_has_no_rates() {
        let p = sample(vec![rec("/", 1, 0), rec("/a", 2, 5_000_000)]);
        let c = sample(vec![rec("/", 1, 500_000), rec("/a", 3, 10)]);
        let t = CgroupTable::derive(Some(&p), Some(&c), 1.0, 2);
        assert_eq!(t.rows[0].cpu_pct, Some(50.0));
        assert_eq!(t.rows[0].cpu_host_pct, Some(25.0));
        assert!(t.rows[1].fresh);
        assert_eq!(t.rows[1].cpu_pct, None);
        assert_eq!(t.rows[1].parent, Some(0));
    }

    #[test]
    fn no_sample_says_so() {
        let t = CgroupTable::derive(None, None, 1.0, 1);
        assert!(t.rows.is_empty());
        assert!(t.note(NOTE_NONE_RECORDED).is_some());
    }
}
