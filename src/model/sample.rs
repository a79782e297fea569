//! The raw Sample: cumulative counters exactly as the kernel reported them at one instant,
//! plus the instant itself. Recordings store Samples, so field names here are a format:
//! add fields with `#[serde(default)]`, never rename one.

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
    /// Every cgroup (format version 2 on; `None` in older recordings). Last, so a version 1
    /// payload is a version 2 one without it (see `store::format::decode_sample`).
    #[serde(default)]
    pub cgroups: Option<super::cgroup::CgroupSample>,
}

/// Something that could not be read, and why. `source` is a short stable key such as
/// `psi.cpu` or `task.io`; panes look notes up by it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Note {
    pub source: String,
    pub reason: String,
}

impl Sample {
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
