//! Signals and renice aimed at exactly the process the user picked. A process is named by
//! (pid, start time); a pidfd is opened first and the start time checked after, so a pid
//! recycled between the table's sample and the confirmation is never signalled. Renice has
//! no pidfd call: it checks through the pidfd right before and after, and says what happened.

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
    /// Renice: applied, and the process exited right after.
    SentThenExited,
    /// Renice: the process exited in the instant between the identity check and the call
    /// and a new process took its pid, which then got the value (`certain`: it existed
    /// before the call; otherwise it started during the call, within a clock tick of it).
    WrongProcess {
        certain: bool,
    },
}

impl Outcome {
    pub fn message(&self, what: &str, pid: u32) -> String {
        match self {
            Outcome::Sent => format!("{what}: done (pid {pid})"),
            Outcome::Denied => format!("{what}: permission denied (pid {pid})"),
            Outcome::Gone => format!("{what}: pid {pid} is gone (exited or reused); nothing done"),
            Outcome::Refused(why) => format!("{what}: refused: {why}"),
            Outcome::Failed(e) => format!("{what}: failed: {e}"),
            Outcome::SentThenExited => format!("{what}: done, then pid {pid} exited"),
            Outcome::WrongProcess { certain } => format!(
                "{what}: pid {pid} exited just before the call and another process took its \
                 pid; that process {} the new value",
                if *certain { "got" } else { "may have got" }
            ),
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
    /// Where the start time is read for the identity check (the live /proc).
    root: ProcRoot,
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
        Some(t) if t == id.start_time => Ok(PidFd {
            fd,
            id,
            root: root.clone(),
        }),
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

    /// Whether the process is still there (not yet reaped, so it still holds its pid). A
    /// permission refusal is an answer too: only a live process can refuse.
    fn alive(&self) -> Result<bool, Outcome> {
        match self.send(0) {
            Outcome::Sent | Outcome::Denied => Ok(true),
            Outcome::Gone => Ok(false),
            other => Err(other),
        }
    }

    /// Sets the nice value. setpriority takes a pid, not a pidfd, so the identity is checked
    /// right before the call (the pidfd still names a live process, which holds its pid, and
    /// the pid's start time still matches) and again after it, and the outcome says what
    /// happened: applied, gone (nothing done), denied, or, should the process exit and its pid
    /// be taken in the instant between check and call, that another process got the value.
    pub fn renice(&self, nice: i32) -> Outcome {
        // SAFETY: setpriority has no memory effects.
        self.renice_with(nice, |pid, n| unsafe {
            libc::setpriority(libc::PRIO_PROCESS, pid, n)
        })
    }

    /// `renice` with the system call passed in (`setpriority(PRIO_PROCESS, pid, nice)`,
    /// returning 0 or -1 with errno), so a test can recycle the pid exactly between the check
    /// and the call.
    pub fn renice_with(&self, nice: i32, set: impl FnOnce(libc::id_t, i32) -> i32) -> Outcome {
        let nice = nice.clamp(-20, 19);
        let pid = self.id.pid;
        match self.alive() {
            Ok(true) => {}
            Ok(false) => return Outcome::Gone,
            Err(o) => return o,
        }
        if start_time(&self.root, pid) != Some(self.id.start_time) {
            return Outcome::Gone;
        }
        let before = boottime_ticks();
        let r = set(pid as libc::id_t, nice);
        let after = boottime_ticks();
        if r != 0 {
            // ESRCH: no process had the pid at the call, so nothing changed.
            return from_errno(errno());
        }
        if self.alive() != Ok(false) {
            // Alive after the call, so it held the pid throughout: it got the value.
            return Outcome::Sent;
        }
        // It exited around the call (the pidfd is the authority: a start time can repeat
        // within one clock tick). Whoever holds the pid now and already existed at the call
        // is the process that got the value; one started after the call did not.
        match (start_time(&self.root, pid), before, after) {
            (None, _, _) => Outcome::SentThenExited,
            (Some(t), _, Some(after)) if t > after => Outcome::SentThenExited,
            (Some(t), Some(before), _) => Outcome::WrongProcess {
                certain: t < before,
            },
            (Some(_), None, _) => Outcome::WrongProcess { certain: false },
        }
    }
}

/// Now, in the clock ticks since boot that /proc/PID/stat's start time uses.
fn boottime_ticks() -> Option<u64> {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: clock_gettime writes only into the timespec we pass.
    if unsafe { libc::clock_gettime(libc::CLOCK_BOOTTIME, &mut ts) } != 0 {
        return None;
    }
    // SAFETY: sysconf has no memory effects.
    let hz = u64::try_from(unsafe { libc::sysconf(libc::_SC_CLK_TCK) }).ok()?;
    let ns = u64::try_from(ts.tv_sec)
        .ok()?
        .checked_mul(1_000_000_000)?
        .checked_add(u64::try_from(ts.tv_nsec).ok()?)?;
    Some(ns / (1_000_000_000 / hz.max(1)))
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
