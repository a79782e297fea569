//! Cost of the socket collector at scale, printed rather than asserted (machines differ):
//! 10,000 loopback TCP sockets (5,000 connections, both ends in this process) and 2,000 extra
//! processes. Run with
//! `cargo test --release --test sockets_bench -- --ignored --nocapture`.
//! Figures: per-sample thread CPU time (user + system, which includes the kernel's dump work)
//! and wall time, for the first sample (full /proc scan for owners), steady state (no scan)
//! and a sample right after one new connection (one rescan).

use std::net::{TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::time::Instant;

use usetop::collectors::ProcRoot;
use usetop::collectors::sockets::SocketCollector;
use usetop::collectors::sockets::diag::{self, DiagSource, DumpKind, Interner, NetlinkSource};

fn thread_cpu_s() -> f64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: clock_gettime writes only into the timespec we pass.
    unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
    ts.tv_sec as f64 + ts.tv_nsec as f64 / 1e9
}

/// (cpu ms, wall ms) of one call.
fn measure<T>(f: impl FnOnce() -> T) -> (f64, f64, T) {
    let (c0, w0) = (thread_cpu_s(), Instant::now());
    let v = f();
    (
        (thread_cpu_s() - c0) * 1e3,
        w0.elapsed().as_secs_f64() * 1e3,
        v,
    )
}

/// A network namespace of this thread's own, so the sockets (and their TIME-WAIT
/// leftovers) vanish with the test; falls back to the host's namespace without root.
fn private_netns() -> bool {
    // SAFETY: unshare only changes this thread's namespaces.
    if unsafe { libc::unshare(libc::CLONE_NEWNET) } != 0 {
        return false;
    }
    let s = std::net::UdpSocket::bind("0.0.0.0:0").expect("socket");
    // SAFETY: ifreq is plain data; the ioctls read and write the one we own.
    unsafe {
        let mut ifr: libc::ifreq = std::mem::zeroed();
        for (d, c) in ifr.ifr_name.iter_mut().zip(b"lo\0") {
            *d = *c as libc::c_char;
        }
        use std::os::fd::AsRawFd;
        libc::ioctl(s.as_raw_fd(), libc::SIOCGIFFLAGS, &mut ifr);
        ifr.ifr_ifru.ifru_flags |= libc::IFF_UP as libc::c_short;
        libc::ioctl(s.as_raw_fd(), libc::SIOCSIFFLAGS, &ifr) == 0
    }
}

#[test]
#[ignore = "benchmark: run with --release --ignored --nocapture"]
fn socket_collector_at_scale() {
    let own_ns = private_netns();
    let conns = 5_000;
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = l.local_addr().unwrap();
    let mut keep = Vec::with_capacity(2 * conns);
    for _ in 0..conns {
        keep.push(TcpStream::connect(addr).unwrap());
        keep.push(l.accept().unwrap().0);
    }
    let mut children: Vec<Child> = (0..2_000)
        .filter_map(|_| {
            Command::new("sleep")
                .arg("120")
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .ok()
        })
        .collect();
    let nproc = std::fs::read_dir("/proc")
        .unwrap()
        .filter(|e| {
            e.as_ref()
                .is_ok_and(|e| e.file_name().to_string_lossy().parse::<u32>().is_ok())
        })
        .count();
    println!(
        "setup: {} sockets in {} namespace, {} processes in /proc ({} spawned)",
        keep.len() + 1,
        if own_ns { "a private" } else { "the host" },
        nproc,
        children.len()
    );

    // The dump alone: one TCP/IPv4 dump, bytes and parse.
    let mut src = NetlinkSource::open().unwrap();
    let mut buf = Vec::new();
    let mut names = Interner::default();
    for i in 0..3 {
        buf.clear();
        let (cpu, wall, n) = measure(|| {
            src.dump(DumpKind::Tcp4, 100 + i, &mut buf).unwrap();
            let mut n = 0;
            diag::walk(&buf, None, |m| {
                diag::parse_tcp(m, &mut names).map(|_| n += 1)
            })
            .unwrap();
            n
        });
        println!(
            "tcp4 dump + parse: {n} sockets, {} KiB, cpu {cpu:.1} ms, wall {wall:.1} ms",
            buf.len() / 1024
        );
    }

    let mut col = SocketCollector::new(&ProcRoot::default());
    let mut notes = Vec::new();
    let (cpu, wall, s) = measure(|| col.sample(&mut notes));
    let owned = s.tcp.iter().filter(|t| t.owner.is_some()).count();
    println!(
        "first sample (full owner scan): {} TCP sockets, {owned} with owner, cpu {cpu:.1} ms, wall {wall:.1} ms",
        s.tcp.len()
    );
    let mut cpus = Vec::new();
    for _ in 0..10 {
        let (cpu, wall, _) = measure(|| col.sample(&mut notes));
        cpus.push((cpu, wall));
    }
    let avg = |v: &[(f64, f64)]| {
        let n = v.len() as f64;
        (
            v.iter().map(|x| x.0).sum::<f64>() / n,
            v.iter().map(|x| x.1).sum::<f64>() / n,
        )
    };
    let (c, w) = avg(&cpus);
    println!("steady-state sample (no scan), mean of 10: cpu {c:.1} ms, wall {w:.1} ms");
    keep.push(TcpStream::connect(addr).unwrap());
    keep.push(l.accept().unwrap().0);
    let (cpu, wall, _) = measure(|| col.sample(&mut notes));
    println!(
        "sample after one new connection (targeted rescan): cpu {cpu:.1} ms, wall {wall:.1} ms"
    );

    // What a rescan cannot avoid: listing every process's fd directory.
    let (cpu, wall, nfds) = measure(|| {
        let mut n = 0;
        for e in std::fs::read_dir("/proc").unwrap().flatten() {
            if let Ok(rd) = std::fs::read_dir(e.path().join("fd")) {
                n += rd.count();
            }
        }
        n
    });
    println!(
        "listing every /proc/PID/fd ({nfds} fds), std read_dir: cpu {cpu:.1} ms, wall {wall:.1} ms"
    );

    for c in &mut children {
        let _ = c.kill();
        let _ = c.wait();
    }
    assert!(owned > 0);
}
