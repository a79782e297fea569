//! Block tracing on the live kernel (root only; skipped otherwise): `dd oflag=direct`
//! writes counted by the tracepoints agree with /proc/diskstats, and the fixture capture of
//! real format files and raw records (`--ignored`, by hand).

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use usetop::collectors::ProcRoot;
use usetop::collectors::disk::parse_diskstats;
use usetop::collectors::trace::format::{PerfRecord, parse_block_record, parse_perf_record};
use usetop::collectors::trace::{BlockCollector, live, load_layouts};
use usetop::model::blktrace::TraceState;

fn is_root() -> bool {
    // SAFETY: geteuid has no memory effects.
    unsafe { libc::geteuid() == 0 }
}

/// The whole disk a file lives on: (major, minor, name) from sysfs.
fn disk_of(path: &Path) -> (u32, u32, String) {
    use std::os::unix::fs::MetadataExt;
    let dev = std::fs::metadata(path).unwrap().dev();
    let (maj, min) = (libc::major(dev), libc::minor(dev));
    let link = std::fs::canonicalize(format!("/sys/dev/block/{maj}:{min}")).unwrap();
    // A partition's sysfs directory sits inside its disk's.
    let disk = if link.join("partition").exists() {
        link.parent().unwrap().to_path_buf()
    } else {
        link
    };
    let name = disk.file_name().unwrap().to_string_lossy().to_string();
    let mm = std::fs::read_to_string(disk.join("dev")).unwrap();
    let (a, b) = mm.trim().split_once(':').unwrap();
    (a.parse().unwrap(), b.parse().unwrap(), name)
}

fn writes_completed(name: &str) -> u64 {
    let s = parse_diskstats(&std::fs::read("/proc/diskstats").unwrap()).unwrap();
    s.devices.iter().find(|d| d.name == name).unwrap().wr_ios
}

fn scratch() -> PathBuf {
    Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("trace-dd-{}", std::process::id()))
}

struct Remove(PathBuf);
impl Drop for Remove {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

fn dd(file: &Path, count: u32) {
    let st = Command::new("dd")
        .arg("if=/dev/zero")
        .arg(format!("of={}", file.display()))
        .args([
            "bs=4k",
            &format!("count={count}"),
            "oflag=direct",
            "status=none",
        ])
        .status()
        .unwrap();
    assert!(st.success());
}

#[test]
fn dd_direct_writes_match_diskstats() {
    if !is_root() {
        eprintln!("skipped: needs root");
        return;
    }
    let file = scratch();
    let _rm = Remove(file.clone());
    std::fs::write(&file, b"").unwrap();
    let (maj, min, name) = disk_of(&file);
    let cpus: Vec<u32> = (0..std::thread::available_parallelism().unwrap().get() as u32).collect();
    let mut c = BlockCollector::new(&ProcRoot::default());
    let first = c.sample(true, &cpus).unwrap();
    assert_eq!(first.state, TraceState::Starting, "{:?}", first.state);
    let before = writes_completed(&name);
    let n = 20_000;
    dd(&file, n);
    std::thread::sleep(Duration::from_millis(300));
    let after = writes_completed(&name);
    let t = c.sample(true, &cpus).unwrap();
    assert_eq!(t.state, TraceState::On);
    // Records lost in the interval are reported by the next sample at the latest.
    let lost = t.lost + c.sample(true, &cpus).map_or(0, |n| n.lost);
    let dev = t
        .devices
        .iter()
        .find(|d| (d.major, d.minor) == (maj, min))
        .expect("the disk's requests");
    let traced = dev.write.count;
    let counted = after - before;
    eprintln!(
        "{name}: traced {traced} writes, diskstats {counted}, dd {n}; lost {lost} events, unmatched {}",
        t.unmatched
    );
    // What is missing was lost, and counted as lost (each request is two events).
    assert!(
        traced + lost >= counted.min(n as u64),
        "lost without a count"
    );
    assert!(counted >= n as u64);
    let off = (traced as f64 - counted as f64).abs() / counted as f64;
    assert!(
        off <= 0.02,
        "traced {traced} vs diskstats {counted}: {:.2}% apart",
        off * 100.0
    );
    assert_eq!(dev.write.hist.iter().sum::<u64>(), traced);
    assert!(dev.write.p50_ns > 0 && dev.write.p50_ns <= dev.write.p99_ns);
    assert!(dev.write.p99_ns <= dev.write.max_ns);
    // Every slow request names its issuer (dd's own, or other work on the same disk).
    assert!(!t.slowest.is_empty());
    assert!(
        t.slowest
            .iter()
            .all(|s| !s.comm.is_empty() && s.latency_ns > 0)
    );
    // Not asked for: closed, nothing reported.
    assert!(c.sample(false, &cpus).is_none());
}

/// Writes tests/fixtures/trace/: this kernel's format files of the block tracepoints and a
/// few raw records of a small direct write (type u32, length u32, body, repeated).
#[test]
#[ignore = "captures the committed fixtures; run by hand as root"]
fn capture_fixtures() {
    assert!(is_root());
    let out = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/trace");
    std::fs::create_dir_all(&out).unwrap();
    for ev in ["block_rq_issue", "block_rq_complete", "block_rq_error"] {
        let b = std::fs::read(format!("/sys/kernel/tracing/events/block/{ev}/format")).unwrap();
        std::fs::write(out.join(format!("{ev}.format")), b).unwrap();
    }
    let layouts = load_layouts(&ProcRoot::default(), true).unwrap();
    let cpus: Vec<u32> = (0..std::thread::available_parallelism().unwrap().get() as u32).collect();
    let mut t = live::Tracer::open(live::BlockSink::new(layouts.clone()), &cpus, false).unwrap();
    let file = scratch();
    let _rm = Remove(file.clone());
    dd(&file, 4);
    std::thread::sleep(Duration::from_millis(100));
    // dd's requests, each issue with its completion, in time order.
    // (time, type, body, (dev, sector), an issue, dd's)
    type Captured = (u64, u32, Vec<u8>, (u64, u64), bool, bool);
    let mut recs: Vec<Captured> = Vec::new();
    for (ty, body) in t.raw_records() {
        if let Ok(PerfRecord::Sample { time_ns, raw, .. }) = parse_perf_record(ty, &body) {
            let issue = layouts.issue.record_id(raw) == Some(layouts.issue.id);
            let l = if issue {
                &layouts.issue
            } else {
                &layouts.complete
            };
            let Ok(r) = parse_block_record(l, raw) else {
                continue;
            };
            let dd = r.comm_bytes() == b"dd";
            recs.push((time_ns, ty, body.clone(), (r.dev, r.sector), issue, dd));
        }
    }
    recs.sort_by_key(|r| r.0);
    let keys: Vec<(u64, u64)> = recs.iter().filter(|r| r.4 && r.5).map(|r| r.3).collect();
    let mut bytes = Vec::new();
    let mut n = 0;
    for (_, ty, body, _, _, _) in recs.iter().filter(|r| keys.contains(&r.3)) {
        bytes.extend_from_slice(&ty.to_le_bytes());
        bytes.extend_from_slice(&(body.len() as u32).to_le_bytes());
        bytes.extend_from_slice(body);
        n += 1;
    }
    std::fs::write(out.join("records.bin"), bytes).unwrap();
    eprintln!("{n} records");
}

fn cpu_ns_self() -> u64 {
    let mut ru: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: getrusage writes only into the struct we pass.
    unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut ru) };
    let t = |tv: libc::timeval| tv.tv_sec as u64 * 1_000_000_000 + tv.tv_usec as u64 * 1_000;
    t(ru.ru_utime) + t(ru.ru_stime)
}

/// The sampler's CPU with block tracing off and on while `TRACE_COST_WRITERS` (2)
/// `dd bs=4k oflag=direct` writers keep the disk busy: prints both as % of one CPU and
/// the IOPS diskstats saw. A measurement, not a check: run by hand (`--release` for
/// figures worth quoting).
#[test]
#[ignore = "a measurement; run by hand as root"]
fn tracing_cost() {
    use usetop::collectors::{Collectors, Request, SystemClock};
    assert!(is_root());
    let secs: u64 = std::env::var("TRACE_COST_SECS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(10);
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR"));
    let n_writers: usize = std::env::var("TRACE_COST_WRITERS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(2);
    let files: Vec<PathBuf> = (0..n_writers)
        .map(|i| dir.join(format!("trace-cost-{}-{i}", std::process::id())))
        .collect();
    let _rm: Vec<Remove> = files.iter().cloned().map(Remove).collect();
    std::fs::write(&files[0], b"").unwrap();
    let (_, _, name) = disk_of(&files[0]);
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let writers: Vec<_> = files
        .iter()
        .cloned()
        .map(|f| {
            let stop = std::sync::Arc::clone(&stop);
            // Rewrites the same 100 MB over and over until told to stop.
            std::thread::spawn(move || {
                while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                    let st = Command::new("dd")
                        .arg("if=/dev/zero")
                        .arg(format!("of={}", f.display()))
                        .args(["bs=4k", "count=25000", "oflag=direct", "conv=notrunc"])
                        .arg("status=none")
                        .status()
                        .unwrap();
                    assert!(st.success());
                }
            })
        })
        .collect();
    std::thread::sleep(Duration::from_secs(2));
    let mut c = Collectors::new(ProcRoot::default());
    let clock = SystemClock;
    for on in [false, true, false, true] {
        let req = Request {
            block_trace: on,
            ..Request::default()
        };
        c.sample(&clock, req);
        let (cpu0, ios0, t0) = (
            cpu_ns_self(),
            writes_completed(&name),
            std::time::Instant::now(),
        );
        let mut traced = 0;
        let mut lost = 0;
        for _ in 0..secs {
            std::thread::sleep(Duration::from_secs(1));
            let s = c.sample(&clock, req);
            if let Some(t) = s.block_trace {
                traced += t
                    .devices
                    .iter()
                    .map(|d| d.write.count + d.read.count)
                    .sum::<u64>();
                lost += t.lost;
            }
        }
        let wall = t0.elapsed().as_secs_f64();
        let cpu = (cpu_ns_self() - cpu0) as f64 / 1e9;
        let iops = (writes_completed(&name) - ios0) as f64 / wall;
        eprintln!(
            "tracing {}: {:.2}% of one CPU over {wall:.1} s; {name} {iops:.0} write IOPS; traced {traced}, lost {lost}",
            if on { "on " } else { "off" },
            cpu / wall * 100.0
        );
    }
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    for w in writers {
        w.join().unwrap();
    }
}

/// As an unprivileged user (setpriv to nobody), every pane still draws, the disk pane says
/// why it cannot trace block I/O and the sock and net panes why they cannot trace TCP.
#[test]
fn unprivileged_panes_draw_and_disk_says_why() {
    for pane in [
        "use", "proc", "cpu", "mem", "disk", "net", "sock", "slab", "perf",
    ] {
        let Some(text) = common::headless_as_nobody(pane, "120x30") else {
            return;
        };
        assert!(text.contains("1:use"), "{pane}: {text}");
        if pane == "disk" {
            let why = text
                .lines()
                .find(|l| l.starts_with("I/O latency: n/a ("))
                .unwrap_or_else(|| panic!("no reason in\n{text}"));
            assert!(why.contains("root") || why.contains("CAP_PERFMON"), "{why}");
        }
        if pane == "sock" || pane == "net" {
            let why = text
                .lines()
                .find_map(|l| l.split_once("TCP events: n/a (").map(|(_, w)| w))
                .unwrap_or_else(|| panic!("{pane}: no reason in\n{text}"));
            assert!(
                why.contains("root") || why.contains("CAP_PERFMON"),
                "{pane}: {why}"
            );
        }
    }
}

/// A CPU brought online while tracing (here: a second CPU in the list handed to the
/// collector) gets its ring buffers from the next sample: the tracer opens again on the
/// new set, and the interval of the old set is still reported.
#[test]
fn a_cpu_coming_online_is_traced_from_the_next_sample() {
    if !is_root() {
        eprintln!("skipped: tracing needs root");
        return;
    }
    let all: Vec<u32> =
        (0..std::thread::available_parallelism().map_or(1, |n| n.get()) as u32).collect();
    if all.len() < 2 {
        eprintln!("skipped: one CPU here");
        return;
    }
    let mut c = BlockCollector::new(&ProcRoot::default());
    let first = c.sample(true, &all[..1]).unwrap();
    assert_eq!(first.state, TraceState::Starting, "{first:?}");
    assert_eq!(c.traced_cpus(), &all[..1]);
    let old_set = c.sample(true, &all).unwrap();
    assert_eq!(old_set.state, TraceState::On, "{old_set:?}");
    assert_eq!(c.traced_cpus(), &all[..]);
    assert_eq!(c.sample(true, &all).unwrap().state, TraceState::On);
    assert!(c.sample(false, &all).is_none());
    assert!(c.traced_cpus().is_empty());
}
