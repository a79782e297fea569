//! Every process each refresh, every thread when a pane shows them. The sweep keeps
//! descriptors open and re-reads them with pread (the kernel regenerates the text; no
//! open/close per refresh), and reuses the previous record's `Arc` when nothing changed, so
//! the ring shares unchanged tasks.
//!
//! The gate: `schedstat` (1.7 µs) is read for every process; its run time is in
//! nanoseconds, so a task that made even one system call has moved. `stat` and `io` are
//! re-read only for a process that moved, plus a rotating fifth of the rest (what changes
//! without running: RSS under reclaim, a nice set by someone else). `/proc/PID/schedstat` is
//! the main thread's only, so a process with several threads, and every process on a kernel
//! without schedstat, has `stat` and `io` read every refresh. Threads (when a pane shows
//! them) are gated the same way on their own `task/TID/schedstat`. schedstat's second
//! field, the time spent waiting on a run queue, is kept in each record (RUNQ).

use std::collections::HashMap;
use std::fs::File;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::detail::parse_schedstat;
use super::dirents::list_numeric;
use super::parse::{parse_cmdline, parse_passwd, parse_pid_io, parse_pid_stat, parse_status_euid};
use super::procroot::ProcRoot;
use crate::model::detail::SchedStat;
use crate::model::{IoCounters, Note, TaskIdent, TaskList, TaskRecord, TaskSample};

/// A process whose run time did not move still has its `stat` and `io` re-read once per
/// this many refreshes: a change made without it running shows within this many.
pub const STAT_SWEEP: u64 = 5;
/// The note's source when no process has a `schedstat` (the gate is off). Not a figure
/// gone missing: `?` lists it, the status line does not count it as n/a.
pub const SCHEDSTAT_NOTE: &str = "info.schedstat";
/// Descriptors left free for everything else when deciding how many to keep open.
const FD_RESERVE: u64 = 512;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Got {
    Read,
    Denied,
    Failed,
}

#[derive(Default)]
struct Kept {
    stat: Option<File>,
    io: Option<File>,
    sched: Option<File>,
    io_denied: bool,
    /// `schedstat` could not be opened: not asked again for this task.
    sched_absent: bool,
    /// The last `schedstat` read, the gate's reference.
    sched_last: Option<SchedStat>,
    last: Option<Arc<TaskRecord>>,
    seen: u64,
}

impl Kept {
    fn fds(&self) -> u64 {
        u64::from(self.stat.is_some())
            + u64::from(self.io.is_some())
            + u64::from(self.sched.is_some())
    }
}

/// The last field of /proc/loadavg: the pid most recently allocated in the reader's PID
/// namespace (`0.00 0.01 0.05 1/123 4567` → 4567).
pub fn parse_last_pid(b: &[u8]) -> Option<u64> {
    let last = b.trim_ascii_end().rsplit(|c| *c == b' ').next()?;
    let runnable = b.split(|c| *c == b' ').nth(3)?;
    runnable.contains(&b'/').then_some(())?;
    super::parse::parse_u64(last)
}

/// A first sweep of at least this many processes runs in several threads.
const PARALLEL_FIRST_MIN: usize = 512;
/// At most this many.
const PARALLEL_FIRST_MAX: usize = 8;

/// How the last sample's gate went: tasks whose `schedstat` was read, and how many of them
/// had their `stat` (and `io`) skipped because their run time had not moved.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct GateStats {
    /// Threads that swept the processes (more than one only for a big first sample).
    pub sweep_threads: usize,
    pub procs: usize,
    pub procs_skipped: usize,
    pub threads: usize,
    pub threads_skipped: usize,
}

pub struct TaskCollector {
    root: ProcRoot,
    gate: GateStats,
    procs: HashMap<u32, Kept>,
    threads: HashMap<u32, Kept>,
    users: HashMap<u32, String>,
    pids: Vec<u32>,
    tids: Vec<u32>,
    buf: Vec<u8>,
    dirbuf: Vec<u8>,
    path: PathBuf,
    epoch: u64,
    fds_kept: u64,
    fd_budget: u64,
    /// Whether processes' `stat` and `io` descriptors are kept too, and threads'. The
    /// `schedstat` descriptors, read every refresh, come first; these, read only where the
    /// run time moved, are kept while the budget has room for all of them.
    keep_proc_files: bool,
    /// Threads' `stat` and `io` (the thread view): `stat`, read more often, is kept first.
    keep_thread_stat: bool,
    keep_thread_files: bool,
    /// Each multi-threaded process's thread ids found last time (thread view).
    task_tids: HashMap<u32, Vec<u32>>,
    is_root: bool,
    last_procs: Option<TaskList>,
    last_threads: Option<TaskList>,
    /// The last pid allocated in this PID namespace when /proc was last listed (the last
    /// field of /proc/loadavg), and whether to trust it (a live tree).
    last_pid: Option<u64>,
    trust_last_pid: bool,
    /// Whether the last sample listed /proc (for tests and the benchmark).
    listed: bool,
    parallel_first: bool,
}

/// What the panes currently need from the task sweep.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct TaskRequest {
    pub threads: bool,
}

impl TaskCollector {
    pub fn new(root: &ProcRoot) -> TaskCollector {
        let users = std::fs::read(root.etc.join("passwd"))
            .map(|b| parse_passwd(&b))
            .unwrap_or_default();
        TaskCollector {
            root: root.clone(),
            gate: GateStats::default(),
            procs: HashMap::new(),
            threads: HashMap::new(),
            users,
            pids: Vec::new(),
            tids: Vec::new(),
            buf: Vec::with_capacity(4096),
            dirbuf: Vec::new(),
            path: PathBuf::new(),
            epoch: 0,
            fds_kept: 0,
            fd_budget: fd_budget(),
            keep_proc_files: true,
            keep_thread_stat: true,
            keep_thread_files: true,
            task_tids: HashMap::new(),
            // SAFETY: geteuid has no preconditions and cannot fail.
            is_root: unsafe { libc::geteuid() } == 0,
            last_procs: None,
            last_threads: None,
            last_pid: None,
            trust_last_pid: root.is_live(),
            listed: false,
            parallel_first: true,
        }
    }

    /// Lets a fixture tree's /proc/loadavg stand for the kernel's (tests): a sample whose
    /// last allocated pid is unchanged reuses the last process list instead of listing /proc.
    pub fn trust_last_pid(&mut self, on: bool) {
        self.trust_last_pid = on;
    }

    /// Whether a big first sample may be swept by several threads (tests compare both).
    pub fn parallel_first(&mut self, on: bool) {
        self.parallel_first = on;
    }

    /// Descriptors the sweep keeps open now.
    pub fn kept_fds(&self) -> u64 {
        self.fds_kept
    }

    /// Whether the last sample listed /proc.
    pub fn listed(&self) -> bool {
        self.listed
    }

    /// The processes to sweep. Listing /proc costs about 1.4 µs a process (the kernel makes
    /// a dentry for each), so when no pid was allocated since the last listing (loadavg's
    /// last pid is unchanged, which also rules out a pid reused) the processes alive at the
    /// last sample are swept again: one that exited since fails its reads and is dropped.
    fn list_pids(&mut self) -> std::io::Result<()> {
        let last_pid = if self.trust_last_pid {
            self.root
                .read_proc("loadavg")
                .ok()
                .and_then(|b| parse_last_pid(&b))
        } else {
            None
        };
        let same = last_pid.is_some() && last_pid == self.last_pid && self.last_procs.is_some();
        self.last_pid = last_pid;
        self.pids.clear();
        self.listed = !same;
        if same {
            self.pids.extend(self.procs.keys().copied());
            return Ok(());
        }
        list_numeric(&self.root.proc, &mut self.dirbuf, &mut self.pids)
    }

    /// The last sample's gate figures (for the benchmark).
    pub fn gate(&self) -> GateStats {
        self.gate
    }

    pub fn sample(&mut self, req: TaskRequest, notes: &mut Vec<Note>) -> TaskSample {
        self.epoch += 1;
        self.gate = GateStats::default();
        if let Err(e) = self.list_pids() {
            self.last_pid = None;
            notes.push(Note {
                source: "tasks".into(),
                reason: format!("{}: {e}", self.root.proc.display()),
            });
            return TaskSample::default();
        }
        self.pids.sort_unstable();
        // Descriptors: every task's schedstat first, then processes' stat and io, then
        // threads' (the thread count is last sample's).
        let procs_n = self.pids.len() as u64;
        let threads_n = if req.threads {
            self.threads.len() as u64
        } else {
            0
        };
        let sched_fds = procs_n + threads_n;
        self.keep_proc_files = sched_fds + 2 * procs_n <= self.fd_budget;
        self.keep_thread_stat = sched_fds + 2 * procs_n + threads_n <= self.fd_budget;
        self.keep_thread_files = sched_fds + 2 * (procs_n + threads_n) <= self.fd_budget;
        let mut procs = Vec::with_capacity(self.pids.len());
        let mut io_denied = 0usize;
        let mut with_sched = 0usize;
        let workers = self.first_sweep_workers();
        self.gate.sweep_threads = workers;
        if workers > 1 {
            procs = self.sweep_in_parallel(workers);
        } else {
            for i in 0..self.pids.len() {
                let pid = self.pids[i];
                if let Some(rec) = self.sample_proc(pid) {
                    procs.push(rec);
                }
            }
        }
        for rec in &procs {
            let kept = self.procs.get(&rec.stat.pid);
            io_denied += usize::from(kept.is_some_and(|k| k.io_denied));
            with_sched += usize::from(kept.is_some_and(|k| k.sched_last.is_some()));
        }
        if with_sched == 0 && !procs.is_empty() {
            // Not a figure gone missing: the gate has nothing to go on, so it is off.
            notes.push(Note {
                source: SCHEDSTAT_NOTE.into(),
                reason: "schedstat absent: every process's stat read each refresh".into(),
            });
        }
        let epoch = self.epoch;
        let mut closed = 0;
        self.procs.retain(|_, k| {
            let keep = k.seen == epoch;
            if !keep {
                closed += k.fds();
            }
            keep
        });
        self.fds_kept -= closed.min(self.fds_kept);
        if io_denied > 0 {
            notes.push(Note {
                source: "task.io".into(),
                reason: if self.is_root {
                    // Root is refused only by policy: a sandbox, a LSM, or ptrace rules.
                    format!(
                        "I/O counters of {} refused even to root",
                        plural(io_denied, "process", "processes")
                    )
                } else {
                    format!(
                        "I/O counters of {} need root (permission denied)",
                        plural(io_denied, "process", "processes")
                    )
                },
            });
        }
        let threads = if req.threads {
            let t = self.sample_threads(&procs);
            Some(TaskList::new(t, self.last_threads.as_ref()))
        } else {
            self.release_threads();
            None
        };
        // Chunks of the list unchanged since the last sample are shared with it.
        let procs = TaskList::new(procs, self.last_procs.as_ref());
        self.last_procs = Some(procs.clone());
        self.last_threads = threads.clone();
        TaskSample { procs, threads }
    }

    /// How many threads sweep this sample's processes: one, except for a first sample of
    /// many processes (every file opened and every task's identity read, about 60 µs a
    /// process) on a machine with CPUs to spare, where the first frame waits on it.
    fn first_sweep_workers(&self) -> usize {
        if !self.parallel_first || !self.procs.is_empty() || self.pids.len() < PARALLEL_FIRST_MIN {
            return 1;
        }
        std::thread::available_parallelism()
            .map_or(1, |n| n.get())
            .min(PARALLEL_FIRST_MAX)
            .min(self.pids.len() / (PARALLEL_FIRST_MIN / 2))
    }

    /// The first sweep over `self.pids` in `workers` threads, each a collector of its own
    /// over a contiguous share of the pids with the same share of the descriptor budget;
    /// their kept descriptors and records are then merged into this one, in pid order.
    fn sweep_in_parallel(&mut self, workers: usize) -> Vec<Arc<TaskRecord>> {
        let per = self.pids.len().div_ceil(workers);
        let budget = self.fd_budget.saturating_sub(self.fds_kept) / workers as u64;
        let pids = std::mem::take(&mut self.pids);
        let mut done: Vec<(TaskCollector, Vec<Arc<TaskRecord>>)> = std::thread::scope(|sc| {
            let handles: Vec<_> = pids
                .chunks(per)
                .map(|chunk| {
                    let mut w = self.worker(budget);
                    sc.spawn(move || {
                        let recs: Vec<_> = chunk.iter().filter_map(|&p| w.sample_proc(p)).collect();
                        (w, recs)
                    })
                })
                .collect();
            handles.into_iter().filter_map(|h| h.join().ok()).collect()
        });
        let mut out = Vec::with_capacity(pids.len());
        for (w, recs) in done.drain(..) {
            self.fds_kept += w.fds_kept;
            self.gate.procs += w.gate.procs;
            self.gate.procs_skipped += w.gate.procs_skipped;
            self.procs.extend(w.procs);
            out.extend(recs);
        }
        self.pids = pids;
        out
    }

    /// A collector for a share of a parallel sweep: the same tree, users, epoch and choices,
    /// no kept state, and `budget` descriptors.
    fn worker(&self, budget: u64) -> TaskCollector {
        TaskCollector {
            root: self.root.clone(),
            gate: GateStats::default(),
            procs: HashMap::new(),
            threads: HashMap::new(),
            users: self.users.clone(),
            pids: Vec::new(),
            tids: Vec::new(),
            buf: Vec::with_capacity(4096),
            dirbuf: Vec::new(),
            path: PathBuf::new(),
            epoch: self.epoch,
            fds_kept: 0,
            fd_budget: budget,
            keep_proc_files: self.keep_proc_files,
            keep_thread_stat: self.keep_thread_stat,
            keep_thread_files: self.keep_thread_files,
            task_tids: HashMap::new(),
            is_root: self.is_root,
            last_procs: None,
            last_threads: None,
            last_pid: None,
            trust_last_pid: false,
            listed: false,
            parallel_first: false,
        }
    }

    fn sample_proc(&mut self, pid: u32) -> Option<Arc<TaskRecord>> {
        let epoch = self.epoch;
        let keep_files = self.keep_proc_files;
        let mut kept = self.procs.remove(&pid).unwrap_or_default();
        kept.seen = epoch;
        let sched = self.read_sched(pid, None, &mut kept);
        self.gate.procs += usize::from(sched.is_some());
        let sweep = (epoch + u64::from(pid)).is_multiple_of(STAT_SWEEP);
        if !sweep && let Some(last) = kept.last.as_ref().filter(|_| still(&kept, sched)) {
            // The only thread did not run since the last read: nothing it counts moved.
            let rec = Arc::clone(last);
            self.procs.insert(pid, kept);
            self.gate.procs_skipped += 1;
            return Some(rec);
        }
        let runq_ns = sched.map(|s| s.wait_ns);
        kept.sched_last = sched;
        if self.read_kept(pid, None, "stat", &mut kept.stat, keep_files) != Got::Read {
            // The task is gone: its other descriptors close with `kept`.
            self.fds_kept -= kept.fds().min(self.fds_kept);
            return None;
        }
        let Ok((fields, comm)) = parse_pid_stat(&self.buf) else {
            // A half-written or foreign stat file: skip this task this time, keep its fds,
            // and read its stat again next time whether it ran or not.
            kept.sched_last = None;
            self.procs.insert(pid, kept);
            return None;
        };
        let prev = kept
            .last
            .take()
            .filter(|p| p.stat.pid == fields.pid && p.stat.start_time == fields.start_time);
        if prev.is_none() {
            // A new task, perhaps on a recycled pid: what was learnt about the previous
            // owner (io refused, no schedstat, its io descriptor) does not apply to this one.
            kept.io_denied = false;
            kept.sched_absent = false;
            if kept.io.take().is_some() {
                self.fds_kept = self.fds_kept.saturating_sub(1);
            }
        }
        let comm_same = prev.as_ref().is_some_and(|p| comm_eq(&p.ident.comm, comm));
        let ident = match (&prev, comm_same) {
            (Some(p), true) => Arc::clone(&p.ident),
            _ => {
                let comm = String::from_utf8_lossy(comm).into_owned();
                self.read_ident(pid, None, comm)
            }
        };
        let io = if kept.io_denied {
            None
        } else {
            self.read_io(pid, &mut kept)
        };
        let rec = match prev {
            Some(p)
                if p.stat == fields
                    && p.io == io
                    && p.runq_ns == runq_ns
                    && Arc::ptr_eq(&p.ident, &ident) =>
            {
                p
            }
            _ => Arc::new(TaskRecord {
                tgid: pid,
                stat: fields,
                io,
                ident,
                runq_ns,
            }),
        };
        kept.last = Some(Arc::clone(&rec));
        self.procs.insert(pid, kept);
        Some(rec)
    }

    /// The process's (main thread's) or thread's `schedstat`, or `None` where the kernel
    /// has none or it says nothing (all zero: sched_info off).
    fn read_sched(&mut self, pid: u32, tid: Option<u32>, kept: &mut Kept) -> Option<SchedStat> {
        if kept.sched_absent {
            return None;
        }
        let mut fd = kept.sched.take();
        let got = self.read_kept(pid, tid, "schedstat", &mut fd, true);
        kept.sched = fd;
        if got != Got::Read {
            kept.sched_absent = got == Got::Denied || self.task_dir_exists(pid, tid);
            return None;
        }
        parse_schedstat(&self.buf).filter(|s| s.run_ns > 0)
    }

    /// Whether `schedstat` is missing because the kernel has none (the task is still
    /// there) rather than because the task went.
    fn task_dir_exists(&mut self, pid: u32, tid: Option<u32>) -> bool {
        self.set_path(pid, tid, "stat");
        self.path.exists()
    }

    fn read_io(&mut self, pid: u32, kept: &mut Kept) -> Option<IoCounters> {
        let keep = self.keep_proc_files;
        let mut io_fd = kept.io.take();
        let got = self.read_kept(pid, None, "io", &mut io_fd, keep);
        kept.io = io_fd;
        match got {
            Got::Read => parse_pid_io(&self.buf).ok(),
            Got::Denied => {
                kept.io_denied = true;
                None
            }
            Got::Failed => None,
        }
    }

    /// `/proc/PID/task/TID/io` through the thread's kept descriptor.
    fn read_thread_io(&mut self, pid: u32, tid: u32, kept: &mut Kept) -> Option<IoCounters> {
        let keep = self.keep_thread_files;
        let mut io_fd = kept.io.take();
        let got = self.read_kept(pid, Some(tid), "io", &mut io_fd, keep);
        kept.io = io_fd;
        match got {
            Got::Read => parse_pid_io(&self.buf).ok(),
            Got::Denied => {
                kept.io_denied = true;
                None
            }
            Got::Failed => None,
        }
    }

    fn sample_threads(&mut self, procs: &[Arc<TaskRecord>]) -> Vec<Arc<TaskRecord>> {
        let mut out = Vec::with_capacity(procs.len() * 2);
        let epoch = self.epoch;
        let mut known_tids = std::mem::take(&mut self.task_tids);
        for p in procs {
            // A single-threaded process stands for its only thread, unless it was listed
            // thread by thread last time: its own times include threads that have since
            // exited, and set against its main thread's they would show as one huge rate.
            if p.stat.num_threads <= 1 && !self.threads.contains_key(&p.stat.pid) {
                out.push(Arc::clone(p));
                continue;
            }
            let pid = p.stat.pid;
            let first = out.len();
            // The threads found last time stand for `task/` while there are as many as stat
            // counts now and every one of them is still there: a thread that started has
            // raised the count, one that exited fails its read. Listing `task/` costs more
            // than reading every thread's schedstat.
            let known = known_tids
                .remove(&pid)
                .filter(|t| t.len() == p.stat.num_threads as usize);
            let listed = known.is_none();
            let tids = match known {
                Some(t) => t,
                None => match self.list_tids(pid) {
                    Some(t) => t,
                    None => continue,
                },
            };
            let mut gone = false;
            for &tid in &tids {
                match self.sample_thread(p, tid) {
                    Some(rec) => out.push(rec),
                    None => gone = true,
                }
            }
            if gone && !listed {
                // One exited: another may have started in its place, unseen by the count.
                out.truncate(first);
                let Some(tids) = self.list_tids(pid) else {
                    continue;
                };
                for &tid in &tids {
                    if let Some(rec) = self.sample_thread(p, tid) {
                        out.push(rec);
                    }
                }
            }
            let found: Vec<u32> = out[first..].iter().map(|r| r.stat.pid).collect();
            self.task_tids.insert(pid, found);
        }
        let mut closed = 0;
        self.threads.retain(|_, k| {
            let keep = k.seen == epoch;
            if !keep {
                closed += k.fds();
            }
            keep
        });
        self.fds_kept -= closed.min(self.fds_kept);
        out
    }

    /// The thread ids under `PID/task/`, sorted; `None` when the process went.
    fn list_tids(&mut self, pid: u32) -> Option<Vec<u32>> {
        self.tids.clear();
        self.set_path(pid, None, "task");
        let dir = self.path.clone();
        list_numeric(&dir, &mut self.dirbuf, &mut self.tids).ok()?;
        self.tids.sort_unstable();
        Some(self.tids.clone())
    }

    /// One thread of `p`: its kept record where its run time did not move, else read
    /// afresh; `None` when it went.
    fn sample_thread(&mut self, p: &TaskRecord, tid: u32) -> Option<Arc<TaskRecord>> {
        let epoch = self.epoch;
        let pid = p.stat.pid;
        let keep_stat = self.keep_thread_stat;
        let mut kept = self.threads.remove(&tid).unwrap_or_default();
        kept.seen = epoch;
        let sched = self.read_sched(pid, Some(tid), &mut kept);
        self.gate.threads += usize::from(sched.is_some());
        let sweep = (epoch + u64::from(tid)).is_multiple_of(STAT_SWEEP);
        let moved = sched.is_none() || sched != kept.sched_last;
        if !sweep
            && !moved
            && let Some(last) = kept.last.as_ref().filter(|t| t.tgid == pid)
        {
            // The thread did not run: its times, faults and I/O did not move.
            let rec = Arc::clone(last);
            self.threads.insert(tid, kept);
            self.gate.threads_skipped += 1;
            return Some(rec);
        }
        kept.sched_last = sched;
        if self.read_kept(pid, Some(tid), "stat", &mut kept.stat, keep_stat) != Got::Read {
            // Dropped: its other kept descriptors (io) close with it.
            self.fds_kept -= kept.fds().min(self.fds_kept);
            return None;
        }
        let Ok((fields, comm)) = parse_pid_stat(&self.buf) else {
            self.fds_kept -= kept.fds().min(self.fds_kept);
            return None;
        };
        let runq_ns = sched.map(|s| s.wait_ns);
        let prev = kept
            .last
            .take()
            .filter(|t| t.stat.start_time == fields.start_time && t.tgid == pid);
        let rec = match prev {
            // Run time moved (or none to go by) and its ticks did not: its I/O may
            // still have moved, so the record is built again below.
            Some(t)
                if t.stat == fields
                    && t.runq_ns == runq_ns
                    && sched.is_none()
                    && comm_eq(&t.ident.comm, comm) =>
            {
                t
            }
            prev => {
                // A named thread keeps its own ident while its name and its
                // process's stay: a thread that ran is not a new name to copy.
                let own = prev.as_ref().map(|t| &t.ident).filter(|i| {
                    comm_eq(&i.comm, comm) && i.cmdline == p.ident.cmdline && i.uid == p.ident.uid
                });
                let ident = if tid == pid || comm_eq(&p.ident.comm, comm) {
                    Arc::clone(&p.ident)
                } else if let Some(own) = own {
                    Arc::clone(own)
                } else {
                    Arc::new(TaskIdent {
                        comm: String::from_utf8_lossy(comm).into_owned(),
                        ..(*p.ident).clone()
                    })
                };
                // Per-thread io, read only when the thread ran since its last read:
                // one that did not run did no I/O, so idle threads cost nothing.
                // Run time (schedstat, ns) says so exactly; without schedstat, the
                // ticks of stat are what there is.
                let ran = |t: &TaskRecord| {
                    sched.is_some() || t.stat.utime != fields.utime || t.stat.stime != fields.stime
                };
                let io = match &prev {
                    Some(t) if !ran(t) => t.io,
                    _ if kept.io_denied => None,
                    _ => self.read_thread_io(pid, tid, &mut kept),
                };
                let rec = TaskRecord {
                    tgid: pid,
                    stat: fields,
                    io,
                    ident,
                    runq_ns,
                };
                match prev {
                    Some(t) if *t == rec => t,
                    _ => Arc::new(rec),
                }
            }
        };
        kept.last = Some(Arc::clone(&rec));
        self.threads.insert(tid, kept);
        Some(rec)
    }

    fn release_threads(&mut self) {
        let n: u64 = self.threads.values().map(Kept::fds).sum();
        self.fds_kept -= n.min(self.fds_kept);
        self.threads.clear();
        self.task_tids.clear();
    }

    fn set_path(&mut self, pid: u32, tid: Option<u32>, file: &str) {
        use std::fmt::Write;
        let mut s = String::with_capacity(48);
        let _ = match tid {
            Some(t) => write!(s, "{pid}/task/{t}/{file}"),
            None => write!(s, "{pid}/{file}"),
        };
        self.path.clear();
        self.path.push(&self.root.proc);
        self.path.push(s);
    }

    /// Reads a task file into `self.buf` through a kept descriptor when there is one (pread
    /// at offset 0), opening it (and keeping it if `keep`, within the fd budget) otherwise;
    /// a kept descriptor of a class no longer kept is closed after the read. A kept fd of a
    /// task that died answers ESRCH: the file is reopened once, which also handles a
    /// recycled pid.
    fn read_kept(
        &mut self,
        pid: u32,
        tid: Option<u32>,
        file: &str,
        fd: &mut Option<File>,
        keep: bool,
    ) -> Got {
        if let Some(f) = fd.as_ref() {
            if read_at_full(f, &mut self.buf).is_ok() && !self.buf.is_empty() {
                if !keep {
                    *fd = None;
                    self.fds_kept = self.fds_kept.saturating_sub(1);
                }
                return Got::Read;
            }
            *fd = None;
            self.fds_kept = self.fds_kept.saturating_sub(1);
        }
        self.set_path(pid, tid, file);
        let f = match File::open(&self.path) {
            Ok(f) => f,
            Err(e) if e.kind() == std::io::ErrorKind::PermissionDenied => return Got::Denied,
            Err(e) if matches!(e.raw_os_error(), Some(libc::EMFILE | libc::ENFILE)) => {
                // Out of descriptors (something else took them): keep fewer from now on and
                // try once more with the room that frees.
                self.shed_fds();
                match File::open(&self.path) {
                    Ok(f) => f,
                    Err(_) => return Got::Failed,
                }
            }
            Err(_) => return Got::Failed,
        };
        match read_at_full(&f, &mut self.buf) {
            Err(e)
                if e.kind() == std::io::ErrorKind::PermissionDenied
                    || e.raw_os_error() == Some(libc::EPERM) =>
            {
                return Got::Denied;
            }
            Err(_) => return Got::Failed,
            Ok(()) if self.buf.is_empty() => return Got::Failed,
            Ok(()) => {}
        }
        if keep && self.fds_kept < self.fd_budget {
            self.fds_kept += 1;
            *fd = Some(f);
        }
        Got::Read
    }

    /// Halves the descriptors the sweep may keep and closes kept ones (threads' first) down
    /// to that: past it, files are opened, read and closed each time.
    fn shed_fds(&mut self) {
        self.fd_budget = self.fds_kept / 2;
        let mut closed = 0;
        let excess = self.fds_kept.saturating_sub(self.fd_budget);
        for k in self.threads.values_mut().chain(self.procs.values_mut()) {
            if closed >= excess {
                break;
            }
            closed += k.fds();
            k.stat = None;
            k.io = None;
            k.sched = None;
        }
        self.fds_kept = self.fds_kept.saturating_sub(closed);
    }

    fn read_ident(&mut self, pid: u32, tid: Option<u32>, comm: String) -> Arc<TaskIdent> {
        // One read each into the sweep's buffer: `std::fs::read` would stat the file (procfs
        // says 0 bytes) and then read `status` in seven growing pieces.
        self.set_path(pid, tid, "cmdline");
        let cmdline = read_once(&self.path, &mut self.buf)
            .map(|()| parse_cmdline(&self.buf))
            .unwrap_or_default();
        // status is costly, but this runs once per task lifetime (and after an exec).
        self.path.set_file_name("status");
        let uid = read_once(&self.path, &mut self.buf)
            .ok()
            .and_then(|()| parse_status_euid(&self.buf));
        let user = match uid {
            Some(u) => self.users.get(&u).cloned().unwrap_or_else(|| u.to_string()),
            None => "?".to_string(),
        };
        Arc::new(TaskIdent {
            comm,
            cmdline,
            uid,
            user,
        })
    }
}

/// Whether a kept (lossily decoded) comm is the one the kernel printed now. A comm cut
/// inside a UTF-8 character never equals its lossy form byte for byte; comparing only bytes
/// would re-read cmdline and status for such a task on every refresh.
fn comm_eq(kept: &str, raw: &[u8]) -> bool {
    kept.as_bytes() == raw || String::from_utf8_lossy(raw) == kept
}

/// True when the gate may skip this process's `stat` and `io`: it had one thread at its
/// last read (`/proc/PID/schedstat` covers the main thread only) and its run time, run-queue
/// wait and timeslice count are exactly as then (a task that ran at all moved them; a
/// recycled pid's new task cannot have the same nanoseconds).
fn still(kept: &Kept, now: Option<SchedStat>) -> bool {
    let single = kept.last.as_ref().is_some_and(|r| r.stat.num_threads <= 1);
    single && now.is_some() && now == kept.sched_last
}

/// Opens `path`, reads it whole into `buf` with `read_at_full` and closes it.
fn read_once(path: &Path, buf: &mut Vec<u8>) -> std::io::Result<()> {
    read_at_full(&File::open(path)?, buf)
}

/// pread from offset 0 until EOF into `buf` (cleared first). A read shorter than the room
/// it was given is the end: procfs's seq_file fills the whole buffer unless the text ended,
/// so a task file costs one system call, not two.
fn read_at_full(f: &File, buf: &mut Vec<u8>) -> std::io::Result<()> {
    buf.clear();
    if buf.capacity() < 4096 {
        buf.reserve(4096);
    }
    loop {
        let len = buf.len();
        let cap = buf.capacity();
        buf.resize(cap, 0);
        let n = f.read_at(&mut buf[len..], len as u64);
        match n {
            Ok(0) => {
                buf.truncate(len);
                return Ok(());
            }
            Ok(n) => {
                buf.truncate(len + n);
                if len + n < cap {
                    return Ok(());
                }
                if buf.len() == buf.capacity() {
                    buf.reserve(buf.capacity());
                }
            }
            Err(e) => {
                buf.truncate(len);
                return Err(e);
            }
        }
    }
}

/// Raises the soft open-files limit to the hard one and returns how many descriptors the
/// sweep may keep open.
fn fd_budget() -> u64 {
    super::dirents::raise_open_files_limit().saturating_sub(FD_RESERVE) * 3 / 4
}

/// `1 process`, `3 processes`.
fn plural(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}
