//! The per-CPU counter fields: the perf pane's per-CPU table and `dump --pane perf`'s rows.
//! (The pane's per-task table has no dump view; its columns stay in `panes/perf.rs`.)

use super::{Field, Unit, Value, opt_int};
use crate::model::perf::{Ev, Rates};

/// One CPU's counter rates over the interval, or the sum over CPUs (`cpu` `None`: the
/// table's "all" row, which the dump keeps in its header).
#[derive(Clone, Debug)]
pub struct PerfCpuRow {
    pub cpu: Option<u32>,
    pub rates: Rates,
}

/// The hardware counters' fields: the table hides them when there are none.
pub const PERF_HW: [&str; 7] = [
    "mcycles", "minstr", "ipc", "refs", "misses", "miss", "bmisses",
];

/// Every per-CPU counter field, in table order. A new per-CPU column is one entry here: it
/// shows in the per-CPU table (if `shown`) and in `dump --pane perf`. Rates are per second,
/// scaled for multiplexing; the table draws cycles and instructions in millions.
pub const PERF_CPU_FIELDS: &[Field<PerfCpuRow>] = &[
    Field {
        name: "cpu",
        header: "CPU",
        unit: Unit::Count,
        width: 4,
        drop: 0,
        shown: true,
        dump: Some("cpu"),
        value: |r| opt_int(r.cpu),
    },
    Field {
        name: "mcycles",
        header: "Mcycle/s",
        unit: Unit::PerSec,
        width: 9,
        drop: 0,
        shown: true,
        dump: Some("cycles_per_s"),
        value: |r| Value::Num(r.rates.get(Ev::Cycles)),
    },
    Field {
        name: "minstr",
        header: "Minstr/s",
        unit: Unit::PerSec,
        width: 9,
        drop: 0,
        shown: true,
        dump: Some("instructions_per_s"),
        value: |r| Value::Num(r.rates.get(Ev::Instructions)),
    },
    Field {
        name: "ipc",
        header: "IPC",
        unit: Unit::Count,
        width: 9,
        drop: 0,
        shown: true,
        dump: Some("ipc"),
        value: |r| Value::Num(r.rates.ipc()),
    },
    // REF/s, MISS/s and BMISS/s only on terminals 120 wide and up (`drop` > 0).
    Field {
        name: "refs",
        header: "REF/s",
        unit: Unit::PerSec,
        width: 9,
        drop: 1,
        shown: true,
        dump: Some("cache_refs_per_s"),
        value: |r| Value::Num(r.rates.get(Ev::CacheRefs)),
    },
    Field {
        name: "misses",
        header: "MISS/s",
        unit: Unit::PerSec,
        width: 9,
        drop: 1,
        shown: true,
        dump: Some("cache_misses_per_s"),
        value: |r| Value::Num(r.rates.get(Ev::CacheMisses)),
    },
    Field {
        name: "miss",
        header: "%MISS",
        unit: Unit::Pct,
        width: 9,
        drop: 0,
        shown: true,
        dump: Some("cache_miss_pct"),
        value: |r| Value::Num(r.rates.miss_pct()),
    },
    Field {
        name: "bmisses",
        header: "BMISS/s",
        unit: Unit::PerSec,
        width: 9,
        drop: 1,
        shown: true,
        dump: Some("branch_misses_per_s"),
        value: |r| Value::Num(r.rates.get(Ev::BranchMisses)),
    },
    Field {
        name: "bmiss",
        header: "%BMISS",
        unit: Unit::Pct,
        width: 9,
        drop: 0,
        shown: false,
        dump: Some("branch_miss_pct"),
        value: |r| Value::Num(r.rates.bmiss_pct()),
    },
    // Hidden: on a CPU cpu-clock runs through idle too (always ~100%); busy time per CPU is
    // the cpu pane's, from /proc/stat.
    Field {
        name: "clock",
        header: "%CLOCK",
        unit: Unit::Pct,
        width: 9,
        drop: 0,
        shown: false,
        dump: Some("cpu_clock_pct"),
        value: |r| Value::Num(r.rates.cpu_pct()),
    },
    Field {
        name: "cs",
        header: "CS/s",
        unit: Unit::PerSec,
        width: 9,
        drop: 0,
        shown: true,
        dump: Some("ctx_switches_per_s"),
        value: |r| Value::Num(r.rates.get(Ev::CtxSwitches)),
    },
    Field {
        name: "migr",
        header: "MIGR/s",
        unit: Unit::PerSec,
        width: 9,
        drop: 0,
        shown: true,
        dump: Some("migrations_per_s"),
        value: |r| Value::Num(r.rates.get(Ev::Migrations)),
    },
    Field {
        name: "flt",
        header: "FLT/s",
        unit: Unit::PerSec,
        width: 9,
        drop: 0,
        shown: true,
        dump: Some("page_faults_per_s"),
        value: |r| Value::Num(r.rates.get(Ev::PageFaults)),
    },
    // Some event was multiplexed (counted part of the time, scaled up): the table's `*`.
    Field {
        name: "scaled",
        header: "SCALED",
        unit: Unit::Flag,
        width: 6,
        drop: 0,
        shown: false,
        dump: Some("scaled"),
        value: |r| Value::Bool(r.rates.scaled),
    },
];
