//! TCP tracing on the live kernel (root, `ip` and `nft` only; skipped with the reason
//! otherwise). In a network namespace the test creates, nftables drops one in ten segments
//! to a port (this kernel has no sch_netem), so a transfer over 127.0.0.1 retransmits and
//! the events must name its addresses; a connect to a closed port gives a reset sent and
//! one received. (As an unprivileged user the sock and net panes say why: trace_live.rs's
//! test of every pane.) The fixture capture and a cost measurement run by hand
//! (`--ignored`).

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::os::fd::AsRawFd;
use std::path::Path;
use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use usetop::collectors::ProcRoot;
use usetop::collectors::trace::format::{PerfRecord, parse_perf_record};
use usetop::collectors::trace::{TcpCollector, TcpSink, live, load_tcp_layouts};
use usetop::model::blktrace::TraceState;
use usetop::model::tcptrace::TcpTrace;

/// The tracepoints see every namespace: tests that trace run one at a time, so one's
/// events do not crowd the other's out of the interval's last 64.
static TRACING: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn one_at_a_time() -> std::sync::MutexGuard<'static, ()> {
    TRACING
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// The port whose segments the namespace drops, and a port nobody listens on.
const LOSSY: u16 = 5201;
const CLOSED: u16 = 5299;

fn is_root() -> bool {
    // SAFETY: geteuid has no memory effects.
    unsafe { libc::geteuid() == 0 }
}

fn run(args: &[&str]) -> Result<(), String> {
    let out = Command::new(args[0])
        .args(&args[1..])
        .output()
        .map_err(|e| format!("{}: {e}", args[0]))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(format!(
            "{}: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr).trim()
        ))
    }
}

/// A network namespace with lo up and one in `one_in` segments to `LOSSY` dropped,
/// deleted when dropped (also when the test fails).
struct Netns(String);

impl Netns {
    /// `None`, with the reason printed, where the test cannot run here.
    fn new(tag: &str) -> Option<Netns> {
        Netns::lossy(tag, 10)
    }

    fn lossy(tag: &str, one_in: u32) -> Option<Netns> {
        if !is_root() {
            eprintln!("skipped: needs root (network namespaces, perf_event_open)");
            return None;
        }
        for tool in ["ip", "nft"] {
            if Command::new(tool).arg("-V").output().is_err() {
                eprintln!("skipped: no `{tool}` (apt package iproute2 / nftables)");
                return None;
            }
        }
        let ns = Netns(format!("usetop-{tag}-{}", std::process::id()));
        let n = ns.0.as_str();
        let setup = [
            vec!["ip", "netns", "add", n],
            // Segments of an Ethernet's size rather than lo's 64 KiB, and no GSO
            // bursts (one is dropped and retransmitted whole, as one event): each segment
            // is lost on its own, as on a real lossy path.
            vec![
                "ip",
                "-n",
                n,
                "link",
                "set",
                "lo",
                "mtu",
                "1500",
                "gso_max_segs",
                "1",
                "up",
            ],
            vec![
                "ip", "netns", "exec", n, "nft", "add", "table", "inet", "loss",
            ],
            vec![
                "ip",
                "netns",
                "exec",
                n,
                "nft",
                "add",
                "chain",
                "inet",
                "loss",
                "out",
                "{ type filter hook output priority 0 ; }",
            ],
        ];
        let (port, one_in) = (LOSSY.to_string(), one_in.to_string());
        let rule = vec![
            "ip", "netns", "exec", n, "nft", "add", "rule", "inet", "loss", "out", "tcp", "dport",
            &port, "numgen", "random", "mod", &one_in, "0", "drop",
        ];
        for cmd in setup.iter().chain(std::iter::once(&rule)) {
            if let Err(e) = run(cmd) {
                eprintln!("skipped: cannot set up the namespace: {e}");
                return None;
            }
        }
        Some(ns)
    }

    /// Runs `f` on a thread inside the namespace: sockets it creates live there.
    fn enter<T: Send + 'static>(&self, f: impl FnOnce() -> T + Send + 'static) -> T {
        let path = format!("/var/run/netns/{}", self.0);
        std::thread::spawn(move || {
            let ns = std::fs::File::open(&path).unwrap();
            // SAFETY: setns on a descriptor we own; it changes only this thread.
            let rc = unsafe { libc::setns(ns.as_raw_fd(), libc::CLONE_NEWNET) };
            assert_eq!(rc, 0, "setns: {}", std::io::Error::last_os_error());
            f()
        })
        .join()
        .unwrap()
    }
}

impl Drop for Netns {
    fn drop(&mut self) {
        let _ = run(&["ip", "netns", "del", &self.0]);
    }
}

/// A connected pair over `ip` inside the namespace: (client, server side).
fn pair(ns: &Netns, ip: &str) -> (TcpStream, TcpStream) {
    let ip = ip.to_string();
    ns.enter(move || {
        let l = TcpListener::bind((ip.as_str(), LOSSY)).unwrap();
        let c = TcpStream::connect(l.local_addr().unwrap()).unwrap();
        let (s, _) = l.accept().unwrap();
        (c, s)
    })
}

/// Sends as fast as the lossy path allows for `secs`, the server side reading it all.
fn transfer(c: TcpStream, s: TcpStream, secs: u64) {
    transfer_until(c, s, Instant::now() + Duration::from_secs(secs), None);
}

/// Makes the calling thread the last to get a CPU (nice 19 applies per thread).
fn lowest_priority() {
    // SAFETY: gettid and setpriority only read and change this thread's scheduling.
    unsafe {
        let tid = libc::gettid() as libc::id_t;
        libc::setpriority(libc::PRIO_PROCESS, tid, 19);
    }
}

/// As `transfer`, until `end` or `stop`; with `stop` its threads run at the lowest
/// priority, so a measured sampler in the same process is not starved by them.
fn transfer_until(mut c: TcpStream, mut s: TcpStream, end: Instant, stop: Option<Arc<AtomicBool>>) {
    let low = stop.is_some();
    let stop = stop.unwrap_or_default();
    let reader = std::thread::spawn(move || {
        if low {
            lowest_priority();
        }
        let mut buf = vec![0u8; 1 << 16];
        while let Ok(n) = s.read(&mut buf) {
            if n == 0 {
                break;
            }
        }
    });
    if low {
        lowest_priority();
    }
    let buf = vec![7u8; 1 << 16];
    while Instant::now() < end && !stop.load(Ordering::Relaxed) {
        if c.write_all(&buf).is_err() {
            break;
        }
    }
    let _ = c.shutdown(std::net::Shutdown::Both);
    drop(c);
    reader.join().unwrap();
}

fn cpus() -> Vec<u32> {
    (0..std::thread::available_parallelism().unwrap().get() as u32).collect()
}

/// Samples until the collector has a whole interval (`On`).
fn traced(c: &mut TcpCollector) -> TcpTrace {
    let t = c.sample(true, &cpus()).unwrap();
    assert_eq!(t.state, TraceState::On, "{:?}", t.state);
    t
}

#[test]
fn lossy_transfer_retransmits_and_closed_port_resets() {
    let _one = one_at_a_time();
    let Some(ns) = Netns::new("retrans") else {
        return;
    };
    let mut c = TcpCollector::new(&ProcRoot::default());
    let first = c.sample(true, &cpus()).unwrap();
    assert_eq!(first.state, TraceState::Starting, "{:?}", first.state);

    let (cl, sv) = pair(&ns, "127.0.0.1");
    let client: SocketAddr = cl.local_addr().unwrap();
    transfer(cl, sv, 2);
    // A connect to a closed port: the kernel answers the SYN with a reset (sent), which
    // the connecting socket receives.
    let refused = ns.enter(|| TcpStream::connect(("127.0.0.1", CLOSED)).map(|_| ()));
    assert!(refused.is_err());
    std::thread::sleep(Duration::from_millis(300));
    let t = traced(&mut c);

    let server: SocketAddr = format!("127.0.0.1:{LOSSY}").parse().unwrap();
    let ours = t
        .events
        .iter()
        .filter(|e| e.local == client && e.remote == server)
        .count();
    assert!(
        t.retransmits > 0 && ours > 0,
        "retransmits {} events {:?}",
        t.retransmits,
        t.events
    );
    assert!(t.retransmits >= t.events.len() as u64);
    assert!(
        t.retrans_peers.iter().any(|p| p.remote == server),
        "{:?}",
        t.retrans_peers
    );
    let lo = t
        .reset_peers
        .iter()
        .find(|p| p.addr.to_string() == "127.0.0.1")
        .unwrap_or_else(|| panic!("no reset from 127.0.0.1 in {:?}", t.reset_peers));
    assert!(lo.sent >= 1 && lo.received >= 1, "{lo:?}");
    assert_eq!(t.lost, 0);
    // Not asked for: closed, nothing reported.
    assert!(c.sample(false, &cpus()).is_none());
}

#[test]
fn ipv6_retransmits_name_their_addresses() {
    let _one = one_at_a_time();
    let Some(ns) = Netns::new("retrans6") else {
        return;
    };
    let mut c = TcpCollector::new(&ProcRoot::default());
    c.sample(true, &cpus()).unwrap();
    let (cl, sv) = pair(&ns, "::1");
    let client = cl.local_addr().unwrap();
    transfer(cl, sv, 2);
    let t = traced(&mut c);
    let server: SocketAddr = format!("[::1]:{LOSSY}").parse().unwrap();
    assert!(
        t.events
            .iter()
            .any(|e| e.local == client && e.remote == server),
        "{:?}",
        t.events
    );
}

/// Writes tests/fixtures/trace/: this kernel's TCP tracepoint format files and raw records
/// of retransmits (IPv4 and IPv6) and resets (type u32, length u32, body, repeated).
#[test]
#[ignore = "captures the committed fixtures; run by hand as root"]
fn capture_fixtures() {
    let ns = Netns::new("capture").expect("root, ip and nft");
    let out = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/trace");
    for ev in ["tcp_retransmit_skb", "tcp_send_reset", "tcp_receive_reset"] {
        let b = std::fs::read(format!("/sys/kernel/tracing/events/tcp/{ev}/format")).unwrap();
        std::fs::write(out.join(format!("{ev}.format")), b).unwrap();
    }
    let layouts = load_tcp_layouts(&ProcRoot::default(), true).unwrap();
    let mut t = live::Tracer::open(TcpSink::new(layouts.clone()), &cpus(), false).unwrap();
    let mut records = Vec::new();
    for ip in ["127.0.0.1", "::1"] {
        let (cl, sv) = pair(&ns, ip);
        transfer(cl, sv, 1);
        let closed = ip.to_string();
        let _ = ns.enter(move || TcpStream::connect((closed.as_str(), CLOSED)).map(|_| ()));
        std::thread::sleep(Duration::from_millis(100));
        // Read after each transfer, so a busy one cannot fill the rings.
        records.extend(t.raw_records());
    }
    // Of each kind and family, the first two records that concern the namespace's ports.
    let mut kept: Vec<(String, Vec<u8>)> = Vec::new();
    for (ty, body) in records {
        let Ok(PerfRecord::Sample { raw, .. }) = parse_perf_record(ty, &body) else {
            continue;
        };
        let Some(ev) = layouts.event(0, raw) else {
            continue;
        };
        let ports = [ev.rec.local.port(), ev.rec.remote.port()];
        if !ports.contains(&LOSSY) && !ports.contains(&CLOSED) {
            continue;
        }
        let key = format!("{:?}{}", ev.kind, ev.rec.remote.is_ipv6());
        if kept.iter().filter(|(k, _)| *k == key).count() < 2 {
            kept.push((key, body));
        }
    }
    let mut bytes = Vec::new();
    for (_, body) in &kept {
        bytes.extend_from_slice(&9u32.to_le_bytes());
        bytes.extend_from_slice(&(body.len() as u32).to_le_bytes());
        bytes.extend_from_slice(body);
    }
    std::fs::write(out.join("tcp_records.bin"), bytes).unwrap();
    let kinds: Vec<&str> = kept.iter().map(|(k, _)| k.as_str()).collect();
    eprintln!("{} records: {kinds:?}", kept.len());
}

/// The sampler's CPU with TCP tracing off and on while `TRACE_COST_CONNS` (8) transfers
/// over the lossy path retransmit: prints both as % of one CPU and the retransmits traced. A measurement, not
/// a check: run by hand (`--release` for figures worth quoting).
#[test]
#[ignore = "a measurement; run by hand as root"]
fn tracing_cost() {
    use usetop::collectors::{Collectors, Request, SystemClock};
    // Light loss (one in `TRACE_COST_LOSS`, 100) keeps the transfers fast, so they
    // retransmit more often than under heavy loss (which mostly waits for timeouts).
    let one_in = std::env::var("TRACE_COST_LOSS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(100);
    let ns = Netns::lossy("cost", one_in).expect("root, ip and nft");
    let secs: u64 = std::env::var("TRACE_COST_SECS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(10);
    let conns: usize = std::env::var("TRACE_COST_CONNS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(8);
    // The transfers run in threads of this process: the sampler's CPU is its own thread's
    // time and the drain thread's, not the process's.
    let stop = Arc::new(AtomicBool::new(false));
    let end = Instant::now() + Duration::from_secs(10 * secs + 60);
    let load: Vec<_> = (0..conns)
        .map(|_| {
            let (cl, sv) = pair(&ns, "127.0.0.1");
            let stop = Some(Arc::clone(&stop));
            std::thread::spawn(move || transfer_until(cl, sv, end, stop))
        })
        .collect();
    let thread_ns = || {
        let mut ts = libc::timespec {
            tv_sec: 0,
            tv_nsec: 0,
        };
        // SAFETY: clock_gettime writes only into the struct we pass.
        unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
        ts.tv_sec as u64 * 1_000_000_000 + ts.tv_nsec as u64
    };
    let mut c = Collectors::new(ProcRoot::default());
    let clock = SystemClock;
    for on in [false, true, false, true] {
        let req = Request {
            tcp_trace: on,
            ..Request::default()
        };
        c.sample(&clock, req);
        let (cpu0, drain0, t0) = (thread_ns(), drain_thread_ns(), Instant::now());
        let mut retrans = 0;
        let mut lost = 0;
        for _ in 0..secs {
            std::thread::sleep(Duration::from_secs(1));
            let s = c.sample(&clock, req);
            if let Some(t) = s.tcp_trace {
                retrans += t.retransmits;
                lost += t.lost;
            }
        }
        let wall = t0.elapsed().as_secs_f64();
        let drain = drain_thread_ns().saturating_sub(drain0);
        let cpu = (thread_ns() - cpu0 + drain) as f64 / 1e9;
        eprintln!(
            "TCP tracing {}: sampler {:.2}% of one CPU over {wall:.1} s (drain thread {:.2}%); {:.0} retransmits/s traced, lost {lost}",
            if on { "on " } else { "off" },
            cpu / wall * 100.0,
            drain as f64 / 1e9 / wall * 100.0,
            retrans as f64 / wall
        );
    }
    stop.store(true, Ordering::Relaxed);
    for l in load {
        l.join().unwrap();
    }
}

/// CPU time of this process's `usetop-tcptrace` drain thread (0 when none runs), from its
/// schedstat (nanoseconds, where stat has only clock ticks).
fn drain_thread_ns() -> u64 {
    let Ok(dir) = std::fs::read_dir("/proc/self/task") else {
        return 0;
    };
    let mut ns = 0;
    for e in dir.flatten() {
        let p = e.path();
        let comm = std::fs::read_to_string(p.join("comm")).unwrap_or_default();
        if comm.trim() != "usetop-tcptrace" {
            continue;
        }
        let st = std::fs::read_to_string(p.join("schedstat")).unwrap_or_default();
        ns += st
            .split_whitespace()
            .next()
            .and_then(|v| v.parse::<u64>().ok())
            .unwrap_or(0);
    }
    ns
}
