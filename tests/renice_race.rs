//! Renice names its target by pid (setpriority has no pidfd form), so a pid recycled between
//! the identity check and the call reaches another process. The race is made certain here:
//! between the check and the call the child is killed and reaped, and a new process is made
//! to take its pid (`ns_last_pid`, root only). The outcome must say that the new process may
//! have been reniced, not "nothing sent".

use std::process::{Child, Command};

use usetop::app::signal::{self, Identity, Outcome};
use usetop::collectors::ProcRoot;
use usetop::collectors::parse::parse_pid_stat;

fn spawn_sleep() -> Child {
    Command::new("sleep")
        .arg("60")
        .spawn()
        .expect("spawn sleep")
}

fn stat_of(pid: u32) -> Option<(u64, i64)> {
    let b = std::fs::read(format!("/proc/{pid}/stat")).ok()?;
    let f = parse_pid_stat(&b).ok()?.0;
    Some((f.start_time, f.nice))
}

/// A new `sleep` with exactly `pid`, or None when other forks on the machine keep taking it.
fn spawn_at(pid: u32) -> Option<Child> {
    for _ in 0..200 {
        std::fs::write("/proc/sys/kernel/ns_last_pid", (pid - 1).to_string()).ok()?;
        let mut c = spawn_sleep();
        if c.id() == pid {
            return Some(c);
        }
        let _ = c.kill();
        let _ = c.wait();
    }
    None
}

#[test]
fn renice_reports_a_pid_reused_between_check_and_call() {
    // SAFETY: geteuid has no memory effects.
    if unsafe { libc::geteuid() } != 0 {
        eprintln!("skipped: recycling a pid on purpose needs root (ns_last_pid)");
        return;
    }
    let mut child = spawn_sleep();
    let pid = child.id();
    let (start_time, nice) = stat_of(pid).expect("child stat");
    let target = if nice == 7 { 8 } else { 7 };
    let fd = signal::open(&ProcRoot::default(), Identity { pid, start_time }).expect("pidfd");
    let mut successor = None;
    let outcome = fd.renice_with(target, |p, n| {
        let _ = child.kill();
        let _ = child.wait();
        successor = spawn_at(pid);
        // SAFETY: setpriority has no memory effects.
        unsafe { libc::setpriority(libc::PRIO_PROCESS, p, n) }
    });
    let Some(mut successor) = successor else {
        eprintln!("skipped: pid {pid} could not be recycled (other processes took it)");
        return;
    };
    let (_, successor_nice) = stat_of(pid).expect("successor stat");
    let _ = successor.kill();
    let _ = successor.wait();
    // The call did reach the new process: that is what must be reported.
    assert_eq!(successor_nice, i64::from(target));
    let msg = outcome.message(&format!("renice {target}"), pid);
    assert!(
        matches!(outcome, Outcome::WrongProcess { .. }),
        "{outcome:?}: {msg}"
    );
    assert!(msg.contains("another process"), "{msg}");
    assert!(!msg.contains("nothing"), "{msg}");
}

#[test]
fn renice_of_a_process_that_is_still_there_is_applied() {
    let mut child = spawn_sleep();
    let pid = child.id();
    let (start_time, nice) = stat_of(pid).expect("child stat");
    let target = (nice + 3).min(19) as i32;
    let fd = signal::open(&ProcRoot::default(), Identity { pid, start_time }).expect("pidfd");
    let outcome = fd.renice(target);
    assert_eq!(outcome, Outcome::Sent);
    assert_eq!(stat_of(pid).unwrap().1, i64::from(target));
    assert!(outcome.message("renice", pid).contains("done"));
    let _ = child.kill();
    let _ = child.wait();
    // Exited and reaped: the pidfd says so before any call.
    let mut called = false;
    let outcome = fd.renice_with(target, |_, _| {
        called = true;
        0
    });
    assert_eq!(outcome, Outcome::Gone);
    assert!(!called, "setpriority was called for a process that is gone");
}

#[test]
fn renice_refused_by_the_kernel_is_reported_as_denied() {
    let mut child = spawn_sleep();
    let pid = child.id();
    let (start_time, _) = stat_of(pid).expect("child stat");
    let fd = signal::open(&ProcRoot::default(), Identity { pid, start_time }).expect("pidfd");
    let outcome = fd.renice_with(-5, |_, _| {
        // As an unprivileged user lowering the nice value would get.
        // SAFETY: writing errno through its thread-local pointer.
        unsafe { *libc::__errno_location() = libc::EACCES };
        -1
    });
    assert_eq!(outcome, Outcome::Denied);
    assert!(
        outcome
            .message("renice -5", pid)
            .contains("permission denied")
    );
    let _ = child.kill();
    let _ = child.wait();
}
