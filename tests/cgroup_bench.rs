//! What a refresh of the cgroup sweep costs at 500 cgroups (the target: 5 ms per
//! refresh on this machine), on a generated v2 tree and, as root on a v1/hybrid host, on
//! 500 real cgroups created for the run. Ignored (they time, and the live one needs root):
//!
//!   cargo test --release --test cgroup_bench -- --ignored --nocapture
//!
//! CPU time of the sampling thread is the figure (the machine is shared; wall time is
//! printed beside it).

use std::path::{Path, PathBuf};
use std::time::Instant;

use usetop::collectors::cgroup::CgroupCollector;
use usetop::collectors::{CgroupRequest, ProcRoot};

const N: usize = 500;
const RUNS: u32 = 40;

/// (user, system) CPU time of this thread, in nanoseconds.
fn thread_times_ns() -> (u64, u64) {
    // SAFETY: getrusage writes only into the struct we pass.
    let mut ru: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: as above; RUSAGE_THREAD is this thread.
    unsafe { libc::getrusage(libc::RUSAGE_THREAD, &mut ru) };
    let ns = |t: libc::timeval| t.tv_sec as u64 * 1_000_000_000 + t.tv_usec as u64 * 1000;
    (ns(ru.ru_utime), ns(ru.ru_stime))
}

fn thread_cpu_ns() -> u64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: clock_gettime writes only into the timespec we pass.
    unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
    ts.tv_sec as u64 * 1_000_000_000 + ts.tv_nsec as u64
}

/// Mean (thread CPU ms, wall ms) of a steady-state refresh, after a cold one (returned too).
fn time(col: &mut CgroupCollector, detail: bool, expect: usize) -> ((f64, f64), (f64, f64)) {
    let req = CgroupRequest { detail };
    let (c0, w0) = (thread_cpu_ns(), Instant::now());
    let s = col.sample(req);
    let cold = (
        (thread_cpu_ns() - c0) as f64 / 1e6,
        w0.elapsed().as_secs_f64() * 1e3,
    );
    assert!(s.groups.len() >= expect, "{} groups", s.groups.len());
    for _ in 0..3 {
        col.sample(req);
    }
    let (c0, w0) = (thread_cpu_ns(), Instant::now());
    let (u0, s0) = thread_times_ns();
    for _ in 0..RUNS {
        let s = col.sample(req);
        assert!(s.groups.len() >= expect);
    }
    let steady = (
        (thread_cpu_ns() - c0) as f64 / 1e6 / f64::from(RUNS),
        w0.elapsed().as_secs_f64() * 1e3 / f64::from(RUNS),
    );
    let (u1, s1) = thread_times_ns();
    println!(
        "  (user {:.2} ms, system {:.2} ms per refresh)",
        (u1 - u0) as f64 / 1e6 / f64::from(RUNS),
        (s1 - s0) as f64 / 1e6 / f64::from(RUNS)
    );
    (cold, steady)
}

fn report(what: &str, col: &mut CgroupCollector, expect: usize) {
    for detail in [false, true] {
        let (cold, steady) = time(col, detail, expect);
        println!(
            "{what} {}: {:.2} ms CPU per refresh ({:.1} us per cgroup), wall {:.2} ms; first refresh {:.2} ms CPU; {} fds kept",
            if detail {
                "overview+detail"
            } else {
                "overview"
            },
            steady.0,
            steady.0 * 1e3 / expect as f64,
            steady.1,
            cold.0,
            col.fds_kept(),
        );
    }
}

fn write(p: &Path, s: &str) {
    std::fs::write(p, s).unwrap();
}

/// A v2 tree of `N` cgroups (the root, 19 slices of 25 services, 5 more in one slice),
/// every overview and detail file present.
fn generate(base: &Path) -> usize {
    let files = [
        ("cgroup.procs", "1\n2\n"),
        (
            "cpu.stat",
            "usage_usec 1\nuser_usec 1\nsystem_usec 0\nnr_periods 0\nnr_throttled 0\nthrottled_usec 0\nnr_bursts 0\nburst_usec 0\n",
        ),
        ("cpu.max", "max 100000\n"),
        ("cpu.weight", "100\n"),
        ("memory.current", "1048576\n"),
        ("memory.max", "max\n"),
        ("memory.high", "max\n"),
        ("memory.low", "0\n"),
        ("memory.swap.current", "0\n"),
        (
            "memory.events",
            "low 0\nhigh 0\nmax 0\noom 0\noom_kill 0\noom_group_kill 0\n",
        ),
        (
            "memory.stat",
            "anon 1\nfile 2\nkernel 3\nsock 0\nshmem 0\npgmajfault 0\nworkingset_refault_anon 0\nworkingset_refault_file 0\n",
        ),
        (
            "io.stat",
            "8:0 rbytes=1 wbytes=2 rios=3 wios=4 dbytes=0 dios=0\n",
        ),
        ("io.max", ""),
        ("pids.current", "2\n"),
        ("pids.max", "max\n"),
        ("pids.events", "max 0\n"),
        (
            "cpu.pressure",
            "some avg10=0.00 avg60=0.00 avg300=0.00 total=1\nfull avg10=0.00 avg60=0.00 avg300=0.00 total=0\n",
        ),
        (
            "memory.pressure",
            "some avg10=0.00 avg60=0.00 avg300=0.00 total=1\nfull avg10=0.00 avg60=0.00 avg300=0.00 total=0\n",
        ),
        (
            "io.pressure",
            "some avg10=0.00 avg60=0.00 avg300=0.00 total=1\nfull avg10=0.00 avg60=0.00 avg300=0.00 total=0\n",
        ),
    ];
    let mut dirs = vec![base.to_path_buf()];
    for s in 0..19 {
        let slice = base.join(format!("s{s}.slice"));
        dirs.push(slice.clone());
        for u in 0..25 {
            dirs.push(slice.join(format!("u{u}.service")));
        }
    }
    for u in 0..(N - dirs.len()) {
        dirs.push(base.join("s0.slice").join(format!("x{u}.scope")));
    }
    for d in &dirs {
        std::fs::create_dir_all(d).unwrap();
        for (name, text) in files {
            write(&d.join(name), text);
        }
    }
    write(
        &base.join("cgroup.controllers"),
        "cpuset cpu io memory pids\n",
    );
    dirs.len()
}

#[test]
#[ignore = "timing; run by hand with --release --nocapture"]
fn cost_at_500_cgroups_on_a_generated_tree() {
    // On tmpfs where there is one (closer to cgroupfs: no disk blocks, no journal).
    let shm = Path::new("/dev/shm");
    let dir = if shm.is_dir() {
        tempfile::tempdir_in(shm).unwrap()
    } else {
        tempfile::tempdir().unwrap()
    };
    let sys = dir.path().join("sys");
    let n = generate(&sys.join("fs/cgroup"));
    assert_eq!(n, N);
    let root = ProcRoot::new(dir.path().join("proc"), &sys);
    report(
        "generated v2 tree, 500 cgroups",
        &mut CgroupCollector::new(&root),
        N,
    );
    // What the overview and the pane add on top of sampling: the figures of 500 cgroups
    // derived from two samples (once per snapshot for the overview's verdicts, once per
    // refresh for the pane).
    let mut col = CgroupCollector::new(&root);
    let a = col.sample(CgroupRequest { detail: false });
    let b = col.sample(CgroupRequest { detail: false });
    let c0 = thread_cpu_ns();
    for _ in 0..RUNS {
        let t = usetop::model::cgroup::CgroupTable::derive(Some(&a), Some(&b), 1.0, 4);
        assert_eq!(t.rows.len(), N);
    }
    println!(
        "derived figures of 500 cgroups: {:.2} ms CPU",
        (thread_cpu_ns() - c0) as f64 / 1e6 / f64::from(RUNS)
    );
    // With room to keep every descriptor (the default budget is an eighth of the open-files
    // limit: 2,436 here, short of the 3,000 the overview of 500 cgroups keeps).
    let mut col = CgroupCollector::new(&root);
    col.set_fd_budget(20_000);
    report("same, every descriptor kept", &mut col, N);
    // The floor: the same overview files pread through kept descriptors and nothing else
    // (no walk, no parsing).
    let names = [
        "cpu.stat",
        "memory.events",
        "cpu.pressure",
        "memory.pressure",
        "io.pressure",
    ];
    let files: Vec<std::fs::File> = walk_dirs(&sys.join("fs/cgroup"))
        .iter()
        .flat_map(|d| {
            names
                .iter()
                .map(move |n| std::fs::File::open(d.join(n)).unwrap())
        })
        .collect();
    let mut buf = vec![0u8; 4096];
    let c0 = thread_cpu_ns();
    for _ in 0..RUNS {
        for f in &files {
            use std::os::unix::fs::FileExt;
            f.read_at(&mut buf, 0).unwrap();
        }
    }
    println!(
        "floor: {} preads alone: {:.2} ms CPU per refresh",
        files.len(),
        (thread_cpu_ns() - c0) as f64 / 1e6 / f64::from(RUNS)
    );
    drop(files);
    // With no descriptor budget every file is opened and closed each time.
    let mut col = CgroupCollector::new(&root);
    col.set_fd_budget(0);
    report("same, no descriptors kept", &mut col, N);
}

fn walk_dirs(d: &Path) -> Vec<PathBuf> {
    let mut out = vec![d.to_path_buf()];
    for e in std::fs::read_dir(d).unwrap() {
        let e = e.unwrap();
        if e.file_type().unwrap().is_dir() {
            out.extend(walk_dirs(&e.path()));
        }
    }
    out
}

/// Cgroups created for the run, removed on drop (also when an assertion fails).
struct Created(Vec<PathBuf>);

impl Drop for Created {
    fn drop(&mut self) {
        // Children before parents.
        for d in self.0.iter().rev() {
            let _ = std::fs::remove_dir(d);
        }
    }
}

#[test]
#[ignore = "timing; needs root and a v1 or hybrid cgroup layout"]
fn cost_at_500_real_cgroups() {
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        println!("skipped: not root");
        return;
    }
    let base = Path::new("/sys/fs/cgroup");
    let hiers: Vec<PathBuf> = ["cpu", "cpuacct", "memory", "blkio", "pids", "unified"]
        .iter()
        .map(|h| base.join(h))
        .filter(|p| p.is_dir())
        .collect();
    if hiers.len() < 2 || base.join("cgroup.controllers").exists() {
        println!("skipped: not a v1/hybrid layout");
        return;
    }
    let pid = std::process::id();
    let mut created = Created(Vec::new());
    for h in &hiers {
        let top = h.join(format!("usetop-bench-{pid}"));
        std::fs::create_dir(&top).unwrap();
        created.0.push(top.clone());
        for i in 0..N - 1 {
            let d = top.join(format!("g{i}"));
            std::fs::create_dir(&d).unwrap();
            created.0.push(d);
        }
    }
    let mut col = CgroupCollector::new(&ProcRoot::default());
    report(
        &format!("live hybrid, 500 cgroups in {} hierarchies", hiers.len()),
        &mut col,
        N,
    );
}

/// This machine's own cgroups as they are: what the sweep adds to every refresh when the
/// cgroup pane is not shown.
#[test]
#[ignore = "timing; run by hand with --release --nocapture"]
fn cost_on_this_machine_as_it_is() {
    let mut col = CgroupCollector::new(&ProcRoot::default());
    let n = col.sample(CgroupRequest::default()).groups.len();
    report(&format!("this machine ({n} cgroups)"), &mut col, n);
}
