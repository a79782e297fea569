//! Long run: usetop at 10 Hz in a real pty against the live /proc while a churning population
//! of short-lived processes (a few started and reaped every few milliseconds) comes and goes.
//! Resident memory and descriptors must stay flat once the snapshot ring is full.
//!
//! The normal test command runs it for 20 s. The extended mode runs it for 10 minutes:
//!     USETOP_LONG=1 cargo test --release --test hostile_long_run -- --nocapture
//! (USETOP_LONG_SECS=N picks another length.)

#[path = "terminal_faults/tmux.rs"]
mod tmux;

use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use tmux::*;

fn run_secs() -> u64 {
    if let Some(s) = std::env::var("USETOP_LONG_SECS")
        .ok()
        .and_then(|v| v.parse().ok())
    {
        return s;
    }
    if std::env::var_os("USETOP_LONG").is_some_and(|v| v == "1") {
        600
    } else {
        20
    }
}

/// Spawns and reaps short-lived processes until `stop` is set; returns how many it started.
fn churn(stop: Arc<AtomicBool>, started: Arc<AtomicU64>) -> std::thread::JoinHandle<()> {
    std::thread::spawn(move || {
        while !stop.load(Ordering::Relaxed) {
            let kids: Vec<_> = (0..3)
                .filter_map(|_| Command::new("true").stdout(Stdio::null()).spawn().ok())
                .collect();
            started.fetch_add(kids.len() as u64, Ordering::Relaxed);
            for mut k in kids {
                let _ = k.wait();
            }
            std::thread::sleep(Duration::from_millis(3));
        }
    })
}

struct Usage {
    at_s: f64,
    rss_kb: u64,
    /// Descriptors other than kept /proc and cgroup files (the sweeps keep one per live
    /// task file and per cgroup file: they follow populations other processes change).
    other_fds: usize,
    proc_fds: usize,
    cgroup_fds: usize,
}

fn usage(pid: u32, start: Instant) -> Option<Usage> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let rss_kb = status
        .lines()
        .find(|l| l.starts_with("VmRSS:"))?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()?;
    let (mut other_fds, mut proc_fds, mut cgroup_fds) = (0, 0, 0);
    for e in std::fs::read_dir(format!("/proc/{pid}/fd")).ok()?.flatten() {
        match std::fs::read_link(e.path()) {
            Ok(p) if p.starts_with("/proc/") => proc_fds += 1,
            Ok(p) if p.starts_with("/sys/fs/cgroup/") => cgroup_fds += 1,
            _ => other_fds += 1,
        }
    }
    Some(Usage {
        at_s: start.elapsed().as_secs_f64(),
        rss_kb,
        other_fds,
        proc_fds,
        cgroup_fds,
    })
}

/// Directories under the cgroup mounts (every hierarchy's), a bound on the cgroups read.
fn cgroup_dirs(dir: &std::path::Path, depth: usize) -> usize {
    if depth > 32 {
        return 0;
    }
    std::fs::read_dir(dir)
        .map(|d| {
            d.flatten()
                .filter(|e| e.file_type().is_ok_and(|t| t.is_dir()))
                .map(|e| 1 + cgroup_dirs(&e.path(), depth + 1))
                .sum()
        })
        .unwrap_or(0)
}

fn live_tasks() -> usize {
    std::fs::read_dir("/proc")
        .unwrap()
        .flatten()
        .filter(|e| {
            e.file_name()
                .to_string_lossy()
                .bytes()
                .all(|b| b.is_ascii_digit())
        })
        .map(|e| {
            std::fs::read_dir(e.path().join("task"))
                .map(|d| d.count())
                .unwrap_or(0)
        })
        .sum()
}

#[test]
fn memory_and_descriptors_stay_flat_under_churn() {
    let secs = run_secs();
    let stop = Arc::new(AtomicBool::new(false));
    let started = Arc::new(AtomicU64::new(0));
    let churner = churn(Arc::clone(&stop), Arc::clone(&started));

    // A short ring, so it is full after 3 s and memory has no reason to grow after that.
    let t = Tmux::start(
        160,
        50,
        &format!(
            "echo $$ > sh.pid; {USETOP} -i 0.1 -P proc --history 30; echo $? > rc; echo DONE; sleep 60"
        ),
    );
    let pid = usetop_pid(&t);
    t.wait_for("PID", 10);
    t.keys(&["H"]); // threads too: the heavier sweep
    let start = Instant::now();
    let mut seen = Vec::new();
    while start.elapsed() < Duration::from_secs(secs) {
        std::thread::sleep(Duration::from_millis(500));
        let u = usage(pid, start).expect("usetop died during the run");
        seen.push(u);
    }
    let tasks_now = live_tasks();
    let last_proc_fds = seen.last().map(|u| u.proc_fds).unwrap_or(0);
    let last_cgroup_fds = seen.last().map(|u| u.cgroup_fds).unwrap_or(0);
    let cgroups_now = cgroup_dirs(std::path::Path::new("/sys/fs/cgroup"), 0);
    t.keys(&["q"]);
    t.wait_for("DONE", 10);
    stop.store(true, Ordering::Relaxed);
    churner.join().unwrap();
    assert_eq!(std::fs::read_to_string(t.path("rc")).unwrap().trim(), "0");

    // Warm-up: the ring fills and the allocator settles. Then the first and last thirds of
    // the rest are compared.
    let warm = (secs as f64 / 4.0).max(5.0);
    let rest: Vec<&Usage> = seen.iter().filter(|u| u.at_s >= warm).collect();
    let third = (rest.len() / 3).max(1);
    let (early, late) = (&rest[..third], &rest[rest.len() - third..]);
    let max = |s: &[&Usage], f: fn(&Usage) -> u64| s.iter().map(|u| f(u)).max().unwrap_or(0);
    let (rss_early, rss_late) = (max(early, |u| u.rss_kb), max(late, |u| u.rss_kb));
    let (fd_early, fd_late) = (
        max(early, |u| u.other_fds as u64),
        max(late, |u| u.other_fds as u64),
    );
    eprintln!(
        "long run {secs}s: {} processes churned; VmRSS max {rss_early} kB early, {rss_late} kB late; \
         other fds {fd_early} -> {fd_late}; kept /proc fds {last_proc_fds} for {tasks_now} live tasks",
        started.load(Ordering::Relaxed)
    );
    assert!(
        started.load(Ordering::Relaxed) > secs * 20,
        "the population did not churn"
    );
    assert!(
        rss_late <= rss_early + rss_early / 5 + 4096,
        "VmRSS grew from {rss_early} kB to {rss_late} kB"
    );
    assert!(
        fd_late <= fd_early + 2,
        "descriptors grew from {fd_early} to {fd_late}"
    );
    // Kept descriptors follow the population: at most schedstat, stat and io per live task,
    // with slack for tasks that came and went since the last sweep.
    assert!(
        last_proc_fds <= 3 * tasks_now + 200,
        "{last_proc_fds} kept /proc descriptors for {tasks_now} tasks"
    );
    // And the cgroup sweep's follow the cgroups: at most one per file it reads, with
    // slack for cgroups that came and went since its last refresh.
    assert!(
        last_cgroup_fds <= 19 * (cgroups_now + 20),
        "{last_cgroup_fds} kept cgroup descriptors for {cgroups_now} cgroup directories"
    );
}
