//! The task sweep when descriptors run out: a test binary of its own, because it lowers
//! this process's open-files limit for good.

mod common;

use usetop::collectors::ProcRoot;
use usetop::collectors::tasks::{TaskCollector, TaskRequest};

#[test]
fn running_out_of_descriptors_falls_back_to_open_read_close() {
    // A hard limit of 1,024 lets the sweep keep some 380 descriptors. Something else then
    // takes every descriptor but one, and a new process appears: its files are opened
    // anyway (kept ones are closed to make room), and it is listed with its figures.
    let lim = libc::rlimit {
        rlim_cur: 1024,
        rlim_max: 1024,
    };
    // SAFETY: setrlimit only reads the struct we pass.
    assert_eq!(unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &lim) }, 0);
    let dir = tempfile::tempdir().unwrap();
    let base = dir.path().join("t");
    common::copy_tree(&common::fixtures().join("basic/t0"), &base);
    let proc = base.join("proc");
    for e in std::fs::read_dir(&proc).unwrap() {
        let e = e.unwrap();
        if e.file_name().to_string_lossy().parse::<u32>().is_ok() {
            std::fs::write(e.path().join("schedstat"), b"5000000 100000 40\n").unwrap();
        }
    }
    let root = ProcRoot::new(proc.clone(), base.join("sys"));
    let mut c = TaskCollector::new(&root);
    let mut notes = Vec::new();
    let first = c.sample(TaskRequest::default(), &mut notes);
    let before = first.procs.len();
    // A new process, a copy of pid 200 as pid 800.
    common::copy_tree(&proc.join("200"), &proc.join("800"));
    let stat = std::fs::read_to_string(proc.join("800/stat")).unwrap();
    std::fs::write(proc.join("800/stat"), stat.replacen("200 ", "800 ", 1)).unwrap();
    let mut hog = Vec::new();
    while let Ok(f) = std::fs::File::open("/dev/null") {
        hog.push(f);
    }
    hog.truncate(hog.len() - 1);
    let s = c.sample(TaskRequest::default(), &mut notes);
    drop(hog);
    assert_eq!(s.procs.len(), before + 1, "{notes:?}");
    let p = s.procs.find_pid(800).expect("the new process is listed");
    assert_eq!(p.stat.utime, first.procs.find_pid(200).unwrap().stat.utime);
    assert_eq!(p.runq_ns, Some(100_000));
}
