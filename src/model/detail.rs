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
