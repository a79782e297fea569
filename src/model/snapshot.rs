//! `Snapshot::derive(prev, cur)`: the one pure function that turns two raw samples into
//! rates and USE figures, using the measured interval between them. It alone deals with
//! counters that go backwards, CPUs that appear or vanish and tasks that come and go.

use std::sync::Arc;

use super::counters::{delta, rate};
use super::detail::DetailRates;
use super::disk::{self, DiskFigures};
use super::memo::{Derived, Table};
use super::net::{self, NetFigures};
use super::perf::{self, PerfFigures, PerfTasks};
use super::sample::*;
use super::slab::{self, SlabFigures, SlabRate};
use super::sockets::{self, SockRate, SocketFigures};
use super::tasks::{TaskRate, TaskScale, derive_tasks};
use super::thresholds::Thresholds;
use super::verdict::{self, Verdict};

/// mpstat's percentages for one CPU over one interval.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct CpuPct {
    pub usr: f64,
    pub nice: f64,
    pub sys: f64,
    pub iowait: f64,
    pub irq: f64,
    pub soft: f64,
    pub steal: f64,
    pub guest: f64,
    pub gnice: f64,
    pub idle: f64,
}

impl CpuPct {
    /// Busy = everything but idle and iowait (iowait is idle time with I/O outstanding).
    pub fn busy(&self) -> f64 {
        (100.0 - self.idle - self.iowait).clamp(0.0, 100.0)
    }

    /// mpstat's formulas: guest time is inside user/nice, so it is taken out of them. The
    /// denominator is the sum of the per-column increases, not the increase of the sum: a
    /// column that goes backwards (iowait does, and an aggregate line loses an offlined CPU's
    /// ticks) counts as 0 there too, so no share can exceed 100%.
    pub fn between(p: &CpuTimes, c: &CpuTimes) -> Option<CpuPct> {
        let user = delta(p.user, c.user);
        let nice = delta(p.nice, c.nice);
        let sys = delta(p.system, c.system);
        let iowait = delta(p.iowait, c.iowait);
        let irq = delta(p.irq, c.irq);
        let soft = delta(p.softirq, c.softirq);
        let steal = delta(p.steal, c.steal);
        let idle = delta(p.idle, c.idle);
        let total = [nice, sys, iowait, irq, soft, steal, idle]
            .into_iter()
            .fold(user, u64::saturating_add);
        if total == 0 {
            return None;
        }
        let pct = |d: u64| (d as f64 * 100.0 / total as f64).min(100.0);
        let guest = delta(p.guest, c.guest).min(user);
        let gnice = delta(p.guest_nice, c.guest_nice).min(nice);
        Some(CpuPct {
            usr: pct(user - guest),
            nice: pct(nice - gnice),
            sys: pct(sys),
            iowait: pct(iowait),
            irq: pct(irq),
            soft: pct(soft),
            steal: pct(steal),
            guest: pct(guest),
            gnice: pct(gnice),
            idle: pct(idle),
        })
    }
}

/// Per-second rates from /proc/stat and the PSI stall rate over the interval.
#[derive(Clone, Debug, Default)]
pub struct CpuFigures {
    pub total: Option<CpuPct>,
    /// Every CPU in the current sample; `None` for one that was absent before (just onlined).
    pub per_cpu: Vec<(u32, Option<CpuPct>)>,
    pub ctxt_s: Option<f64>,
    pub intr_s: Option<f64>,
    pub forks_s: Option<f64>,
    /// CPUs counted for saturation (the per-CPU lines in the sample).
    pub ncpu: usize,
}

#[derive(Clone, Debug, Default)]
pub struct MemFigures {
    /// vmstat si/so: KiB swapped in/out per second.
    pub si_kbs: Option<f64>,
    pub so_kbs: Option<f64>,
    /// vmstat bi/bo: KiB paged in/out from block devices per second.
    pub bi_kbs: Option<f64>,
    pub bo_kbs: Option<f64>,
    pub pgfault_s: Option<f64>,
    pub majfault_s: Option<f64>,
    pub pgscan_s: Option<f64>,
    pub pgsteal_s: Option<f64>,
    pub allocstall_s: Option<f64>,
    /// OOM kills during the interval.
    pub oom_kills: Option<u64>,
}

/// What free(1) prints, in bytes.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct FreeFigures {
    pub total: u64,
    pub used: u64,
    pub free: u64,
    pub shared: u64,
    pub buff_cache: u64,
    pub available: u64,
    pub swap_total: u64,
    pub swap_used: u64,
    pub swap_free: u64,
}

impl FreeFigures {
    /// procps-ng 4 formulas: cache includes SReclaimable; used = total - available when the
    /// kernel reports MemAvailable, else total - free - buffers - cache.
    pub fn from_meminfo(m: &MemInfo) -> FreeFigures {
        // Saturating: a garbled meminfo must not overflow (a panic in debug builds).
        let buff_cache = m
            .buffers
            .saturating_add(m.cached)
            .saturating_add(m.sreclaimable);
        let free_and_cache = m.free.saturating_add(buff_cache);
        let available = m.available.unwrap_or(free_and_cache).min(m.total);
        let used = match m.available {
            Some(a) => m.total.saturating_sub(a),
            None => m.total.saturating_sub(free_and_cache),
        };
        FreeFigures {
            total: m.total,
            used,
            free: m.free,
            shared: m.shmem,
            buff_cache,
            available,
            swap_total: m.swap_total,
            swap_used: m.swap_total.saturating_sub(m.swap_free),
            swap_free: m.swap_free,
        }
    }

    pub fn used_pct(&self) -> Option<f64> {
        // used ≤ total, but past 2^53 bytes the float division can land a hair above 100.
        (self.total > 0).then(|| (self.used as f64 * 100.0 / self.total as f64).min(100.0))
    }
}

/// Seconds between the two samples' reads of each group of counters (`Sample::read_ns`);
/// each group's rates divide by its own. 0 where there is no interval.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Intervals {
    pub system: f64,
    pub tasks: f64,
    pub disk: f64,
    pub net: f64,
    pub sockets: f64,
    pub slab: f64,
    pub detail: f64,
    pub perf: f64,
}

impl Intervals {
    fn between(p: &Sample, c: &Sample) -> Intervals {
        let dt = |g: Group| c.read_ns(g).saturating_sub(p.read_ns(g)) as f64 / 1e9;
        Intervals {
            system: dt(Group::System),
            tasks: dt(Group::Tasks),
            disk: dt(Group::Disk),
            net: dt(Group::Net),
            sockets: dt(Group::Sockets),
            slab: dt(Group::Slab),
            detail: dt(Group::Detail),
            perf: dt(Group::Perf),
        }
    }
}

/// One point in time as the panes see it: the raw sample, the previous one, the measured
/// interval between them and the derived system figures. The large tables (per task, per
/// socket, per slab cache, per counted thread) and the USE verdicts are derived on first
/// use and kept for the next reader; the timeline drops them from snapshots no longer
/// viewed, so a ring of 600 snapshots never holds 600 copies of the task table.
#[derive(Clone, Debug)]
pub struct Snapshot {
    pub seq: u64,
    pub cur: Arc<Sample>,
    pub prev: Option<Arc<Sample>>,
    /// Measured seconds between `prev` and `cur` (their system-wide reads); 0 when there
    /// is no `prev`.
    pub dt_s: f64,
    /// The interval of each group of counters; rates of a group use its own.
    pub dt: Intervals,
    pub cpu: CpuFigures,
    pub mem: MemFigures,
    pub free: Option<FreeFigures>,
    /// PSI stall share (percent of wall time) over the interval, from the `total` counters.
    pub psi_cpu_some: Option<f64>,
    pub psi_mem_some: Option<f64>,
    pub psi_mem_full: Option<f64>,
    pub disk: DiskFigures,
    pub net: NetFigures,
    pub sockets: SocketFigures,
    pub slab: SlabFigures,
    pub perf: PerfFigures,
    derived: Derived,
    /// The rest of the USE checklist, over its own measured interval.
    pub checklist: super::checklist::ChecklistFigures,
}

fn psi_pct(p: Option<&PsiLine>, c: Option<&PsiLine>, dt_s: f64) -> Option<f64> {
    let (p, c) = (p?, c?);
    rate(p.total_us, c.total_us, dt_s).map(|us_per_s| (us_per_s / 1e4).clamp(0.0, 100.0))
}

impl Snapshot {
    pub fn derive(seq: u64, prev: Option<Arc<Sample>>, cur: Arc<Sample>) -> Snapshot {
        // A gap in a recording (`Sample::gap_before`) is not an interval to rate over.
        let prev = prev.filter(|_| !cur.gap_before);
        let dt_s = prev
            .as_ref()
            .map(|p| cur.mono_ns.saturating_sub(p.mono_ns) as f64 / 1e9)
            .unwrap_or(0.0);
        // Two samples at the same instant (or a clock that went back) have no interval.
        let prev = if dt_s > 0.0 { prev } else { None };
        let p = prev.as_deref();
        let dt = p.map(|p| Intervals::between(p, &cur)).unwrap_or_default();

        let cpu = derive_cpu(p.map(|p| &p.cpu), &cur.cpu, dt_s);
        let mem = derive_mem(
            p.and_then(|p| p.mem.vm.as_ref()),
            cur.mem.vm.as_ref(),
            dt_s,
            cur.page_size,
        );
        let free = cur.mem.info.as_ref().map(FreeFigures::from_meminfo);
        let psi = |f: fn(&Sample) -> Option<&PsiLine>| psi_pct(p.and_then(f), f(&cur), dt_s);
        let checklist = super::checklist::derive(p, &cur, &cpu, mem.oom_kills, dt_s);
        Snapshot {
            seq,
            psi_cpu_some: psi(|s| s.cpu.psi.as_ref().map(|p| &p.some)),
            psi_mem_some: psi(|s| s.mem.psi.as_ref().map(|p| &p.some)),
            psi_mem_full: psi(|s| s.mem.psi.as_ref().and_then(|p| p.full.as_ref())),
            disk: disk::derive(p.map(|p| &p.disk), &cur.disk, dt.disk).with_kinds(&cur.disk_kinds),
            net: net::derive(p.map(|p| &p.net), &cur.net, dt.net),
            sockets: sockets::derive(p.map(|p| &p.sockets), &cur.sockets, dt.sockets),
            slab: slab::derive(p.map(|p| &p.slab), &cur.slab, dt.slab),
            perf: perf::derive(p.map(|p| &p.perf), &cur.perf, dt.perf),
            checklist,
            dt_s,
            dt,
            cpu,
            mem,
            free,
            prev,
            cur,
            derived: Derived::default(),
        }
    }

    /// Per-process rates over this snapshot's interval, in pid order; derived once and
    /// shared by every reader until the snapshot is forgotten.
    pub fn tasks(&self) -> Table<TaskRate> {
        self.derived.get(&self.derived.tasks, || {
            derive_tasks(
                self.prev.as_ref().map(|p| &p.tasks.procs),
                &self.cur.tasks.procs,
                self.task_scale(),
            )
            .into()
        })
    }

    /// Per-thread rates; `None` when threads were not sampled.
    pub fn threads(&self) -> Option<Table<TaskRate>> {
        self.derived.get(&self.derived.threads, || {
            let cur = self.cur.tasks.threads.as_ref()?;
            let prev = self.prev.as_ref().and_then(|p| p.tasks.threads.as_ref());
            Some(derive_tasks(prev, cur, self.task_scale()).into())
        })
    }

    /// Every TCP socket with its rates over the interval, in dump order.
    pub fn socket_rates(&self) -> Table<SockRate> {
        self.derived.get(&self.derived.sockets, || {
            sockets::socket_rates(
                self.prev.as_ref().map(|p| &p.sockets),
                &self.cur.sockets,
                self.dt.sockets,
            )
            .into()
        })
    }

    /// Every slab cache in the sample with its growth, in slabinfo order.
    pub fn slab_caches(&self) -> Table<SlabRate> {
        self.derived.get(&self.derived.slab, || {
            slab::cache_rates(
                self.prev.as_deref().map(|p| &p.slab),
                &self.cur.slab,
                self.dt.slab,
            )
            .into()
        })
    }

    /// The counted processes with their per-thread counter rates.
    pub fn perf_tasks(&self) -> Arc<PerfTasks> {
        self.derived.get(&self.derived.perf, || {
            Arc::new(perf::derive_task_rates(
                self.prev.as_deref().map(|p| &p.perf),
                &self.cur.perf,
                self.dt.perf,
            ))
        })
    }

    /// The drill-down task's rates; `None` when no task detail was sampled.
    pub fn detail_rates(&self) -> Option<Arc<DetailRates>> {
        self.derived.get(&self.derived.detail, || {
            let cur = self.cur.detail.as_ref()?;
            let prev = self.prev.as_ref().and_then(|p| p.detail.as_ref());
            Some(Arc::new(DetailRates::derive(
                prev,
                cur,
                self.dt.detail,
                self.cur.hz,
            )))
        })
    }

    /// Every resource's USE verdict against `th`, in the overview's order. Kept for the
    /// thresholds last asked for; other thresholds derive (and keep) them again.
    pub fn verdicts(&self, th: &Thresholds) -> Table<Verdict> {
        self.verdicts_in(th, None)
    }

    /// The verdicts folded to fit `rows` rows (`verdict::judge_fit`), or as `judge` lists
    /// them with `None`.
    pub fn verdicts_in(&self, th: &Thresholds, rows: Option<usize>) -> Table<Verdict> {
        self.derived
            .get_if(
                &self.derived.verdicts,
                |(kept, r, _)| **kept == *th && *r == rows,
                || {
                    let v = match rows {
                        Some(n) => verdict::judge_fit(self, th, n),
                        None => verdict::judge(self, th),
                    };
                    (Box::new(th.clone()), rows, v.into())
                },
            )
            .2
    }

    /// Drops the kept tables; they are derived again if asked for.
    pub fn forget_derived(&self) {
        self.derived.clear();
    }

    /// How many derived tables this snapshot keeps now.
    pub fn derived_kept(&self) -> usize {
        self.derived.kept()
    }

    /// True when some derived table may be kept (cheap: no lock).
    pub fn holds_derived(&self) -> bool {
        self.derived.held()
    }

    fn task_scale(&self) -> TaskScale {
        TaskScale {
            dt_s: self.dt.tasks,
            hz: self.cur.hz,
            page_size: self.cur.page_size,
            mem_total: self.cur.mem.info.as_ref().map(|m| m.total),
            delayacct: self.checklist.delayacct.counts(),
        }
    }

    pub fn has_rates(&self) -> bool {
        self.prev.is_some()
    }
}

fn derive_cpu(p: Option<&CpuSample>, c: &CpuSample, dt: f64) -> CpuFigures {
    let per_cpu = c
        .cpus
        .iter()
        .map(|(id, times)| {
            let before = p.and_then(|p| p.cpus.iter().find(|(pid, _)| pid == id));
            (*id, before.and_then(|(_, pt)| CpuPct::between(pt, times)))
        })
        .collect();
    let r = |f: fn(&CpuSample) -> u64| p.and_then(|p| rate(f(p), f(c), dt));
    CpuFigures {
        total: p.and_then(|p| CpuPct::between(&p.total, &c.total)),
        per_cpu,
        ctxt_s: r(|s| s.ctxt),
        intr_s: r(|s| s.intr),
        forks_s: r(|s| s.forks),
        ncpu: c.cpus.len().max(1),
    }
}

fn derive_mem(
    p: Option<&VmCounters>,
    c: Option<&VmCounters>,
    dt: f64,
    page_size: u64,
) -> MemFigures {
    let (Some(p), Some(c)) = (p, c) else {
        return MemFigures::default();
    };
    let r = |f: fn(&VmCounters) -> u64| rate(f(p), f(c), dt);
    let page_kb = page_size as f64 / 1024.0;
    MemFigures {
        si_kbs: r(|v| v.pswpin).map(|x| x * page_kb),
        so_kbs: r(|v| v.pswpout).map(|x| x * page_kb),
        // pgpgin/pgpgout are already in KiB.
        bi_kbs: r(|v| v.pgpgin),
        bo_kbs: r(|v| v.pgpgout),
        pgfault_s: r(|v| v.pgfault),
        majfault_s: r(|v| v.pgmajfault),
        pgscan_s: r(|v| v.pgscan_kswapd.saturating_add(v.pgscan_direct)),
        pgsteal_s: r(|v| v.pgsteal_kswapd.saturating_add(v.pgsteal_direct)),
        allocstall_s: r(|v| v.allocstall),
        oom_kills: Some(delta(p.oom_kill, c.oom_kill)),
    }
}
