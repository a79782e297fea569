//! Block tracing on the live kernel (root only; skipped otherwise): `dd oflag=direct`
//! writes counted by the tracepoints agree with /proc/diskstats, and the fixture capture of
//! real format files and raw records (`--ignored`, by hand).

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
    let dev = t
        .devices
        .iter()
        .find(|d| (d.major, d.minor) == (maj, min))
        .expect("the disk's requests");
    let traced = dev.write.count;
    let counted = after - before;
    eprintln!(
        "{name}: traced {traced} writes, diskstats {counted}, dd {n}; lost {}, unmatched {}",
        t.lost, t.unmatched
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
    assert!(t.slowest.iter().any(|s| s.comm == "dd" && s.op == "W"));
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
    let mut t = live::Tracer::open(layouts.clone(), &cpus, false).unwrap();
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
