//! Key-driven headless snapshots on the `basic` fixture: sorting, filtering, threads, help
//! and pause / time travel. Keys go in before the last frame (see `render_headless`).

mod common;

use common::{fixture_roots, headless, options};
use usetop::headless::{HeadlessOptions, render_headless};
use usetop::panes::PaneId;

/// The last frame of a run of `frames` samples over `basic` (t0, t1, then t1 again).
fn last_frame(pane: PaneId, cols: u16, rows: u16, frames: usize, keys: &str) -> String {
    let out = render_headless(HeadlessOptions {
        app: options(pane),
        cols,
        rows,
        frames,
        keys: keys.into(),
        roots: fixture_roots("basic"),
        virtual_clock: true,
    })
    .expect("headless run");
    out.rsplit("\x0c\n").next().unwrap_or_default().to_string()
}

fn proc_keys(keys: &str) -> String {
    headless("basic", PaneId::Proc, 120, 24, keys)
}

/// The PIDs of the table rows, top to bottom (rows start with a right-aligned pid).
fn pid_column(screen: &str) -> Vec<u32> {
    screen
        .lines()
        .skip_while(|l| !(l.trim_start().starts_with("PID") || l.trim_start().starts_with("TID")))
        .skip(1)
        .filter_map(|l| {
            l.trim_start_matches(['>', ' ', '▶', '│'])
                .split_whitespace()
                .next()?
                .parse()
                .ok()
        })
        .collect()
}

#[test]
fn sort_by_cpu_and_mem() {
    // %CPU descending is the default: java (180), weird (90), db (51), systemd (1).
    assert_eq!(pid_column(&proc_keys(""))[..3], [300, 200, 400]);
    let m = proc_keys("M");
    insta::assert_snapshot!("proc_sort_mem", m);
    // RSS descending: java 500100 pages, weird 25600, db 8000, systemd 3000.
    assert_eq!(pid_column(&m)[..5], [300, 200, 400, 1, 100], "{m}");
    // P after another column sorts by %CPU descending again.
    let mp = proc_keys("M P");
    assert_eq!(pid_column(&mp)[..3], [300, 200, 400], "{mp}");
    // P on the column already sorted flips the order: the rate-less new task first,
    // the busiest last.
    let p = proc_keys("P");
    insta::assert_snapshot!("proc_sort_cpu_flipped", p);
    assert_eq!(pid_column(&p)[0], 500, "{p}");
    assert_eq!(pid_column(&p).last(), Some(&300), "{p}");
    // I inverts too.
    assert_eq!(proc_keys("I"), p);
    let mi = proc_keys("M I");
    assert_eq!(pid_column(&mi).last(), Some(&300), "{mi}");
}

#[test]
fn sort_column_left_and_right() {
    insta::assert_snapshot!("proc_sort_next", proc_keys(">"));
    insta::assert_snapshot!("proc_sort_prev_prev", proc_keys("< <"));
    // `>` then `<` returns to the default sort.
    assert_eq!(proc_keys("> <"), proc_keys(""));
}

#[test]
fn filter_java() {
    let f = proc_keys("/ j a v a Enter");
    insta::assert_snapshot!("proc_filter_java", f);
    assert_eq!(pid_column(&f), [300], "{f}");
    assert!(f.contains("filter: java"), "{f}");
    // Esc clears it again.
    let cleared = proc_keys("/ j a v a Enter Esc");
    assert_eq!(pid_column(&cleared).len(), 9, "{cleared}");
    // Filtering by user and by pid.
    assert_eq!(pid_column(&proc_keys("/ a l i c e Enter")), [300, 200]);
    assert_eq!(pid_column(&proc_keys("/ 4 0 0 Enter")), [400]);
}

#[test]
fn threads_view() {
    let t = proc_keys("H");
    insta::assert_snapshot!("proc_threads", t);
    assert!(t.contains("GC Thread#0"), "{t}");
    assert!(t.contains("C2 Compiler"), "{t}");
    let t = headless("basic", PaneId::Proc, 160, 50, "H /  j a v a Enter");
    insta::assert_snapshot!("proc_threads_java_160x50", t);
    assert_eq!(pid_column(&t).len(), 3, "{t}");
}

#[test]
fn help_overlay() {
    insta::assert_snapshot!(
        "help_use_80x24",
        headless("basic", PaneId::Use, 80, 24, "?")
    );
    let h = headless("basic", PaneId::Proc, 80, 24, "?");
    insta::assert_snapshot!("help_proc_80x24", h);
    assert!(h.contains("help"), "{h}");
    // Any key closes it.
    assert_eq!(
        headless("basic", PaneId::Cpu, 80, 24, "? x"),
        headless("basic", PaneId::Cpu, 80, 24, "")
    );
}

#[test]
fn pause_and_step_back() {
    // Three frames: t0, t1, t1 again. Paused after the second, the screen keeps showing
    // the second frame's rates although a third sample arrived.
    let paused = last_frame(PaneId::Proc, 120, 24, 3, "Space");
    insta::assert_snapshot!("proc_paused", paused);
    assert!(paused.contains("PAUSED 00:00:01 UTC #1"), "{paused}");
    let running = last_frame(PaneId::Proc, 120, 24, 3, "");
    assert_ne!(pid_column(&paused), pid_column(&running));
    // Left steps to the first snapshot (no rates yet); Right comes back.
    let back = last_frame(PaneId::Cpu, 80, 24, 3, "Space Left");
    insta::assert_snapshot!("cpu_paused_left", back);
    assert!(back.contains("PAUSED 00:00:00 UTC #0"), "{back}");
    let fwd = last_frame(PaneId::Cpu, 80, 24, 3, "Space Left Right");
    assert!(fwd.contains("PAUSED 00:00:01 UTC #1"), "{fwd}");
    // Space again resumes: the newest frame.
    let resumed = last_frame(PaneId::Cpu, 80, 24, 3, "Space Left Space");
    assert!(!resumed.contains("PAUSED"), "{resumed}");
}

#[test]
fn pane_switching_keys() {
    let all: Vec<PaneId> = PaneId::all().collect();
    for (keys, pane) in [
        ("Tab", all[1]),
        ("S-Tab", all[all.len() - 1]),
        ("3", all[2]),
    ] {
        // The pane's first lines (its headings) tell which pane is shown; figures below may
        // differ, since a pane asks the sampler for its data only once it is shown.
        let head = |s: String| s.lines().take(4).collect::<Vec<_>>().join("\n");
        assert_eq!(
            head(headless("basic", all[0], 80, 24, keys)),
            head(headless("basic", pane, 80, 24, "")),
            "keys {keys}"
        );
    }
}
