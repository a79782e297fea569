//! The USE verdicts: for every resource, its Utilization, Saturation and Errors figures, the
//! level each stands at against the thresholds, and why, as typed data. The overview and
//! anything else that judges resources read these; they only turn them into text (the
//! figures' and reasons' `Display` lives in `widgets::verdict`, beside the number formats).

use std::fmt;
use std::net::{IpAddr, SocketAddr};

use super::Snapshot;
use super::checklist::{Avail, Na, NicErrorRates, fs_error_count};
use super::disk::{Basis, DiskBands, DiskDev, DiskVerdict, Grade, verdict};
use super::level::Level;
use super::net::{Duplex, NicFigures};
use super::perf::{Ev, Rates};
use super::slab;
use super::sockets::{LISTEN_NEAR_FULL_PCT, TCP_ESTABLISHED};
use super::thresholds::Thresholds;

/// How many filesystems the overview lists one by one before summarising the rest.
pub const FS_SHOWN: usize = 2;
/// How many disks the overview lists one by one before summarising the rest.
pub const DISK_SHOWN: usize = 3;
/// How many interfaces the overview lists one by one before summarising the rest.
pub const NIC_SHOWN: usize = 3;
/// IPC below this is flagged: most cycles are stalled (memory, branches).
pub const IPC_LOW: f64 = 0.5;
/// Listen queues at or above this share of their backlog are yellow (red from
/// `LISTEN_NEAR_FULL_PCT`).
pub const LISTEN_WARN_PCT: f64 = 50.0;
/// Sockets retransmitting in one interval at which the sockets' error cell turns red.
pub const RETRANS_SOCKS_CRIT: u32 = 10;

/// What kind of resource a verdict is about.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Kind {
    Cpu,
    Memory,
    Filesystem,
    Disk,
    Nic,
    /// The TCP stack's counters (/proc/net/snmp).
    Tcp,
    /// The TCP sockets themselves (sock_diag): listen queues, windows, retransmits.
    TcpSockets,
    Slab,
    CpuCounters,
    /// A cgroup (resource control), by its path.
    Cgroup,
    /// CPU time the hypervisor gave to other guests: capacity lost, not work done.
    Steal,
    /// One NUMA node's memory and allocation misses (machines with two or more).
    Numa,
    /// The softnet backlog: receive processing per CPU, below the interfaces.
    Softnet,
    /// System-wide file handles against fs.file-max.
    Files,
    /// Tasks (threads) against kernel.threads-max and kernel.pid_max.
    Tasks,
}

impl Kind {
    /// The name of one instance: `Disk sda`.
    pub fn singular(self) -> &'static str {
        match self {
            Kind::Cpu => "CPU",
            Kind::Memory => "Memory",
            Kind::Filesystem => "FS",
            Kind::Disk => "Disk",
            Kind::Nic => "NIC",
            Kind::Tcp => "TCP",
            Kind::TcpSockets => "TCP sockets",
            Kind::Slab => "Slab",
            Kind::CpuCounters => "CPU counters",
            Kind::Cgroup => "CG",
            Kind::Steal => "CPU steal",
            Kind::Numa => "NUMA node",
            Kind::Softnet => "Softnet",
            Kind::Files => "Files",
            Kind::Tasks => "Tasks",
        }
    }

    /// The name of all of them: `Disks`.
    pub fn plural(self) -> &'static str {
        match self {
            Kind::Disk => "Disks",
            Kind::Nic => "NICs",
            Kind::Cgroup => "Cgroups",
            Kind::Numa => "NUMA nodes",
            k => k.singular(),
        }
    }

    /// The pane that shows this resource, by its name (the model knows no panes).
    pub fn pane(self) -> &'static str {
        match self {
            Kind::Cpu => "cpu",
            Kind::Memory => "mem",
            Kind::Filesystem | Kind::Disk => "disk",
            Kind::Nic | Kind::Tcp => "net",
            Kind::TcpSockets => "sock",
            Kind::Slab => "slab",
            Kind::CpuCounters => "perf",
            Kind::Cgroup => "cgroup",
            Kind::Steal => "cpu",
            Kind::Numa => "mem",
            Kind::Softnet => "net",
            Kind::Files | Kind::Tasks => "proc",
        }
    }
}

/// Which of a kind's instances a verdict covers.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Instance {
    /// The resource as a whole (`Memory`, `TCP`), or all of a kind when none can be judged.
    All,
    /// All of a kind, with how many there are: `CPU (4)`, `Disks (2)`.
    Count(usize),
    /// One device, interface or mount, by its raw name (sanitised when drawn).
    Named(String),
    /// A summary of the instances not listed one by one: `Disk +3`.
    Rest(usize),
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Resource {
    pub kind: Kind,
    pub instance: Instance,
}

impl Resource {
    fn new(kind: Kind, instance: Instance) -> Resource {
        Resource { kind, instance }
    }

    /// The instance's name, when the verdict is about one device, interface or mount.
    pub fn name(&self) -> Option<&str> {
        match &self.instance {
            Instance::Named(n) => Some(n),
            _ => None,
        }
    }
}

/// The overview's label: `CPU (4)`, `Memory`, `Disk sda`, `NIC +2`, `FS /home`.
impl fmt::Display for Resource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let k = self.kind;
        match &self.instance {
            Instance::All => f.write_str(k.plural()),
            Instance::Count(n) => write!(f, "{} ({n})", k.plural()),
            // A cgroup is named by its path; the label shows its readable name.
            Instance::Named(path) if k == Kind::Cgroup => {
                write!(f, "{} {}", k.singular(), super::cgroup::cgroup_name(path))
            }
            Instance::Named(name) => write!(f, "{} {name}", k.singular()),
            Instance::Rest(n) => write!(f, "{} +{n}", k.singular()),
        }
    }
}

/// PSI "some" stall share as a saturation cell shows it.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Stall {
    Pct(f64),
    /// The kernel has no PSI (or it could not be read).
    Unreadable,
    /// PSI is read but there is no interval yet.
    NoInterval,
}

/// A cell's figures: what it shows, as values.
#[derive(Clone, Debug, PartialEq)]
pub enum Figure {
    /// Nothing to show for this cell (`n/a`); the reason, if any, says why.
    NotAvailable,
    /// No figure yet (`-`): a rate without an interval.
    Pending,
    /// An empty cell (a summary row's saturation and errors).
    Blank,
    CpuBusy(Option<f64>),
    /// The average, and the busiest CPU: pegged while the average is low.
    CpuBusyPegged {
        avg: f64,
        cpu: u32,
        busy: f64,
    },
    /// Runnable tasks per CPU, run-queue latency summed over CPUs (ms/s), PSI.
    CpuRunq {
        per_cpu: f64,
        latency_ms_s: Option<f64>,
        psi: Stall,
    },
    /// Machine-check exceptions and thermal-throttle events in the interval.
    CpuErrors {
        mce: Option<u64>,
        throttle: Option<u64>,
    },
    /// CPU time stolen by the hypervisor, percent.
    Steal(f64),
    MemUsed(f64),
    MemPressure {
        swap_kbs: Option<f64>,
        majflt_s: Option<f64>,
        pgscan_s: Option<f64>,
        psi: Option<f64>,
        /// OOM kills in the interval: the checklist's memory saturation.
        oom: Option<u64>,
    },
    /// EDAC corrected and uncorrected memory errors in the interval.
    MemErrors {
        ce: u64,
        ue: u64,
    },
    NodeUsed(Option<f64>),
    NumaMiss {
        miss_pct: Option<f64>,
        foreign_s: f64,
    },
    /// Packets the softnet backlog processed per second.
    SoftnetRate(f64),
    Squeeze(f64),
    SoftnetDrops(u64),
    /// Something used against its limit: `80.0% of 10K`.
    Capacity {
        pct: f64,
        max: u64,
    },
    /// Errors a filesystem recorded since its last fsck.
    FsErrors(u64),
    FsUsed {
        pct: f64,
        total_bytes: u64,
    },
    FsInodes(Option<f64>),
    /// The fullest of the filesystems not listed.
    FsRest(f64),
    DiskUtil(f64),
    /// Average queue length, with PSI io on the busiest disk only (it is system-wide).
    /// aqu-sz as a share of the queue depth, with %util as information (a device that
    /// serves requests in parallel).
    DiskQueueShare {
        pct: f64,
        depth: u32,
        util: f64,
    },
    DiskQueue {
        aqu: f64,
        psi: Option<f64>,
    },
    IoErrors(u64),
    /// The highest %util of the instances not listed.
    UtilAtMost(f64),
    DiskQueueAtMost(f64),
    NicUtil(f64),
    /// An interface without a known link speed: its traffic instead, bytes/s.
    NicTraffic(f64),
    NicUtilAtMost(Option<f64>),
    Drops(f64),
    Errors(f64),
    TcpEstab(u64),
    TcpSaturation {
        retrans_pct: f64,
        listen_s: Option<f64>,
    },
    TcpErrors {
        resets_s: f64,
        inerr_s: f64,
    },
    SockTraffic {
        estab: u32,
        bytes_s: Option<f64>,
    },
    SockQueues {
        worst_pct: Option<f64>,
        near_full: u32,
        zero_window: u32,
        partial: bool,
    },
    SockRetrans(u32),
    SlabUnreclaim {
        bytes: u64,
        growth_bps: Option<f64>,
    },
    SlabTopCache {
        objs_used_pct: f64,
        cache: String,
        growth_bps: Option<f64>,
    },
    SlabObjsUsed(f64),
    Gcycles {
        per_s: f64,
        scaled: bool,
    },
    Ipc {
        ipc: f64,
        scaled: bool,
    },
    IpcPending,
    /// A cgroup's usage nearest its limit.
    CgroupUse(CgUse),
    /// A cgroup with no usage against a limit: its CPU quota if it has one (its CPU use
    /// was not read), else no limit at all.
    CgroupNoLimit(Option<f64>),
    CgroupStall(CgStall),
    CgroupEvents(CgEvents),
    /// The highest share of a limit among the cgroups not listed.
    CgroupUseAtMost(Option<f64>),
    /// The highest throttled share among the cgroups not listed.
    CgroupThrottledAtMost(Option<f64>),
}

/// A cgroup's usage against one of its limits.
#[derive(Clone, Debug, PartialEq)]
pub enum CgUse {
    /// CPU used against the quota (`cpu.max`), in CPUs.
    Cpu { pct: f64, quota_cpus: f64 },
    /// Memory against the nearest limit (memory.max or memory.high); `of` names the
    /// ancestor whose limit it is, `None` for the cgroup's own.
    Mem {
        pct: f64,
        limit: u64,
        of: Option<String>,
    },
    /// Tasks against `pids.max`.
    Pids { pct: f64, max: u64 },
}

impl CgUse {
    pub fn pct(&self) -> f64 {
        match self {
            CgUse::Cpu { pct, .. } | CgUse::Mem { pct, .. } | CgUse::Pids { pct, .. } => *pct,
        }
    }
}

/// A cgroup's saturation: CFS throttling against its quota, its worst PSI stall, and
/// memory.high breaches (reclaim throttling) in the interval.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct CgStall {
    pub throttled_pct: Option<f64>,
    pub throttled_ms_s: Option<f64>,
    pub quota_cpus: Option<f64>,
    /// (resource, percent of the time some task stalled)
    pub psi: Option<(&'static str, f64)>,
    pub high: Option<u64>,
}

/// A cgroup's memory errors in the interval: OOM kills and OOMs, memory.max hits (v1:
/// failcnt), with the memory.max they hit.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CgEvents {
    pub oom_kill: Option<u64>,
    pub oom: Option<u64>,
    pub max: Option<u64>,
    pub limit: Option<u64>,
}

/// Why a figure is missing.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Missing {
    FirstSample,
    /// A kernel file that could not be read: `meminfo`, `vmstat`, `slabinfo`.
    Unreadable(&'static str),
    /// The collector's note for the source, verbatim.
    Note(String),
    NoBlockDevices,
    NoInterfaces,
    NoTcpCounters,
    /// Every device is new since the previous sample.
    NewDevices,
    NewInterfaces,
    LoopbackOnly,
    /// A fixture tree without socket captures.
    NoCaptures,
    NetlinkRefused,
    /// Slab caches need root.
    NeedsRoot,
    NoSlabErrorCounters,
    NoCounterErrors,
    CountersNotCollected,
    /// The perf collector's reason; shown by its part in parentheses.
    Counters(String),
    NoCgroups,
    /// A checklist figure's reason (model::checklist).
    Checklist(Na),
    /// Why a cell has no figure by nature (no queue, no counter in the kernel).
    Why(&'static str),
}

/// The part of a reason in parentheses, for narrow cells: "no PMU in this VM".
pub fn short_reason(r: &str) -> &str {
    match (r.find('('), r.rfind(')')) {
        (Some(a), Some(b)) if b > a => &r[a + 1..b],
        _ => r,
    }
}

impl fmt::Display for Missing {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Missing::FirstSample => "first sample",
            Missing::Unreadable(what) => return write!(f, "{what} unreadable"),
            Missing::Note(n) => n,
            Missing::NoBlockDevices => "no block devices",
            Missing::NoInterfaces => "no interfaces",
            Missing::NoTcpCounters => "no counters",
            Missing::NewDevices => "no rates yet (devices new since the last sample)",
            Missing::NewInterfaces => "no rates yet (interfaces new since the last sample)",
            Missing::LoopbackOnly => "loopback only",
            Missing::NoCaptures => "no captures",
            Missing::NetlinkRefused => "netlink refused",
            Missing::NeedsRoot => "needs root",
            Missing::NoSlabErrorCounters => "the kernel keeps no slab error counters",
            Missing::NoCounterErrors => "counters have no error figures",
            Missing::CountersNotCollected => "not collected yet",
            Missing::Counters(r) => short_reason(r),
            Missing::NoCgroups => "no cgroups read",
            Missing::Checklist(na) => return na.fmt(f),
            Missing::Why(w) => w,
        })
    }
}

/// Why a cell stands where it does (shown when it is red, and for the selected row).
#[derive(Clone, Debug, PartialEq)]
pub enum Reason {
    NotAvailable(Missing),
    CpuBusy {
        pct: f64,
        crit: f64,
    },
    /// Runnable tasks against CPUs, and the PSI stall; `by_runq` when the run queue is red.
    CpuQueue {
        running: u32,
        ncpu: usize,
        psi: Option<f64>,
        by_runq: bool,
    },
    MemUsed(f64),
    MemPressure {
        swap_kbs: Option<f64>,
        majflt_s: Option<f64>,
        psi: Option<f64>,
    },
    OomKills(u64),
    /// One CPU busy while the average is low.
    PeggedCpu {
        cpu: u32,
        busy: f64,
        avg: f64,
        ncpu: usize,
    },
    /// Run-queue latency: ms tasks waited for a CPU per s, all CPUs and the worst one.
    RunqLatency {
        total_ms_s: f64,
        worst_cpu: u32,
        worst_ms_s: f64,
        warn: f64,
    },
    CpuErrors {
        mce: Option<u64>,
        mce_total: Option<u64>,
        core: Option<u64>,
        package: Option<u64>,
    },
    Steal(f64),
    MemErrors {
        ce: u64,
        ue: u64,
        ce_total: u64,
        ue_total: u64,
    },
    NumaMiss {
        node: u32,
        miss_pct: Option<f64>,
        foreign_s: f64,
    },
    SoftnetSqueeze {
        per_s: f64,
        cpu: Option<u32>,
    },
    SoftnetDrops {
        n: u64,
        cpu: Option<u32>,
    },
    FileHandles {
        used: u64,
        max: u64,
    },
    Tasks {
        used: u64,
        threads_max: Option<u64>,
        pid_max: Option<u64>,
    },
    /// A filesystem's errors since its last fsck.
    FsErrors(u64),
    FsFull {
        mount: String,
        pct: f64,
    },
    FsInodes {
        mount: String,
        pct: Option<f64>,
    },
    DiskBusy {
        util: f64,
        crit: f64,
    },
    /// A disk's utilization as its verdict judged it (%util, or the queue against its depth).
    DiskUse(DiskVerdict, DiskBands),
    /// A disk's saturation as its verdict judged it (queued, or beyond its queue depth).
    DiskWaiting(DiskVerdict, DiskBands),
    DiskQueue {
        aqu: f64,
        w_await_ms: f64,
    },
    IoStall(f64),
    IoErrors(u64),
    OtherDiskErrors(u64),
    NicUtil {
        pct: f64,
        speed_mbps: Option<u64>,
        duplex: Option<Duplex>,
    },
    NicDrops {
        rx_s: f64,
        tx_s: f64,
        fifo_s: f64,
    },
    NicErrors {
        rx_s: f64,
        tx_s: f64,
        frame_s: f64,
        carrier_s: f64,
        colls_s: f64,
        /// The driver's detailed counters that moved (rx_missed, rx_crc…), per second.
        detail: Vec<(&'static str, f64)>,
    },
    MoreInterfaces(usize),
    MoreDrops {
        drops_s: f64,
        more: usize,
    },
    MoreErrors {
        errors_s: f64,
        more: usize,
    },
    TcpEstab(u64),
    TcpRetrans {
        segs_s: f64,
        pct: f64,
        /// The peer with the most traced retransmits of the interval, and their count
        /// (`None` when the TCP tracepoints were not traced).
        worst: Option<(SocketAddr, u64)>,
    },
    TcpListen(Option<f64>),
    TcpErrors {
        resets_s: f64,
        inerr_s: f64,
        /// The remote address with the most traced resets (sent and received).
        worst: Option<(IpAddr, u64)>,
    },
    ListenQueue {
        local: SocketAddr,
        queue: u32,
        backlog: u32,
        zero_window: u32,
    },
    SockRetrans {
        socks: u32,
        segs: u64,
    },
    UnreclaimGrowth(Option<f64>),
    CacheGrowth {
        cache: String,
        growth_bps: Option<f64>,
    },
    /// Instructions per cycle; the cell turns yellow below `IPC_LOW` (cycles stalled).
    Ipc(f64),
    CgroupUse(CgUse),
    CgroupStall(CgStall),
    CgroupEvents(CgEvents),
    MoreCgroups(usize),
}

/// One of a verdict's U, S and E cells.
#[derive(Clone, Debug, PartialEq)]
pub struct Cell {
    pub figure: Figure,
    pub level: Level,
    pub reason: Option<Reason>,
}

impl Cell {
    fn new(figure: Figure, level: Level, reason: Option<Reason>) -> Cell {
        Cell {
            figure,
            level,
            reason,
        }
    }

    /// `n/a`, with why.
    pub fn na(why: Missing) -> Cell {
        Cell::new(
            Figure::NotAvailable,
            Level::Unknown,
            Some(Reason::NotAvailable(why)),
        )
    }

    /// A cell with nothing to show and nothing to say.
    fn empty(figure: Figure) -> Cell {
        Cell::new(figure, Level::Unknown, None)
    }
}

/// One resource's row of the overview.
#[derive(Clone, Debug, PartialEq)]
pub struct Verdict {
    pub resource: Resource,
    /// The pane to open for it (`PaneId::name`).
    pub pane: &'static str,
    pub u: Cell,
    pub s: Cell,
    pub e: Cell,
}

impl Verdict {
    pub(super) fn new(resource: Resource, u: Cell, s: Cell, e: Cell) -> Verdict {
        Verdict {
            pane: resource.kind.pane(),
            resource,
            u,
            s,
            e,
        }
    }

    /// A verdict whose three cells are n/a for the same reason.
    pub(super) fn na(resource: Resource, why: Missing) -> Verdict {
        Verdict::new(
            resource,
            Cell::na(why.clone()),
            Cell::na(why.clone()),
            Cell::na(why),
        )
    }

    pub fn cells(&self) -> [&Cell; 3] {
        [&self.u, &self.s, &self.e]
    }
}

fn worst(levels: &[Level]) -> Level {
    levels.iter().copied().max().unwrap_or(Level::Unknown)
}

/// Every resource's verdict for one snapshot, in the overview's order. `Snapshot::verdicts`
/// keeps the result; this derives it afresh.
pub fn judge(s: &Snapshot, th: &Thresholds) -> Vec<Verdict> {
    judge_shown(s, th, Shown::default())
}

/// How many rows each group of like resources may take: a group with more members than
/// rows lists one fewer by name and sums up the rest in its last row (one row: all of them).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Shown {
    pub disks: usize,
    pub fs: usize,
    pub nics: usize,
    pub numa: usize,
}

impl Default for Shown {
    fn default() -> Self {
        Shown {
            disks: DISK_SHOWN + 1,
            fs: FS_SHOWN + 1,
            nics: NIC_SHOWN + 1,
            numa: usize::MAX,
        }
    }
}

type Group = fn(&Snapshot, &Thresholds, usize) -> Vec<Verdict>;

/// The groups in the order they are given spare rows.
const GROUPS: [Group; 4] = [disks, filesystems, nics, numa];

fn judge_shown(s: &Snapshot, th: &Thresholds, n: Shown) -> Vec<Verdict> {
    let mut v = vec![cpu(s, th), steal(s, th), memory(s, th)];
    v.extend(numa(s, th, n.numa));
    v.extend(disks(s, th, n.disks));
    v.extend(filesystems(s, th, n.fs));
    v.extend(nics(s, th, n.nics));
    v.push(softnet(s, th));
    v.push(tcp(s, th));
    v.push(sockets(s));
    v.push(slab_verdict(s));
    v.push(counters(s));
    v.push(files(s, th));
    v.push(tasks(s, th));
    v.extend(super::cgroup_verdict::cgroups(s, th));
    v
}

/// The verdicts in at most `rows` rows where they can be folded that far (every resource
/// keeps at least one row): the groups of disks, filesystems, interfaces and NUMA nodes
/// share the rows the single resources leave, one more row each in turn.
pub fn judge_fit(s: &Snapshot, th: &Thresholds, rows: usize) -> Vec<Verdict> {
    // Each group's length with every member listed.
    let want: Vec<usize> = GROUPS.iter().map(|g| g(s, th, usize::MAX).len()).collect();
    let all = judge_shown(
        s,
        th,
        Shown {
            disks: usize::MAX,
            fs: usize::MAX,
            nics: usize::MAX,
            numa: usize::MAX,
        },
    );
    if all.len() <= rows {
        return all;
    }
    let fixed = all.len() - want.iter().sum::<usize>();
    let mut budget = rows.saturating_sub(fixed);
    let mut got: Vec<usize> = want.iter().map(|&w| w.min(1)).collect();
    budget = budget.saturating_sub(got.iter().sum::<usize>());
    while budget > 0 {
        let mut gave = false;
        for (g, w) in got.iter_mut().zip(&want) {
            if budget > 0 && *g < *w {
                *g += 1;
                budget -= 1;
                gave = true;
            }
        }
        if !gave {
            break;
        }
    }
    judge_shown(
        s,
        th,
        Shown {
            disks: got[0].max(1),
            fs: got[1].max(1),
            nics: got[2].max(1),
            numa: got[3].max(1),
        },
    )
}

/// How many of `n` members are listed by name in `rows` rows.
fn named(n: usize, rows: usize) -> usize {
    if n <= rows { n } else { rows.saturating_sub(1) }
}

/// The label of the row that sums up the members not listed.
fn rest_of(kind: Kind, named: usize, rest: usize) -> Resource {
    if named == 0 {
        Resource::new(kind, Instance::Count(rest))
    } else {
        Resource::new(kind, Instance::Rest(rest))
    }
}

/// A checklist figure's reason as a cell's.
fn checklist_na(na: &Na) -> Missing {
    match na {
        Na::FirstSample => Missing::FirstSample,
        other => Missing::Checklist(other.clone()),
    }
}

fn na_cell<T>(a: &Avail<T>) -> Cell {
    match a {
        Err(na) => Cell::na(checklist_na(na)),
        Ok(_) => Cell::empty(Figure::Blank),
    }
}

fn cpu(s: &Snapshot, th: &Thresholds) -> Verdict {
    let busy = s.cpu.total.map(|c| c.busy());
    let ck = &s.checklist;
    // One CPU pegged while the average is low: the average alone would read green.
    let u = match (busy, ck.pegged(th)) {
        (Some(avg), Some((b, level))) => Cell::new(
            Figure::CpuBusyPegged {
                avg,
                cpu: b.cpu,
                busy: b.busy_pct,
            },
            level,
            Some(Reason::PeggedCpu {
                cpu: b.cpu,
                busy: b.busy_pct,
                avg,
                ncpu: b.ncpu,
            }),
        ),
        _ => Cell::new(
            Figure::CpuBusy(busy),
            Level::of(busy, th.cpu_util.warn, th.cpu_util.crit),
            busy.map(|pct| Reason::CpuBusy {
                pct,
                crit: th.cpu_util.crit,
            }),
        ),
    };
    let ncpu = s.cpu.ncpu;
    // procs_running includes the tasks on CPU: beyond one per CPU they wait.
    let runq = f64::from(s.cur.cpu.procs_running) / ncpu as f64;
    let psi = s.psi_cpu_some;
    let runq_level = Level::of(Some(runq), th.cpu_runq.warn, th.cpu_runq.crit);
    let psi_level = Level::of(psi, th.psi_some.warn, th.psi_some.crit);
    let stall = match psi {
        Some(p) => Stall::Pct(p),
        None if s.cur.cpu.psi.is_none() => Stall::Unreadable,
        None => Stall::NoInterval,
    };
    let lat = ck.runq.as_ref().ok();
    let lat_level = ck.runq_level(th);
    let queue_level = worst(&[runq_level, psi_level]);
    let sat = Cell::new(
        Figure::CpuRunq {
            per_cpu: runq,
            latency_ms_s: lat.map(|r| r.total_ms_s),
            psi: stall,
        },
        queue_level.max(lat_level),
        Some(match lat {
            Some(r) if lat_level > queue_level => Reason::RunqLatency {
                total_ms_s: r.total_ms_s,
                worst_cpu: r.worst.0,
                worst_ms_s: r.worst.1,
                warn: th.runq_latency_ms_s.warn,
            },
            _ => Reason::CpuQueue {
                running: s.cur.cpu.procs_running,
                ncpu,
                psi,
                by_runq: runq_level == Level::Crit,
            },
        }),
    );
    Verdict::new(
        Resource::new(Kind::Cpu, Instance::Count(ncpu)),
        u,
        sat,
        cpu_errors(s, th),
    )
}

/// Machine-check exceptions and thermal-throttle events; n/a only when neither is read.
fn cpu_errors(s: &Snapshot, th: &Thresholds) -> Cell {
    let ck = &s.checklist;
    let (hw, thr) = (ck.hw.as_ref().ok(), ck.throttle.as_ref().ok());
    if hw.is_none() && thr.is_none() {
        return na_cell(&ck.hw);
    }
    let mce = hw.and_then(|h| h.mce);
    let throttle = thr.map(|t| t.core.saturating_add(t.package));
    Cell::new(
        Figure::CpuErrors { mce, throttle },
        ck.mce_level(th).max(ck.throttle_level(th)),
        Some(Reason::CpuErrors {
            mce,
            mce_total: hw.and_then(|h| h.mce_total),
            core: thr.map(|t| t.core),
            package: thr.map(|t| t.package),
        }),
    )
}

/// Steal as its own row: time the hypervisor gave to others is capacity lost, not work.
fn steal(s: &Snapshot, th: &Thresholds) -> Verdict {
    let ck = &s.checklist;
    let u = match &ck.steal_pct {
        Ok(p) => Cell::new(
            Figure::Steal(*p),
            ck.steal_level(th),
            Some(Reason::Steal(*p)),
        ),
        Err(na) => Cell::na(checklist_na(na)),
    };
    Verdict::new(
        Resource::new(Kind::Steal, Instance::All),
        u,
        Cell::empty(Figure::Blank),
        Cell::empty(Figure::Blank),
    )
}

fn memory(s: &Snapshot, th: &Thresholds) -> Verdict {
    let used = s.free.and_then(|f| f.used_pct());
    let u = match used {
        Some(p) => Cell::new(
            Figure::MemUsed(p),
            Level::of(used, th.mem_util.warn, th.mem_util.crit),
            Some(Reason::MemUsed(p)),
        ),
        None => Cell::na(Missing::Unreadable("meminfo")),
    };
    let m = &s.mem;
    let swap = m.si_kbs.zip(m.so_kbs).map(|(i, o)| i + o);
    let levels = [
        Level::of(swap, th.swap_kbs.warn, th.swap_kbs.crit),
        Level::of(m.majfault_s, th.majflt_s.warn, th.majflt_s.crit),
        Level::of(s.psi_mem_some, th.psi_some.warn, th.psi_some.crit),
    ];
    // OOM kills are saturation in the checklist (memory ran out), and always red.
    let oom = m.oom_kills;
    let oom_level = match oom {
        Some(k) if k > 0 => Level::Crit,
        _ => Level::Unknown,
    };
    let sat = Cell::new(
        Figure::MemPressure {
            swap_kbs: swap,
            majflt_s: m.majfault_s,
            pgscan_s: m.pgscan_s,
            psi: s.psi_mem_some,
            oom,
        },
        if s.has_rates() {
            worst(&levels).max(oom_level)
        } else {
            Level::Unknown
        },
        Some(match oom {
            Some(k) if k > 0 => Reason::OomKills(k),
            _ => Reason::MemPressure {
                swap_kbs: swap,
                majflt_s: m.majfault_s,
                psi: s.psi_mem_some,
            },
        }),
    );
    let ck = &s.checklist;
    let e = match &ck.mem_errors {
        Ok(me) => Cell::new(
            Figure::MemErrors {
                ce: me.ce,
                ue: me.ue,
            },
            ck.mem_error_level(th),
            Some(Reason::MemErrors {
                ce: me.ce,
                ue: me.ue,
                ce_total: me.ce_total,
                ue_total: me.ue_total,
            }),
        ),
        Err(na) => Cell::na(checklist_na(na)),
    };
    Verdict::new(Resource::new(Kind::Memory, Instance::All), u, sat, e)
}

/// Each NUMA node's memory used and allocation misses, on machines with two or more.
fn numa(s: &Snapshot, th: &Thresholds, rows: usize) -> Vec<Verdict> {
    if s.cur.checklist.numa_nodes < 2 {
        return Vec::new();
    }
    let nodes = match &s.checklist.numa {
        Ok(n) if !n.is_empty() => n,
        Ok(_) => return Vec::new(),
        Err(na) => {
            return vec![Verdict::na(
                Resource::new(Kind::Numa, Instance::All),
                checklist_na(na),
            )];
        }
    };
    let used_level = |p: Option<f64>| Level::of(p, th.mem_util.warn, th.mem_util.crit);
    let miss_level = |p: Option<f64>| Level::of(p, th.numa_miss_pct.warn, th.numa_miss_pct.crit);
    let k = named(nodes.len(), rows);
    let mut out: Vec<Verdict> = nodes
        .iter()
        .take(k)
        .map(|n| {
            Verdict::new(
                Resource::new(Kind::Numa, Instance::Named(n.node.to_string())),
                Cell::new(Figure::NodeUsed(n.used_pct), used_level(n.used_pct), None),
                Cell::new(
                    Figure::NumaMiss {
                        miss_pct: n.miss_pct,
                        foreign_s: n.foreign_s,
                    },
                    miss_level(n.miss_pct),
                    Some(Reason::NumaMiss {
                        node: n.node,
                        miss_pct: n.miss_pct,
                        foreign_s: n.foreign_s,
                    }),
                ),
                Cell::empty(Figure::Blank),
            )
        })
        .collect();
    let rest = &nodes[k..];
    if !rest.is_empty() {
        let used = rest.iter().filter_map(|n| n.used_pct).fold(0.0, f64::max);
        let worst = rest.iter().max_by(|a, b| {
            a.miss_pct
                .unwrap_or(0.0)
                .total_cmp(&b.miss_pct.unwrap_or(0.0))
        });
        out.push(Verdict::new(
            rest_of(Kind::Numa, k, rest.len()),
            Cell::new(Figure::UtilAtMost(used), used_level(Some(used)), None),
            match worst {
                Some(n) => Cell::new(
                    Figure::NumaMiss {
                        miss_pct: n.miss_pct,
                        foreign_s: rest.iter().map(|n| n.foreign_s).sum(),
                    },
                    miss_level(n.miss_pct),
                    Some(Reason::NumaMiss {
                        node: n.node,
                        miss_pct: n.miss_pct,
                        foreign_s: n.foreign_s,
                    }),
                ),
                None => Cell::empty(Figure::Blank),
            },
            Cell::empty(Figure::Blank),
        ));
    }
    out
}

/// Filesystem capacity: the fullest few mounts, worst first, then one row for the rest.
fn filesystems(s: &Snapshot, th: &Thresholds, shown_rows: usize) -> Vec<Verdict> {
    let mut fs: Vec<_> = s
        .cur
        .fs
        .iter()
        .filter_map(|f| Some((f.used_pct()?, f)))
        .collect();
    fs.sort_by(|a, b| b.0.total_cmp(&a.0));
    let k = named(fs.len(), shown_rows);
    let ck = &s.checklist;
    let mut rows: Vec<Verdict> = fs
        .iter()
        .take(k)
        .map(|&(pct, f)| {
            let ino = f.inodes_used_pct();
            let e = match fs_error_count(ck, f) {
                Ok(n) => Cell::new(
                    Figure::FsErrors(n),
                    Level::of(Some(n as f64), th.fs_errors.warn, th.fs_errors.crit),
                    Some(Reason::FsErrors(n)),
                ),
                Err(na) => Cell::na(checklist_na(&na)),
            };
            Verdict::new(
                Resource::new(Kind::Filesystem, Instance::Named(f.mount.clone())),
                Cell::new(
                    Figure::FsUsed {
                        pct,
                        total_bytes: f.total_bytes,
                    },
                    Level::of(Some(pct), th.fs_util.warn, th.fs_util.crit),
                    Some(Reason::FsFull {
                        mount: f.mount.clone(),
                        pct,
                    }),
                ),
                Cell::new(
                    Figure::FsInodes(ino),
                    Level::of(ino, th.fs_util.warn, th.fs_util.crit),
                    Some(Reason::FsInodes {
                        mount: f.mount.clone(),
                        pct: ino,
                    }),
                ),
                e,
            )
        })
        .collect();
    if fs.len() > k {
        let rest = &fs[k..];
        // The errors of the mounts not listed, summed over those that keep a count.
        let counts: Vec<u64> = rest
            .iter()
            .filter_map(|(_, f)| fs_error_count(ck, f).ok())
            .collect();
        let errs: u64 = counts.iter().sum();
        let worst = rest.iter().map(|(p, _)| *p).fold(0.0, f64::max);
        rows.push(Verdict::new(
            rest_of(Kind::Filesystem, k, rest.len()),
            Cell::new(
                Figure::FsRest(worst),
                Level::of(Some(worst), th.fs_util.warn, th.fs_util.crit),
                None,
            ),
            Cell::empty(Figure::Blank),
            if counts.is_empty() {
                Cell::empty(Figure::Blank)
            } else {
                Cell::new(
                    Figure::FsErrors(errs),
                    Level::of(Some(errs as f64), th.fs_errors.warn, th.fs_errors.crit),
                    None,
                )
            },
        ));
    }
    rows
}

/// The worst few disks (by level, then %util), then one row summarising the rest.
fn disks(s: &Snapshot, th: &Thresholds, shown_rows: usize) -> Vec<Verdict> {
    let all = |i| Resource::new(Kind::Disk, i);
    if s.cur.disk.devices.is_empty() {
        let why = match s.cur.note("disk") {
            Some(n) => Missing::Note(n.to_string()),
            None => Missing::NoBlockDevices,
        };
        return vec![Verdict::na(all(Instance::All), why)];
    }
    if !s.has_rates() {
        let n = s.cur.disk.devices.iter().filter(|d| !d.partition).count();
        return vec![Verdict::na(all(Instance::Count(n)), Missing::FirstSample)];
    }
    let psi = s.disk.psi_some;
    let psi_level = Level::of(psi, th.psi_some.warn, th.psi_some.crit);
    let mut devs: Vec<&DiskDev> = s.disk.devices.iter().filter(|d| !d.partition).collect();
    if devs.is_empty() {
        return vec![Verdict::na(all(Instance::All), Missing::NewDevices)];
    }
    // The device's own verdict (model::disk::verdict): %util for a spinning disk, the
    // queue against its depth for one that serves requests in parallel.
    let bands = DiskBands {
        util: (th.disk_util.warn, th.disk_util.crit),
        queue: (th.disk_aqu.warn, th.disk_aqu.crit),
    };
    let grade = |g: Grade| match g {
        Grade::Ok => Level::Ok,
        Grade::Warn => Level::Warn,
        Grade::Crit => Level::Crit,
    };
    // Errors: the block tracepoints' count while tracing runs (every device has one),
    // else SCSI's ioerr_cnt where the device has it.
    let ioerr = |d: &DiskDev| s.traced_errors(&d.name).or(d.ioerr);
    // Worst first: a device with errors or a red figure before a merely busy one.
    let level = |d: &DiskDev| {
        let e = if ioerr(d).unwrap_or(0) > 0 {
            Level::Crit
        } else {
            Level::Ok
        };
        let v = verdict(d, &bands);
        e.max(grade(v.u)).max(grade(v.s))
    };
    let u_pct = |d: &DiskDev| verdict(d, &bands).u_pct;
    // Worst first; among equals a real disk before a loop, ram or zram device (idle ones
    // would otherwise take the rows of the disks that matter), then the busier; the name
    // breaks the last ties so the order is stable from one refresh to the next.
    let real = |d: &DiskDev| !super::disk::is_virtual(&d.name);
    // Then, equally busy, a disk at the bottom of a stack before the dm or md device built
    // on it (which shows the same I/O again).
    let stacked = |d: &DiskDev| s.checklist.stacking.is_stacked(&d.name);
    devs.sort_by(|a, b| {
        (level(b), real(b))
            .cmp(&(level(a), real(a)))
            .then_with(|| u_pct(b).total_cmp(&u_pct(a)))
            .then_with(|| stacked(a).cmp(&stacked(b)))
            .then_with(|| a.name.cmp(&b.name))
    });
    let k = named(devs.len(), shown_rows);
    let mut rows: Vec<Verdict> = devs
        .iter()
        .take(k)
        .enumerate()
        .map(|(i, d)| {
            let v = verdict(d, &bands);
            let (u_level, q_level) = (grade(v.u), grade(v.s));
            // PSI io is system-wide: it colours the first (busiest) disk only.
            let (psi, pl) = if i == 0 {
                (psi, psi_level)
            } else {
                (None, Level::Unknown)
            };
            let e = match ioerr(d) {
                Some(n) => Cell::new(
                    Figure::IoErrors(n),
                    if n > 0 { Level::Crit } else { Level::Ok },
                    Some(Reason::IoErrors(n)),
                ),
                None => Cell::empty(Figure::NotAvailable),
            };
            let u_figure = match v.basis {
                Basis::Util => Figure::DiskUtil(d.util),
                Basis::Queue { depth } => Figure::DiskQueueShare {
                    pct: v.u_pct,
                    depth,
                    util: d.util,
                },
            };
            Verdict::new(
                all(Instance::Named(d.name.clone())),
                Cell::new(u_figure, u_level, Some(Reason::DiskUse(v, bands))),
                Cell::new(
                    Figure::DiskQueue { aqu: d.aqu_sz, psi },
                    q_level.max(pl),
                    Some(if q_level == Level::Crit {
                        Reason::DiskWaiting(v, bands)
                    } else {
                        Reason::IoStall(s.disk.psi_some.unwrap_or(0.0))
                    }),
                ),
                e,
            )
        })
        .collect();
    if devs.len() > k {
        let rest = &devs[k..];
        let max_util = rest.iter().map(|d| u_pct(d)).fold(0.0, f64::max);
        let max_aqu = rest.iter().map(|d| d.aqu_sz).fold(0.0, f64::max);
        let worst = |f: fn(&DiskVerdict) -> Grade| {
            rest.iter()
                .map(|d| grade(f(&verdict(d, &bands))))
                .max()
                .unwrap_or(Level::Unknown)
        };
        // A stacked device (dm, md) passes its I/O to its members: only the bottom of each
        // stack counts in a sum.
        let stack = &s.checklist.stacking;
        let errs: u64 = rest
            .iter()
            .filter(|d| stack.counts_in_totals(&d.name, d.partition))
            .filter_map(|d| ioerr(d))
            .sum();
        rows.push(Verdict::new(
            rest_of(Kind::Disk, k, rest.len()),
            Cell::new(Figure::UtilAtMost(max_util), worst(|v| v.u), None),
            Cell::new(Figure::DiskQueueAtMost(max_aqu), worst(|v| v.s), None),
            Cell::new(
                if rest.iter().any(|d| ioerr(d).is_some()) {
                    Figure::IoErrors(errs)
                } else {
                    Figure::NotAvailable
                },
                if errs > 0 {
                    Level::Crit
                } else {
                    Level::Unknown
                },
                (errs > 0).then_some(Reason::OtherDiskErrors(errs)),
            ),
        ));
    }
    rows
}

/// The worst few interfaces (loopback left to the pane), then a summary of the rest.
fn nics(s: &Snapshot, th: &Thresholds, shown_rows: usize) -> Vec<Verdict> {
    let all = |i| Resource::new(Kind::Nic, i);
    if s.cur.net.ifaces.is_empty() || !s.has_rates() {
        let why = if !s.cur.net.ifaces.is_empty() {
            Missing::FirstSample
        } else {
            match s.cur.note("net") {
                Some(n) => Missing::Note(n.to_string()),
                None => Missing::NoInterfaces,
            }
        };
        return vec![Verdict::na(all(Instance::All), why)];
    }
    // Loopback never saturates a link.
    let mut nics: Vec<&NicFigures> = s.net.ifaces.iter().filter(|n| n.name != "lo").collect();
    if nics.is_empty() {
        let why = if s.net.ifaces.is_empty() {
            Missing::NewInterfaces
        } else {
            Missing::LoopbackOnly
        };
        return vec![Verdict::na(all(Instance::All), why)];
    }
    let level = |n: &NicFigures| {
        [
            Level::of(n.util, th.nic_util.warn, th.nic_util.crit),
            Level::of(Some(n.drops_s()), th.nic_drops_s.warn, th.nic_drops_s.crit),
            Level::of(
                Some(n.errors_s()),
                th.nic_errors_s.warn,
                th.nic_errors_s.crit,
            ),
        ]
        .into_iter()
        .max()
        .unwrap_or(Level::Unknown)
    };
    // Worst first; among equals an interface that is up before one that is down (a DOWN
    // ifb or spare port says nothing about the host's traffic), then the busier; the name
    // breaks ties so the order is stable from one refresh to the next.
    let up = |n: &NicFigures| n.operstate.as_deref() != Some("down");
    let score = |n: &NicFigures| (level(n), up(n), (n.rxkb_s.max(n.txkb_s) * 1000.0) as u64);
    nics.sort_by(|a, b| score(b).cmp(&score(a)).then_with(|| a.name.cmp(&b.name)));
    let drops_level = |d: f64| Level::of(Some(d), th.nic_drops_s.warn, th.nic_drops_s.crit);
    let errors_level = |e: f64| Level::of(Some(e), th.nic_errors_s.warn, th.nic_errors_s.crit);
    let k = named(nics.len(), shown_rows);
    let detail = s.checklist.nic_errors.as_ref().ok();
    let mut rows: Vec<Verdict> = nics
        .iter()
        .take(k)
        .map(|n| {
            let (drops, errs) = (n.drops_s(), n.errors_s());
            let detail = detail
                .and_then(|d| d.iter().find(|e| e.iface == n.name))
                .map(NicErrorRates::moved)
                .unwrap_or_default();
            Verdict::new(
                all(Instance::Named(n.name.clone())),
                match n.util {
                    Some(u) => Cell::new(
                        Figure::NicUtil(u),
                        Level::of(Some(u), th.nic_util.warn, th.nic_util.crit),
                        Some(Reason::NicUtil {
                            pct: u,
                            speed_mbps: n.speed_mbps,
                            duplex: n.duplex,
                        }),
                    ),
                    None => Cell::empty(Figure::NicTraffic((n.rxkb_s + n.txkb_s) * 1024.0)),
                },
                Cell::new(
                    Figure::Drops(drops),
                    drops_level(drops),
                    Some(Reason::NicDrops {
                        rx_s: n.rxdrop_s,
                        tx_s: n.txdrop_s,
                        fifo_s: n.rxfifo_s + n.txfifo_s,
                    }),
                ),
                Cell::new(
                    Figure::Errors(errs),
                    errors_level(errs),
                    Some(Reason::NicErrors {
                        rx_s: n.rxerr_s,
                        tx_s: n.txerr_s,
                        frame_s: n.rxfram_s,
                        carrier_s: n.txcarr_s,
                        colls_s: n.coll_s,
                        detail,
                    }),
                ),
            )
        })
        .collect();
    if nics.len() > k {
        let rest = &nics[k..];
        let more = rest.len();
        let max_util = rest
            .iter()
            .filter_map(|n| n.util)
            .fold(None, |a: Option<f64>, u| Some(a.map_or(u, |a| a.max(u))));
        let drops: f64 = rest.iter().map(|n| n.drops_s()).sum();
        let errs: f64 = rest.iter().map(|n| n.errors_s()).sum();
        rows.push(Verdict::new(
            rest_of(Kind::Nic, k, more),
            Cell::new(
                Figure::NicUtilAtMost(max_util),
                Level::of(max_util, th.nic_util.warn, th.nic_util.crit),
                Some(Reason::MoreInterfaces(more)),
            ),
            Cell::new(
                Figure::Drops(drops),
                drops_level(drops),
                Some(Reason::MoreDrops {
                    drops_s: drops,
                    more,
                }),
            ),
            Cell::new(
                Figure::Errors(errs),
                errors_level(errs),
                Some(Reason::MoreErrors {
                    errors_s: errs,
                    more,
                }),
            ),
        ));
    }
    rows
}

/// The softnet backlog: packets processed (U), time squeezes (S), drops (E) — drops no
/// interface counter shows.
fn softnet(s: &Snapshot, th: &Thresholds) -> Verdict {
    let res = Resource::new(Kind::Softnet, Instance::All);
    let ck = &s.checklist;
    let sn = match &ck.softnet {
        Ok(sn) => sn,
        Err(na) => return Verdict::na(res, checklist_na(na)),
    };
    // The CPU named is the one with the most drops, else squeezes.
    let cpu = sn.worst_cpu;
    Verdict::new(
        res,
        Cell::new(Figure::SoftnetRate(sn.processed_s), Level::Ok, None),
        Cell::new(
            Figure::Squeeze(sn.squeezed_s),
            ck.softnet_squeeze_level(th),
            Some(Reason::SoftnetSqueeze {
                per_s: sn.squeezed_s,
                cpu,
            }),
        ),
        Cell::new(
            Figure::SoftnetDrops(sn.dropped),
            ck.softnet_drop_level(th),
            Some(Reason::SoftnetDrops { n: sn.dropped, cpu }),
        ),
    )
}

/// System-wide file handles against fs.file-max. Nothing queues for a handle (an open past
/// the limit fails at once) and the kernel counts no such failure.
fn files(s: &Snapshot, th: &Thresholds) -> Verdict {
    let ck = &s.checklist;
    let u = match &ck.files {
        Ok(c) => Cell::new(
            Figure::Capacity {
                pct: c.pct,
                max: c.max,
            },
            ck.files_level(th),
            Some(Reason::FileHandles {
                used: c.used,
                max: c.max,
            }),
        ),
        Err(na) => Cell::na(checklist_na(na)),
    };
    Verdict::new(
        Resource::new(Kind::Files, Instance::All),
        u,
        Cell::na(Missing::Why(
            "no queue: an open past fs.file-max fails at once",
        )),
        Cell::na(Missing::Why(
            "ENFILE/EMFILE failures are not counted by the kernel",
        )),
    )
}

/// Tasks against the nearer of kernel.threads-max and kernel.pid_max (fork fails there).
fn tasks(s: &Snapshot, th: &Thresholds) -> Verdict {
    let ck = &s.checklist;
    let u = match &ck.tasks {
        Ok(t) => match t.worst() {
            Some(c) => Cell::new(
                Figure::Capacity {
                    pct: c.pct,
                    max: c.max,
                },
                ck.tasks_level(th),
                Some(Reason::Tasks {
                    used: c.used,
                    threads_max: t.threads.as_ref().ok().map(|c| c.max),
                    pid_max: t.pids.as_ref().ok().map(|c| c.max),
                }),
            ),
            None => na_cell(&t.threads),
        },
        Err(na) => Cell::na(checklist_na(na)),
    };
    Verdict::new(
        Resource::new(Kind::Tasks, Instance::All),
        u,
        Cell::na(Missing::Why("a fork waits only for memory (see Memory S)")),
        Cell::na(Missing::Why(
            "failed forks (EAGAIN) are not counted by the kernel",
        )),
    )
}

/// The TCP stack's counters: connections, retransmits and listen drops, resets and errors.
fn tcp(s: &Snapshot, th: &Thresholds) -> Verdict {
    let res = Resource::new(Kind::Tcp, Instance::All);
    let Some(tc) = s.net.tcp else {
        let why = if s.cur.net.tcp.is_some() {
            Missing::FirstSample
        } else {
            match s.cur.note("net.tcp") {
                Some(n) => Missing::Note(n.to_string()),
                None => Missing::NoTcpCounters,
            }
        };
        return Verdict::na(res, why);
    };
    let retrans_pct = if tc.oseg_s > 0.0 {
        tc.retrans_s * 100.0 / tc.oseg_s
    } else {
        0.0
    };
    let listen = s
        .net
        .tcp_ext
        .map(|x| x.listen_overflows_s + x.listen_drops_s);
    let r_level = Level::of(
        Some(retrans_pct),
        th.tcp_retrans_pct.warn,
        th.tcp_retrans_pct.crit,
    );
    let l_level = Level::of(listen, th.tcp_listen_s.warn, th.tcp_listen_s.crit);
    let errs = tc.estres_s + tc.isegerr_s;
    let traced = s.tcp_traced();
    let worst_retrans = traced
        .and_then(|t| t.worst_retrans())
        .map(|p| (p.remote, p.count));
    let worst_resets = traced
        .and_then(|t| t.worst_resets())
        .map(|p| (p.addr, p.total()));
    Verdict::new(
        res,
        Cell::new(
            Figure::TcpEstab(tc.curr_estab),
            Level::of(
                Some(tc.curr_estab as f64),
                th.tcp_estab.warn,
                th.tcp_estab.crit,
            ),
            Some(Reason::TcpEstab(tc.curr_estab)),
        ),
        Cell::new(
            Figure::TcpSaturation {
                retrans_pct,
                listen_s: listen,
            },
            r_level.max(l_level),
            Some(if r_level >= l_level {
                Reason::TcpRetrans {
                    segs_s: tc.retrans_s,
                    pct: retrans_pct,
                    worst: worst_retrans,
                }
            } else {
                Reason::TcpListen(listen)
            }),
        ),
        Cell::new(
            Figure::TcpErrors {
                resets_s: tc.estres_s,
                inerr_s: tc.isegerr_s,
            },
            Level::of(Some(errs), th.tcp_errors_s.warn, th.tcp_errors_s.crit),
            Some(Reason::TcpErrors {
                resets_s: tc.estres_s,
                inerr_s: tc.isegerr_s,
                worst: worst_resets,
            }),
        ),
    )
}

/// The sockets themselves: listen queues near their backlog and zero windows (saturation),
/// sockets retransmitting in the interval (errors). The stack-wide counters are `tcp`'s.
fn sockets(s: &Snapshot) -> Verdict {
    let res = Resource::new(Kind::TcpSockets, Instance::All);
    let ss = &s.cur.sockets;
    let f = &s.sockets;
    if let Some(e) = &ss.error
        && ss.tcp.is_empty()
    {
        let why = if e.contains("fixture") {
            Missing::NoCaptures
        } else {
            Missing::NetlinkRefused
        };
        return Verdict::na(res, why);
    }
    let estab = f.tcp_by_state[usize::from(TCP_ESTABLISHED)];
    let u = Cell::new(
        Figure::SockTraffic {
            estab,
            bytes_s: f.tx_bps.zip(f.rx_bps).map(|(t, r)| t + r),
        },
        if s.has_rates() {
            Level::Ok
        } else {
            Level::Unknown
        },
        None,
    );
    let worst = f.listen_worst.as_ref();
    let worst_pct = worst.map(|w| w.pct());
    let lq_level = Level::of(worst_pct, LISTEN_WARN_PCT, LISTEN_NEAR_FULL_PCT);
    let zw_level = if f.zero_window > 0 {
        Level::Warn
    } else {
        Level::Ok
    };
    let sat = Cell::new(
        Figure::SockQueues {
            worst_pct,
            near_full: f.listen_near_full,
            zero_window: f.zero_window,
            partial: ss.partial,
        },
        lq_level.max(zw_level),
        worst.map(|w| Reason::ListenQueue {
            local: w.local,
            queue: w.queue,
            backlog: w.backlog,
            zero_window: f.zero_window,
        }),
    );
    let e = match (f.retrans_sockets, f.retrans_segs) {
        (Some(n), Some(segs)) => Cell::new(
            Figure::SockRetrans(n),
            if n >= RETRANS_SOCKS_CRIT {
                Level::Crit
            } else if n > 0 {
                Level::Warn
            } else {
                Level::Ok
            },
            Some(Reason::SockRetrans { socks: n, segs }),
        ),
        _ => Cell::empty(Figure::Pending),
    };
    Verdict::new(res, u, sat, e)
}

/// SUnreclaim and its growth (a leak is steady growth), and the fastest-growing cache.
fn slab_verdict(s: &Snapshot) -> Verdict {
    let res = Resource::new(Kind::Slab, Instance::All);
    let Some(totals) = s.slab.totals else {
        let why = if slab::denied(&s.cur) {
            Missing::NeedsRoot
        } else {
            Missing::Unreadable("slabinfo")
        };
        return Verdict::na(res, why);
    };
    let (warn, crit) = (slab::GROWTH_WARN, slab::GROWTH_CRIT);
    let u = match slab::unreclaim(s) {
        Some((bytes, growth)) => Cell::new(
            Figure::SlabUnreclaim {
                bytes,
                growth_bps: growth,
            },
            Level::of(growth, warn, crit),
            Some(Reason::UnreclaimGrowth(growth)),
        ),
        None => Cell::na(Missing::Unreadable("meminfo")),
    };
    let caches = s.slab_caches();
    let top = caches
        .iter()
        .filter(|c| c.growth_bps.is_some_and(|g| g > 0.0))
        .max_by(|a, b| slab::cmp_growth(a.growth_bps, b.growth_bps));
    let used = if totals.total_bytes > 0 {
        totals.active_bytes as f64 * 100.0 / totals.total_bytes as f64
    } else {
        0.0
    };
    let sat = Cell::new(
        match top {
            Some(c) => Figure::SlabTopCache {
                objs_used_pct: used,
                cache: c.cache.name.clone(),
                growth_bps: c.growth_bps,
            },
            None => Figure::SlabObjsUsed(used),
        },
        Level::of(top.and_then(|c| c.growth_bps), warn, crit),
        top.map(|c| Reason::CacheGrowth {
            cache: c.cache.name.clone(),
            growth_bps: c.growth_bps,
        }),
    );
    Verdict::new(res, u, sat, Cell::na(Missing::NoSlabErrorCounters))
}

/// Hardware counters: cycles as utilization, IPC as a saturation hint (low IPC means
/// stalled cycles).
fn counters(s: &Snapshot) -> Verdict {
    let res = Resource::new(Kind::CpuCounters, Instance::All);
    let p = &s.cur.perf;
    let tot: &Rates = &s.perf.total;
    let hw_why = p.hw_reason.as_ref().map(|r| Missing::Counters(r.clone()));
    let (u, sat) = if s.perf.cpus.is_empty() {
        let why = match &p.system_reason {
            Some(r) => Missing::Counters(r.clone()),
            None => Missing::CountersNotCollected,
        };
        (Cell::na(why.clone()), Cell::na(why))
    } else {
        let u = match (tot.get(Ev::Cycles), &hw_why) {
            (Some(c), _) => Cell::new(
                Figure::Gcycles {
                    per_s: c,
                    scaled: tot.scaled,
                },
                Level::Ok,
                None,
            ),
            (None, Some(r)) => Cell::na(r.clone()),
            (None, None) => Cell::empty(Figure::Pending),
        };
        let sat = match (tot.ipc(), &hw_why) {
            (Some(i), _) => Cell::new(
                Figure::Ipc {
                    ipc: i,
                    scaled: tot.scaled,
                },
                if i < IPC_LOW { Level::Warn } else { Level::Ok },
                Some(Reason::Ipc(i)),
            ),
            (None, Some(r)) => Cell::na(r.clone()),
            (None, None) => Cell::empty(Figure::IpcPending),
        };
        (u, sat)
    };
    Verdict::new(res, u, sat, Cell::na(Missing::NoCounterErrors))
}
