//! Helpers for tests that run `usetop serve` and the Prometheus tools beside it.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

/// A tool the test command installs (Debian's `prometheus` package: promtool, prometheus).
pub fn tool(name: &str) -> PathBuf {
    for dir in std::env::var("PATH").unwrap_or_default().split(':') {
        let p = PathBuf::from(dir).join(name);
        if p.is_file() {
            return p;
        }
    }
    for p in [format!("/usr/bin/{name}"), format!("/usr/sbin/{name}")] {
        if std::path::Path::new(&p).is_file() {
            return p.into();
        }
    }
    panic!(
        "`{name}` is not installed: these tests need Debian's `prometheus` package \
         (scripts/test.sh installs it; or run `apt-get install prometheus`)"
    );
}

/// Kills and reaps a child process when the test ends, however it ends.
pub struct Reaper(pub Child);

impl Drop for Reaper {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A minimal HTTP/1.0 GET: (status, content type, body).
pub fn get(addr: SocketAddr, path: &str, accept: &str) -> std::io::Result<(u16, String, String)> {
    let mut s = TcpStream::connect_timeout(&addr, Duration::from_secs(2))?;
    s.set_read_timeout(Some(Duration::from_secs(5)))?;
    write!(
        s,
        "GET {path} HTTP/1.0\r\nHost: {addr}\r\nAccept: {accept}\r\nConnection: close\r\n\r\n"
    )?;
    let mut raw = String::new();
    s.read_to_string(&mut raw)?;
    let (head, body) = raw.split_once("\r\n\r\n").unwrap_or((&raw, ""));
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    let ctype = head
        .lines()
        .find_map(|l| {
            let (k, v) = l.split_once(':')?;
            k.eq_ignore_ascii_case("content-type")
                .then(|| v.trim().to_string())
        })
        .unwrap_or_default();
    Ok((status, ctype, body.to_string()))
}

/// Starts `usetop serve` on a fixture tree (`basic/t1`) on a loopback port it picks;
/// returns its address.
pub fn start(fixture: &str) -> (Reaper, SocketAddr) {
    let t1 = super::fixtures().join(fixture);
    let mut child = Command::new(env!("CARGO_BIN_EXE_usetop"))
        .args(["serve", "--listen", "127.0.0.1:0", "--interval", "0.5"])
        .arg("--proc-root")
        .arg(t1.join("proc"))
        .arg("--sys-root")
        .arg(t1.join("sys"))
        .stderr(Stdio::piped())
        .spawn()
        .expect("start usetop serve");
    let stderr = child.stderr.take().unwrap();
    let reaper = Reaper(child);
    let mut line = String::new();
    BufReader::new(stderr).read_line(&mut line).unwrap();
    let addr = line
        .split("http://")
        .nth(1)
        .and_then(|r| r.split('/').next())
        .and_then(|a| a.parse().ok())
        .unwrap_or_else(|| panic!("no address in {line:?}"));
    (reaper, addr)
}

/// `promtool check metrics` on a Prometheus text: whether it passed, and what it said
/// (stdout and stderr together).
pub fn promtool_check(text: &str) -> (bool, String) {
    let mut child = Command::new(tool("promtool"))
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start promtool");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(text.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    let msg =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    (out.status.success(), msg)
}

/// What promtool says of an OpenMetrics text (turned into the Prometheus text it reads).
pub fn promtool_says(openmetrics: &str) -> String {
    promtool_check(&usetop::export::openmetrics::to_prometheus_text(
        openmetrics,
    ))
    .1
}
