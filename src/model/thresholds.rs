//! The thresholds that colour the USE cells: each figure's yellow and red bands. Plain data,
//! loaded from the config's `[thresholds]` table; the verdicts in the model read them.

use serde::Deserialize;

/// `warn` and `crit` are the lower bounds of the yellow and red bands.
#[derive(Clone, Copy, Debug, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Band {
    pub warn: f64,
    pub crit: f64,
}

/// Every field may be set in `[thresholds]`; a field left out keeps its default, so new
/// thresholds need no loader change.
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Thresholds {
    /// CPU busy percent.
    pub cpu_util: Band,
    /// Run-queue length per CPU (runnable tasks beyond those running, load-style).
    pub cpu_runq: Band,
    /// PSI "some" stall percent, any resource.
    pub psi_some: Band,
    /// Memory used percent (total - available).
    pub mem_util: Band,
    /// Swap-in plus swap-out, KiB/s.
    pub swap_kbs: Band,
    /// Major faults per second.
    pub majflt_s: Band,
    /// Filesystem used percent.
    pub fs_util: Band,
    /// Disk %util (iostat: time the device had I/O in flight).
    pub disk_util: Band,
    /// Disk average queue length (iostat aqu-sz).
    pub disk_aqu: Band,
    /// Network interface %util against the link speed.
    pub nic_util: Band,
    /// Interface drops plus FIFO overruns, packets per second.
    pub nic_drops_s: Band,
    /// Interface errors (rx/tx errors, frame, carrier, collisions) per second.
    pub nic_errors_s: Band,
    /// Established TCP connections.
    pub tcp_estab: Band,
    /// TCP retransmitted segments as a percent of segments sent.
    pub tcp_retrans_pct: Band,
    /// Listen queue overflows plus drops, per second.
    pub tcp_listen_s: Band,
    /// Established connections reset plus segments received in error, per second.
    pub tcp_errors_s: Band,
    // The rest of the USE checklist (model/checklist.rs). Counts "in the interval" are
    // events between two samples: warn = crit = 1 makes any one of them red.
    /// The busiest single CPU's busy percent, judged while the average is below
    /// `cpu_util`'s yellow band (a pegged CPU the average hides).
    pub cpu_pegged: Band,
    /// CPU time stolen by the hypervisor, percent.
    pub cpu_steal: Band,
    /// Run-queue latency of the worst CPU: ms tasks waited for it per second.
    pub runq_latency_ms_s: Band,
    /// Machine-check exceptions in the interval.
    pub mce: Band,
    /// Thermal-throttle events (core plus package) in the interval.
    pub thermal_throttle: Band,
    /// The hottest CPU sensor, °C (a sensor's own critical point is red as well).
    pub temp_c: Band,
    /// EDAC corrected memory errors in the interval.
    pub edac_ce: Band,
    /// EDAC uncorrected memory errors in the interval.
    pub edac_ue: Band,
    /// NUMA misses as a percent of a node's allocations (numa_miss / (hit + miss)).
    pub numa_miss_pct: Band,
    /// Packets the softnet backlog dropped in the interval (no interface counter shows them).
    pub softnet_drops: Band,
    /// Softnet time squeezes per second (receive processing ran out of budget).
    pub softnet_squeeze_s: Band,
    /// Errors a filesystem has recorded since its last fsck (ext4 errors_count).
    pub fs_errors: Band,
    /// Open file handles, percent of fs.file-max.
    pub fd_util: Band,
    /// Tasks, percent of the nearer of kernel.threads-max and kernel.pid_max.
    pub task_util: Band,
    /// A task's block-I/O delay, ms per second (needs kernel.task_delayacct=1).
    pub blkio_delay_ms_s: Band,
    // Resource controls (model/cgroup_verdict.rs), each cgroup on its own; PSI stalls of a
    // cgroup use `psi_some`.
    /// CPU used as a percent of the cgroup's quota (cpu.max, v1 cfs_quota_us).
    pub cgroup_quota_pct: Band,
    /// Memory used as a percent of the nearest limit (memory.max or memory.high, a parent's
    /// included).
    pub cgroup_mem_pct: Band,
    /// Tasks as a percent of pids.max.
    pub cgroup_pids_pct: Band,
    /// Periods throttled as a percent of periods run (nr_throttled / nr_periods).
    pub cgroup_throttled_pct: Band,
    /// memory.high breaches (saturation) or memory.max hits (errors; v1 failcnt) in the
    /// interval.
    pub cgroup_mem_events: Band,
    /// OOMs and OOM kills in the cgroup in the interval.
    pub cgroup_oom: Band,
    /// A process's open descriptors, percent of its soft RLIMIT_NOFILE (the FD% column).
    pub proc_fd_util: Band,
}

/// Any one event is red.
const ANY: Band = Band {
    warn: 1.0,
    crit: 1.0,
};

impl Default for Thresholds {
    fn default() -> Self {
        Thresholds {
            cpu_util: Band {
                warn: 70.0,
                crit: 90.0,
            },
            cpu_runq: Band {
                warn: 1.0,
                crit: 2.0,
            },
            psi_some: Band {
                warn: 5.0,
                crit: 20.0,
            },
            mem_util: Band {
                warn: 85.0,
                crit: 95.0,
            },
            swap_kbs: Band {
                warn: 1.0,
                crit: 1024.0,
            },
            majflt_s: Band {
                warn: 10.0,
                crit: 100.0,
            },
            fs_util: Band {
                warn: 85.0,
                crit: 95.0,
            },
            disk_util: Band {
                warn: 60.0,
                crit: 90.0,
            },
            disk_aqu: Band {
                warn: 2.0,
                crit: 8.0,
            },
            nic_util: Band {
                warn: 70.0,
                crit: 90.0,
            },
            nic_drops_s: Band {
                warn: 1.0,
                crit: 100.0,
            },
            nic_errors_s: Band {
                warn: 0.1,
                crit: 10.0,
            },
            tcp_estab: Band {
                warn: 20_000.0,
                crit: 100_000.0,
            },
            tcp_retrans_pct: Band {
                warn: 1.0,
                crit: 5.0,
            },
            tcp_listen_s: Band {
                warn: 0.1,
                crit: 10.0,
            },
            tcp_errors_s: Band {
                warn: 10.0,
                crit: 100.0,
            },
            cpu_pegged: Band {
                warn: 90.0,
                crit: 99.0,
            },
            cpu_steal: Band {
                warn: 5.0,
                crit: 20.0,
            },
            // 10 ms/s: tasks waited for this CPU 1 % of the time. Red at 100 ms/s, a tenth
            // of every second: each runnable task is then typically delayed by a full
            // scheduler period or more, which shows as request latency. The factor of ten
            // between the bands matches majflt_s and tcp_errors_s.
            runq_latency_ms_s: Band {
                warn: 10.0,
                crit: 100.0,
            },
            mce: ANY,
            thermal_throttle: Band {
                warn: 1.0,
                crit: 100.0,
            },
            temp_c: Band {
                warn: 80.0,
                crit: 95.0,
            },
            edac_ce: ANY,
            edac_ue: ANY,
            numa_miss_pct: Band {
                warn: 5.0,
                crit: 20.0,
            },
            softnet_drops: ANY,
            softnet_squeeze_s: Band {
                warn: 1.0,
                crit: 100.0,
            },
            fs_errors: ANY,
            fd_util: Band {
                warn: 80.0,
                crit: 95.0,
            },
            task_util: Band {
                warn: 80.0,
                crit: 95.0,
            },
            blkio_delay_ms_s: Band {
                warn: 100.0,
                crit: 500.0,
            },
            cgroup_quota_pct: Band {
                warn: 80.0,
                crit: 95.0,
            },
            cgroup_mem_pct: Band {
                warn: 80.0,
                crit: 95.0,
            },
            cgroup_pids_pct: Band {
                warn: 80.0,
                crit: 95.0,
            },
            // A quarter of periods throttled: the cgroup's work is regularly held back to
            // the next period (up to 100 ms of latency with the default period).
            cgroup_throttled_pct: Band {
                warn: 5.0,
                crit: 25.0,
            },
            cgroup_mem_events: Band {
                warn: 1.0,
                crit: 100.0,
            },
            cgroup_oom: ANY,
            proc_fd_util: Band {
                warn: 80.0,
                crit: 95.0,
            },
        }
    }
}
