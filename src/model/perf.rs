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

/// Every event of one CPU or one thread; `None` where the event is not counted.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CounterSet {
    pub v: [Option<Count>; NEV],
}

impl CounterSet {
    pub fn get(&self, e: Ev) -> Option<Count> {
        self.v[e.idx()]
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
    for i in 0..NEV {
        if let (Some(a), Some(b)) = (p.v[i], c.v[i])
            && let Some((d, scaled)) = scaled_delta(a, b)
        {
            out.r[i] = Some(d / dt_s);
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

/// Rates and USE figures derived from two samples.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct PerfFigures {
    pub cpus: Vec<(u32, Rates)>,
    /// Sum over CPUs.
    pub total: Rates,
    pub procs: Vec<ProcRates>,
}

impl PerfFigures {
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
    PerfFigures { cpus, total, procs }
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
        let mut s = CounterSet::default();
        s.v[Ev::Cycles.idx()] = cnt(cy, t, t);
        s.v[Ev::Instructions.idx()] = cnt(ins, t, t);
        s.v[Ev::CacheRefs.idx()] = cnt(refs, t, t);
        s.v[Ev::CacheMisses.idx()] = cnt(miss, t, t);
        s.v[Ev::BranchMisses.idx()] = cnt(bm, t, t);
        s.v[Ev::TaskClock.idx()] = cnt(t, t, t);
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
        assert_eq!(r.get(Ev::PageFaults), None);
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
        // tid 11's instructions were multiplexed: running half of enabled.
        c.procs[0].threads[1].c.v[Ev::Instructions.idx()] = cnt(500, 1000, 500);
        let f = derive(Some(&p), &c, 1.0);
        let pr = f.proc(10).unwrap();
        assert_eq!(pr.sum.get(Ev::Cycles), Some(4000.0));
        assert_eq!(pr.sum.get(Ev::Instructions), Some(2000.0 + 1000.0));
        assert_eq!(pr.sum.ipc(), Some(0.75));
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
