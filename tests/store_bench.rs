//! Benchmarks, ignored by default; run with
//! `cargo test --release --test store_bench -- --ignored --nocapture --test-threads 1`.
//! They print: bytes on disk per sample with 2,000 processes, the CPU cost of recording one
//! such sample, and /metrics latency under 100 concurrent scrapes.

mod common;

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use usetop::app::source::{RootsSource, SampleSource};
use usetop::model::{IoCounters, Sample, StatFields, TaskIdent, TaskRecord};
use usetop::store::reader::Reader;
use usetop::store::{FORMAT_VERSION, Header, Recorder};

/// A fixture sample grown to `n` processes with plausible, varied fields.
fn synthetic(n: u32) -> Sample {
    let mut src = RootsSource::new(common::fixture_roots("basic"), Duration::from_secs(1), true);
    let mut s = src.next_sample(0, Default::default()).unwrap();
    let names = [
        "nginx",
        "postgres",
        "java",
        "python3",
        "bash",
        "sshd",
        "kworker/0:1",
        "node",
    ];
    s.tasks.procs = (0..n)
        .map(|i| {
            let comm = names[i as usize % names.len()].to_string();
            Arc::new(TaskRecord {
                tgid: 1000 + i,
                stat: StatFields {
                    pid: 1000 + i,
                    state: b'S',
                    ppid: 1 + i / 50,
                    flags: 0x40_0100,
                    minflt: u64::from(i) * 7919,
                    majflt: u64::from(i % 13),
                    utime: u64::from(i) * 131,
                    stime: u64::from(i) * 37,
                    priority: 20,
                    nice: 0,
                    num_threads: 1 + i % 8,
                    start_time: 10_000 + u64::from(i) * 3,
                    vsize: 100_000_000 + u64::from(i) * 4096,
                    rss_pages: 2_000 + u64::from(i) * 3,
                    processor: i % 4,
                    blkio_ticks: u64::from(i % 100),
                },
                io: Some(IoCounters {
                    rchar: u64::from(i) * 100_003,
                    wchar: u64::from(i) * 50_021,
                    syscr: u64::from(i) * 101,
                    syscw: u64::from(i) * 53,
                    read_bytes: u64::from(i) * 4096,
                    write_bytes: u64::from(i) * 8192,
                    cancelled_write_bytes: 0,
                }),
                ident: Arc::new(TaskIdent {
                    cmdline: format!("/usr/bin/{comm} --config /etc/{comm}/{i}.conf --workers 4"),
                    comm,
                    uid: Some(1000 + i % 5),
                    user: format!("user{}", i % 5),
                }),
                runq_ns: Some(u64::from(i) * 12_345),
            })
        })
        .collect();
    s
}

/// The next sample: time moves on and a quarter of the processes ran.
fn advance(s: &Sample, step: u64) -> Sample {
    let mut next = s.clone();
    next.mono_ns += 1_000_000_000;
    next.wall_ms += 1000;
    next.cpu.total.user += 150;
    next.cpu.ctxt += 12_345;
    let mut procs = next.tasks.procs.to_vec();
    for (i, p) in procs.iter_mut().enumerate() {
        if (i as u64 + step).is_multiple_of(4) {
            let r = Arc::make_mut(p);
            r.stat.utime += 1 + i as u64 % 7;
            r.stat.minflt += 13 * (i as u64 % 5);
            if let Some(io) = r.io.as_mut() {
                io.rchar += 4096 * (i as u64 % 3);
            }
        }
    }
    next.tasks.procs = procs.into();
    next
}

#[test]
#[ignore]
fn bench_recording_2000_processes() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bench.usetop");
    let header = Header {
        format_version: FORMAT_VERSION,
        ..Header::default()
    };
    let mut rec = Recorder::open(&path, header).unwrap();
    let mut s = synthetic(2000);
    let n = 120;
    let mut cpu = Duration::ZERO;
    for step in 0..n {
        let t = cpu_time();
        rec.append(&s).unwrap();
        cpu += cpu_time() - t;
        s = advance(&s, step);
    }
    let bytes = std::fs::metadata(&path).unwrap().len();
    let raw = postcard::to_stdvec(&s).unwrap().len();
    let per_sample_cpu = cpu / n as u32;
    println!(
        "BENCH record: 2000 processes: {} bytes/sample on disk ({} raw postcard), \
         CPU {:.2} ms/sample = {:.2}% of one core at a 1 s interval",
        bytes / n,
        raw,
        per_sample_cpu.as_secs_f64() * 1e3,
        per_sample_cpu.as_secs_f64() * 100.0
    );
    let t = Instant::now();
    let mut r = Reader::open(&path).unwrap();
    let mut frames = 0;
    while r.next_frame().is_some() {
        frames += 1;
    }
    assert_eq!(frames, n);
    println!(
        "BENCH replay read: {:.2} ms/sample",
        t.elapsed().as_secs_f64() * 1e3 / n as f64
    );
}

/// CPU time of this process (user + system).
fn cpu_time() -> Duration {
    let mut ru = std::mem::MaybeUninit::<libc::rusage>::zeroed();
    // SAFETY: getrusage writes only into the struct we pass.
    unsafe { libc::getrusage(libc::RUSAGE_SELF, ru.as_mut_ptr()) };
    // SAFETY: zero-initialised and filled in by getrusage.
    let ru = unsafe { ru.assume_init() };
    let tv = |t: libc::timeval| Duration::from_micros((t.tv_sec * 1_000_000 + t.tv_usec) as u64);
    tv(ru.ru_utime) + tv(ru.ru_stime)
}

fn scrape(addr: SocketAddr) -> Duration {
    let t = Instant::now();
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    write!(
        s,
        "GET /metrics HTTP/1.0\r\nAccept: application/openmetrics-text\r\n\r\n"
    )
    .unwrap();
    let mut body = Vec::new();
    s.read_to_end(&mut body).unwrap();
    assert!(body.starts_with(b"HTTP/1.1 200") || body.starts_with(b"HTTP/1.0 200"));
    t.elapsed()
}

#[test]
#[ignore]
fn bench_metrics_under_100_concurrent_scrapes() {
    let mut child = Command::new(env!("CARGO_BIN_EXE_usetop"))
        .args(["serve", "--listen", "127.0.0.1:0", "--per-process", "20"])
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    std::io::BufRead::read_line(
        &mut std::io::BufReader::new(child.stderr.take().unwrap()),
        &mut line,
    )
    .unwrap();
    let addr: SocketAddr = line
        .split("http://")
        .nth(1)
        .and_then(|r| r.split('/').next())
        .and_then(|a| a.parse().ok())
        .unwrap();
    std::thread::sleep(Duration::from_millis(1500));
    let rounds = 20;
    let handles: Vec<_> = (0..100)
        .map(|_| std::thread::spawn(move || (0..rounds).map(|_| scrape(addr)).collect::<Vec<_>>()))
        .collect();
    let mut all: Vec<Duration> = handles
        .into_iter()
        .flat_map(|h| h.join().unwrap())
        .collect();
    let _ = child.kill();
    let _ = child.wait();
    all.sort();
    let q = |p: f64| all[((all.len() - 1) as f64 * p) as usize].as_secs_f64() * 1e3;
    println!(
        "BENCH /metrics: {} scrapes from 100 concurrent clients: p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms",
        all.len(),
        q(0.5),
        q(0.99),
        q(1.0)
    );
}

/// `usetop record` as a whole on this host (collection included), for comparison with the
/// encoding cost above.
#[test]
#[ignore]
fn bench_record_process_on_this_host() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("host.usetop");
    let n: u32 = 20;
    let before = children_cpu();
    let out = Command::new(env!("CARGO_BIN_EXE_usetop"))
        .args(["record", "-i", "0.25", "-n", &n.to_string(), "-o"])
        .arg(&path)
        .output()
        .unwrap();
    assert!(out.status.success());
    let cpu = children_cpu() - before;
    let bytes = std::fs::metadata(&path).unwrap().len();
    let mut r = Reader::open(&path).unwrap();
    let procs = r
        .next_frame()
        .map(|f| f.sample.tasks.procs.len())
        .unwrap_or(0);
    println!(
        "BENCH usetop record on this host ({procs} processes): CPU {:.2} ms/sample \
         (collection + encoding), {} bytes/sample",
        cpu.as_secs_f64() * 1e3 / f64::from(n),
        bytes / u64::from(n)
    );
}

fn children_cpu() -> Duration {
    let mut ru = std::mem::MaybeUninit::<libc::rusage>::zeroed();
    // SAFETY: getrusage writes only into the struct we pass.
    unsafe { libc::getrusage(libc::RUSAGE_CHILDREN, ru.as_mut_ptr()) };
    // SAFETY: zero-initialised and filled in by getrusage.
    let ru = unsafe { ru.assume_init() };
    let tv = |t: libc::timeval| Duration::from_micros((t.tv_sec * 1_000_000 + t.tv_usec) as u64);
    tv(ru.ru_utime) + tv(ru.ru_stime)
}
