//! The USE checklist's remaining sources (model/checklist.rs). Each sample reads a handful of
//! small files through kept descriptors (pread from 0 makes the kernel regenerate them); what
//! exists — sensors, memory controllers, NUMA nodes, ext4 filesystems, how block devices
//! stack, the CPUs' frequency ranges and topology, the kernel's task limits — is discovered
//! once and again every `REDISCOVER` samples, when the CPUs change, or when a read finds a
//! file gone. What a machine lacks is noted in the checklist's own notes, with why.

pub mod parse;

use std::collections::HashMap;
use std::fs::File;
use std::io;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::Clock;
use super::procroot::{ProcRoot, ReadError};
use crate::model::Note;
use crate::model::checklist::{
    BlockStack, ChecklistSample, CpuFreq, EdacMc, FsErrors, NicErrors, NumaNode, Temp, Throttle,
    source,
};
use crate::model::net::{IfaceStat, NetSample};
use parse::{
    parse_count, parse_cpuinfo_mhz, parse_file_nr, parse_id_list, parse_interrupts_hw,
    parse_node_meminfo, parse_numastat, parse_proc_schedstat, parse_softnet, parse_value,
};

/// Samples between two discoveries of what exists.
pub const REDISCOVER: u32 = 30;
/// Descriptors this collector keeps open at most (the task collector has the rest of the
/// open-files limit); past it, files are opened and closed each time.
const MAX_KEPT: usize = 512;
/// Temperature sensors read at most.
const MAX_SENSORS: usize = 64;
/// hwmon chips that measure the CPU (package, cores, die). Others (drivetemp, nvme) are
/// left out: reading a disk's temperature can send it a command and wake it.
const CPU_CHIPS: &[&str] = &[
    "coretemp",
    "k10temp",
    "k8temp",
    "zenpower",
    "via_cputemp",
    "cpu_thermal",
    "cpu-thermal",
    "soc_thermal",
];

/// Descriptors kept open between samples, by path.
#[derive(Default)]
struct Kept {
    files: HashMap<PathBuf, File>,
}

/// pread from offset 0 until EOF into `buf` (cleared first), bounded at 4 MiB.
fn read_at_full(f: &File, buf: &mut Vec<u8>) -> io::Result<()> {
    buf.clear();
    loop {
        let len = buf.len();
        if len >= 4 << 20 {
            return Ok(());
        }
        buf.resize(len + 4096.max(len), 0);
        match f.read_at(&mut buf[len..], len as u64) {
            Ok(0) => {
                buf.truncate(len);
                return Ok(());
            }
            Ok(n) => buf.truncate(len + n),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => buf.truncate(len),
            Err(e) => {
                buf.truncate(len);
                return Err(e);
            }
        }
    }
}

impl Kept {
    fn read(&mut self, path: &Path, buf: &mut Vec<u8>) -> Result<(), ReadError> {
        if let Some(f) = self.files.get(path) {
            if read_at_full(f, buf).is_ok() {
                return Ok(());
            }
            // A device or CPU that went away: its descriptor reads ENODEV from now on.
            self.files.remove(path);
        }
        let f = File::open(path).map_err(|e| ReadError::from_io(path, e))?;
        read_at_full(&f, buf).map_err(|e| ReadError::from_io(path, e))?;
        if self.files.len() < MAX_KEPT {
            self.files.insert(path.to_path_buf(), f);
        }
        Ok(())
    }
}

struct FreqFiles {
    cpu: u32,
    cur: PathBuf,
    min_khz: Option<u64>,
    max_khz: Option<u64>,
}

struct Sensor {
    chip: String,
    label: String,
    input: PathBuf,
    crit_milli_c: Option<i64>,
}

/// What exists on this machine, as last discovered.
#[derive(Default)]
struct Layout {
    cpus: Vec<u32>,
    /// (CPU, path) of one CPU per core, and (package, path) of one CPU per package.
    throttle_cores: Vec<(u32, PathBuf)>,
    throttle_pkgs: Vec<(u32, PathBuf)>,
    freq: Vec<FreqFiles>,
    /// No cpufreq driver: (cpu, kHz) from /proc/cpuinfo at discovery.
    cpuinfo_khz: Vec<(u32, u64)>,
    sensors: Vec<Sensor>,
    edac: Vec<(String, PathBuf, PathBuf)>,
    numa_nodes: Vec<u32>,
    ext4: Vec<(String, PathBuf)>,
    block_stack: Arc<Vec<BlockStack>>,
    threads_max: Option<u64>,
    pid_max: Option<u64>,
    /// /proc/interrupts has an MCE row. Where it has none (not x86, a VM) it is not read
    /// every sample: generating it walks every interrupt and is the costliest file here.
    mce_rows: bool,
    /// /proc/schedstat exists (CONFIG_SCHEDSTATS).
    schedstat: bool,
    /// Notes of the discovery itself (what does not exist here, and why).
    notes: Vec<Note>,
}

pub struct ChecklistCollector {
    root: ProcRoot,
    kept: Kept,
    buf: Vec<u8>,
    layout: Layout,
    /// Samples since the last discovery; `None` before the first.
    since: Option<u32>,
    /// A read found a discovered file gone: discover again next sample. (A file that
    /// reads but does not parse is skipped, not rediscovered: that would not mend it.)
    stale: bool,
    /// The layout's notes, shared by every sample until the next discovery.
    notes: Arc<Vec<Note>>,
}

fn note(notes: &mut Vec<Note>, source: &str, reason: impl Into<String>) {
    notes.push(Note {
        source: source.into(),
        reason: reason.into(),
    });
}

/// A directory's entry names, sorted; names that are not UTF-8 are skipped (sysfs device,
/// chip and controller names are ASCII).
fn list_dir(path: &Path) -> Result<Vec<String>, ReadError> {
    let rd = std::fs::read_dir(path).map_err(|e| ReadError::from_io(path, e))?;
    let mut names: Vec<String> = rd
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .collect();
    names.sort_by_key(|a| natural(a));
    Ok(names)
}

/// Sort key that puts `mc2` before `mc10`.
fn natural(s: &str) -> (String, u64) {
    let digits = s.len() - s.trim_end_matches(|c: char| c.is_ascii_digit()).len();
    let (head, num) = s.split_at(s.len() - digits);
    (head.to_string(), num.parse().unwrap_or(0))
}

/// The number after `prefix` in a name such as `node3`, `mc0`.
fn suffix_id(name: &str, prefix: &str) -> Option<u32> {
    let rest = name.strip_prefix(prefix)?;
    (!rest.is_empty() && rest.bytes().all(|b| b.is_ascii_digit()))
        .then(|| rest.parse().ok())
        .flatten()
}

impl ChecklistCollector {
    pub fn new(root: &ProcRoot) -> ChecklistCollector {
        ChecklistCollector {
            root: root.clone(),
            kept: Kept::default(),
            buf: Vec::with_capacity(16 * 1024),
            layout: Layout::default(),
            since: None,
            stale: false,
            notes: Arc::default(),
        }
    }

    fn read(&mut self, path: &Path) -> Result<&[u8], ReadError> {
        self.kept.read(path, &mut self.buf)?;
        Ok(&self.buf)
    }

    /// Reads a small file without keeping its descriptor (discovery only).
    fn read_once(&self, path: &Path) -> Result<Vec<u8>, ReadError> {
        let mut buf = Vec::with_capacity(64);
        self.root.read_into(path, &mut buf)?;
        Ok(buf)
    }

    fn read_value_once(&self, path: &Path) -> Option<i64> {
        self.read_once(path).ok().and_then(|b| parse_value(&b).ok())
    }

    fn read_text_once(&self, path: &Path) -> Option<String> {
        self.read_once(path)
            .ok()
            .map(|b| String::from_utf8_lossy(b.trim_ascii()).into_owned())
            .filter(|s| !s.is_empty())
    }

    /// One sample of every checklist source. `cpus` are the CPUs in /proc/stat (online),
    /// `net` the interfaces just read (their summed counters gate the detailed ones).
    pub fn sample(&mut self, clock: &dyn Clock, cpus: &[u32], net: &NetSample) -> ChecklistSample {
        let due = match self.since {
            None => true,
            Some(n) => n + 1 >= REDISCOVER || self.stale || self.layout.cpus != cpus,
        };
        if due {
            self.discover(cpus);
            self.since = Some(0);
            self.stale = false;
            // Descriptors of the old layout may name files that are gone.
            self.kept.files.clear();
        } else {
            self.since = self.since.map(|n| n + 1);
        }
        // Stamped around the reads only: a discovery before them is not part of the interval.
        let t0 = clock.mono_ns();
        let mut out = ChecklistSample {
            read: true,
            numa_nodes: self.layout.numa_nodes.len() as u32,
            block_stack: Arc::clone(&self.layout.block_stack),
            threads_max: self.layout.threads_max,
            pid_max: self.layout.pid_max,
            ..ChecklistSample::default()
        };
        let mut extra = Vec::new();
        self.sample_proc(&mut out, &mut extra);
        self.sample_cpu_files(&mut out);
        self.sample_counters(&mut out, &mut extra);
        self.sample_nics(net, &mut out, &mut extra);
        // Unchanged notes are the same Arc in every sample the ring holds.
        out.notes = if extra.is_empty() {
            Arc::clone(&self.notes)
        } else {
            Arc::new(self.notes.iter().cloned().chain(extra).collect())
        };
        let t1 = clock.mono_ns();
        out.mono_ns = t0 + t1.saturating_sub(t0) / 2;
        out
    }

    /// The /proc files: schedstat, interrupts, softnet_stat, file-nr, task_delayacct.
    fn sample_proc(&mut self, out: &mut ChecklistSample, notes: &mut Vec<Note>) {
        if self.layout.schedstat {
            let path = self.root.proc_path("schedstat");
            match self.read(&path).map(parse_proc_schedstat) {
                Ok(Ok((_, cpus))) => out.sched = cpus,
                Ok(Err(e)) => note(notes, source::SCHEDSTAT, format!("{}: {e}", path.display())),
                Err(e) => {
                    self.stale |= e.is_gone();
                    note(notes, source::SCHEDSTAT, e.to_string());
                }
            }
        }
        if self.layout.mce_rows {
            let path = self.root.proc_path("interrupts");
            match self.read(&path).map(parse_interrupts_hw) {
                Ok(Ok(h)) => out.hw_irqs = Some(h),
                Ok(Err(e)) => note(
                    notes,
                    source::INTERRUPTS,
                    format!("{}: {e}", path.display()),
                ),
                Err(e) => note(notes, source::INTERRUPTS, e.to_string()),
            }
        }
        let path = self.root.proc_path("net/softnet_stat");
        match self.read(&path).map(parse_softnet) {
            Ok(Ok((mut lines, named))) => {
                if !named {
                    // Lines are the online CPUs in order.
                    for (line, cpu) in lines.iter_mut().zip(&self.layout.cpus) {
                        line.cpu = *cpu;
                    }
                }
                out.softnet = lines;
                out.softnet_cpu_by_position = !named;
            }
            Ok(Err(e)) => note(notes, source::SOFTNET, format!("{}: {e}", path.display())),
            Err(e) => note(notes, source::SOFTNET, e.to_string()),
        }
        let path = self.root.proc_path("sys/fs/file-nr");
        match self.read(&path).map(parse_file_nr) {
            Ok(Ok(f)) => out.file_nr = Some(f),
            Ok(Err(e)) => note(notes, source::FILE_NR, format!("{}: {e}", path.display())),
            Err(e) => note(notes, source::FILE_NR, e.to_string()),
        }
        let path = self.root.proc_path("sys/kernel/task_delayacct");
        match self.read(&path).map(parse_value) {
            Ok(Ok(v)) => out.delayacct = Some(v != 0),
            Ok(Err(e)) => note(notes, source::DELAYACCT, format!("{}: {e}", path.display())),
            Err(ReadError::Gone(p)) => note(
                notes,
                source::DELAYACCT,
                format!(
                    "{}: not found (kernel before 5.14: delay accounting is on unless booted with nodelayacct)",
                    p.display()
                ),
            ),
            Err(e) => note(notes, source::DELAYACCT, e.to_string()),
        }
    }

    /// Per-CPU sysfs files: throttle counts, current frequency, temperatures.
    fn sample_cpu_files(&mut self, out: &mut ChecklistSample) {
        let cores = std::mem::take(&mut self.layout.throttle_cores);
        let pkgs = std::mem::take(&mut self.layout.throttle_pkgs);
        if !cores.is_empty() || !pkgs.is_empty() {
            let mut t = Throttle::default();
            for (id, path) in &cores {
                match self.read(path).map(parse_count) {
                    Ok(Ok(v)) => t.cores.push((*id, v)),
                    Err(ReadError::Gone(_)) => self.stale = true,
                    _ => {}
                }
            }
            for (id, path) in &pkgs {
                match self.read(path).map(parse_count) {
                    Ok(Ok(v)) => t.packages.push((*id, v)),
                    Err(ReadError::Gone(_)) => self.stale = true,
                    _ => {}
                }
            }
            out.throttle = Some(t);
        }
        self.layout.throttle_cores = cores;
        self.layout.throttle_pkgs = pkgs;

        let freq = std::mem::take(&mut self.layout.freq);
        for f in &freq {
            match self.read(&f.cur).map(parse_count) {
                Ok(Ok(khz)) => out.freq.push(CpuFreq {
                    cpu: f.cpu,
                    cur_khz: khz,
                    min_khz: f.min_khz,
                    max_khz: f.max_khz,
                }),
                Err(ReadError::Gone(_)) => self.stale = true,
                _ => {}
            }
        }
        self.layout.freq = freq;
        if self.layout.freq.is_empty() && !self.layout.cpuinfo_khz.is_empty() {
            out.freq_from_cpuinfo = true;
            out.freq = self
                .layout
                .cpuinfo_khz
                .iter()
                .map(|&(cpu, khz)| CpuFreq {
                    cpu,
                    cur_khz: khz,
                    min_khz: None,
                    max_khz: None,
                })
                .collect();
        }

        let sensors = std::mem::take(&mut self.layout.sensors);
        for s in &sensors {
            match self.read(&s.input).map(parse_value) {
                Ok(Ok(v)) => out.temps.push(Temp {
                    chip: s.chip.clone(),
                    label: s.label.clone(),
                    milli_c: v,
                    crit_milli_c: s.crit_milli_c,
                }),
                // A sensor that cannot be read right now (ENODATA, EAGAIN) is left out.
                Err(ReadError::Gone(_)) => self.stale = true,
                _ => {}
            }
        }
        self.layout.sensors = sensors;
    }

    /// EDAC, NUMA nodes and ext4 error counts.
    fn sample_counters(&mut self, out: &mut ChecklistSample, notes: &mut Vec<Note>) {
        let edac = std::mem::take(&mut self.layout.edac);
        for (name, ce_path, ue_path) in &edac {
            let ce = self.read(ce_path).map(parse_count);
            let ue = self.read(ue_path).map(parse_count);
            match (ce, ue) {
                (Ok(Ok(ce)), Ok(Ok(ue))) => out.edac.push(EdacMc {
                    name: name.clone(),
                    ce,
                    ue,
                }),
                (Err(ReadError::Gone(_)), _) | (_, Err(ReadError::Gone(_))) => self.stale = true,
                _ => {}
            }
        }
        self.layout.edac = edac;
        if self.layout.numa_nodes.len() > 1 {
            let nodes = self.layout.numa_nodes.clone();
            for node in nodes {
                let dir = format!("devices/system/node/node{node}");
                let mem = self
                    .read(&self.root.sys_path(&format!("{dir}/meminfo")))
                    .map(parse_node_meminfo);
                let Ok(Ok((total, free, used))) = mem else {
                    self.stale |= matches!(mem, Err(ReadError::Gone(_)));
                    continue;
                };
                let path = self.root.sys_path(&format!("{dir}/numastat"));
                match self.read(&path).map(|b| parse_numastat(b, node)) {
                    Ok(Ok(n)) => out.numa.push(NumaNode {
                        total,
                        free,
                        used,
                        ..n
                    }),
                    Err(ReadError::Gone(_)) => self.stale = true,
                    _ => {}
                }
            }
            if out.numa.is_empty() {
                note(notes, source::NUMA, "node meminfo/numastat unreadable");
            }
        }
        let ext4 = std::mem::take(&mut self.layout.ext4);
        for (dev, path) in &ext4 {
            match self.read(path).map(parse_count) {
                Ok(Ok(errors)) => out.fs_errors.push(FsErrors {
                    device: dev.clone(),
                    errors,
                }),
                Err(ReadError::Gone(_)) => self.stale = true,
                _ => {}
            }
        }
        self.layout.ext4 = ext4;
    }

    /// Detailed error counters, read only for interfaces whose /proc/net/dev sums are not
    /// zero: a zero sum means every counter in it is zero, and most interfaces never err.
    fn sample_nics(&mut self, net: &NetSample, out: &mut ChecklistSample, notes: &mut Vec<Note>) {
        let dir = self.root.sys_path("class/net");
        if !net.ifaces.is_empty() && !dir.is_dir() {
            note(
                notes,
                source::NIC_ERRORS,
                format!("{}: not readable", dir.display()),
            );
            return;
        }
        for i in &net.ifaces {
            if let Some(e) = self.nic_errors(&dir, i) {
                out.nic_errors.push(e);
            }
        }
    }

    fn nic_errors(&mut self, dir: &Path, i: &IfaceStat) -> Option<NicErrors> {
        let mut e = NicErrors {
            iface: i.name.clone(),
            ..NicErrors::default()
        };
        // All sums zero: so is every counter in them, and nothing need be read or kept.
        if i.rx_drop == 0 && i.rx_frame == 0 && i.tx_carrier == 0 {
            return None;
        }
        // A name that cannot be a path component (lossy UTF-8, a hostile fixture) is skipped.
        if i.name.is_empty() || i.name.contains(['/', '\u{fffd}']) || i.name == ".." {
            return None;
        }
        let stats = dir.join(&i.name).join("statistics");
        let mut read = |file: &str| -> u64 {
            self.read(&stats.join(file))
                .ok()
                .and_then(|b| parse_count(b).ok())
                .unwrap_or(0)
        };
        if i.rx_drop > 0 {
            e.rx_missed = read("rx_missed_errors");
        }
        if i.rx_frame > 0 {
            e.rx_length = read("rx_length_errors");
            e.rx_over = read("rx_over_errors");
            e.rx_crc = read("rx_crc_errors");
            e.rx_frame = read("rx_frame_errors");
        }
        if i.tx_carrier > 0 {
            e.tx_carrier = read("tx_carrier_errors");
            e.tx_aborted = read("tx_aborted_errors");
            e.tx_window = read("tx_window_errors");
            e.tx_heartbeat = read("tx_heartbeat_errors");
        }
        Some(e)
    }

    /// Finds what exists: CPU files, sensors, memory controllers, nodes, ext4 filesystems,
    /// block stacks and the task limits.
    fn discover(&mut self, cpus: &[u32]) {
        let mut l = Layout {
            cpus: cpus.to_vec(),
            ..Layout::default()
        };
        self.discover_cpus(&mut l);
        self.discover_sensors(&mut l);
        self.discover_edac(&mut l);
        self.discover_numa(&mut l);
        self.discover_fs_and_blocks(&mut l);
        let limit = |rel: &str| {
            self.read_value_once(&self.root.proc_path(rel))
                .and_then(|v| u64::try_from(v).ok())
        };
        let path = self.root.proc_path("schedstat");
        match self.read_once(&path) {
            Ok(_) => l.schedstat = true,
            Err(ReadError::Gone(p)) => note(
                &mut l.notes,
                source::SCHEDSTAT,
                format!(
                    "{}: not found (kernel built without CONFIG_SCHEDSTATS)",
                    p.display()
                ),
            ),
            Err(e) => note(&mut l.notes, source::SCHEDSTAT, e.to_string()),
        }
        let path = self.root.proc_path("interrupts");
        match self.read_once(&path).map(|b| parse_interrupts_hw(&b)) {
            Ok(Ok(h)) if h.mce.is_some() => l.mce_rows = true,
            Ok(Ok(_)) => note(
                &mut l.notes,
                source::INTERRUPTS,
                format!(
                    "{}: no MCE row (no machine-check support: not x86, or a VM)",
                    path.display()
                ),
            ),
            Ok(Err(e)) => note(
                &mut l.notes,
                source::INTERRUPTS,
                format!("{}: {e}", path.display()),
            ),
            Err(e) => note(&mut l.notes, source::INTERRUPTS, e.to_string()),
        }
        l.threads_max = limit("sys/kernel/threads-max");
        l.pid_max = limit("sys/kernel/pid_max");
        if l.threads_max.is_none() || l.pid_max.is_none() {
            note(
                &mut l.notes,
                source::TASK_LIMITS,
                format!(
                    "{}: kernel.threads-max or pid_max unreadable",
                    self.root.proc_path("sys/kernel").display()
                ),
            );
        }
        // Unchanged stacks keep the previous Arc, so a ring of samples holds one copy.
        if *l.block_stack == *self.layout.block_stack {
            l.block_stack = Arc::clone(&self.layout.block_stack);
        }
        if *self.notes != l.notes {
            self.notes = Arc::new(std::mem::take(&mut l.notes));
        }
        self.layout = l;
    }

    fn discover_cpus(&self, l: &mut Layout) {
        let cpu_dir = |cpu: u32, rel: &str| {
            self.root
                .sys_path(&format!("devices/system/cpu/cpu{cpu}/{rel}"))
        };
        let mut cores_seen: Vec<(i64, i64)> = Vec::new();
        let mut pkgs_seen: Vec<i64> = Vec::new();
        for &cpu in &l.cpus {
            let core_file = cpu_dir(cpu, "thermal_throttle/core_throttle_count");
            if core_file.exists() {
                let pkg = self
                    .read_value_once(&cpu_dir(cpu, "topology/physical_package_id"))
                    .unwrap_or(-1);
                let core = self
                    .read_value_once(&cpu_dir(cpu, "topology/core_id"))
                    .unwrap_or(i64::from(cpu));
                // Hyper-threads share their core's counter, CPUs their package's.
                if !cores_seen.contains(&(pkg, core)) {
                    cores_seen.push((pkg, core));
                    l.throttle_cores.push((cpu, core_file));
                }
                let pkg_file = cpu_dir(cpu, "thermal_throttle/package_throttle_count");
                if !pkgs_seen.contains(&pkg) && pkg_file.exists() {
                    pkgs_seen.push(pkg);
                    l.throttle_pkgs
                        .push((u32::try_from(pkg).unwrap_or(u32::MAX), pkg_file));
                }
            }
            let cur = cpu_dir(cpu, "cpufreq/scaling_cur_freq");
            if cur.exists() {
                let khz = |f: &str| {
                    self.read_value_once(&cpu_dir(cpu, f))
                        .and_then(|v| u64::try_from(v).ok())
                };
                l.freq.push(FreqFiles {
                    cpu,
                    cur,
                    min_khz: khz("cpufreq/cpuinfo_min_freq"),
                    max_khz: khz("cpufreq/cpuinfo_max_freq"),
                });
            }
        }
        let cpu0 = self.root.sys_path("devices/system/cpu");
        if l.throttle_cores.is_empty() {
            note(
                &mut l.notes,
                source::THROTTLE,
                format!(
                    "{}/cpu*/thermal_throttle: not found (not an Intel CPU, or a VM)",
                    cpu0.display()
                ),
            );
        }
        if l.freq.is_empty() {
            l.cpuinfo_khz = self
                .read_once(&self.root.proc_path("cpuinfo"))
                .map(|b| parse_cpuinfo_mhz(&b))
                .unwrap_or_default();
            note(
                &mut l.notes,
                source::CPUFREQ,
                if l.cpuinfo_khz.is_empty() {
                    format!(
                        "{}/cpu*/cpufreq: not found (no cpufreq driver; usual in a VM) and no MHz in cpuinfo",
                        cpu0.display()
                    )
                } else {
                    format!(
                        "{}/cpu*/cpufreq: not found (no cpufreq driver; usual in a VM): MHz from /proc/cpuinfo, no range",
                        cpu0.display()
                    )
                },
            );
        }
    }

    fn discover_sensors(&self, l: &mut Layout) {
        let hwmon = self.root.sys_path("class/hwmon");
        let mut fallback: Vec<Sensor> = Vec::new();
        for dev in list_dir(&hwmon).unwrap_or_default() {
            let dir = hwmon.join(&dev);
            let Some(chip) = self
                .read_text_once(&dir.join("name"))
                .or_else(|| self.read_text_once(&dir.join("device/name")))
            else {
                continue;
            };
            let acpi = chip == "acpitz";
            if !CPU_CHIPS.contains(&chip.as_str()) && !acpi {
                continue;
            }
            for file in list_dir(&dir).unwrap_or_default() {
                let Some(n) = file
                    .strip_prefix("temp")
                    .and_then(|r| r.strip_suffix("_input"))
                else {
                    continue;
                };
                let label = self
                    .read_text_once(&dir.join(format!("temp{n}_label")))
                    .unwrap_or_else(|| format!("temp{n}"));
                let s = Sensor {
                    chip: chip.clone(),
                    label,
                    input: dir.join(&file),
                    crit_milli_c: self.read_value_once(&dir.join(format!("temp{n}_crit"))),
                };
                // ACPI's thermal zone is a guess at the CPU; used only when nothing better.
                if acpi { &mut fallback } else { &mut l.sensors }.push(s);
            }
        }
        if l.sensors.is_empty() {
            let thermal = self.root.sys_path("class/thermal");
            for zone in list_dir(&thermal).unwrap_or_default() {
                if !zone.starts_with("thermal_zone") {
                    continue;
                }
                let dir = thermal.join(&zone);
                let Some(kind) = self.read_text_once(&dir.join("type")) else {
                    continue;
                };
                let cpuish = kind == "x86_pkg_temp" || kind.contains("cpu") || kind.contains("soc");
                if !cpuish && kind != "acpitz" {
                    continue;
                }
                let s = Sensor {
                    chip: kind.clone(),
                    label: zone.clone(),
                    input: dir.join("temp"),
                    crit_milli_c: None,
                };
                if cpuish {
                    &mut l.sensors
                } else {
                    &mut fallback
                }
                .push(s);
            }
        }
        if l.sensors.is_empty() {
            l.sensors = fallback;
        }
        l.sensors.truncate(MAX_SENSORS);
        if l.sensors.is_empty() {
            note(
                &mut l.notes,
                source::TEMP,
                format!(
                    "no CPU temperature sensor in {} or {} (usual in a VM)",
                    hwmon.display(),
                    self.root.sys_path("class/thermal").display()
                ),
            );
        }
    }

    fn discover_edac(&self, l: &mut Layout) {
        let dir = self.root.sys_path("devices/system/edac/mc");
        match list_dir(&dir) {
            Ok(names) => {
                for mc in names.into_iter().filter(|n| suffix_id(n, "mc").is_some()) {
                    let d = dir.join(&mc);
                    l.edac.push((mc, d.join("ce_count"), d.join("ue_count")));
                }
                if l.edac.is_empty() {
                    note(
                        &mut l.notes,
                        source::EDAC,
                        format!("{}: no memory controller registered", dir.display()),
                    );
                }
            }
            Err(ReadError::Gone(_)) => note(
                &mut l.notes,
                source::EDAC,
                format!(
                    "{}: not found (no EDAC driver for this memory controller; usual in a VM)",
                    dir.display()
                ),
            ),
            Err(e) => note(&mut l.notes, source::EDAC, e.to_string()),
        }
    }

    fn discover_numa(&self, l: &mut Layout) {
        let path = self.root.sys_path("devices/system/node/online");
        match self.read_once(&path).map(|b| parse_id_list(&b)) {
            Ok(Ok(ids)) if !ids.is_empty() => l.numa_nodes = ids,
            Ok(_) => note(
                &mut l.notes,
                source::NUMA,
                format!("{}: no node listed", path.display()),
            ),
            Err(ReadError::Gone(p)) => note(
                &mut l.notes,
                source::NUMA,
                format!("{}: not found (kernel without NUMA)", p.display()),
            ),
            Err(e) => note(&mut l.notes, source::NUMA, e.to_string()),
        }
    }

    fn discover_fs_and_blocks(&self, l: &mut Layout) {
        let ext4 = self.root.sys_path("fs/ext4");
        for dev in list_dir(&ext4).unwrap_or_default() {
            let p = ext4.join(&dev).join("errors_count");
            if dev != "features" && p.exists() {
                l.ext4.push((dev, p));
            }
        }
        if l.ext4.is_empty() {
            note(
                &mut l.notes,
                source::FS_ERRORS,
                format!(
                    "{}: no filesystem with errors_count (only ext4 counts its errors in /sys)",
                    ext4.display()
                ),
            );
        }
        let block = self.root.sys_path("block");
        let mut stack = Vec::new();
        match list_dir(&block) {
            Ok(devs) => {
                for dev in devs {
                    let d = block.join(&dev);
                    let slaves = list_dir(&d.join("slaves")).unwrap_or_default();
                    let holders = list_dir(&d.join("holders")).unwrap_or_default();
                    let dm_name = self.read_text_once(&d.join("dm/name"));
                    if !slaves.is_empty() || !holders.is_empty() || dm_name.is_some() {
                        stack.push(BlockStack {
                            name: dev,
                            slaves,
                            holders,
                            dm_name,
                        });
                    }
                }
            }
            Err(e) => note(&mut l.notes, source::BLOCK_STACK, e.to_string()),
        }
        l.block_stack = Arc::new(stack);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn natural_order() {
        let mut v = vec!["mc10", "mc2", "mc0", "features"];
        v.sort_by_key(|a| natural(a));
        assert_eq!(v, vec!["features", "mc0", "mc2", "mc10"]);
        assert_eq!(suffix_id("node12", "node"), Some(12));
        assert_eq!(suffix_id("node", "node"), None);
        assert_eq!(suffix_id("nodex", "node"), None);
    }
}
