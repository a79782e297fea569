//! `usetop serve` stays bounded against hostile clients: the real binary, with its open-files
//! limit lowered to 1,024, keeps answering /metrics within a second while 1,000 idle
//! connections are held against it; a partial request head (slowloris) and an idle
//! keep-alive connection are closed after their timeouts; 20,000 connect-and-idle attempts
//! leave its memory where it was; `[::ffff:127.0.0.1]` counts as loopback.

use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::os::unix::process::CommandExt;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

struct Server {
    child: Child,
    addr: SocketAddr,
    /// The first line usetop printed on stderr.
    banner: String,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts `usetop serve` with RLIMIT_NOFILE at 1,024 (soft and hard) and the extra
/// arguments (global ones first); waits until /metrics answers 200.
fn start(global: &[&str], extra: &[&str]) -> Server {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_usetop"));
    cmd.args(global)
        .args(["serve", "--listen", "127.0.0.1:0", "--interval", "0.5"])
        .args(extra)
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    // SAFETY: setrlimit is async-signal-safe; the closure touches nothing else.
    unsafe {
        cmd.pre_exec(|| {
            let lim = libc::rlimit {
                rlim_cur: 1024,
                rlim_max: 1024,
            };
            if libc::setrlimit(libc::RLIMIT_NOFILE, &lim) != 0 {
                return Err(io::Error::last_os_error());
            }
            Ok(())
        });
    }
    let mut child = cmd.spawn().expect("start usetop serve");
    let stderr = child.stderr.take().unwrap();
    let mut reader = BufReader::new(stderr);
    let mut banner = String::new();
    reader.read_line(&mut banner).unwrap();
    // Keep draining stderr so the server never blocks on a full pipe.
    std::thread::spawn(move || {
        let mut sink = Vec::new();
        let _ = reader.read_to_end(&mut sink);
    });
    let addr = banner
        .split("http://")
        .nth(1)
        .and_then(|r| r.split('/').next())
        .and_then(|a| a.parse().ok())
        .unwrap_or_else(|| panic!("no address in {banner:?}"));
    let server = Server {
        child,
        addr,
        banner,
    };
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        if let Ok((200, _)) = get(server.addr, "/metrics", Duration::from_secs(5)) {
            break;
        }
        assert!(Instant::now() < deadline, "serve never answered /metrics");
        std::thread::sleep(Duration::from_millis(100));
    }
    server
}

/// One GET on a fresh connection: (status, body).
fn get(addr: SocketAddr, path: &str, timeout: Duration) -> io::Result<(u16, String)> {
    let mut s = TcpStream::connect_timeout(&addr, timeout)?;
    s.set_read_timeout(Some(timeout))?;
    s.set_write_timeout(Some(timeout))?;
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
    )?;
    let mut raw = Vec::new();
    s.read_to_end(&mut raw)?;
    let raw = String::from_utf8_lossy(&raw).into_owned();
    let (head, body) = raw.split_once("\r\n\r\n").unwrap_or((&raw, ""));
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    Ok((status, body.to_string()))
}

/// The server's open sockets (its /proc descriptors vary with the host's process count).
fn open_sockets(pid: u32) -> usize {
    std::fs::read_dir(format!("/proc/{pid}/fd"))
        .unwrap()
        .filter_map(|e| std::fs::read_link(e.ok()?.path()).ok())
        .filter(|l| l.to_string_lossy().starts_with("socket:"))
        .count()
}

fn rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .unwrap()
}

/// Waits until the peer closes `s` (EOF or reset); returns how long that took, or None if it
/// stayed open for `limit`.
fn closed_within(s: &mut TcpStream, limit: Duration) -> Option<Duration> {
    let start = Instant::now();
    s.set_read_timeout(Some(Duration::from_millis(100)))
        .unwrap();
    let mut buf = [0u8; 4096];
    while start.elapsed() < limit {
        match s.read(&mut buf) {
            Ok(0) => return Some(start.elapsed()),
            Ok(_) => {}
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                ) => {}
            Err(_) => return Some(start.elapsed()),
        }
    }
    None
}

#[test]
fn metrics_answer_within_a_second_with_1000_idle_connections_and_1024_fds() {
    let server = start(&[], &[]);
    let pid = server.child.id();
    let mut idle = Vec::new();
    for _ in 0..1000 {
        match TcpStream::connect_timeout(&server.addr, Duration::from_secs(2)) {
            Ok(s) => idle.push(s),
            Err(e) => panic!("connect {} failed: {e}", idle.len()),
        }
    }
    // Let the server's accept loop see all of them.
    std::thread::sleep(Duration::from_millis(500));
    for _ in 0..5 {
        let t = Instant::now();
        let (status, body) =
            get(server.addr, "/metrics", Duration::from_secs(1)).expect("/metrics in 1 s");
        let took = t.elapsed();
        assert_eq!(status, 200);
        assert!(body.contains("usetop_"), "{body:.200}");
        assert!(took < Duration::from_secs(1), "/metrics took {took:?}");
    }
    let (status, _) = get(server.addr, "/healthz", Duration::from_secs(1)).expect("/healthz");
    assert_eq!(status, 200);
    // The cap (256, a quarter of the limit) holds the server's sockets: the listener, the
    // connections and the sampler's netlink socket.
    assert!(
        server.banner.contains("at most 256 connections"),
        "{}",
        server.banner
    );
    let sockets = open_sockets(pid);
    assert!(sockets <= 256 + 8, "{sockets} sockets open");
    drop(idle);
}

#[test]
fn a_partial_request_head_is_closed_after_the_header_timeout() {
    let server = start(&[], &["--header-timeout", "1"]);
    let mut slow = Vec::new();
    for _ in 0..50 {
        let mut s = TcpStream::connect(server.addr).unwrap();
        s.write_all(b"GET /metrics HTTP/1.1\r\nHost: x\r\nX-a: ")
            .unwrap();
        slow.push(s);
    }
    // One more that never sends a byte.
    slow.push(TcpStream::connect(server.addr).unwrap());
    let start = Instant::now();
    for s in &mut slow {
        let left = Duration::from_secs(4).saturating_sub(start.elapsed());
        assert!(
            closed_within(s, left).is_some(),
            "a stalled connection stayed open {:?}",
            start.elapsed()
        );
    }
    let all = start.elapsed();
    assert!(
        all >= Duration::from_millis(700),
        "closed too early: {all:?}"
    );
    // Whatever the stalled ones did, scrapes go on.
    assert_eq!(
        get(server.addr, "/metrics", Duration::from_secs(1))
            .unwrap()
            .0,
        200
    );
}

#[test]
fn an_idle_keep_alive_connection_is_closed_after_the_idle_timeout() {
    let server = start(&[], &["--idle-timeout", "1"]);
    let mut s = TcpStream::connect(server.addr).unwrap();
    s.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        .unwrap();
    s.set_read_timeout(Some(Duration::from_secs(2))).unwrap();
    let mut buf = [0u8; 1024];
    let n = s.read(&mut buf).unwrap();
    assert!(
        String::from_utf8_lossy(&buf[..n]).starts_with("HTTP/1.1 200"),
        "{:?}",
        String::from_utf8_lossy(&buf[..n])
    );
    let took = closed_within(&mut s, Duration::from_secs(4)).expect("idle keep-alive closed");
    assert!(
        took >= Duration::from_millis(700),
        "closed too early: {took:?}"
    );
}

#[test]
fn memory_stays_flat_over_20000_connect_and_idle_attempts() {
    // A fixture tree: the sampler's own memory does not move with the host's processes.
    let t1 = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/basic/t1");
    let (proc, sys) = (format!("{t1}/proc"), format!("{t1}/sys"));
    let server = start(&["--proc-root", &proc, "--sys-root", &sys], &[]);
    let pid = server.child.id();
    std::thread::sleep(Duration::from_secs(1));
    let before = rss_kib(pid);
    let t = Instant::now();
    for _ in 0..20 {
        let mut held = Vec::with_capacity(1000);
        for _ in 0..1000 {
            if let Ok(s) = TcpStream::connect_timeout(&server.addr, Duration::from_secs(2)) {
                held.push(s);
            }
        }
        drop(held);
    }
    let took = t.elapsed();
    std::thread::sleep(Duration::from_millis(300));
    let (status, _) = get(server.addr, "/metrics", Duration::from_secs(1)).expect("/metrics");
    assert_eq!(status, 200);
    let after = rss_kib(pid);
    eprintln!(
        "serve RSS before {before} KiB, after 20,000 connect-and-idle attempts {after} KiB \
         ({took:.1?})"
    );
    assert!(
        after <= before + 24 * 1024,
        "RSS grew from {before} to {after} KiB"
    );
}

#[test]
fn ipv4_mapped_loopback_is_loopback() {
    use usetop::export::serve::is_loopback;
    let yes = [
        "[::ffff:127.0.0.1]:9273",
        "127.0.0.1:1",
        "127.8.0.1:1",
        "[::1]:1",
    ];
    let no = [
        "0.0.0.0:1",
        "[::]:1",
        "[::ffff:10.0.0.1]:1",
        "10.0.0.1:1",
        "[::ffff:0.0.0.0]:1",
    ];
    for a in yes {
        assert!(is_loopback(&a.parse().unwrap()), "{a}");
    }
    for a in no {
        assert!(!is_loopback(&a.parse().unwrap()), "{a}");
    }
}

#[test]
fn serving_on_ipv4_mapped_loopback_does_not_warn() {
    let mut child = Command::new(env!("CARGO_BIN_EXE_usetop"))
        .args(["serve", "--listen", "[::ffff:127.0.0.1]:0"])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stderr.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let _ = child.kill();
    let _ = child.wait();
    assert!(!line.contains("warning"), "{line}");
    assert!(line.contains("serving"), "{line}");
}
