//! The overview's cgroup rows: the worst few cgroups (throttled, near a memory, CPU or pids
//! limit, stalled, OOM kills and limit hits), then one row for the rest. Only the figures of
//! the files the collector reads every refresh feed them (cpu.stat, the limits,
//! memory.events, the usages under a limit, pressure), never the detail set.

use super::Snapshot;
use super::cgroup::{CgroupRow, CgroupTable, Limit};
use super::level::Level;
use super::thresholds::Thresholds;
use super::verdict::{
    Cell, CgEvents, CgStall, CgUse, Figure, Instance, Kind, Missing, Reason, Resource, Verdict,
};

/// How many cgroups the overview lists one by one before summarising the rest.
pub const CGROUP_SHOWN: usize = 2;

/// One cgroup judged: its cells, and how bad it is for the ranking.
struct Judged {
    path: String,
    u: Cell,
    s: Cell,
    e: Cell,
    /// The worst of the cells' levels, then the highest share of a limit or of time.
    rank: (Level, f64),
    u_pct: Option<f64>,
    thr_pct: Option<f64>,
    events: CgEvents,
}

/// The usage nearest its limit: CPU against the quota, memory against the nearest limit
/// (a parent's counts), pids against pids.max; with its level.
fn usage(t: &CgroupTable, r: &CgroupRow, th: &Thresholds) -> Option<(CgUse, Level)> {
    let mut all = Vec::new();
    if let (Some(pct), Some(q)) = (r.cpu_quota_pct, r.quota_cpus) {
        let l = Level::of(
            Some(pct),
            th.cgroup_quota_pct.warn,
            th.cgroup_quota_pct.crit,
        );
        all.push((CgUse::Cpu { pct, quota_cpus: q }, l));
    }
    if let Some(m) = r.mem_limit {
        let l = Level::of(Some(m.pct), th.cgroup_mem_pct.warn, th.cgroup_mem_pct.crit);
        let of = (t.rows.get(m.at).map(|a| a.rec.path.as_str()) != Some(r.rec.path.as_str()))
            .then(|| t.rows.get(m.at).map(|a| a.name.clone()))
            .flatten();
        all.push((
            CgUse::Mem {
                pct: m.pct,
                limit: m.bytes,
                of,
            },
            l,
        ));
    }
    if let (Some(pct), Some(Limit::At(max))) = (r.pids_pct, r.rec.pids.max) {
        let l = Level::of(Some(pct), th.cgroup_pids_pct.warn, th.cgroup_pids_pct.crit);
        all.push((CgUse::Pids { pct, max }, l));
    }
    all.into_iter()
        .max_by(|a, b| a.1.cmp(&b.1).then(a.0.pct().total_cmp(&b.0.pct())))
}

/// The worst PSI "some" share of the cgroup: (resource, percent).
fn stall(r: &CgroupRow) -> Option<(&'static str, f64)> {
    [
        ("CPU", r.psi.cpu_some),
        ("memory", r.psi.mem_some),
        ("I/O", r.psi.io_some),
    ]
    .into_iter()
    .filter_map(|(n, v)| Some((n, v?)))
    .max_by(|a, b| a.1.total_cmp(&b.1))
}

fn judge(t: &CgroupTable, r: &CgroupRow, th: &Thresholds) -> Judged {
    let u = match usage(t, r, th) {
        Some((what, level)) => Cell {
            figure: Figure::CgroupUse(what.clone()),
            level,
            reason: Some(Reason::CgroupUse(what)),
        },
        None => Cell {
            figure: Figure::CgroupNoLimit(r.quota_cpus),
            level: Level::Unknown,
            reason: None,
        },
    };
    let psi = stall(r);
    let st = CgStall {
        throttled_pct: r.throttled_pct,
        throttled_ms_s: r.throttled_ms_s,
        quota_cpus: r.quota_cpus,
        psi,
        high: r.events.high,
    };
    let s_level = [
        Level::of(
            r.throttled_pct,
            th.cgroup_throttled_pct.warn,
            th.cgroup_throttled_pct.crit,
        ),
        Level::of(psi.map(|p| p.1), th.psi_some.warn, th.psi_some.crit),
        Level::of(
            r.events.high.map(|h| h as f64),
            th.cgroup_mem_events.warn,
            th.cgroup_mem_events.crit,
        ),
    ]
    .into_iter()
    .max()
    .unwrap_or(Level::Unknown);
    // The reason names a stall only where it counts.
    let why = CgStall {
        psi: psi.filter(|p| p.1 >= th.psi_some.warn),
        ..st
    };
    let s = Cell {
        figure: Figure::CgroupStall(st),
        level: s_level,
        reason: Some(Reason::CgroupStall(why)),
    };
    let ev = CgEvents {
        oom_kill: r.events.oom_kill,
        oom: r.events.oom,
        max: r.events.max,
        limit: r.rec.mem.max.and_then(Limit::value),
    };
    let kills = match (ev.oom_kill, ev.oom) {
        (None, None) => None,
        (a, b) => Some(a.unwrap_or(0).max(b.unwrap_or(0)) as f64),
    };
    let e_level = Level::of(kills, th.cgroup_oom.warn, th.cgroup_oom.crit).max(Level::of(
        ev.max.map(|m| m as f64),
        th.cgroup_mem_events.warn,
        th.cgroup_mem_events.crit,
    ));
    let e = Cell {
        figure: Figure::CgroupEvents(ev),
        level: e_level,
        reason: Some(Reason::CgroupEvents(ev)),
    };
    let u_pct = match &u.figure {
        Figure::CgroupUse(w) => Some(w.pct()),
        _ => None,
    };
    let score = [u_pct, r.throttled_pct, psi.map(|p| p.1)]
        .into_iter()
        .flatten()
        .fold(0.0, f64::max);
    Judged {
        path: r.rec.path.clone(),
        rank: (u.level.max(s.level).max(e.level), score),
        u,
        s,
        e,
        u_pct,
        thr_pct: r.throttled_pct,
        events: ev,
    }
}

fn add(a: Option<u64>, b: Option<u64>) -> Option<u64> {
    match (a, b) {
        (None, None) => None,
        (a, b) => Some(a.unwrap_or(0).saturating_add(b.unwrap_or(0))),
    }
}

fn max_f(a: Option<f64>, b: Option<f64>) -> Option<f64> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.max(b)),
        (a, b) => a.or(b),
    }
}

/// The cgroup rows of the overview: the worst `CGROUP_SHOWN` cgroups that stand at yellow
/// or red, then one row for the rest (all of them when none does). The root is left out:
/// its figures are the host's, judged in the CPU and Memory rows.
pub fn cgroups(s: &Snapshot, th: &Thresholds) -> Vec<Verdict> {
    let t = s.cgroups();
    let res = |i| Resource {
        kind: Kind::Cgroup,
        instance: i,
    };
    if t.rows.is_empty() {
        let why = match t.notes.first() {
            Some(n) => Missing::Note(n.reason.clone()),
            None => Missing::NoCgroups,
        };
        return vec![Verdict::na(res(Instance::All), why)];
    }
    let mut judged: Vec<Judged> = t
        .rows
        .iter()
        .filter(|r| r.depth > 0)
        .map(|r| judge(&t, r, th))
        .collect();
    judged.sort_by(|a, b| {
        b.rank
            .0
            .cmp(&a.rank.0)
            .then(b.rank.1.total_cmp(&a.rank.1))
            .then_with(|| a.path.cmp(&b.path))
    });
    let shown = judged
        .iter()
        .take(CGROUP_SHOWN)
        .take_while(|j| j.rank.0 >= Level::Warn)
        .count();
    let mut rest = judged.split_off(shown);
    let mut rows: Vec<Verdict> = judged
        .into_iter()
        .map(|j| Verdict::new(res(Instance::Named(j.path)), j.u, j.s, j.e))
        .collect();
    if rest.is_empty() {
        return rows;
    }
    let n = rest.len();
    let mut u_pct = None;
    let mut thr = None;
    let mut ev = CgEvents::default();
    let (mut ul, mut sl, mut el) = (Level::Unknown, Level::Unknown, Level::Unknown);
    for j in rest.drain(..) {
        u_pct = max_f(u_pct, j.u_pct);
        thr = max_f(thr, j.thr_pct);
        ev.oom_kill = add(ev.oom_kill, j.events.oom_kill);
        ev.oom = add(ev.oom, j.events.oom);
        ev.max = add(ev.max, j.events.max);
        ul = ul.max(j.u.level);
        sl = sl.max(j.s.level);
        el = el.max(j.e.level);
    }
    let instance = if shown == 0 {
        Instance::Count(n)
    } else {
        Instance::Rest(n)
    };
    rows.push(Verdict::new(
        res(instance),
        Cell {
            figure: Figure::CgroupUseAtMost(u_pct),
            level: ul,
            reason: Some(Reason::MoreCgroups(n)),
        },
        Cell {
            figure: Figure::CgroupThrottledAtMost(thr),
            level: sl,
            reason: Some(Reason::MoreCgroups(n)),
        },
        Cell {
            figure: Figure::CgroupEvents(ev),
            level: el,
            reason: Some(Reason::CgroupEvents(ev)),
        },
    ));
    rows
}
