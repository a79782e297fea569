//! FDS and FD%: each process's open descriptors against its soft RLIMIT_NOFILE, read only
//! for the rows on screen while one of the two columns is shown: the parsers, the fixture
//! tree (interact: the db at 19 of 20, init at 8 of 10, java at 5 of 1024), the colouring,
//! and the test's own process opening descriptors on the live /proc.

mod common;

use std::time::Duration;

use usetop::app::App;
use usetop::collectors::dirents::count_entries;
use usetop::collectors::parse::nofile_soft;
use usetop::collectors::{Collectors, ProcRoot, Request, VirtualClock, task_fds};

/// Tests that open or close descriptors in this process (every collector keeps some) run
/// one at a time, so the own-process count is exact.
static ONE_AT_A_TIME: std::sync::Mutex<()> = std::sync::Mutex::new(());
use usetop::model::fields::{PROC_FIELDS, ProcRow, Value, proc_field};
use usetop::model::{Level, ScreenPids};
use usetop::panes::PaneId;
use usetop::panes::proc::{ProcState, proc_columns};

const LIMITS: &[u8] =
    b"Limit                     Soft Limit           Hard Limit           Units     \n\
Max cpu time              unlimited            unlimited            seconds   \n\
Max open files            1024                 524288               files     \n\
Max locked memory         8388608              8388608              bytes     \n";

#[test]
fn the_soft_open_files_limit_and_the_fd_count() {
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    assert_eq!(nofile_soft(LIMITS), Some(1024));
    assert_eq!(
        nofile_soft(b"Limit\nMax open files            unlimited            unlimited\n"),
        None
    );
    assert_eq!(nofile_soft(b"Limit\nMax processes 100 100\n"), None);
    assert_eq!(nofile_soft(b""), None);
    assert_eq!(nofile_soft(b"Max open files"), None);
    let dir = tempfile::tempdir().unwrap();
    for n in 0..3 {
        std::fs::write(dir.path().join(n.to_string()), "").unwrap();
    }
    // "." and ".." are not descriptors.
    assert_eq!(count_entries(dir.path(), &mut Vec::new()).unwrap(), 3);
    assert!(count_entries(&dir.path().join("gone"), &mut Vec::new()).is_err());
}

/// An app on the interact fixture with these process columns, after every sample.
fn app_with(cols: &[&str]) -> App {
    let mut opts = common::options(PaneId::Proc);
    opts.ui.columns = Some(cols.iter().map(|c| c.to_string()).collect());
    let mut app = App::new(opts);
    let mut clock = VirtualClock::new();
    let mut term = ratatui::Terminal::new(ratatui::backend::TestBackend::new(80, 24)).unwrap();
    for root in common::fixture_roots("interact") {
        let mut c = Collectors::new(root);
        let req = app.request();
        app.push_sample(c.sample(&clock, req));
        clock.advance(Duration::from_secs(1));
        app.prepare();
        term.draw(|f| usetop::app::ui::draw(f, &app)).unwrap();
    }
    app
}

fn value(row: &ProcRow, name: &str) -> Value {
    (proc_field(name).expect("field").value)(row)
}

#[test]
fn fds_and_fd_pct_on_the_fixture_tree() {
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let app = app_with(&["pid", "fds", "fd%", "command"]);
    assert!(
        app.request().screen.fds,
        "FDS shown: descriptors are counted"
    );
    let st = app.pane_state::<ProcState>().unwrap();
    let row = |pid: u32| {
        st.rows()
            .iter()
            .find(|r| r.task.rec.pid() == pid)
            .unwrap_or_else(|| panic!("no row {pid}"))
    };
    let cols = proc_columns();
    let fd_col = cols.iter().find(|c| c.name == "fd%").unwrap();
    // The db: 19 of 20 = 95 %, red. init: 8 of 10 = 80 %, yellow. java: 5 of 1024, green.
    for (pid, fds, pct, level) in [
        (400, 19, 95.0, Level::Crit),
        (1, 8, 80.0, Level::Warn),
        (300, 5, 5.0 * 100.0 / 1024.0, Level::Ok),
    ] {
        let r = row(pid);
        assert_eq!(value(r, "fds"), Value::Int(fds), "{pid}");
        assert_eq!(value(r, "fd%"), Value::Num(Some(pct)), "{pid}");
        assert_eq!((fd_col.cell)(r).level, Some(level), "{pid}");
    }
    // A process whose fd directory and limits the tree lacks: n/a, not 0.
    assert_eq!(value(row(200), "fds"), Value::Unreadable);
    assert_eq!((fd_col.cell)(row(200)).level, None);

    // Without FDS or FD% shown, nothing under fd/ is read.
    let app = app_with(&["pid", "shr", "command"]);
    assert!(!app.request().screen.fds);
    let st = app.pane_state::<ProcState>().unwrap();
    let db = st.rows().iter().find(|r| r.task.rec.pid() == 400).unwrap();
    assert_eq!(value(db, "fds"), Value::Unreadable);
}

#[test]
fn fds_columns_are_hidden_by_default_and_dumped() {
    for name in ["fds", "fd%"] {
        let f = PROC_FIELDS.iter().find(|f| f.name == name).unwrap();
        assert!(!f.shown, "{name} hidden by default");
    }
    assert_eq!(proc_field("fds").unwrap().dump, Some("open_fds"));
    assert_eq!(proc_field("fd%").unwrap().dump, Some("fd_limit_pct"));
}

#[test]
fn fds_table_snapshots() {
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    use usetop::headless::{HeadlessOptions, render_headless};
    let run = |w: u16, h: u16| {
        let mut app = common::options(PaneId::Proc);
        app.ui.columns = Some(
            ["pid", "user", "fds", "fd%", "command"]
                .iter()
                .map(|c| c.to_string())
                .collect(),
        );
        let roots = common::fixture_roots("interact");
        let out = render_headless(HeadlessOptions {
            app,
            cols: w,
            rows: h,
            frames: roots.len(),
            keys: String::new(),
            roots,
            virtual_clock: true,
        })
        .unwrap();
        out.rsplit("\x0c\n").next().unwrap().to_string()
    };
    let small = run(80, 24);
    assert!(
        small
            .lines()
            .any(|l| l.starts_with("400 ") && l.contains(" 19 ") && l.contains("95.0")),
        "{small}"
    );
    insta::assert_snapshot!("fds_80x24", small);
    insta::assert_snapshot!("fds_200x60", run(200, 60));
}

fn live_fds(c: &mut Collectors, pid: u32) -> (u64, u64) {
    let mut screen = ScreenPids::from_pids([pid].into_iter());
    screen.fds = true;
    let req = Request {
        screen,
        ..Request::default()
    };
    let s = c.sample(&VirtualClock::new(), req);
    let e = s
        .extras
        .iter()
        .find(|e| e.pid == pid)
        .cloned()
        .expect("extras of the pid asked for");
    (e.fds.expect("fds"), e.fd_limit.expect("limit"))
}

/// The test's own process on the live /proc: 40 more descriptors read as exactly 40 more,
/// and the limit is the soft RLIMIT_NOFILE. Read directly (no collector keeping
/// descriptors of its own), with the other tests of this binary held off.
#[test]
fn live_own_descriptors_are_counted() {
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let me = std::process::id();
    let root = ProcRoot::new("/proc", "/sys");
    let mut buf = Vec::new();
    let (before, _) = task_fds(&root, me, &mut buf);
    let dir = tempfile::tempdir().unwrap();
    let files: Vec<std::fs::File> = (0..40)
        .map(|i| std::fs::File::create(dir.path().join(i.to_string())).unwrap())
        .collect();
    let (after, limit) = task_fds(&root, me, &mut buf);
    assert_eq!(after, before.map(|b| b + 40));
    let mut lim = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit only writes the struct passed.
    assert_eq!(unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) }, 0);
    assert_eq!(limit, Some(lim.rlim_cur));
    drop(files);
    assert_eq!(task_fds(&root, me, &mut buf).0, before);
}

/// A process the test starts with 0-2 and five more descriptors (and whatever the test
/// harness passes down without close-on-exec, such as cargo's jobserver pipe) under a soft
/// limit of 64: FDS is what its fd directory lists, FD% that over 64.
#[test]
fn live_child_descriptors_exactly() {
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    use std::process::{Command, Stdio};
    let mut child = Command::new("sh")
        .args([
            "-c",
            "ulimit -n 64; exec 3</dev/null 4</dev/null 5</dev/null 6</dev/null 7</dev/null; exec sleep 30",
        ])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let pid = child.id();
    let mut c = Collectors::new(ProcRoot::new("/proc", "/sys"));
    // Until the shell has exec'd sleep (its own descriptors gone, the limit set).
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    let got = loop {
        let comm = std::fs::read_to_string(format!("/proc/{pid}/comm")).unwrap_or_default();
        if comm.trim() == "sleep" || std::time::Instant::now() > deadline {
            break live_fds(&mut c, pid);
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let listed = std::fs::read_dir(format!("/proc/{pid}/fd"))
        .unwrap()
        .count() as u64;
    child.kill().unwrap();
    child.wait().unwrap();
    assert!(listed >= 8, "{listed}");
    assert_eq!(got, (listed, 64));
    let e = usetop::model::TaskExtra {
        fds: Some(got.0),
        fd_limit: Some(got.1),
        ..Default::default()
    };
    assert_eq!(
        usetop::model::fields::fd_pct(&e),
        Some(listed as f64 * 100.0 / 64.0)
    );
}
