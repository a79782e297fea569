//! `usetop dump`: snapshots as JSON lines or CSV for scripts. Field names carry their unit
//! (`_pct`, `_bytes`, `_per_s`, `_kbps` = KiB/s) and are documented in the README; a figure
//! that could not be measured is `null` in JSON and empty in CSV.
//!
//! Live, dump samples on fixed deadlines (start + k × interval), as live mode and record do;
//! from a recording it streams: one frame decoded at a time, never the whole file.

use std::io::Write;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use serde::Serialize;
use serde_json::{Map, Value};

use super::records;
pub use super::records::{
    DiskHeader, DiskRecord, NetHeader, NicRecord, PerfCpuRecord, PerfHeader, SlabHeader,
    SlabRecord, SockHeader, SockRecord, TcpRecord, UdpRecord,
};
use crate::collectors::{Clock, Request, SystemClock};
use crate::model::fields::{
    self, CGROUP_FIELDS, DISK_FIELDS, Field, NIC_FIELDS, PERF_CPU_FIELDS, PROC_FIELDS, ProcRow,
    SLAB_FIELDS, SOCK_FIELDS,
};
use crate::model::{Sample, Snapshot};
use crate::store::ReadStats;
use crate::store::format_utc;
use crate::store::replay::{ReplayError, Series};

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    Json,
    Csv,
    Openmetrics,
}

/// What a dump shows: the system summary, or one row per CPU, process, block device,
/// interface, TCP socket, slab cache or CPU's hardware counters.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum View {
    System,
    Cpu,
    Proc,
    Disk,
    Net,
    Sock,
    Slab,
    Perf,
    Cgroup,
}

impl View {
    /// The view for a pane, by the pane's name (`--pane`): export knows pane names, not the
    /// panes themselves. The USE and memory panes dump the system summary.
    pub fn for_pane(name: &str) -> Result<View, String> {
        match name {
            "use" | "mem" => Ok(View::System),
            "cpu" => Ok(View::Cpu),
            "proc" => Ok(View::Proc),
            "disk" => Ok(View::Disk),
            "net" => Ok(View::Net),
            "sock" => Ok(View::Sock),
            "slab" => Ok(View::Slab),
            "perf" => Ok(View::Perf),
            "cgroup" => Ok(View::Cgroup),
            other => Err(format!(
                "no dump view for pane {other:?}; one of: use, mem, cpu, proc, disk, net, sock, slab, perf, cgroup"
            )),
        }
    }

    /// Every view but `Cgroup`, whose fields tests/cgroup_export.rs checks on a cgroup
    /// fixture (the basic fixture has no cgroups).
    pub const ALL: [View; 8] = [
        View::System,
        View::Cpu,
        View::Proc,
        View::Disk,
        View::Net,
        View::Sock,
        View::Slab,
        View::Perf,
    ];
}

/// The system summary of one snapshot: one JSON object, one CSV row.
#[derive(Clone, Debug, Default, PartialEq, Serialize, serde::Deserialize)]
pub struct SystemRecord {
    pub time: String,
    pub wall_ms: i64,
    pub seq: u64,
    pub interval_s: f64,
    pub host: String,
    pub ncpu: usize,
    pub cpu_busy_pct: Option<f64>,
    pub cpu_usr_pct: Option<f64>,
    pub cpu_sys_pct: Option<f64>,
    pub cpu_iowait_pct: Option<f64>,
    pub cpu_steal_pct: Option<f64>,
    pub cpu_idle_pct: Option<f64>,
    pub load1: Option<f64>,
    pub load5: Option<f64>,
    pub load15: Option<f64>,
    pub procs_running: u32,
    pub procs_blocked: u32,
    pub processes: usize,
    pub ctxt_per_s: Option<f64>,
    pub intr_per_s: Option<f64>,
    pub forks_per_s: Option<f64>,
    pub mem_total_bytes: Option<u64>,
    pub mem_used_bytes: Option<u64>,
    pub mem_free_bytes: Option<u64>,
    pub mem_available_bytes: Option<u64>,
    pub mem_buff_cache_bytes: Option<u64>,
    pub mem_shared_bytes: Option<u64>,
    pub swap_total_bytes: Option<u64>,
    pub swap_used_bytes: Option<u64>,
    pub swap_in_kbps: Option<f64>,
    pub swap_out_kbps: Option<f64>,
    pub page_in_kbps: Option<f64>,
    pub page_out_kbps: Option<f64>,
    pub pgfault_per_s: Option<f64>,
    pub majfault_per_s: Option<f64>,
    pub pgscan_per_s: Option<f64>,
    pub oom_kills: Option<u64>,
    pub psi_cpu_some_pct: Option<f64>,
    pub psi_mem_some_pct: Option<f64>,
    pub psi_mem_full_pct: Option<f64>,
    #[serde(flatten)]
    pub checklist: super::checklist::SystemChecklist,
}

impl SystemRecord {
    pub fn from_snapshot(s: &Snapshot) -> SystemRecord {
        let c = &s.cur;
        let t = s.cpu.total;
        let f = s.free;
        let load = c.cpu.load;
        SystemRecord {
            time: format_utc(c.wall_ms),
            wall_ms: c.wall_ms,
            seq: s.seq,
            interval_s: s.dt_s,
            host: c.host.hostname.clone(),
            ncpu: s.cpu.ncpu,
            cpu_busy_pct: t.map(|t| t.busy()),
            cpu_usr_pct: t.map(|t| t.usr),
            cpu_sys_pct: t.map(|t| t.sys),
            cpu_iowait_pct: t.map(|t| t.iowait),
            cpu_steal_pct: t.map(|t| t.steal),
            cpu_idle_pct: t.map(|t| t.idle),
            load1: load.map(|l| l.one),
            load5: load.map(|l| l.five),
            load15: load.map(|l| l.fifteen),
            procs_running: c.cpu.procs_running,
            procs_blocked: c.cpu.procs_blocked,
            processes: c.tasks.procs.len(),
            ctxt_per_s: s.cpu.ctxt_s,
            intr_per_s: s.cpu.intr_s,
            forks_per_s: s.cpu.forks_s,
            mem_total_bytes: f.map(|f| f.total),
            mem_used_bytes: f.map(|f| f.used),
            mem_free_bytes: f.map(|f| f.free),
            mem_available_bytes: f.map(|f| f.available),
            mem_buff_cache_bytes: f.map(|f| f.buff_cache),
            mem_shared_bytes: f.map(|f| f.shared),
            swap_total_bytes: f.map(|f| f.swap_total),
            swap_used_bytes: f.map(|f| f.swap_used),
            swap_in_kbps: s.mem.si_kbs,
            swap_out_kbps: s.mem.so_kbs,
            page_in_kbps: s.mem.bi_kbs,
            page_out_kbps: s.mem.bo_kbs,
            pgfault_per_s: s.mem.pgfault_s,
            majfault_per_s: s.mem.majfault_s,
            pgscan_per_s: s.mem.pgscan_s,
            oom_kills: s.mem.oom_kills,
            psi_cpu_some_pct: s.psi_cpu_some,
            psi_mem_some_pct: s.psi_mem_some,
            psi_mem_full_pct: s.psi_mem_full,
            checklist: super::checklist::SystemChecklist::from_snapshot(s),
        }
    }
}

/// One CPU over one interval (mpstat -P ALL).
#[derive(Clone, Debug, Default, PartialEq, Serialize, serde::Deserialize)]
pub struct CpuRecord {
    pub cpu: u32,
    pub busy_pct: Option<f64>,
    pub usr_pct: Option<f64>,
    pub nice_pct: Option<f64>,
    pub sys_pct: Option<f64>,
    pub iowait_pct: Option<f64>,
    pub irq_pct: Option<f64>,
    pub soft_pct: Option<f64>,
    pub steal_pct: Option<f64>,
    pub guest_pct: Option<f64>,
    pub gnice_pct: Option<f64>,
    pub idle_pct: Option<f64>,
    #[serde(flatten)]
    pub checklist: super::checklist::CpuChecklist,
}

fn cpu_records(s: &Snapshot) -> Vec<CpuRecord> {
    s.cpu
        .per_cpu
        .iter()
        .map(|(id, p)| CpuRecord {
            cpu: *id,
            busy_pct: p.map(|p| p.busy()),
            usr_pct: p.map(|p| p.usr),
            nice_pct: p.map(|p| p.nice),
            sys_pct: p.map(|p| p.sys),
            iowait_pct: p.map(|p| p.iowait),
            irq_pct: p.map(|p| p.irq),
            soft_pct: p.map(|p| p.soft),
            steal_pct: p.map(|p| p.steal),
            guest_pct: p.map(|p| p.guest),
            gnice_pct: p.map(|p| p.gnice),
            idle_pct: p.map(|p| p.idle),
            checklist: super::checklist::CpuChecklist::for_cpu(s, *id),
        })
        .collect()
}

/// One map per process over one interval (pidstat -u -r -d), with every field of
/// `PROC_FIELDS` that has a dump name, in that order. `comm` only: command lines can hold
/// secrets and are left to the dashboard.
/// One JSON object per process, made as it is written (a dump of 100,000 processes never
/// holds them all as JSON).
fn proc_records(s: &Snapshot) -> Rows {
    let net = s.sockets.per_pid.clone();
    let hz = s.cur.hz;
    let boot = s.cur.cpu.boot_time;
    let now = s.cur.wall_ms / 1000;
    let tasks = s.tasks();
    let cgroups: std::collections::HashMap<u32, crate::model::cgroup::TaskCgroup> = s
        .cur
        .task_cgroups
        .iter()
        .map(|c| (c.pid, c.clone()))
        .collect();
    Box::new((0..tasks.len()).map(move |i| {
        let task = tasks[i].clone();
        let row = ProcRow {
            net: net.get(&task.rec.pid()).copied(),
            hz,
            boot,
            now,
            extra: None,
            cgroup: cgroups.get(&task.rec.tgid).cloned().map(Box::new),
            task,
        };
        PROC_FIELDS
            .iter()
            .filter_map(|f| Some((f.dump?.to_string(), json_value((f.value)(&row)))))
            .collect()
    }))
}

/// A field's value as JSON: a figure that could not be measured or read is `null`.
fn json_value(v: fields::Value) -> Value {
    match v {
        fields::Value::Int(i) => Value::from(i),
        fields::Value::Signed(i) => Value::from(i),
        fields::Value::Num(Some(x)) => {
            serde_json::Number::from_f64(x).map_or(Value::Null, Value::Number)
        }
        fields::Value::Num(None) | fields::Value::Unreadable => Value::Null,
        fields::Value::Text(t) => Value::String(t),
        fields::Value::Bool(b) => Value::Bool(b),
    }
}

/// A row of a field list as the dump writes it: every field with a dump name, in order.
fn field_map<R>(fields: &[Field<R>], row: &R) -> Map<String, Value> {
    fields
        .iter()
        .filter_map(|f| Some((f.dump?.to_string(), json_value((f.value)(row)))))
        .collect()
}

/// Rows of a field list, each made into a map as it is written.
fn field_rows<R: 'static>(fields: &'static [Field<R>], rows: Vec<R>) -> Rows {
    Box::new(rows.into_iter().map(move |r| field_map(fields, &r)))
}

/// A field list's dump names as the keys of a map (for the CSV header).
fn field_names<R>(fields: &[Field<R>]) -> Map<String, Value> {
    fields::dump_names(fields)
        .into_iter()
        .map(|k| (k.to_string(), Value::Null))
        .collect()
}

/// The dump's process field names, in order.
pub fn proc_field_names() -> Vec<&'static str> {
    PROC_FIELDS.iter().filter_map(|f| f.dump).collect()
}

/// The fields every row of a per-CPU or per-process dump repeats.
#[derive(Serialize)]
struct Context<'a> {
    time: &'a str,
    wall_ms: i64,
    seq: u64,
    interval_s: f64,
}

fn to_map(v: impl Serialize) -> Map<String, Value> {
    match serde_json::to_value(v) {
        Ok(Value::Object(m)) => m,
        _ => Map::new(),
    }
}

/// A view's rows, each turned into a map only when it is written: a map per row for every
/// row at once would cost some 2 KB per process.
type Rows = Box<dyn Iterator<Item = Map<String, Value>>>;

fn maps<T: Serialize + 'static>(rows: Vec<T>) -> Rows {
    Box::new(rows.into_iter().map(to_map))
}

/// A per-row view of one snapshot: figures of the whole snapshot (`header`) and the rows
/// under `key` (one per CPU, process, device, interface, socket or cache).
struct Parts {
    header: Map<String, Value>,
    key: &'static str,
    rows: Rows,
}

fn parts(view: View, s: &Snapshot) -> Parts {
    let (header, key, rows) = match view {
        View::System => (
            to_map(SystemRecord::from_snapshot(s)),
            "",
            Box::new(std::iter::empty()) as Rows,
        ),
        // The run-queue latency histograms are figures of the whole snapshot.
        View::Cpu => (
            to_map(super::runqlat::header(s)),
            "cpus",
            maps(cpu_records(s)),
        ),
        View::Proc => (Map::new(), "procs", proc_records(s)),
        View::Disk => {
            let (h, r) = records::disk(s);
            // The checklist's figures of each device follow its fields, then its traced
            // latency.
            let ck = s.checklist.clone();
            let lat: Vec<_> = r
                .iter()
                .map(|d| super::blktrace::DiskLatency::for_device(s, &d.name))
                .collect();
            let rows = r.into_iter().zip(lat).map(move |(d, lat)| {
                let mut m = field_map(DISK_FIELDS, &d);
                m.extend(to_map(super::checklist::DiskChecklist::for_device(
                    &ck,
                    &d.name,
                    d.partition,
                )));
                m.extend(to_map(lat));
                m
            });
            let mut h = to_map(h);
            h.extend(to_map(super::blktrace::header(s)));
            (h, "disks", Box::new(rows) as Rows)
        }
        View::Net => {
            let (h, r) = records::net(s);
            let ck = s.checklist.clone();
            let rows = r.into_iter().map(move |n| {
                let mut m = field_map(NIC_FIELDS, &n);
                m.extend(to_map(super::checklist::NicChecklist::for_iface(
                    &ck, &n.name,
                )));
                m
            });
            let mut h = to_map(h);
            h.extend(to_map(super::tcptrace::header(s)));
            (h, "interfaces", Box::new(rows) as Rows)
        }
        View::Sock => {
            let (h, r) = records::sock(s);
            let mut h = to_map(h);
            h.extend(to_map(super::tcptrace::header(s)));
            (h, "sockets", field_rows(SOCK_FIELDS, r))
        }
        View::Slab => {
            let (h, r) = records::slab(s);
            (to_map(h), "caches", field_rows(SLAB_FIELDS, r))
        }
        View::Perf => {
            let (h, r) = records::perf(s);
            (to_map(h), "cpus", field_rows(PERF_CPU_FIELDS, r))
        }
        View::Cgroup => {
            let (h, r) = super::cgroup::records(s);
            (to_map(h), "cgroups", field_rows(CGROUP_FIELDS, r))
        }
    };
    Parts { header, key, rows }
}

fn context(s: &Snapshot) -> Map<String, Value> {
    let time = format_utc(s.cur.wall_ms);
    to_map(Context {
        time: &time,
        wall_ms: s.cur.wall_ms,
        seq: s.seq,
        interval_s: s.dt_s,
    })
}

/// One JSON object (a line) per snapshot. Per-row views hold their rows in an array
/// (`cpus`, `procs`, `disks`, `interfaces`, `sockets`, `caches`) beside the snapshot's time,
/// interval and whole-snapshot figures.
pub fn json_line(view: View, s: &Snapshot) -> String {
    let mut out = Vec::new();
    // Writing to memory does not fail.
    let _ = write_json(view, s, &mut out);
    String::from_utf8_lossy(&out).trim_end().to_string()
}

/// `json_line` and its newline, written a row at a time.
pub fn write_json(view: View, s: &Snapshot, out: &mut dyn Write) -> std::io::Result<()> {
    let p = parts(view, s);
    if view == View::System {
        serde_json::to_writer(&mut *out, &Value::Object(p.header))?;
        return out.write_all(b"\n");
    }
    let mut m = context(s);
    m.extend(p.header);
    // The object's fields in order, then the rows' array as its last field.
    let head = Value::Object(m).to_string();
    out.write_all(head.strip_suffix('}').unwrap_or(&head).as_bytes())?;
    write!(out, ",{}:[", Value::from(p.key))?;
    for (i, row) in p.rows.enumerate() {
        if i > 0 {
            out.write_all(b",")?;
        }
        serde_json::to_writer(&mut *out, &Value::Object(row))?;
    }
    out.write_all(b"]}\n")
}

/// A snapshot's figures for CSV: a nested object (`tcp`, `udp`) becomes prefixed columns.
fn flatten(m: Map<String, Value>) -> Map<String, Value> {
    let mut out = Map::new();
    for (k, v) in m {
        match v {
            Value::Object(inner) => {
                for (k2, v2) in inner {
                    out.insert(format!("{k}_{k2}"), v2);
                }
            }
            other => {
                out.insert(k, other);
            }
        }
    }
    out
}

/// CSV rows (no header) for one snapshot: one row, or one per CPU, process, device,
/// interface, socket or cache, each repeating the snapshot's time and figures. Cells follow
/// `csv_header`; a figure the snapshot lacks is an empty cell.
pub fn csv_rows(view: View, s: &Snapshot) -> Vec<Vec<String>> {
    csv_row_iter(view, s).collect()
}

/// `csv_rows` as lines, written a row at a time.
pub fn write_csv(view: View, s: &Snapshot, out: &mut dyn Write) -> std::io::Result<()> {
    for row in csv_row_iter(view, s) {
        out.write_all(csv_line(&row).as_bytes())?;
        out.write_all(b"\n")?;
    }
    Ok(())
}

fn csv_row_iter(view: View, s: &Snapshot) -> impl Iterator<Item = Vec<String>> {
    let header = csv_header(view);
    let p = parts(view, s);
    let rows: Rows = if view == View::System {
        Box::new(std::iter::once(p.header))
    } else {
        let mut base = context(s);
        base.extend(flatten(p.header));
        Box::new(p.rows.map(move |item| {
            let mut m = base.clone();
            m.extend(item);
            m
        }))
    };
    rows.map(move |m| {
        header
            .iter()
            .map(|k| m.get(k).map(csv_cell).unwrap_or_default())
            .collect()
    })
}

/// The CSV header line's fields for a view.
pub fn csv_header(view: View) -> Vec<String> {
    let ctx = ["time", "wall_ms", "seq", "interval_s"].map(String::from);
    let (header, row) = match view {
        View::System => {
            return to_map(SystemRecord::default()).keys().cloned().collect();
        }
        View::Cpu => (
            to_map(super::runqlat::RunqHeader::default()),
            to_map(CpuRecord::default()),
        ),
        View::Proc => {
            return ctx
                .into_iter()
                .chain(proc_field_names().into_iter().map(String::from))
                .collect();
        }
        View::Disk => (
            {
                let mut h = to_map(records::DiskHeader::default());
                h.extend(to_map(super::blktrace::TraceHeader::default()));
                h
            },
            {
                let mut m = field_names(DISK_FIELDS);
                m.extend(to_map(super::checklist::DiskChecklist::default()));
                m.extend(to_map(super::blktrace::DiskLatency::default()));
                m
            },
        ),
        View::Net => (
            {
                let mut h = to_map(records::net_header_template());
                h.extend(to_map(super::tcptrace::TcpTraceHeader::default()));
                h
            },
            {
                let mut m = field_names(NIC_FIELDS);
                m.extend(to_map(super::checklist::NicChecklist::default()));
                m
            },
        ),
        View::Sock => (
            {
                let mut h = to_map(records::SockHeader::default());
                h.extend(to_map(super::tcptrace::TcpTraceHeader::default()));
                h
            },
            field_names(SOCK_FIELDS),
        ),
        View::Slab => (
            to_map(records::SlabHeader::default()),
            field_names(SLAB_FIELDS),
        ),
        View::Perf => (
            to_map(records::PerfHeader::default()),
            field_names(PERF_CPU_FIELDS),
        ),
        View::Cgroup => (
            to_map(super::cgroup::CgroupHeader::default()),
            field_names(CGROUP_FIELDS),
        ),
    };
    ctx.into_iter()
        .chain(flatten(header).keys().cloned())
        .chain(row.keys().cloned())
        .collect()
}

fn csv_cell(v: &Value) -> String {
    match v {
        Value::Null => String::new(),
        Value::String(s) => csv_quote(s),
        // A list (the slowest requests) as its JSON text, quoted: one cell.
        Value::Array(_) => csv_quote(&v.to_string()),
        other => other.to_string(),
    }
}

/// RFC 4180 quoting; control characters from process names are replaced so a row is always
/// one line.
pub fn csv_quote(s: &str) -> String {
    let clean: String = s
        .chars()
        .map(|c| if c.is_control() { '?' } else { c })
        .collect();
    if clean.contains([',', '"']) || clean.starts_with(' ') || clean.ends_with(' ') {
        format!("\"{}\"", clean.replace('"', "\"\""))
    } else {
        clean
    }
}

pub fn csv_line(fields: &[String]) -> String {
    fields.join(",")
}

// ---- Running a dump: live on fixed deadlines, or streamed from a recording ----

/// What to print and how many snapshots (`None`: live 1, from a recording every one).
#[derive(Clone, Copy, Debug)]
pub struct DumpOptions {
    pub view: View,
    pub format: Format,
    pub count: Option<u64>,
}

/// What the sampler must collect for a view: every slab cache for the slab view (otherwise
/// it keeps only the totals and the caches the overview needs).
pub fn request(view: View) -> Request {
    Request {
        slab_caches: view == View::Slab,
        // The disk view's latency histograms.
        block_trace: view == View::Disk,
        // The cpu view's run-queue latency histogram.
        runqlat: view == View::Cpu,
        // The sock and net views' traced retransmits and resets.
        tcp_trace: matches!(view, View::Sock | View::Net),
        // A dump of the cgroups has every figure.
        cgroups: crate::collectors::CgroupRequest {
            detail: view == View::Cgroup,
        },
        // Each process's cgroup (the `cgroup` and `cgroup_path` fields).
        task_cgroups: if view == View::Proc {
            crate::model::cgroup::TaskCgroups::All
        } else {
            crate::model::cgroup::TaskCgroups::None
        },
        ..Request::default()
    }
}

/// The clock live dump samples on, and a way to wait on it (a virtual one in tests).
pub trait Pacer: Clock {
    /// Returns once the monotonic clock reads `mono_ns` or later.
    fn sleep_until(&self, mono_ns: u64);
}

impl Pacer for SystemClock {
    fn sleep_until(&self, mono_ns: u64) {
        loop {
            let now = self.mono_ns();
            if now >= mono_ns {
                return;
            }
            std::thread::sleep(Duration::from_nanos(mono_ns - now));
        }
    }
}

/// The next sampling deadline after `now` on the fixed grid `start + k × interval` (k ≥ 1),
/// all in monotonic nanoseconds. A sample that ran late skips the deadlines it missed
/// rather than catching up in a burst; one on time keeps the grid, so the period does not
/// grow by each sample's own cost.
pub fn next_deadline(start: u64, interval: u64, now: u64) -> u64 {
    let interval = interval.max(1);
    let k = now.saturating_sub(start) / interval + 1;
    start.saturating_add(k.saturating_mul(interval))
}

/// Derives each sample against the one before and prints the snapshot.
struct Printer<'w> {
    opts: DumpOptions,
    /// Buffered: a snapshot of many rows goes out in large writes, flushed once.
    out: std::io::BufWriter<&'w mut dyn Write>,
    prev: Option<Arc<Sample>>,
    seq: u64,
    limit: u64,
    printed: u64,
    header_done: bool,
    /// OpenMetrics prints one exposition, of the last snapshot, at the end.
    last: Option<Snapshot>,
}

impl<'w> Printer<'w> {
    fn new(opts: DumpOptions, default_count: u64, out: &'w mut dyn Write) -> Printer<'w> {
        Printer {
            opts,
            out: std::io::BufWriter::new(out),
            prev: None,
            seq: 0,
            limit: opts.count.unwrap_or(default_count),
            printed: 0,
            header_done: false,
            last: None,
        }
    }

    fn done(&self) -> bool {
        self.printed >= self.limit
    }

    /// Takes one sample; false when the dump is over (count reached, or the reader of
    /// the output went away: `| head` ends the dump quietly).
    fn push(&mut self, sample: Sample) -> bool {
        if !self.header_done {
            self.header_done = true;
            if self.opts.format == Format::Csv
                && !self.write(&(csv_line(&csv_header(self.opts.view)) + "\n"))
            {
                return false;
            }
        }
        let cur = Arc::new(sample);
        let snap = Snapshot::derive(self.seq, self.prev.replace(Arc::clone(&cur)), cur);
        self.seq += 1;
        if !snap.has_rates() {
            return !self.done();
        }
        self.printed += 1;
        let view = self.opts.view;
        let written = match self.opts.format {
            Format::Json => write_json(view, &snap, &mut self.out),
            Format::Csv => write_csv(view, &snap, &mut self.out),
            Format::Openmetrics => {
                self.last = Some(snap);
                return !self.done();
            }
        };
        written.and_then(|()| self.out.flush()).is_ok() && !self.done()
    }

    fn write(&mut self, text: &str) -> bool {
        self.out
            .write_all(text.as_bytes())
            .and_then(|()| self.out.flush())
            .is_ok()
    }

    fn finish(mut self) {
        if let Some(snap) = self.last.take() {
            let mut exporter = super::openmetrics::Exporter::new(0);
            exporter.update(&snap);
            let text = exporter.encode();
            self.write(&text);
        }
    }
}

/// Samples this machine on fixed deadlines and prints `count` snapshots (default 1; the
/// first sample only starts the first interval). `take` takes one sample on the clock.
pub fn run_live(
    opts: DumpOptions,
    interval: Duration,
    pacer: &dyn Pacer,
    mut take: impl FnMut(&dyn Clock, Request) -> Sample,
    out: &mut dyn Write,
) {
    let req = request(opts.view);
    let interval_ns = u64::try_from(interval.as_nanos()).unwrap_or(u64::MAX);
    let mut printer = Printer::new(opts, 1, out);
    let start = pacer.mono_ns();
    loop {
        let sample = take(pacer, req);
        if !printer.push(sample) {
            break;
        }
        pacer.sleep_until(next_deadline(start, interval_ns, pacer.mono_ns()));
    }
    printer.finish();
}

/// Prints the snapshots of a recording (every one, or `count`), decoding one frame at a
/// time: what it holds is the frame at hand and the one before, whatever the file's size.
/// Returns what was wrong with the part of the file read.
pub fn run_replay(
    opts: DumpOptions,
    path: &Path,
    begin: Option<&str>,
    end: Option<&str>,
    out: &mut dyn Write,
) -> Result<ReadStats, ReplayError> {
    // A file or a directory of daily files; a gap between frames restarts the derive.
    let mut series = Series::open(path, begin, end, false)?;
    let mut printer = Printer::new(opts, u64::MAX, out);
    let mut frames = 0u64;
    while let Some(f) = series.next_frame() {
        frames += 1;
        if !printer.push(f.sample) {
            break;
        }
    }
    if frames == 0 {
        return Err(series.empty());
    }
    for why in &series.skipped {
        eprintln!("usetop: skipped {why}");
    }
    printer.finish();
    Ok(series.stats())
}
