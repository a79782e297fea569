//! Live counters on this machine: software counters on a child process with busy threads
//! (task-clock and page faults grow for each thread and for their sum), the hardware path
//! (on a VM without a PMU it reports "not available"; elsewhere it counts), and an ignored
//! benchmark of opening and reading counters for 32 processes of 8 threads.
//!
//! The child is this test binary run again with `USETOP_PERF_CHILD=busy|idle`.

use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use usetop::collectors::ProcRoot;
use usetop::collectors::perf::PerfCollector;
use usetop::collectors::perf::backend::{CounterBackend, Kind, OpenFail, Target, classify, reason};
use usetop::collectors::perf::fake::FakeBackend;
use usetop::collectors::perf::live::LiveBackend;
use usetop::collectors::tasks::{TaskCollector, TaskRequest};
use usetop::model::TaskRecord;
use usetop::model::perf::{Ev, derive_task_rates};

/// Runs as the child when the environment says so: `busy` spins and faults in 3 named
/// threads, `idle` sleeps in 7 threads; both exit after 20 s or when stdin closes.
#[test]
fn child_helper() {
    let Ok(mode) = std::env::var("USETOP_PERF_CHILD") else {
        return;
    };
    let (n, busy) = if mode == "busy" {
        (3, true)
    } else {
        (7, false)
    };
    for i in 0..n {
        std::thread::Builder::new()
            .name(format!("busy-{i}"))
            .spawn(move || {
                let end = Instant::now() + Duration::from_secs(20);
                while Instant::now() < end {
                    if busy {
                        touch_fresh_pages(64);
                    } else {
                        std::thread::sleep(Duration::from_millis(200));
                    }
                }
            })
            .unwrap();
    }
    let mut buf = String::new();
    let _ = std::io::stdin().read_line(&mut buf);
    std::process::exit(0);
}

/// Maps `n` fresh pages, writes each (a page fault apiece) and unmaps them; malloc would
/// reuse freed memory and fault no more.
fn touch_fresh_pages(n: usize) {
    let len = n * 4096;
    // SAFETY: an anonymous private mapping of `len` bytes, written within bounds and
    // unmapped before return.
    unsafe {
        let p = libc::mmap(
            std::ptr::null_mut(),
            len,
            libc::PROT_READ | libc::PROT_WRITE,
            libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
            -1,
            0,
        );
        if p == libc::MAP_FAILED {
            return;
        }
        for i in (0..len).step_by(4096) {
            *(p as *mut u8).add(i) = 1;
        }
        libc::munmap(p, len);
    }
}

fn spawn_child(mode: &str) -> Child {
    Command::new(std::env::current_exe().unwrap())
        .args(["--exact", "child_helper", "--nocapture", "--test-threads=1"])
        .env("USETOP_PERF_CHILD", mode)
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .unwrap()
}

fn wait_threads(pid: u32, at_least: usize) -> Vec<u32> {
    for _ in 0..200 {
        let tids: Vec<u32> = std::fs::read_dir(format!("/proc/{pid}/task"))
            .map(|d| {
                d.filter_map(|e| e.ok()?.file_name().to_str()?.parse().ok())
                    .collect()
            })
            .unwrap_or_default();
        if tids.len() >= at_least {
            return tids;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    panic!("child {pid} did not start its threads");
}

fn comm(pid: u32, tid: u32) -> String {
    std::fs::read_to_string(format!("/proc/{pid}/task/{tid}/comm"))
        .unwrap_or_default()
        .trim()
        .to_string()
}

fn procs_of(tasks: &mut TaskCollector, pids: &[u32]) -> Vec<Arc<TaskRecord>> {
    let mut notes = Vec::new();
    tasks
        .sample(TaskRequest::default(), &mut notes)
        .procs
        .iter()
        .filter(|p| pids.contains(&p.pid()))
        .cloned()
        .collect()
}

/// False (with a message) where perf_event_open itself is missing or blocked (seccomp in
/// a container): nothing live can be counted there.
fn perf_events_usable() -> bool {
    match LiveBackend.open(Target::Thread(std::process::id()), Kind::Sw, false) {
        Err(e) if classify(&e) == OpenFail::Blocked => {
            eprintln!("perf_event_open is blocked here ({e}): live counter test skipped");
            false
        }
        _ => true,
    }
}

#[test]
fn software_counters_grow_per_thread_and_in_sum() {
    if !perf_events_usable() {
        return;
    }
    let mut child = spawn_child("busy");
    let pid = child.id();
    wait_threads(pid, 4);
    let root = ProcRoot::default();
    let mut tasks = TaskCollector::new(&root);
    let mut perf = PerfCollector::with_backend(&root, Some(Box::new(LiveBackend)), 4096);
    let mut notes = Vec::new();
    let a = perf.sample(&[], &procs_of(&mut tasks, &[pid]), 1, None, &mut notes);
    std::thread::sleep(Duration::from_millis(400));
    let b = perf.sample(&[], &procs_of(&mut tasks, &[pid]), 1, None, &mut notes);
    let names: Vec<(u32, String)> = wait_threads(pid, 4)
        .into_iter()
        .map(|t| (t, comm(pid, t)))
        .collect();
    let _ = child.kill();
    let _ = child.wait();
    assert_eq!(b.procs.len(), 1, "child not counted: {b:?} {notes:?}");
    let f = derive_task_rates(Some(&a), &b, 0.4);
    let pr = f.proc(pid).unwrap();
    let is_busy = |tid: u32| {
        names
            .iter()
            .any(|(t, n)| *t == tid && n.starts_with("busy-"))
    };
    let busy: Vec<_> = pr.threads.iter().filter(|t| is_busy(t.tid)).collect();
    assert_eq!(busy.len(), 3, "threads: {:?}", pr.threads);
    for t in &busy {
        let clock = t.rates.get(Ev::TaskClock).unwrap_or(0.0);
        let faults = t.rates.get(Ev::PageFaults).unwrap_or(0.0);
        assert!(clock > 1e7, "thread {} task-clock {clock} ns/s", t.tid);
        assert!(faults > 10.0, "thread {} faults {faults}/s", t.tid);
    }
    let sum_clock: f64 = busy.iter().filter_map(|t| t.rates.get(Ev::TaskClock)).sum();
    assert!(pr.sum.get(Ev::TaskClock).unwrap() >= sum_clock);
    assert!(pr.sum.get(Ev::PageFaults).unwrap() > 30.0);
}

#[test]
fn hardware_unavailable_path() {
    // Live: either hardware counters open, or the failure is one the pane can name.
    let tid = std::process::id();
    match LiveBackend.open(Target::Thread(tid), Kind::Hw, false) {
        Ok(_) => {}
        Err(e) => {
            let f = classify(&e);
            assert!(
                matches!(
                    f,
                    OpenFail::Unsupported | OpenFail::Refused | OpenFail::Blocked
                ),
                "{e}"
            );
            assert!(!reason(&f, None).is_empty());
        }
    }
    // Forced through the fake source: software counters still count, with the reason.
    let fake = FakeBackend::parse(
        "fail hw ENOENT\ncpu0 sw 1000 1000 1000 5 1 7\ntid42 sw 1000 1000 500 1 0 3\n",
    );
    let root = ProcRoot::default();
    let mut perf = PerfCollector::with_backend(&root, Some(Box::new(fake)), 100);
    let mut notes = Vec::new();
    let s = perf.sample(&[0], &[], 0, None, &mut notes);
    assert_eq!(
        s.hw_reason.as_deref(),
        Some("not available (no PMU in this VM)")
    );
    assert_eq!(s.cpus.len(), 1);
    assert!(s.cpus[0].1.get(Ev::TaskClock).is_some());
    assert!(s.cpus[0].1.get(Ev::Cycles).is_none());
    assert!(notes.iter().any(|n| n.source == "perf.hw"));
    // Refused by perf_event_paranoid, and exhausted descriptors, are named too.
    let fake = FakeBackend::parse("fail hw EACCES\nfail cpu EACCES\n");
    let mut perf = PerfCollector::with_backend(&root, Some(Box::new(fake)), 100);
    let s = perf.sample(&[0], &[], 0, None, &mut notes);
    assert!(s.system_reason.unwrap().starts_with("refused"));
}

#[test]
fn budget_limits_the_processes_counted() {
    if !perf_events_usable() {
        return;
    }
    let mut children: Vec<Child> = (0..3).map(|_| spawn_child("idle")).collect();
    let pids: Vec<u32> = children.iter().map(|c| c.id()).collect();
    for &p in &pids {
        wait_threads(p, 8);
    }
    let root = ProcRoot::default();
    let mut tasks = TaskCollector::new(&root);
    // Room for one process of 8+ threads with 4 software counters each, not three.
    let mut perf = PerfCollector::with_backend(&root, Some(Box::new(LiveBackend)), 60);
    let mut notes = Vec::new();
    let s = perf.sample(&[], &procs_of(&mut tasks, &pids), 3, None, &mut notes);
    for c in &mut children {
        let _ = c.kill();
        let _ = c.wait();
    }
    assert!(s.procs.len() < 3, "{s:?}");
    let why = s.tasks_reason.unwrap_or_default();
    assert!(why.contains("of 3 processes"), "{why}");
    assert!(perf.fds() <= 60);
}

/// Cost of counting 32 processes of 8 threads: the first sample (opening every group) and
/// later samples (rescanning threads and reading). `cargo test --release --test perf_live
/// -- --ignored --nocapture bench`
#[test]
#[ignore]
fn bench_32_processes_of_8_threads() {
    let mut children: Vec<Child> = (0..32).map(|_| spawn_child("idle")).collect();
    let pids: Vec<u32> = children.iter().map(|c| c.id()).collect();
    for &p in &pids {
        wait_threads(p, 8);
    }
    let root = ProcRoot::default();
    let mut tasks = TaskCollector::new(&root);
    let procs = procs_of(&mut tasks, &pids);
    let mut perf = PerfCollector::with_backend(&root, Some(Box::new(LiveBackend)), 4096);
    let mut notes = Vec::new();
    let t0 = Instant::now();
    let s = perf.sample(&[], &procs, 32, None, &mut notes);
    let open = t0.elapsed();
    let threads: usize = s.procs.iter().map(|p| p.threads.len()).sum();
    let n = 20;
    let t1 = Instant::now();
    for _ in 0..n {
        std::hint::black_box(perf.sample(&[], &procs, 32, None, &mut notes));
    }
    let per = t1.elapsed() / n;
    for c in &mut children {
        let _ = c.kill();
        let _ = c.wait();
    }
    println!(
        "perf counters: {} processes, {threads} threads, {} fds (hardware: {}): first sample {:.2} ms, then {:.3} ms per sample",
        s.procs.len(),
        perf.fds(),
        s.hw_reason.as_deref().unwrap_or("counting"),
        open.as_secs_f64() * 1e3,
        per.as_secs_f64() * 1e3
    );
    assert_eq!(s.procs.len(), 32);
}
