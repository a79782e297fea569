//! One check per /proc and /sys parser: feed it arbitrary bytes, and assert that it neither
//! panics nor hands back figures no kernel could produce. Shared by the cargo-fuzz targets
//! (fuzz/fuzz_targets) and by the plain `cargo test` that replays every committed input
//! (tests/hostile_fuzz_inputs.rs includes this file by path), so a crash found once stays
//! fixed. To cover a new parser: add a function here, a row in `TARGETS`, a three-line
//! target file, a `[[bin]]` entry in fuzz/Cargo.toml and a seed directory.

use std::sync::Arc;
use usetop::collectors::{dirents, parse};

use usetop::model::{CpuPct, CpuTimes, PsiLine, Sample, Snapshot, VmCounters};

pub type Check = fn(&[u8]);

/// Every check by target name, in the order the fuzz script runs them.
pub const TARGETS: &[(&str, Check)] = &[
    ("parse_proc_stat", parse_proc_stat),
    ("parse_pid_stat", parse_pid_stat),
    ("parse_pid_io", parse_pid_io),
    ("parse_meminfo", parse_meminfo),
    ("parse_vmstat", parse_vmstat),
    ("parse_swaps", parse_swaps),
    ("parse_pressure", parse_pressure),
    ("parse_loadavg", parse_loadavg),
    ("parse_cpu_list_count", parse_cpu_list_count),
    ("parse_mounts", parse_mounts),
    ("parse_passwd", parse_passwd),
    ("parse_status_euid", parse_status_euid),
    ("parse_cmdline", parse_cmdline),
    ("unescape_octal", unescape_octal),
    ("parse_dirents", parse_dirents),
];

pub fn by_name(name: &str) -> Option<Check> {
    TARGETS.iter().find(|(n, _)| *n == name).map(|(_, f)| *f)
}

fn share_ok(v: f64) -> bool {
    v.is_finite() && (0.0..=100.0).contains(&v)
}

fn check_pct(p: &CpuPct) {
    for v in [
        p.usr, p.nice, p.sys, p.iowait, p.irq, p.soft, p.steal, p.guest, p.gnice, p.idle,
    ] {
        assert!(share_ok(v), "cpu share {v} out of 0..=100: {p:?}");
    }
    assert!(share_ok(p.busy()));
}

/// The parsed lines are also pushed through the percentage arithmetic, in both directions,
/// so counters that go backwards between two reads are covered too.
pub fn parse_proc_stat(data: &[u8]) {
    let Ok(st) = parse::parse_proc_stat(data) else {
        return;
    };
    assert!(st.cpus.windows(2).all(|w| w[0].0 <= w[1].0));
    let zero = CpuTimes::default();
    let mut all = vec![st.total];
    all.extend(st.cpus.iter().map(|(_, t)| *t));
    for pair in all.windows(2) {
        for (a, b) in [
            (&pair[0], &pair[1]),
            (&pair[1], &pair[0]),
            (&zero, &pair[0]),
        ] {
            if let Some(p) = CpuPct::between(a, b) {
                check_pct(&p);
            }
        }
    }
}

pub fn parse_pid_stat(data: &[u8]) {
    if let Ok((_, comm)) = parse::parse_pid_stat(data) {
        assert!(comm.len() < data.len());
    }
}

pub fn parse_pid_io(data: &[u8]) {
    let _ = parse::parse_pid_io(data);
}

pub fn parse_meminfo(data: &[u8]) {
    if let Ok(m) = parse::parse_meminfo(data) {
        let f = usetop::model::FreeFigures::from_meminfo(&m);
        assert!(f.available <= f.total && f.used <= f.total);
        if let Some(p) = f.used_pct() {
            assert!(share_ok(p), "used {p}%");
        }
    }
}

/// The counters also go through the rate arithmetic, from zero and back to zero.
pub fn parse_vmstat(data: &[u8]) {
    let Ok(vm) = parse::parse_vmstat(data) else {
        return;
    };
    let at = |ns: u64, vm: Option<VmCounters>| {
        let mut s = Sample {
            mono_ns: ns,
            page_size: 4096,
            ..Sample::default()
        };
        s.mem.vm = vm;
        Arc::new(s)
    };
    for (a, b) in [(None, Some(vm)), (Some(vm), Some(VmCounters::default()))] {
        let snap = Snapshot::derive(1, Some(at(1_000_000_000, a)), at(2_000_000_000, b));
        let m = &snap.mem;
        for v in [
            m.si_kbs,
            m.so_kbs,
            m.bi_kbs,
            m.bo_kbs,
            m.pgfault_s,
            m.majfault_s,
        ]
        .into_iter()
        .chain([m.pgscan_s, m.pgsteal_s, m.allocstall_s])
        .flatten()
        {
            assert!(v.is_finite() && v >= 0.0, "rate {v}");
        }
    }
}

pub fn parse_swaps(data: &[u8]) {
    let _ = parse::parse_swaps(data);
}

fn check_psi_line(l: &PsiLine) {
    for v in [l.avg10, l.avg60, l.avg300] {
        assert!(share_ok(v), "psi average {v} out of 0..=100");
    }
}

pub fn parse_pressure(data: &[u8]) {
    if let Ok(p) = parse::parse_pressure(data) {
        check_psi_line(&p.some);
        if let Some(f) = &p.full {
            check_psi_line(f);
        }
    }
}

pub fn parse_loadavg(data: &[u8]) {
    if let Ok(l) = parse::parse_loadavg(data) {
        for v in [l.one, l.five, l.fifteen] {
            assert!(v.is_finite() && v >= 0.0, "load average {v}");
        }
    }
}

pub fn parse_cpu_list_count(data: &[u8]) {
    let _ = parse::parse_cpu_list_count(data);
}

pub fn parse_mounts(data: &[u8]) {
    for (dev, mount, fstype) in parse::parse_mounts(data) {
        assert!(!dev.is_empty() && !mount.is_empty() && !fstype.is_empty());
    }
}

pub fn parse_passwd(data: &[u8]) {
    let _ = parse::parse_passwd(data);
}

pub fn parse_status_euid(data: &[u8]) {
    let _ = parse::parse_status_euid(data);
}

pub fn parse_cmdline(data: &[u8]) {
    let s = parse::parse_cmdline(data);
    assert!(!s.contains('\0'));
}

pub fn unescape_octal(data: &[u8]) {
    // Each escape shrinks four bytes to one; lossy UTF-8 may widen a bad byte to three.
    let s = parse::unescape_octal(data);
    assert!(s.len() <= data.len() * 3);
}

/// The walker must stop on any record length, and only ever yield all-digit names.
pub fn parse_dirents(data: &[u8]) {
    let mut out = Vec::new();
    dirents::parse_dirents(data, &mut out);
    assert!(out.len() <= data.len() / 20 + 1);
}
