//! CPU counters through perf_event_open: per CPU (system-wide) and, tiptop-style, per thread
//! of the top N processes by CPU. Counters stay open between samples and are read as
//! cumulative counts; new threads are picked up and exited ones dropped at each sample.
//! Hardware events that are missing, refused or exhausted leave the software ones counting
//! and a one-line reason; nothing here fails the sample.

pub mod backend;
pub mod fake;
pub mod live;

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use backend::{CounterBackend, CounterGroup, Kind, OpenFail, Target, classify, reason};

use super::dirents::list_numeric;
use super::parse::parse_pid_stat;
use super::procroot::ProcRoot;
use crate::model::perf::{CounterSet, PerfSample, ProcCounters, ThreadCounters};
use crate::model::{Note, TaskRecord};

/// At most this many counter descriptors (one per event per thread or CPU), and never more
/// than a fifth of the open-files limit: the task sweep keeps most of the rest.
const MAX_FDS: usize = 4096;

#[derive(Default)]
struct Groups {
    hw: Option<Box<dyn CounterGroup>>,
    sw: Option<Box<dyn CounterGroup>>,
    comm: String,
}

impl Groups {
    fn fds(&self) -> usize {
        self.hw.as_ref().map_or(0, |_| Kind::Hw.fds())
            + self.sw.as_ref().map_or(0, |_| Kind::Sw.fds())
    }

    fn read(&mut self) -> Option<CounterSet> {
        let mut set = CounterSet::default();
        let mut ok = false;
        for g in [&mut self.hw, &mut self.sw].into_iter().flatten() {
            ok |= g.read(&mut set).is_ok();
        }
        ok.then_some(set)
    }
}

#[derive(Default)]
struct Proc {
    start_time: u64,
    threads: BTreeMap<u32, Groups>,
}

/// Why opening stopped for a target.
enum Stop {
    Gone,
    Exhausted,
    Refused(String),
}

/// The task sweep as the collector reads it: a slice in tests, the sample's chunked
/// `TaskList` in the sampler (so no copy of the list is made per sample).
pub trait Procs<'a>: IntoIterator<Item = &'a Arc<TaskRecord>> + Copy {}

impl<'a, T: IntoIterator<Item = &'a Arc<TaskRecord>> + Copy> Procs<'a> for T {}

pub struct PerfCollector {
    root: ProcRoot,
    backend: Option<Box<dyn CounterBackend>>,
    /// Count kernel mode too; turned off once the kernel refuses it and user-only works.
    kernel: bool,
    /// Set once hardware events are known not to open (no PMU, refused, blocked).
    hw_off: Option<String>,
    sw_off: Option<String>,
    system_off: Option<String>,
    cpus: BTreeMap<u32, Groups>,
    procs: HashMap<u32, Proc>,
    /// Last (start time, CPU ticks) of each process, to rank by CPU over the interval.
    ticks: HashMap<u32, (u64, u64)>,
    fds: usize,
    budget: usize,
    dirbuf: Vec<u8>,
    tids: Vec<u32>,
    paranoid: Option<i32>,
}

impl PerfCollector {
    /// The kernel backend for the live /proc; for a fixture tree, the fake backend reading
    /// `<proc-root>/../perf/*.txt` (none if that directory is absent: nothing is counted).
    pub fn new(root: &ProcRoot) -> Self {
        let backend: Option<Box<dyn CounterBackend>> = if root.is_live() {
            Some(Box::new(live::LiveBackend))
        } else {
            root.proc
                .parent()
                .and_then(|p| fake::FakeBackend::from_dir(&p.join("perf")))
                .map(|f| Box::new(f) as Box<dyn CounterBackend>)
        };
        PerfCollector::with_backend(root, backend, fd_budget())
    }

    /// A collector over any backend with a budget of counter descriptors (tests, benches).
    pub fn with_backend(
        root: &ProcRoot,
        backend: Option<Box<dyn CounterBackend>>,
        budget: usize,
    ) -> Self {
        let paranoid = root
            .read_proc("sys/kernel/perf_event_paranoid")
            .ok()
            .and_then(|b| String::from_utf8_lossy(&b).trim().parse().ok());
        PerfCollector {
            root: root.clone(),
            backend,
            kernel: true,
            hw_off: None,
            sw_off: None,
            system_off: None,
            cpus: BTreeMap::new(),
            procs: HashMap::new(),
            ticks: HashMap::new(),
            fds: 0,
            budget,
            dirbuf: Vec::new(),
            tids: Vec::new(),
            paranoid,
        }
    }

    /// Counter descriptors held now.
    pub fn fds(&self) -> usize {
        self.fds
    }

    /// Reads (opening what is new) the per-CPU counters of `cpu_ids` and, when `top_n` > 0,
    /// the per-thread counters of the `top_n` processes that used the most CPU since the
    /// previous call (by utime + stime from `procs`, the task sweep just taken).
    pub fn sample<'a>(
        &mut self,
        cpu_ids: &[u32],
        procs: impl Procs<'a>,
        top_n: u32,
        focus: Option<u32>,
        notes: &mut Vec<Note>,
    ) -> PerfSample {
        let mut out = PerfSample {
            tasks_asked: top_n,
            ..PerfSample::default()
        };
        if self.backend.is_none() {
            out.hw_reason = Some("not available (no counter source for this tree)".into());
            out.system_reason = out.hw_reason.clone();
            return out;
        }
        let mut ranked = self.rank(procs, top_n as usize);
        // The process on screen in the drill-down is counted whatever its rank.
        if let Some(pid) = focus
            && !ranked.iter().any(|(p, _)| *p == pid)
            && let Some(rec) = procs.into_iter().find(|r| r.pid() == pid)
        {
            if ranked.len() >= top_n as usize {
                ranked.pop();
            }
            ranked.insert(0, (pid, rec.stat.start_time));
        }
        let mut exhausted = self.sample_cpus(cpu_ids, &mut out);
        if top_n > 0 {
            exhausted |= self.sample_tasks(&ranked, &mut out);
        } else {
            self.close_procs(|_| true);
        }
        out.kernel = self.kernel;
        out.hw_reason = self.hw_off.clone();
        if out.hw_reason.is_none() && exhausted && !self.any_hw() {
            out.hw_reason = Some(reason(&OpenFail::Exhausted, None));
        }
        out.system_reason = self.system_off.clone().or_else(|| self.sw_off.clone());
        if let Some(r) = &out.hw_reason {
            notes.push(Note {
                source: "perf.hw".into(),
                reason: format!("hardware counters: {r}"),
            });
        }
        if let Some(r) = &out.system_reason {
            notes.push(Note {
                source: "perf.system".into(),
                reason: format!("per-CPU counters: {r}"),
            });
        }
        out
    }

    fn any_hw(&self) -> bool {
        self.cpus.values().any(|g| g.hw.is_some())
            || self
                .procs
                .values()
                .any(|p| p.threads.values().any(|g| g.hw.is_some()))
    }

    /// The pids to count, busiest first: CPU ticks over the last interval, then in total.
    /// Kernel threads (nothing user-level to count) and zombies are left out.
    fn rank<'a>(&mut self, procs: impl Procs<'a>, n: usize) -> Vec<(u32, u64)> {
        let len = procs.into_iter().size_hint().0.max(self.ticks.len());
        let mut scored: Vec<(u64, u64, u32, u64)> = Vec::with_capacity(len);
        let mut ticks = HashMap::with_capacity(len);
        for p in procs {
            let t = p.stat.utime.saturating_add(p.stat.stime);
            let st = p.stat.start_time;
            ticks.insert(p.pid(), (st, t));
            if p.is_kernel_thread() || p.stat.state == b'Z' {
                continue;
            }
            let d = match self.ticks.get(&p.pid()) {
                Some(&(s, before)) if s == st => t.saturating_sub(before),
                _ => 0,
            };
            scored.push((d, t, p.pid(), st));
        }
        self.ticks = ticks;
        scored.sort_by(|a, b| b.0.cmp(&a.0).then(b.1.cmp(&a.1)).then(a.2.cmp(&b.2)));
        scored.into_iter().take(n).map(|s| (s.2, s.3)).collect()
    }

    /// Opens both groups on a target. Hardware failures that mean "never here" switch
    /// hardware off for good; a refused kernel mode is retried user-only once.
    fn open(&mut self, target: Target) -> Result<Groups, Stop> {
        let mut g = Groups::default();
        if self.sw_off.is_none() {
            match self.open_kind(target, Kind::Sw) {
                Ok(s) => g.sw = Some(s),
                Err(OpenFail::Gone) => return Err(Stop::Gone),
                Err(OpenFail::Exhausted) => return Err(Stop::Exhausted),
                Err(f) => {
                    let r = reason(&f, self.paranoid);
                    // A refusal on one thread may only mean "not your process" (no root):
                    // other processes are still tried. Anything else holds for all.
                    if matches!(target, Target::Thread(_)) && f != OpenFail::Refused {
                        self.sw_off = Some(r.clone());
                    }
                    return Err(Stop::Refused(r));
                }
            }
        }
        if self.hw_off.is_none() {
            match self.open_kind(target, Kind::Hw) {
                Ok(h) => g.hw = Some(h),
                Err(OpenFail::Gone) => return Err(Stop::Gone),
                Err(OpenFail::Exhausted) if g.sw.is_some() => {
                    self.fds += g.fds();
                    return Ok(g);
                }
                Err(OpenFail::Exhausted) => return Err(Stop::Exhausted),
                Err(f) => self.hw_off = Some(reason(&f, self.paranoid)),
            }
        }
        if g.sw.is_none() && g.hw.is_none() {
            let r = self.sw_off.clone().unwrap_or_default();
            return Err(Stop::Refused(r));
        }
        self.fds += g.fds();
        Ok(g)
    }

    fn open_kind(&mut self, target: Target, kind: Kind) -> Result<Box<dyn CounterGroup>, OpenFail> {
        let Some(b) = self.backend.as_mut() else {
            return Err(OpenFail::Other("no backend".into()));
        };
        match b.open(target, kind, self.kernel) {
            Ok(g) => Ok(g),
            Err(e) => match classify(&e) {
                OpenFail::Refused if self.kernel => {
                    // Kernel mode may be what is refused (perf_event_paranoid 2).
                    let g = b.open(target, kind, false).map_err(|e| classify(&e))?;
                    self.kernel = false;
                    Ok(g)
                }
                f => Err(f),
            },
        }
    }

    fn per_target_fds(&self) -> usize {
        let hw = if self.hw_off.is_none() {
            Kind::Hw.fds()
        } else {
            0
        };
        let sw = if self.sw_off.is_none() {
            Kind::Sw.fds()
        } else {
            0
        };
        hw + sw
    }

    /// Returns true when it ran out of descriptors.
    fn sample_cpus(&mut self, cpu_ids: &[u32], out: &mut PerfSample) -> bool {
        let gone: Vec<u32> = self
            .cpus
            .keys()
            .filter(|c| !cpu_ids.contains(c))
            .copied()
            .collect();
        for c in gone {
            if let Some(g) = self.cpus.remove(&c) {
                self.fds -= g.fds().min(self.fds);
            }
        }
        let mut exhausted = false;
        for &c in cpu_ids {
            if !self.cpus.contains_key(&c) && self.system_off.is_none() && !exhausted {
                match self.open(Target::Cpu(c)) {
                    Ok(g) => {
                        self.cpus.insert(c, g);
                    }
                    Err(Stop::Refused(r)) => self.system_off = Some(r),
                    Err(Stop::Exhausted) => exhausted = true,
                    Err(Stop::Gone) => {}
                }
            }
            if let Some(set) = self.cpus.get_mut(&c).and_then(Groups::read) {
                out.cpus.push((c, set));
            }
        }
        exhausted
    }

    fn close_procs(&mut self, drop: impl Fn(u32) -> bool) {
        let mut freed = 0;
        self.procs.retain(|pid, p| {
            let d = drop(*pid);
            if d {
                freed += p.threads.values().map(Groups::fds).sum::<usize>();
            }
            !d
        });
        self.fds -= freed.min(self.fds);
    }

    /// A thread's name, read once when its counters open (from stat, which fixtures have).
    fn thread_comm(&self, pid: u32, tid: u32) -> String {
        self.root
            .read_proc(&format!("{pid}/task/{tid}/stat"))
            .ok()
            .and_then(|b| {
                parse_pid_stat(&b)
                    .ok()
                    .map(|(_, comm)| String::from_utf8_lossy(comm).into_owned())
            })
            .unwrap_or_default()
    }

    /// Returns true when it ran out of descriptors.
    fn sample_tasks(&mut self, ranked: &[(u32, u64)], out: &mut PerfSample) -> bool {
        // Close what is no longer ranked (or a pid reused by a new process) first, so its
        // descriptors are free for the newcomers.
        let keep: HashMap<u32, u64> = ranked.iter().copied().collect();
        self.close_procs(|pid| !keep.contains_key(&pid));
        let stale: Vec<u32> = self
            .procs
            .iter()
            .filter(|(pid, p)| keep.get(pid) != Some(&p.start_time))
            .map(|(pid, _)| *pid)
            .collect();
        self.close_procs(|pid| stale.contains(&pid));

        let mut limited = false;
        let mut exhausted = false;
        let mut counted = 0usize;
        let mut refused = 0usize;
        let mut refused_why = String::new();
        for &(pid, start_time) in ranked {
            self.tids.clear();
            let dir = self.root.proc_path(&format!("{pid}/task"));
            if list_numeric(&dir, &mut self.dirbuf, &mut self.tids).is_err() {
                self.close_procs(|p| p == pid);
                continue;
            }
            self.tids.sort_unstable();
            let mut p = self.procs.remove(&pid).unwrap_or(Proc {
                start_time,
                threads: BTreeMap::new(),
            });
            // Threads that exited are dropped.
            let tids = std::mem::take(&mut self.tids);
            let mut freed = 0;
            p.threads.retain(|tid, g| {
                let keep = tids.binary_search(tid).is_ok();
                if !keep {
                    freed += g.fds();
                }
                keep
            });
            self.fds -= freed.min(self.fds);
            let new: Vec<u32> = tids
                .iter()
                .filter(|t| !p.threads.contains_key(t))
                .copied()
                .collect();
            // A process is counted whole or not at all: a partial sum would mislead. One
            // that does not fit is skipped; a smaller one further down may still fit.
            let need = new.len() * self.per_target_fds();
            if !new.is_empty() && (exhausted || self.fds + need > self.budget) {
                limited |= !exhausted;
                self.fds -= p
                    .threads
                    .values()
                    .map(Groups::fds)
                    .sum::<usize>()
                    .min(self.fds);
                self.tids = tids;
                continue;
            }
            for tid in new {
                match self.open(Target::Thread(tid)) {
                    Ok(mut g) => {
                        g.comm = self.thread_comm(pid, tid);
                        p.threads.insert(tid, g);
                    }
                    Err(Stop::Gone) => {}
                    Err(Stop::Exhausted) => {
                        exhausted = true;
                        break;
                    }
                    Err(Stop::Refused(r)) => {
                        refused += 1;
                        refused_why = r;
                        let held: usize = p.threads.values().map(Groups::fds).sum();
                        self.fds -= held.min(self.fds);
                        p.threads.clear();
                        break;
                    }
                }
            }
            self.tids = tids;
            if exhausted {
                self.fds -= p
                    .threads
                    .values()
                    .map(Groups::fds)
                    .sum::<usize>()
                    .min(self.fds);
                continue;
            }
            let threads: Vec<ThreadCounters> = p
                .threads
                .iter_mut()
                .filter_map(|(tid, g)| {
                    g.read().map(|c| ThreadCounters {
                        tid: *tid,
                        c,
                        comm: g.comm.clone(),
                    })
                })
                .collect();
            if !threads.is_empty() {
                counted += 1;
                out.procs.push(ProcCounters { pid, threads });
                self.procs.insert(pid, p);
            }
        }
        if let Some(r) = &self.sw_off {
            out.tasks_reason = Some(format!("per-task counters: {r}"));
        } else if refused > 0 && counted == 0 {
            out.tasks_reason = Some(format!("per-task counters: {refused_why}"));
        } else if refused > 0 {
            out.tasks_reason = Some(format!(
                "counting {counted} of {} processes; {refused} {refused_why}",
                ranked.len()
            ));
        } else if limited || exhausted {
            let why = if exhausted {
                "out of file descriptors (EMFILE)".to_string()
            } else {
                format!("open-files budget of {} counters reached", self.budget)
            };
            out.tasks_reason = Some(format!(
                "counting {counted} of {} processes: {why}",
                ranked.len()
            ));
        }
        exhausted
    }
}

/// Counter descriptors this process may hold: a fifth of the open-files limit (already
/// raised to the hard limit by the task sweep), at most `MAX_FDS`.
pub fn fd_budget() -> usize {
    let mut lim = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit only writes the struct we pass.
    if unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) } != 0 {
        return 256;
    }
    ((lim.rlim_cur / 5) as usize).min(MAX_FDS)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{StatFields, TaskIdent};
    use fake::FakeBackend;

    fn rec(pid: u32, ticks: u64) -> Arc<TaskRecord> {
        Arc::new(TaskRecord {
            tgid: pid,
            stat: StatFields {
                pid,
                state: b'R',
                utime: ticks,
                start_time: 100,
                num_threads: 1,
                ..StatFields::default()
            },
            io: None,
            ident: Arc::new(TaskIdent::default()),
            runq_ns: None,
        })
    }

    /// A proc tree with the given tids under each pid.
    fn tree(dir: &std::path::Path, procs: &[(u32, &[u32])]) -> ProcRoot {
        let proc = dir.join("proc");
        let _ = std::fs::remove_dir_all(&proc);
        for (pid, tids) in procs {
            for t in *tids {
                std::fs::create_dir_all(proc.join(format!("{pid}/task/{t}"))).unwrap();
            }
        }
        ProcRoot::new(proc, dir.join("sys"))
    }

    const COUNTS: &str = "tid10 sw 100 100 1 2 3 4\ntid11 sw 100 100 1 2 3 4\n\
tid12 sw 100 100 1 2 3 4\ntid20 sw 100 100 1 2 3 4\ntid30 sw 100 100 1 2 3 4\n\
tid31 sw 100 100 1 2 3 4\nfail hw ENOENT\n";

    fn collector(root: &ProcRoot, text: &str, budget: usize) -> PerfCollector {
        let fake = FakeBackend::parse(text);
        PerfCollector::with_backend(root, Some(Box::new(fake)), budget)
    }

    fn tids(s: &PerfSample, pid: u32) -> Vec<u32> {
        s.procs
            .iter()
            .find(|p| p.pid == pid)
            .map(|p| p.threads.iter().map(|t| t.tid).collect())
            .unwrap_or_default()
    }

    #[test]
    fn new_threads_are_picked_up_and_exited_ones_dropped() {
        let dir = tempfile::tempdir().unwrap();
        let root = tree(dir.path(), &[(10, &[10, 11])]);
        let mut c = collector(&root, COUNTS, 1000);
        let mut notes = Vec::new();
        let s = c.sample(&[], &[rec(10, 5)], 4, None, &mut notes);
        assert_eq!(tids(&s, 10), vec![10, 11]);
        assert_eq!(c.fds(), 8);
        tree(dir.path(), &[(10, &[10, 12])]);
        let s = c.sample(&[], &[rec(10, 9)], 4, None, &mut notes);
        assert_eq!(tids(&s, 10), vec![10, 12]);
        assert_eq!(c.fds(), 8);
        assert_eq!(
            s.hw_reason.as_deref(),
            Some("not available (no PMU in this VM)")
        );
        // Per-task counting off: everything is closed.
        let s = c.sample(&[], &[rec(10, 9)], 0, None, &mut notes);
        assert!(s.procs.is_empty());
        assert_eq!(c.fds(), 0);
    }

    #[test]
    fn top_n_by_cpu_over_the_interval() {
        let dir = tempfile::tempdir().unwrap();
        let root = tree(dir.path(), &[(10, &[10]), (20, &[20]), (30, &[30])]);
        let mut c = collector(&root, COUNTS, 1000);
        let mut notes = Vec::new();
        // First sample: by total CPU time.
        let s = c.sample(
            &[],
            &[rec(10, 50), rec(20, 10), rec(30, 40)],
            2,
            None,
            &mut notes,
        );
        let pids: Vec<u32> = s.procs.iter().map(|p| p.pid).collect();
        assert_eq!(pids, vec![10, 30]);
        // Then by the ticks used since: 20 is now the busiest.
        let s = c.sample(
            &[],
            &[rec(10, 51), rec(20, 90), rec(30, 40)],
            2,
            None,
            &mut notes,
        );
        let pids: Vec<u32> = s.procs.iter().map(|p| p.pid).collect();
        assert_eq!(pids, vec![20, 10]);
        assert_eq!(c.fds(), 8);
        // A focused process is counted whatever its rank, in place of the last one.
        let s = c.sample(
            &[],
            &[rec(10, 52), rec(20, 95), rec(30, 40)],
            2,
            Some(30),
            &mut notes,
        );
        let mut pids: Vec<u32> = s.procs.iter().map(|p| p.pid).collect();
        pids.sort();
        assert_eq!(pids, vec![20, 30]);
    }

    #[test]
    fn budget_and_exhaustion_count_fewer_processes() {
        let dir = tempfile::tempdir().unwrap();
        let root = tree(dir.path(), &[(10, &[10, 11, 12]), (30, &[30, 31])]);
        let mut notes = Vec::new();
        // Until hardware is known to be absent a thread is reckoned at 9 descriptors: the
        // 3-thread process does not fit in 20, the 2-thread one does.
        let mut c = collector(&root, COUNTS, 20);
        let s = c.sample(&[], &[rec(10, 50), rec(30, 40)], 2, None, &mut notes);
        assert_eq!(s.procs.len(), 1);
        assert_eq!(s.procs[0].pid, 30);
        assert_eq!(
            s.tasks_reason.as_deref(),
            Some("counting 1 of 2 processes: open-files budget of 20 counters reached")
        );
        assert!(c.fds() <= 20);
        let mut c = collector(&root, &format!("{COUNTS}fail sw EMFILE\n"), 1000);
        let s = c.sample(&[0], &[rec(10, 50)], 2, None, &mut notes);
        assert!(s.procs.is_empty());
        assert!(s.tasks_reason.unwrap().contains("EMFILE"), "{notes:?}");
        assert_eq!(c.fds(), 0);
    }

    #[test]
    fn a_refused_process_does_not_stop_the_others() {
        let dir = tempfile::tempdir().unwrap();
        let root = tree(dir.path(), &[(10, &[10]), (20, &[20])]);
        // tid20 refused (another user's process without root), tid10 counts.
        let text = COUNTS.replace("tid20 sw 100 100 1 2 3 4\n", "");
        let mut fake = FakeBackend::parse(&text);
        fake.refuse(Target::Thread(20));
        let mut c = PerfCollector::with_backend(&root, Some(Box::new(fake)), 1000);
        let mut notes = Vec::new();
        let s = c.sample(&[], &[rec(10, 50), rec(20, 40)], 2, None, &mut notes);
        assert_eq!(tids(&s, 10), vec![10]);
        assert!(tids(&s, 20).is_empty());
        let why = s.tasks_reason.unwrap();
        assert!(
            why.starts_with("counting 1 of 2 processes; 1 refused"),
            "{why}"
        );
        assert_eq!(c.fds(), 4);
    }

    #[test]
    fn kernel_mode_refused_falls_back_to_user_only() {
        let dir = tempfile::tempdir().unwrap();
        let root = tree(dir.path(), &[(10, &[10])]);
        let mut c = collector(&root, &format!("{COUNTS}fail kernel EACCES\n"), 1000);
        let mut notes = Vec::new();
        let s = c.sample(&[], &[rec(10, 50)], 1, None, &mut notes);
        assert!(!s.kernel);
        assert_eq!(tids(&s, 10), vec![10]);
    }

    #[test]
    fn fixture_without_counters_counts_nothing_quietly() {
        let dir = tempfile::tempdir().unwrap();
        let root = tree(dir.path(), &[(10, &[10])]);
        let mut c = PerfCollector::new(&root);
        let mut notes = Vec::new();
        let s = c.sample(&[0], &[rec(10, 1)], 4, None, &mut notes);
        assert!(s.procs.is_empty() && s.cpus.is_empty());
        assert!(notes.is_empty());
        assert!(s.hw_reason.is_some());
    }
}
