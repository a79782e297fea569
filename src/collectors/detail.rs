//! The drill-down's task: the files too costly to read for every task (status, schedstat,
//! limits, the fd directory, exe and cwd links), read only for the one task on screen and
//! its threads. Everything goes through `ProcRoot`; what cannot be read is listed, not fatal.

use super::parse::{parse_pid_io, parse_pid_stat, parse_status_euid};
use super::procroot::{ProcRoot, ReadError};
use crate::model::Note;
use crate::model::detail::{Focus, LimitLine, SchedStat, StatusFields, TaskDetail, ThreadDetail};

/// `/proc/PID/status`: `Key:\tvalue kB` lines; memory is returned in bytes.
pub fn parse_status(b: &[u8]) -> StatusFields {
    let text = String::from_utf8_lossy(b);
    let mut s = StatusFields {
        uid: parse_status_euid(b),
        ..Default::default()
    };
    for line in text.lines() {
        let Some((k, v)) = line.split_once(':') else {
            continue;
        };
        let mut parts = v.split_whitespace();
        let n = parts.next().and_then(|x| x.parse::<u64>().ok());
        let kb = parts.next() == Some("kB");
        let val = n.map(|n| if kb { n.saturating_mul(1024) } else { n });
        match k {
            "VmRSS" => s.vm_rss = val,
            "RssAnon" => s.rss_anon = val,
            "RssFile" => s.rss_file = val,
            "RssShmem" => s.rss_shmem = val,
            "VmSwap" => s.vm_swap = val,
            "voluntary_ctxt_switches" => s.voluntary_ctxt = val,
            "nonvoluntary_ctxt_switches" => s.nonvoluntary_ctxt = val,
            _ => {}
        }
    }
    s
}

/// `/proc/PID/schedstat`: `run_ns wait_ns slices`.
pub fn parse_schedstat(b: &[u8]) -> Option<SchedStat> {
    let text = std::str::from_utf8(b).ok()?;
    let mut it = text.split_whitespace().map(|x| x.parse::<u64>().ok());
    Some(SchedStat {
        run_ns: it.next()??,
        wait_ns: it.next()??,
        slices: it.next().flatten().unwrap_or(0),
    })
}

/// `/proc/PID/limits`: a header, then fixed columns (name padded to 26, soft 21, hard 21).
pub fn parse_limits(b: &[u8]) -> Vec<LimitLine> {
    let text = String::from_utf8_lossy(b);
    let mut out = Vec::new();
    for line in text.lines().skip(1) {
        // Names have spaces; the figures do not. Split from the right.
        let words: Vec<&str> = line.split_whitespace().collect();
        if words.len() < 3 {
            continue;
        }
        let has_units = !words[words.len() - 1]
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_digit())
            && words[words.len() - 1] != "unlimited";
        let (units, rest) = if has_units && words.len() >= 4 {
            (words[words.len() - 1], &words[..words.len() - 1])
        } else {
            ("", &words[..])
        };
        let n = rest.len();
        out.push(LimitLine {
            name: rest[..n - 2].join(" "),
            soft: rest[n - 2].to_string(),
            hard: rest[n - 1].to_string(),
            units: units.to_string(),
        });
    }
    out
}

/// `/proc/PID/cgroup`: the path the cgroup pane knows the task by (v1 and hybrid: the cpu
/// hierarchy's, where quotas are; else the v2 path `0::/path`; else the first line's).
pub fn parse_cgroup(b: &[u8]) -> Option<String> {
    super::task_cgroup::main_path(&super::task_cgroup::parse_lines(b))
}

fn why(e: &ReadError) -> &'static str {
    match e {
        ReadError::Gone(_) => "gone",
        ReadError::Denied(_) => "permission denied",
        _ => "unreadable",
    }
}

/// One thread (`dir` = `PID/task/TID`) or the process (`dir` = `PID`).
fn read_thread(
    root: &ProcRoot,
    dir: &str,
    io: bool,
    bad: &mut Vec<String>,
) -> Option<ThreadDetail> {
    let b = root.read_proc(&format!("{dir}/stat")).ok()?;
    let (stat, comm) = parse_pid_stat(&b).ok()?;
    let comm = String::from_utf8_lossy(comm).into_owned();
    let mut note = |what: &str, e: &ReadError| {
        if !e.is_gone() {
            bad.push(format!("{what}: {}", why(e)));
        }
    };
    let status = match root.read_proc(&format!("{dir}/status")) {
        Ok(b) => Some(parse_status(&b)),
        Err(e) => {
            note("status", &e);
            None
        }
    };
    let sched = match root.read_proc(&format!("{dir}/schedstat")) {
        Ok(b) => parse_schedstat(&b),
        Err(e) => {
            note("schedstat", &e);
            None
        }
    };
    let io = if io {
        match root.read_proc(&format!("{dir}/io")) {
            Ok(b) => parse_pid_io(&b).ok(),
            Err(e) => {
                note("io", &e);
                None
            }
        }
    } else {
        None
    };
    Some(ThreadDetail {
        tid: stat.pid,
        comm,
        stat,
        status,
        sched,
        io,
    })
}

/// Reads the focused task. `None` when the process is gone.
pub fn sample(root: &ProcRoot, focus: Focus, notes: &mut Vec<Note>) -> Option<TaskDetail> {
    let pid = focus.pid;
    let mut bad = Vec::new();
    let main = read_thread(root, &pid.to_string(), true, &mut bad)?;
    // A missing file (a kernel thread's exe, a task that just exited) is plain n/a; only
    // refusals are worth a reason.
    let note = |what: &str, e: &ReadError, bad: &mut Vec<String>| {
        if !e.is_gone() {
            bad.push(format!("{what}: {}", why(e)));
        }
    };
    let link =
        |what: &str, bad: &mut Vec<String>| match root.read_link_proc(&format!("{pid}/{what}")) {
            Ok(s) => Some(s),
            Err(e) => {
                note(what, &e, bad);
                None
            }
        };
    let exe = link("exe", &mut bad);
    let cwd = link("cwd", &mut bad);
    let cgroup = root
        .read_proc(&format!("{pid}/cgroup"))
        .ok()
        .and_then(|b| parse_cgroup(&b));
    let limits = match root.read_proc(&format!("{pid}/limits")) {
        Ok(b) => parse_limits(&b),
        Err(e) => {
            note("limits", &e, &mut bad);
            Vec::new()
        }
    };
    let fd_count = match root.count_dir_proc(&format!("{pid}/fd")) {
        Ok(n) => u32::try_from(n).ok(),
        Err(e) => {
            note("fd", &e, &mut bad);
            None
        }
    };
    let tids: Vec<u32> = match focus.tid {
        Some(t) => vec![t],
        None => {
            let mut v: Vec<u32> = std::fs::read_dir(root.proc_path(&format!("{pid}/task")))
                .map(|d| {
                    d.filter_map(|e| e.ok()?.file_name().to_str()?.parse().ok())
                        .collect()
                })
                .unwrap_or_default();
            v.sort_unstable();
            v
        }
    };
    let threads = tids
        .iter()
        .filter_map(|t| {
            read_thread(
                root,
                &format!("{pid}/task/{t}"),
                focus.tid.is_some(),
                &mut bad,
            )
        })
        .collect();
    bad.sort();
    bad.dedup();
    if !bad.is_empty() {
        notes.push(Note {
            source: "detail".into(),
            reason: format!("task {pid}: {}", bad.join(", ")),
        });
    }
    Some(TaskDetail {
        pid,
        start_time: main.stat.start_time,
        exe,
        cwd,
        cgroup,
        limits,
        fd_count,
        main,
        threads,
        unreadable: bad,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_fields() {
        let s = parse_status(
            b"Name:\tx\nUid:\t1\t2\t3\t4\nVmRSS:\t  100 kB\nRssAnon:\t 60 kB\nVmSwap:\t0 kB\nvoluntary_ctxt_switches:\t5\nnonvoluntary_ctxt_switches:\t7\n",
        );
        assert_eq!(s.vm_rss, Some(102_400));
        assert_eq!(s.rss_anon, Some(61_440));
        assert_eq!(s.voluntary_ctxt, Some(5));
        assert_eq!(s.nonvoluntary_ctxt, Some(7));
        assert_eq!(s.uid, Some(2));
        assert_eq!(s.rss_file, None);
    }

    #[test]
    fn schedstat_and_cgroup() {
        assert_eq!(
            parse_schedstat(b"100 200 3\n"),
            Some(SchedStat {
                run_ns: 100,
                wait_ns: 200,
                slices: 3
            })
        );
        assert_eq!(parse_schedstat(b"x"), None);
        assert_eq!(
            parse_cgroup(b"0::/system.slice/x.service\n").as_deref(),
            Some("/system.slice/x.service")
        );
    }

    #[test]
    fn limits_lines() {
        let l = parse_limits(
            b"Limit                     Soft Limit           Hard Limit           Units     \nMax cpu time              unlimited            unlimited            seconds   \nMax open files            1024                 524288               files     \nMax nice priority         0                    0                    \n",
        );
        assert_eq!(l.len(), 3);
        assert_eq!(l[1].name, "Max open files");
        assert_eq!(l[1].soft, "1024");
        assert_eq!(l[1].hard, "524288");
        assert_eq!(l[1].units, "files");
        assert_eq!(l[2].name, "Max nice priority");
        assert_eq!(l[2].units, "");
    }
}
