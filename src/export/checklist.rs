//! The USE checklist's figures (model/checklist.rs) for `dump` — fields flattened into the
//! system, cpu, proc, disk and net records — and for the OpenMetrics exposition. Names carry
//! their unit; `_count` is events during the interval, `_total` a count since boot (or, for
//! a filesystem, since its last fsck).

use std::collections::HashMap;
use std::sync::atomic::AtomicU64;

use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::{Registry, Unit};
use serde::{Deserialize, Serialize};

use crate::model::Snapshot;
use crate::model::checklist::{ChecklistFigures, NicErrorRates};
use crate::model::disk::step;
use crate::widgets::text::sanitize;

// ---- dump ----

/// The system view's checklist fields.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct SystemChecklist {
    /// Run-queue latency summed over CPUs, per CPU on average, and on the worst CPU.
    pub runq_latency_ms_per_s: Option<f64>,
    pub runq_latency_per_cpu_ms_per_s: Option<f64>,
    pub runq_latency_max_ms_per_s: Option<f64>,
    pub runq_latency_max_cpu: Option<u32>,
    pub cpu_busiest: Option<u32>,
    pub cpu_busiest_pct: Option<f64>,
    pub mce_count: Option<u64>,
    pub mce_total: Option<u64>,
    pub mce_poll_count: Option<u64>,
    pub thermal_irq_count: Option<u64>,
    pub thermal_throttle_core_count: Option<u64>,
    pub thermal_throttle_package_count: Option<u64>,
    pub cpu_freq_mean_mhz: Option<f64>,
    pub cpu_freq_min_mhz: Option<f64>,
    pub cpu_freq_max_mhz: Option<f64>,
    pub temp_max_celsius: Option<f64>,
    pub temp_max_sensor: Option<String>,
    pub edac_ce_count: Option<u64>,
    pub edac_ue_count: Option<u64>,
    pub edac_ce_total: Option<u64>,
    pub edac_ue_total: Option<u64>,
    pub numa_nodes: Option<u32>,
    pub numa_miss_per_s: Option<f64>,
    pub numa_foreign_per_s: Option<f64>,
    pub numa_miss_max_pct: Option<f64>,
    pub softnet_dropped_count: Option<u64>,
    pub softnet_dropped_per_s: Option<f64>,
    pub softnet_time_squeeze_per_s: Option<f64>,
    pub fs_errors_total: Option<u64>,
    pub files_allocated: Option<u64>,
    pub files_max: Option<u64>,
    pub files_used_pct: Option<f64>,
    pub tasks: Option<u64>,
    pub threads_max: Option<u64>,
    pub pid_max: Option<u64>,
    pub tasks_threads_max_pct: Option<f64>,
    pub tasks_pid_max_pct: Option<f64>,
    pub delayacct: Option<bool>,
}

impl SystemChecklist {
    pub fn from_snapshot(s: &Snapshot) -> SystemChecklist {
        let c = &s.checklist;
        let runq = c.runq.as_ref().ok();
        let busiest = c.busiest_cpu.as_ref().ok();
        let hw = c.hw.as_ref().ok();
        let thr = c.throttle.as_ref().ok();
        let freq = c.freq.as_ref().ok();
        let hot = c.temps.as_ref().ok().and_then(|t| t.hottest());
        let mem = c.mem_errors.as_ref().ok();
        let numa = c.numa.as_ref().ok();
        let sn = c.softnet.as_ref().ok();
        let files = c.files.as_ref().ok();
        let tasks = c.tasks.as_ref().ok();
        let nodes = s.cur.checklist.numa_nodes;
        SystemChecklist {
            runq_latency_ms_per_s: runq.map(|r| r.total_ms_s),
            runq_latency_per_cpu_ms_per_s: runq.map(|r| r.mean_ms_s),
            runq_latency_max_ms_per_s: runq.map(|r| r.worst.1),
            runq_latency_max_cpu: runq.map(|r| r.worst.0),
            cpu_busiest: busiest.map(|b| b.cpu),
            cpu_busiest_pct: busiest.map(|b| b.busy_pct),
            mce_count: hw.and_then(|h| h.mce),
            mce_total: hw.and_then(|h| h.mce_total),
            mce_poll_count: hw.and_then(|h| h.mcp),
            thermal_irq_count: hw.and_then(|h| h.thermal),
            thermal_throttle_core_count: thr.map(|t| t.core),
            thermal_throttle_package_count: thr.map(|t| t.package),
            cpu_freq_mean_mhz: freq.map(|f| f.mean_mhz),
            cpu_freq_min_mhz: freq.map(|f| f.min_mhz),
            cpu_freq_max_mhz: freq.map(|f| f.max_mhz),
            temp_max_celsius: hot.map(|t| t.celsius),
            temp_max_sensor: hot.map(|t| format!("{} {}", t.chip, t.label)),
            edac_ce_count: mem.map(|m| m.ce),
            edac_ue_count: mem.map(|m| m.ue),
            edac_ce_total: mem.map(|m| m.ce_total),
            edac_ue_total: mem.map(|m| m.ue_total),
            numa_nodes: (nodes > 0).then_some(nodes),
            numa_miss_per_s: numa.map(|n| n.iter().map(|n| n.miss_s).sum()),
            numa_foreign_per_s: numa.map(|n| n.iter().map(|n| n.foreign_s).sum()),
            numa_miss_max_pct: numa.and_then(|n| {
                n.iter()
                    .filter_map(|n| n.miss_pct)
                    .fold(None, |m: Option<f64>, v| Some(m.map_or(v, |m| m.max(v))))
            }),
            softnet_dropped_count: sn.map(|s| s.dropped),
            softnet_dropped_per_s: sn.map(|s| s.dropped_s),
            softnet_time_squeeze_per_s: sn.map(|s| s.squeezed_s),
            fs_errors_total: c
                .fs_errors
                .as_ref()
                .ok()
                .map(|l| l.iter().map(|e| e.total).fold(0, u64::saturating_add)),
            files_allocated: files.map(|f| f.used),
            files_max: files.map(|f| f.max),
            files_used_pct: files.map(|f| f.pct),
            tasks: tasks.and_then(|t| t.worst()).map(|c| c.used),
            threads_max: tasks.and_then(|t| t.threads.as_ref().ok()).map(|c| c.max),
            pid_max: tasks.and_then(|t| t.pids.as_ref().ok()).map(|c| c.max),
            tasks_threads_max_pct: tasks.and_then(|t| t.threads.as_ref().ok()).map(|c| c.pct),
            tasks_pid_max_pct: tasks.and_then(|t| t.pids.as_ref().ok()).map(|c| c.pct),
            delayacct: s.cur.checklist.delayacct,
        }
    }
}

/// The cpu view's checklist fields for one CPU.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct CpuChecklist {
    pub runq_latency_ms_per_s: Option<f64>,
    pub freq_mhz: Option<f64>,
    pub freq_min_mhz: Option<f64>,
    pub freq_max_mhz: Option<f64>,
    /// Events of the core this CPU was read for (one CPU per core; its siblings are null).
    pub thermal_throttle_count: Option<u64>,
    pub softnet_processed_per_s: Option<f64>,
    pub softnet_dropped_per_s: Option<f64>,
    pub softnet_time_squeeze_per_s: Option<f64>,
}

impl CpuChecklist {
    pub fn for_cpu(s: &Snapshot, cpu: u32) -> CpuChecklist {
        let c = &s.checklist;
        let khz = s.cur.checklist.freq.iter().find(|f| f.cpu == cpu);
        let sn = c
            .softnet
            .as_ref()
            .ok()
            .and_then(|sn| sn.per_cpu.iter().find(|r| r.cpu == cpu));
        let throttle = c.throttle.as_ref().ok().and_then(|_| {
            let (p, cur) = (
                s.prev.as_ref()?.checklist.throttle.as_ref()?,
                s.cur.checklist.throttle.as_ref()?,
            );
            let now = cur.cores.iter().find(|(id, _)| *id == cpu)?.1;
            let before = p.cores.iter().find(|(id, _)| *id == cpu)?.1;
            Some(now.saturating_sub(before))
        });
        CpuChecklist {
            runq_latency_ms_per_s: c
                .runq
                .as_ref()
                .ok()
                .and_then(|r| r.per_cpu.iter().find(|(id, _)| *id == cpu).map(|(_, v)| *v)),
            freq_mhz: khz.map(|f| f.cur_khz as f64 / 1000.0),
            freq_min_mhz: khz.and_then(|f| f.min_khz).map(|v| v as f64 / 1000.0),
            freq_max_mhz: khz.and_then(|f| f.max_khz).map(|v| v as f64 / 1000.0),
            thermal_throttle_count: throttle,
            softnet_processed_per_s: sn.map(|r| r.processed_s),
            softnet_dropped_per_s: sn.map(|r| r.dropped_s),
            softnet_time_squeeze_per_s: sn.map(|r| r.squeezed_s),
        }
    }
}

/// The disk view's checklist fields for one device.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct DiskChecklist {
    /// Built on other devices (dm, md): its I/O is counted again on them.
    pub stacked: bool,
    /// The devices it is built on, and those built on it, space-separated.
    pub stacked_on: String,
    pub held_by: String,
    /// Whether a total over devices counts it (whole, not stacked).
    pub in_totals: bool,
    /// Errors the filesystem on it has recorded since its last fsck (ext4 only).
    pub fs_errors_total: Option<u64>,
}

impl DiskChecklist {
    pub fn for_device(c: &ChecklistFigures, name: &str, partition: bool) -> DiskChecklist {
        let st = &c.stacking;
        DiskChecklist {
            stacked: st.is_stacked(name),
            stacked_on: st.slaves(name).join(" "),
            held_by: st.holders(name).join(" "),
            in_totals: st.counts_in_totals(name, partition),
            fs_errors_total: c
                .fs_errors
                .as_ref()
                .ok()
                .and_then(|l| l.iter().find(|e| e.device == name))
                .map(|e| e.total),
        }
    }
}

/// The net view's softnet fields, beside the interfaces.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct NetChecklist {
    pub softnet_processed_per_s: Option<f64>,
    pub softnet_dropped_per_s: Option<f64>,
    pub softnet_dropped_count: Option<u64>,
    pub softnet_time_squeeze_per_s: Option<f64>,
}

impl NetChecklist {
    pub fn from_snapshot(s: &Snapshot) -> NetChecklist {
        let sn = s.checklist.softnet.as_ref().ok();
        NetChecklist {
            softnet_processed_per_s: sn.map(|s| s.processed_s),
            softnet_dropped_per_s: sn.map(|s| s.dropped_s),
            softnet_dropped_count: sn.map(|s| s.dropped),
            softnet_time_squeeze_per_s: sn.map(|s| s.squeezed_s),
        }
    }
}

/// The net view's detailed error fields for one interface (`null` where not derived).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct NicChecklist {
    pub rx_missed_errors_per_s: Option<f64>,
    pub rx_over_errors_per_s: Option<f64>,
    pub rx_crc_errors_per_s: Option<f64>,
    pub rx_length_errors_per_s: Option<f64>,
    pub rx_frame_errors_per_s: Option<f64>,
    pub tx_aborted_errors_per_s: Option<f64>,
    pub tx_window_errors_per_s: Option<f64>,
    pub tx_heartbeat_errors_per_s: Option<f64>,
    pub tx_carrier_errors_per_s: Option<f64>,
}

impl NicChecklist {
    pub fn for_iface(c: &ChecklistFigures, name: &str) -> NicChecklist {
        let e: Option<&NicErrorRates> = c
            .nic_errors
            .as_ref()
            .ok()
            .and_then(|l| l.iter().find(|e| e.iface == name));
        NicChecklist {
            rx_missed_errors_per_s: e.map(|e| e.rx_missed_s),
            rx_over_errors_per_s: e.map(|e| e.rx_over_s),
            rx_crc_errors_per_s: e.map(|e| e.rx_crc_s),
            rx_length_errors_per_s: e.map(|e| e.rx_length_s),
            rx_frame_errors_per_s: e.map(|e| e.rx_frame_s),
            tx_aborted_errors_per_s: e.map(|e| e.tx_aborted_s),
            tx_window_errors_per_s: e.map(|e| e.tx_window_s),
            tx_heartbeat_errors_per_s: e.map(|e| e.tx_heartbeat_s),
            tx_carrier_errors_per_s: e.map(|e| e.tx_carrier_s),
        }
    }
}

// ---- OpenMetrics ----

type Labels = Vec<(String, String)>;
type FGauge = Gauge<f64, AtomicU64>;
type FCounter = Counter<f64, AtomicU64>;

fn l(pairs: &[(&str, &str)]) -> Labels {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), sanitize(v).into_owned()))
        .collect()
}

fn family<M>(r: &mut Registry, name: &str, help: &str, unit: Option<Unit>) -> Family<Labels, M>
where
    M: prometheus_client::metrics::TypedMetric
        + prometheus_client::encoding::EncodeMetric
        + Default
        + Clone
        + Send
        + Sync
        + std::fmt::Debug
        + 'static,
{
    let f = Family::<Labels, M>::default();
    match unit {
        Some(u) => r.register_with_unit(name, help, u, f.clone()),
        None => r.register(name, help, f.clone()),
    }
    f
}

/// The checklist's series. Counters add the growth of the kernel's counter since the last
/// update (a counter that went back adds nothing); gauges are cleared and set, so a sensor,
/// node or device that went away stops being exported.
pub struct ChecklistMetrics {
    run_delay: Family<Labels, FCounter>,
    hw_irqs: Family<Labels, Counter>,
    throttle: Family<Labels, Counter>,
    freq: Family<Labels, Gauge>,
    freq_min: Family<Labels, Gauge>,
    freq_max: Family<Labels, Gauge>,
    temp: Family<Labels, FGauge>,
    edac: Family<Labels, Counter>,
    numa_mem: Family<Labels, Gauge>,
    numa_events: Family<Labels, Counter>,
    softnet: Family<Labels, Counter>,
    nic_errors: Family<Labels, Counter>,
    fs_errors: Family<Labels, Gauge>,
    disk_stacked: Family<Labels, Gauge>,
    files: Family<Labels, Gauge>,
    tasks: Family<Labels, Gauge>,
    delayacct: Gauge,
    last: HashMap<String, u64>,
}

impl ChecklistMetrics {
    pub fn register(r: &mut Registry) -> ChecklistMetrics {
        let delayacct = Gauge::default();
        r.register(
            "usetop_task_delayacct",
            "Whether per-task delay accounting is on (kernel.task_delayacct)",
            delayacct.clone(),
        );
        ChecklistMetrics {
            run_delay: family(
                r,
                "usetop_cpu_runqueue_wait",
                "Time tasks waited on each CPU's run queue while runnable (/proc/schedstat run_delay)",
                Some(Unit::Seconds),
            ),
            hw_irqs: family(
                r,
                "usetop_machine_check_interrupts",
                "Machine-check and thermal interrupts from /proc/interrupts (kind: exception, poll, thermal, threshold, deferred)",
                None,
            ),
            throttle: family(
                r,
                "usetop_thermal_throttle_events",
                "Thermal-throttle events (scope core with its cpu, or package with its id)",
                None,
            ),
            freq: family(
                r,
                "usetop_cpu_frequency_hertz",
                "Current CPU frequency (cpufreq scaling_cur_freq, else /proc/cpuinfo)",
                None,
            ),
            freq_min: family(
                r,
                "usetop_cpu_frequency_min_hertz",
                "Lowest frequency the CPU can run at (cpufreq cpuinfo_min_freq)",
                None,
            ),
            freq_max: family(
                r,
                "usetop_cpu_frequency_max_hertz",
                "Highest frequency the CPU can run at (cpufreq cpuinfo_max_freq)",
                None,
            ),
            temp: family(
                r,
                "usetop_temperature_celsius",
                "CPU package and core temperatures (hwmon, else thermal zones)",
                None,
            ),
            edac: family(
                r,
                "usetop_edac_errors",
                "Memory errors counted by EDAC, by controller (kind: corrected, uncorrected)",
                None,
            ),
            numa_mem: family(
                r,
                "usetop_numa_memory",
                "Memory per NUMA node (kind: total, free, used), when there are two or more nodes",
                Some(Unit::Bytes),
            ),
            numa_events: family(
                r,
                "usetop_numa_pages",
                "NUMA allocation counters per node, in pages (event: hit, miss, foreign, interleave_hit, local, other)",
                None,
            ),
            softnet: family(
                r,
                "usetop_softnet",
                "Softnet backlog per CPU from /proc/net/softnet_stat (event: processed, dropped, time_squeeze)",
                None,
            ),
            nic_errors: family(
                r,
                "usetop_network_error_detail",
                "Detailed interface error counters from /sys/class/net/*/statistics (kind: rx_missed, rx_over, rx_crc, rx_length, rx_frame, tx_aborted, tx_window, tx_heartbeat, tx_carrier)",
                None,
            ),
            fs_errors: family(
                r,
                "usetop_filesystem_errors",
                "Errors a filesystem recorded since its last fsck (ext4 errors_count), by device",
                None,
            ),
            disk_stacked: family(
                r,
                "usetop_disk_stacked",
                "1 for a block device built on others (dm, md): its I/O is counted again on its members; leave it out of sums",
                None,
            ),
            files: family(
                r,
                "usetop_file_handles",
                "System file handles (kind: allocated, max) from /proc/sys/fs/file-nr",
                None,
            ),
            tasks: family(
                r,
                "usetop_tasks_limit",
                "Tasks (threads) and their limits (kind: tasks, threads_max, pid_max)",
                None,
            ),
            delayacct,
            last: HashMap::new(),
        }
    }

    /// Growth since the last update of a counter the kernel may keep in 32 bits.
    fn grow(&mut self, key: String, cur: u64) -> u64 {
        match self.last.insert(key, cur) {
            Some(prev) => step(prev, cur).unwrap_or(0),
            None => cur,
        }
    }

    fn count(&mut self, f: &Family<Labels, Counter>, key: String, labels: &Labels, cur: u64) {
        let d = self.grow(key, cur);
        f.get_or_create(labels).inc_by(d);
    }

    pub fn update(&mut self, snap: &Snapshot) {
        let c = &snap.cur.checklist;
        if !c.read {
            return;
        }
        let g = |v: u64| i64::try_from(v).unwrap_or(i64::MAX);
        for s in &c.sched {
            let cpu = s.cpu.to_string();
            // A 64-bit nanosecond counter: a decrease is a reset, never a wrap.
            let d = match self.last.insert(format!("rq/{cpu}"), s.delay_ns) {
                Some(prev) => s.delay_ns.saturating_sub(prev),
                None => s.delay_ns,
            };
            self.run_delay
                .get_or_create(&l(&[("cpu", &cpu)]))
                .inc_by(d as f64 / 1e9);
        }
        if let Some(h) = c.hw_irqs {
            let f = self.hw_irqs.clone();
            for (kind, v) in [
                ("exception", h.mce),
                ("poll", h.mcp),
                ("thermal", h.trm),
                ("threshold", h.thr),
                ("deferred", h.dfr),
            ] {
                if let Some(v) = v {
                    self.count(&f, format!("hw/{kind}"), &l(&[("kind", kind)]), v);
                }
            }
        }
        if let Some(t) = &c.throttle {
            let f = self.throttle.clone();
            for (cpu, v) in &t.cores {
                let id = cpu.to_string();
                let labels = l(&[("scope", "core"), ("cpu", &id)]);
                self.count(&f, format!("thr/core/{id}"), &labels, *v);
            }
            for (pkg, v) in &t.packages {
                let id = pkg.to_string();
                let labels = l(&[("scope", "package"), ("package", &id)]);
                self.count(&f, format!("thr/pkg/{id}"), &labels, *v);
            }
        }
        self.freq.clear();
        self.freq_min.clear();
        self.freq_max.clear();
        for fr in &c.freq {
            let labels = l(&[("cpu", &fr.cpu.to_string())]);
            let hz = |khz: u64| g(khz.saturating_mul(1000));
            self.freq.get_or_create(&labels).set(hz(fr.cur_khz));
            if let Some(v) = fr.min_khz {
                self.freq_min.get_or_create(&labels).set(hz(v));
            }
            if let Some(v) = fr.max_khz {
                self.freq_max.get_or_create(&labels).set(hz(v));
            }
        }
        self.temp.clear();
        for t in &c.temps {
            self.temp
                .get_or_create(&l(&[("chip", &t.chip), ("sensor", &t.label)]))
                .set(t.milli_c as f64 / 1000.0);
        }
        let f = self.edac.clone();
        for mc in &c.edac {
            for (kind, v) in [("corrected", mc.ce), ("uncorrected", mc.ue)] {
                let labels = l(&[("controller", &mc.name), ("kind", kind)]);
                self.count(&f, format!("edac/{}/{kind}", mc.name), &labels, v);
            }
        }
        self.numa_mem.clear();
        let f = self.numa_events.clone();
        for n in &c.numa {
            let node = n.node.to_string();
            for (kind, v) in [("total", n.total), ("free", n.free), ("used", n.used)] {
                self.numa_mem
                    .get_or_create(&l(&[("node", &node), ("kind", kind)]))
                    .set(g(v));
            }
            for (ev, v) in [
                ("hit", n.hit),
                ("miss", n.miss),
                ("foreign", n.foreign),
                ("interleave_hit", n.interleave_hit),
                ("local", n.local),
                ("other", n.other),
            ] {
                let labels = l(&[("node", &node), ("event", ev)]);
                self.count(&f, format!("numa/{node}/{ev}"), &labels, v);
            }
        }
        let f = self.softnet.clone();
        for s in &c.softnet {
            let cpu = s.cpu.to_string();
            for (ev, v) in [
                ("processed", s.processed),
                ("dropped", s.dropped),
                ("time_squeeze", s.time_squeeze),
            ] {
                let labels = l(&[("cpu", &cpu), ("event", ev)]);
                self.count(&f, format!("softnet/{cpu}/{ev}"), &labels, v);
            }
        }
        let f = self.nic_errors.clone();
        for e in &c.nic_errors {
            for (kind, v) in [
                ("rx_missed", e.rx_missed),
                ("rx_over", e.rx_over),
                ("rx_crc", e.rx_crc),
                ("rx_length", e.rx_length),
                ("rx_frame", e.rx_frame),
                ("tx_aborted", e.tx_aborted),
                ("tx_window", e.tx_window),
                ("tx_heartbeat", e.tx_heartbeat),
                ("tx_carrier", e.tx_carrier),
            ] {
                let labels = l(&[("device", &e.iface), ("kind", kind)]);
                self.count(&f, format!("nic/{}/{kind}", e.iface), &labels, v);
            }
        }
        self.fs_errors.clear();
        for e in &c.fs_errors {
            self.fs_errors
                .get_or_create(&l(&[("device", &e.device)]))
                .set(g(e.errors));
        }
        self.disk_stacked.clear();
        let st = &snap.checklist.stacking;
        for d in snap.cur.disk.devices.iter().filter(|d| !d.partition) {
            self.disk_stacked
                .get_or_create(&l(&[("device", &d.name)]))
                .set(i64::from(st.is_stacked(&d.name)));
        }
        self.files.clear();
        if let Some(f) = c.file_nr {
            for (kind, v) in [
                ("allocated", f.allocated.saturating_sub(f.unused)),
                ("max", f.max),
            ] {
                self.files.get_or_create(&l(&[("kind", kind)])).set(g(v));
            }
        }
        self.tasks.clear();
        if let Some(load) = snap.cur.cpu.load {
            let kinds = [
                ("tasks", Some(u64::from(load.entities))),
                ("threads_max", c.threads_max),
                ("pid_max", c.pid_max),
            ];
            for (kind, v) in kinds {
                if let Some(v) = v {
                    self.tasks.get_or_create(&l(&[("kind", kind)])).set(g(v));
                }
            }
        }
        if let Some(on) = c.delayacct {
            self.delayacct.set(i64::from(on));
        }
    }
}
