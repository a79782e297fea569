//! The process table as an htop user meets it (issue 13): the first selection, the cpu
//! pane's Enter, kernel-thread brackets and the thread view, the NAME/COMMAND columns,
//! hiding kernel threads, the added columns, the F-keys and the drill-down on a past
//! snapshot. Headless over the `interact` fixture.

mod common;

use ratatui::crossterm::event::{KeyCode, KeyEvent};
use usetop::collectors::{Collectors, Request, VirtualClock};
use usetop::panes::PaneId;
use usetop::panes::proc::ProcState;

fn key(app: &mut usetop::app::App, c: KeyCode) {
    app.prepare();
    app.handle_key(KeyEvent::from(c));
    app.prepare();
}

/// An app on the proc pane fed the fixture's samples one by one; `each` runs after each.
fn feed(fixture: &str, mut each: impl FnMut(&mut usetop::app::App, usize)) -> usetop::app::App {
    let mut app = usetop::app::App::new(common::options(PaneId::Proc));
    let mut clock = VirtualClock::new();
    for (i, root) in common::fixture_roots(fixture).into_iter().enumerate() {
        let mut c = Collectors::new(root);
        app.push_sample(c.sample(&clock, Request::default()));
        clock.advance(std::time::Duration::from_secs(1));
        app.prepare();
        each(&mut app, i);
    }
    app
}

fn selected_pid(app: &usetop::app::App) -> Option<u32> {
    app.pane_state::<ProcState>()
        .and_then(|st| st.selected_row().map(|r| r.rec.pid()))
}

fn top_pid(app: &usetop::app::App) -> Option<u32> {
    app.pane_state::<ProcState>()
        .and_then(|st| st.rows().first().map(|r| r.task.rec.pid()))
}

#[test]
fn first_frames_select_the_top_row() {
    let app = feed("interact", |app, i| {
        assert_eq!(selected_pid(app), top_pid(app), "frame {i}");
    });
    // The frame with rates is sorted by %CPU: its top row is the busiest, not the newest pid.
    let st = app.pane_state::<ProcState>().unwrap();
    assert!(st.rows()[0].task.cpu_pct.is_some());
    assert_eq!(st.table.selected(), 0);
}

#[test]
fn own_process_is_never_preselected() {
    // Pretend usetop is java (300), the busiest process of the frame with rates.
    let app = feed("interact", |app, _| {
        app.pane_state_mut::<ProcState>().unwrap().own_pid = 300;
    });
    let st = app.pane_state::<ProcState>().unwrap();
    let top = st.rows()[0].task.rec.pid();
    let sel = selected_pid(&app).unwrap();
    assert_ne!(sel, 300, "top is {top}");
    assert_eq!(st.table.selected(), if top == 300 { 1 } else { 0 });
}

#[test]
fn cpu_enter_shows_the_top_of_the_cpu_sort() {
    let mut app = feed("interact", |_, _| {});
    // Sort by memory and select a row far down, then go to the cpu pane and press Enter.
    key(&mut app, KeyCode::Char('M'));
    key(&mut app, KeyCode::Char('g'));
    for _ in 0..5 {
        key(&mut app, KeyCode::Down);
    }
    assert_eq!(app.pane_state::<ProcState>().unwrap().table.selected(), 5);
    key(&mut app, KeyCode::Char('3'));
    assert_eq!(app.pane, PaneId::Cpu);
    key(&mut app, KeyCode::Enter);
    assert_eq!(app.pane, PaneId::Proc);
    let st = app.pane_state::<ProcState>().unwrap();
    assert_eq!((st.table.sort, st.table.desc), ("cpu", true));
    assert_eq!(st.table.selected(), 0);
    assert_eq!(selected_pid(&app), top_pid(&app));
    // Again with %CPU already the sort: still the top.
    let mut app = feed("interact", |_, _| {});
    key(&mut app, KeyCode::Char('g'));
    for _ in 0..5 {
        key(&mut app, KeyCode::Down);
    }
    key(&mut app, KeyCode::Char('3'));
    key(&mut app, KeyCode::Enter);
    assert_eq!(app.pane_state::<ProcState>().unwrap().table.selected(), 0);
    // From the tree view: the flat list, busiest first (the tree would put pid 1 on top).
    let mut app = feed("interact", |_, _| {});
    key(&mut app, KeyCode::Char('t'));
    key(&mut app, KeyCode::Char('3'));
    key(&mut app, KeyCode::Enter);
    let st = app.pane_state::<ProcState>().unwrap();
    assert!(!st.tree);
    let cpu: Vec<f64> = st.rows().iter().filter_map(|r| r.task.cpu_pct).collect();
    assert!(cpu.windows(2).all(|w| w[0] >= w[1]), "{cpu:?}");
    assert_eq!(selected_pid(&app), top_pid(&app));
}

#[test]
fn threads_are_named_plainly_with_tid_and_their_own_io() {
    let out = common::headless("interact", PaneId::Proc, 120, 30, "H Tick");
    assert!(out.contains("TID"), "{out}");
    assert!(!out.contains("[GC Thread#0]"), "{out}");
    let gc = out
        .lines()
        .find(|l| l.contains("GC Thread#0"))
        .expect("GC thread row");
    // It wrote 400 KiB in the second; its siblings nothing; nothing is n/a.
    assert!(gc.contains("400K"), "{gc}");
    let java: Vec<&str> = out
        .lines()
        .filter(|l| l.contains(" 30") && l.contains("alice"))
        .collect();
    assert!(java.iter().all(|l| !l.contains("n/a")), "{java:?}");
    // Kernel threads keep their brackets; processes say PID.
    let out = common::headless("interact", PaneId::Proc, 160, 30, "");
    assert!(out.contains("PID"), "{out}");
    assert!(!out.contains("TID"), "{out}");
    assert!(out.contains("[kthreadd]"), "{out}");
    assert!(out.contains("zombie <defunct>"), "{out}");
}

fn both(name: &str, keys: &str) -> (String, String) {
    let small = common::headless("interact", PaneId::Proc, 80, 24, keys);
    let big = common::headless("interact", PaneId::Proc, 200, 60, keys);
    insta::assert_snapshot!(format!("{name}_80x24"), small);
    insta::assert_snapshot!(format!("{name}_200x60"), big);
    (small, big)
}

#[test]
fn command_starts_with_the_program_basename_and_p_shows_the_path() {
    let (small, big) = both("command_basename", "");
    assert!(small.contains(" java -Xmx2g"), "{small}");
    assert!(!small.contains("/usr/bin/java"), "{small}");
    assert!(big.contains(" init splash"), "{big}");
    let (small, _) = both("command_full_path", "p");
    assert!(small.contains("/usr/bin/java"), "{small}");
}

#[test]
fn name_column_in_the_picker_and_table() {
    let out = common::headless("interact", PaneId::Proc, 200, 60, "C");
    assert!(out.contains("NAME"), "{out}");
    // Toggle NAME (comm) on: it sits before COMMAND.
    let down = "Down ".repeat(
        usetop::model::fields::PROC_FIELDS
            .iter()
            .position(|f| f.name == "comm")
            .unwrap(),
    );
    let out = common::headless(
        "interact",
        PaneId::Proc,
        200,
        60,
        &format!("C {down}Space Esc"),
    );
    let header = out.lines().find(|l| l.contains("COMMAND")).unwrap();
    assert!(header.contains("NAME"), "{header}");
    assert!(header.find("NAME") < header.find("COMMAND"), "{header}");
}

#[test]
fn deep_tree_keeps_the_name_visible() {
    use usetop::widgets::table::cap_prefix;
    let deep = "│  ".repeat(20) + "└─ ";
    let capped = cap_prefix(&deep, 30);
    assert_eq!(capped.chars().count(), 15);
    assert!(capped.ends_with("└─ "));
    assert_eq!(cap_prefix("└─ ", 30), "└─ ");
    assert_eq!(cap_prefix(&deep, 4).chars().count(), 3);
    both("tree_deep_kernel_shown", "t K");
}

#[test]
fn k_hides_kernel_threads_and_the_tree_hides_them_by_default() {
    let flat = common::headless("interact", PaneId::Proc, 120, 30, "");
    assert!(
        flat.contains("[kthreadd]") && flat.contains("[kworker"),
        "{flat}"
    );
    assert!(!flat.contains("-kthreads"), "{flat}");
    let (_, tree) = both("tree", "t");
    assert!(
        !tree.contains("[kthreadd]") && !tree.contains("[kworker"),
        "{tree}"
    );
    assert!(tree.contains("-kthreads"), "{tree}");
    let tree_k = common::headless("interact", PaneId::Proc, 120, 30, "t K");
    assert!(tree_k.contains("[kthreadd]"), "{tree_k}");
    let flat_k = common::headless("interact", PaneId::Proc, 120, 30, "K");
    assert!(
        !flat_k.contains("[kthreadd]") && !flat_k.contains("[kworker"),
        "{flat_k}"
    );
    assert!(flat_k.contains("-kthreads"), "{flat_k}");
    // User processes and the zombie stay.
    assert!(
        flat_k.contains("zombie <defunc") && flat_k.contains("java"),
        "{flat_k}"
    );
}

/// The proc table with these columns, the last frame.
fn with_columns(cols: &[&str], w: u16, h: u16, keys: &str) -> String {
    use usetop::headless::{HeadlessOptions, render_headless};
    let mut app = common::options(PaneId::Proc);
    app.ui.columns = Some(cols.iter().map(|c| c.to_string()).collect());
    let roots = common::fixture_roots("interact");
    let out = render_headless(HeadlessOptions {
        app,
        cols: w,
        rows: h,
        frames: roots.len(),
        keys: keys.into(),
        roots,
        virtual_clock: true,
    })
    .unwrap();
    out.rsplit("\x0c\n").next().unwrap().to_string()
}

#[test]
fn new_columns_show_the_stat_fields() {
    let cols = ["pid", "pri", "ni", "virt", "last-cpu", "start", "command"];
    let out = with_columns(&cols, 200, 60, "");
    insta::assert_snapshot!("new_columns_200x60", out);
    insta::assert_snapshot!("new_columns_80x24", with_columns(&cols, 80, 24, ""));
    let header = out.lines().find(|l| l.starts_with("PID")).unwrap();
    for h in ["PRI", "NI", "VIRT", "CPU", "START"] {
        assert!(header.contains(h), "{header}");
    }
}

#[test]
fn o_sorts_by_io() {
    let out = common::headless("interact", PaneId::Proc, 120, 30, "O");
    assert!(out.contains("sort IO/s▼"), "{out}");
    let app = feed("interact", |_, _| {});
    let mut app = app;
    key(&mut app, KeyCode::Char('O'));
    let st = app.pane_state::<ProcState>().unwrap();
    let io: Vec<f64> = st
        .rows()
        .iter()
        .map(|r| r.task.read_bps.unwrap_or(0.0) + r.task.write_bps.unwrap_or(0.0))
        .collect();
    // The daemon's 4 MiB/s read leads, then the writers.
    assert_eq!(st.rows()[0].task.rec.pid(), 400, "{io:?}");
    assert!(io[0] >= io[1] && io[1] >= io[2], "{io:?}");
}

#[test]
fn f3_searches_without_filtering_and_f3_repeats() {
    let mut app = feed("interact", |_, _| {});
    let n = app.pane_state::<ProcState>().unwrap().rows().len();
    key(&mut app, KeyCode::F(3));
    for c in "bash".chars() {
        key(&mut app, KeyCode::Char(c));
    }
    assert_eq!(selected_pid(&app), Some(100));
    // Nothing is filtered out.
    assert_eq!(app.pane_state::<ProcState>().unwrap().rows().len(), n);
    key(&mut app, KeyCode::Enter);
    // A search matching two rows: F3 goes from one to the next, and wraps.
    key(&mut app, KeyCode::Char('g'));
    key(&mut app, KeyCode::F(3));
    for _ in 0.."bash".len() {
        key(&mut app, KeyCode::Backspace);
    }
    for c in "job".chars() {
        key(&mut app, KeyCode::Char(c));
    }
    let first = selected_pid(&app);
    assert_eq!(first, Some(500));
    key(&mut app, KeyCode::F(3));
    assert_eq!(
        selected_pid(&app),
        Some(500),
        "one job row: wraps to itself"
    );
    key(&mut app, KeyCode::Esc);
    // n and N stay renice outside the search; text typed while searching is not a key.
    let out = common::headless("interact", PaneId::Proc, 120, 30, "F3 n o s u c h");
    assert!(out.contains("search: nosuch_ (not found)"), "{out}");
    assert!(!out.contains("renice"), "{out}");
    // Repeating F3 with two matches moves between them.
    let mut app = feed("interact", |_, _| {});
    key(&mut app, KeyCode::F(3));
    // `k` is text here, not kill: it matches kworker (57) and kthreadd (2).
    key(&mut app, KeyCode::Char('k'));
    key(&mut app, KeyCode::Enter);
    assert!(app.dialog.is_none());
    assert_eq!(selected_pid(&app), Some(57));
    key(&mut app, KeyCode::F(3));
    assert_eq!(selected_pid(&app), Some(2), "F3 moves to the next match");
    key(&mut app, KeyCode::F(3));
    assert_eq!(selected_pid(&app), Some(57), "and wraps");
}

#[test]
fn f4_filters_f5_trees_f6_sorts() {
    let out = common::headless("interact", PaneId::Proc, 120, 30, "F4 j a v a Enter");
    assert!(out.contains("filter: java"), "{out}");
    let out = common::headless("interact", PaneId::Proc, 120, 30, "F5");
    assert!(out.contains(" tree "), "{out}");
    let (menu, _) = both("sort_menu", "F6");
    assert!(
        menu.contains("sort by") && menu.contains("* %CPU"),
        "{menu}"
    );
    // Down to the next column after %CPU (%MEM at 80 columns: S, %CPU, then %MEM).
    let out = common::headless("interact", PaneId::Proc, 120, 30, "F6 Down Enter");
    assert!(out.contains("sort %MEM▼"), "{out}");
    let out = common::headless("interact", PaneId::Proc, 120, 30, "F6 Up Up Up Enter");
    assert!(out.contains("sort PRI▼"), "{out}");
}

fn usetop_on(root: &str, args: &[&str]) -> std::process::Output {
    let t = common::fixtures().join(root);
    std::process::Command::new(env!("CARGO_BIN_EXE_usetop"))
        .args(args)
        .arg("--proc-root")
        .arg(t.join("proc"))
        .arg("--sys-root")
        .arg(t.join("sys"))
        .output()
        .expect("run usetop")
}

#[test]
fn replayed_process_view_shows_past_figures_threads_and_what_is_live_only() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("r.usetop");
    let f = file.to_str().unwrap();
    let out = usetop_on(
        "interact/t1",
        &["record", "--threads", "-o", f, "-i", "0.1", "-n", "3"],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let replay = |size: &str| {
        let out = usetop_on(
            "interact/t1",
            &[
                "replay",
                f,
                "--headless",
                "--pane",
                "proc",
                "--size",
                size,
                "--keys",
                "/ j a v a Enter Enter",
            ],
        );
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let text = String::from_utf8_lossy(&out.stdout).into_owned();
        let last = text.rsplit("\x0c\n").next().unwrap();
        // The header holds the recording's wall time: left out of the snapshot.
        last.lines().skip(1).collect::<Vec<_>>().join("\n")
    };
    let small = replay("80x24");
    let big = replay("200x60");
    for out in [&small, &big] {
        assert!(out.contains("system › java (300)"), "{out}");
        // The process table's figure for this snapshot (a still tree: 0.0), not `-`.
        assert!(out.contains("%CPU 0.0"), "{out}");
        assert!(!out.contains("%CPU -"), "{out}");
        assert!(!out.contains("waiting for the next sample"), "{out}");
        assert!(
            out.contains("detail: live only, not in recordings: exe cwd"),
            "{out}"
        );
        // The recording's thread list.
        assert!(
            out.contains("GC Thread#0") && out.contains("C2 Compiler"),
            "{out}"
        );
    }
    insta::assert_snapshot!("replay_process_view_80x24", small);
    insta::assert_snapshot!("replay_process_view_200x60", big);
}

#[test]
fn paused_process_view_shows_the_snapshot_figures() {
    // Open java live (detail arrives), then step back to a snapshot taken before it opened.
    let out = common::headless(
        "interact",
        PaneId::Proc,
        120,
        30,
        "Tick / j a v a Enter Enter Space",
    );
    assert!(out.contains("PAUSED"), "{out}");
    assert!(!out.contains("%CPU -"), "{out}");
    assert!(out.contains("%CPU 0.0"), "{out}");
    assert!(
        out.contains("detail: not in this snapshot (read live while open): exe cwd fds"),
        "{out}"
    );
}

#[test]
fn shr_wchan_oom_are_read_for_the_rows_on_screen_only() {
    let cols = ["pid", "state", "shr", "wchan", "oom", "command"];
    let out = with_columns(&cols, 200, 60, "");
    insta::assert_snapshot!("shr_wchan_oom_200x60", out);
    insta::assert_snapshot!("shr_wchan_oom_80x24", with_columns(&cols, 80, 24, ""));
    let java = out.lines().find(|l| l.starts_with("300 ")).unwrap();
    assert!(
        java.contains("20M") && java.contains("futex_wait_queue") && java.contains("667"),
        "{java}"
    );
    let db = out.lines().find(|l| l.starts_with("400 ")).unwrap();
    assert!(db.contains(" D ") && db.contains("io_schedule"), "{db}");
    // Only the rows on screen are asked for: at 80x24 all ten fit; a table of 5 lines
    // shows 4, and moving the selection down moves the window.
    let mut opts = common::options(PaneId::Proc);
    opts.ui.columns = Some(cols.iter().map(|c| c.to_string()).collect());
    let mut app = usetop::app::App::new(opts);
    let mut clock = VirtualClock::new();
    let mut term = ratatui::Terminal::new(ratatui::backend::TestBackend::new(80, 24)).unwrap();
    for root in common::fixture_roots("interact") {
        let mut c = Collectors::new(root);
        let req = app.request();
        app.push_sample(c.sample(&clock, req));
        clock.advance(std::time::Duration::from_secs(1));
        app.prepare();
        term.draw(|f| usetop::app::ui::draw(f, &app)).unwrap();
    }
    let pids = |st: &ProcState, n: usize, skip: usize| -> Vec<u32> {
        st.rows()
            .iter()
            .skip(skip)
            .take(n)
            .map(|r| r.task.rec.pid())
            .collect()
    };
    let st = app.pane_state::<ProcState>().unwrap();
    assert_eq!(app.request().screen.pids(), &pids(st, 10, 0)[..]);
    assert_eq!(st.screen_pids_at(5).pids(), &pids(st, 4, 0)[..]);
    for _ in 0..6 {
        key(&mut app, KeyCode::Down);
    }
    let st = app.pane_state::<ProcState>().unwrap();
    assert_eq!(st.screen_pids_at(5).pids(), &pids(st, 4, 3)[..]);
    // SHR is shown by default (as htop), so the rows on screen are asked for; without
    // SHR, WCHAN or OOM nothing is.
    let app = feed("interact", |_, _| {});
    assert!(!app.request().screen.pids().is_empty());
    let mut opts = common::options(PaneId::Proc);
    opts.ui.columns = Some(vec!["pid".into(), "cpu".into(), "command".into()]);
    let app = usetop::app::App::new(opts);
    assert!(app.request().screen.pids().is_empty());
}

#[test]
fn at_120_columns_command_gets_room_and_80_keeps_its_figures() {
    let out = common::headless("interact", PaneId::Proc, 120, 30, "");
    assert!(out.contains("java -Xmx2g -jar app.jar"), "{out}");
    assert!(out.contains("init splash"), "{out}");
    let small = common::headless("interact", PaneId::Proc, 80, 24, "");
    let header = small.lines().find(|l| l.starts_with("PID")).unwrap();
    assert!(
        header.contains("TIME+") && header.contains("READ/s"),
        "{header}"
    );
}

#[test]
fn thread_rows_show_their_own_wchan() {
    // In the thread view each of java's threads shows the kernel function it waits in,
    // read from /proc/300/task/TID/wchan, not n/a (from the sample after the one that
    // first lists the threads: that is when their rows are on screen).
    let cols = ["pid", "state", "wchan", "command"];
    let out = with_columns(&cols, 120, 40, "H Tick");
    assert!(out.contains("TID"), "{out}");
    let row = |tid: &str| {
        out.lines()
            .find(|l| l.starts_with(&format!("{tid} ")))
            .unwrap_or_else(|| panic!("no row {tid}:\n{out}"))
            .to_string()
    };
    assert!(row("300").contains("futex_wait_queue"), "{out}");
    assert!(row("301").contains("do_epoll_wait"), "{out}");
    assert!(row("302").contains("do_nanosleep"), "{out}");
    // Processes without thread files keep their process-wide reading.
    assert!(row("400").contains("io_schedule"), "{out}");
}
