//! Captures real sock_diag dump bytes for the test fixtures. Needs root: it works in a fresh
//! network namespace of its own, so only the sockets it opens appear in the captures.
//!
//! `cargo run --example capture_netlink` writes:
//! - `tests/fixtures/sock/t0`, `t1`: a copy of the `basic` fixture trees plus `netlink/*.bin`
//!   (one dump per socket kind, taken before and after a known transfer) and fake
//!   `proc/PID/fd/N -> socket:[INODE]` links naming the owners (server: pid 300, clients:
//!   pid 200);
//! - `tests/fixtures/netlink/tcp4-multi.bin` (+ `.parts`, the datagram sizes): a dump of
//!   150 connections that spans several datagrams;
//! - `tests/fixtures/netlink/tcp4-intr.bin`: the t1 TCP dump with NLM_F_DUMP_INTR set on
//!   every message, as the kernel marks a dump during which the socket tables changed.
//!
//! `cargo run --example capture_netlink -- --refresh-proc` only re-copies the `basic` trees
//! into `sock/t0`, `t1` (after the basic fixture changed), keeping the captured dumps and
//! the fake fd links, so the sock snapshots see the same /proc as the core ones.

use std::fs;
use std::io::{Read, Write};
use std::net::{Ipv6Addr, TcpListener, TcpStream, UdpSocket};
use std::os::fd::AsRawFd;
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};

use usetop::collectors::sockets::diag::{self, DiagSource, DumpKind, NetlinkSource};

fn main() -> anyhow::Result<()> {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
    if std::env::args().any(|a| a == "--refresh-proc") {
        return refresh_proc(&root);
    }
    new_netns()?;

    let server = TcpListener::bind("127.0.0.1:8080")?;
    let server6 = TcpListener::bind((Ipv6Addr::LOCALHOST, 8443))?;
    // A listener nobody accepts from: its accept queue fills (Recv-Q on LISTEN).
    let busy = listen_backlog(5432, 4)?;
    let mut clients = Vec::new();
    let mut served = Vec::new();
    for _ in 0..3 {
        clients.push(TcpStream::connect("127.0.0.1:8080")?);
        served.push(server.accept()?.0);
    }
    clients.push(TcpStream::connect((Ipv6Addr::LOCALHOST, 8443))?);
    served.push(server6.accept()?.0);
    let queued: Vec<TcpStream> = (0..4)
        .map(|_| TcpStream::connect("127.0.0.1:5432"))
        .collect::<Result<_, _>>()?;
    let udp_a = UdpSocket::bind("127.0.0.1:5353")?;
    let udp_b = UdpSocket::bind("127.0.0.1:0")?;
    udp_b.connect("127.0.0.1:5353")?;
    let sock_path = std::env::temp_dir().join(format!("usetop-capture-{}", std::process::id()));
    let _ = fs::remove_file(&sock_path);
    let ul = UnixListener::bind(&sock_path)?;
    let (ua, ub) = UnixStream::pair()?;

    // Some traffic before the first capture, so every socket has counters.
    for (c, s) in clients.iter_mut().zip(served.iter_mut()) {
        transfer(c, s, 16 * 1024)?;
        transfer(s, c, 4 * 1024)?;
    }
    let mut src = NetlinkSource::open()?;
    let t0 = root.join("sock/t0");
    let t1 = root.join("sock/t1");
    for (t, basic) in [(&t0, "basic/t0"), (&t1, "basic/t1")] {
        let _ = fs::remove_dir_all(t);
        copy_tree(&root.join(basic), t)?;
    }
    capture_all(&mut src, &t0.join("netlink"))?;
    // The known transfer between t0 and t1: client i uploads (i+1) MiB, downloads 256 KiB.
    for (i, (c, s)) in clients.iter_mut().zip(served.iter_mut()).enumerate() {
        transfer(c, s, (i + 1) << 20)?;
        transfer(s, c, 256 * 1024)?;
    }
    std::thread::sleep(std::time::Duration::from_millis(20));
    capture_all(&mut src, &t1.join("netlink"))?;

    // Owners: listeners and served sockets belong to pid 300, clients to pid 200.
    let server_fds: Vec<i32> = [server.as_raw_fd(), server6.as_raw_fd(), busy.as_raw_fd()]
        .into_iter()
        .chain(served.iter().map(|s| s.as_raw_fd()))
        .collect();
    let client_fds: Vec<i32> = clients
        .iter()
        .chain(queued.iter())
        .map(|s| s.as_raw_fd())
        .collect();
    for t in [&t0, &t1] {
        fake_fds(&t.join("proc/300/fd"), &server_fds)?;
        fake_fds(&t.join("proc/200/fd"), &client_fds)?;
    }
    let intr = fs::read(t1.join("netlink/tcp4.bin"))?;
    fs::create_dir_all(root.join("netlink"))?;
    fs::write(root.join("netlink/tcp4-intr.bin"), set_dump_intr(intr))?;
    drop((udp_a, udp_b, ul, ua, ub, queued, busy));
    drop((clients, served, server, server6));
    let _ = fs::remove_file(&sock_path);

    // A dump too big for one datagram, in a namespace of its own.
    new_netns()?;
    let l = TcpListener::bind("127.0.0.1:9000")?;
    let mut keep = Vec::new();
    for _ in 0..150 {
        keep.push(TcpStream::connect("127.0.0.1:9000")?);
        keep.push(l.accept()?.0);
    }
    let (bytes, parts) = dump_datagrams(DumpKind::Tcp4, 77)?;
    fs::write(root.join("netlink/tcp4-multi.bin"), bytes)?;
    let parts: Vec<String> = parts.iter().map(|p| p.to_string()).collect();
    fs::write(
        root.join("netlink/tcp4-multi.parts"),
        parts.join("\n") + "\n",
    )?;
    println!("captured; multi-part dump in {} datagrams", parts.len());
    Ok(())
}

fn new_netns() -> anyhow::Result<()> {
    // SAFETY: unshare only changes this thread's namespaces.
    if unsafe { libc::unshare(libc::CLONE_NEWNET) } != 0 {
        anyhow::bail!("unshare(CLONE_NEWNET): {}", std::io::Error::last_os_error());
    }
    // A new namespace's loopback is down: bring it up.
    let s = UdpSocket::bind("0.0.0.0:0").or_else(|_| {
        // Without lo up, binding still works on the wildcard in most kernels; else fail.
        UdpSocket::bind("[::]:0")
    });
    let fd = match &s {
        Ok(s) => s.as_raw_fd(),
        Err(e) => anyhow::bail!("socket for ioctl: {e}"),
    };
    // SAFETY: ifreq is plain data; zeroed is a valid value.
    let mut ifr: libc::ifreq = unsafe { std::mem::zeroed() };
    for (d, c) in ifr.ifr_name.iter_mut().zip(b"lo\0") {
        *d = *c as libc::c_char;
    }
    // SAFETY: SIOCGIFFLAGS/SIOCSIFFLAGS read and write the ifreq we own.
    unsafe {
        if libc::ioctl(fd, libc::SIOCGIFFLAGS, &mut ifr) != 0 {
            anyhow::bail!("SIOCGIFFLAGS: {}", std::io::Error::last_os_error());
        }
        ifr.ifr_ifru.ifru_flags |= libc::IFF_UP as libc::c_short;
        if libc::ioctl(fd, libc::SIOCSIFFLAGS, &ifr) != 0 {
            anyhow::bail!("SIOCSIFFLAGS: {}", std::io::Error::last_os_error());
        }
    }
    Ok(())
}

fn listen_backlog(port: u16, backlog: i32) -> anyhow::Result<TcpListener> {
    let l = TcpListener::bind(("127.0.0.1", port))?;
    // SAFETY: listen on a socket we own; a second listen() only changes the backlog.
    if unsafe { libc::listen(l.as_raw_fd(), backlog) } != 0 {
        anyhow::bail!("listen: {}", std::io::Error::last_os_error());
    }
    Ok(l)
}

/// Sends `n` bytes from `a` to `b` in chunks, reading them as they go.
fn transfer(a: &mut TcpStream, b: &mut TcpStream, n: usize) -> std::io::Result<()> {
    let chunk = vec![0x5au8; 64 * 1024];
    let mut sink = vec![0u8; 64 * 1024];
    let mut left = n;
    while left > 0 {
        let k = left.min(chunk.len());
        a.write_all(&chunk[..k])?;
        b.read_exact(&mut sink[..k])?;
        left -= k;
    }
    Ok(())
}

fn capture_all(src: &mut NetlinkSource, dir: &Path) -> anyhow::Result<()> {
    fs::create_dir_all(dir)?;
    for (i, kind) in DumpKind::ALL.into_iter().enumerate() {
        let mut out = Vec::new();
        match src.dump(kind, 1000 + i as u32, &mut out) {
            Ok(()) => fs::write(dir.join(kind.file_name()), &out)?,
            Err(e) => eprintln!("{kind:?}: {e} (not captured)"),
        }
    }
    Ok(())
}

/// One dump read datagram by datagram, returning the bytes and each datagram's size.
fn dump_datagrams(kind: DumpKind, seq: u32) -> anyhow::Result<(Vec<u8>, Vec<usize>)> {
    let mut s = netlink_sys::Socket::new(netlink_sys::protocols::NETLINK_SOCK_DIAG)?;
    s.bind_auto()?;
    s.connect(&netlink_sys::SocketAddr::new(0, 0))?;
    s.send(&diag::request(kind, seq), 0)?;
    let mut all = Vec::new();
    let mut parts = Vec::new();
    loop {
        let mut buf = Vec::with_capacity(64 * 1024);
        let n = s.recv(&mut buf, 0)?;
        parts.push(n);
        all.extend_from_slice(&buf[..n]);
        if diag::walk(&all, Some(seq), |_| Ok(()))?.done {
            return Ok((all, parts));
        }
    }
}

fn set_dump_intr(mut b: Vec<u8>) -> Vec<u8> {
    let mut pos = 0;
    while pos + 16 <= b.len() {
        let len = u32::from_ne_bytes([b[pos], b[pos + 1], b[pos + 2], b[pos + 3]]) as usize;
        let flags = u16::from_ne_bytes([b[pos + 6], b[pos + 7]]) | 0x10;
        b[pos + 6..pos + 8].copy_from_slice(&flags.to_ne_bytes());
        pos += ((len + 3) & !3).max(16);
    }
    b
}

fn fake_fds(dir: &Path, fds: &[i32]) -> anyhow::Result<()> {
    fs::create_dir_all(dir)?;
    for (i, fd) in fds.iter().enumerate() {
        // SAFETY: fstat writes only into the stat we pass.
        let mut st: libc::stat = unsafe { std::mem::zeroed() };
        if unsafe { libc::fstat(*fd, &mut st) } != 0 {
            anyhow::bail!("fstat: {}", std::io::Error::last_os_error());
        }
        std::os::unix::fs::symlink(
            format!("socket:[{}]", st.st_ino),
            dir.join((i + 3).to_string()),
        )?;
    }
    std::os::unix::fs::symlink("/dev/null", dir.join("0"))?;
    Ok(())
}

fn copy_tree(from: &Path, to: &Path) -> anyhow::Result<()> {
    fs::create_dir_all(to)?;
    for e in fs::read_dir(from)? {
        let e = e?;
        let ty = e.file_type()?;
        let dest = to.join(e.file_name());
        if ty.is_dir() {
            copy_tree(&e.path(), &dest)?;
        } else if ty.is_symlink() {
            std::os::unix::fs::symlink(fs::read_link(e.path())?, dest)?;
        } else {
            fs::copy(e.path(), dest)?;
        }
    }
    Ok(())
}

/// Re-copies `basic/tN` into `sock/tN`, keeping `netlink/` and every `proc/PID/fd`.
fn refresh_proc(root: &Path) -> anyhow::Result<()> {
    for t in ["t0", "t1"] {
        let dest = root.join("sock").join(t);
        let keep = std::env::temp_dir().join(format!("usetop-refresh-{}-{t}", std::process::id()));
        let _ = fs::remove_dir_all(&keep);
        fs::create_dir_all(&keep)?;
        copy_tree(&dest.join("netlink"), &keep.join("netlink"))?;
        let mut fds = Vec::new();
        for e in fs::read_dir(dest.join("proc"))? {
            let e = e?;
            if e.path().join("fd").is_dir() {
                let name = e.file_name();
                copy_tree(&e.path().join("fd"), &keep.join("fd").join(&name))?;
                fds.push(name);
            }
        }
        fs::remove_dir_all(&dest)?;
        copy_tree(&root.join("basic").join(t), &dest)?;
        copy_tree(&keep.join("netlink"), &dest.join("netlink"))?;
        for name in fds {
            copy_tree(
                &keep.join("fd").join(&name),
                &dest.join("proc").join(&name).join("fd"),
            )?;
        }
        fs::remove_dir_all(&keep)?;
    }
    println!("refreshed sock/t0, sock/t1 from basic");
    Ok(())
}
