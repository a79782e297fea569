//! The OpenMetrics exposition of the latest snapshot, through prometheus-client (which does
//! the text format and the escaping of label values). Kernel counters are exported as
//! counters that only ever go up within this process: each update adds the delta since the
//! previous sample, and a counter the kernel reset adds nothing.

use std::collections::HashMap;
use std::sync::atomic::AtomicU64;

use prometheus_client::encoding::text::encode;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::{Registry, Unit};

use crate::model::disk::step;
use crate::model::sockets::state_name;
use crate::model::{CpuTimes, Snapshot, TaskRate, delta};
use crate::widgets::text::sanitize;

type Labels = Vec<(String, String)>;
type FGauge = Gauge<f64, AtomicU64>;
type FCounter = Counter<f64, AtomicU64>;

pub const CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// Every series usetop exports, registered once.
pub struct Exporter {
    registry: Registry,
    cpu_seconds: Family<Labels, FCounter>,
    cpu_util: FGauge,
    cpu_count: Gauge,
    load: Family<Labels, FGauge>,
    procs_running: Gauge,
    procs_blocked: Gauge,
    processes: Gauge,
    ctxt: Counter,
    intr: Counter,
    forks: Counter,
    mem: Family<Labels, Gauge>,
    mem_total: Gauge,
    mem_available: Gauge,
    mem_used: Gauge,
    swap_total: Gauge,
    swap_used: Gauge,
    vm: Family<Labels, Counter>,
    psi: Family<Labels, FCounter>,
    fs_size: Family<Labels, Gauge>,
    fs_avail: Family<Labels, Gauge>,
    interval: FGauge,
    timestamp: FGauge,
    proc_cpu: Family<Labels, FGauge>,
    proc_rss: Family<Labels, Gauge>,
    per_process: usize,
    disk: DiskMetrics,
    net: NetMetrics,
    /// TCP stack counters (/proc/net/snmp, netstat), in `TCP_COUNTERS` order.
    tcp: Vec<Counter>,
    tcp_sockets: Family<Labels, Gauge>,
    slab_unreclaimable: Gauge,
    /// Registered once slabinfo is readable (it needs root on most kernels).
    slab_cache: Option<Gauge>,
    /// Last raw value seen per counter series, to add deltas.
    last: HashMap<String, u64>,
    checklist: super::checklist::ChecklistMetrics,
    cgroups: super::cgroup::CgroupMetrics,
    block: super::blktrace::BlockMetrics,
    runq: super::runqlat::RunqMetrics,
    tcp_trace: super::tcptrace::TcpTraceMetrics,
}

/// Per-device counters from /proc/diskstats (whole devices only, as the disk pane shows).
struct DiskMetrics {
    reads: Family<Labels, Counter>,
    writes: Family<Labels, Counter>,
    read_bytes: Family<Labels, Counter>,
    written_bytes: Family<Labels, Counter>,
    io_time: Family<Labels, FCounter>,
    weighted_io_time: Family<Labels, FCounter>,
}

/// Per-interface counters from /proc/net/dev.
struct NetMetrics {
    rx_bytes: Family<Labels, Counter>,
    tx_bytes: Family<Labels, Counter>,
    rx_packets: Family<Labels, Counter>,
    tx_packets: Family<Labels, Counter>,
    rx_errors: Family<Labels, Counter>,
    tx_errors: Family<Labels, Counter>,
    rx_drops: Family<Labels, Counter>,
    tx_drops: Family<Labels, Counter>,
}

fn counter_family<T>(
    r: &mut Registry,
    name: &str,
    help: &str,
    unit: Option<Unit>,
) -> Family<Labels, T>
where
    T: prometheus_client::metrics::TypedMetric
        + prometheus_client::encoding::EncodeMetric
        + Default
        + Clone
        + std::fmt::Debug
        + Send
        + Sync
        + 'static,
{
    let f = Family::<Labels, T>::default();
    match unit {
        Some(u) => r.register_with_unit(name, help, u, f.clone()),
        None => r.register(name, help, f.clone()),
    }
    f
}

impl DiskMetrics {
    fn register(r: &mut Registry) -> DiskMetrics {
        DiskMetrics {
            reads: counter_family(
                r,
                "usetop_disk_reads_completed",
                "Reads completed, by block device (partitions left out)",
                None,
            ),
            writes: counter_family(
                r,
                "usetop_disk_writes_completed",
                "Writes completed, by block device (partitions left out)",
                None,
            ),
            read_bytes: counter_family(
                r,
                "usetop_disk_read",
                "Bytes read, by block device",
                Some(Unit::Bytes),
            ),
            written_bytes: counter_family(
                r,
                "usetop_disk_written",
                "Bytes written, by block device",
                Some(Unit::Bytes),
            ),
            io_time: counter_family(
                r,
                "usetop_disk_io_time",
                "Time the device had I/O in flight (its %util numerator)",
                Some(Unit::Seconds),
            ),
            weighted_io_time: counter_family(
                r,
                "usetop_disk_weighted_io_time",
                "Time in flight summed over requests (its aqu-sz numerator)",
                Some(Unit::Seconds),
            ),
        }
    }
}

impl NetMetrics {
    fn register(r: &mut Registry) -> NetMetrics {
        let b = Some(Unit::Bytes);
        NetMetrics {
            rx_bytes: counter_family(
                r,
                "usetop_network_receive",
                "Bytes received, by interface",
                b.clone(),
            ),
            tx_bytes: counter_family(r, "usetop_network_transmit", "Bytes sent, by interface", b),
            rx_packets: counter_family(
                r,
                "usetop_network_receive_packets",
                "Packets received, by interface",
                None,
            ),
            tx_packets: counter_family(
                r,
                "usetop_network_transmit_packets",
                "Packets sent, by interface",
                None,
            ),
            rx_errors: counter_family(
                r,
                "usetop_network_receive_errors",
                "Receive errors, by interface (errs, frame)",
                None,
            ),
            tx_errors: counter_family(
                r,
                "usetop_network_transmit_errors",
                "Transmit errors, by interface (errs, carrier, collisions)",
                None,
            ),
            rx_drops: counter_family(
                r,
                "usetop_network_receive_drops",
                "Received packets dropped, by interface (drop, fifo)",
                None,
            ),
            tx_drops: counter_family(
                r,
                "usetop_network_transmit_drops",
                "Packets dropped before sending, by interface (drop, fifo)",
                None,
            ),
        }
    }
}

/// The TCP stack counters exported, in the order `update` reads them.
const TCP_COUNTERS: [(&str, &str); 8] = [
    (
        "usetop_tcp_active_opens",
        "TCP connections opened from here (ActiveOpens)",
    ),
    (
        "usetop_tcp_passive_opens",
        "TCP connections accepted (PassiveOpens)",
    ),
    (
        "usetop_tcp_retransmitted_segments",
        "TCP segments retransmitted (RetransSegs)",
    ),
    (
        "usetop_tcp_in_errors",
        "TCP segments received in error (InErrs)",
    ),
    ("usetop_tcp_out_resets", "TCP resets sent (OutRsts)"),
    (
        "usetop_tcp_listen_overflows",
        "Connections refused by a full accept queue (ListenOverflows)",
    ),
    (
        "usetop_tcp_listen_drops",
        "Connections dropped at a listening socket (ListenDrops)",
    ),
    (
        "usetop_tcp_out_segments",
        "TCP segments sent (OutSegs): the denominator of the retransmit ratio",
    ),
];

/// A device or interface name as a label value: printable (prometheus-client escapes
/// quotes and backslashes, not control characters).
fn device_label(name: &str) -> Labels {
    vec![("device".to_string(), sanitize(name).into_owned())]
}

fn l(pairs: &[(&str, &str)]) -> Labels {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

impl Exporter {
    /// `per_process`: how many of the busiest processes get their own series (0: none).
    pub fn new(per_process: usize) -> Exporter {
        let mut r = Registry::default();
        let cpu_seconds = Family::<Labels, FCounter>::default();
        r.register_with_unit(
            "usetop_cpu",
            "CPU time by CPU and mode, from /proc/stat (guest time is inside user and nice)",
            Unit::Seconds,
            cpu_seconds.clone(),
        );
        let cpu_util = FGauge::default();
        r.register_with_unit(
            "usetop_cpu_utilization",
            "Share of all CPUs busy over the last interval (not idle, not iowait)",
            Unit::Other("ratio".into()),
            cpu_util.clone(),
        );
        let cpu_count = Gauge::default();
        r.register("usetop_cpus", "CPUs in the sample", cpu_count.clone());
        let load = Family::<Labels, FGauge>::default();
        r.register(
            "usetop_load_average",
            "Load average over the window (1m, 5m, 15m)",
            load.clone(),
        );
        let procs_running = Gauge::default();
        r.register(
            "usetop_procs_running",
            "Runnable tasks (saturation of the CPUs)",
            procs_running.clone(),
        );
        let procs_blocked = Gauge::default();
        r.register(
            "usetop_procs_blocked",
            "Tasks blocked on I/O",
            procs_blocked.clone(),
        );
        let processes = Gauge::default();
        r.register("usetop_processes", "Processes", processes.clone());
        let ctxt = Counter::default();
        r.register("usetop_context_switches", "Context switches", ctxt.clone());
        let intr = Counter::default();
        r.register("usetop_interrupts", "Interrupts", intr.clone());
        let forks = Counter::default();
        r.register("usetop_forks", "Processes created", forks.clone());
        let mem = Family::<Labels, Gauge>::default();
        r.register_with_unit(
            "usetop_memory",
            "Memory by kind as free(1) shows it (free, buff_cache, shared)",
            Unit::Bytes,
            mem.clone(),
        );
        let mem_total = Gauge::default();
        r.register_with_unit(
            "usetop_memory_total",
            "Physical memory",
            Unit::Bytes,
            mem_total.clone(),
        );
        let mem_available = Gauge::default();
        r.register_with_unit(
            "usetop_memory_available",
            "Memory available for new work without swapping (MemAvailable)",
            Unit::Bytes,
            mem_available.clone(),
        );
        let mem_used = Gauge::default();
        r.register_with_unit(
            "usetop_memory_used",
            "Memory used (total - available)",
            Unit::Bytes,
            mem_used.clone(),
        );
        let swap_total = Gauge::default();
        r.register_with_unit(
            "usetop_swap_total",
            "Swap space",
            Unit::Bytes,
            swap_total.clone(),
        );
        let swap_used = Gauge::default();
        r.register_with_unit(
            "usetop_swap_used",
            "Swap space used",
            Unit::Bytes,
            swap_used.clone(),
        );
        let vm = Family::<Labels, Counter>::default();
        r.register(
            "usetop_vm_events",
            "Virtual memory events from /proc/vmstat (event: pgfault, pgmajfault, pswpin, pswpout, pgscan, pgsteal, allocstall, oom_kill)",
            vm.clone(),
        );
        let psi = Family::<Labels, FCounter>::default();
        r.register_with_unit(
            "usetop_pressure_stall",
            "Time tasks stalled on a resource (PSI; kind some or full)",
            Unit::Seconds,
            psi.clone(),
        );
        let fs_size = Family::<Labels, Gauge>::default();
        r.register_with_unit(
            "usetop_filesystem_size",
            "Filesystem size",
            Unit::Bytes,
            fs_size.clone(),
        );
        let fs_avail = Family::<Labels, Gauge>::default();
        r.register_with_unit(
            "usetop_filesystem_avail",
            "Filesystem space available to unprivileged users",
            Unit::Bytes,
            fs_avail.clone(),
        );
        let interval = FGauge::default();
        r.register_with_unit(
            "usetop_sample_interval",
            "Measured interval between the last two samples",
            Unit::Seconds,
            interval.clone(),
        );
        let timestamp = FGauge::default();
        r.register_with_unit(
            "usetop_sample_timestamp",
            "Wall clock of the last sample (Unix time)",
            Unit::Seconds,
            timestamp.clone(),
        );
        // A gauge of 1 rather than an OpenMetrics info metric: Prometheus' text parser
        // (promtool check metrics) does not know the info type.
        let build = Family::<Labels, Gauge>::default();
        build
            .get_or_create(&l(&[("version", env!("CARGO_PKG_VERSION"))]))
            .set(1);
        r.register("usetop_build_info", "usetop version", build);
        let proc_cpu = Family::<Labels, FGauge>::default();
        let proc_rss = Family::<Labels, Gauge>::default();
        if per_process > 0 {
            r.register_with_unit(
                "usetop_process_cpu_utilization",
                "CPU share of one CPU over the last interval, for the busiest processes",
                Unit::Other("ratio".into()),
                proc_cpu.clone(),
            );
            r.register_with_unit(
                "usetop_process_resident_memory",
                "Resident memory, for the busiest processes",
                Unit::Bytes,
                proc_rss.clone(),
            );
        }
        let disk = DiskMetrics::register(&mut r);
        let net = NetMetrics::register(&mut r);
        let tcp = TCP_COUNTERS
            .iter()
            .map(|(name, help)| {
                let c = Counter::default();
                r.register(*name, *help, c.clone());
                c
            })
            .collect();
        let tcp_sockets = Family::<Labels, Gauge>::default();
        r.register(
            "usetop_tcp_sockets",
            "TCP sockets by state (ss -s), from sock_diag",
            tcp_sockets.clone(),
        );
        let slab_unreclaimable = Gauge::default();
        r.register_with_unit(
            "usetop_slab_unreclaimable",
            "Unreclaimable slab memory (SUnreclaim in /proc/meminfo); steady growth is a kernel leak",
            Unit::Bytes,
            slab_unreclaimable.clone(),
        );
        let checklist = super::checklist::ChecklistMetrics::register(&mut r);
        let cgroups = super::cgroup::CgroupMetrics::register(&mut r);
        let block = super::blktrace::BlockMetrics::register(&mut r);
        let runq = super::runqlat::RunqMetrics::register(&mut r);
        let tcp_trace = super::tcptrace::TcpTraceMetrics::register(&mut r);
        Exporter {
            block,
            runq,
            tcp_trace,
            checklist,
            cgroups,
            registry: r,
            disk,
            net,
            tcp,
            tcp_sockets,
            slab_unreclaimable,
            slab_cache: None,
            cpu_seconds,
            cpu_util,
            cpu_count,
            load,
            procs_running,
            procs_blocked,
            processes,
            ctxt,
            intr,
            forks,
            mem,
            mem_total,
            mem_available,
            mem_used,
            swap_total,
            swap_used,
            vm,
            psi,
            fs_size,
            fs_avail,
            interval,
            timestamp,
            proc_cpu,
            proc_rss,
            per_process,
            last: HashMap::new(),
        }
    }

    /// Which cgroups get `usetop_cgroup_*` series (default: depth 3, 200 of them).
    pub fn set_cgroup_limits(&mut self, limits: super::cgroup::CgroupLimits) {
        self.cgroups.limits = limits;
    }

    /// How much a counter series grew since the last update (its whole value the first time).
    fn grow(&mut self, key: String, cur: u64) -> u64 {
        match self.last.insert(key, cur) {
            Some(prev) => delta(prev, cur),
            None => cur,
        }
    }

    pub fn update(&mut self, snap: &Snapshot) {
        let s = &snap.cur;
        let hz = s.hz.max(1) as f64;
        // Per CPU only, as node_exporter does: a `cpu="all"` series would double a sum().
        let cpus: Vec<(String, CpuTimes)> = s
            .cpu
            .cpus
            .iter()
            .map(|(id, t)| (id.to_string(), *t))
            .collect();
        for (cpu, t) in cpus {
            let modes = [
                // Guest time is already counted in user and nice; take it out so modes add up.
                ("user", t.user.saturating_sub(t.guest)),
                ("nice", t.nice.saturating_sub(t.guest_nice)),
                ("system", t.system),
                ("idle", t.idle),
                ("iowait", t.iowait),
                ("irq", t.irq),
                ("softirq", t.softirq),
                ("steal", t.steal),
                ("guest", t.guest),
                ("guest_nice", t.guest_nice),
            ];
            for (mode, ticks) in modes {
                let d = self.grow(format!("cpu/{cpu}/{mode}"), ticks);
                self.cpu_seconds
                    .get_or_create(&l(&[("cpu", &cpu), ("mode", mode)]))
                    .inc_by(d as f64 / hz);
            }
        }
        if let Some(t) = snap.cpu.total {
            self.cpu_util.set(t.busy() / 100.0);
        }
        self.cpu_count.set(snap.cpu.ncpu as i64);
        if let Some(ld) = s.cpu.load {
            for (w, v) in [("1m", ld.one), ("5m", ld.five), ("15m", ld.fifteen)] {
                self.load.get_or_create(&l(&[("window", w)])).set(v);
            }
        }
        self.procs_running.set(i64::from(s.cpu.procs_running));
        self.procs_blocked.set(i64::from(s.cpu.procs_blocked));
        self.processes.set(s.tasks.procs.len() as i64);
        let d = self.grow("ctxt".into(), s.cpu.ctxt);
        self.ctxt.inc_by(d);
        let d = self.grow("intr".into(), s.cpu.intr);
        self.intr.inc_by(d);
        let d = self.grow("forks".into(), s.cpu.forks);
        self.forks.inc_by(d);
        if let Some(f) = snap.free {
            let g = |v: u64| i64::try_from(v).unwrap_or(i64::MAX);
            self.mem_total.set(g(f.total));
            self.mem_available.set(g(f.available));
            self.mem_used.set(g(f.used));
            self.swap_total.set(g(f.swap_total));
            self.swap_used.set(g(f.swap_used));
            for (kind, v) in [
                ("free", f.free),
                ("buff_cache", f.buff_cache),
                ("shared", f.shared),
            ] {
                self.mem.get_or_create(&l(&[("kind", kind)])).set(g(v));
            }
        }
        if let Some(vm) = s.mem.vm {
            for (ev, v) in [
                ("pgfault", vm.pgfault),
                ("pgmajfault", vm.pgmajfault),
                ("pswpin", vm.pswpin),
                ("pswpout", vm.pswpout),
                ("pgscan", vm.pgscan_kswapd.saturating_add(vm.pgscan_direct)),
                (
                    "pgsteal",
                    vm.pgsteal_kswapd.saturating_add(vm.pgsteal_direct),
                ),
                ("allocstall", vm.allocstall),
                ("oom_kill", vm.oom_kill),
            ] {
                let d = self.grow(format!("vm/{ev}"), v);
                self.vm.get_or_create(&l(&[("event", ev)])).inc_by(d);
            }
        }
        let psi = [
            ("cpu", "some", s.cpu.psi.map(|p| p.some)),
            ("cpu", "full", s.cpu.psi.and_then(|p| p.full)),
            ("memory", "some", s.mem.psi.map(|p| p.some)),
            ("memory", "full", s.mem.psi.and_then(|p| p.full)),
            ("io", "some", s.disk.psi.map(|p| p.some)),
            ("io", "full", s.disk.psi.and_then(|p| p.full)),
        ];
        for (res, kind, line) in psi {
            if let Some(line) = line {
                let d = self.grow(format!("psi/{res}/{kind}"), line.total_us);
                self.psi
                    .get_or_create(&l(&[("resource", res), ("kind", kind)]))
                    .inc_by(d as f64 / 1e6);
            }
        }
        self.fs_size.clear();
        self.fs_avail.clear();
        for fs in &s.fs {
            // Mount paths are anyone's data (whoever can mount, or name a directory):
            // printable like device and interface labels.
            let labels = l(&[
                ("mountpoint", &sanitize(&fs.mount)),
                ("device", &sanitize(&fs.device)),
                ("fstype", &sanitize(&fs.fstype)),
            ]);
            let g = |v: u64| i64::try_from(v).unwrap_or(i64::MAX);
            self.fs_size.get_or_create(&labels).set(g(fs.total_bytes));
            self.fs_avail.get_or_create(&labels).set(g(fs.avail_bytes));
        }
        self.update_disks(snap);
        self.block.update(snap);
        self.runq.update(snap);
        self.tcp_trace.update(snap);
        self.update_net(snap);
        self.update_slab(snap);
        self.checklist.update(snap);
        self.cgroups.update(snap);
        self.interval.set(snap.dt_s);
        self.timestamp.set(s.wall_ms as f64 / 1000.0);
        if self.per_process > 0 {
            self.update_processes(snap);
        }
    }

    /// Growth of a counter the kernel may keep in 32 bits (diskstats ms fields, some NIC
    /// drivers): a wrap adds what was counted across it, a reset adds nothing.
    fn grow32(&mut self, key: String, cur: u64) -> u64 {
        match self.last.insert(key, cur) {
            Some(prev) => step(prev, cur).unwrap_or(0),
            None => cur,
        }
    }

    fn update_disks(&mut self, snap: &Snapshot) {
        for d in snap.cur.disk.devices.iter().filter(|d| !d.partition) {
            let labels = device_label(&d.name);
            let k = |f: &str| format!("disk/{}/{f}", d.name);
            let v = self.grow32(k("rd"), d.rd_ios);
            self.disk.reads.get_or_create(&labels).inc_by(v);
            let v = self.grow32(k("wr"), d.wr_ios);
            self.disk.writes.get_or_create(&labels).inc_by(v);
            // Sectors are 512 bytes whatever the device's block size.
            let v = self.grow32(k("rsec"), d.rd_sectors);
            self.disk
                .read_bytes
                .get_or_create(&labels)
                .inc_by(v.saturating_mul(512));
            let v = self.grow32(k("wsec"), d.wr_sectors);
            self.disk
                .written_bytes
                .get_or_create(&labels)
                .inc_by(v.saturating_mul(512));
            let v = self.grow32(k("io"), d.io_ticks);
            self.disk
                .io_time
                .get_or_create(&labels)
                .inc_by(v as f64 / 1e3);
            let v = self.grow32(k("rq"), d.rq_ticks);
            self.disk
                .weighted_io_time
                .get_or_create(&labels)
                .inc_by(v as f64 / 1e3);
        }
    }

    fn update_net(&mut self, snap: &Snapshot) {
        let n = &snap.cur.net;
        for i in &n.ifaces {
            let labels = device_label(&i.name);
            let k = |f: &str| format!("net/{}/{f}", i.name);
            let series = [
                (&self.net.rx_bytes, k("rxb"), i.rx_bytes),
                (&self.net.tx_bytes, k("txb"), i.tx_bytes),
                (&self.net.rx_packets, k("rxp"), i.rx_packets),
                (&self.net.tx_packets, k("txp"), i.tx_packets),
                (
                    &self.net.rx_errors,
                    k("rxe"),
                    i.rx_errs.saturating_add(i.rx_frame),
                ),
                (
                    &self.net.tx_errors,
                    k("txe"),
                    i.tx_errs
                        .saturating_add(i.tx_carrier)
                        .saturating_add(i.tx_colls),
                ),
                (
                    &self.net.rx_drops,
                    k("rxd"),
                    i.rx_drop.saturating_add(i.rx_fifo),
                ),
                (
                    &self.net.tx_drops,
                    k("txd"),
                    i.tx_drop.saturating_add(i.tx_fifo),
                ),
            ]
            .map(|(f, key, v)| (f.clone(), key, v));
            for (family, key, v) in series {
                let d = self.grow32(key, v);
                family.get_or_create(&labels).inc_by(d);
            }
        }
        let tcp = n.tcp.map(|t| {
            [
                t.active_opens,
                t.passive_opens,
                t.retrans_segs,
                t.in_errs,
                t.out_rsts,
                t.out_segs,
            ]
        });
        let ext = n.tcp_ext.map(|e| [e.listen_overflows, e.listen_drops]);
        let values = [
            tcp.map(|t| t[0]),
            tcp.map(|t| t[1]),
            tcp.map(|t| t[2]),
            tcp.map(|t| t[3]),
            tcp.map(|t| t[4]),
            ext.map(|e| e[0]),
            ext.map(|e| e[1]),
            tcp.map(|t| t[5]),
        ];
        for (i, v) in values.into_iter().enumerate() {
            if let Some(v) = v {
                let d = self.grow32(format!("tcp/{i}"), v);
                if let Some(c) = self.tcp.get(i) {
                    c.inc_by(d);
                }
            }
        }
        // A socket list that could not be read exports no counts rather than zeros.
        self.tcp_sockets.clear();
        if snap.cur.sockets.error.is_none() {
            for (state, n) in snap.sockets.tcp_by_state.iter().enumerate().skip(1) {
                let name = state_name(state as u8).to_ascii_lowercase();
                self.tcp_sockets
                    .get_or_create(&l(&[("state", &name)]))
                    .set(i64::from(*n));
            }
        }
    }

    fn update_slab(&mut self, snap: &Snapshot) {
        if let Some(m) = &snap.cur.mem.info {
            self.slab_unreclaimable
                .set(i64::try_from(m.sunreclaim).unwrap_or(i64::MAX));
        }
        if let Some(bytes) = super::records::slab_cache_bytes(snap) {
            let g = self.slab_cache.get_or_insert_with(|| {
                let g = Gauge::default();
                self.registry.register_with_unit(
                    "usetop_slab_cache",
                    "Memory of every slab cache, used or not (slabtop's total CACHE SIZE; needs a readable /proc/slabinfo)",
                    Unit::Bytes,
                    g.clone(),
                );
                g
            });
            g.set(i64::try_from(bytes).unwrap_or(i64::MAX));
        }
    }

    /// The busiest processes by CPU, labelled with pid and comm (never the command line:
    /// it can hold secrets, and it would make series unbounded).
    fn update_processes(&mut self, snap: &Snapshot) {
        let all = snap.tasks();
        let mut tasks: Vec<&TaskRate> = all.iter().collect();
        tasks.sort_by(|a, b| {
            b.cpu_pct
                .unwrap_or(0.0)
                .total_cmp(&a.cpu_pct.unwrap_or(0.0))
                .then(b.rss_bytes.cmp(&a.rss_bytes))
        });
        self.proc_cpu.clear();
        self.proc_rss.clear();
        for t in tasks.iter().take(self.per_process) {
            let pid = t.rec.pid().to_string();
            let labels = l(&[("pid", &pid), ("comm", &t.rec.ident.comm)]);
            self.proc_cpu
                .get_or_create(&labels)
                .set(t.cpu_pct.unwrap_or(0.0) / 100.0);
            self.proc_rss
                .get_or_create(&labels)
                .set(i64::try_from(t.rss_bytes).unwrap_or(i64::MAX));
        }
    }

    /// The exposition text, ending with `# EOF`.
    pub fn encode(&self) -> String {
        let mut out = String::with_capacity(16 * 1024);
        // Writing into a String cannot fail.
        let _ = encode(&mut out, &self.registry);
        if !out.ends_with('\n') {
            out.push('\n');
        }
        out
    }
}

pub const PROMETHEUS_TEXT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// The same exposition in Prometheus' older text format (0.0.4), for clients that do not ask
/// for OpenMetrics (curl, promtool): counter metadata names the `_total` samples, and the
/// `# UNIT` and `# EOF` lines go. The input is our own OpenMetrics output.
pub fn to_prometheus_text(openmetrics: &str) -> String {
    let counters: std::collections::HashSet<&str> = openmetrics
        .lines()
        .filter_map(|l| l.strip_prefix("# TYPE "))
        .filter_map(|rest| rest.strip_suffix(" counter"))
        .collect();
    let mut out = String::with_capacity(openmetrics.len());
    for line in openmetrics.lines() {
        if line.starts_with("# UNIT ") || line == "# EOF" {
            continue;
        }
        let meta = ["# HELP ", "# TYPE "]
            .into_iter()
            .find_map(|p| line.strip_prefix(p).map(|rest| (p, rest)));
        if let Some((prefix, rest)) = meta {
            let (name, tail) = rest.split_once(' ').unwrap_or((rest, ""));
            if counters.contains(name) {
                out.push_str(&format!("{prefix}{name}_total {tail}\n"));
                continue;
            }
        }
        out.push_str(line);
        out.push('\n');
    }
    out
}
