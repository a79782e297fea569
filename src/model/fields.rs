//! Field lists: each row type's fields declared once (name, header, unit, width, value), so
//! the table's columns, the column picker, the config's column names and the dump's JSON and
//! CSV fields all come from the same entry. Plain data: how a value is drawn is the widgets'
//! business, how it is written the export's.

use std::cmp::Ordering;

use super::tasks::{TaskRate, cpu_ticks};

pub mod cgroup;
pub mod disk;
pub mod net;
pub mod perf;
pub mod slab;
pub mod sock;

pub use cgroup::{CGROUP_COLUMNS, CGROUP_FIELDS, CgroupLine};
pub use disk::DISK_FIELDS;
pub use net::NIC_FIELDS;
pub use perf::{PERF_CPU_FIELDS, PerfCpuRow};
pub use slab::{SLAB_FIELDS, SlabRow};
pub use sock::{SOCK_FIELDS, SockRow};

/// What a value measures; the table formats by it and the dump's field names end in it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Unit {
    /// An identifier or a plain count (pid, threads).
    Count,
    /// Text (a name, a state letter).
    Text,
    /// Percent (`_pct`).
    Pct,
    /// Bytes (`_bytes`).
    Bytes,
    /// Bytes per second (`_bytes_per_s`).
    BytesPerSec,
    /// Events per second (`_per_s`).
    PerSec,
    /// Seconds of CPU time (`_s`), drawn as top's TIME+.
    CpuSeconds,
    /// Milliseconds of waiting per second (`_ms_per_s`): a delay as a share of time.
    MsPerSec,
    /// Milliseconds (`_ms`).
    Millis,
    /// KiB per second (`_kbps`), as sar and iostat count.
    KibPerSec,
    /// KiB (`_kb`).
    Kib,
    /// Megabits per second (`_mbps`), a link's speed.
    MbitPerSec,
    /// Yes or no (a JSON boolean).
    Flag,
}

/// One row's value of one field.
#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    Int(u64),
    /// A signed number (nice, priority).
    Signed(i64),
    /// A figure; `None` when there is no interval yet.
    Num(Option<f64>),
    Text(String),
    Bool(bool),
    /// The source could not be read (another user's `/proc/PID/io` without root).
    Unreadable,
}

impl Value {
    /// Orders values of one field: missing figures first, then by size or text.
    pub fn compare(&self, other: &Value) -> Ordering {
        use Value::*;
        let num = |v: &Value| match v {
            Int(i) => Some(*i as f64),
            Bool(b) => Some(f64::from(u8::from(*b))),
            Signed(i) => Some(*i as f64),
            Num(n) => *n,
            _ => None,
        };
        match (self, other) {
            (Int(a), Int(b)) => a.cmp(b),
            (Text(a), Text(b)) => a.cmp(b),
            (Text(_), _) => Ordering::Greater,
            (_, Text(_)) => Ordering::Less,
            (a, b) => match (num(a), num(b)) {
                (Some(a), Some(b)) => a.total_cmp(&b),
                (Some(_), None) => Ordering::Greater,
                (None, Some(_)) => Ordering::Less,
                (None, None) => Ordering::Equal,
            },
        }
    }
}

/// One field of a row type `R`.
pub struct Field<R> {
    /// The config's, the picker's and `Target::TopBy`'s name (`cpu`, `net-tx`).
    pub name: &'static str,
    /// The table's header (`%CPU`).
    pub header: &'static str,
    pub unit: Unit,
    /// Table width in cells; 0 takes what is left.
    pub width: u16,
    /// When the terminal is narrow, higher numbers are dropped first; 0 never.
    pub drop: u8,
    /// Shown in the table unless the config or the picker says otherwise.
    pub shown: bool,
    /// The dump's JSON key and CSV column (unit-suffixed), or `None` for a field the dump
    /// never writes, with the reason in the field's comment.
    pub dump: Option<&'static str>,
    pub value: fn(&R) -> Value,
}

/// A figure that may be missing: an integer, or `null` in the dump and `-` in the table.
pub fn opt_int(v: Option<impl Into<u64>>) -> Value {
    v.map_or(Value::Num(None), |v| Value::Int(v.into()))
}

/// Text that may be missing: `null` in the dump.
pub fn opt_text(v: Option<impl Into<String>>) -> Value {
    v.map_or(Value::Num(None), |v| Value::Text(v.into()))
}

/// The dump names of a field list, in order.
pub fn dump_names<R>(fields: &[Field<R>]) -> Vec<&'static str> {
    fields.iter().filter_map(|f| f.dump).collect()
}

impl<R> Field<R> {
    /// Figures sort biggest first, text from A.
    pub fn descending(&self) -> bool {
        self.unit != Unit::Text && self.name != "pid" && self.name != "ppid"
    }
}

/// A process (or thread) row: the task's rates, its TCP traffic from the sockets figures and
/// the clock tick rate for its CPU time.
#[derive(Clone, Debug)]
pub struct ProcRow {
    pub task: TaskRate,
    /// TCP bytes/s (acknowledged, received) over the process's sockets, if it has any.
    pub net: Option<(f64, f64)>,
    pub hz: u64,
    /// Boot time and the sample's time, Unix seconds, for START.
    pub boot: u64,
    pub now: i64,
    /// SHR, WCHAN and OOM, sampled only for the rows on screen (`None` elsewhere and in the
    /// dump).
    /// Boxed, as `cgroup`: most rows have none, and a table of 100,000 rows should not
    /// carry the room for one in each.
    pub extra: Option<Box<super::sample::TaskExtra>>,
    /// The process's cgroups, read for the rows on screen while the CGROUP column is shown
    /// and for every process while a `cgroup:` filter is active (`None` elsewhere).
    pub cgroup: Option<Box<super::cgroup::TaskCgroup>>,
}

impl ProcRow {
    pub fn key(&self) -> u64 {
        u64::from(self.task.rec.pid())
    }

    /// When the task started, Unix seconds.
    pub fn start_unix(&self) -> u64 {
        self.boot
            .saturating_add(self.task.rec.stat.start_time / self.hz.max(1))
    }

    /// The command as htop shows it: the cmdline, or `[comm]` for kernel threads only. A
    /// thread of a user process shows its name plainly, a zombie `comm <defunct>` (as ps).
    pub fn command(&self) -> String {
        let r = &self.task.rec;
        if is_kernel(r) {
            format!("[{}]", r.ident.comm)
        } else if r.stat.state == b'Z' && r.ident.cmdline.is_empty() {
            format!("{} <defunct>", r.ident.comm)
        } else if r.is_thread() || r.ident.cmdline.is_empty() {
            r.ident.comm.clone()
        } else {
            r.ident.cmdline.clone()
        }
    }
}

/// A kernel thread: PF_KTHREAD (or kthreadd and its children), or, where the flags say
/// nothing, a process that is not a zombie and has no command line.
pub fn is_kernel(r: &super::tasks::TaskRecord) -> bool {
    r.is_kernel_thread() || (!r.is_thread() && r.ident.cmdline.is_empty() && r.stat.state != b'Z')
}

/// A field read only for rows on screen (for a thread row, only WCHAN: the other files
/// describe its process): unreadable where it was not read.
fn extra(r: &ProcRow, f: impl Fn(&super::sample::TaskExtra) -> Option<Value>) -> Value {
    r.extra
        .as_deref()
        .filter(|e| e.start_time == r.task.rec.stat.start_time)
        .and_then(f)
        .unwrap_or(Value::Unreadable)
}

/// The process's cgroup, where it was read for this process (a thread row: its process's).
fn cgroup(r: &ProcRow, f: impl Fn(&super::cgroup::TaskCgroup) -> String) -> Value {
    r.cgroup
        .as_deref()
        .filter(|c| r.task.rec.is_thread() || c.start_time == r.task.rec.stat.start_time)
        .map_or(Value::Unreadable, |c| Value::Text(f(c)))
}

/// Open descriptors as a percent of the soft open-files limit (over 100 where the limit was
/// lowered below what the process holds).
pub fn fd_pct(e: &super::sample::TaskExtra) -> Option<f64> {
    let (n, max) = (e.fds?, e.fd_limit?);
    (max > 0).then(|| n as f64 * 100.0 / max as f64)
}

fn io_rate(r: &ProcRow, v: Option<f64>) -> Value {
    if r.task.rec.io.is_none() {
        Value::Unreadable
    } else {
        Value::Num(v)
    }
}

/// Every process field, in table order. A new process column is one entry here: it shows
/// in the table (if `shown`), the column picker, the config's `columns` and the dump.
pub const PROC_FIELDS: &[Field<ProcRow>] = &[
    Field {
        name: "pid",
        header: "PID",
        unit: Unit::Count,
        width: 7,
        drop: 0,
        shown: true,
        dump: Some("pid"),
        value: |r| Value::Int(u64::from(r.task.rec.pid())),
    },
    Field {
        name: "ppid",
        header: "PPID",
        unit: Unit::Count,
        width: 7,
        drop: 9,
        shown: false,
        dump: Some("ppid"),
        value: |r| Value::Int(u64::from(r.task.rec.stat.ppid)),
    },
    Field {
        name: "user",
        header: "USER",
        unit: Unit::Text,
        width: 8,
        drop: 0,
        shown: true,
        dump: Some("user"),
        value: |r| Value::Text(r.task.rec.ident.user.clone()),
    },
    Field {
        name: "pri",
        header: "PRI",
        unit: Unit::Count,
        width: 3,
        drop: 13,
        shown: true,
        dump: Some("priority"),
        value: |r| Value::Signed(r.task.rec.stat.priority),
    },
    Field {
        name: "ni",
        header: "NI",
        unit: Unit::Count,
        width: 3,
        drop: 12,
        shown: true,
        dump: Some("nice"),
        value: |r| Value::Signed(r.task.rec.stat.nice),
    },
    Field {
        name: "state",
        header: "S",
        unit: Unit::Text,
        width: 1,
        drop: 3,
        shown: true,
        dump: Some("state"),
        value: |r| Value::Text(char::from(r.task.rec.stat.state).to_string()),
    },
    Field {
        name: "cpu",
        header: "%CPU",
        unit: Unit::Pct,
        width: 5,
        drop: 0,
        shown: true,
        dump: Some("cpu_pct"),
        value: |r| Value::Num(r.task.cpu_pct),
    },
    Field {
        name: "usr",
        header: "%USR",
        unit: Unit::Pct,
        width: 5,
        drop: 10,
        shown: false,
        dump: Some("usr_pct"),
        value: |r| Value::Num(r.task.usr_pct),
    },
    Field {
        name: "sys",
        header: "%SYS",
        unit: Unit::Pct,
        width: 5,
        drop: 10,
        shown: false,
        dump: Some("sys_pct"),
        value: |r| Value::Num(r.task.sys_pct),
    },
    Field {
        name: "mem",
        header: "%MEM",
        unit: Unit::Pct,
        width: 5,
        drop: 1,
        shown: true,
        dump: Some("mem_pct"),
        value: |r| Value::Num(r.task.mem_pct),
    },
    Field {
        name: "virt",
        header: "VIRT",
        unit: Unit::Bytes,
        width: 6,
        drop: 12,
        shown: true,
        dump: Some("virt_bytes"),
        value: |r| Value::Int(r.task.rec.stat.vsize),
    },
    Field {
        name: "rss",
        header: "RSS",
        unit: Unit::Bytes,
        width: 6,
        drop: 0,
        shown: true,
        dump: Some("rss_bytes"),
        value: |r| Value::Int(r.task.rss_bytes),
    },
    Field {
        name: "shr",
        header: "SHR",
        unit: Unit::Bytes,
        width: 6,
        drop: 12,
        shown: true,
        dump: Some("shr_bytes"),
        value: |r| extra(r, |e| e.shared_bytes.map(Value::Int)),
    },
    Field {
        name: "thr",
        header: "THR",
        unit: Unit::Count,
        width: 4,
        drop: 4,
        shown: true,
        dump: Some("threads"),
        value: |r| Value::Int(u64::from(r.task.rec.stat.num_threads)),
    },
    Field {
        name: "minflt",
        header: "MINFLT/s",
        unit: Unit::PerSec,
        width: 8,
        drop: 5,
        shown: true,
        dump: Some("minflt_per_s"),
        value: |r| Value::Num(r.task.minflt_s),
    },
    Field {
        name: "majflt",
        header: "MAJFLT/s",
        unit: Unit::PerSec,
        width: 8,
        drop: 6,
        shown: true,
        dump: Some("majflt_per_s"),
        value: |r| Value::Num(r.task.majflt_s),
    },
    Field {
        name: "read",
        header: "READ/s",
        unit: Unit::BytesPerSec,
        width: 7,
        drop: 0,
        shown: true,
        dump: Some("read_bytes_per_s"),
        value: |r| io_rate(r, r.task.read_bps),
    },
    Field {
        name: "write",
        header: "WRITE/s",
        unit: Unit::BytesPerSec,
        width: 7,
        drop: 0,
        shown: true,
        dump: Some("write_bytes_per_s"),
        value: |r| io_rate(r, r.task.write_bps),
    },
    // READ/s + WRITE/s: the `O` sort (iotop's order).
    Field {
        name: "io",
        header: "IO/s",
        unit: Unit::BytesPerSec,
        width: 7,
        drop: 12,
        shown: false,
        dump: Some("io_bytes_per_s"),
        value: |r| {
            let sum = match (r.task.read_bps, r.task.write_bps) {
                (Some(a), Some(b)) => Some(a + b),
                _ => None,
            };
            io_rate(r, sum)
        },
    },
    Field {
        name: "blkio",
        header: "BLKIO",
        unit: Unit::MsPerSec,
        width: 6,
        drop: 11,
        shown: false,
        dump: Some("blkio_delay_ms_per_s"),
        // Block-I/O delay of the main thread (delay accounting; n/a while it is off).
        value: |r| Value::Num(r.task.blkio_delay_ms_s),
    },
    // CPU saturation per task (the USE method's): time runnable but waiting on a run
    // queue, from schedstat. A process row counts its main thread (what
    // /proc/PID/schedstat covers); a thread row its own. In the picker: the default set
    // already fills 80 columns, and htop keeps its delay columns optional too.
    Field {
        name: "runq",
        header: "RUNQ",
        unit: Unit::MsPerSec,
        width: 6,
        drop: 11,
        shown: false,
        dump: Some("runq_ms_per_s"),
        value: |r| Value::Num(r.task.runq_ms_s),
    },
    Field {
        name: "time",
        header: "TIME+",
        unit: Unit::CpuSeconds,
        width: 9,
        drop: 2,
        shown: true,
        dump: Some("cpu_time_s"),
        value: |r| Value::Num(Some(cpu_ticks(&r.task.rec) as f64 / r.hz.max(1) as f64)),
    },
    Field {
        name: "start",
        header: "START",
        unit: Unit::Count,
        width: 5,
        drop: 12,
        shown: false,
        dump: Some("start_unix_s"),
        value: |r| Value::Int(r.start_unix()),
    },
    Field {
        name: "last-cpu",
        header: "CPU",
        unit: Unit::Count,
        width: 3,
        drop: 12,
        shown: false,
        dump: Some("last_cpu"),
        value: |r| Value::Int(u64::from(r.task.rec.stat.processor)),
    },
    Field {
        name: "wchan",
        header: "WCHAN",
        unit: Unit::Text,
        width: 16,
        drop: 12,
        shown: false,
        dump: Some("wchan"),
        value: |r| {
            extra(r, |e| {
                e.wchan
                    .clone()
                    .map(|w| Value::Text(if w == "0" { String::new() } else { w }))
            })
        },
    },
    Field {
        name: "oom",
        header: "OOM",
        unit: Unit::Count,
        width: 4,
        drop: 12,
        shown: false,
        dump: Some("oom_score"),
        value: |r| extra(r, |e| e.oom_score.map(|o| Value::Int(u64::from(o)))),
    },
    // Open descriptors against the soft RLIMIT_NOFILE (EMFILE past it), read only for the
    // rows on screen while one of the two is shown.
    Field {
        name: "fds",
        header: "FDS",
        unit: Unit::Count,
        width: 5,
        drop: 12,
        shown: false,
        dump: Some("open_fds"),
        value: |r| extra(r, |e| e.fds.map(Value::Int)),
    },
    Field {
        name: "fd%",
        header: "FD%",
        unit: Unit::Pct,
        width: 5,
        drop: 12,
        shown: false,
        dump: Some("fd_limit_pct"),
        value: |r| extra(r, |e| fd_pct(e).map(|p| Value::Num(Some(p)))),
    },
    Field {
        name: "net-tx",
        header: "NET-TX/s",
        unit: Unit::BytesPerSec,
        width: 8,
        drop: 7,
        shown: true,
        dump: Some("net_tx_bytes_per_s"),
        value: |r| Value::Num(r.net.map(|n| n.0)),
    },
    Field {
        name: "net-rx",
        header: "NET-RX/s",
        unit: Unit::BytesPerSec,
        width: 8,
        drop: 8,
        shown: true,
        dump: Some("net_rx_bytes_per_s"),
        value: |r| Value::Num(r.net.map(|n| n.1)),
    },
    Field {
        name: "comm",
        header: "NAME",
        unit: Unit::Text,
        width: 15,
        drop: 11,
        shown: false,
        dump: Some("comm"),
        value: |r| Value::Text(r.task.rec.ident.comm.clone()),
    },
    // The process's cgroup: its readable name (`nginx.service`, `docker:0123456789ab`) and
    // its path (v1 and hybrid: the cpu hierarchy's).
    Field {
        name: "cgroup",
        header: "CGROUP",
        unit: Unit::Text,
        width: 16,
        drop: 11,
        shown: false,
        dump: Some("cgroup"),
        value: |r| cgroup(r, |c| super::cgroup::cgroup_name(&c.path)),
    },
    Field {
        name: "cgroup-path",
        header: "CGROUP PATH",
        unit: Unit::Text,
        width: 32,
        drop: 12,
        shown: false,
        dump: Some("cgroup_path"),
        value: |r| cgroup(r, |c| c.path.clone()),
    },
    // Not in the dump: command lines can hold secrets, and the dump goes to files and
    // scripts (`comm` is there instead).
    Field {
        name: "command",
        header: "COMMAND",
        unit: Unit::Text,
        width: 0,
        drop: 0,
        shown: true,
        dump: None,
        value: |r| Value::Text(r.command()),
    },
];

/// The process field of this name.
pub fn proc_field(name: &str) -> Option<&'static Field<ProcRow>> {
    PROC_FIELDS.iter().find(|f| f.name == name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_dump_keys_are_unique() {
        let mut names: Vec<&str> = PROC_FIELDS.iter().map(|f| f.name).collect();
        let n = names.len();
        names.sort();
        names.dedup();
        assert_eq!(names.len(), n);
        let mut keys: Vec<&str> = PROC_FIELDS.iter().filter_map(|f| f.dump).collect();
        let k = keys.len();
        keys.sort();
        keys.dedup();
        assert_eq!(keys.len(), k);
    }

    #[test]
    fn missing_figures_sort_first() {
        let v = [Value::Num(Some(2.0)), Value::Unreadable, Value::Num(None)];
        assert_eq!(v[0].compare(&v[1]), Ordering::Greater);
        assert_eq!(v[1].compare(&v[2]), Ordering::Equal);
        assert_eq!(Value::Int(3).compare(&Value::Int(10)), Ordering::Less);
    }
}
