//! `usetop dump`: snapshots as JSON lines or CSV for scripts. Field names carry their unit
//! (`_pct`, `_bytes`, `_per_s`, `_kbps` = KiB/s) and are documented in the README; a figure
//! that could not be measured is `null` in JSON and empty in CSV.

use serde::Serialize;
use serde_json::{Map, Value};

use super::records;
pub use super::records::{
    DiskHeader, DiskRecord, NetHeader, NicRecord, PerfCpuRecord, PerfHeader, SlabHeader,
    SlabRecord, SockHeader, SockRecord, TcpRecord, UdpRecord,
};
use crate::model::Snapshot;
use crate::store::format_utc;

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
}

/// One process over one interval (pidstat -u -r -d). `comm` only: command lines can hold
/// secrets and are left to the dashboard.
#[derive(Clone, Debug, Default, PartialEq, Serialize, serde::Deserialize)]
pub struct ProcRecord {
    pub pid: u32,
    pub ppid: u32,
    pub comm: String,
    pub user: String,
    pub state: String,
    pub threads: u32,
    pub cpu_pct: Option<f64>,
    pub usr_pct: Option<f64>,
    pub sys_pct: Option<f64>,
    pub rss_bytes: u64,
    pub mem_pct: Option<f64>,
    pub read_bytes_per_s: Option<f64>,
    pub write_bytes_per_s: Option<f64>,
    pub minflt_per_s: Option<f64>,
    pub majflt_per_s: Option<f64>,
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
        })
        .collect()
}

fn proc_records(s: &Snapshot) -> Vec<ProcRecord> {
    s.tasks()
        .into_iter()
        .map(|t| ProcRecord {
            pid: t.rec.pid(),
            ppid: t.rec.stat.ppid,
            comm: t.rec.ident.comm.clone(),
            user: t.rec.ident.user.clone(),
            state: char::from(t.rec.stat.state).to_string(),
            threads: t.rec.stat.num_threads,
            cpu_pct: t.cpu_pct,
            usr_pct: t.usr_pct,
            sys_pct: t.sys_pct,
            rss_bytes: t.rss_bytes,
            mem_pct: t.mem_pct,
            read_bytes_per_s: t.read_bps,
            write_bytes_per_s: t.write_bps,
            minflt_per_s: t.minflt_s,
            majflt_per_s: t.majflt_s,
        })
        .collect()
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

fn maps<T: Serialize>(rows: Vec<T>) -> Vec<Map<String, Value>> {
    rows.into_iter().map(to_map).collect()
}

/// A per-row view of one snapshot: figures of the whole snapshot (`header`) and the rows
/// under `key` (one per CPU, process, device, interface, socket or cache).
struct Parts {
    header: Map<String, Value>,
    key: &'static str,
    rows: Vec<Map<String, Value>>,
}

fn parts(view: View, s: &Snapshot) -> Parts {
    let (header, key, rows) = match view {
        View::System => (to_map(SystemRecord::from_snapshot(s)), "", Vec::new()),
        View::Cpu => (Map::new(), "cpus", maps(cpu_records(s))),
        View::Proc => (Map::new(), "procs", maps(proc_records(s))),
        View::Disk => {
            let (h, r) = records::disk(s);
            (to_map(h), "disks", maps(r))
        }
        View::Net => {
            let (h, r) = records::net(s);
            (to_map(h), "interfaces", maps(r))
        }
        View::Sock => {
            let (h, r) = records::sock(s);
            (to_map(h), "sockets", maps(r))
        }
        View::Slab => {
            let (h, r) = records::slab(s);
            (to_map(h), "caches", maps(r))
        }
        View::Perf => {
            let (h, r) = records::perf(s);
            (to_map(h), "cpus", maps(r))
        }
        View::Cgroup => {
            let (h, r) = super::cgroup::records(s);
            (to_map(h), "cgroups", maps(r))
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
    let p = parts(view, s);
    if view == View::System {
        return Value::Object(p.header).to_string();
    }
    let mut m = context(s);
    m.extend(p.header);
    m.insert(
        p.key.into(),
        Value::Array(p.rows.into_iter().map(Value::Object).collect()),
    );
    Value::Object(m).to_string()
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
    let header = csv_header(view);
    let p = parts(view, s);
    let rows: Vec<Map<String, Value>> = if view == View::System {
        vec![p.header]
    } else {
        let mut base = context(s);
        base.extend(flatten(p.header));
        p.rows
            .into_iter()
            .map(|item| {
                let mut m = base.clone();
                m.extend(item);
                m
            })
            .collect()
    };
    rows.into_iter()
        .map(|m| {
            header
                .iter()
                .map(|k| m.get(k).map(csv_cell).unwrap_or_default())
                .collect()
        })
        .collect()
}

/// The CSV header line's fields for a view.
pub fn csv_header(view: View) -> Vec<String> {
    let ctx = ["time", "wall_ms", "seq", "interval_s"].map(String::from);
    let (header, row) = match view {
        View::System => {
            return to_map(SystemRecord::default()).keys().cloned().collect();
        }
        View::Cpu => (Map::new(), to_map(CpuRecord::default())),
        View::Proc => (Map::new(), to_map(ProcRecord::default())),
        View::Disk => (
            to_map(records::DiskHeader::default()),
            to_map(records::DiskRecord::default()),
        ),
        View::Net => (
            to_map(records::net_header_template()),
            to_map(records::NicRecord::default()),
        ),
        View::Sock => (
            to_map(records::SockHeader::default()),
            to_map(records::SockRecord::default()),
        ),
        View::Slab => (
            to_map(records::SlabHeader::default()),
            to_map(records::SlabRecord::default()),
        ),
        View::Perf => (
            to_map(records::PerfHeader::default()),
            to_map(records::PerfCpuRecord::default()),
        ),
        View::Cgroup => (
            to_map(super::cgroup::CgroupHeader::default()),
            to_map(super::cgroup::CgroupRecord::default()),
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
