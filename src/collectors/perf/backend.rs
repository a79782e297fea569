//! The seam between the counter collector and perf_event_open: a backend opens one group of
//! events on a CPU or a thread and reads it. `live` uses the kernel (perf-event2); `fake`
//! reads fixture files, so the collector's logic and the panes are tested without a PMU.

use std::io;

use crate::model::perf::{CounterSet, Ev};

/// What a group counts on.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Target {
    /// Every task on one CPU (system-wide counting).
    Cpu(u32),
    /// One thread: a counter on a tid counts only that thread, not its siblings.
    Thread(u32),
}

/// Which events a group holds: the hardware ones (cycles, instructions, cache references
/// and misses, branch misses) or the software ones (task-clock, context switches, CPU
/// migrations, page faults). Each is one group, so its members are scheduled together.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Kind {
    Hw,
    Sw,
}

impl Kind {
    pub fn events(self) -> &'static [Ev] {
        match self {
            Kind::Hw => &Ev::HW,
            Kind::Sw => &Ev::SW,
        }
    }

    /// File descriptors one group of this kind holds (one per event).
    pub fn fds(self) -> usize {
        self.events().len()
    }
}

/// An open, enabled group of counters.
pub trait CounterGroup: Send {
    /// Reads every event of the group into its slot of `out` (cumulative since opened).
    fn read(&mut self, out: &mut CounterSet) -> io::Result<()>;
}

/// Opens counter groups. Errors are the kernel's (`raw_os_error` set): ENOENT for a missing
/// PMU, EACCES/EPERM for perf_event_paranoid, ENOSYS under seccomp, EMFILE past the
/// open-files limit, ESRCH for a thread that is gone.
pub trait CounterBackend: Send {
    /// `kernel`: count kernel-mode events too (needs root or perf_event_paranoid <= 1).
    fn open(
        &mut self,
        target: Target,
        kind: Kind,
        kernel: bool,
    ) -> io::Result<Box<dyn CounterGroup>>;
}

/// Why a group could not be opened, as the pane says it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum OpenFail {
    /// The task (or CPU) is gone: skip it quietly.
    Gone,
    /// Out of file descriptors: open fewer counters.
    Exhausted,
    /// The event does not exist here (no PMU in a VM, an unsupported CPU).
    Unsupported,
    /// Permission: perf_event_paranoid, missing CAP_PERFMON.
    Refused,
    /// perf_event_open itself is blocked (seccomp) or absent.
    Blocked,
    Other(String),
}

pub fn classify(e: &io::Error) -> OpenFail {
    match e.raw_os_error() {
        Some(libc::ESRCH) => OpenFail::Gone,
        Some(libc::EMFILE) | Some(libc::ENFILE) => OpenFail::Exhausted,
        Some(libc::ENOENT) | Some(libc::ENODEV) | Some(libc::EOPNOTSUPP) => OpenFail::Unsupported,
        Some(libc::EACCES) | Some(libc::EPERM) => OpenFail::Refused,
        Some(libc::ENOSYS) => OpenFail::Blocked,
        _ => OpenFail::Other(e.to_string()),
    }
}

/// The reason text after "hardware counters: " or "counters: ".
pub fn reason(f: &OpenFail, paranoid: Option<i32>) -> String {
    match f {
        OpenFail::Gone => "the task exited".into(),
        OpenFail::Exhausted => "exhausted (out of file descriptors, EMFILE)".into(),
        OpenFail::Unsupported => "not available (no PMU in this VM)".into(),
        OpenFail::Refused => match paranoid {
            Some(p) => format!("refused (perf_event_paranoid = {p}; needs root or CAP_PERFMON)"),
            None => "refused (permission denied; needs root or CAP_PERFMON)".into(),
        },
        OpenFail::Blocked => "refused (perf_event_open is blocked, e.g. by seccomp)".into(),
        OpenFail::Other(e) => format!("error ({e})"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errno_reasons() {
        let e = |n| io::Error::from_raw_os_error(n);
        assert_eq!(classify(&e(libc::ENOENT)), OpenFail::Unsupported);
        assert_eq!(classify(&e(libc::EACCES)), OpenFail::Refused);
        assert_eq!(classify(&e(libc::EPERM)), OpenFail::Refused);
        assert_eq!(classify(&e(libc::ENOSYS)), OpenFail::Blocked);
        assert_eq!(classify(&e(libc::EMFILE)), OpenFail::Exhausted);
        assert_eq!(classify(&e(libc::ESRCH)), OpenFail::Gone);
        assert_eq!(
            reason(&OpenFail::Unsupported, None),
            "not available (no PMU in this VM)"
        );
        assert!(reason(&OpenFail::Refused, Some(2)).contains("perf_event_paranoid = 2"));
        assert!(reason(&OpenFail::Blocked, None).contains("seccomp"));
        assert!(reason(&OpenFail::Exhausted, None).contains("EMFILE"));
    }
}
