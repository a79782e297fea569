//! The cgroup fields: the cgroup pane's columns and `dump --pane cgroup`'s rows. A value is
//! `Unreadable` (`n/a` in the table, `null` in the dump) where its file was not read (no
//! such controller there, no permission, the detail set not asked for), and `Num(None)`
//! (`-`, `null`) where it was read but gives no figure (no rate yet, no quota).

use super::{Field, Unit, Value};
use crate::model::cgroup::{CgroupRow, CgroupTable, IoMax, Limit};

/// A cgroup row with what the dump names from elsewhere in the table.
#[derive(Clone, Debug)]
pub struct CgroupLine {
    pub row: CgroupRow,
    /// The parent's path (control and bidi characters as `?`).
    pub parent: Option<String>,
    /// The path of the cgroup whose memory limit is the nearest.
    pub limit_path: Option<String>,
}

impl CgroupLine {
    /// Every row of `t`, in its order.
    pub fn all(t: &CgroupTable) -> Vec<CgroupLine> {
        t.rows
            .iter()
            .map(|r| CgroupLine {
                row: r.clone(),
                parent: r.parent.map(|p| clean(&t.rows[p].rec.path)),
                limit_path: r.mem_limit.map(|l| clean(&t.rows[l.at].rec.path)),
            })
            .collect()
    }
}

/// A path as written out: control and bidi-override characters as `?`.
pub fn clean(s: &str) -> String {
    s.chars()
        .map(|c| {
            let bad = c.is_control()
                || matches!(c, '\u{200B}'..='\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}' | '\u{FEFF}');
            if bad { '?' } else { c }
        })
        .collect()
}

/// A counter or size as read: the number, or unreadable.
fn raw(v: Option<u64>) -> Value {
    v.map_or(Value::Unreadable, Value::Int)
}

/// A figure derived from a file that was read (`read`), or unreadable.
fn num(read: bool, v: Option<f64>) -> Value {
    if read {
        Value::Num(v)
    } else {
        Value::Unreadable
    }
}

/// Events counted over the interval, from a counter that was read (`read`).
fn count(read: bool, v: Option<u64>) -> Value {
    match v {
        Some(v) => Value::Int(v),
        None if read => Value::Num(None),
        None => Value::Unreadable,
    }
}

/// A limit: bytes (or pids), the text `max`, or unreadable.
fn limit(l: Option<Limit>) -> Value {
    match l {
        None => Value::Unreadable,
        Some(Limit::Max) => Value::Text("max".into()),
        Some(Limit::At(v)) => Value::Int(v),
    }
}

fn io_read(r: &CgroupLine) -> bool {
    r.row.rec.io.stat.is_some()
}

fn mem_stat(r: &CgroupLine, f: fn(&crate::model::cgroup::MemStat) -> Option<u64>) -> Value {
    r.row.rec.mem.stat.map_or(Value::Unreadable, |s| raw(f(&s)))
}

/// `io.max` as the kernel writes it, devices `; `-separated (`8:0 rbps=max wbps=1048576 …`).
fn io_max_text(devs: &[IoMax]) -> String {
    let v = |x: Option<u64>| x.map_or("max".to_string(), |v| v.to_string());
    devs.iter()
        .map(|d| {
            format!(
                "{}:{} rbps={} wbps={} riops={} wiops={}",
                d.major,
                d.minor,
                v(d.rbps),
                v(d.wbps),
                v(d.riops),
                v(d.wiops)
            )
        })
        .collect::<Vec<_>>()
        .join("; ")
}

#[allow(clippy::too_many_arguments)]
const fn f(
    name: &'static str,
    header: &'static str,
    unit: Unit,
    width: u16,
    drop: u8,
    shown: bool,
    dump: &'static str,
    value: fn(&CgroupLine) -> Value,
) -> Field<CgroupLine> {
    Field {
        name,
        header,
        unit,
        width,
        drop,
        shown,
        dump: Some(dump),
        value,
    }
}

use Unit::*;

/// Every cgroup field, in the dump's order (the pane orders its columns by
/// `CGROUP_COLUMNS`). `shown` fields are the pane's columns; the rest are in the dump only.
pub const CGROUP_FIELDS: &[Field<CgroupLine>] = &[
    f("path", "PATH", Text, 0, 0, false, "path", |r| {
        Value::Text(clean(&r.row.rec.path))
    }),
    f("name", "NAME", Text, 0, 0, true, "name", |r| {
        Value::Text(r.row.name.clone())
    }),
    f("depth", "DEPTH", Count, 5, 9, false, "depth", |r| {
        Value::Int(r.row.depth as u64)
    }),
    f("parent", "PARENT", Text, 20, 9, false, "parent", |r| {
        r.parent.clone().map_or(Value::Num(None), Value::Text)
    }),
    f("inode", "INODE", Count, 10, 9, false, "inode", |r| {
        Value::Int(r.row.rec.ino)
    }),
    f("new", "NEW", Flag, 3, 9, false, "new", |r| {
        Value::Bool(r.row.fresh)
    }),
    f("procs", "PROCS", Count, 6, 3, true, "procs", |r| {
        raw(r.row.rec.procs)
    }),
    f("cpu", "CPU1%", Pct, 6, 9, false, "cpu_pct", |r| {
        num(r.row.rec.cpu.usage_us.is_some(), r.row.cpu_pct)
    }),
    f("cpu-host", "CPU%", Pct, 5, 0, true, "cpu_host_pct", |r| {
        num(r.row.rec.cpu.usage_us.is_some(), r.row.cpu_host_pct)
    }),
    f("cpu-user", "USR%", Pct, 5, 9, false, "cpu_user_pct", |r| {
        num(r.row.rec.cpu.user_us.is_some(), r.row.cpu_user_pct)
    }),
    f(
        "cpu-system",
        "SYS%",
        Pct,
        5,
        9,
        false,
        "cpu_system_pct",
        |r| num(r.row.rec.cpu.system_us.is_some(), r.row.cpu_system_pct),
    ),
    f(
        "quota",
        "QUOTA",
        Count,
        5,
        9,
        false,
        "cpu_quota_cpus",
        |r| num(r.row.rec.cpu.max.is_some(), r.row.quota_cpus),
    ),
    f(
        "period",
        "PERIOD",
        Count,
        6,
        9,
        false,
        "cpu_period_us",
        |r| raw(r.row.rec.cpu.max.map(|m| m.period_us)),
    ),
    f(
        "quota-pct",
        "QUOTA%",
        Pct,
        7,
        1,
        true,
        "cpu_quota_pct",
        |r| {
            let c = &r.row.rec.cpu;
            num(c.max.is_some() && c.usage_us.is_some(), r.row.cpu_quota_pct)
        },
    ),
    f("weight", "WEIGHT", Count, 6, 9, false, "cpu_weight", |r| {
        raw(r.row.rec.cpu.weight)
    }),
    f(
        "throttled",
        "THR%",
        Pct,
        5,
        0,
        true,
        "cpu_throttled_pct",
        |r| num(r.row.rec.cpu.nr_periods.is_some(), r.row.throttled_pct),
    ),
    f(
        "throttled-ms",
        "THRms/s",
        MsPerSec,
        8,
        2,
        true,
        "cpu_throttled_ms_per_s",
        |r| num(r.row.rec.cpu.throttled_us.is_some(), r.row.throttled_ms_s),
    ),
    f("bursts", "BURSTS", Count, 6, 9, false, "cpu_bursts", |r| {
        count(r.row.rec.cpu.nr_bursts.is_some(), r.row.bursts)
    }),
    f("mem", "MEM", Bytes, 6, 0, true, "mem_current_bytes", |r| {
        raw(r.row.rec.mem.current)
    }),
    f("mem-max", "MAX", Bytes, 6, 2, true, "mem_max_bytes", |r| {
        limit(r.row.rec.mem.max)
    }),
    f(
        "mem-high",
        "HIGH",
        Bytes,
        6,
        4,
        true,
        "mem_high_bytes",
        |r| limit(r.row.rec.mem.high),
    ),
    f("mem-low", "LOW", Bytes, 6, 9, false, "mem_low_bytes", |r| {
        raw(r.row.rec.mem.low)
    }),
    f(
        "mem-limit",
        "LIMIT",
        Bytes,
        6,
        9,
        false,
        "mem_limit_bytes",
        |r| {
            r.row
                .mem_limit
                .map_or(Value::Num(None), |l| Value::Int(l.bytes))
        },
    ),
    f(
        "mem-limit-pct",
        "LIM%",
        Pct,
        5,
        0,
        true,
        "mem_limit_pct",
        |r| {
            num(
                r.row.rec.mem.current.is_some(),
                r.row.mem_limit.map(|l| l.pct),
            )
        },
    ),
    f(
        "mem-limit-path",
        "LIMIT AT",
        Text,
        20,
        9,
        false,
        "mem_limit_path",
        |r| r.limit_path.clone().map_or(Value::Num(None), Value::Text),
    ),
    f(
        "swap",
        "SWAP",
        Bytes,
        6,
        5,
        true,
        "swap_current_bytes",
        |r| raw(r.row.rec.mem.swap_current),
    ),
    f("anon", "ANON", Bytes, 6, 9, false, "mem_anon_bytes", |r| {
        mem_stat(r, |s| s.anon)
    }),
    f("file", "FILE", Bytes, 6, 9, false, "mem_file_bytes", |r| {
        mem_stat(r, |s| s.file)
    }),
    f(
        "kernel",
        "KERNEL",
        Bytes,
        6,
        9,
        false,
        "mem_kernel_bytes",
        |r| mem_stat(r, |s| s.kernel),
    ),
    f("sock", "SOCK", Bytes, 6, 9, false, "mem_sock_bytes", |r| {
        mem_stat(r, |s| s.sock)
    }),
    f(
        "shmem",
        "SHMEM",
        Bytes,
        6,
        9,
        false,
        "mem_shmem_bytes",
        |r| mem_stat(r, |s| s.shmem),
    ),
    f(
        "majflt",
        "MAJFLT/s",
        PerSec,
        8,
        9,
        false,
        "mem_majfault_per_s",
        |r| num(r.row.rec.mem.stat.is_some(), r.row.pgmajfault_s),
    ),
    f(
        "refault",
        "REFLT/s",
        PerSec,
        8,
        9,
        false,
        "mem_refault_per_s",
        |r| num(r.row.rec.mem.stat.is_some(), r.row.refault_s),
    ),
    f(
        "ev-low",
        "ELOW",
        Count,
        5,
        9,
        false,
        "mem_events_low",
        |r| count(r.row.rec.mem.events.low.is_some(), r.row.events.low),
    ),
    f(
        "ev-high",
        "EHIGH",
        Count,
        6,
        3,
        true,
        "mem_events_high",
        |r| count(r.row.rec.mem.events.high.is_some(), r.row.events.high),
    ),
    f("ev-max", "EMAX", Count, 5, 3, true, "mem_events_max", |r| {
        count(r.row.rec.mem.events.max.is_some(), r.row.events.max)
    }),
    f("ev-oom", "OOM", Count, 4, 2, true, "mem_events_oom", |r| {
        count(r.row.rec.mem.events.oom.is_some(), r.row.events.oom)
    }),
    f(
        "ev-oom-kill",
        "KILL",
        Count,
        5,
        1,
        true,
        "mem_events_oom_kill",
        |r| {
            count(
                r.row.rec.mem.events.oom_kill.is_some(),
                r.row.events.oom_kill,
            )
        },
    ),
    f(
        "under-oom",
        "UNDEROOM",
        Flag,
        8,
        9,
        false,
        "mem_under_oom",
        |r| {
            r.row
                .rec
                .mem
                .under_oom
                .map_or(Value::Num(None), Value::Bool)
        },
    ),
    f(
        "read",
        "READ/s",
        BytesPerSec,
        7,
        3,
        true,
        "io_read_bytes_per_s",
        |r| num(io_read(r), r.row.read_bps),
    ),
    f(
        "write",
        "WRITE/s",
        BytesPerSec,
        8,
        3,
        true,
        "io_write_bytes_per_s",
        |r| num(io_read(r), r.row.write_bps),
    ),
    f(
        "riops",
        "RIO/s",
        PerSec,
        6,
        5,
        true,
        "io_reads_per_s",
        |r| num(io_read(r), r.row.read_iops),
    ),
    f(
        "wiops",
        "WIO/s",
        PerSec,
        6,
        5,
        true,
        "io_writes_per_s",
        |r| num(io_read(r), r.row.write_iops),
    ),
    f("io-max", "IO MAX", Text, 20, 9, false, "io_max", |r| {
        r.row
            .rec
            .io
            .max
            .as_deref()
            .map_or(Value::Num(None), |d| Value::Text(io_max_text(d)))
    }),
    f("pids", "PIDS", Count, 5, 2, true, "pids_current", |r| {
        raw(r.row.rec.pids.current)
    }),
    f("pids-max", "PMAX", Count, 5, 4, true, "pids_max", |r| {
        limit(r.row.rec.pids.max)
    }),
    f("pids-pct", "PIDS%", Pct, 5, 9, false, "pids_pct", |r| {
        num(r.row.rec.pids.current.is_some(), r.row.pids_pct)
    }),
    f(
        "pids-refused",
        "REFUSED",
        Count,
        7,
        9,
        false,
        "pids_refused",
        |r| count(r.row.rec.pids.events_max.is_some(), r.row.pids_refused),
    ),
    f(
        "psi-cpu-some",
        "psCPU",
        Pct,
        6,
        3,
        true,
        "psi_cpu_some_pct",
        |r| num(r.row.rec.psi.cpu.is_some(), r.row.psi.cpu_some),
    ),
    f(
        "psi-cpu-full",
        "pfCPU",
        Pct,
        6,
        6,
        true,
        "psi_cpu_full_pct",
        |r| num(r.row.rec.psi.cpu.is_some(), r.row.psi.cpu_full),
    ),
    f(
        "psi-mem-some",
        "psMEM",
        Pct,
        6,
        3,
        true,
        "psi_mem_some_pct",
        |r| num(r.row.rec.psi.memory.is_some(), r.row.psi.mem_some),
    ),
    f(
        "psi-mem-full",
        "pfMEM",
        Pct,
        6,
        6,
        true,
        "psi_mem_full_pct",
        |r| num(r.row.rec.psi.memory.is_some(), r.row.psi.mem_full),
    ),
    f(
        "psi-io-some",
        "psIO",
        Pct,
        5,
        3,
        true,
        "psi_io_some_pct",
        |r| num(r.row.rec.psi.io.is_some(), r.row.psi.io_some),
    ),
    f(
        "psi-io-full",
        "pfIO",
        Pct,
        5,
        6,
        true,
        "psi_io_full_pct",
        |r| num(r.row.rec.psi.io.is_some(), r.row.psi.io_full),
    ),
];

/// The pane's columns, in table order (every `shown` field once).
pub const CGROUP_COLUMNS: &[&str] = &[
    "procs",
    "cpu-host",
    "quota-pct",
    "throttled",
    "throttled-ms",
    "mem",
    "mem-max",
    "mem-high",
    "mem-limit-pct",
    "ev-high",
    "ev-max",
    "ev-oom",
    "ev-oom-kill",
    "swap",
    "read",
    "write",
    "riops",
    "wiops",
    "pids",
    "pids-max",
    "psi-cpu-some",
    "psi-cpu-full",
    "psi-mem-some",
    "psi-mem-full",
    "psi-io-some",
    "psi-io-full",
    "name",
];
