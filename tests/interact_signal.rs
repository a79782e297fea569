//! Kill and renice through the signal module as the dialog uses it: a live child is
//! signalled by (pid, start time); a start-time mismatch (a recycled pid) or an exited child
//! is never signalled; a fixture tree refuses.

use std::process::{Child, Command};
use std::time::{Duration, Instant};

use usetop::app::signal::{self, Identity, Outcome};
use usetop::collectors::ProcRoot;
use usetop::collectors::parse::parse_pid_stat;

fn spawn_sleep() -> Child {
    Command::new("sleep")
        .arg("60")
        .spawn()
        .expect("spawn sleep")
}

fn start_time(pid: u32) -> u64 {
    let b = std::fs::read(format!("/proc/{pid}/stat")).expect("stat");
    parse_pid_stat(&b).expect("parse").0.start_time
}

fn nice_of(pid: u32) -> i64 {
    let b = std::fs::read(format!("/proc/{pid}/stat")).expect("stat");
    parse_pid_stat(&b).expect("parse").0.nice
}

fn wait_exit(child: &mut Child) -> Option<std::process::ExitStatus> {
    let until = Instant::now() + Duration::from_secs(5);
    while Instant::now() < until {
        if let Some(s) = child.try_wait().expect("try_wait") {
            return Some(s);
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    None
}

#[test]
fn kills_the_process_it_was_opened_on() {
    use std::os::unix::process::ExitStatusExt;
    let mut child = spawn_sleep();
    let id = Identity {
        pid: child.id(),
        start_time: start_time(child.id()),
    };
    let fd = signal::open(&ProcRoot::default(), id).expect("pidfd");
    assert_eq!(fd.send(libc::SIGTERM), Outcome::Sent);
    let status = wait_exit(&mut child).expect("child died");
    assert_eq!(status.signal(), Some(libc::SIGTERM));
}

#[test]
fn start_time_mismatch_is_not_signalled() {
    let mut child = spawn_sleep();
    // As if the row's process exited and its pid now names a newer process.
    let id = Identity {
        pid: child.id(),
        start_time: start_time(child.id()) + 1,
    };
    assert_eq!(
        signal::kill(&ProcRoot::default(), id, libc::SIGKILL),
        Outcome::Gone
    );
    assert_eq!(signal::renice(&ProcRoot::default(), id, 5), Outcome::Gone);
    std::thread::sleep(Duration::from_millis(50));
    assert!(child.try_wait().unwrap().is_none(), "child must still run");
    child.kill().unwrap();
    child.wait().unwrap();
}

#[test]
fn exited_before_confirmation_is_not_signalled() {
    let mut child = spawn_sleep();
    let id = Identity {
        pid: child.id(),
        start_time: start_time(child.id()),
    };
    // The dialog opened its pidfd; then the process exits and is reaped (its pid is free
    // for reuse) before the user confirms.
    let fd = signal::open(&ProcRoot::default(), id).expect("pidfd");
    child.kill().unwrap();
    child.wait().unwrap();
    assert_eq!(fd.send(libc::SIGTERM), Outcome::Gone);
    assert_eq!(fd.renice(3), Outcome::Gone);
}

#[test]
fn renice_checks_identity_and_applies() {
    let mut child = spawn_sleep();
    let id = Identity {
        pid: child.id(),
        start_time: start_time(child.id()),
    };
    let before = nice_of(id.pid);
    let target = (before + 2).min(19) as i32;
    assert_eq!(
        signal::renice(&ProcRoot::default(), id, target),
        Outcome::Sent
    );
    assert_eq!(nice_of(id.pid), i64::from(target));
    child.kill().unwrap();
    child.wait().unwrap();
}

#[test]
fn fixture_tree_refuses() {
    let root = ProcRoot::new(
        concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/basic/t0/proc"),
        "/sys",
    );
    let me = std::process::id();
    let id = Identity {
        pid: me,
        start_time: start_time(me),
    };
    assert!(matches!(signal::kill(&root, id, 0), Outcome::Refused(_)));
}

#[test]
fn headless_on_the_live_tree_never_signals() {
    let mut child = spawn_sleep();
    let pid = child.id().to_string();
    let out = Command::new(env!("CARGO_BIN_EXE_usetop"))
        .args([
            "--headless",
            "--pane",
            "proc",
            "-p",
            &pid,
            "--frames",
            "2",
            "-i",
            "0.2",
            "--keys",
            "k Tab Enter",
        ])
        .env("HOME", "/nonexistent")
        .env_remove("XDG_CONFIG_HOME")
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{text}");
    assert!(
        text.contains("SIGTERM: refused: headless mode never sends signals"),
        "{text}"
    );
    std::thread::sleep(Duration::from_millis(100));
    assert!(child.try_wait().unwrap().is_none(), "child must still run");
    child.kill().unwrap();
    child.wait().unwrap();
}

#[test]
fn user_and_pid_flags_filter_the_table() {
    let fx = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/interact");
    let run = |extra: &[&str]| {
        let mut args = vec![
            "--headless".to_string(),
            "--virtual-clock".into(),
            "--pane".into(),
            "proc".into(),
        ];
        for t in ["t0", "t1"] {
            args.extend([
                "--proc-root".into(),
                format!("{fx}/{t}/proc"),
                "--sys-root".into(),
                format!("{fx}/{t}/sys"),
            ]);
        }
        args.extend(extra.iter().map(|s| s.to_string()));
        let out = Command::new(env!("CARGO_BIN_EXE_usetop"))
            .args(&args)
            .env("HOME", "/nonexistent")
            .env_remove("XDG_CONFIG_HOME")
            .output()
            .unwrap();
        assert!(out.status.success());
        let all = String::from_utf8_lossy(&out.stdout).into_owned();
        all.rsplit("\x0c\n").next().unwrap().to_string()
    };
    let out = run(&["-u", "alice"]);
    assert!(out.contains("\n300 ") && out.contains("\n200 "), "{out}");
    assert!(!out.contains("\n1 ") && !out.contains("\n400 "), "{out}");
    let out = run(&["-p", "1,400"]);
    assert!(out.contains("\n1 ") && out.contains("\n400 "), "{out}");
    assert!(!out.contains("\n300 "), "{out}");
}
