//! The rest of the USE method's Linux checklist (Systems Performance 2nd ed., appendix A):
//! run-queue latency, hardware and filesystem errors, frequency and temperature, NUMA,
//! softnet, detailed NIC errors, stacked block devices and the kernel's capacity limits.
//! `ChecklistSample` holds the raw values as read (a recording carries it as a trailing
//! section of each frame); `ChecklistFigures` holds what two of them mean over their own
//! measured interval, each figure with the reason it is n/a when it is; the `*_level`
//! functions judge them against `Thresholds`, so a cell only has to format.

use std::fmt;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use super::counters::{delta, delta32};
use super::level::Level;
use super::net::IfaceStat;
use super::sample::{FsUsage, Note, Sample};
use super::snapshot::CpuFigures;
use super::thresholds::{Band, Thresholds};

/// The note keys (`ChecklistSample::note`) of each source.
pub mod source {
    pub const SCHEDSTAT: &str = "schedstat";
    pub const INTERRUPTS: &str = "interrupts";
    pub const THROTTLE: &str = "thermal_throttle";
    pub const CPUFREQ: &str = "cpufreq";
    pub const TEMP: &str = "temperature";
    pub const EDAC: &str = "edac";
    pub const NUMA: &str = "numa";
    pub const SOFTNET: &str = "softnet";
    pub const NIC_ERRORS: &str = "nic_errors";
    pub const FS_ERRORS: &str = "fs_errors";
    pub const BLOCK_STACK: &str = "block_stack";
    pub const FILE_NR: &str = "file_nr";
    pub const TASK_LIMITS: &str = "task_limits";
    pub const DELAYACCT: &str = "delayacct";
}

// ---- raw values ----

/// Everything the checklist collector read in one sample. Counters are cumulative, as the
/// kernel reports them; a source that could not be read is empty (or `None`) and has a note.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct ChecklistSample {
    /// False in a sample replayed from a recording made before these sources were read:
    /// every figure is then n/a for that reason.
    pub read: bool,
    /// Monotonic clock (ns) in the middle of this group's reads: its rates' interval.
    pub mono_ns: u64,
    /// `/proc/schedstat`, per CPU.
    pub sched: Vec<CpuSched>,
    /// Machine-check and thermal rows of `/proc/interrupts`, summed over CPUs.
    pub hw_irqs: Option<HwIrqs>,
    /// `thermal_throttle/*_count`: one CPU per core, one per package.
    pub throttle: Option<Throttle>,
    /// cpufreq (or `/proc/cpuinfo`), per CPU.
    pub freq: Vec<CpuFreq>,
    /// True when `freq` came from `/proc/cpuinfo` (no cpufreq driver): no range is known.
    pub freq_from_cpuinfo: bool,
    /// CPU package and core temperatures (hwmon, else thermal zones).
    pub temps: Vec<Temp>,
    /// EDAC memory controllers.
    pub edac: Vec<EdacMc>,
    /// Online NUMA nodes (0: unknown). Per-node figures are read only when there are two
    /// or more.
    pub numa_nodes: u32,
    pub numa: Vec<NumaNode>,
    /// `/proc/net/softnet_stat`, per CPU.
    pub softnet: Vec<SoftnetCpu>,
    /// True when the kernel does not print the CPU of each softnet line (before 5.10) and
    /// the lines were matched to the online CPUs in order.
    pub softnet_cpu_by_position: bool,
    /// `/sys/class/net/IF/statistics/*` error breakdowns.
    pub nic_errors: Vec<NicErrors>,
    /// `/sys/fs/ext4/DEV/errors_count`.
    pub fs_errors: Vec<FsErrors>,
    /// How block devices are stacked (dm, md on their members); unchanged samples share it.
    pub block_stack: Arc<Vec<BlockStack>>,
    /// `/proc/sys/fs/file-nr`.
    pub file_nr: Option<FileNr>,
    /// `kernel.threads-max` and `kernel.pid_max`.
    pub threads_max: Option<u64>,
    pub pid_max: Option<u64>,
    /// `kernel.task_delayacct`; `None` where the kernel has no such switch (before 5.14:
    /// delay accounting is then on unless booted with `nodelayacct`).
    pub delayacct: Option<bool>,
    /// What could not be read, and why (by `source::*`). Kept apart from the sample's own
    /// notes: most of these are hardware a machine simply lacks (no EDAC in a VM), not a
    /// failure the status line should report. Shared between samples while unchanged.
    pub notes: Arc<Vec<Note>>,
}

impl ChecklistSample {
    pub fn note(&self, source: &str) -> Option<&str> {
        self.notes
            .iter()
            .find(|n| n.source == source)
            .map(|n| n.reason.as_str())
    }
}

/// One `cpuN` line of `/proc/schedstat` (times in ns).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CpuSched {
    pub cpu: u32,
    /// Time tasks ran on this CPU.
    pub run_ns: u64,
    /// Time tasks spent runnable on this CPU's run queue, waiting for it.
    pub delay_ns: u64,
    /// Timeslices run.
    pub slices: u64,
}

/// `/proc/interrupts` rows, summed over CPUs; `None` where the architecture has no row.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct HwIrqs {
    /// MCE: machine-check exceptions.
    pub mce: Option<u64>,
    /// MCP: machine-check polls (the periodic check for corrected errors; not errors).
    pub mcp: Option<u64>,
    /// TRM: thermal event interrupts.
    pub trm: Option<u64>,
    /// THR: threshold APIC interrupts (corrected-error counters crossing their threshold).
    pub thr: Option<u64>,
    /// DFR: deferred error APIC interrupts (AMD).
    pub dfr: Option<u64>,
}

/// Thermal-throttle event counts: `core_throttle_count` of one CPU per core and
/// `package_throttle_count` of one CPU per package (siblings repeat the same counter).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Throttle {
    /// (CPU read for its core, count).
    pub cores: Vec<(u32, u64)>,
    /// (package id, count).
    pub packages: Vec<(u32, u64)>,
}

/// A CPU's frequency in kHz and its hardware range where cpufreq knows it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CpuFreq {
    pub cpu: u32,
    pub cur_khz: u64,
    pub min_khz: Option<u64>,
    pub max_khz: Option<u64>,
}

/// One temperature sensor, in millidegrees Celsius.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Temp {
    /// The hwmon chip (`coretemp`, `k10temp`) or thermal zone type (`x86_pkg_temp`).
    pub chip: String,
    /// The sensor's label (`Package id 0`, `Core 3`, `Tctl`), or `tempN`.
    pub label: String,
    pub milli_c: i64,
    /// The sensor's own critical temperature, where it has one.
    pub crit_milli_c: Option<i64>,
}

/// One EDAC memory controller's corrected and uncorrected error counts.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct EdacMc {
    pub name: String,
    pub ce: u64,
    pub ue: u64,
}

/// One NUMA node: `nodeN/meminfo` (bytes) and `nodeN/numastat` (pages, cumulative).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct NumaNode {
    pub node: u32,
    pub total: u64,
    pub free: u64,
    pub used: u64,
    pub hit: u64,
    pub miss: u64,
    pub foreign: u64,
    pub interleave_hit: u64,
    pub local: u64,
    pub other: u64,
}

/// One CPU's line of `/proc/net/softnet_stat`. The kernel keeps these in 32 bits.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SoftnetCpu {
    pub cpu: u32,
    pub processed: u64,
    /// Packets dropped because the backlog queue was full (netdev_max_backlog).
    pub dropped: u64,
    /// Times net_rx_action ran out of budget or time with work left (netdev_budget).
    pub time_squeeze: u64,
    /// Columns of newer kernels; `None` where the line is shorter.
    pub received_rps: Option<u64>,
    pub flow_limit: Option<u64>,
    pub backlog_len: Option<u64>,
}

/// The detailed error counters of one interface (`statistics/*`), cumulative, kept only
/// for an interface whose sums below are not all zero (`nic_errors` in the derive says
/// why that is enough). `/proc/net/dev`
/// shows only their sums: drop = dropped + missed, frame = length + over + crc + frame,
/// carrier = carrier + aborted + window + heartbeat (fifo has a column of its own there).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct NicErrors {
    pub iface: String,
    pub rx_missed: u64,
    pub rx_over: u64,
    pub rx_crc: u64,
    pub rx_length: u64,
    pub rx_frame: u64,
    pub tx_aborted: u64,
    pub tx_window: u64,
    pub tx_heartbeat: u64,
    pub tx_carrier: u64,
}

/// A filesystem's error count as the filesystem itself keeps it (ext4: since the last fsck).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct FsErrors {
    /// The block device's kernel name (`sda1`, `dm-0`): the /sys/fs/ext4 directory.
    pub device: String,
    pub errors: u64,
}

/// A block device's place in a stack: the devices it is built on (`slaves`) and the devices
/// built on it (`holders`). `dm_name` is a device-mapper device's own name (`vg-root`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct BlockStack {
    pub name: String,
    pub slaves: Vec<String>,
    pub holders: Vec<String>,
    pub dm_name: Option<String>,
}

/// `/proc/sys/fs/file-nr`: allocated handles, allocated but unused, and the maximum.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileNr {
    pub allocated: u64,
    pub unused: u64,
    pub max: u64,
}

// ---- derived figures ----

/// Why a figure is not there.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Na {
    /// A rate, and this is the first sample (or the first with this source).
    FirstSample,
    /// Replayed from a recording made before these sources were read.
    NotRecorded,
    /// The collector's reason, or why the figure does not apply here.
    Missing(String),
}

impl fmt::Display for Na {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Na::FirstSample => f.write_str("first sample"),
            Na::NotRecorded => f.write_str("not in this recording (made before format 2)"),
            Na::Missing(r) => f.write_str(r),
        }
    }
}

pub type Avail<T> = Result<T, Na>;

/// Run-queue latency: the time tasks waited for a CPU while runnable, as ms of waiting per
/// second of wall time (several waiting tasks can make it exceed 1000).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct RunQueue {
    pub per_cpu: Vec<(u32, f64)>,
    /// Summed over CPUs.
    pub total_ms_s: f64,
    /// `total_ms_s` over the CPUs counted.
    pub mean_ms_s: f64,
    /// The CPU with the most waiting.
    pub worst: (u32, f64),
}

/// The busiest single CPU beside the average (a pegged CPU hides in a low average).
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct BusiestCpu {
    pub cpu: u32,
    pub busy_pct: f64,
    pub avg_busy_pct: f64,
    pub ncpu: usize,
}

/// Machine-check and thermal interrupts during the interval.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct HwEvents {
    pub mce: Option<u64>,
    pub mcp: Option<u64>,
    pub thermal: Option<u64>,
    pub threshold: Option<u64>,
    pub deferred: Option<u64>,
    /// Machine-check exceptions since boot.
    pub mce_total: Option<u64>,
}

/// Thermal-throttle events during the interval and since boot.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ThrottleEvents {
    pub core: u64,
    pub package: u64,
    pub core_total: u64,
    pub package_total: u64,
    /// The core (by the CPU read for it) with the most events this interval.
    pub worst_core: Option<(u32, u64)>,
}

/// Current frequencies in MHz: each CPU, their mean and spread, and the hardware range.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Freq {
    pub per_cpu: Vec<(u32, f64)>,
    pub mean_mhz: f64,
    pub min_mhz: f64,
    pub max_mhz: f64,
    /// The lowest and highest frequency any CPU can run at (cpufreq's cpuinfo_min/max).
    pub range_mhz: Option<(f64, f64)>,
    pub from_cpuinfo: bool,
}

/// One sensor in °C.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct TempReading {
    pub chip: String,
    pub label: String,
    pub celsius: f64,
    pub crit_c: Option<f64>,
}

#[derive(Clone, Debug, Default, PartialEq)]
pub struct Temps {
    pub sensors: Vec<TempReading>,
    /// Index into `sensors` of the hottest.
    pub hottest: usize,
}

impl Temps {
    pub fn hottest(&self) -> Option<&TempReading> {
        self.sensors.get(self.hottest)
    }
}

/// EDAC corrected (ce) and uncorrected (ue) memory errors, over the interval and in total.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct MemErrors {
    pub ce: u64,
    pub ue: u64,
    pub ce_total: u64,
    pub ue_total: u64,
    /// (controller, ce, ue) in the interval.
    pub controllers: Vec<(String, u64, u64)>,
}

/// One NUMA node: memory and the allocation counters per second.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct NodeFigures {
    pub node: u32,
    pub total_bytes: u64,
    pub free_bytes: u64,
    pub used_bytes: u64,
    pub used_pct: Option<f64>,
    /// Pages allocated on this node as intended, per second.
    pub hit_s: f64,
    /// Pages allocated here although another node was preferred, per second.
    pub miss_s: f64,
    /// Pages meant for this node but allocated on another, per second.
    pub foreign_s: f64,
    pub local_s: f64,
    pub other_s: f64,
    /// miss / (hit + miss), percent; `None` without allocations.
    pub miss_pct: Option<f64>,
}

/// Softnet backlog per CPU over the interval.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct SoftnetRate {
    pub cpu: u32,
    pub processed_s: f64,
    pub dropped_s: f64,
    pub squeezed_s: f64,
    /// Packets dropped and squeezes in the interval.
    pub dropped: u64,
    pub squeezed: u64,
}

#[derive(Clone, Debug, Default, PartialEq)]
pub struct Softnet {
    pub per_cpu: Vec<SoftnetRate>,
    pub processed_s: f64,
    pub dropped_s: f64,
    pub squeezed_s: f64,
    pub dropped: u64,
    pub squeezed: u64,
    /// The CPU with the most drops, else the most squeezes, this interval.
    pub worst_cpu: Option<u32>,
    pub cpu_by_position: bool,
}

/// One interface's detailed error counters per second.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct NicErrorRates {
    pub iface: String,
    pub rx_missed_s: f64,
    pub rx_over_s: f64,
    pub rx_crc_s: f64,
    pub rx_length_s: f64,
    pub rx_frame_s: f64,
    pub tx_aborted_s: f64,
    pub tx_window_s: f64,
    pub tx_heartbeat_s: f64,
    pub tx_carrier_s: f64,
}

impl NicErrorRates {
    /// Each counter per second, by the name of its file in `statistics/`.
    pub fn by_name(&self) -> [(&'static str, f64); 9] {
        [
            ("rx_missed", self.rx_missed_s),
            ("rx_over", self.rx_over_s),
            ("rx_crc", self.rx_crc_s),
            ("rx_length", self.rx_length_s),
            ("rx_frame", self.rx_frame_s),
            ("tx_aborted", self.tx_aborted_s),
            ("tx_window", self.tx_window_s),
            ("tx_heartbeat", self.tx_heartbeat_s),
            ("tx_carrier", self.tx_carrier_s),
        ]
    }

    /// The counters that moved this interval.
    pub fn moved(&self) -> Vec<(&'static str, f64)> {
        self.by_name()
            .into_iter()
            .filter(|(_, v)| *v > 0.0)
            .collect()
    }

    pub fn total_s(&self) -> f64 {
        self.by_name().iter().map(|(_, v)| v).sum()
    }
}

/// A filesystem's error count: since its last fsck, and new this interval.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct FsErrorCount {
    pub device: String,
    pub total: u64,
    pub new: Option<u64>,
}

/// Something used against its limit.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Capacity {
    pub used: u64,
    pub max: u64,
    pub pct: f64,
}

impl Capacity {
    fn of(used: u64, max: u64) -> Avail<Capacity> {
        if max == 0 {
            return Err(Na::Missing("limit reads 0".into()));
        }
        Ok(Capacity {
            used,
            max,
            pct: (used as f64 * 100.0 / max as f64).min(100.0),
        })
    }
}

/// Tasks (every thread has a pid) against `kernel.threads-max` and `kernel.pid_max`.
#[derive(Clone, Debug, PartialEq)]
pub struct TaskCapacity {
    pub threads: Avail<Capacity>,
    pub pids: Avail<Capacity>,
}

impl TaskCapacity {
    /// The nearer of the two limits.
    pub fn worst(&self) -> Option<Capacity> {
        match (&self.threads, &self.pids) {
            (Ok(a), Ok(b)) => Some(if b.pct > a.pct { *b } else { *a }),
            (Ok(a), Err(_)) => Some(*a),
            (Err(_), Ok(b)) => Some(*b),
            _ => None,
        }
    }
}

/// Whether per-task block-I/O delay (`/proc/PID/stat` field 42) means anything.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DelayAcct {
    On,
    /// `kernel.task_delayacct` is 0: the field stays 0.
    Off,
    /// No `kernel.task_delayacct` (kernels before 5.14): on unless booted `nodelayacct`.
    NoSwitch,
    /// Replayed from a recording made before the switch was read.
    NotRecorded,
}

impl DelayAcct {
    /// Why per-task delay figures are n/a, or `None` when they can be shown.
    pub fn na(&self) -> Option<Na> {
        match self {
            DelayAcct::On | DelayAcct::NoSwitch => None,
            DelayAcct::Off => Some(Na::Missing(
                "delay accounting is off (sysctl kernel.task_delayacct=1 turns it on)".into(),
            )),
            DelayAcct::NotRecorded => Some(Na::NotRecorded),
        }
    }

    pub fn counts(&self) -> bool {
        self.na().is_none()
    }
}

/// Which block devices are built on others, so no summary counts the same I/O twice: a
/// dm or md device passes its I/O down to its members, whose counters count it again.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Stacking {
    pub devices: Arc<Vec<BlockStack>>,
}

impl Stacking {
    fn get(&self, name: &str) -> Option<&BlockStack> {
        self.devices.iter().find(|d| d.name == name)
    }

    /// Built on other block devices (dm-*, md*): its I/O is counted again on its members.
    pub fn is_stacked(&self, name: &str) -> bool {
        self.get(name).is_some_and(|d| !d.slaves.is_empty())
    }

    pub fn slaves(&self, name: &str) -> &[String] {
        self.get(name).map(|d| d.slaves.as_slice()).unwrap_or(&[])
    }

    pub fn holders(&self, name: &str) -> &[String] {
        self.get(name).map(|d| d.holders.as_slice()).unwrap_or(&[])
    }

    /// Whether a device's I/O belongs in a total over devices: whole devices at the bottom
    /// of any stack (partitions are inside their disk, stacked devices inside their members).
    pub fn counts_in_totals(&self, name: &str, partition: bool) -> bool {
        !partition && !self.is_stacked(name)
    }

    /// The kernel name of the device a mount's source names: `/dev/sda1` → `sda1`,
    /// `/dev/mapper/vg-root` → the `dm-N` whose dm name is `vg-root`.
    pub fn kernel_name(&self, source: &str) -> Option<String> {
        if let Some(dm) = source.strip_prefix("/dev/mapper/") {
            return self
                .devices
                .iter()
                .find(|d| d.dm_name.as_deref() == Some(dm))
                .map(|d| d.name.clone());
        }
        let base = source.strip_prefix("/dev/")?;
        (!base.is_empty() && !base.contains('/')).then(|| base.to_string())
    }
}

/// Every checklist figure of one snapshot, each `Err(Na)` with its reason when missing.
#[derive(Clone, Debug, PartialEq)]
pub struct ChecklistFigures {
    /// Measured seconds between the two reads of these sources (0 without a previous one).
    pub dt_s: f64,
    pub runq: Avail<RunQueue>,
    pub busiest_cpu: Avail<BusiestCpu>,
    /// CPU share stolen by the hypervisor, percent (the checklist's lost capacity).
    pub steal_pct: Avail<f64>,
    pub hw: Avail<HwEvents>,
    pub throttle: Avail<ThrottleEvents>,
    pub freq: Avail<Freq>,
    pub temps: Avail<Temps>,
    /// OOM kills in the interval (the checklist's memory saturation).
    pub oom_kills: Avail<u64>,
    pub mem_errors: Avail<MemErrors>,
    /// Per node when there are two or more; `Missing("one NUMA node")` otherwise.
    pub numa: Avail<Vec<NodeFigures>>,
    pub softnet: Avail<Softnet>,
    /// Interfaces with their detailed error rates (those new this interval left out).
    pub nic_errors: Avail<Vec<NicErrorRates>>,
    /// Filesystems that keep an error count (ext4).
    pub fs_errors: Avail<Vec<FsErrorCount>>,
    pub stacking: Stacking,
    pub files: Avail<Capacity>,
    pub tasks: Avail<TaskCapacity>,
    pub delayacct: DelayAcct,
}

impl Default for ChecklistFigures {
    fn default() -> Self {
        fn na<T>() -> Avail<T> {
            Err(Na::NotRecorded)
        }
        ChecklistFigures {
            dt_s: 0.0,
            runq: na(),
            busiest_cpu: na(),
            steal_pct: na(),
            hw: na(),
            throttle: na(),
            freq: na(),
            temps: na(),
            oom_kills: na(),
            mem_errors: na(),
            numa: na(),
            softnet: na(),
            nic_errors: na(),
            fs_errors: na(),
            stacking: Stacking::default(),
            files: na(),
            tasks: na(),
            delayacct: DelayAcct::NotRecorded,
        }
    }
}

/// The reason a source is missing: its note, else a generic one.
fn missing(c: &ChecklistSample, source: &str, otherwise: &str) -> Na {
    if !c.read {
        return Na::NotRecorded;
    }
    Na::Missing(c.note(source).unwrap_or(otherwise).to_string())
}

/// Per-second rate over `dt`; a counter that went backwards (reset) gives 0.
fn per_s(d: u64, dt: f64) -> f64 {
    if dt > 0.0 { d as f64 / dt } else { 0.0 }
}

/// Derives every checklist figure. `cpu` is the snapshot's CPU figures (for the busiest
/// CPU and steal), `oom_kills` its vmstat OOM kills in the interval.
pub fn derive(
    prev: Option<&Sample>,
    cur: &Sample,
    cpu: &CpuFigures,
    oom_kills: Option<u64>,
    snapshot_dt_s: f64,
) -> ChecklistFigures {
    let c = &cur.checklist;
    // The previous checklist counts only if it was read (an old recording's was not).
    let p = prev.map(|p| &p.checklist).filter(|p| p.read && c.read);
    let dt = match p {
        Some(p) if c.mono_ns > p.mono_ns => (c.mono_ns - p.mono_ns) as f64 / 1e9,
        Some(_) => snapshot_dt_s,
        None => 0.0,
    };
    let p = p.filter(|_| dt > 0.0);
    let stacking = Stacking {
        devices: Arc::clone(&c.block_stack),
    };
    ChecklistFigures {
        dt_s: dt,
        runq: runq(p, c, dt),
        busiest_cpu: busiest(cpu, prev.is_some()),
        steal_pct: cpu.total.map(|t| t.steal).ok_or(if prev.is_some() {
            Na::Missing("/proc/stat unreadable".into())
        } else {
            Na::FirstSample
        }),
        hw: hw_events(p, c),
        throttle: throttle(p, c),
        freq: freq(c),
        temps: temps(c),
        oom_kills: oom_kills.ok_or(if prev.is_some() {
            Na::Missing(
                cur.note("vmstat")
                    .unwrap_or("/proc/vmstat has no oom_kill")
                    .to_string(),
            )
        } else {
            Na::FirstSample
        }),
        mem_errors: mem_errors(p, c),
        numa: numa(p, c, dt),
        softnet: softnet(p, c, dt),
        nic_errors: nic_errors(prev.filter(|_| p.is_some()), cur, dt),
        fs_errors: fs_errors(p, c),
        stacking,
        files: match c.file_nr {
            Some(f) => Capacity::of(f.allocated.saturating_sub(f.unused), f.max),
            None => Err(missing(c, source::FILE_NR, "file-nr unreadable")),
        },
        tasks: tasks(cur),
        delayacct: delayacct(c),
    }
}

fn runq(p: Option<&ChecklistSample>, c: &ChecklistSample, dt: f64) -> Avail<RunQueue> {
    if c.sched.is_empty() {
        return Err(missing(c, source::SCHEDSTAT, "no per-CPU lines"));
    }
    let p = p.filter(|p| !p.sched.is_empty()).ok_or(Na::FirstSample)?;
    let per_cpu: Vec<(u32, f64)> = c
        .sched
        .iter()
        .filter_map(|s| {
            let before = p.sched.iter().find(|q| q.cpu == s.cpu)?;
            Some((s.cpu, per_s(delta(before.delay_ns, s.delay_ns), dt) / 1e6))
        })
        .collect();
    if per_cpu.is_empty() {
        return Err(Na::FirstSample);
    }
    let total_ms_s: f64 = per_cpu.iter().map(|(_, v)| v).sum();
    let worst =
        per_cpu.iter().copied().fold(
            (per_cpu[0].0, f64::MIN),
            |a, b| if b.1 > a.1 { b } else { a },
        );
    Ok(RunQueue {
        mean_ms_s: total_ms_s / per_cpu.len() as f64,
        total_ms_s,
        worst,
        per_cpu,
    })
}

fn busiest(cpu: &CpuFigures, have_prev: bool) -> Avail<BusiestCpu> {
    let avg = cpu.total.map(|t| t.busy()).ok_or(if have_prev {
        Na::Missing("/proc/stat unreadable".into())
    } else {
        Na::FirstSample
    })?;
    let (id, busy) = cpu
        .per_cpu
        .iter()
        .filter_map(|(id, p)| p.map(|p| (*id, p.busy())))
        .fold(None, |best: Option<(u32, f64)>, (id, b)| match best {
            Some((_, bb)) if bb >= b => best,
            _ => Some((id, b)),
        })
        .ok_or(Na::FirstSample)?;
    Ok(BusiestCpu {
        cpu: id,
        busy_pct: busy,
        avg_busy_pct: avg,
        ncpu: cpu.ncpu,
    })
}

fn hw_events(p: Option<&ChecklistSample>, c: &ChecklistSample) -> Avail<HwEvents> {
    let cur = c
        .hw_irqs
        .ok_or_else(|| missing(c, source::INTERRUPTS, "/proc/interrupts unreadable"))?;
    if cur.mce.is_none() {
        return Err(Na::Missing(
            "/proc/interrupts has no MCE row (no machine-check support: not x86, or a VM)".into(),
        ));
    }
    let prev = p.and_then(|p| p.hw_irqs).ok_or(Na::FirstSample)?;
    let d = |a: Option<u64>, b: Option<u64>| Some(delta(a?, b?));
    Ok(HwEvents {
        mce: d(prev.mce, cur.mce),
        mcp: d(prev.mcp, cur.mcp),
        thermal: d(prev.trm, cur.trm),
        threshold: d(prev.thr, cur.thr),
        deferred: d(prev.dfr, cur.dfr),
        mce_total: cur.mce,
    })
}

fn throttle(p: Option<&ChecklistSample>, c: &ChecklistSample) -> Avail<ThrottleEvents> {
    let cur = c.throttle.as_ref().ok_or_else(|| {
        missing(
            c,
            source::THROTTLE,
            "no thermal_throttle counters (not an Intel CPU, or a VM)",
        )
    })?;
    let prev = p.and_then(|p| p.throttle.as_ref()).ok_or(Na::FirstSample)?;
    let step = |before: &[(u32, u64)], id: u32, v: u64| {
        before
            .iter()
            .find(|(i, _)| *i == id)
            .map(|(_, b)| delta(*b, v))
            .unwrap_or(0)
    };
    let mut out = ThrottleEvents::default();
    for &(cpu, v) in &cur.cores {
        let d = step(&prev.cores, cpu, v);
        out.core += d;
        out.core_total = out.core_total.saturating_add(v);
        if d > 0 && out.worst_core.is_none_or(|(_, w)| d > w) {
            out.worst_core = Some((cpu, d));
        }
    }
    for &(pkg, v) in &cur.packages {
        out.package += step(&prev.packages, pkg, v);
        out.package_total = out.package_total.saturating_add(v);
    }
    Ok(out)
}

fn freq(c: &ChecklistSample) -> Avail<Freq> {
    if c.freq.is_empty() {
        return Err(missing(
            c,
            source::CPUFREQ,
            "no cpufreq driver and no MHz in /proc/cpuinfo",
        ));
    }
    let per_cpu: Vec<(u32, f64)> = c
        .freq
        .iter()
        .map(|f| (f.cpu, f.cur_khz as f64 / 1000.0))
        .collect();
    let n = per_cpu.len() as f64;
    let mean = per_cpu.iter().map(|(_, v)| v).sum::<f64>() / n;
    let min = per_cpu.iter().map(|(_, v)| *v).fold(f64::MAX, f64::min);
    let max = per_cpu.iter().map(|(_, v)| *v).fold(0.0, f64::max);
    let lo = c.freq.iter().filter_map(|f| f.min_khz).min();
    let hi = c.freq.iter().filter_map(|f| f.max_khz).max();
    Ok(Freq {
        per_cpu,
        mean_mhz: mean,
        min_mhz: min,
        max_mhz: max,
        range_mhz: lo
            .zip(hi)
            .map(|(l, h)| (l as f64 / 1000.0, h as f64 / 1000.0)),
        from_cpuinfo: c.freq_from_cpuinfo,
    })
}

fn temps(c: &ChecklistSample) -> Avail<Temps> {
    if c.temps.is_empty() {
        return Err(missing(c, source::TEMP, "no CPU temperature sensor"));
    }
    let sensors: Vec<TempReading> = c
        .temps
        .iter()
        .map(|t| TempReading {
            chip: t.chip.clone(),
            label: t.label.clone(),
            celsius: t.milli_c as f64 / 1000.0,
            crit_c: t.crit_milli_c.map(|v| v as f64 / 1000.0),
        })
        .collect();
    let hottest = sensors.iter().enumerate().fold(0, |best, (i, s)| {
        if s.celsius > sensors[best].celsius {
            i
        } else {
            best
        }
    });
    Ok(Temps { sensors, hottest })
}

fn mem_errors(p: Option<&ChecklistSample>, c: &ChecklistSample) -> Avail<MemErrors> {
    if c.edac.is_empty() {
        return Err(missing(c, source::EDAC, "no EDAC memory controller"));
    }
    let p = p.filter(|p| !p.edac.is_empty()).ok_or(Na::FirstSample)?;
    let mut out = MemErrors::default();
    for mc in &c.edac {
        out.ce_total = out.ce_total.saturating_add(mc.ce);
        out.ue_total = out.ue_total.saturating_add(mc.ue);
        // A controller new since the last sample has no interval yet: nothing counted.
        let (ce, ue) = match p.edac.iter().find(|q| q.name == mc.name) {
            Some(q) => (delta(q.ce, mc.ce), delta(q.ue, mc.ue)),
            None => (0, 0),
        };
        out.ce = out.ce.saturating_add(ce);
        out.ue = out.ue.saturating_add(ue);
        out.controllers.push((mc.name.clone(), ce, ue));
    }
    Ok(out)
}

fn numa(p: Option<&ChecklistSample>, c: &ChecklistSample, dt: f64) -> Avail<Vec<NodeFigures>> {
    if !c.read {
        return Err(Na::NotRecorded);
    }
    if c.numa_nodes == 1 {
        return Err(Na::Missing("one NUMA node".into()));
    }
    if c.numa.is_empty() {
        return Err(missing(c, source::NUMA, "NUMA nodes unreadable"));
    }
    let p = p.filter(|p| !p.numa.is_empty()).ok_or(Na::FirstSample)?;
    Ok(c.numa
        .iter()
        .filter_map(|n| {
            let b = p.numa.iter().find(|q| q.node == n.node)?;
            let (hit, miss) = (delta(b.hit, n.hit), delta(b.miss, n.miss));
            Some(NodeFigures {
                node: n.node,
                total_bytes: n.total,
                free_bytes: n.free,
                used_bytes: n.used,
                used_pct: (n.total > 0)
                    .then(|| (n.used as f64 * 100.0 / n.total as f64).min(100.0)),
                hit_s: per_s(hit, dt),
                miss_s: per_s(miss, dt),
                foreign_s: per_s(delta(b.foreign, n.foreign), dt),
                local_s: per_s(delta(b.local, n.local), dt),
                other_s: per_s(delta(b.other, n.other), dt),
                // Past 2^53 pages the division can land a hair above 100.
                miss_pct: (hit.saturating_add(miss) > 0)
                    .then(|| (miss as f64 * 100.0 / hit.saturating_add(miss) as f64).min(100.0)),
            })
        })
        .collect())
}

fn softnet(p: Option<&ChecklistSample>, c: &ChecklistSample, dt: f64) -> Avail<Softnet> {
    if c.softnet.is_empty() {
        return Err(missing(c, source::SOFTNET, "/proc/net/softnet_stat empty"));
    }
    let p = p.filter(|p| !p.softnet.is_empty()).ok_or(Na::FirstSample)?;
    let mut out = Softnet {
        cpu_by_position: c.softnet_cpu_by_position,
        ..Softnet::default()
    };
    let mut worst = (0u64, 0u64);
    for s in &c.softnet {
        let Some(b) = p.softnet.iter().find(|q| q.cpu == s.cpu) else {
            continue;
        };
        // softnet_stat's counters are 32-bit: a busy CPU's `processed` wraps.
        let processed = delta32(b.processed, s.processed);
        let dropped = delta32(b.dropped, s.dropped);
        let squeezed = delta32(b.time_squeeze, s.time_squeeze);
        out.per_cpu.push(SoftnetRate {
            cpu: s.cpu,
            processed_s: per_s(processed, dt),
            dropped_s: per_s(dropped, dt),
            squeezed_s: per_s(squeezed, dt),
            dropped,
            squeezed,
        });
        out.dropped = out.dropped.saturating_add(dropped);
        out.squeezed = out.squeezed.saturating_add(squeezed);
        if (dropped, squeezed) > worst {
            worst = (dropped, squeezed);
            out.worst_cpu = Some(s.cpu);
        }
        out.processed_s += per_s(processed, dt);
    }
    out.dropped_s = per_s(out.dropped, dt);
    out.squeezed_s = per_s(out.squeezed, dt);
    Ok(out)
}

/// The collector stores a breakdown only for an interface whose /proc/net/dev sums hiding
/// it (drop, frame, carrier) are not all zero: with all of them zero, so is every counter
/// in them. An interface with a sum but no breakdown (its name is no path) is left out.
fn nic_errors(prev: Option<&Sample>, cur: &Sample, dt: f64) -> Avail<Vec<NicErrorRates>> {
    let c = &cur.checklist;
    if !c.read {
        return Err(Na::NotRecorded);
    }
    if let Some(why) = c.note(source::NIC_ERRORS) {
        return Err(Na::Missing(why.to_string()));
    }
    if cur.net.ifaces.is_empty() {
        return Err(Na::Missing(
            cur.note("net").unwrap_or("no interfaces").to_string(),
        ));
    }
    let prev = prev.filter(|p| p.checklist.read).ok_or(Na::FirstSample)?;
    let zero = NicErrors::default();
    let breakdown = |s: &'_ Sample, i: &IfaceStat| -> Option<NicErrors> {
        let found = s.checklist.nic_errors.iter().find(|e| e.iface == i.name);
        match found {
            Some(e) => Some(e.clone()),
            None if i.rx_drop == 0 && i.rx_frame == 0 && i.tx_carrier == 0 => Some(zero.clone()),
            None => None,
        }
    };
    Ok(cur
        .net
        .ifaces
        .iter()
        .filter_map(|i| {
            let before = prev.net.ifaces.iter().find(|q| q.name == i.name)?;
            let (b, n) = (breakdown(prev, before)?, breakdown(cur, i)?);
            // Some drivers keep 32-bit counters.
            let r = |f: fn(&NicErrors) -> u64| per_s(delta32(f(&b), f(&n)), dt);
            Some(NicErrorRates {
                iface: i.name.clone(),
                rx_missed_s: r(|e| e.rx_missed),
                rx_over_s: r(|e| e.rx_over),
                rx_crc_s: r(|e| e.rx_crc),
                rx_length_s: r(|e| e.rx_length),
                rx_frame_s: r(|e| e.rx_frame),
                tx_aborted_s: r(|e| e.tx_aborted),
                tx_window_s: r(|e| e.tx_window),
                tx_heartbeat_s: r(|e| e.tx_heartbeat),
                tx_carrier_s: r(|e| e.tx_carrier),
            })
        })
        .collect())
}

fn fs_errors(p: Option<&ChecklistSample>, c: &ChecklistSample) -> Avail<Vec<FsErrorCount>> {
    if c.fs_errors.is_empty() {
        return Err(missing(
            c,
            source::FS_ERRORS,
            "no ext4 filesystem (the only one that counts its errors in /sys)",
        ));
    }
    Ok(c.fs_errors
        .iter()
        .map(|f| FsErrorCount {
            device: f.device.clone(),
            total: f.errors,
            new: p.and_then(|p| {
                p.fs_errors
                    .iter()
                    .find(|q| q.device == f.device)
                    .map(|q| delta(q.errors, f.errors))
            }),
        })
        .collect())
}

fn tasks(cur: &Sample) -> Avail<TaskCapacity> {
    let c = &cur.checklist;
    // Every thread holds a pid; loadavg's fourth field counts them all.
    let Some(load) = cur.cpu.load else {
        return Err(Na::Missing(
            cur.note("loadavg")
                .unwrap_or("/proc/loadavg unreadable")
                .to_string(),
        ));
    };
    if !c.read {
        return Err(Na::NotRecorded);
    }
    let n = u64::from(load.entities);
    let limit = |v: Option<u64>, name: &str| match v {
        Some(max) => Capacity::of(n, max),
        None => Err(missing(
            c,
            source::TASK_LIMITS,
            &format!("kernel.{name} unreadable"),
        )),
    };
    Ok(TaskCapacity {
        threads: limit(c.threads_max, "threads-max"),
        pids: limit(c.pid_max, "pid_max"),
    })
}

fn delayacct(c: &ChecklistSample) -> DelayAcct {
    match (c.read, c.delayacct) {
        (false, _) => DelayAcct::NotRecorded,
        (true, Some(true)) => DelayAcct::On,
        (true, Some(false)) => DelayAcct::Off,
        (true, None) => DelayAcct::NoSwitch,
    }
}

// ---- levels ----

fn band(v: f64, b: Band) -> Level {
    Level::of(Some(v), b.warn, b.crit)
}

/// The error count of a mounted filesystem, or why it has none.
pub fn fs_error_count(f: &ChecklistFigures, fs: &FsUsage) -> Avail<u64> {
    let counted = f.fs_errors.as_ref().map_err(Clone::clone);
    let name = f.stacking.kernel_name(&fs.device);
    if let (Ok(list), Some(name)) = (&counted, &name)
        && let Some(e) = list.iter().find(|e| &e.device == name)
    {
        return Ok(e.total);
    }
    if let Err(Na::NotRecorded) = counted {
        return Err(Na::NotRecorded);
    }
    Err(Na::Missing(match fs.fstype.as_str() {
        "ext2" | "ext3" | "ext4" => format!(
            "no /sys/fs/ext4/{} (device not found)",
            name.unwrap_or_else(|| fs.device.clone())
        ),
        other => format!("{other} keeps no error count in /sys (ext4 does)"),
    }))
}

impl ChecklistFigures {
    /// Run-queue latency, judged on the worst CPU (one saturated CPU matters however idle
    /// the others are).
    pub fn runq_level(&self, th: &Thresholds) -> Level {
        match &self.runq {
            Ok(r) => band(r.worst.1, th.runq_latency_ms_s),
            Err(_) => Level::Unknown,
        }
    }

    /// A CPU busy past `cpu_pegged` while the average is below `cpu_util`'s yellow band:
    /// the case the average alone shows in green. `None` when there is no such CPU.
    pub fn pegged(&self, th: &Thresholds) -> Option<(BusiestCpu, Level)> {
        let b = self.busiest_cpu.as_ref().ok()?;
        if b.ncpu < 2 || b.avg_busy_pct >= th.cpu_util.warn {
            return None;
        }
        let level = band(b.busy_pct, th.cpu_pegged);
        (level >= Level::Warn).then_some((*b, level))
    }

    pub fn steal_level(&self, th: &Thresholds) -> Level {
        self.steal_pct
            .as_ref()
            .map_or(Level::Unknown, |v| band(*v, th.cpu_steal))
    }

    /// Machine-check exceptions this interval (polls are not errors).
    pub fn mce_level(&self, th: &Thresholds) -> Level {
        match &self.hw {
            Ok(h) => h.mce.map_or(Level::Unknown, |n| band(n as f64, th.mce)),
            Err(_) => Level::Unknown,
        }
    }

    pub fn throttle_level(&self, th: &Thresholds) -> Level {
        match &self.throttle {
            Ok(t) => band(t.core.saturating_add(t.package) as f64, th.thermal_throttle),
            Err(_) => Level::Unknown,
        }
    }

    /// The hottest sensor against the band, or its own critical point if lower.
    pub fn temp_level(&self, th: &Thresholds) -> Level {
        let Some(t) = self.temps.as_ref().ok().and_then(Temps::hottest) else {
            return Level::Unknown;
        };
        let own = match t.crit_c {
            Some(c) if c > 0.0 && t.celsius >= c => Level::Crit,
            _ => Level::Ok,
        };
        band(t.celsius, th.temp_c).max(own)
    }

    pub fn mem_error_level(&self, th: &Thresholds) -> Level {
        match &self.mem_errors {
            Ok(m) => band(m.ce as f64, th.edac_ce).max(band(m.ue as f64, th.edac_ue)),
            Err(_) => Level::Unknown,
        }
    }

    /// The node with the highest share of misses.
    pub fn numa_level(&self, th: &Thresholds) -> Level {
        match &self.numa {
            Ok(nodes) => nodes
                .iter()
                .filter_map(|n| n.miss_pct)
                .map(|p| band(p, th.numa_miss_pct))
                .max()
                .unwrap_or(Level::Ok),
            Err(_) => Level::Unknown,
        }
    }

    /// Softnet drops (errors: the packet is gone) and squeezes (saturation).
    pub fn softnet_drop_level(&self, th: &Thresholds) -> Level {
        match &self.softnet {
            Ok(s) => band(s.dropped as f64, th.softnet_drops),
            Err(_) => Level::Unknown,
        }
    }

    pub fn softnet_squeeze_level(&self, th: &Thresholds) -> Level {
        match &self.softnet {
            Ok(s) => band(s.squeezed_s, th.softnet_squeeze_s),
            Err(_) => Level::Unknown,
        }
    }

    /// Any filesystem with errors recorded since its last fsck.
    pub fn fs_error_level(&self, th: &Thresholds) -> Level {
        match &self.fs_errors {
            Ok(list) => list
                .iter()
                .map(|e| band(e.total as f64, th.fs_errors))
                .max()
                .unwrap_or(Level::Ok),
            Err(_) => Level::Unknown,
        }
    }

    pub fn files_level(&self, th: &Thresholds) -> Level {
        self.files
            .as_ref()
            .map_or(Level::Unknown, |c| band(c.pct, th.fd_util))
    }

    pub fn tasks_level(&self, th: &Thresholds) -> Level {
        match self.tasks.as_ref().ok().and_then(TaskCapacity::worst) {
            Some(c) => band(c.pct, th.task_util),
            None => Level::Unknown,
        }
    }
}

/// A task's block-I/O delay against its band.
pub fn blkio_delay_level(ms_s: Option<f64>, th: &Thresholds) -> Level {
    Level::of(ms_s, th.blkio_delay_ms_s.warn, th.blkio_delay_ms_s.crit)
}
