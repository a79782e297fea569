//! Headless snapshots of each drill-down level, the dialogs and the paused state, plus
//! key-script checks of filter, tree, sort, pause and step back, on the `interact` fixture
//! (the basic machine plus java's detail files and a process named with escape bytes).

mod common;

use common::headless;
use usetop::panes::PaneId;

/// Filter to java, open it, let one sample fill its detail.
const OPEN_JAVA: &str = "/ j a v a Enter Enter Tick";

fn both(name: &str, pane: PaneId, keys: &str) {
    insta::assert_snapshot!(
        format!("{name}_80x24"),
        headless("interact", pane, 80, 24, keys)
    );
    insta::assert_snapshot!(
        format!("{name}_160x50"),
        headless("interact", pane, 160, 50, keys)
    );
}

#[test]
fn process_view() {
    both("process_view", PaneId::Proc, OPEN_JAVA);
}

#[test]
fn thread_view() {
    both(
        "thread_view",
        PaneId::Proc,
        &format!("{OPEN_JAVA} Down Enter Tick"),
    );
}

#[test]
fn thread_view_from_thread_rows() {
    // H lists threads; Enter on one opens process › thread directly.
    let out = headless(
        "interact",
        PaneId::Proc,
        80,
        24,
        "H Tick / G C Enter Enter Tick",
    );
    assert!(
        out.contains("system › java (300) › GC Thread#0 (301)"),
        "{out}"
    );
}

#[test]
fn back_goes_up_one_level() {
    let out = headless(
        "interact",
        PaneId::Proc,
        80,
        24,
        &format!("{OPEN_JAVA} Down Enter Tick Esc"),
    );
    assert!(out.contains("system › java (300)\n"), "{out}");
    assert!(!out.contains("GC Thread#0 (301)\n"), "{out}");
    let out = headless(
        "interact",
        PaneId::Proc,
        80,
        24,
        &format!("{OPEN_JAVA} Backspace"),
    );
    assert!(out.contains("PID") && !out.contains("system ›"), "{out}");
}

#[test]
fn paused_state() {
    both("paused", PaneId::Proc, "Space Left");
}

#[test]
fn paused_process_view_without_detail_says_so() {
    let out = headless(
        "interact",
        PaneId::Proc,
        80,
        24,
        &format!("{OPEN_JAVA} Home"),
    );
    assert!(out.contains("PAUSED"), "{out}");
    assert!(
        out.contains("not in this snapshot (read live while open)"),
        "{out}"
    );
}

#[test]
fn kill_dialog() {
    both("kill_dialog", PaneId::Proc, "/ j a v a Enter k");
}

#[test]
fn kill_dialog_on_fixture_refuses() {
    let out = headless(
        "interact",
        PaneId::Proc,
        80,
        24,
        "/ j a v a Enter k Tab Enter",
    );
    assert!(
        out.contains("SIGTERM: refused: not the live /proc"),
        "{out}"
    );
    // Cancel is focused first: Enter alone cancels.
    let out = headless("interact", PaneId::Proc, 80, 24, "/ j a v a Enter k Enter");
    assert!(out.contains("cancelled"), "{out}");
}

#[test]
fn renice_dialog() {
    let out = headless("interact", PaneId::Proc, 80, 24, "/ j a v a Enter n");
    assert!(out.contains(" renice "), "{out}");
    assert!(out.contains("+1"), "{out}");
}

#[test]
fn read_only_keys_do_nothing() {
    use usetop::headless::{HeadlessOptions, render_headless};
    let roots = common::fixture_roots("interact");
    let mut app = common::options(PaneId::Proc);
    app.ui.read_only = true;
    let out = render_headless(HeadlessOptions {
        app,
        cols: 80,
        rows: 24,
        frames: roots.len(),
        keys: "k".into(),
        roots,
        virtual_clock: true,
    })
    .unwrap();
    assert!(
        out.contains("read-only: signals and renice are disabled"),
        "{out}"
    );
    assert!(!out.contains("send a signal"), "{out}");
}

#[test]
fn filter_terms() {
    let out = headless(
        "interact",
        PaneId::Proc,
        80,
        24,
        "/ u s e r : a l i c e Enter",
    );
    for pid in ["300 ", "200 ", "700 "] {
        assert!(out.contains(&format!("\n{pid}")), "{pid}: {out}");
    }
    assert!(!out.contains("\n1 "), "{out}");
    let out = headless("interact", PaneId::Proc, 80, 24, "/ s t a t e : D Enter");
    assert!(out.contains("\n400 "), "{out}");
    assert!(!out.contains("\n300 "), "{out}");
    let out = headless("interact", PaneId::Proc, 80, 24, "/ p i d : 1 , 2 Enter");
    assert!(out.contains("\n1 ") && out.contains("\n2 "), "{out}");
    assert!(!out.contains("\n300 "), "{out}");
    let out = headless(
        "interact",
        PaneId::Proc,
        80,
        24,
        "/ c m d : j a r Space u s e r : a l Enter",
    );
    assert!(out.contains("\n300 ") && !out.contains("\n200 "), "{out}");
}

#[test]
fn tree_view() {
    let out = headless("interact", PaneId::Proc, 80, 24, "t");
    let bash = out.lines().position(|l| l.starts_with("100 ")).unwrap();
    let child = out.lines().position(|l| l.starts_with("200 ")).unwrap();
    assert!(child > bash, "{out}");
    assert!(out.contains("└─ -bash"), "{out}");
    assert!(out.contains("├─ weird name"), "{out}");
}

#[test]
fn sort_keys() {
    // `<` from %CPU goes to S (state), ascending.
    let out = headless("interact", PaneId::Proc, 80, 24, "<");
    assert!(out.contains("S▲"), "{out}");
    let first = out
        .lines()
        .find(|l| l.starts_with(char::is_numeric) && !l.contains(":use"))
        .unwrap();
    assert!(first.contains(" D "), "{out}");
    let out = headless("interact", PaneId::Proc, 80, 24, "M");
    assert!(out.contains("%MEM▼"), "{out}");
    let first = out
        .lines()
        .find(|l| l.starts_with(char::is_numeric) && !l.contains(":use"))
        .unwrap();
    assert!(first.starts_with("300 "), "{out}");
}

#[test]
fn column_picker_hides_a_column() {
    // PID, then PPID (hidden by default), then USER.
    let out = headless("interact", PaneId::Proc, 80, 24, "C Down Down Space Esc");
    assert!(!out.contains("USER"), "{out}");
    assert!(out.contains("PID"), "{out}");
}

#[test]
fn pause_and_step_back() {
    let live = headless("interact", PaneId::Cpu, 80, 24, "");
    assert!(!live.contains("PAUSED"));
    let out = headless("interact", PaneId::Cpu, 80, 24, "Space");
    assert!(out.contains("PAUSED") && out.contains("#0"), "{out}");
    // Left from live pauses one step back; End resumes.
    let out = headless("interact", PaneId::Cpu, 80, 24, "Left");
    assert!(out.contains("PAUSED") && out.contains("#0"), "{out}");
    let out = headless("interact", PaneId::Cpu, 80, 24, "Left End");
    assert!(!out.contains("PAUSED"), "{out}");
    // With three snapshots stored: pause on the newest, step back twice, forward once.
    let out = headless("interact", PaneId::Cpu, 80, 24, "Tick Space Left Left");
    assert!(out.contains("PAUSED 00:00:00 UTC #0 (-2s)"), "{out}");
    let out = headless(
        "interact",
        PaneId::Cpu,
        80,
        24,
        "Tick Space Left Left Right",
    );
    assert!(out.contains("PAUSED 00:00:01 UTC #1 (-1s)"), "{out}");
    let out = headless("interact", PaneId::Cpu, 80, 24, "Tick Home");
    assert!(out.contains("#0"), "{out}");
}

#[test]
fn cpu_pane_enter_lists_top_tasks() {
    let out = headless("interact", PaneId::Cpu, 80, 24, "Enter");
    assert!(out.contains("%CPU▼"), "{out}");
}

#[test]
fn help_lists_the_task_view_keys() {
    let out = headless("interact", PaneId::Proc, 160, 50, &format!("{OPEN_JAVA} ?"));
    assert!(out.contains("Keys — task view"), "{out}");
    assert!(out.contains("back up one level"), "{out}");
    let out = headless("interact", PaneId::Proc, 160, 50, "?");
    assert!(out.contains("tree view"), "{out}");
    assert!(out.contains("oldest stored snapshot"), "{out}");
}

/// No control byte (C0 but newline, DEL, C1) and no ESC reaches the frame.
fn assert_clean(out: &str) {
    for c in out.chars() {
        assert!(
            c == '\n' || c == '\x0c' || !(c.is_control()),
            "control {:?} in frame:\n{out}",
            c
        );
    }
}

#[test]
fn escape_bytes_never_reach_the_screen() {
    for (pane, keys) in [
        (PaneId::Proc, ""),
        (PaneId::Proc, "t"),
        (PaneId::Proc, "/ e v i l Enter Enter Tick"),
        (PaneId::Proc, "/ e v i l Enter k"),
    ] {
        for (c, r) in [(80, 24), (160, 50)] {
            let out = headless("interact", pane, c, r, keys);
            assert!(
                out.contains("/tmp/") || out.contains("evil") || out.contains("pwned"),
                "{keys}: {out}"
            );
            assert_clean(&out);
        }
    }
}

/// An app that has sampled the whole fixture sequence.
fn sampled_app(ui: usetop::app::UiOptions) -> usetop::app::App {
    sampled_app_on("interact", ui)
}

/// An app that has sampled a fixture sequence.
fn sampled_app_on(fixture: &str, ui: usetop::app::UiOptions) -> usetop::app::App {
    use usetop::collectors::{Collectors, Request, VirtualClock};
    let mut opts = common::options(PaneId::Proc);
    opts.ui = ui;
    let mut app = usetop::app::App::new(opts);
    let mut clock = VirtualClock::new();
    for root in common::fixture_roots(fixture) {
        let mut c = Collectors::new(root);
        app.push_sample(c.sample(&clock, Request::default()));
        clock.advance(std::time::Duration::from_secs(1));
    }
    app.prepare();
    app
}

#[test]
fn mouse_clicks_tabs_headers_and_rows() {
    use ratatui::crossterm::event::{KeyModifiers, MouseButton, MouseEvent, MouseEventKind};
    use ratatui::layout::Rect;
    let mut app = sampled_app(Default::default());
    let area = Rect::new(0, 0, 80, 24);
    let click = |column, row| MouseEvent {
        kind: MouseEventKind::Down(MouseButton::Left),
        column,
        row,
        modifiers: KeyModifiers::NONE,
    };
    // Header row of the table is frame row 3; PID is its first column.
    app.handle_mouse(click(2, 3), area);
    assert_eq!(
        app.pane_state::<usetop::panes::proc::ProcState>()
            .unwrap()
            .table
            .sort,
        "pid"
    );
    app.prepare();
    // Third data row (frame row 6), then the same row again opens it.
    app.handle_mouse(click(10, 6), area);
    assert_eq!(
        app.pane_state::<usetop::panes::proc::ProcState>()
            .unwrap()
            .table
            .selected(),
        2
    );
    app.handle_mouse(click(10, 6), area);
    assert_eq!(app.task.levels.len(), 1);
    // The wheel scrolls; a click on the "3:cpu" tab (columns 12–16 of the 80-column tab
    // row) switches pane and leaves the drill-down.
    app.handle_mouse(click(14, 1), area);
    assert_eq!(app.pane, PaneId::Cpu);
    assert!(!app.task.is_open());
    app.pane = PaneId::Proc;
    app.prepare();
    let before = app
        .pane_state::<usetop::panes::proc::ProcState>()
        .unwrap()
        .table
        .selected();
    app.handle_mouse(
        MouseEvent {
            kind: MouseEventKind::ScrollDown,
            column: 5,
            row: 8,
            modifiers: KeyModifiers::NONE,
        },
        area,
    );
    assert_eq!(
        app.pane_state::<usetop::panes::proc::ProcState>()
            .unwrap()
            .table
            .selected(),
        before + 1
    );
}

#[test]
fn configured_key_alias_works() {
    use ratatui::crossterm::event::{KeyCode, KeyEvent};
    let ui = usetop::app::UiOptions {
        key_aliases: vec![(
            KeyEvent::from(KeyCode::F(8)),
            KeyEvent::from(KeyCode::Char('t')),
        )],
        ..Default::default()
    };
    let mut app = sampled_app(ui);
    app.handle_key(KeyEvent::from(KeyCode::F(8)));
    assert!(
        app.pane_state::<usetop::panes::proc::ProcState>()
            .unwrap()
            .tree
    );
}

#[test]
fn wide_and_broken_names_keep_the_columns() {
    // pid 400's comm is Japanese cut mid-character; its cmdline is not UTF-8.
    for (c, r) in [(80, 24), (160, 50)] {
        let out = headless(
            "interact",
            PaneId::Proc,
            c,
            r,
            "/ p i d : 4 0 0 Enter Enter Tick",
        );
        assert!(out.contains("system › pgデータ"), "{out}");
        for line in out.lines() {
            assert!(
                unicode_width::UnicodeWidthStr::width(line) <= usize::from(c),
                "too wide: {line}"
            );
        }
    }
}

/// Typing a filter in the sockets pane takes every key as text: Space, Home and End do not
/// travel in time, and configured key aliases do not rewrite the characters.
#[test]
fn sock_filter_takes_time_keys_and_aliases_as_text() {
    use ratatui::crossterm::event::{KeyCode, KeyEvent};
    use usetop::panes::sock::SockState;
    let ui = usetop::app::UiOptions {
        key_aliases: vec![(
            KeyEvent::from(KeyCode::Char('x')),
            KeyEvent::from(KeyCode::Char('q')),
        )],
        ..Default::default()
    };
    let mut app = sampled_app(ui);
    app.switch_pane(PaneId::Sock);
    let key = |c| KeyEvent::from(c);
    app.handle_key(key(KeyCode::Char('/')));
    for c in [
        KeyCode::Char('a'),
        KeyCode::Char(' '),
        KeyCode::Char('x'),
        KeyCode::Home,
        KeyCode::End,
        KeyCode::Char('b'),
    ] {
        app.handle_key(key(c));
    }
    assert!(!app.paused(), "Space or Home paused while typing");
    assert!(!app.quit, "the alias x→q was applied to typed text");
    let st = app.pane_state::<SockState>().unwrap();
    assert!(st.editing);
    assert_eq!(st.filter, "a xb");
    // Once the filter is kept, Space pauses again.
    app.handle_key(key(KeyCode::Enter));
    app.handle_key(key(KeyCode::Char(' ')));
    assert!(app.paused());
}

/// `k` is never "up" in a table (it signals in the process table): one keymap for every
/// table.
#[test]
fn k_does_not_move_up_in_any_table() {
    use ratatui::crossterm::event::{KeyCode, KeyEvent};
    use usetop::panes::slab::SlabState;
    use usetop::panes::sock::SockState;
    // The sock fixture has sockets to move over; `interact` has none.
    let mut app = sampled_app_on("sock", Default::default());
    app.switch_pane(PaneId::Sock);
    app.handle_key(KeyEvent::from(KeyCode::Down));
    app.handle_key(KeyEvent::from(KeyCode::Char('k')));
    assert_eq!(app.pane_state::<SockState>().unwrap().table.selected(), 1);
    let mut app = sampled_app(Default::default());
    app.switch_pane(PaneId::Slab);
    app.handle_key(KeyEvent::from(KeyCode::Down));
    app.handle_key(KeyEvent::from(KeyCode::Char('k')));
    assert!(app.pane_state::<SlabState>().unwrap().table.selected() <= 1);
}

/// The selection is a socket, not a line: re-sorting keeps it on the same socket.
#[test]
fn sock_selection_stays_on_its_socket_through_a_resort() {
    use ratatui::crossterm::event::{KeyCode, KeyEvent};
    use usetop::panes::sock::SockState;
    let mut app = sampled_app_on("sock", Default::default());
    app.switch_pane(PaneId::Sock);
    app.prepare();
    for _ in 0..3 {
        app.handle_key(KeyEvent::from(KeyCode::Down));
    }
    let cookie = |app: &usetop::app::App| {
        let st = app.pane_state::<SockState>().unwrap();
        st.rows()[st.table.selected()].rate.sock.cookie
    };
    let before = cookie(&app);
    let at = app.pane_state::<SockState>().unwrap().table.selected();
    app.handle_key(KeyEvent::from(KeyCode::Char('R')));
    app.prepare();
    assert_eq!(cookie(&app), before);
    assert_ne!(
        app.pane_state::<SockState>().unwrap().table.selected(),
        at,
        "the socket moved in the new order"
    );
}

/// A key with no meaning where it is pressed says so on the status line; F10 quits as in htop.
#[test]
fn unknown_keys_say_so_and_f10_quits() {
    use ratatui::crossterm::event::{KeyCode, KeyEvent};
    let mut app = sampled_app(Default::default());
    app.switch_pane(PaneId::Cpu);
    app.handle_key(KeyEvent::from(KeyCode::F(2)));
    assert_eq!(
        app.status.as_deref(),
        Some("F2: no action here; ? for keys")
    );
    app.handle_key(KeyEvent::from(KeyCode::Char('x')));
    assert_eq!(app.status.as_deref(), Some("x: no action here; ? for keys"));
    assert!(!app.quit);
    app.handle_key(KeyEvent::from(KeyCode::F(10)));
    assert!(app.quit);
}

/// `q` inside help closes help (help says any key closes it); Up/Down/PgDn scroll it.
#[test]
fn help_scrolls_and_q_only_closes_it() {
    use ratatui::crossterm::event::{KeyCode, KeyEvent};
    let mut app = sampled_app(Default::default());
    app.handle_key(KeyEvent::from(KeyCode::Char('?')));
    assert!(app.show_help);
    app.handle_key(KeyEvent::from(KeyCode::PageDown));
    app.handle_key(KeyEvent::from(KeyCode::Down));
    assert!(app.show_help);
    assert_eq!(app.help_scroll, 11);
    app.handle_key(KeyEvent::from(KeyCode::Char('q')));
    assert!(!app.show_help);
    assert!(!app.quit, "q in help quit usetop");
}

/// At 80x24 help with many n/a reasons is longer than the screen: it says it scrolls, and
/// scrolled down it shows the reasons at its end.
#[test]
fn help_scrolled_shows_its_end_at_80x24() {
    let top = common::headless("hostile_empty_truncated", PaneId::Proc, 80, 24, "?");
    assert!(top.contains("PgDn scroll"), "{top}");
    // The global keys follow the pane's: on the first page or the next.
    let next = common::headless("hostile_empty_truncated", PaneId::Proc, 80, 24, "? PgDn");
    assert!(
        top.contains("q / F10 / C-c") || next.contains("q / F10 / C-c"),
        "{top}{next}"
    );
    let end = common::headless(
        "hostile_empty_truncated",
        PaneId::Proc,
        80,
        24,
        "? PgDn PgDn PgDn",
    );
    assert!(!top.contains("slab: slab caches"), "{top}");
    assert!(end.contains("slab: slab caches"), "{end}");
    assert!(end.contains("PgDn scroll"), "{end}");
}

/// `+` and `-` walk the refresh interval up and down a fixed ladder, within 0.1–60 s.
#[test]
fn plus_and_minus_change_the_refresh_interval() {
    use ratatui::crossterm::event::{KeyCode, KeyEvent};
    use std::time::Duration;
    let mut app = sampled_app(Default::default());
    app.switch_pane(PaneId::Cpu);
    app.handle_key(KeyEvent::from(KeyCode::Char('+')));
    assert_eq!(app.interval, Duration::from_secs(2));
    assert_eq!(app.status.as_deref(), Some("refresh every 2s"));
    for _ in 0..5 {
        app.handle_key(KeyEvent::from(KeyCode::Char('-')));
    }
    assert_eq!(app.interval, Duration::from_millis(100));
    app.handle_key(KeyEvent::from(KeyCode::Char('-')));
    assert_eq!(app.interval, Duration::from_millis(100));
    assert!(app.status.as_deref().unwrap_or("").contains("limit"));
}

/// The last line is htop's F-key bar (the pane's own keys between help and quit) and the
/// header says how often usetop refreshes.
#[test]
fn fkey_bar_and_interval_in_the_header() {
    let out = common::headless("basic", PaneId::Proc, 80, 24, "");
    let last = out.lines().last().unwrap_or_default();
    assert!(last.starts_with("F1Help"), "{last}");
    for k in [
        "F3Search", "F4Filter", "F5Tree", "F6SortBy", "F9Kill", "F10Quit",
    ] {
        assert!(last.contains(k), "{k} missing: {last}");
    }
    assert!(
        out.lines().next().unwrap_or_default().contains("every 1s"),
        "{out}"
    );
    let cpu = common::headless("basic", PaneId::Cpu, 80, 24, "");
    let last = cpu.lines().last().unwrap_or_default();
    assert!(
        last.contains("F10Quit") && !last.contains("F9Kill"),
        "{last}"
    );
}
