//! CPU hardware and software counters (perf_event_open): the raw cumulative counts per CPU
//! and per thread as read, and the derived rates (IPC, miss ratios), scaled for
//! multiplexing by time_enabled / time_running and summed per process.

use serde::{Deserialize, Serialize};

/// The events usetop counts, in the order of `CounterSet::v`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Ev {
    Cycles,
    Instructions,
    CacheRefs,
    CacheMisses,
    BranchMisses,
    TaskClock,
    CtxSwitches,
    Migrations,
    PageFaults,
}

pub const NEV: usize = 9;

impl Ev {
    pub const ALL: [Ev; NEV] = [
        Ev::Cycles,
        Ev::Instructions,
        Ev::CacheRefs,
        Ev::CacheMisses,
        Ev::BranchMisses,
        Ev::TaskClock,
        Ev::CtxSwitches,
        Ev::Migrations,
        Ev::PageFaults,
    ];
    /// Hardware events (counted together in one group, so IPC compares like with like).
    pub const HW: [Ev; 5] = [
        Ev::Cycles,
        Ev::Instructions,
        Ev::CacheRefs,
        Ev::CacheMisses,
        Ev::BranchMisses,
    ];
    /// Software events (always available where perf_event_open is).
    pub const SW: [Ev; 4] = [
        Ev::TaskClock,
        Ev::CtxSwitches,
        Ev::Migrations,
        Ev::PageFaults,
    ];

    pub fn idx(self) -> usize {
        self as usize
    }
}

/// One cumulative count with the times the kernel reports for multiplexing.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Count {
    pub value: u64,
    pub enabled_ns: u64,
    pub running_ns: u64,
}

/// The hardware group's counts: one enabled/running pair for the group (its members are
/// scheduled together), values in the order of `Ev::HW`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct HwCounts {
    pub enabled_ns: u64,
    pub running_ns: u64,
    pub v: [u64; 5],
}

/// The software group's counts, values in the order of `Ev::SW`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SwCounts {
    pub enabled_ns: u64,
    pub running_ns: u64,
    pub v: [u64; 4],
}

/// Every event of one CPU or one thread; a group is `None` where it is not counted. Kept
/// compact (one time pair per group): a ring of samples holds one per counted thread.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CounterSet {
    pub hw: Option<HwCounts>,
    pub sw: Option<SwCounts>,
}

impl CounterSet {
    pub fn get(&self, e: Ev) -> Option<Count> {
        let i = e.idx();
        if i < Ev::HW.len() {
            self.hw.map(|g| Count {
                value: g.v[i],
                enabled_ns: g.enabled_ns,
                running_ns: g.running_ns,
            })
        } else {
            self.sw.map(|g| Count {
                value: g.v[i - Ev::HW.len()],
                enabled_ns: g.enabled_ns,
                running_ns: g.running_ns,
            })
        }
    }

    /// Stores one event's count; its times become the group's (they are the same for every
    /// member of a group).
    pub fn set(&mut self, e: Ev, c: Count) {
        let i = e.idx();
        if i < Ev::HW.len() {
            let g = self.hw.get_or_insert_with(HwCounts::default);
            g.v[i] = c.value;
            g.enabled_ns = c.enabled_ns;
            g.running_ns = c.running_ns;
        } else {
            let g = self.sw.get_or_insert_with(SwCounts::default);
            g.v[i - Ev::HW.len()] = c.value;
            g.enabled_ns = c.enabled_ns;
            g.running_ns = c.running_ns;
        }
    }
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ThreadCounters {
    pub tid: u32,
    pub c: CounterSet,
    /// The thread's name when its counters were opened (raw; sanitised when drawn).
    #[serde(default)]
    pub comm: String,
}

/// One counted process: its threads' counters (a counter on a tid counts only that thread).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProcCounters {
    pub pid: u32,
    pub threads: Vec<ThreadCounters>,
}

/// Raw counters as read; part of the recording format (add fields with `#[serde(default)]`).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct PerfSample {
    /// Per-CPU system-wide counters, by CPU number.
    #[serde(default)]
    pub cpus: Vec<(u32, CounterSet)>,
    /// The processes counted per thread, by pid.
    #[serde(default)]
    pub procs: Vec<ProcCounters>,
    /// Why hardware events are not counted (no PMU, refused, exhausted), if they are not.
    #[serde(default)]
    pub hw_reason: Option<String>,
    /// Why the system-wide (per-CPU) counters are missing, if they are.
    #[serde(default)]
    pub system_reason: Option<String>,
    /// Why per-task counters are missing or fewer than asked (the open-files budget).
    #[serde(default)]
    pub tasks_reason: Option<String>,
    /// How many processes were asked for (0: per-task counting is off).
    #[serde(default)]
    pub tasks_asked: u32,
    /// False when the kernel refused kernel-mode counting: the counts are user space only.
    #[serde(default)]
    pub kernel: bool,
}

/// Rates over one interval, each scaled for multiplexing.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Rates {
    /// Per-second rate of each event; `None` when not counted or never scheduled.
    pub r: [Option<f64>; NEV],
    /// True when some event was multiplexed (counted part of the time and scaled up).
    pub scaled: bool,
}

impl Rates {
    pub fn get(&self, e: Ev) -> Option<f64> {
        self.r[e.idx()]
    }

    /// Instructions per cycle; low IPC means stalled cycles.
    pub fn ipc(&self) -> Option<f64> {
        ratio(self.get(Ev::Instructions), self.get(Ev::Cycles), 1.0)
    }

    /// Cache misses per 100 cache references.
    pub fn miss_pct(&self) -> Option<f64> {
        ratio(self.get(Ev::CacheMisses), self.get(Ev::CacheRefs), 100.0)
    }

    /// Branch misses per 100 instructions (tiptop's %BMIS).
    pub fn bmiss_pct(&self) -> Option<f64> {
        ratio(
            self.get(Ev::BranchMisses),
            self.get(Ev::Instructions),
            100.0,
        )
    }

    /// task-clock as a share of one CPU, percent.
    pub fn cpu_pct(&self) -> Option<f64> {
        self.get(Ev::TaskClock).map(|ns_s| ns_s / 1e7)
    }

    fn add(&mut self, o: &Rates) {
        for i in 0..NEV {
            self.r[i] = match (self.r[i], o.r[i]) {
                (Some(a), Some(b)) => Some(a + b),
                (a, b) => a.or(b),
            };
        }
        self.scaled |= o.scaled;
    }

    pub fn is_empty(&self) -> bool {
        self.r.iter().all(Option::is_none)
    }
}

fn ratio(num: Option<f64>, den: Option<f64>, k: f64) -> Option<f64> {
    let (n, d) = (num?, den?);
    (d > 0.0).then(|| n * k / d)
}

/// Increase of one count over the interval, scaled by Δenabled/Δrunning when the event was
/// multiplexed; `None` when it never ran. The bool says it was scaled.
pub fn scaled_delta(p: Count, c: Count) -> Option<(f64, bool)> {
    let dv = c.value.saturating_sub(p.value) as f64;
    let de = c.enabled_ns.saturating_sub(p.enabled_ns);
    let dr = c.running_ns.saturating_sub(p.running_ns);
    if dr == 0 {
        // Not scheduled at all: nothing to scale from (0 if it was not even enabled).
        return (de == 0).then_some((0.0, false));
    }
    if dr >= de {
        Some((dv, false))
    } else {
        Some((dv * de as f64 / dr as f64, true))
    }
}

/// Rates of one counter set between two samples.
pub fn rates(p: &CounterSet, c: &CounterSet, dt_s: f64) -> Rates {
    let mut out = Rates::default();
    if dt_s <= 0.0 {
        return out;
    }
    for e in Ev::ALL {
        if let (Some(a), Some(b)) = (p.get(e), c.get(e))
            && let Some((d, scaled)) = scaled_delta(a, b)
        {
            out.r[e.idx()] = Some(d / dt_s);
            out.scaled |= scaled;
        }
    }
    out
}

#[derive(Clone, Debug, Default, PartialEq)]
pub struct ThreadRates {
    pub tid: u32,
    pub comm: String,
    pub rates: Rates,
}

/// One process: the sum over its threads that have a previous reading, and each thread.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ProcRates {
    pub pid: u32,
    pub sum: Rates,
    /// Threads counted this interval (including new ones, whose rates start next time).
    pub threads: Vec<ThreadRates>,
}

/// Rates and USE figures derived from two samples (system-wide only: the per-task rates,
/// much larger, are derived on demand by `tasks`, so the snapshot ring does not hold them).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct PerfFigures {
    pub cpus: Vec<(u32, Rates)>,
    /// Sum over CPUs.
    pub total: Rates,
}

/// The counted processes with their per-thread rates over one interval.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct PerfTasks {
    pub procs: Vec<ProcRates>,
}

/// How many processes are counted per thread unless the perf pane asks for more or fewer.
pub const DEFAULT_TOP_N: u32 = 32;

impl PerfTasks {
    /// Rows of a per-task table: one per process, or one per thread with `threads`.
    pub fn row_count(&self, threads: bool) -> usize {
        if threads {
            self.procs.iter().map(|p| p.threads.len()).sum()
        } else {
            self.procs.len()
        }
    }

    /// The per-thread counters of one process, for drill-down views.
    pub fn threads(&self, pid: u32) -> Option<&[ThreadRates]> {
        self.procs
            .iter()
            .find(|p| p.pid == pid)
            .map(|p| p.threads.as_slice())
    }

    pub fn proc(&self, pid: u32) -> Option<&ProcRates> {
        self.procs.iter().find(|p| p.pid == pid)
    }
}

pub fn derive(prev: Option<&PerfSample>, cur: &PerfSample, dt_s: f64) -> PerfFigures {
    let mut total = Rates::default();
    let cpus = cur
        .cpus
        .iter()
        .map(|(id, c)| {
            let before = prev.and_then(|p| p.cpus.iter().find(|(pid, _)| pid == id));
            let r = before.map(|(_, pc)| rates(pc, c, dt_s)).unwrap_or_default();
            total.add(&r);
            (*id, r)
        })
        .collect();
    PerfFigures { cpus, total }
}

/// Each counted process: the sum over its threads that have a previous reading, and each
/// thread. A thread is matched by tid within its process, a process by pid.
/// `Snapshot::perf_tasks` keeps the result; this derives it afresh.
pub fn derive_task_rates(prev: Option<&PerfSample>, cur: &PerfSample, dt_s: f64) -> PerfTasks {
    let procs = cur
        .procs
        .iter()
        .map(|pc| {
            let before = prev.and_then(|p| p.procs.iter().find(|x| x.pid == pc.pid));
            let mut sum = Rates::default();
            let threads = pc
                .threads
                .iter()
                .map(|t| {
                    let bt = before.and_then(|b| b.threads.iter().find(|x| x.tid == t.tid));
                    let r = bt.map(|b| rates(&b.c, &t.c, dt_s)).unwrap_or_default();
                    sum.add(&r);
                    ThreadRates {
                        tid: t.tid,
                        comm: t.comm.clone(),
                        rates: r,
                    }
                })
                .collect();
            ProcRates {
                pid: pc.pid,
                sum,
                threads,
            }
        })
        .collect();
    PerfTasks { procs }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cnt(value: u64, e: u64, r: u64) -> Option<Count> {
        Some(Count {
            value,
            enabled_ns: e,
            running_ns: r,
        })
    }

    #[test]
    fn multiplex_scaling() {
        // Ran half the time: the count is doubled and marked scaled.
        assert_eq!(
            scaled_delta(cnt(0, 0, 0).unwrap(), cnt(100, 1000, 500).unwrap()),
            Some((200.0, true))
        );
        assert_eq!(
            scaled_delta(cnt(50, 10, 10).unwrap(), cnt(150, 1010, 1010).unwrap()),
            Some((100.0, false))
        );
        // Enabled but never scheduled: unknown, not zero.
        assert_eq!(
            scaled_delta(cnt(5, 10, 10).unwrap(), cnt(5, 20, 10).unwrap()),
            None
        );
        // A counter that went backwards counts nothing.
        assert_eq!(
            scaled_delta(cnt(9, 0, 0).unwrap(), cnt(5, 10, 10).unwrap()),
            Some((0.0, false))
        );
    }

    fn set(cy: u64, ins: u64, refs: u64, miss: u64, bm: u64, t: u64) -> CounterSet {
        let mut s = CounterSet {
            hw: Some(HwCounts {
                enabled_ns: t,
                running_ns: t,
                v: [cy, ins, refs, miss, bm],
            }),
            sw: None,
        };
        s.set(Ev::TaskClock, cnt(t, t, t).unwrap());
        s
    }

    #[test]
    fn ipc_and_miss_ratios() {
        let r = rates(
            &set(0, 0, 0, 0, 0, 0),
            &set(2_000_000, 3_000_000, 1000, 250, 30_000, 500_000_000),
            2.0,
        );
        assert_eq!(r.get(Ev::Cycles), Some(1_000_000.0));
        assert_eq!(r.ipc(), Some(1.5));
        assert_eq!(r.miss_pct(), Some(25.0));
        assert_eq!(r.bmiss_pct(), Some(1.0));
        assert_eq!(r.cpu_pct(), Some(25.0));
        assert_eq!(r.get(Ev::PageFaults), Some(0.0));
        let hw_only = CounterSet {
            sw: None,
            ..set(1, 1, 1, 1, 1, 1)
        };
        assert_eq!(rates(&hw_only, &hw_only, 1.0).get(Ev::PageFaults), None);
        assert!(!r.scaled);
        assert_eq!(Rates::default().ipc(), None);
    }

    #[test]
    fn per_thread_sums_and_new_threads() {
        let p = PerfSample {
            procs: vec![ProcCounters {
                pid: 10,
                threads: vec![
                    ThreadCounters {
                        tid: 10,
                        c: set(100, 100, 10, 1, 1, 0),
                        comm: String::new(),
                    },
                    ThreadCounters {
                        tid: 11,
                        c: set(0, 0, 0, 0, 0, 0),
                        comm: String::new(),
                    },
                ],
            }],
            ..PerfSample::default()
        };
        let mut c = p.clone();
        c.procs[0].threads[0].c = set(1100, 2100, 110, 11, 1, 1000);
        c.procs[0].threads[1].c = set(3000, 1000, 100, 50, 1, 1000);
        // tid 12 is new: counted from next time, no rate yet.
        c.procs[0].threads.push(ThreadCounters {
            tid: 12,
            c: set(7, 7, 7, 7, 7, 7),
            comm: "new".into(),
        });
        // tid 11's hardware group was multiplexed: running half of enabled, so its counts
        // (cycles 3000, instructions 500) are doubled.
        c.procs[0].threads[1]
            .c
            .set(Ev::Instructions, cnt(500, 1000, 500).unwrap());
        let f = derive_task_rates(Some(&p), &c, 1.0);
        let pr = f.proc(10).unwrap();
        assert_eq!(pr.sum.get(Ev::Cycles), Some(1000.0 + 6000.0));
        assert_eq!(pr.sum.get(Ev::Instructions), Some(2000.0 + 1000.0));
        assert!((pr.sum.ipc().unwrap() - 3.0 / 7.0).abs() < 1e-9);
        assert_eq!(pr.sum.get(Ev::TaskClock), Some(1000.0 + 1000.0));
        assert!(pr.sum.scaled);
        let th = f.threads(10).unwrap();
        assert_eq!(th.len(), 3);
        assert_eq!(th[0].rates.ipc(), Some(2.0));
        assert!(!th[0].rates.scaled && th[1].rates.scaled);
        assert!(th[2].rates.is_empty());
        assert!(f.threads(99).is_none());
    }

    #[test]
    fn cpu_totals() {
        let p = PerfSample {
            cpus: vec![(0, set(0, 0, 0, 0, 0, 0)), (1, set(0, 0, 0, 0, 0, 0))],
            ..PerfSample::default()
        };
        let mut c = p.clone();
        c.cpus[0].1 = set(1000, 500, 0, 0, 0, 10);
        c.cpus[1].1 = set(1000, 1500, 0, 0, 0, 10);
        c.cpus.push((2, set(1, 1, 1, 1, 1, 1)));
        let f = derive(Some(&p), &c, 1.0);
        assert_eq!(f.total.ipc(), Some(1.0));
        assert!(f.cpus[2].1.is_empty());
        assert_eq!(f.total.miss_pct(), None);
        assert!(derive(None, &c, 0.0).total.is_empty());
    }
}
