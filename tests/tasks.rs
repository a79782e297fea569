//! The task sweep with kept descriptors, on a writable copy of the `basic` fixture whose
//! files are rewritten in place between samples (so kept descriptors see the new text, as
//! they do on procfs), plus one live run over /proc that checks only relations.

mod common;

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use common::fixtures;
use usetop::collectors::{Collectors, ProcRoot, Request, TaskRequest, VirtualClock};
use usetop::model::{Sample, Snapshot, TaskRecord};

/// Rewrites every file of `from` over the same path under `to` without replacing the inode
/// (open with truncate), the way procfs regenerates a file behind a kept descriptor.
fn overwrite_tree(from: &Path, to: &Path) {
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        let dst = to.join(e.file_name());
        if e.file_type().unwrap().is_dir() {
            std::fs::create_dir_all(&dst).unwrap();
            overwrite_tree(&e.path(), &dst);
        } else {
            std::fs::write(&dst, std::fs::read(e.path()).unwrap()).unwrap();
        }
    }
}

struct Live {
    _dir: tempfile::TempDir,
    base: std::path::PathBuf,
    collectors: Collectors,
    clock: VirtualClock,
}

impl Live {
    /// A writable copy of basic/t0 with one collector that keeps its descriptors.
    fn new() -> Live {
        let dir = tempfile::tempdir().unwrap();
        let base = dir.path().join("t");
        common::copy_tree(&fixtures().join("basic/t0"), &base);
        let root = ProcRoot::new(base.join("proc"), base.join("sys"));
        Live {
            _dir: dir,
            collectors: Collectors::new(root),
            base,
            clock: VirtualClock::new(),
        }
    }

    fn sample(&mut self, req: Request) -> Sample {
        let s = self.collectors.sample(&self.clock, req);
        self.clock.advance(Duration::from_secs(1));
        s
    }

    fn proc(&self) -> std::path::PathBuf {
        self.base.join("proc")
    }
}

/// The thread view's request: every thread of every process.
fn with_threads() -> Request {
    Request {
        tasks: TaskRequest { threads: true },
        ..Request::default()
    }
}

fn rec(s: &Sample, pid: u32) -> &Arc<TaskRecord> {
    s.tasks
        .procs
        .iter()
        .find(|t| t.stat.pid == pid)
        .unwrap_or_else(|| panic!("pid {pid} missing"))
}

#[test]
fn unchanged_tasks_share_their_records() {
    let mut l = Live::new();
    let a = l.sample(Request::default());
    let b = l.sample(Request::default());
    for (x, y) in a.tasks.procs.iter().zip(&b.tasks.procs) {
        // Nothing changed on disk: the very same record, ident included (a comm that is
        // not valid UTF-8, pid 400's, must not look "changed" every time).
        assert!(
            Arc::ptr_eq(&x.ident, &y.ident),
            "pid {} ident re-read although unchanged",
            x.stat.pid
        );
        assert!(Arc::ptr_eq(x, y), "pid {} record not shared", x.stat.pid);
    }
    assert_eq!(rec(&b, 400).ident.comm, "pgデータベ\u{fffd}");
}

#[test]
fn thread_idents_are_shared_when_unchanged() {
    let req = with_threads();
    let mut l = Live::new();
    let a = l.sample(req);
    let b = l.sample(req);
    let (ta, tb) = (a.tasks.threads.unwrap(), b.tasks.threads.unwrap());
    assert_eq!(ta.len(), tb.len());
    for (x, y) in ta.iter().zip(&tb) {
        assert!(Arc::ptr_eq(x, y), "tid {} record not shared", x.stat.pid);
    }
}

#[test]
fn pid_reuse_behind_a_kept_descriptor() {
    let mut l = Live::new();
    let a = l.sample(Request::default());
    assert_eq!(rec(&a, 500).ident.comm, "old-job");
    // t1 over the same inodes: pid 500 is now another process (new start time, no io).
    std::fs::remove_file(l.proc().join("500/io")).unwrap();
    overwrite_tree(&fixtures().join("basic/t1"), &l.base);
    // cpu3 is gone in t1's stat; the sys file says so too.
    let b = l.sample(Request::default());
    let r = rec(&b, 500);
    assert_eq!(r.ident.comm, "new-job");
    assert_eq!(r.ident.cmdline, "new-job --fresh");
    assert_eq!(r.ident.user, "4242");
    assert_eq!(r.stat.start_time, 2000);
    assert!(r.io.is_none(), "the old process's io must not carry over");
    let snap = Snapshot::derive(1, Some(Arc::new(a)), Arc::new(b));
    let tasks = snap.tasks();
    let t = tasks.iter().find(|t| t.rec.stat.pid == 500).unwrap();
    assert!(t.cpu_pct.is_none());
    // The other tasks carried on with rates.
    let t = tasks.iter().find(|t| t.rec.stat.pid == 200).unwrap();
    assert!(t.cpu_pct.is_some_and(|c| c > 0.0));
    assert!(t.write_bps.is_some_and(|w| w == 1_048_576.0));
}

#[test]
fn io_rotation_catches_quiet_tasks() {
    // A task whose stat does not move is still re-read for io within IO_SWEEP (5) samples.
    let mut l = Live::new();
    let first = l.sample(Request::default());
    assert_eq!(rec(&first, 1).io.unwrap().write_bytes, 8192);
    // pid 1 wrote without running (write-back of dirty pages is charged this way).
    let io = l.proc().join("1/io");
    let text = std::fs::read_to_string(&io).unwrap();
    std::fs::write(&io, text.replace("write_bytes: 8192", "write_bytes: 16384")).unwrap();
    let mut seen = false;
    for _ in 0..5 {
        let s = l.sample(Request::default());
        if rec(&s, 1).io.unwrap().write_bytes == 16384 {
            seen = true;
            break;
        }
    }
    assert!(
        seen,
        "io of a task whose stat never moved was not re-read in 5 samples"
    );
}

#[test]
fn vanished_and_unreadable_tasks_are_skipped() {
    let mut l = Live::new();
    // A pid directory with no stat (the task went between listing and reading), one with
    // a garbage stat, one with no io: none of them fails the sample.
    std::fs::create_dir_all(l.proc().join("700")).unwrap();
    std::fs::create_dir_all(l.proc().join("701")).unwrap();
    std::fs::write(l.proc().join("701/stat"), b"701 (half").unwrap();
    let s = l.sample(Request::default());
    let pids: Vec<u32> = s.tasks.procs.iter().map(|t| t.stat.pid).collect();
    assert_eq!(pids, [1, 2, 57, 100, 200, 300, 400, 500, 600]);
    assert!(rec(&s, 100).io.is_none());
    // A task that disappears between two samples is simply gone.
    std::fs::remove_dir_all(l.proc().join("600")).unwrap();
    let s = l.sample(Request::default());
    assert!(s.tasks.procs.iter().all(|t| t.stat.pid != 600));
    // A stat that becomes unreadable mid-life: skipped this time, back when readable.
    let stat = l.proc().join("200/stat");
    let good = std::fs::read(&stat).unwrap();
    std::fs::write(&stat, b"").unwrap();
    let s = l.sample(Request::default());
    assert!(s.tasks.procs.iter().all(|t| t.stat.pid != 200));
    std::fs::write(&stat, good).unwrap();
    let s = l.sample(Request::default());
    assert_eq!(rec(&s, 200).stat.utime, 1000);
}

#[test]
fn live_proc_lists_this_process_and_its_threads() {
    // Relations only: the test process is listed with its cmdline, its threads are listed
    // under it, and a second sample gives it a (non-negative) rate.
    let me = std::process::id();
    let spinner = std::thread::spawn(|| std::thread::sleep(Duration::from_millis(500)));
    let mut c = Collectors::new(ProcRoot::default());
    let req = with_threads();
    let a = c.sample(&usetop::collectors::SystemClock, req);
    std::thread::sleep(Duration::from_millis(50));
    let b = c.sample(&usetop::collectors::SystemClock, req);
    spinner.join().unwrap();
    let r = rec(&b, me);
    assert!(r.ident.cmdline.contains("tasks"), "{:?}", r.ident.cmdline);
    assert!(r.stat.num_threads >= 2);
    let threads = b.tasks.threads.as_ref().unwrap();
    let mine = threads.iter().filter(|t| t.tgid == me).count();
    assert!(mine >= 2, "{mine} threads of {me}");
    assert!(a.tasks.procs.len() > 1);
    let snap = Snapshot::derive(1, Some(Arc::new(a)), Arc::new(b));
    assert!(snap.dt_s > 0.0);
    let t = snap.tasks();
    let t = t.iter().find(|t| t.rec.stat.pid == me).unwrap();
    assert!(t.cpu_pct.is_some_and(|c| c >= 0.0));
    // Our own io counters are read whenever the kernel lets us read them.
    if std::fs::read("/proc/self/io").is_ok() {
        assert!(t.rec.io.is_some());
    }
}

#[test]
fn process_losing_its_threads_has_no_cpu_spike() {
    // java (pid 300) runs three threads, then two of them exit. The process's own stat
    // still counts the exited threads' CPU time; the main thread's does not. Comparing one
    // with the other would show the dead threads' whole lifetime as one interval's usage.
    let req = with_threads();
    let mut l = Live::new();
    let a = l.sample(req);
    let stat = l.proc().join("300/stat");
    let text = std::fs::read_to_string(&stat).unwrap();
    // Field 20 (num_threads) 3 -> 1; utime and stime unchanged.
    std::fs::write(&stat, text.replace(" 20 0 3 0 700 ", " 20 0 1 0 700 ")).unwrap();
    for tid in [301, 302] {
        std::fs::remove_dir_all(l.proc().join(format!("300/task/{tid}"))).unwrap();
    }
    let b = l.sample(req);
    let snap = Snapshot::derive(1, Some(Arc::new(a)), Arc::new(b));
    let threads = snap.threads().unwrap();
    let java: Vec<_> = threads.iter().filter(|t| t.rec.tgid == 300).collect();
    assert_eq!(java.len(), 1);
    let cpu = java[0].cpu_pct.unwrap_or(0.0);
    assert!(
        cpu <= 1.0,
        "main thread of 300 shows {cpu}% after its threads exited"
    );
}

/// Gives every process of the copy a `schedstat` (run ns, wait ns, slices), as a kernel with
/// sched_info has.
fn add_schedstat(l: &Live) {
    for e in std::fs::read_dir(l.proc()).unwrap() {
        let e = e.unwrap();
        if e.file_name().to_string_lossy().parse::<u32>().is_ok() {
            std::fs::write(e.path().join("schedstat"), b"5000000 100000 40\n").unwrap();
        }
    }
}

/// Rewrites one `key: value` line of a proc file in place.
fn bump(path: &Path, key: &str, by: u64) {
    let text = std::fs::read_to_string(path).unwrap();
    let out: String = text
        .lines()
        .map(|line| match line.split_once(": ") {
            Some((k, v)) if k == key => {
                format!("{k}: {}\n", v.trim().parse::<u64>().unwrap() + by)
            }
            _ => format!("{line}\n"),
        })
        .collect();
    std::fs::write(path, out).unwrap();
}

/// Adds `by` ns to the run time in a schedstat file (the task ran, less than a tick).
fn bump_run(path: &Path, by: u64) {
    let text = std::fs::read_to_string(path).unwrap();
    let mut f: Vec<u64> = text
        .split_whitespace()
        .map(|x| x.parse().unwrap())
        .collect();
    f[0] += by;
    f[2] += 1;
    std::fs::write(path, format!("{} {} {}\n", f[0], f[1], f[2])).unwrap();
}

fn task_rates(a: Sample, b: Sample, pid: u32) -> usetop::model::TaskRate {
    let snap = Snapshot::derive(1, Some(Arc::new(a)), Arc::new(b));
    snap.tasks()
        .iter()
        .find(|t| t.rec.stat.pid == pid)
        .cloned()
        .unwrap()
}

#[test]
fn io_of_a_task_using_less_than_a_tick_is_exact_every_interval() {
    // A writer that spends microseconds per second on CPU: its stat ticks never move, its
    // run time (schedstat, ns) does. Every interval must show its steady 3200 KiB/s, not
    // 0, 0, then a multiple of it.
    let mut l = Live::new();
    add_schedstat(&l);
    let io = l.proc().join("200/io");
    let sched = l.proc().join("200/schedstat");
    let mut prev = l.sample(Request::default());
    let mut seen = Vec::new();
    for _ in 0..7 {
        bump(&io, "write_bytes", 3200 * 1024);
        bump(&io, "wchar", 3200 * 1024);
        bump(&io, "syscw", 800);
        bump_run(&sched, 40_000);
        let cur = l.sample(Request::default());
        let t = task_rates(prev, cur.clone(), 200);
        seen.push(t.write_bps.map(|w| w / 1024.0));
        prev = cur;
    }
    assert!(
        seen.iter().all(|w| *w == Some(3200.0)),
        "KiB/s written per interval: {seen:?}"
    );
}

#[test]
fn without_schedstat_every_figure_is_still_right() {
    // basic has no schedstat files (a kernel without sched_info): stat and io are read
    // for every task every refresh, so a quiet writer's rate is exact too.
    let mut l = Live::new();
    assert!(!l.proc().join("200/schedstat").exists());
    let io = l.proc().join("1/io");
    let mut prev = l.sample(Request::default());
    for _ in 0..6 {
        bump(&io, "write_bytes", 4096 * 10);
        let cur = l.sample(Request::default());
        let t = task_rates(prev, cur.clone(), 1);
        assert_eq!(t.write_bps, Some(40960.0));
        prev = cur;
    }
}

#[test]
fn a_task_that_did_not_run_shows_rss_and_nice_changes_within_five_refreshes() {
    // Reclaim shrinks a sleeping task's RSS and someone else renices it: its run time does
    // not move, so only the rotation re-reads its stat. The README promises at most 5
    // refreshes.
    let mut l = Live::new();
    add_schedstat(&l);
    let _ = l.sample(Request::default());
    let _ = l.sample(Request::default());
    let stat = l.proc().join("500/stat");
    let text = std::fs::read_to_string(&stat).unwrap();
    // nice 0 -> 5 (field 19), rss 500 -> 120 pages (field 24).
    let changed = text.replace(" 20 0 1 0 900 6144000 500 ", " 25 5 1 0 900 6144000 120 ");
    assert_ne!(changed, text);
    std::fs::write(&stat, changed).unwrap();
    let mut after = None;
    for n in 1..=5 {
        let s = l.sample(Request::default());
        let r = rec(&s, 500);
        if r.stat.rss_pages == 120 {
            assert_eq!(r.stat.nice, 5);
            after = Some(n);
            break;
        }
    }
    assert!(
        after.is_some(),
        "RSS change of a sleeping task not seen in 5 refreshes"
    );
}

#[test]
fn a_multi_threaded_process_is_read_every_refresh() {
    // /proc/PID/schedstat is the main thread's only: a worker thread can write while the
    // main thread sleeps, so a process with several threads is never gated by it.
    let mut l = Live::new();
    add_schedstat(&l);
    let io = l.proc().join("300/io");
    let mut prev = l.sample(Request::default());
    for _ in 0..6 {
        bump(&io, "write_bytes", 8192);
        let cur = l.sample(Request::default());
        let t = task_rates(prev, cur.clone(), 300);
        assert_eq!(t.write_bps, Some(8192.0));
        prev = cur;
    }
}

#[test]
fn a_task_whose_stat_vanishes_after_its_schedstat_is_dropped() {
    // The task ran (schedstat moved) and exited before its stat was read: it is gone from
    // this sample, without a note or a failed sample.
    let mut l = Live::new();
    add_schedstat(&l);
    let _ = l.sample(Request::default());
    bump_run(&l.proc().join("500/schedstat"), 1000);
    // procfs answers a kept descriptor of a dead task with an error; an emptied, then
    // removed file does the same to the kept descriptor and to a fresh open.
    std::fs::write(l.proc().join("500/stat"), b"").unwrap();
    std::fs::remove_file(l.proc().join("500/stat")).unwrap();
    let s = l.sample(Request::default());
    assert!(s.tasks.procs.iter().all(|t| t.stat.pid != 500));
    assert!(s.tasks.procs.iter().any(|t| t.stat.pid == 200));
    assert!(
        s.notes.iter().all(|n| !n.reason.contains("500")),
        "{:?}",
        s.notes
    );
}

/// Gives each thread of java (pid 300) its own `task/TID/schedstat`.
fn add_thread_schedstat(l: &Live) {
    for tid in [300, 301, 302] {
        let dir = l.proc().join(format!("300/task/{tid}"));
        std::fs::write(dir.join("schedstat"), b"7000000 200000 50\n").unwrap();
    }
}

/// Adds to the run-queue wait (second field) of a schedstat file, and to its run time.
fn bump_wait(path: &Path, run: u64, wait: u64) {
    let text = std::fs::read_to_string(path).unwrap();
    let f: Vec<u64> = text
        .split_whitespace()
        .map(|x| x.parse().unwrap())
        .collect();
    std::fs::write(
        path,
        format!("{} {} {}\n", f[0] + run, f[1] + wait, f[2] + 1),
    )
    .unwrap();
}

#[test]
fn runq_is_schedstat_wait_per_process_and_per_thread() {
    // pid 200 waited 2.5 ms on a run queue in the one (virtual) second between samples:
    // RUNQ 2.5 ms/s. GC Thread#0 (tid 301) waited 40 ms: 40 ms/s, on its own thread row.
    let threads = with_threads();
    let mut l = Live::new();
    add_schedstat(&l);
    add_thread_schedstat(&l);
    let a = l.sample(threads);
    assert_eq!(rec(&a, 200).runq_ns, Some(100_000));
    bump_wait(&l.proc().join("200/schedstat"), 10_000, 2_500_000);
    bump_wait(&l.proc().join("300/task/301/schedstat"), 10_000, 40_000_000);
    let b = l.sample(threads);
    assert_eq!(rec(&b, 200).runq_ns, Some(2_600_000));
    let snap = Snapshot::derive(1, Some(Arc::new(a)), Arc::new(b));
    let t = snap.tasks();
    let p200 = t.iter().find(|t| t.rec.stat.pid == 200).unwrap();
    assert_eq!(p200.runq_ms_s, Some(2.5));
    // A task that did not wait shows 0, not n/a.
    let p1 = t.iter().find(|t| t.rec.stat.pid == 1).unwrap();
    assert_eq!(p1.runq_ms_s, Some(0.0));
    let th = snap.threads().unwrap();
    let gc = th.iter().find(|t| t.rec.stat.pid == 301).unwrap();
    assert_eq!(gc.runq_ms_s, Some(40.0));
    let other = th.iter().find(|t| t.rec.stat.pid == 302).unwrap();
    assert_eq!(other.runq_ms_s, Some(0.0));
}

#[test]
fn runq_is_na_without_schedstat() {
    let mut l = Live::new();
    let a = l.sample(Request::default());
    let b = l.sample(Request::default());
    assert!(rec(&b, 200).runq_ns.is_none());
    let snap = Snapshot::derive(1, Some(Arc::new(a)), Arc::new(b));
    assert!(snap.tasks().iter().all(|t| t.runq_ms_s.is_none()));
}

#[test]
fn without_schedstat_a_note_says_the_gate_is_off() {
    // basic has no schedstat: the note says every stat is read each refresh. With
    // schedstat there is no such note.
    let mut l = Live::new();
    let s = l.sample(Request::default());
    let n = s
        .notes
        .iter()
        .find(|n| n.source == "info.schedstat")
        .expect("no note about the missing schedstat");
    assert!(n.is_info());
    assert_eq!(
        n.reason,
        "schedstat absent: every process's stat read each refresh"
    );
    add_schedstat(&l);
    let s = l.sample(Request::default());
    assert!(s.notes.iter().all(|n| n.source != "info.schedstat"));
}

#[test]
fn threads_that_did_not_run_are_not_re_read() {
    // Nothing moves between samples: after the first, every thread whose schedstat stayed
    // put keeps its record (only the rotating fifth is re-read), and the gate says so.
    let threads = with_threads();
    let mut l = Live::new();
    add_schedstat(&l);
    add_thread_schedstat(&l);
    let root = ProcRoot::new(l.base.join("proc"), l.base.join("sys"));
    let mut c = Collectors::new(root);
    let mut skipped = 0;
    for _ in 0..5 {
        let _ = c.sample(&l.clock, threads);
        l.clock.advance(Duration::from_secs(1));
        let g = c.task_gate();
        assert_eq!(g.threads, 3, "java's three threads have schedstat");
        skipped += g.threads_skipped;
    }
    // 4 samples after the first, 3 threads, each re-read once in 5: 12 - 3 at most read.
    assert!(skipped >= 9, "{skipped} thread reads skipped");
}

#[test]
fn a_thread_whose_run_time_moved_is_re_read_at_once() {
    // GC Thread#0 runs (its run time moves by 30 µs, less than a tick) and its stat
    // changes: the very next sample shows it, whatever the rotation.
    let threads = with_threads();
    let mut l = Live::new();
    add_schedstat(&l);
    add_thread_schedstat(&l);
    let _ = l.sample(threads);
    for round in 1..=6u64 {
        let stat = l.proc().join("300/task/301/stat");
        let text = std::fs::read_to_string(&stat).unwrap();
        let minflt = 266_667 + round - 1;
        let changed = text.replace(
            &format!(" {minflt} 0 101 "),
            &format!(" {} 0 101 ", minflt + 1),
        );
        assert_ne!(changed, text);
        std::fs::write(&stat, changed).unwrap();
        bump_run(&l.proc().join("300/task/301/schedstat"), 30_000);
        let s = l.sample(threads);
        let th = s.tasks.threads.as_ref().unwrap();
        let gc = th.iter().find(|t| t.stat.pid == 301).unwrap();
        assert_eq!(gc.stat.minflt, minflt + 1, "round {round}");
    }
}

#[test]
fn a_named_thread_that_ran_keeps_its_ident() {
    // GC Thread#0 (tid 301) is named unlike its process. When it runs, its record is new
    // but its name is not: the ident (with its copy of the command line) is shared, so
    // the ring does not hold a copy per refresh in which it ran.
    let threads = with_threads();
    let mut l = Live::new();
    let a = l.sample(threads);
    let stat = l.proc().join("300/task/301/stat");
    let text = std::fs::read_to_string(&stat).unwrap();
    std::fs::write(&stat, text.replace(" 3001 501 ", " 3002 501 ")).unwrap();
    let b = l.sample(threads);
    let find = |s: &Sample| {
        let th = s.tasks.threads.as_ref().unwrap();
        Arc::clone(th.iter().find(|t| t.stat.pid == 301).unwrap())
    };
    let (ta, tb) = (find(&a), find(&b));
    assert_eq!(tb.stat.utime, 3002);
    assert_eq!(tb.ident.comm, "GC Thread#0");
    assert!(Arc::ptr_eq(&ta.ident, &tb.ident), "ident copied again");
}

/// Copies thread 302 of java (pid 300) as thread `tid`.
fn add_java_thread(l: &Live, tid: u32) {
    let from = l.proc().join("300/task/302");
    let to = l.proc().join(format!("300/task/{tid}"));
    common::copy_tree(&from, &to);
    let stat = std::fs::read_to_string(to.join("stat")).unwrap();
    std::fs::write(
        to.join("stat"),
        stat.replacen("302 (", &format!("{tid} ("), 1),
    )
    .unwrap();
}

/// Sets java's thread count (stat field 20) from `from` to `to`.
fn java_threads(l: &Live, from: u32, to: u32) {
    let stat = l.proc().join("300/stat");
    let text = std::fs::read_to_string(&stat).unwrap();
    let new = text.replace(
        &format!(" 20 0 {from} 0 700 "),
        &format!(" 20 0 {to} 0 700 "),
    );
    assert_ne!(new, text);
    std::fs::write(&stat, new).unwrap();
}

fn java_tids(s: &Sample) -> Vec<u32> {
    let th = s.tasks.threads.as_ref().unwrap();
    th.iter()
        .filter(|t| t.tgid == 300)
        .map(|t| t.stat.pid)
        .collect()
}

#[test]
fn threads_starting_and_exiting_are_seen_without_listing_every_time() {
    // task/ is listed again only when stat's thread count changes or a known thread is
    // gone: a new thread (count 3 -> 4), then one exiting as another starts (count stays
    // 4) are both seen in the very next sample.
    let threads = with_threads();
    let mut l = Live::new();
    add_schedstat(&l);
    add_thread_schedstat(&l);
    assert_eq!(java_tids(&l.sample(threads)), [300, 301, 302]);
    assert_eq!(java_tids(&l.sample(threads)), [300, 301, 302]);
    add_java_thread(&l, 303);
    java_threads(&l, 3, 4);
    assert_eq!(java_tids(&l.sample(threads)), [300, 301, 302, 303]);
    assert_eq!(java_tids(&l.sample(threads)), [300, 301, 302, 303]);
    // 301 exits, 304 starts: the count is still 4. (procfs answers a dead thread's kept
    // descriptors with an error; emptied files do the same here.)
    for f in ["stat", "schedstat"] {
        std::fs::write(l.proc().join("300/task/301").join(f), b"").unwrap();
    }
    std::fs::remove_dir_all(l.proc().join("300/task/301")).unwrap();
    add_java_thread(&l, 304);
    assert_eq!(java_tids(&l.sample(threads)), [300, 302, 303, 304]);
}

/// /proc is listed again only when a pid was allocated since the last listing (loadavg's
/// last pid moved): otherwise the processes of the last sample are swept again, and one
/// that exited is still dropped, since its files are gone.
#[test]
fn proc_is_listed_only_when_a_pid_was_allocated() {
    use usetop::collectors::tasks::{TaskCollector, parse_last_pid};
    assert_eq!(parse_last_pid(b"0.00 0.01 0.05 1/123 4567\n"), Some(4567));
    assert_eq!(parse_last_pid(b"0.00 0.01 0.05 4567\n"), None);
    assert_eq!(parse_last_pid(b""), None);
    let l = Live::new();
    let loadavg = |last: u32| {
        std::fs::write(
            l.proc().join("loadavg"),
            format!("0.10 0.20 0.30 2/90 {last}\n"),
        )
        .unwrap()
    };
    loadavg(600);
    let root = ProcRoot::new(l.proc(), l.base.join("sys"));
    let mut c = TaskCollector::new(&root);
    c.trust_last_pid(true);
    let pids = |c: &mut TaskCollector| -> Vec<u32> {
        let s = c.sample(TaskRequest::default(), &mut Vec::new());
        s.procs.iter().map(|t| t.stat.pid).collect()
    };
    let all = [1, 2, 57, 100, 200, 300, 400, 500, 600];
    assert_eq!(pids(&mut c), all);
    assert!(c.listed());
    // A directory appearing while the last pid stays put cannot be a new process: it is not
    // looked for (here it is a fake, to prove /proc was not listed).
    common::copy_tree(&l.proc().join("600"), &l.proc().join("601"));
    let stat = std::fs::read_to_string(l.proc().join("601/stat")).unwrap();
    let stat = stat.replacen("600 ", "601 ", 1);
    std::fs::write(l.proc().join("601/stat"), stat).unwrap();
    assert_eq!(pids(&mut c), all);
    assert!(!c.listed());
    // An exit allocates no pid, and is still seen. (On procfs a kept descriptor of an
    // exited task reads ESRCH; here the file is emptied before it goes, to the same end.)
    std::fs::write(l.proc().join("500/stat"), b"").unwrap();
    std::fs::remove_dir_all(l.proc().join("500")).unwrap();
    assert_eq!(pids(&mut c), [1, 2, 57, 100, 200, 300, 400, 600]);
    assert!(!c.listed());
    // A pid allocated: /proc is listed and the new process is there.
    loadavg(601);
    assert_eq!(pids(&mut c), [1, 2, 57, 100, 200, 300, 400, 600, 601]);
    assert!(c.listed());
    // An unreadable loadavg lists every time.
    std::fs::remove_file(l.proc().join("loadavg")).unwrap();
    pids(&mut c);
    pids(&mut c);
    assert!(c.listed());
}

/// Live: a child started between two samples is in the second (its pid moved loadavg's last
/// pid), and once it has exited and been reaped it is gone from the next.
#[test]
fn live_new_and_exited_processes_are_seen_without_relisting_in_between() {
    use usetop::collectors::tasks::TaskCollector;
    let mut c = TaskCollector::new(&ProcRoot::default());
    let has = |c: &mut TaskCollector, pid: u32| {
        let s = c.sample(TaskRequest::default(), &mut Vec::new());
        s.procs.iter().any(|t| t.stat.pid == pid)
    };
    has(&mut c, 0);
    let mut child = std::process::Command::new("sleep")
        .arg("30")
        .spawn()
        .unwrap();
    let pid = child.id();
    assert!(has(&mut c, pid), "new child {pid} not seen");
    child.kill().unwrap();
    child.wait().unwrap();
    assert!(!has(&mut c, pid), "reaped child {pid} still listed");
}

/// A first sample of many processes is swept by several threads: every process is there,
/// once, in pid order, with the figures a one-thread sweep reads, and the descriptors the
/// workers kept serve the next sample.
#[test]
fn a_big_first_sample_swept_in_parallel_matches_a_serial_one() {
    use usetop::collectors::tasks::TaskCollector;
    let l = Live::new();
    let src = l.proc().join("100");
    let stat = std::fs::read_to_string(src.join("stat")).unwrap();
    let mut want: Vec<u32> = [1, 2, 57, 100, 200, 300, 400, 500, 600].to_vec();
    for pid in 1000..2200u32 {
        let dst = l.proc().join(pid.to_string());
        common::copy_tree(&src, &dst);
        std::fs::write(
            dst.join("stat"),
            stat.replacen("100 ", &format!("{pid} "), 1),
        )
        .unwrap();
        want.push(pid);
    }
    want.sort_unstable();
    let root = ProcRoot::new(l.proc(), l.base.join("sys"));
    let mut c = TaskCollector::new(&root);
    let first = c.sample(TaskRequest::default(), &mut Vec::new());
    let pids: Vec<u32> = first.procs.iter().map(|t| t.stat.pid).collect();
    assert_eq!(pids, want);
    let cpus = std::thread::available_parallelism().map_or(1, |n| n.get());
    assert_eq!(
        c.gate().sweep_threads,
        cpus.clamp(1, 4),
        "1,209 processes: 4 at most"
    );
    // A fresh collector's first sample of the same tree, swept with one thread, and the
    // parallel collector's second sample, through the descriptors its workers kept.
    let mut serial = TaskCollector::new(&root);
    serial.parallel_first(false);
    let one = serial.sample(TaskRequest::default(), &mut Vec::new());
    let second = c.sample(TaskRequest::default(), &mut Vec::new());
    for s in [&one, &second] {
        assert_eq!(s.procs.len(), first.procs.len());
        for (a, b) in first.procs.iter().zip(s.procs.iter()) {
            assert_eq!((&a.stat, &a.io, &a.ident), (&b.stat, &b.io, &b.ident));
        }
    }
    assert_eq!(c.kept_fds(), serial.kept_fds());
    // Each process keeps its stat at least (few in this tree have schedstat or io).
    assert!(c.kept_fds() >= want.len() as u64);
    assert_eq!(serial.gate().sweep_threads, 1);
}
