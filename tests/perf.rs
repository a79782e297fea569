//! The counters pane on fixture counters (the fake backend reads `<root>/perf/*.txt`):
//! layout at 80x24 and 160x50, multiplexing marks, and the no-PMU path.

mod common;

use common::{headless, options};
use usetop::collectors::ProcRoot;
use usetop::headless::{HeadlessOptions, render_headless};
use usetop::panes::PaneId;

/// The `basic` sequence copied into a temporary directory, with its counter files replaced
/// by the software lines only and `fail hw ENOENT`: a machine without a PMU.
fn nohw(pane: PaneId, cols: u16, rows: u16, keys: &str) -> String {
    let dir = tempfile::tempdir().unwrap();
    let mut roots = Vec::new();
    for t in ["t0", "t1"] {
        let src = common::fixtures().join("basic").join(t);
        let dst = dir.path().join(t);
        common::copy_tree(&src, &dst);
        let counters = dst.join("perf/counters.txt");
        let text = std::fs::read_to_string(&counters).unwrap();
        let sw: String = text
            .lines()
            .filter(|l| l.split_whitespace().nth(1) == Some("sw"))
            .map(|l| format!("{l}\n"))
            .collect();
        std::fs::write(&counters, format!("fail hw ENOENT\n{sw}")).unwrap();
        roots.push(ProcRoot::new(dst.join("proc"), dst.join("sys")));
    }
    let out = render_headless(HeadlessOptions {
        app: options(pane),
        cols,
        rows,
        frames: roots.len(),
        keys: keys.into(),
        roots,
        virtual_clock: true,
    })
    .unwrap();
    out.rsplit("\x0c\n").next().unwrap_or_default().to_string()
}

#[test]
fn perf_pane_snapshots() {
    insta::assert_snapshot!("perf_80x24", headless("basic", PaneId::Perf, 80, 24, ""));
    insta::assert_snapshot!("perf_160x50", headless("basic", PaneId::Perf, 160, 50, ""));
    insta::assert_snapshot!(
        "perf_threads_160x50",
        headless("basic", PaneId::Perf, 160, 50, "t")
    );
}

#[test]
fn perf_figures_from_fixture() {
    let out = headless("basic", PaneId::Perf, 160, 50, "");
    // cpu0: 2 Gcycle/s, 3 Ginstr/s: IPC 1.50; cpu1 multiplexed (scaled, marked *).
    let cpu0 = out.lines().find(|l| l.starts_with("0 ")).expect("cpu0 row");
    assert!(cpu0.contains("2000.0") && cpu0.contains("1.50"), "{cpu0}");
    let cpu1 = out.lines().find(|l| l.starts_with("1 ")).expect("cpu1 row");
    assert!(cpu1.contains("0.40*"), "{cpu1}");
    assert!(out.contains("* scaled"), "{out}");
    // java (pid 300): the sum of threads 300..302, tid 301 scaled.
    let java = out
        .lines()
        .find(|l| l.contains("/usr/bin/java"))
        .expect("java row");
    // cycles 300+600+200 = 1100 M/s, instr 150+300+400 = 850 M/s.
    assert!(java.contains("1100.0") && java.contains("850.0"), "{java}");
    assert!(java.contains("0.77*"), "{java}");
}

#[test]
fn use_row_shows_ipc() {
    let out = headless("basic", PaneId::Use, 160, 50, "");
    let row = out
        .lines()
        .find(|l| l.contains("CPU counters"))
        .expect("row");
    assert!(row.contains("IPC"), "{row}");
}

#[test]
fn no_pmu_shows_software_counters_and_the_reason() {
    let out = nohw(PaneId::Perf, 80, 24, "");
    assert!(
        out.contains("hardware counters: not available (no PMU in this VM)"),
        "{out}"
    );
    insta::assert_snapshot!("perf_nohw_80x24", out);
    let use_out = nohw(PaneId::Use, 160, 50, "");
    let row = use_out
        .lines()
        .find(|l| l.contains("CPU counters"))
        .unwrap();
    // The overview keeps cells short; the reason is on the status line.
    assert!(row.contains("n/a"), "{row}");
    assert!(use_out.contains("no PMU in this VM"), "{use_out}");
}

#[test]
fn sort_keys_skip_hidden_hardware_columns() {
    let out = nohw(PaneId::Perf, 80, 24, ">");
    assert!(out.contains("CS/s▼"), "{out}");
    let out = headless("basic", PaneId::Perf, 80, 24, "> >");
    assert!(out.contains("Minstr/s▼"), "{out}");
}
