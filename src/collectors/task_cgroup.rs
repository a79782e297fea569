//! `/proc/PID/cgroup` for the processes that need it: the rows on screen while the proc
//! pane shows its CGROUP column, every process while a `cgroup:` filter is active, nobody's
//! otherwise. One small read per process.

use super::procroot::ProcRoot;
use crate::model::cgroup::TaskCgroup;
pub use crate::model::cgroup::TaskCgroups;
use crate::model::{ScreenPids, TaskList};

/// Every hierarchy's path in `/proc/PID/cgroup` (`ID:CONTROLLERS:PATH` lines), with its
/// controller list (empty for the v2 line `0::PATH`).
pub fn parse_lines(b: &[u8]) -> Vec<(String, String)> {
    String::from_utf8_lossy(b)
        .lines()
        .filter_map(|line| {
            let mut parts = line.splitn(3, ':');
            let (_id, ctl, path) = (parts.next()?, parts.next()?, parts.next()?);
            path.starts_with('/')
                .then(|| (ctl.to_string(), path.to_string()))
        })
        .collect()
}

/// The path the cgroup pane knows a process by: the v1 cpu hierarchy's (where quotas and
/// throttling are, in the v1 and hybrid layouts), else memory's, else the v2 path (`0::`),
/// else the first.
pub fn main_path(lines: &[(String, String)]) -> Option<String> {
    let has = |c: &str| {
        lines
            .iter()
            .find(|(ctl, _)| ctl.split(',').any(|x| x == c))
            .map(|(_, p)| p.clone())
    };
    has("cpu")
        .or_else(|| has("memory"))
        .or_else(|| {
            lines
                .iter()
                .find(|(ctl, _)| ctl.is_empty())
                .map(|(_, p)| p.clone())
        })
        .or_else(|| lines.first().map(|(_, p)| p.clone()))
}

/// One process's cgroups: the main path and every distinct path of its hierarchies.
pub fn parse(pid: u32, start_time: u64, b: &[u8]) -> Option<TaskCgroup> {
    let lines = parse_lines(b);
    let path = main_path(&lines)?;
    let mut paths: Vec<String> = lines.into_iter().map(|(_, p)| p).collect();
    paths.sort();
    paths.dedup();
    Some(TaskCgroup {
        pid,
        start_time,
        path,
        paths,
    })
}

/// The cgroups of the processes `which` asks for (a process gone mid-read is left out).
pub fn sample(
    root: &ProcRoot,
    procs: &TaskList,
    which: TaskCgroups,
    screen: &ScreenPids,
) -> Vec<TaskCgroup> {
    let read = |pid: u32, start: u64| {
        root.read_proc(&format!("{pid}/cgroup"))
            .ok()
            .and_then(|b| parse(pid, start, &b))
    };
    match which {
        TaskCgroups::None => Vec::new(),
        TaskCgroups::Screen => screen
            .pids()
            .iter()
            .filter_map(|&pid| read(pid, procs.find_pid(pid)?.stat.start_time))
            .collect(),
        TaskCgroups::All => procs
            .iter()
            .filter(|r| !r.is_thread())
            .filter_map(|r| read(r.pid(), r.stat.start_time))
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HYBRID: &[u8] = b"12:pids:/user.slice/user-0.slice/session-1.scope\n\
        5:cpu,cpuacct:/usetop-test\n\
        4:memory:/user.slice/user-0.slice/session-1.scope\n\
        1:name=systemd:/user.slice/user-0.slice/session-1.scope\n\
        0::/user.slice/user-0.slice/session-1.scope\n";

    #[test]
    fn hybrid_prefers_the_cpu_hierarchy() {
        let t = parse(7, 1, HYBRID).unwrap();
        assert_eq!(t.path, "/usetop-test");
        assert_eq!(
            t.paths,
            ["/user.slice/user-0.slice/session-1.scope", "/usetop-test"]
        );
    }

    #[test]
    fn unified_takes_the_v2_path() {
        let t = parse(7, 1, b"0::/system.slice/nginx.service\n").unwrap();
        assert_eq!(t.path, "/system.slice/nginx.service");
        assert!(parse(7, 1, b"garbage\n").is_none());
        assert!(parse(7, 1, b"").is_none());
    }
}
