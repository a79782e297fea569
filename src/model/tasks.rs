//! Task records (a process or a thread) and the per-task rates derived from two samples.
//! A task's identity is (pid, start time): a recycled pid is a new task, never a rate.

use serde::{Deserialize, Serialize};
use std::sync::Arc;

use super::counters::rate;
use super::tasklist::TaskList;

/// What rarely changes about a task; shared between every sample that sees it.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TaskIdent {
    /// Raw comm as the kernel gave it (lossy UTF-8); sanitised when drawn.
    pub comm: String,
    /// Arguments joined by spaces (lossy UTF-8); empty for kernel threads and zombies.
    pub cmdline: String,
    pub uid: Option<u32>,
    pub user: String,
}

/// `/proc/PID/io` counters.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct IoCounters {
    pub rchar: u64,
    pub wchar: u64,
    pub syscr: u64,
    pub syscw: u64,
    pub read_bytes: u64,
    pub write_bytes: u64,
    pub cancelled_write_bytes: u64,
}

/// The numeric fields of `/proc/PID/stat` usetop keeps.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct StatFields {
    pub pid: u32,
    pub state: u8,
    pub ppid: u32,
    pub flags: u32,
    pub minflt: u64,
    pub majflt: u64,
    pub utime: u64,
    pub stime: u64,
    pub priority: i64,
    pub nice: i64,
    pub num_threads: u32,
    pub start_time: u64,
    pub vsize: u64,
    pub rss_pages: u64,
    pub processor: u32,
    pub blkio_ticks: u64,
}

/// Kernel threads carry PF_KTHREAD in their stat flags.
const PF_KTHREAD: u32 = 0x0020_0000;

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct TaskRecord {
    /// Thread group id: equal to `stat.pid` for a process and for a main thread.
    pub tgid: u32,
    pub stat: StatFields,
    /// `None` when unreadable (another user's process without root) or not yet read.
    pub io: Option<IoCounters>,
    pub ident: Arc<TaskIdent>,
    /// Nanoseconds spent runnable but waiting on a run queue (`schedstat`'s second field):
    /// the thread's own for a thread; for a process, its main thread's (what
    /// `/proc/PID/schedstat` covers). `None` without schedstat, and in recordings made
    /// before format 4.
    pub runq_ns: Option<u64>,
}

std::thread_local! {
    /// Set while a recording of format 3 or older is decoded: its task records end at
    /// `ident` (`runq_ns` came with format 4).
    static RECORDS_BEFORE_RUNQ: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// Runs `f` (a decode) reading task records as formats 1 to 3 wrote them, without
/// `runq_ns`. postcard is positional, so the record's layout is chosen before decoding.
pub fn with_records_before_runq<T>(f: impl FnOnce() -> T) -> T {
    struct Reset(bool);
    impl Drop for Reset {
        fn drop(&mut self) {
            RECORDS_BEFORE_RUNQ.with(|c| c.set(self.0));
        }
    }
    let _reset = Reset(RECORDS_BEFORE_RUNQ.with(|c| c.replace(true)));
    f()
}

/// A task record as formats 1 to 3 wrote it.
#[derive(Deserialize)]
struct RecordV3 {
    tgid: u32,
    stat: StatFields,
    io: Option<IoCounters>,
    ident: Arc<TaskIdent>,
}

/// The record as format 4 writes it (the same fields as `TaskRecord`, in its order).
#[derive(Deserialize)]
struct RecordV4 {
    tgid: u32,
    stat: StatFields,
    io: Option<IoCounters>,
    ident: Arc<TaskIdent>,
    runq_ns: Option<u64>,
}

impl<'de> Deserialize<'de> for TaskRecord {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<TaskRecord, D::Error> {
        if RECORDS_BEFORE_RUNQ.with(std::cell::Cell::get) {
            let r = RecordV3::deserialize(d)?;
            return Ok(TaskRecord {
                tgid: r.tgid,
                stat: r.stat,
                io: r.io,
                ident: r.ident,
                runq_ns: None,
            });
        }
        let r = RecordV4::deserialize(d)?;
        Ok(TaskRecord {
            tgid: r.tgid,
            stat: r.stat,
            io: r.io,
            ident: r.ident,
            runq_ns: r.runq_ns,
        })
    }
}

impl TaskRecord {
    pub fn pid(&self) -> u32 {
        self.stat.pid
    }

    pub fn same_task(&self, other: &TaskRecord) -> bool {
        self.stat.pid == other.stat.pid && self.stat.start_time == other.stat.start_time
    }

    pub fn is_kernel_thread(&self) -> bool {
        self.stat.flags & PF_KTHREAD != 0 || self.stat.pid == 2 || self.stat.ppid == 2
    }

    pub fn is_thread(&self) -> bool {
        self.tgid != self.stat.pid
    }
}

/// A task with the rates derived over one interval. Rates are `None` on the first sample a
/// task appears in (no interval yet).
#[derive(Clone, Debug)]
pub struct TaskRate {
    pub rec: Arc<TaskRecord>,
    /// Percent of one CPU, like top: a busy 4-thread process can show 400.
    pub cpu_pct: Option<f64>,
    pub usr_pct: Option<f64>,
    pub sys_pct: Option<f64>,
    pub minflt_s: Option<f64>,
    pub majflt_s: Option<f64>,
    pub read_bps: Option<f64>,
    pub write_bps: Option<f64>,
    pub rss_bytes: u64,
    pub mem_pct: Option<f64>,
    /// Milliseconds per second the task waited for block I/O (stat field 42, its main
    /// thread only); `None` while delay accounting is off.
    pub blkio_delay_ms_s: Option<f64>,
    /// Milliseconds per second the task waited on a run queue while runnable (`schedstat`;
    /// a process's main thread, a thread's own); `None` without schedstat.
    pub runq_ms_s: Option<f64>,
}

/// Constants the per-task arithmetic needs from the sample.
#[derive(Clone, Copy, Debug)]
pub struct TaskScale {
    pub dt_s: f64,
    pub hz: u64,
    pub page_size: u64,
    pub mem_total: Option<u64>,
    /// Delay accounting is on: stat's delay field counts (`checklist::DelayAcct`).
    pub delayacct: bool,
}

/// Joins two pid-sorted task lists and derives each current task's rates. Tasks in `prev`
/// whose pid is reused with another start time are treated as gone.
pub fn derive_tasks(prev: Option<&TaskList>, cur: &TaskList, scale: TaskScale) -> Vec<TaskRate> {
    let key = |r: &TaskRecord| (r.tgid, r.stat.pid);
    let mut prev = prev.into_iter().flat_map(|p| p.iter()).peekable();
    let mut out = Vec::with_capacity(cur.len());
    for rec in cur.iter() {
        while prev.next_if(|p| key(p) < key(rec)).is_some() {}
        let before = prev
            .peek()
            .filter(|p| key(p) == key(rec) && p.same_task(rec));
        out.push(task_rate(before.map(|p| &***p), rec, scale));
    }
    out
}

fn task_rate(prev: Option<&TaskRecord>, cur: &Arc<TaskRecord>, s: TaskScale) -> TaskRate {
    let rss_bytes = cur.stat.rss_pages.saturating_mul(s.page_size);
    let mem_pct = s
        .mem_total
        .filter(|&t| t > 0)
        .map(|t| rss_bytes as f64 * 100.0 / t as f64);
    let dt = if prev.is_some() { s.dt_s } else { 0.0 };
    let hz = s.hz.max(1) as f64;
    let tick_pct = |p: u64, c: u64| rate(p, c, dt).map(|r| r * 100.0 / hz);
    let (p, c) = (prev.map(|p| p.stat).unwrap_or_default(), cur.stat);
    let usr_pct = tick_pct(p.utime, c.utime);
    let sys_pct = tick_pct(p.stime, c.stime);
    let io_rate = |f: fn(&IoCounters) -> u64| match (prev.and_then(|p| p.io), cur.io) {
        (Some(a), Some(b)) => rate(f(&a), f(&b), dt),
        _ => None,
    };
    TaskRate {
        rec: Arc::clone(cur),
        cpu_pct: usr_pct.zip(sys_pct).map(|(u, s)| u + s),
        usr_pct,
        sys_pct,
        minflt_s: rate(p.minflt, c.minflt, dt),
        majflt_s: rate(p.majflt, c.majflt, dt),
        read_bps: io_rate(|i| i.read_bytes),
        write_bps: io_rate(|i| i.write_bytes),
        rss_bytes,
        mem_pct,
        blkio_delay_ms_s: rate(p.blkio_ticks, c.blkio_ticks, dt)
            .filter(|_| s.delayacct)
            .map(|r| r * 1000.0 / hz),
        runq_ms_s: match (prev.and_then(|p| p.runq_ns), cur.runq_ns) {
            (Some(a), Some(b)) => rate(a, b, dt).map(|r| r / 1e6),
            _ => None,
        },
    }
}

/// Total CPU time of a task in ticks (for TIME+).
pub fn cpu_ticks(rec: &TaskRecord) -> u64 {
    rec.stat.utime.saturating_add(rec.stat.stime)
}
