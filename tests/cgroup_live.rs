//! The cgroup collector on this machine's real v1 (or hybrid) hierarchies, as root: a
//! cgroup of our own with a quota of 0.1 CPU and a CPU burner in it is seen throttled in
//! nearly every period (about 900 ms of every second) at about 10 % of a CPU, and one with
//! a 16 MiB memory limit and a process that exceeds it has its OOM kill counted. The
//! throttled cgroup is also a red row of the overview (judged from the files read every
//! refresh, without the detail set) and a row of the cgroup pane drawn headless. Every
//! cgroup made here is removed again, also when an assertion fails (a Drop guard kills the
//! processes first). Skipped, saying why, without root or without the v1 controllers.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

mod common;

use std::sync::Arc;

use usetop::collectors::cgroup::CgroupCollector;
use usetop::collectors::{CgroupRequest, Collectors, ProcRoot, Request};
use usetop::headless::{HeadlessOptions, render_headless};
use usetop::model::Snapshot;
use usetop::model::cgroup::{CgroupSample, CgroupTable};
use usetop::model::level::Level;
use usetop::model::thresholds::Thresholds;
use usetop::panes::PaneId;

const BASE: &str = "/sys/fs/cgroup";

/// The cgroups and processes of one test, undone on drop: processes killed and reaped,
/// then the directories removed (children before parents).
struct Scratch {
    dirs: Vec<PathBuf>,
    children: Vec<Child>,
}

impl Scratch {
    fn new() -> Scratch {
        Scratch {
            dirs: Vec::new(),
            children: Vec::new(),
        }
    }

    fn mkdir(&mut self, dir: PathBuf) {
        std::fs::create_dir(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
        self.dirs.push(dir);
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        for c in &mut self.children {
            let _ = c.kill();
            let _ = c.wait();
        }
        for d in self.dirs.iter().rev() {
            // A process may take a moment to leave after its death is reaped.
            for _ in 0..50 {
                if std::fs::remove_dir(d).is_ok() || !d.exists() {
                    break;
                }
                std::thread::sleep(Duration::from_millis(20));
            }
            if d.exists() {
                eprintln!("warning: could not remove {}", d.display());
            }
        }
    }
}

/// Why the live tests cannot run here, if they cannot.
fn skip_reason(controllers: &[&str]) -> Option<String> {
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        return Some("not root".into());
    }
    if Path::new(BASE).join("cgroup.controllers").exists() {
        return Some("cgroup v2 only here (these tests use the v1 controllers)".into());
    }
    for c in controllers {
        if !Path::new(BASE).join(c).join("tasks").exists() {
            return Some(format!("no v1 {c} controller at {BASE}/{c}"));
        }
    }
    None
}

fn write(path: &Path, text: &str) {
    std::fs::write(path, text).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
}

/// Distinct hierarchies among `controllers` (cpu and cpuacct are often one mount).
fn hierarchies(controllers: &[&str]) -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> = Vec::new();
    for c in controllers {
        let p = Path::new(BASE).join(c);
        let real = std::fs::canonicalize(&p).unwrap_or(p);
        if !out.contains(&real) {
            out.push(real);
        }
    }
    out
}

fn ncpu() -> usize {
    // SAFETY: sysconf has no memory effects.
    let n = unsafe { libc::sysconf(libc::_SC_NPROCESSORS_ONLN) };
    usize::try_from(n).unwrap_or(1).max(1)
}

/// Two samples `secs` apart through one collector, derived over the measured interval.
fn sample_over(secs: f64, between: impl FnOnce()) -> CgroupTable {
    let mut col = CgroupCollector::new(&ProcRoot::default());
    let req = CgroupRequest { detail: true };
    let t0 = Instant::now();
    let a: CgroupSample = col.sample(req);
    between();
    let left = Duration::from_secs_f64(secs).saturating_sub(t0.elapsed());
    std::thread::sleep(left);
    let dt = t0.elapsed().as_secs_f64();
    let b = col.sample(req);
    CgroupTable::derive(Some(&a), Some(&b), dt, ncpu())
}

#[test]
fn cpu_quota_of_a_tenth_is_throttled() {
    if let Some(why) = skip_reason(&["cpu", "cpuacct"]) {
        println!("skipped: {why}");
        return;
    }
    let name = format!("usetop-live-cpu-{}", std::process::id());
    let mut s = Scratch::new();
    let hiers = hierarchies(&["cpu", "cpuacct"]);
    for h in &hiers {
        s.mkdir(h.join(&name));
    }
    let cpu = Path::new(BASE).join("cpu").join(&name);
    write(&cpu.join("cpu.cfs_period_us"), "100000");
    write(&cpu.join("cpu.cfs_quota_us"), "10000");
    let burner = Command::new("/bin/sh")
        .args(["-c", "while :; do :; done"])
        .stdin(Stdio::null())
        .spawn()
        .expect("spawn a CPU burner");
    let pid = burner.id().to_string();
    s.children.push(burner);
    for h in &hiers {
        write(&h.join(&name).join("cgroup.procs"), &pid);
    }
    // Let the first periods under the quota pass before measuring.
    std::thread::sleep(Duration::from_millis(300));
    let t = sample_over(1.0, || {});
    let path = format!("/{name}");
    let r = t
        .get(&path)
        .unwrap_or_else(|| panic!("{path} not among {} cgroups", t.rows.len()));
    println!(
        "live: {path}: cpu {:?}% of a CPU ({:?}% of the 0.1 CPU quota), throttled {:?}% of periods, {:?} ms/s",
        r.cpu_pct, r.cpu_quota_pct, r.throttled_pct, r.throttled_ms_s
    );
    assert_eq!(r.quota_cpus, Some(0.1));
    assert!(!r.fresh);
    // The burner wants a whole CPU and may have 10 ms of every 100: throttled in nearly
    // every period, for about 90 ms of it. A loaded machine can keep it from even its
    // 10 ms now and then, so the bounds are wide.
    let thr = r.throttled_pct.expect("throttled %");
    assert!(thr > 50.0, "throttled {thr}% of periods");
    let ms = r.throttled_ms_s.expect("throttled ms/s");
    assert!((400.0..=1000.0).contains(&ms), "throttled {ms} ms/s");
    let cpu = r.cpu_pct.expect("cpu %");
    assert!((2.0..=14.0).contains(&cpu), "cpu {cpu}% of a CPU");

    // The overview: two samples of the whole sampler with the overview's request (no
    // detail files), one second apart; the cgroup is a red row, its reason naming the quota.
    let mut col = Collectors::new(ProcRoot::default());
    let clock = usetop::collectors::SystemClock;
    let a = Arc::new(col.sample(&clock, Request::default()));
    std::thread::sleep(Duration::from_secs(1));
    let b = Arc::new(col.sample(&clock, Request::default()));
    assert!(!b.cgroups.as_ref().expect("cgroups sampled").detail);
    let snap = Snapshot::derive(1, Some(a), b);
    let v = snap.verdicts(&Thresholds::default());
    let labels: Vec<String> = v.iter().map(|v| v.resource.to_string()).collect();
    let row = v
        .iter()
        .find(|v| v.resource.name() == Some(path.as_str()))
        .unwrap_or_else(|| panic!("{path} not an overview row: {labels:?}"));
    let why = row
        .s
        .reason
        .as_ref()
        .map(ToString::to_string)
        .unwrap_or_default();
    println!(
        "live: overview {}: S {} ({why})",
        row.resource, row.s.figure
    );
    assert_eq!(row.s.level, Level::Crit, "{why}");
    assert!(why.contains("quota 0.1 CPU"), "{why}");
    assert_eq!(row.pane, "cgroup");

    // The pane, drawn headless on this machine: our cgroup's THR% column.
    let out = render_headless(HeadlessOptions {
        app: common::options(PaneId::Cgroup),
        cols: 200,
        rows: 60,
        frames: 2,
        keys: String::new(),
        roots: vec![ProcRoot::default()],
        virtual_clock: false,
    })
    .expect("headless run");
    let last = out.rsplit("\x0c\n").next().unwrap_or_default();
    let header: Vec<&str> = last
        .lines()
        .find(|l| l.starts_with("PROCS"))
        .unwrap_or_else(|| panic!("{last}"))
        .split_whitespace()
        .collect();
    let at = header
        .iter()
        .position(|h| h.starts_with("THR%"))
        .unwrap_or_else(|| panic!("{last}"));
    let line = last
        .lines()
        .find(|l| l.ends_with(&name))
        .unwrap_or_else(|| panic!("{name} not in the pane:\n{last}"));
    println!("live: pane: {line}");
    let thr: f64 = line
        .split_whitespace()
        .nth(at)
        .and_then(|x| x.parse().ok())
        .unwrap_or(0.0);
    assert!(thr > 50.0, "THR% {thr} in {line}");
}

#[test]
fn memory_limit_exceeded_counts_an_oom_kill() {
    if let Some(why) = skip_reason(&["memory"]) {
        println!("skipped: {why}");
        return;
    }
    let name = format!("usetop-live-mem-{}", std::process::id());
    let mut s = Scratch::new();
    let dir = Path::new(BASE).join("memory").join(&name);
    s.mkdir(dir.clone());
    write(
        &dir.join("memory.limit_in_bytes"),
        &(16u64 << 20).to_string(),
    );
    // tail keeps the last "line" whole, and /dev/zero has no newline: it grows until the
    // cgroup's limit kills it. The shell waits for a line first, so it is inside the
    // cgroup (and so are the children it forks) before anything is allocated.
    let mut hog = Command::new("/bin/sh")
        .args([
            "-c",
            "read go; head -c 268435456 /dev/zero | tail > /dev/null",
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn a memory hog");
    write(&dir.join("cgroup.procs"), &hog.id().to_string());
    let mut go = hog.stdin.take().expect("stdin");
    s.children.push(hog);
    let t = sample_over(1.0, || {
        let _ = go.write_all(b"go\n");
        drop(go);
        // Wait for the kill (the shell ends when tail is killed), at most 20 s.
        let started = Instant::now();
        while started.elapsed() < Duration::from_secs(20) {
            if let Ok(Some(_)) = s.children[0].try_wait() {
                break;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    });
    let path = format!("/{name}");
    let r = t.get(&path).expect("our memory cgroup");
    println!(
        "live: {path}: oom_kill +{:?}, failcnt +{:?}, usage {:?} of {:?}",
        r.events.oom_kill, r.events.max, r.rec.mem.current, r.rec.mem.max
    );
    assert_eq!(
        r.rec.mem.max,
        Some(usetop::model::cgroup::Limit::At(16 << 20))
    );
    assert!(r.events.oom_kill >= Some(1), "{:?}", r.events);
    assert!(r.events.max >= Some(1), "{:?}", r.events);
}
