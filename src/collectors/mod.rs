//! Collectors fill one raw `Sample` per refresh. `Collectors::sample` is synchronous and
//! blocking; `spawn_sampler` runs it on a dedicated thread so a slow /proc never freezes keys.

pub mod bpf;
pub mod cgroup;
pub mod cgroup_parse;
pub mod checklist;
pub mod detail;
pub mod dirents;
pub mod disk;
pub mod net;
pub mod parse;
pub mod perf;
pub mod procroot;
pub mod slab;
pub mod sockets;
pub mod system;
pub mod task_cgroup;
pub mod tasks;
pub mod trace;

use std::sync::Arc;
use std::sync::mpsc::{Receiver, RecvTimeoutError};
use std::time::{Duration, Instant};

use crate::model::{HostInfo, ReadOffsets, Sample};
pub use cgroup::CgroupRequest;
pub use procroot::ProcRoot;
use system::FsProbe;
pub use tasks::TaskRequest;

/// Where sample timestamps come from. Tests use a virtual clock so rates are exact.
pub trait Clock {
    fn mono_ns(&self) -> u64;
    fn wall_ms(&self) -> i64;
}

pub struct SystemClock;

impl Clock for SystemClock {
    fn mono_ns(&self) -> u64 {
        let mut ts = libc::timespec {
            tv_sec: 0,
            tv_nsec: 0,
        };
        // SAFETY: clock_gettime writes only into the timespec we pass.
        unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut ts) };
        (ts.tv_sec as u64)
            .saturating_mul(1_000_000_000)
            .saturating_add(ts.tv_nsec as u64)
    }

    fn wall_ms(&self) -> i64 {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_millis() as i64)
            .unwrap_or(0)
    }
}

/// A clock that advances only when told: frame i of a headless run is at start + i·interval.
pub struct VirtualClock {
    pub mono_ns: u64,
    pub wall_ms: i64,
}

impl VirtualClock {
    /// 2026-01-01T00:00:00Z, a fixed instant so headless frames are reproducible.
    pub const EPOCH_MS: i64 = 1_767_225_600_000;

    pub fn new() -> VirtualClock {
        VirtualClock {
            mono_ns: 1_000_000_000,
            wall_ms: Self::EPOCH_MS,
        }
    }

    pub fn advance(&mut self, d: Duration) {
        self.mono_ns += d.as_nanos() as u64;
        self.wall_ms += d.as_millis() as i64;
    }
}

impl Default for VirtualClock {
    fn default() -> Self {
        Self::new()
    }
}

impl Clock for VirtualClock {
    fn mono_ns(&self) -> u64 {
        self.mono_ns
    }

    fn wall_ms(&self) -> i64 {
        self.wall_ms
    }
}

/// What the panes currently need from the sampler.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Request {
    pub tasks: TaskRequest,
    /// The task a drill-down view shows: its costly files are read only while it is set.
    pub focus: Option<crate::model::detail::Focus>,
    /// The process rows on screen: their statm, wchan and oom_score are read (SHR, WCHAN,
    /// OOM), nobody else's.
    pub screen: crate::model::ScreenPids,
    /// How many of the busiest processes (by CPU over the last interval) get per-thread
    /// hardware and software counters; 0 turns per-task counting off (per-CPU counters
    /// always run). The collector ranks them from the task sweep it has just taken.
    pub perf_tasks: u32,
    /// A process whose threads are counted whatever its rank (the drill-down's process).
    pub perf_focus: Option<u32>,
    /// Every slab cache (the slab pane is shown, or a recording): otherwise only the totals
    /// and the caches the overview needs.
    pub slab_caches: bool,
    /// Every cgroup's overview files always; the detail files when asked.
    pub cgroups: CgroupRequest,
    /// Whose `/proc/PID/cgroup` is read (the proc pane's CGROUP column and `cgroup:` filter).
    pub task_cgroups: task_cgroup::TaskCgroups,
    /// Block I/O latency from the block tracepoints (the disk pane, a recording, serve):
    /// the tracepoints are open only while this is set.
    pub block_trace: bool,
    /// Run-queue latency histograms (the cpu pane, the process view, a recording, serve):
    /// the eBPF programs are attached only while this is set.
    pub runqlat: bool,
    /// TCP retransmits and resets from the TCP tracepoints (the sock and net panes, a
    /// recording, serve): the tracepoints are open only while this is set.
    pub tcp_trace: bool,
}

pub struct Collectors {
    root: ProcRoot,
    tasks: tasks::TaskCollector,
    disk: disk::DiskCollector,
    net: net::NetCollector,
    sockets: sockets::SocketCollector,
    slab: slab::SlabCollector,
    perf: perf::PerfCollector,
    checklist: checklist::ChecklistCollector,
    cgroups: cgroup::CgroupCollector,
    block_trace: trace::BlockCollector,
    runqlat: bpf::RunqCollector,
    tcp_trace: trace::TcpCollector,
    fs: FsProbe,
    host: Option<Arc<HostInfo>>,
    hz: u64,
    page_size: u64,
}

impl Collectors {
    pub fn new(root: ProcRoot) -> Collectors {
        Collectors {
            tasks: tasks::TaskCollector::new(&root),
            disk: disk::DiskCollector::new(&root),
            net: net::NetCollector::new(&root),
            sockets: sockets::SocketCollector::new(&root),
            slab: slab::SlabCollector::new(&root),
            perf: perf::PerfCollector::new(&root),
            checklist: checklist::ChecklistCollector::new(&root),
            cgroups: cgroup::CgroupCollector::new(&root),
            block_trace: trace::BlockCollector::new(&root),
            runqlat: bpf::RunqCollector::new(&root),
            tcp_trace: trace::TcpCollector::new(&root),
            fs: FsProbe::new(&root),
            host: None,
            hz: sysconf(libc::_SC_CLK_TCK, 100),
            page_size: sysconf(libc::_SC_PAGESIZE, 4096),
            root,
        }
    }

    pub fn root(&self) -> &ProcRoot {
        &self.root
    }

    /// How the task sweep's schedstat gate went in the last sample.
    pub fn task_gate(&self) -> tasks::GateStats {
        self.tasks.gate()
    }

    pub fn sample(&mut self, clock: &dyn Clock, req: Request) -> Sample {
        let mut notes = Vec::new();
        // The system-wide group is read first, right after this timestamp; every other
        // group is stamped with the midpoint of its own reads (`ReadOffsets`), so each
        // rate's interval is the interval of its own reads.
        let mono_ns = clock.mono_ns();
        let wall_ms = clock.wall_ms();
        let cpu = system::sample_cpu(&self.root, &mut notes);
        let mem = system::sample_mem(&self.root, &mut notes);
        let (tasks, t_tasks) = timed(clock, || self.tasks.sample(req.tasks, &mut notes));
        let fs = system::sample_fs(&self.root, &self.fs, &mut notes);
        let (disk, t_disk) = timed(clock, || self.disk.sample(&mut notes));
        let (net, t_net) = timed(clock, || self.net.sample(&mut notes));
        let (sockets, t_sockets) = timed(clock, || self.sockets.sample(&mut notes));
        // A fixture tree is read every sample: each of its trees is a reading.
        let slab_every = if self.root.is_live() {
            slab::SLAB_EVERY
        } else {
            1
        };
        let (slab, t_slab) = timed(clock, || {
            self.slab
                .sample_every(&mut notes, req.slab_caches, slab_every, clock.mono_ns())
        });
        let (detail, t_detail) = timed(clock, || {
            req.focus
                .and_then(|f| detail::sample(&self.root, f, &mut notes))
        });
        let mut extras = sample_extras(&self.root, &tasks.procs, &req.screen, self.page_size);
        extras.extend(thread_extras(&self.root, &tasks, req.screen.threads()));
        let task_cgroups =
            task_cgroup::sample(&self.root, &tasks.procs, req.task_cgroups, &req.screen);
        let cpu_ids: Vec<u32> = cpu.cpus.iter().map(|(id, _)| *id).collect();
        let (perf, t_perf) = timed(clock, || {
            self.perf.sample(
                &cpu_ids,
                &tasks.procs,
                req.perf_tasks,
                req.perf_focus,
                &mut notes,
            )
        });
        let checklist = self.checklist.sample(clock, &cpu_ids, &net);
        let cgroups = self.cgroups.sample(req.cgroups);
        let block_trace = self.block_trace.sample(req.block_trace, &cpu_ids);
        // The focused process's waits apart: the drill-down's process.
        let runq_focus = req.focus.map(|f| f.pid);
        let runqlat = self.runqlat.sample(req.runqlat, runq_focus, &cpu_ids);
        let mut tcp_trace = self.tcp_trace.sample(req.tcp_trace, &cpu_ids);
        if let Some(t) = &mut tcp_trace {
            t.attach_owners(&sockets.tcp);
        }
        let host = system::sample_host(&self.root, self.host.as_ref());
        self.host = Some(Arc::clone(&host));
        let after = |t: u64| t.saturating_sub(mono_ns);
        Sample {
            mono_ns,
            wall_ms,
            hz: self.hz,
            page_size: self.page_size,
            host,
            uptime_s: system::sample_uptime(&self.root),
            cpu,
            mem,
            tasks,
            fs,
            disk,
            net,
            sockets,
            slab,
            perf,
            detail,
            notes,
            read_at: ReadOffsets {
                tasks: after(t_tasks),
                disk: after(t_disk),
                net: after(t_net),
                sockets: after(t_sockets),
                slab: after(t_slab),
                detail: after(t_detail),
                perf: after(t_perf),
            },
            disk_kinds: self.disk.kinds(),
            checklist,
            extras,
            cgroups: Some(cgroups),
            gap_before: false,
            task_cgroups,
            block_trace,
            runqlat,
            tcp_trace,
        }
    }
}

/// Runs `f` and returns its result with the monotonic midpoint of the run: the instant its
/// counters were read, give or take half its duration.
fn timed<T>(clock: &dyn Clock, f: impl FnOnce() -> T) -> (T, u64) {
    let t0 = clock.mono_ns();
    let out = f();
    let t1 = clock.mono_ns();
    (out, t0 + t1.saturating_sub(t0) / 2)
}

fn sysconf(name: libc::c_int, fallback: u64) -> u64 {
    // SAFETY: sysconf has no memory effects.
    let v = unsafe { libc::sysconf(name) };
    if v > 0 { v as u64 } else { fallback }
}

/// Messages from the UI to the sampler thread.
#[derive(Debug)]
pub enum Control {
    Request(Box<Request>),
    Interval(Duration),
    /// Take a sample now (a pane just asked for data it did not have).
    Now,
}

/// Runs `collectors` every `interval` on its own thread, sending each sample through
/// `send` until it returns false (the UI is gone) or the control channel closes.
pub fn spawn_sampler(
    mut collectors: Collectors,
    mut interval: Duration,
    mut req: Request,
    ctl: Receiver<Control>,
    send: impl Fn(Sample) -> bool + Send + 'static,
) -> std::io::Result<std::thread::JoinHandle<()>> {
    std::thread::Builder::new()
        .name("usetop-sampler".into())
        .spawn(move || {
            let clock = SystemClock;
            let mut next = Instant::now();
            loop {
                if !send(collectors.sample(&clock, req)) {
                    return;
                }
                next += interval;
                let now = Instant::now();
                if next < now {
                    // Fell behind (suspended, overloaded): skip the missed ticks.
                    next = now + interval;
                }
                loop {
                    let wait = next.saturating_duration_since(Instant::now());
                    match ctl.recv_timeout(wait) {
                        Ok(Control::Request(r)) => {
                            // The rows on screen change with every re-sort: that alone
                            // waits for the next tick (else each sample would ask for one).
                            let r = *r;
                            let sooner = Request {
                                screen: req.screen,
                                ..r
                            } != req;
                            req = r;
                            if sooner {
                                next = Instant::now();
                                break;
                            }
                        }
                        Ok(Control::Interval(d)) => {
                            next = next - interval + d;
                            interval = d;
                        }
                        Ok(Control::Now) => {
                            next = Instant::now();
                            break;
                        }
                        Err(RecvTimeoutError::Timeout) => break,
                        Err(RecvTimeoutError::Disconnected) => return,
                    }
                }
            }
        })
}

/// WCHAN of the thread rows on screen: `/proc/TGID/task/TID/wchan`, one small read per
/// thread row shown. SHR and OOM describe the process and stay unread for a thread.
fn thread_extras(
    root: &ProcRoot,
    tasks: &crate::model::TaskSample,
    rows: &[(u32, u32)],
) -> Vec<crate::model::TaskExtra> {
    let Some(threads) = tasks.threads.as_ref().filter(|_| !rows.is_empty()) else {
        return Vec::new();
    };
    let start: std::collections::HashMap<u32, u64> = threads
        .iter()
        .map(|t| (t.stat.pid, t.stat.start_time))
        .collect();
    rows.iter()
        .filter_map(|&(tgid, tid)| {
            let wchan = root
                .read_proc(&format!("{tgid}/task/{tid}/wchan"))
                .ok()
                .map(|b| {
                    String::from_utf8_lossy(&b)
                        .trim()
                        .chars()
                        .take(64)
                        .collect()
                });
            Some(crate::model::TaskExtra {
                pid: tid,
                start_time: *start.get(&tid)?,
                shared_bytes: None,
                wchan,
                oom_score: None,
                fds: None,
                fd_limit: None,
            })
        })
        .collect()
}

/// A process's open descriptors (its `fd` directory's entries, listed with getdents into
/// `buf`; nothing is opened) and its soft open-files limit (`limits`); `None`: unreadable.
pub fn task_fds(root: &ProcRoot, pid: u32, buf: &mut Vec<u8>) -> (Option<u64>, Option<u64>) {
    let count = dirents::count_entries(&root.proc_path(&format!("{pid}/fd")), buf).ok();
    let limit = root
        .read_proc(&format!("{pid}/limits"))
        .ok()
        .and_then(|b| parse::nofile_soft(&b));
    (count, limit)
}

/// SHR, WCHAN and OOM of the processes on screen: `statm`, `wchan` and `oom_score`, three
/// small reads per row shown (a screenful is some 50), none for the rest; with FDS or FD%
/// shown, also the `fd` directory's entries (getdents, nothing opened) and `limits`.
fn sample_extras(
    root: &ProcRoot,
    procs: &crate::model::TaskList,
    screen: &crate::model::ScreenPids,
    page_size: u64,
) -> Vec<crate::model::TaskExtra> {
    let text = |pid: u32, file: &str| {
        root.read_proc(&format!("{pid}/{file}"))
            .ok()
            .map(|b| String::from_utf8_lossy(&b).trim().to_string())
    };
    let mut buf = Vec::new();
    let mut fds = |pid: u32| -> (Option<u64>, Option<u64>) {
        if !screen.fds {
            return (None, None);
        }
        task_fds(root, pid, &mut buf)
    };
    screen
        .pids()
        .iter()
        .filter_map(|&pid| {
            let rec = procs.find_pid(pid)?;
            Some(crate::model::TaskExtra {
                pid,
                start_time: rec.stat.start_time,
                shared_bytes: text(pid, "statm")
                    .and_then(|s| s.split_whitespace().nth(2)?.parse::<u64>().ok())
                    .map(|pages| pages.saturating_mul(page_size)),
                wchan: text(pid, "wchan").map(|w| w.chars().take(64).collect()),
                oom_score: text(pid, "oom_score").and_then(|s| s.parse().ok()),
                fds: None,
                fd_limit: None,
            })
            .map(|mut e| {
                (e.fds, e.fd_limit) = fds(pid);
                e
            })
        })
        .collect()
}
