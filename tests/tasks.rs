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

fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        let dst = to.join(e.file_name());
        if e.file_type().unwrap().is_dir() {
            copy_tree(&e.path(), &dst);
        } else {
            std::fs::copy(e.path(), dst).unwrap();
        }
    }
}

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
        copy_tree(&fixtures().join("basic/t0"), &base);
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
    let req = Request {
        tasks: TaskRequest { threads: true },
        ..Request::default()
    };
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
    let req = Request {
        tasks: TaskRequest { threads: true },
        ..Request::default()
    };
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
    let req = Request {
        tasks: TaskRequest { threads: true },
        ..Request::default()
    };
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
