//! Signals and renice aimed at exactly the process the user picked. A process is named by
//! (pid, start time); a pidfd is opened first and the start time checked after, so a pid
//! recycled between the table's sample and the confirmation is never touched.

use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};

use crate::collectors::ProcRoot;
use crate::collectors::parse::parse_pid_stat;

/// A process as the table saw it: a pid alone is not an identity.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Identity {
    pub pid: u32,
    pub start_time: u64,
}

/// What came of an action, shown on the status line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    Sent,
    /// EPERM: another user's process without the privilege.
    Denied,
    /// The process exited, or its pid now belongs to another process.
    Gone,
    /// Not attempted (read-only, a fixture tree), with why.
    Refused(String),
    Failed(String),
}

impl Outcome {
    pub fn message(&self, what: &str, pid: u32) -> String {
        match self {
            Outcome::Sent => format!("{what}: done (pid {pid})"),
            Outcome::Denied => format!("{what}: permission denied (pid {pid})"),
            Outcome::Gone => format!("{what}: pid {pid} is gone (exited or reused); nothing sent"),
            Outcome::Refused(why) => format!("{what}: refused: {why}"),
            Outcome::Failed(e) => format!("{what}: failed: {e}"),
        }
    }
}

/// The signals the kill dialog offers, SIGTERM first (preselected).
pub const SIGNALS: &[(&str, i32)] = &[
    ("SIGTERM", libc::SIGTERM),
    ("SIGKILL", libc::SIGKILL),
    ("SIGHUP", libc::SIGHUP),
    ("SIGINT", libc::SIGINT),
    ("SIGQUIT", libc::SIGQUIT),
    ("SIGSTOP", libc::SIGSTOP),
    ("SIGCONT", libc::SIGCONT),
    ("SIGUSR1", libc::SIGUSR1),
    ("SIGUSR2", libc::SIGUSR2),
];

/// A descriptor that names one process for as long as it is open, whatever happens to the
/// pid number.
#[derive(Debug)]
pub struct PidFd {
    fd: OwnedFd,
    pub id: Identity,
}

fn errno() -> i32 {
    std::io::Error::last_os_error().raw_os_error().unwrap_or(0)
}

fn from_errno(e: i32) -> Outcome {
    match e {
        libc::ESRCH => Outcome::Gone,
        libc::EPERM | libc::EACCES => Outcome::Denied,
        _ => Outcome::Failed(std::io::Error::from_raw_os_error(e).to_string()),
    }
}

/// The start time of `pid` now, from `<root>/PID/stat`.
fn start_time(root: &ProcRoot, pid: u32) -> Option<u64> {
    let b = root.read_proc(&format!("{pid}/stat")).ok()?;
    parse_pid_stat(&b)
        .ok()
        .filter(|(f, _)| f.pid == pid)
        .map(|(f, _)| f.start_time)
}

/// Opens a pidfd for `id` and checks that the pid still is the process the table showed.
/// Refuses on anything but the live /proc: a fixture's pids are not this machine's.
pub fn open(root: &ProcRoot, id: Identity) -> Result<PidFd, Outcome> {
    if !root.is_live() {
        return Err(Outcome::Refused(
            "not the live /proc (a recorded or fixture tree); nothing is sent".into(),
        ));
    }
    let Ok(pid) = libc::pid_t::try_from(id.pid) else {
        return Err(Outcome::Gone);
    };
    if pid <= 0 {
        return Err(Outcome::Refused("not a process id".into()));
    }
    // SAFETY: pidfd_open takes a pid and flags and returns a new descriptor or -1.
    let raw = unsafe { libc::syscall(libc::SYS_pidfd_open, pid, 0) };
    if raw < 0 {
        return Err(from_errno(errno()));
    }
    // SAFETY: the syscall just returned this descriptor and nothing else owns it.
    let fd = unsafe { OwnedFd::from_raw_fd(raw as i32) };
    // The pidfd pins whichever process had the pid when it was opened; if that is not the
    // one the user saw (the pid was recycled before), it is the wrong one.
    match start_time(root, id.pid) {
        Some(t) if t == id.start_time => Ok(PidFd { fd, id }),
        _ => Err(Outcome::Gone),
    }
}

impl PidFd {
    /// Sends `sig` (0 only checks the process is still there).
    pub fn send(&self, sig: i32) -> Outcome {
        // SAFETY: pidfd_send_signal reads only its scalar arguments; info is NULL.
        let r = unsafe {
            libc::syscall(
                libc::SYS_pidfd_send_signal,
                self.fd.as_raw_fd(),
                sig,
                std::ptr::null::<libc::siginfo_t>(),
                0u32,
            )
        };
        if r == 0 {
            Outcome::Sent
        } else {
            from_errno(errno())
        }
    }

    /// Sets the nice value. setpriority takes a pid, so the pidfd brackets it: alive before
    /// (checked at open) and alive after means the pid named this process throughout.
    pub fn renice(&self, nice: i32) -> Outcome {
        let nice = nice.clamp(-20, 19);
        if self.send(0) == Outcome::Gone {
            return Outcome::Gone;
        }
        // SAFETY: setpriority has no memory effects.
        let r = unsafe { libc::setpriority(libc::PRIO_PROCESS, self.id.pid as libc::id_t, nice) };
        if r != 0 {
            return from_errno(errno());
        }
        match self.send(0) {
            Outcome::Gone => Outcome::Gone,
            _ => Outcome::Sent,
        }
    }
}

/// Opens and sends in one step (for callers that confirmed already).
pub fn kill(root: &ProcRoot, id: Identity, sig: i32) -> Outcome {
    match open(root, id) {
        Ok(fd) => fd.send(sig),
        Err(o) => o,
    }
}

pub fn renice(root: &ProcRoot, id: Identity, nice: i32) -> Outcome {
    match open(root, id) {
        Ok(fd) => fd.renice(nice),
        Err(o) => o,
    }
}
