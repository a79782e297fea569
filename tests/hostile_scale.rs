//! 10,000 processes, generated at test time into a temporary directory (too many to commit):
//! one sample must see every one of them, and the task panes must render the result. A test
//! binary of its own, because the task sweep keeps a descriptor per process and other tests
//! in the same process would compete for the descriptor limit.

mod common;

use std::fmt::Write as _;
use std::fs;
use std::path::Path;
use std::time::{Duration, Instant};

use usetop::collectors::{Collectors, ProcRoot, Request, VirtualClock};
use usetop::headless::{HeadlessOptions, render_headless};
use usetop::panes::PaneId;

const PROCS: u32 = 10_000;

fn write_tree(root: &Path) {
    let proc = root.join("proc");
    fs::create_dir_all(proc.join("sys/kernel")).unwrap();
    fs::create_dir_all(root.join("sys/devices/system/cpu")).unwrap();
    fs::create_dir_all(root.join("etc")).unwrap();
    fs::write(root.join("etc/passwd"), "root:x:0:0::/:/bin/sh\n").unwrap();
    fs::write(root.join("sys/devices/system/cpu/online"), "0-3\n").unwrap();
    let mut stat = String::from("cpu  400 0 200 4000 0 0 0 0 0 0\n");
    for c in 0..4 {
        writeln!(stat, "cpu{c} 100 0 50 1000 0 0 0 0 0 0").unwrap();
    }
    stat.push_str("ctxt 10\nprocesses 10000\nprocs_running 9\nprocs_blocked 1\n");
    fs::write(proc.join("stat"), stat).unwrap();
    fs::write(proc.join("loadavg"), "9.00 8.00 7.00 9/10000 10001\n").unwrap();
    fs::write(
        proc.join("meminfo"),
        "MemTotal: 64000000 kB\nMemFree: 1000 kB\nMemAvailable: 30000000 kB\n",
    )
    .unwrap();
    fs::write(proc.join("uptime"), "1000.00 10.00\n").unwrap();
    for pid in 1..=PROCS {
        let d = proc.join(pid.to_string());
        fs::create_dir(&d).unwrap();
        fs::write(
            d.join("stat"),
            format!(
                "{pid} (worker-{pid}) S 1 1 1 0 -1 4194560 {pid} 0 0 0 {pid} 3 0 0 20 0 1 0 {} 1000000 100 18446744073709551615 0 0 0 0 0 0 0 0 0 0 0 0 0 1 0 0 0 0 0 0\n",
                1000 + pid
            ),
        )
        .unwrap();
        fs::write(d.join("cmdline"), format!("/usr/bin/worker\0--id={pid}\0")).unwrap();
        // Most tasks lack status and io, as if they exited mid-read (and it halves the files).
        if pid <= 100 {
            fs::write(d.join("status"), "Name:\tworker\nUid:\t0\t0\t0\t0\n").unwrap();
            fs::write(
                d.join("io"),
                "rchar: 1\nwchar: 2\nread_bytes: 0\nwrite_bytes: 0\n",
            )
            .unwrap();
        }
    }
}

#[test]
fn ten_thousand_processes() {
    // Memory-backed when there is one: 20,000 small files on a busy disk take a while.
    let shm = Path::new("/dev/shm");
    let dir = if shm.is_dir() {
        tempfile::tempdir_in(shm)
    } else {
        tempfile::tempdir()
    }
    .unwrap();
    let t = Instant::now();
    write_tree(dir.path());
    eprintln!("10,000 processes: tree written in {:?}", t.elapsed());
    let root = ProcRoot::new(dir.path().join("proc"), dir.path().join("sys"));

    let mut c = Collectors::new(root.clone());
    let t = Instant::now();
    let s = c.sample(&VirtualClock::new(), Request::default());
    let first = t.elapsed();
    assert_eq!(s.tasks.procs.len(), PROCS as usize);
    // Kept descriptors make the second sweep cheaper; both must stay well inside a refresh.
    let t = Instant::now();
    let s = c.sample(&VirtualClock::new(), Request::default());
    let second = t.elapsed();
    assert_eq!(s.tasks.procs.len(), PROCS as usize);
    eprintln!("10,000 processes: first sample {first:?}, second {second:?}");
    assert!(
        second < Duration::from_secs(5),
        "second sample took {second:?}"
    );
    drop(c);

    // The panes that show tasks; the others are covered by tests/hostile.rs.
    for pane in [PaneId::Use, PaneId::Proc] {
        let out = render_headless(HeadlessOptions {
            app: common::options(pane),
            cols: 120,
            rows: 40,
            frames: 2,
            keys: String::new(),
            roots: vec![root.clone()],
            virtual_clock: true,
        })
        .unwrap();
        assert!(
            !out.contains("NaN") && !out.contains("inf"),
            "{pane:?}\n{out}"
        );
        if pane == PaneId::Proc {
            // COMMAND leads with the program's basename, and has room at 120 columns.
            assert!(out.contains("worker --id="), "{out}");
            assert!(out.contains("rows") || out.contains('█'), "{out}");
        }
    }
}
