//! The detail of the one task on screen: what is too costly to read for every task (status,
//! schedstat, limits, fd count, exe and cwd links), for a process and its threads. Filled
//! only while a drill-down view shows that task, so it is `None` in most samples.

use serde::{Deserialize, Serialize};

use super::counters::rate;
use super::tasks::{IoCounters, StatFields};

/// Which task the drill-down shows: a process, or one of its threads.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Focus {
    pub pid: u32,
    pub tid: Option<u32>,
}

/// The `/proc/PID/status` fields the detail view shows; memory in bytes.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct StatusFields {
    pub vm_rss: Option<u64>,
    pub rss_anon: Option<u64>,
    pub rss_file: Option<u64>,
    pub rss_shmem: Option<u64>,
    pub vm_swap: Option<u64>,
    pub voluntary_ctxt: Option<u64>,
    pub nonvoluntary_ctxt: Option<u64>,
    pub uid: Option<u32>,
}

/// `/proc/PID/task/TID/schedstat`: time on CPU, time waiting on a run queue, timeslices.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SchedStat {
    pub run_ns: u64,
    pub wait_ns: u64,
    pub slices: u64,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ThreadDetail {
    pub tid: u32,
    /// Raw comm (lossy UTF-8); sanitised when drawn.
    pub comm: String,
    pub stat: StatFields,
    pub status: Option<StatusFields>,
    pub sched: Option<SchedStat>,
    pub io: Option<IoCounters>,
}

/// One line of `/proc/PID/limits`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LimitLine {
    pub name: String,
    pub soft: String,
    pub hard: String,
    pub units: String,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TaskDetail {
    pub pid: u32,
    pub start_time: u64,
    pub exe: Option<String>,
    pub cwd: Option<String>,
    pub cgroup: Option<String>,
    pub limits: Vec<LimitLine>,
    pub fd_count: Option<u32>,
    /// The process as a whole (its status, io, and the main thread's schedstat).
    pub main: ThreadDetail,
    /// Its threads, by tid; only the focused one when the focus is a thread.
    pub threads: Vec<ThreadDetail>,
    /// What could not be read, as `what: why`.
    pub unreadable: Vec<String>,
}

/// Per-second figures of one thread (or the process) over one interval.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct ThreadRates {
    pub usr_pct: Option<f64>,
    pub sys_pct: Option<f64>,
    pub cpu_pct: Option<f64>,
    pub cswch_s: Option<f64>,
    pub nvcswch_s: Option<f64>,
    /// Milliseconds per second spent runnable but waiting for a CPU.
    pub runq_ms_s: Option<f64>,
    pub rchar_s: Option<f64>,
    pub wchar_s: Option<f64>,
    pub syscr_s: Option<f64>,
    pub syscw_s: Option<f64>,
    pub read_bps: Option<f64>,
    pub write_bps: Option<f64>,
}

/// Rates between two readings of the same thread (same tid and start time), else none.
pub fn thread_rates(
    prev: Option<&ThreadDetail>,
    cur: &ThreadDetail,
    dt_s: f64,
    hz: u64,
) -> ThreadRates {
    let Some(p) = prev.filter(|p| p.tid == cur.tid && p.stat.start_time == cur.stat.start_time)
    else {
        return ThreadRates::default();
    };
    let hz = hz.max(1) as f64;
    let tick = |a: u64, b: u64| rate(a, b, dt_s).map(|r| r * 100.0 / hz);
    let usr_pct = tick(p.stat.utime, cur.stat.utime);
    let sys_pct = tick(p.stat.stime, cur.stat.stime);
    let st = |f: fn(&StatusFields) -> Option<u64>| {
        let (a, b) = (
            p.status.as_ref().and_then(f)?,
            cur.status.as_ref().and_then(f)?,
        );
        rate(a, b, dt_s)
    };
    let io = |f: fn(&IoCounters) -> u64| {
        let (a, b) = (p.io.as_ref()?, cur.io.as_ref()?);
        rate(f(a), f(b), dt_s)
    };
    let runq = match (p.sched, cur.sched) {
        (Some(a), Some(b)) => rate(a.wait_ns, b.wait_ns, dt_s).map(|ns| ns / 1e6),
        _ => None,
    };
    ThreadRates {
        usr_pct,
        sys_pct,
        cpu_pct: usr_pct.zip(sys_pct).map(|(u, s)| u + s),
        cswch_s: st(|s| s.voluntary_ctxt),
        nvcswch_s: st(|s| s.nonvoluntary_ctxt),
        runq_ms_s: runq,
        rchar_s: io(|i| i.rchar),
        wchar_s: io(|i| i.wchar),
        syscr_s: io(|i| i.syscr),
        syscw_s: io(|i| i.syscw),
        read_bps: io(|i| i.read_bytes),
        write_bps: io(|i| i.write_bytes),
    }
}

/// The drill-down task's rates over one interval: the process as a whole and each of its
/// threads (by tid, in the order of `TaskDetail::threads`). `Snapshot::detail_rates` keeps
/// them, so the view's header, thread list and figures share one derivation.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct DetailRates {
    pub pid: u32,
    pub start_time: u64,
    pub process: ThreadRates,
    pub threads: Vec<(u32, ThreadRates)>,
}

impl DetailRates {
    /// Rates between the previous and the current detail of the same task (same pid and
    /// start time); a thread without a previous reading has no rates.
    pub fn derive(prev: Option<&TaskDetail>, cur: &TaskDetail, dt_s: f64, hz: u64) -> Self {
        let prev = prev.filter(|p| p.pid == cur.pid && p.start_time == cur.start_time);
        let threads: Vec<(u32, ThreadRates)> = cur
            .threads
            .iter()
            .map(|t| {
                let before = prev.and_then(|p| p.thread(t.tid));
                (t.tid, thread_rates(before, t, dt_s, hz))
            })
            .collect();
        let mut process = thread_rates(prev.map(|p| &p.main), &cur.main, dt_s, hz);
        // stat and io count the whole process, but status's context switches and schedstat
        // describe only the leader thread, so those are summed over threads.
        if !threads.is_empty() {
            let sum = |f: fn(&ThreadRates) -> Option<f64>| {
                let v: Vec<f64> = threads.iter().filter_map(|(_, t)| f(t)).collect();
                (!v.is_empty()).then(|| v.iter().sum())
            };
            process.cswch_s = sum(|t| t.cswch_s);
            process.nvcswch_s = sum(|t| t.nvcswch_s);
            process.runq_ms_s = sum(|t| t.runq_ms_s);
        }
        DetailRates {
            pid: cur.pid,
            start_time: cur.start_time,
            process,
            threads,
        }
    }

    /// The rates of one thread (default: none) of the task.
    pub fn thread(&self, tid: u32) -> ThreadRates {
        self.threads
            .iter()
            .find(|(t, _)| *t == tid)
            .map(|(_, r)| *r)
            .unwrap_or_default()
    }

    /// True when these are the rates of process `pid` started at `start_time`.
    pub fn is_of(&self, pid: u32, start_time: u64) -> bool {
        self.pid == pid && self.start_time == start_time
    }
}

impl TaskDetail {
    pub fn thread(&self, tid: u32) -> Option<&ThreadDetail> {
        self.threads.iter().find(|t| t.tid == tid)
    }
}

/// The sample's detail when it is about process `pid` started at `start_time`.
pub fn detail_of(s: &super::Sample, pid: u32, start_time: u64) -> Option<&TaskDetail> {
    s.detail
        .as_ref()
        .filter(|d| d.pid == pid && d.start_time == start_time)
}

/// %CPU of one process over the interval ending at `s` (a history graph's figure: derived
/// for that process alone).
pub fn proc_cpu(s: &super::Snapshot, pid: u32, start_time: u64) -> Option<f64> {
    let prev = s.prev.as_ref()?;
    let find = |procs: &super::TaskList| {
        procs
            .find_pid(pid)
            .filter(|p| p.stat.start_time == start_time)
            .map(|p| p.stat.utime.saturating_add(p.stat.stime))
    };
    let (a, b) = (find(&prev.tasks.procs)?, find(&s.cur.tasks.procs)?);
    rate(a, b, s.dt.tasks).map(|t| t * 100.0 / s.cur.hz.max(1) as f64)
}

/// %CPU of one thread over the interval ending at `s`, derived for that thread alone (a
/// history graph asks this of every snapshot in its window; none of them keeps a table).
pub fn thread_cpu(s: &super::Snapshot, pid: u32, start_time: u64, tid: u32) -> Option<f64> {
    let cur = detail_of(&s.cur, pid, start_time)?.thread(tid)?;
    let prev = s
        .prev
        .as_ref()
        .and_then(|p| detail_of(p, pid, start_time))
        .and_then(|d| d.thread(tid));
    thread_rates(prev, cur, s.dt.detail, s.cur.hz).cpu_pct
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rates_need_the_same_thread() {
        let mut a = ThreadDetail {
            tid: 7,
            ..Default::default()
        };
        a.stat.start_time = 5;
        a.stat.utime = 100;
        a.status = Some(StatusFields {
            voluntary_ctxt: Some(10),
            ..Default::default()
        });
        a.sched = Some(SchedStat {
            wait_ns: 1_000_000,
            ..Default::default()
        });
        let mut b = a.clone();
        b.stat.utime = 150;
        b.status = Some(StatusFields {
            voluntary_ctxt: Some(30),
            ..Default::default()
        });
        b.sched = Some(SchedStat {
            wait_ns: 21_000_000,
            ..Default::default()
        });
        let r = thread_rates(Some(&a), &b, 2.0, 100);
        assert_eq!(r.usr_pct, Some(25.0));
        assert_eq!(r.cswch_s, Some(10.0));
        assert_eq!(r.runq_ms_s, Some(10.0));
        let mut c = b.clone();
        c.stat.start_time = 6;
        assert_eq!(thread_rates(Some(&a), &c, 2.0, 100), ThreadRates::default());
    }
}
