//! The real binary refuses what it cannot do with one line and exit status 2: a headless
//! frame larger than 1000x1000 cells, and the full-screen dashboard on a terminal that
//! cannot show it (TERM=dumb, or no TERM and no terminal).

use std::io::Read;
use std::os::fd::{FromRawFd, OwnedFd};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

fn usetop() -> Command {
    Command::new(env!("CARGO_BIN_EXE_usetop"))
}

fn fixture_args(cmd: &mut Command) -> &mut Command {
    let t0 = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/basic/t0");
    cmd.arg("--proc-root")
        .arg(format!("{t0}/proc"))
        .arg("--sys-root")
        .arg(format!("{t0}/sys"))
}

/// Waits at most `limit` for the child; kills it and panics if it is still running.
fn wait_bounded(mut child: Child, limit: Duration) -> Output {
    let start = Instant::now();
    loop {
        if child.try_wait().unwrap().is_some() {
            return child.wait_with_output().unwrap();
        }
        if start.elapsed() > limit {
            let _ = child.kill();
            let out = child.wait_with_output().unwrap();
            panic!(
                "usetop still running after {limit:?}; stderr: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn one_line_error(out: &Output) -> String {
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(out.status.code(), Some(2), "status {:?}: {err}", out.status);
    assert_eq!(err.lines().count(), 1, "not one line: {err:?}");
    assert!(err.starts_with("usetop: "), "{err}");
    err
}

#[test]
fn headless_size_beyond_the_bound_is_a_one_line_error() {
    for size in ["20000x20000", "1001x10", "10x1001", "65535x65535"] {
        let child = fixture_args(usetop().args(["--headless", "--virtual-clock", "--size", size]))
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let out = wait_bounded(child, Duration::from_secs(20));
        let err = one_line_error(&out);
        assert!(err.contains("1000x1000"), "{err}");
    }
    // The bound itself is accepted.
    let child = fixture_args(usetop().args([
        "--headless",
        "--virtual-clock",
        "--frames",
        "1",
        "--size",
        "1000x40",
    ]))
    .stdout(Stdio::piped())
    .stderr(Stdio::piped())
    .spawn()
    .unwrap();
    let out = wait_bounded(child, Duration::from_secs(60));
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(String::from_utf8_lossy(&out.stdout).lines().count(), 40);
}

#[test]
fn replay_headless_size_has_the_same_bound() {
    let child = usetop()
        .args([
            "replay",
            "/nonexistent.rec",
            "--headless",
            "--size",
            "5000x5000",
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let out = wait_bounded(child, Duration::from_secs(20));
    let err = one_line_error(&out);
    assert!(err.contains("1000x1000"), "{err}");
}

/// A pseudo-terminal pair: (master, slave).
fn openpty() -> (OwnedFd, OwnedFd) {
    let mut master = -1;
    let mut slave = -1;
    // SAFETY: openpty writes two descriptors into the ints we pass; the other pointers are NULL.
    let r = unsafe {
        libc::openpty(
            &mut master,
            &mut slave,
            std::ptr::null_mut(),
            std::ptr::null(),
            std::ptr::null(),
        )
    };
    assert_eq!(r, 0, "openpty: {}", std::io::Error::last_os_error());
    // SAFETY: openpty just returned these descriptors; nothing else owns them.
    unsafe { (OwnedFd::from_raw_fd(master), OwnedFd::from_raw_fd(slave)) }
}

#[test]
fn term_dumb_on_a_terminal_is_refused_with_a_hint() {
    let (master, slave) = openpty();
    let child = fixture_args(&mut usetop())
        .env("TERM", "dumb")
        .stdin(Stdio::from(slave.try_clone().unwrap()))
        .stdout(Stdio::from(slave))
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let out = wait_bounded(child, Duration::from_secs(10));
    // Nothing was drawn on the terminal: no alternate screen, no escape sequence.
    let mut drawn = Vec::new();
    let mut m = std::fs::File::from(master);
    // SAFETY: fcntl on a descriptor we own, setting O_NONBLOCK.
    unsafe {
        use std::os::fd::AsRawFd;
        libc::fcntl(m.as_raw_fd(), libc::F_SETFL, libc::O_NONBLOCK);
    }
    let _ = m.read_to_end(&mut drawn);
    assert!(!drawn.contains(&0x1b), "drew on a dumb terminal: {drawn:?}");
    let err = one_line_error(&out);
    assert!(err.contains("TERM=dumb"), "{err}");
    assert!(err.contains("usetop dump"), "{err}");
    assert!(err.contains("--headless"), "{err}");
}

#[test]
fn no_term_and_no_terminal_is_refused_with_a_hint() {
    let child = fixture_args(&mut usetop())
        .env_remove("TERM")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let out = wait_bounded(child, Duration::from_secs(10));
    let err = one_line_error(&out);
    assert!(err.contains("usetop dump"), "{err}");
    assert!(err.contains("--headless"), "{err}");
}
