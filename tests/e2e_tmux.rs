//! End to end: the real binary in a real terminal (a private tmux server), driven by keys.
//! Screens come from the fixture tree, so they are deterministic; one case runs on the live
//! /proc and checks only structure. Also the CLI's error paths, which need no terminal.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use common::fixtures;

const BIN: &str = env!("CARGO_BIN_EXE_usetop");

/// What marks each pane's body on screen (the tab bar lists them all, so it cannot tell).
const USE: &str = "\nResource ";
const PROC: &str = "PID     USER";
const CPU: &str = "CPU  %usr";
const MEM: &str = "buff/cache";

fn have_tmux() -> bool {
    Command::new("tmux")
        .arg("-V")
        .output()
        .is_ok_and(|o| o.status.success())
}

/// Skips (with a message) where tmux is missing, except under CI, where scripts/test.sh
/// installs it and its absence is a failure.
macro_rules! need_tmux {
    () => {
        if !have_tmux() {
            assert!(
                std::env::var_os("CI").is_none(),
                "tmux is required under CI (scripts/test.sh installs it)"
            );
            eprintln!("skipped: tmux not installed");
            return;
        }
    };
}

fn sh_quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', r"'\''"))
}

/// A private tmux server (its own socket) running one window; killed on drop.
struct Tmux {
    socket: String,
    exit_file: PathBuf,
    _dir: tempfile::TempDir,
}

impl Tmux {
    /// Starts `usetop ARGS` in a `cols`x`rows` window. The exit status lands in a file.
    fn start(name: &str, args: &[&str], cols: u16, rows: u16) -> Tmux {
        let dir = tempfile::tempdir().unwrap();
        let exit_file = dir.path().join("exit");
        // A private server: its socket lives in our temporary directory (like
        // `-L usetop-test-PID` but removed with it), so no other tmux is touched.
        let socket = dir
            .path()
            .join(format!("usetop-test-{}-{name}", std::process::id()))
            .to_string_lossy()
            .into_owned();
        let mut cmd = sh_quote(BIN);
        for a in args {
            cmd.push(' ');
            cmd.push_str(&sh_quote(a));
        }
        let script = format!(
            "{cmd} 2>{}; echo EXIT=$? > {}",
            sh_quote(&dir.path().join("stderr").to_string_lossy()),
            sh_quote(&exit_file.to_string_lossy())
        );
        let t = Tmux {
            socket,
            exit_file,
            _dir: dir,
        };
        let out = t
            .tmux(&[
                "new-session",
                "-d",
                "-x",
                &cols.to_string(),
                "-y",
                &rows.to_string(),
                "sh",
                "-c",
                &script,
            ])
            .output()
            .unwrap();
        assert!(out.status.success(), "tmux new-session: {out:?}");
        t
    }

    fn tmux(&self, args: &[&str]) -> Command {
        let mut c = Command::new("tmux");
        // -f /dev/null: no user configuration can change keys or sizes.
        c.args(["-S", &self.socket, "-f", "/dev/null"]).args(args);
        c.env_remove("TMUX");
        c
    }

    fn screen(&self) -> String {
        let out = self.tmux(&["capture-pane", "-p"]).output().unwrap();
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    fn keys(&self, keys: &[&str]) {
        let mut args = vec!["send-keys"];
        args.extend_from_slice(keys);
        let out = self.tmux(&args).output().unwrap();
        assert!(out.status.success(), "send-keys {keys:?}: {out:?}");
    }

    /// Polls the screen until `pred` holds, for at most 20 s.
    fn wait_for(&self, what: &str, pred: impl Fn(&str) -> bool) -> String {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let s = self.screen();
            if pred(&s) {
                return s;
            }
            if Instant::now() > deadline {
                let err =
                    std::fs::read_to_string(self._dir.path().join("stderr")).unwrap_or_default();
                panic!("timed out waiting for {what}; screen:\n{s}\nstderr:\n{err}");
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    fn wait_screen(&self, marker: &str) -> String {
        self.wait_for(marker, |s| s.contains(marker))
    }

    /// Waits for the program to end and returns its exit status line.
    fn wait_exit(&self) -> String {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            if let Ok(s) = std::fs::read_to_string(&self.exit_file)
                && !s.is_empty()
            {
                return s.trim().to_string();
            }
            assert!(
                Instant::now() < deadline,
                "usetop did not exit; screen:\n{}",
                self.screen()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        let _ = self.tmux(&["kill-server"]).output();
    }
}

fn fixture_args(t: &str) -> Vec<String> {
    let root = fixtures().join("basic").join(t);
    vec![
        "--proc-root".into(),
        root.join("proc").to_string_lossy().into_owned(),
        "--sys-root".into(),
        root.join("sys").to_string_lossy().into_owned(),
    ]
}

fn strs(v: &[String]) -> Vec<&str> {
    v.iter().map(String::as_str).collect()
}

#[test]
fn switches_panes_and_quits_cleanly() {
    need_tmux!();
    let args = fixture_args("t1");
    let t = Tmux::start("panes", &strs(&args), 160, 30);
    let first = t.wait_screen(USE);
    assert!(first.contains("usetop fixture-host"), "{first}");
    assert!(first.contains("1:use"), "{first}");

    t.keys(&["Tab"]);
    let s = t.wait_screen(PROC);
    // COMMAND leads with the program's basename (`p` shows the path).
    assert!(s.contains("java -Xmx2g -jar app.jar"), "{s}");
    assert!(!s.contains(USE), "{s}");
    // The comm with a newline never reaches the terminal raw.
    assert!(s.contains("weird name) (x?y"), "{s}");

    t.keys(&["3"]);
    let s = t.wait_screen(CPU);
    assert!(!s.contains(PROC), "{s}");
    t.keys(&["4"]);
    t.wait_screen(MEM);
    t.keys(&["BTab"]);
    t.wait_screen(CPU);
    t.keys(&["1"]);
    t.wait_screen(USE);

    // Help opens and any key closes it (with the checklist sources the fixture lacks it
    // is taller than the screen: "any other key" then).
    t.keys(&["?"]);
    t.wait_screen("key closes this help");
    t.keys(&["x"]);
    t.wait_for("help closed", |s| !s.contains("key closes"));

    t.keys(&["q"]);
    assert_eq!(t.wait_exit(), "EXIT=0");
}

#[test]
fn filter_and_resize() {
    need_tmux!();
    let mut args = fixture_args("t1");
    args.extend(["--pane".into(), "proc".into()]);
    let t = Tmux::start("filter", &strs(&args), 120, 30);
    t.wait_screen(PROC);
    for k in ["/", "j", "a", "v", "a", "Enter"] {
        t.keys(&[k]);
    }
    let s = t.wait_screen("filter: java");
    assert!(s.contains("java -Xmx2g"), "{s}");
    assert!(!s.contains("init splash"), "{s}");
    // Shrinking below 80x24 says so; growing back redraws the pane.
    t.tmux(&["resize-window", "-x", "70", "-y", "20"])
        .output()
        .unwrap();
    t.wait_screen("terminal too small: need 80x24, have 70x20");
    t.tmux(&["resize-window", "-x", "120", "-y", "30"])
        .output()
        .unwrap();
    t.wait_screen("filter: java");
    t.keys(&["C-c"]);
    assert_eq!(t.wait_exit(), "EXIT=0");
}

#[test]
fn live_proc_structure() {
    need_tmux!();
    let t = Tmux::start("live", &["--interval", "0.5"], 120, 40);
    let s = t.wait_screen(USE);
    for row in ["CPU (", "Memory"] {
        assert!(s.contains(row), "no {row} row:\n{s}");
    }
    t.keys(&["2"]);
    // The table lists some process; rates appear after the second sample.
    let s = t.wait_for("a process row with a %CPU", |s| {
        s.contains(PROC)
            && s.lines()
                .skip_while(|l| !l.contains(PROC))
                .nth(1)
                .and_then(|l| l.split_whitespace().nth(3))
                .is_some_and(|c| c.parse::<f64>().is_ok())
    });
    assert!(s.contains("Tasks "), "{s}");
    t.keys(&["3"]);
    t.wait_screen(CPU);
    t.keys(&["q"]);
    assert_eq!(t.wait_exit(), "EXIT=0");
}

fn run(args: &[&str]) -> Output {
    Command::new(BIN).args(args).output().unwrap()
}

fn assert_one_line_error(out: &Output, needle: &str) {
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(err.lines().count(), 1, "not one line: {err:?}");
    assert!(err.starts_with("usetop: "), "{err:?}");
    assert!(err.contains(needle), "{err:?} lacks {needle:?}");
    assert!(out.stdout.is_empty(), "{out:?}");
}

#[test]
fn bad_cli_values_are_one_line_and_exit_2() {
    assert_one_line_error(&run(&["--interval", "0"]), "0.1–60");
    assert_one_line_error(&run(&["--interval", "soon"]), "not a number");
    assert_one_line_error(&run(&["--pane", "nope"]), "possible values");
    assert_one_line_error(&run(&["--headless", "--size", "80by24"]), "COLSxROWS");
    assert_one_line_error(&run(&["--history", "1"]), "history");
    assert_one_line_error(&run(&["--no-such-flag"]), "--no-such-flag");
    assert_one_line_error(&run(&["--size", "80x24"]), "--headless");
    assert_one_line_error(&run(&["--proc-root", "/nonexistent"]), "not a proc");
    assert_one_line_error(
        &run(&["-u", "no_such_user_here", "--headless"]),
        "no such user",
    );
    // Help and version are not errors.
    let out = run(&["--help"]);
    assert_eq!(out.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&out.stdout).contains("Usage"));
    assert_eq!(run(&["--version"]).status.code(), Some(0));
}

#[test]
fn headless_too_small() {
    let root = fixtures().join("basic/t0");
    let out = Command::new(BIN)
        .args([
            "--headless",
            "--frames",
            "1",
            "--size",
            "79x24",
            "--proc-root",
        ])
        .arg(root.join("proc"))
        .arg("--sys-root")
        .arg(root.join("sys"))
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("terminal too small: need 80x24, have 79x24"),
        "{text}"
    );
}

#[test]
fn headless_on_fixture_is_deterministic() {
    let args = |p: &Path| {
        let mut a = vec!["--headless".to_string(), "--virtual-clock".into()];
        for t in ["t0", "t1"] {
            let r = p.join(t);
            a.extend([
                "--proc-root".into(),
                r.join("proc").to_string_lossy().into_owned(),
                "--sys-root".into(),
                r.join("sys").to_string_lossy().into_owned(),
            ]);
        }
        a.extend(["--pane".into(), "cpu".into(), "--frames".into(), "2".into()]);
        a
    };
    let base = fixtures().join("basic");
    let a = Command::new(BIN).args(args(&base)).output().unwrap();
    let b = Command::new(BIN).args(args(&base)).output().unwrap();
    assert!(a.status.success(), "{a:?}");
    assert_eq!(a.stdout, b.stdout);
    let text = String::from_utf8_lossy(&a.stdout);
    // Two frames separated by a form feed line; the second has the rates.
    let frames: Vec<&str> = text.split("\x0c\n").collect();
    assert_eq!(frames.len(), 2);
    assert!(frames[1].contains("cs 3000"), "{}", frames[1]);
    // No escape sequence reaches the output.
    assert!(!text.contains('\x1b'));
}
