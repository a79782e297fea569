//! Hostile /proc trees (tests/fixtures/hostile_*, written by make_hostile.py): a CPU going
//! offline mid-run, CPUs added, 1,024 CPUs, unknown fields, empty and truncated files,
//! unreadable files, vanishing processes. Every pane must render each of them without a
//! panic, and every derived figure must be sane: finite, not negative, CPU shares ≤ 100%.

mod common;

use std::sync::Arc;

use common::{fixture_roots, headless_frames};
use usetop::collectors::{Collectors, Request, TaskRequest, VirtualClock};
use usetop::model::{CpuPct, Snapshot};
use usetop::panes::PaneId;

const FIXTURES: &[&str] = &[
    "hostile_cpu_offline",
    "hostile_cpu_added",
    "hostile_1024_cpus",
    "hostile_unknown_fields",
    "hostile_empty_truncated",
    "hostile_unreadable",
    "hostile_vanishing",
    "hostile_names",
];

/// A number printed with a minus sign, NaN or infinity anywhere in a frame.
fn insane_text(frame: &str) -> Option<String> {
    for line in frame.lines() {
        let lower = line.to_ascii_lowercase();
        for bad in ["nan", "inf"] {
            let hit = lower.match_indices(bad).any(|(i, _)| {
                let before = lower[..i].chars().next_back();
                let after = lower[i + bad.len()..].chars().next();
                !before.is_some_and(|c| c.is_ascii_alphabetic())
                    && !after.is_some_and(|c| c.is_ascii_alphabetic())
            });
            if hit {
                return Some(line.to_string());
            }
        }
        let chars: Vec<char> = line.chars().collect();
        for w in chars.windows(3) {
            if w[1] == '-' && w[2].is_ascii_digit() && !w[0].is_alphanumeric() && w[0] != '-' {
                return Some(line.to_string());
            }
        }
    }
    None
}

fn render_all(fixture: &str) {
    for pane in PaneId::all() {
        for (cols, rows) in [(80, 24), (160, 50), (40, 10)] {
            for keys in ["", "H", "? "] {
                let out =
                    std::panic::catch_unwind(|| headless_frames(fixture, pane, cols, rows, keys))
                        .unwrap_or_else(|_| {
                            panic!("{fixture}: {pane:?} {cols}x{rows} keys {keys:?} panicked")
                        });
                if let Some(line) = insane_text(&out) {
                    panic!("{fixture}: {pane:?} {cols}x{rows}: insane figure in {line:?}\n{out}");
                }
            }
        }
    }
}

fn check_pct(what: &str, p: &CpuPct) {
    for v in [
        p.usr,
        p.nice,
        p.sys,
        p.iowait,
        p.irq,
        p.soft,
        p.steal,
        p.guest,
        p.gnice,
        p.idle,
        p.busy(),
    ] {
        assert!(
            v.is_finite() && (0.0..=100.0).contains(&v),
            "{what}: share {v} in {p:?}"
        );
    }
}

fn check_rate(what: &str, v: Option<f64>) {
    if let Some(v) = v {
        assert!(v.is_finite() && v >= 0.0, "{what}: {v}");
    }
}

fn check_snapshot(fixture: &str, s: &Snapshot) {
    if let Some(t) = &s.cpu.total {
        check_pct(&format!("{fixture} total"), t);
    }
    for (id, p) in &s.cpu.per_cpu {
        if let Some(p) = p {
            check_pct(&format!("{fixture} cpu{id}"), p);
        }
    }
    for (name, v) in [
        ("ctxt", s.cpu.ctxt_s),
        ("intr", s.cpu.intr_s),
        ("forks", s.cpu.forks_s),
    ] {
        check_rate(&format!("{fixture} {name}/s"), v);
    }
    let m = &s.mem;
    for v in [
        m.si_kbs,
        m.so_kbs,
        m.bi_kbs,
        m.bo_kbs,
        m.pgfault_s,
        m.majfault_s,
        m.pgscan_s,
        m.pgsteal_s,
        m.allocstall_s,
    ] {
        check_rate(&format!("{fixture} mem"), v);
    }
    for v in [s.psi_cpu_some, s.psi_mem_some, s.psi_mem_full] {
        check_rate(fixture, v);
        assert!(v.unwrap_or(0.0) <= 100.0, "{fixture}: psi {v:?}");
    }
    if let Some(p) = s.free.as_ref().and_then(|f| f.used_pct()) {
        assert!((0.0..=100.0).contains(&p), "{fixture}: mem used {p}%");
    }
    if let Some(l) = &s.cur.cpu.load {
        for v in [l.one, l.five, l.fifteen] {
            assert!(v.is_finite() && v >= 0.0, "{fixture}: load {v}");
        }
    }
    let ncpu = s.cpu.ncpu.max(1) as f64;
    for t in s
        .tasks()
        .iter()
        .chain(s.threads().unwrap_or_default().iter())
    {
        for v in [t.cpu_pct, t.usr_pct, t.sys_pct] {
            check_rate(&format!("{fixture} task {}", t.rec.pid()), v);
            assert!(
                v.unwrap_or(0.0) <= 100.0 * ncpu,
                "{fixture}: task cpu {v:?}"
            );
        }
        for v in [t.minflt_s, t.majflt_s, t.read_bps, t.write_bps, t.mem_pct] {
            check_rate(&format!("{fixture} task {}", t.rec.pid()), v);
        }
    }
}

/// Samples each root of the sequence in turn (threads too) and checks every snapshot.
fn derive_all(fixture: &str) -> Vec<Snapshot> {
    let mut clock = VirtualClock::new();
    let mut prev = None;
    let mut out = Vec::new();
    let req = Request {
        tasks: TaskRequest { threads: true },
        ..Request::default()
    };
    for (seq, root) in fixture_roots(fixture).into_iter().enumerate() {
        let sample = Arc::new(Collectors::new(root).sample(&clock, req));
        let snap = Snapshot::derive(seq as u64, prev.take(), Arc::clone(&sample));
        check_snapshot(fixture, &snap);
        out.push(snap);
        prev = Some(sample);
        clock.advance(std::time::Duration::from_secs(1));
    }
    out
}

macro_rules! hostile {
    ($($name:ident),*) => {$(
        #[test]
        fn $name() {
            render_all(stringify!($name));
            derive_all(stringify!($name));
        }
    )*};
}

hostile!(
    hostile_cpu_offline,
    hostile_cpu_added,
    hostile_1024_cpus,
    hostile_unknown_fields,
    hostile_empty_truncated,
    hostile_unreadable,
    hostile_vanishing,
    hostile_names
);

#[test]
fn every_fixture_is_tested() {
    let mut found: Vec<String> = std::fs::read_dir(common::fixtures())
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|n| n.starts_with("hostile_"))
        .collect();
    found.sort();
    let mut listed: Vec<String> = FIXTURES.iter().map(|s| s.to_string()).collect();
    listed.sort();
    assert_eq!(found, listed);
}

#[test]
fn offline_cpu_is_dropped_and_comes_back() {
    let snaps = derive_all("hostile_cpu_offline");
    let ids = |s: &Snapshot| s.cpu.per_cpu.iter().map(|(id, _)| *id).collect::<Vec<_>>();
    assert_eq!(ids(&snaps[1]), vec![0, 1, 3, 4, 5, 6, 7]);
    assert_eq!(snaps[1].cur.cpu.online, Some(7));
    // Back online: no interval for cpu2 yet in t2? It was present in t1's prev? No: absent
    // in t1, so its share in t2 has no base and is n/a rather than a made-up number.
    let cpu2 = snaps[2]
        .cpu
        .per_cpu
        .iter()
        .find(|(id, _)| *id == 2)
        .unwrap();
    assert!(cpu2.1.is_none());
}

#[test]
fn added_cpus_have_no_share_until_they_have_an_interval() {
    let snaps = derive_all("hostile_cpu_added");
    let per: Vec<_> = snaps[1]
        .cpu
        .per_cpu
        .iter()
        .map(|(id, p)| (*id, p.is_some()))
        .collect();
    assert_eq!(per, vec![(0, true), (1, true), (2, false), (3, false)]);
}

#[test]
fn vanishing_processes_are_skipped_not_fatal() {
    let snaps = derive_all("hostile_vanishing");
    let pids: Vec<u32> = snaps[1].cur.tasks.procs.iter().map(|t| t.pid()).collect();
    assert!(
        pids.contains(&1) && pids.contains(&77) && pids.contains(&78),
        "{pids:?}"
    );
    assert!(
        !pids.contains(&42),
        "a pid directory without stat is no process: {pids:?}"
    );
}

#[test]
fn unreadable_files_become_notes() {
    let snaps = derive_all("hostile_unreadable");
    let notes = &snaps[1].cur.notes;
    for source in [
        "stat",
        "meminfo",
        "loadavg",
        "vmstat",
        "swaps",
        "psi.cpu",
        "psi.memory",
        "fs",
    ] {
        assert!(
            notes.iter().any(|n| n.source == source),
            "no note for {source}: {notes:?}"
        );
    }
}
