//! Terminal faults, driven in a real pty (a private tmux server): the pty closing under
//! usetop (an ssh drop), SIGTERM and SIGINT, SIGTSTP/SIGCONT and Ctrl-Z, a resize storm, a
//! forced panic, and stdin that is not a terminal. Each checks the terminal is given back:
//! alternate screen left, cursor shown, canonical mode and echo on.

#[path = "terminal_faults/tmux.rs"]
mod tmux;

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use tmux::*;

/// A script that records its pid, the tty mode after usetop exits and usetop's exit status,
/// then prints DONE on the main screen and stays (so the pane can be inspected).
fn wrapped(usetop_args: &str, env: &str) -> String {
    format!(
        "echo $$ > sh.pid; {env} {USETOP} {usetop_args} 2> stderr; echo $? > rc; stty -a > after; echo DONE; sleep 60"
    )
}

fn assert_restored(t: &Tmux) {
    let after = wait_file(&t.path("after"), 5);
    assert!(cooked(&after), "tty not restored: {after}");
    t.wait_for("DONE", 5);
    assert_eq!(
        t.format("#{alternate_on}"),
        "0",
        "still on the alternate screen"
    );
    assert_eq!(t.format("#{cursor_flag}"), "1", "cursor still hidden");
}

fn wait_gone(pid: u32, within: Duration) -> Duration {
    let start = Instant::now();
    while matches!(proc_state(pid), Some(s) if s != 'Z') {
        assert!(
            start.elapsed() < within,
            "usetop {pid} still running after {within:?}"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    start.elapsed()
}

fn basic() -> String {
    format!("-i 0.2 {}", roots("basic", 1))
}

#[test]
fn pty_closing_ends_usetop_within_a_second() {
    let t = Tmux::start(100, 30, &wrapped(&basic(), ""));
    let pid = usetop_pid(&t);
    t.wait_for("usetop", 10);
    t.kill_server();
    let took = wait_gone(pid, Duration::from_secs(1));
    eprintln!("usetop gone {took:?} after the pty closed");
    // Gone or a zombie: either way it uses no CPU any more.
    let before = cpu_ticks(pid);
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(before, cpu_ticks(pid));
}

#[test]
fn pane_killed_ends_usetop() {
    let t = Tmux::start(
        100,
        30,
        &format!("echo $$ > sh.pid; exec {USETOP} {}", basic()),
    );
    let sh: u32 = wait_file(&t.path("sh.pid"), 10).trim().parse().unwrap();
    t.wait_for("usetop", 10);
    t.cmd(&["kill-pane", "-t", "t"]);
    wait_gone(sh, Duration::from_secs(1));
}

fn signal_restores(sig: i32) {
    let t = Tmux::start(100, 30, &wrapped(&basic(), ""));
    let pid = usetop_pid(&t);
    t.wait_for("usetop", 10);
    assert_eq!(t.format("#{alternate_on}"), "1");
    assert!(!cooked(&t.stty()), "usetop runs in raw mode");
    signal(pid, sig);
    wait_gone(pid, Duration::from_secs(1));
    assert_restored(&t);
}

#[test]
fn sigterm_restores_the_terminal() {
    signal_restores(libc::SIGTERM);
}

#[test]
fn sigint_restores_the_terminal() {
    signal_restores(libc::SIGINT);
}

fn stop_and_continue(stop: impl Fn(&Tmux, u32)) {
    let t = Tmux::start(100, 30, &wrapped(&basic(), ""));
    let pid = usetop_pid(&t);
    t.wait_for("usetop", 10);
    stop(&t, pid);
    let end = Instant::now() + Duration::from_secs(3);
    while proc_state(pid) != Some('T') {
        assert!(Instant::now() < end, "usetop did not stop");
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(
        cooked(&t.stty()),
        "tty left raw while stopped: {}",
        t.stty()
    );
    assert_eq!(
        t.format("#{alternate_on}"),
        "0",
        "alternate screen kept while stopped"
    );
    assert_eq!(t.format("#{cursor_flag}"), "1");
    // Typing while stopped echoes onto the (cooked) screen; the redraw must not show it.
    t.keys(&["zzz"]);
    std::thread::sleep(Duration::from_millis(100));
    signal(pid, libc::SIGCONT);
    let screen = t.wait_for("usetop", 5);
    assert!(!screen.contains("zzz"), "{screen}");
    assert_eq!(
        t.format("#{alternate_on}"),
        "1",
        "alternate screen not taken back"
    );
    assert!(!cooked(&t.stty()), "raw mode not taken back");
    t.wait_for("F10Quit", 5);
    t.keys(&["q"]);
    assert_restored(&t);
    assert_eq!(std::fs::read_to_string(t.path("rc")).unwrap().trim(), "0");
}

#[test]
fn sigtstp_then_sigcont() {
    stop_and_continue(|_, pid| signal(pid, libc::SIGTSTP));
}

#[test]
fn ctrl_z_then_sigcont() {
    stop_and_continue(|t, _| t.keys(&["C-z"]));
}

#[test]
fn resize_storm() {
    let t = Tmux::start(200, 60, &wrapped(&basic(), ""));
    let pid = usetop_pid(&t);
    t.wait_for("usetop", 10);
    for _ in 0..5 {
        for (c, r) in [(1, 1), (10, 3), (79, 23), (200, 60), (2, 50), (300, 2)] {
            t.resize(c, r);
            std::thread::sleep(Duration::from_millis(20));
        }
    }
    t.resize(79, 23);
    t.wait_for("terminal too small", 5);
    t.resize(10, 3);
    std::thread::sleep(Duration::from_millis(300));
    t.resize(200, 60);
    t.wait_for("F10Quit", 5);
    assert!(
        proc_state(pid).is_some_and(|s| s != 'Z'),
        "usetop died in the storm"
    );
    t.keys(&["q"]);
    assert_restored(&t);
    assert_eq!(std::fs::read_to_string(t.path("rc")).unwrap().trim(), "0");
}

#[test]
fn forced_panic_restores_the_terminal() {
    let t = Tmux::start(120, 30, &wrapped(&basic(), "USETOP_TEST_PANIC=1"));
    assert_restored(&t);
    let stderr = std::fs::read_to_string(t.path("stderr")).unwrap();
    assert!(
        stderr.contains("forced panic after the first frame"),
        "{stderr}"
    );
    assert_ne!(std::fs::read_to_string(t.path("rc")).unwrap().trim(), "0");
}

#[test]
fn panic_message_is_readable_on_screen() {
    let t = Tmux::start(
        120,
        30,
        &format!(
            "USETOP_TEST_PANIC=1 {USETOP} {}; echo DONE; sleep 60",
            basic()
        ),
    );
    let screen = t.wait_for("DONE", 10);
    assert!(
        screen.contains("forced panic after the first frame"),
        "{screen}"
    );
    // Readable: the message starts at the left margin of its line, not smeared by raw mode.
    assert!(
        screen.lines().any(|l| l.starts_with("thread 'main'")),
        "{screen}"
    );
}

#[test]
fn stdin_not_a_terminal() {
    let start = Instant::now();
    let out = Command::new(USETOP)
        .args(basic().split(' '))
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.contains("needs a terminal"), "{err}");
    assert!(start.elapsed() < Duration::from_secs(2));
}

/// `--no-mouse` leaves the mouse to the terminal; by default usetop captures it, and gives it
/// back on quit (an ssh drop mid-session is the other path, covered by the restore tests).
#[test]
fn mouse_capture_follows_no_mouse_and_is_released_on_quit() {
    for (args, want) in [("", "1"), ("--no-mouse", "0")] {
        let t = Tmux::start(100, 30, &wrapped(&format!("{args} {}", basic()), ""));
        t.wait_for("1:use", 10);
        assert_eq!(t.format("#{mouse_any_flag}"), want, "args {args:?}");
        t.keys(&["q"]);
        assert_restored(&t);
        assert_eq!(t.format("#{mouse_any_flag}"), "0", "mouse left captured");
        t.kill_server();
    }
}
