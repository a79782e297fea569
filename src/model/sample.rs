//! The raw Sample: cumulative counters exactly as the kernel reported them at one instant,
//! plus the instants they were read at. Recordings store Samples, and postcard is
//! positional: a new field goes last (with a format version bump and `v1_tail`'s kind of
//! upgrade for older files), and no field is ever renamed or moved.

use serde::{Deserialize, Serialize};
use std::sync::Arc;

use super::disk::DiskSample;
use super::net::NetSample;
use super::perf::PerfSample;
use super::slab::SlabSample;
use super::sockets::SocketSample;
use super::tasklist::TaskList;

#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct Sample {
    /// Monotonic clock at the moment of sampling, in nanoseconds: the only time rates use.
    pub mono_ns: u64,
    /// Wall clock (Unix epoch, milliseconds), for display only.
    pub wall_ms: i64,
    /// Clock ticks per second (`_SC_CLK_TCK`) of the sampled machine.
    pub hz: u64,
    /// Page size in bytes of the sampled machine.
    pub page_size: u64,
    pub host: Arc<HostInfo>,
    /// Seconds since boot at the time of the sample.
    pub uptime_s: f64,
    pub cpu: CpuSample,
    pub mem: MemSample,
    pub tasks: TaskSample,
    pub fs: Vec<FsUsage>,
    #[serde(default)]
    pub disk: DiskSample,
    #[serde(default)]
    pub net: NetSample,
    #[serde(default)]
    pub sockets: SocketSample,
    #[serde(default)]
    pub slab: SlabSample,
    #[serde(default)]
    pub perf: PerfSample,
    /// The drill-down's task (status, schedstat, limits, …); `None` unless one is on screen.
    #[serde(default)]
    pub detail: Option<super::detail::TaskDetail>,
    /// Figures that could not be read this time, with the reason (shown as `n/a`).
    pub notes: Vec<Note>,
    // Added in recording format 2. New fields go here, last: a version-1 frame is read by
    // appending the encoding of their defaults (`V1_TAIL`).
    /// When each group of counters was read, relative to `mono_ns`.
    pub read_at: ReadOffsets,
    /// Each block device's kind and queue depth (read once per device, carried in every
    /// sample so a replay judges disks as live did).
    pub disk_kinds: Arc<Vec<super::disk::DiskKind>>,
    // Added in recording format 3 (a version-2 frame gets `v2_tail` appended).
    /// SHR, WCHAN and OOM of the processes on screen (`Request::screen`), by pid.
    pub extras: Vec<TaskExtra>,
    /// Every cgroup (format 3 on; `None` in older recordings).
    pub cgroups: Option<super::cgroup::CgroupSample>,
    /// The USE checklist's remaining sources. Not part of the positional encoding above: a
    /// recording carries it as a section after the sample (`store::format::encode_sample`),
    /// which older files lack; it then reads as not recorded.
    #[serde(skip)]
    pub checklist: super::checklist::ChecklistSample,
    /// Set by a reader of recordings: time passed between the previous frame and this one
    /// that no sample covers (the recorder stopped, the machine was down or rebooted), so
    /// derive must not rate over the pair as one long interval. Never recorded.
    #[serde(skip)]
    pub gap_before: bool,
    /// The cgroups of the processes that need them (`Request::task_cgroups`). Not recorded:
    /// a replay has none.
    #[serde(skip)]
    pub task_cgroups: Vec<super::cgroup::TaskCgroup>,
    /// Block I/O latency from the block tracepoints, while a pane or a recording asks for
    /// it (`None` otherwise). Like `checklist`, a section of its own in a recording, after
    /// the checklist's (format 4 on; older files read `None`).
    #[serde(skip)]
    pub block_trace: Option<super::blktrace::BlockTrace>,
    /// Run-queue latency histograms from the eBPF programs, while the cpu pane, the process
    /// view or a recording asks (`None` otherwise). A section of its own in a recording,
    /// after the block trace's (format 5 on; older files read `None`).
    #[serde(skip)]
    pub runqlat: Option<super::runqlat::RunqLat>,
    /// TCP retransmits and resets from the TCP tracepoints, while the sock or net pane or a
    /// recording asks for them (`None` otherwise). A section of its own in a recording,
    /// after the block trace's (format 5 on; older files read `None`).
    #[serde(skip)]
    pub tcp_trace: Option<super::tcptrace::TcpTrace>,
}

/// What is read only for the processes on screen: `/proc/PID/statm`'s shared pages,
/// `/proc/PID/wchan` and `/proc/PID/oom_score`. `None`: unreadable. For a thread row on
/// screen, `pid` is its tid and only `wchan` is read (`/proc/TGID/task/TID/wchan`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TaskExtra {
    pub pid: u32,
    pub start_time: u64,
    /// statm's shared pages, in bytes.
    pub shared_bytes: Option<u64>,
    /// The kernel function a sleeping task waits in; empty or `0` while running.
    pub wchan: Option<String>,
    pub oom_score: Option<u32>,
    /// Open descriptors (`/proc/PID/fd` entries) and the soft RLIMIT_NOFILE, read only while
    /// FDS or FD% is shown (`ScreenPids::fds`). Live only: not in recordings.
    #[serde(skip)]
    pub fds: Option<u64>,
    #[serde(skip)]
    pub fd_limit: Option<u64>,
}

/// The pids of the process rows on screen (at most `ScreenPids::MAX`): the sampler reads
/// their costly files (`TaskExtra`) and nobody else's. Thread rows on screen are listed
/// apart, as (tgid, tid): only their `wchan` is their own.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ScreenPids {
    pids: [u32; ScreenPids::MAX],
    len: usize,
    threads: [(u32, u32); ScreenPids::MAX],
    threads_len: usize,
    /// Also count their open descriptors and read their open-files limit (FDS, FD%).
    pub fds: bool,
}

impl Default for ScreenPids {
    fn default() -> Self {
        ScreenPids {
            pids: [0; ScreenPids::MAX],
            len: 0,
            threads: [(0, 0); ScreenPids::MAX],
            threads_len: 0,
            fds: false,
        }
    }
}

impl ScreenPids {
    pub const MAX: usize = 256;

    pub fn from_pids(pids: impl Iterator<Item = u32>) -> ScreenPids {
        let mut s = ScreenPids::default();
        for p in pids.take(Self::MAX) {
            s.pids[s.len] = p;
            s.len += 1;
        }
        s
    }

    /// The same, with the thread rows on screen as (tgid, tid).
    pub fn with_threads(mut self, threads: impl Iterator<Item = (u32, u32)>) -> ScreenPids {
        self.threads_len = 0;
        for t in threads.take(Self::MAX) {
            self.threads[self.threads_len] = t;
            self.threads_len += 1;
        }
        self
    }

    pub fn pids(&self) -> &[u32] {
        &self.pids[..self.len.min(Self::MAX)]
    }

    /// The thread rows on screen, (tgid, tid).
    pub fn threads(&self) -> &[(u32, u32)] {
        &self.threads[..self.threads_len.min(Self::MAX)]
    }
}

/// Nanoseconds after `mono_ns` at which each group of counters was read (the midpoint of
/// its reads). `mono_ns` itself stamps the system-wide group (/proc/stat, meminfo, vmstat,
/// PSI), read first. A rate divides by the interval between its own group's reads: the
/// drill-down's files are read last, after sockets and slab, and a first sample of a group
/// pays for opening its files, so one timestamp for everything under-reads. 0 (a recording
/// from before these were kept) reads as "with the system group".
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReadOffsets {
    pub tasks: u64,
    pub disk: u64,
    pub net: u64,
    pub sockets: u64,
    pub slab: u64,
    pub detail: u64,
    pub perf: u64,
}

/// A group of counters read together, for `Sample::read_ns`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Group {
    System,
    Tasks,
    Disk,
    Net,
    Sockets,
    Slab,
    Detail,
    Perf,
}

/// Something that could not be read, and why. `source` is a short stable key such as
/// `psi.cpu` or `task.io`; panes look notes up by it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Note {
    pub source: String,
    pub reason: String,
}

impl Note {
    /// A note about how figures were read (source `info.*`), not a figure that is missing:
    /// `?` lists it, the status line and the n/a count leave it out.
    pub fn is_info(&self) -> bool {
        self.source.starts_with("info.")
    }
}

/// The postcard encoding of the fields added in format 2, at their defaults: appended to a
/// version-1 frame's bytes, it makes them a valid sample of today's layout.
pub fn v1_tail() -> Vec<u8> {
    let tail = (
        ReadOffsets::default(),
        Vec::<super::disk::DiskKind>::new(),
        Vec::<TaskExtra>::new(),
        Option::<super::cgroup::CgroupSample>::None,
    );
    postcard::to_stdvec(&tail).unwrap_or_default()
}

/// The encoding of the field format 3 added (`Sample::extras`) at its default: appended to
/// a version-2 frame's bytes.
pub fn v2_tail() -> Vec<u8> {
    let tail = (
        Vec::<TaskExtra>::new(),
        Option::<super::cgroup::CgroupSample>::None,
    );
    postcard::to_stdvec(&tail).unwrap_or_default()
}

impl Sample {
    /// Monotonic time (ns) at which a group of counters was read.
    pub fn read_ns(&self, g: Group) -> u64 {
        let o = &self.read_at;
        let off = match g {
            Group::System => 0,
            Group::Tasks => o.tasks,
            Group::Disk => o.disk,
            Group::Net => o.net,
            Group::Sockets => o.sockets,
            Group::Slab => o.slab,
            Group::Detail => o.detail,
            Group::Perf => o.perf,
        };
        self.mono_ns.saturating_add(off)
    }

    pub fn note(&self, source: &str) -> Option<&str> {
        self.notes
            .iter()
            .find(|n| n.source == source)
            .map(|n| n.reason.as_str())
    }
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct HostInfo {
    pub hostname: String,
    pub kernel: String,
    pub cpu_model: String,
}

/// Cumulative CPU time in clock ticks, as the columns of a `/proc/stat` cpu line. Columns a
/// kernel does not print are zero.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CpuTimes {
    pub user: u64,
    pub nice: u64,
    pub system: u64,
    pub idle: u64,
    pub iowait: u64,
    pub irq: u64,
    pub softirq: u64,
    pub steal: u64,
    pub guest: u64,
    pub guest_nice: u64,
}

impl CpuTimes {
    /// All ticks, guest excluded (the kernel already counts guest time inside user/nice).
    pub fn total(&self) -> u64 {
        self.user
            .saturating_add(self.nice)
            .saturating_add(self.system)
            .saturating_add(self.idle)
            .saturating_add(self.iowait)
            .saturating_add(self.irq)
            .saturating_add(self.softirq)
            .saturating_add(self.steal)
    }
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct LoadAvg {
    pub one: f64,
    pub five: f64,
    pub fifteen: f64,
    pub runnable: u32,
    pub entities: u32,
}

/// One line of a `/proc/pressure/*` file.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct PsiLine {
    pub avg10: f64,
    pub avg60: f64,
    pub avg300: f64,
    /// Total stall time in microseconds.
    pub total_us: u64,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Psi {
    pub some: PsiLine,
    /// Absent in old kernels' cpu file.
    pub full: Option<PsiLine>,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct CpuSample {
    /// The aggregate `cpu` line.
    pub total: CpuTimes,
    /// Per-CPU lines, by CPU number (offline CPUs are absent).
    pub cpus: Vec<(u32, CpuTimes)>,
    pub ctxt: u64,
    pub intr: u64,
    /// Forks since boot (`processes`).
    pub forks: u64,
    pub procs_running: u32,
    pub procs_blocked: u32,
    pub boot_time: u64,
    /// CPUs the kernel lists as online (`/sys/devices/system/cpu/online`), if known.
    pub online: Option<u32>,
    pub load: Option<LoadAvg>,
    pub psi: Option<Psi>,
}

/// `/proc/meminfo`, in bytes. Fields a kernel does not have are `None`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct MemInfo {
    pub total: u64,
    pub free: u64,
    pub available: Option<u64>,
    pub buffers: u64,
    pub cached: u64,
    pub shmem: u64,
    pub sreclaimable: u64,
    pub sunreclaim: u64,
    pub swap_total: u64,
    pub swap_free: u64,
    pub swap_cached: u64,
    pub dirty: u64,
    pub writeback: u64,
    pub anon: u64,
    pub mapped: u64,
    pub page_tables: u64,
    pub kernel_stack: u64,
    pub committed_as: u64,
    pub commit_limit: u64,
    pub hugepages_total: u64,
    pub hugepages_free: u64,
    pub hugepage_size: u64,
}

/// Cumulative `/proc/vmstat` counters usetop shows.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct VmCounters {
    pub pgfault: u64,
    pub pgmajfault: u64,
    pub pswpin: u64,
    pub pswpout: u64,
    pub pgpgin: u64,
    pub pgpgout: u64,
    /// Sum of every `pgscan_*` counter except the per-type split ones (kswapd + direct + khugepaged).
    pub pgscan_kswapd: u64,
    pub pgscan_direct: u64,
    pub pgsteal_kswapd: u64,
    pub pgsteal_direct: u64,
    /// Sum of `allocstall_*` (per zone) or the old single `allocstall`.
    pub allocstall: u64,
    pub oom_kill: u64,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SwapDevice {
    pub name: String,
    pub kind: String,
    pub size_bytes: u64,
    pub used_bytes: u64,
    pub priority: i32,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct MemSample {
    pub info: Option<MemInfo>,
    pub vm: Option<VmCounters>,
    pub swaps: Vec<SwapDevice>,
    pub psi: Option<Psi>,
}

/// Capacity of one mounted filesystem.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct FsUsage {
    pub mount: String,
    pub device: String,
    pub fstype: String,
    pub total_bytes: u64,
    pub free_bytes: u64,
    pub avail_bytes: u64,
    pub total_inodes: u64,
    pub free_inodes: u64,
}

impl FsUsage {
    /// Used space as df computes it: used / (used + available).
    pub fn used_pct(&self) -> Option<f64> {
        let used = self.total_bytes.saturating_sub(self.free_bytes);
        let denom = used.saturating_add(self.avail_bytes);
        (denom > 0).then(|| (used as f64 * 100.0 / denom as f64).min(100.0))
    }

    pub fn inodes_used_pct(&self) -> Option<f64> {
        (self.total_inodes > 0).then(|| {
            (self.total_inodes.saturating_sub(self.free_inodes) as f64 * 100.0
                / self.total_inodes as f64)
                .min(100.0)
        })
    }
}

#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct TaskSample {
    /// Every process, sorted by pid. Records unchanged since the previous sample are the same
    /// `Arc`, so a ring of samples costs little more than the tasks that changed.
    pub procs: TaskList,
    /// Every thread, sorted by (tgid, tid); `None` when no pane asked for threads.
    pub threads: Option<TaskList>,
}
