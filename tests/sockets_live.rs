//! The socket collector against the live kernel: a loopback listener and clients opened by
//! the test, known byte counts sent, and the collector must see the sockets, their states,
//! this process as owner and the byte deltas.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::Arc;

use usetop::collectors::ProcRoot;
use usetop::collectors::sockets::SocketCollector;
use usetop::model::sockets::{self, SocketSample, TCP_ESTABLISHED, TCP_LISTEN};

fn read_exact_n(s: &mut TcpStream, n: usize) {
    let mut buf = vec![0u8; n];
    s.read_exact(&mut buf).unwrap();
}

/// A complete dump: other tests open and close sockets at the same time, and a dump the
/// kernel interrupted (NLM_F_DUMP_INTR, kept as "partial") may miss some of ours.
fn sample(c: &mut SocketCollector) -> SocketSample {
    for _ in 0..20 {
        let mut notes = Vec::new();
        let s = c.sample(&mut notes);
        assert!(s.error.is_none(), "{:?} {notes:?}", s.error);
        if !s.partial {
            return s;
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    panic!("every socket dump was interrupted");
}

#[test]
fn sees_own_loopback_sockets_with_owner_and_byte_deltas() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let mut pairs = Vec::new();
    for _ in 0..3 {
        let c = TcpStream::connect(("127.0.0.1", port)).unwrap();
        let (s, _) = listener.accept().unwrap();
        pairs.push((c, s));
    }
    let mut col = SocketCollector::new(&ProcRoot::default());
    // Our six sockets, each with its tcp_info, before any byte moves: a dump taken while
    // another test churns sockets can still miss one without flagging itself interrupted.
    let ours = |s: &SocketSample| {
        s.tcp
            .iter()
            .filter(|t| {
                (t.local.port() == port || t.peer.port() == port)
                    && t.state == TCP_ESTABLISHED
                    && t.info.is_some()
            })
            .count()
    };
    let mut before = sample(&mut col);
    for _ in 0..20 {
        if ours(&before) == 6 {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
        before = sample(&mut col);
    }
    assert_eq!(ours(&before), 6, "{:#?}", before.tcp);
    // Client i sends (i+1) * 100 KiB; the server echoes back half of it.
    for (i, (c, s)) in pairs.iter_mut().enumerate() {
        let n = (i + 1) * 100 * 1024;
        c.write_all(&vec![7u8; n]).unwrap();
        read_exact_n(s, n);
        s.write_all(&vec![9u8; n / 2]).unwrap();
        read_exact_n(c, n / 2);
    }
    // Acks for the last bytes may lag the read a little.
    std::thread::sleep(std::time::Duration::from_millis(50));
    let after = sample(&mut col);
    let me = std::process::id();

    let mine: Vec<_> = after
        .tcp
        .iter()
        .filter(|s| s.local.port() == port || s.peer.port() == port)
        // A TIME-WAIT socket left by an earlier connection on a reused port has no owner.
        .filter(|s| s.state == TCP_ESTABLISHED || s.state == TCP_LISTEN)
        .collect();
    let listen: Vec<_> = mine.iter().filter(|s| s.state == TCP_LISTEN).collect();
    assert_eq!(listen.len(), 1, "{mine:#?}");
    assert_eq!(
        mine.iter().filter(|s| s.state == TCP_ESTABLISHED).count(),
        6
    );
    for s in &mine {
        let o = s.owner.as_ref().expect("owner");
        assert_eq!(o.pid, me);
        assert!(s.info.is_some() && s.mem.is_some() && s.cong.is_some());
    }
    let dt = 1.0;
    let rates = sockets::socket_rates(Some(&before), &after, dt);
    for (i, (c, _)) in pairs.iter().enumerate() {
        let n = ((i + 1) * 100 * 1024) as f64;
        let local = c.local_addr().unwrap();
        // Established only: a TIME-WAIT socket of an earlier run can hold the same
        // ephemeral port, and it has no tcp_info.
        let live = |r: &&sockets::SockRate| r.sock.state == TCP_ESTABLISHED;
        let client = rates
            .iter()
            .filter(live)
            .find(|r| r.sock.local == local)
            .unwrap();
        let server = rates
            .iter()
            .filter(live)
            .find(|r| r.sock.peer == local)
            .unwrap();
        let close = |got: Option<f64>, want: f64| {
            let g = got.expect("rate");
            assert!((g - want).abs() <= want * 0.03, "got {g}, want {want}");
        };
        close(client.tx_bps, n);
        close(client.rx_bps, n / 2.0);
        close(server.rx_bps, n);
        close(server.tx_bps, n / 2.0);
    }
    let f = sockets::derive(Some(&before), &after, dt);
    let (tx, rx) = f.per_pid[&me];
    let total: f64 = (1..=3).map(|i| (i * 100 * 1024) as f64 * 1.5).sum();
    assert!(
        tx >= total * 0.97 && rx >= total * 0.97,
        "{tx} {rx} {total}"
    );
    // Steady state: a third sample with no new socket reuses unchanged sockets' Arcs.
    let again = sample(&mut col);
    let l1 = after
        .tcp
        .iter()
        .find(|s| s.state == TCP_LISTEN && s.local.port() == port);
    let l2 = again
        .tcp
        .iter()
        .find(|s| s.state == TCP_LISTEN && s.local.port() == port);
    assert!(Arc::ptr_eq(l1.unwrap(), l2.unwrap()));
}

#[test]
fn sees_zero_window_when_the_peer_stops_reading() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let mut client = TcpStream::connect(("127.0.0.1", port)).unwrap();
    let (_server, _) = listener.accept().unwrap();
    client.set_nonblocking(true).unwrap();
    // The server never reads: fill its receive buffer and the client's send buffer.
    let chunk = vec![1u8; 64 * 1024];
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    let mut col = SocketCollector::new(&ProcRoot::default());
    let local = client.local_addr().unwrap();
    let peer = client.peer_addr().unwrap();
    loop {
        match client.write(&chunk) {
            Ok(_) => continue,
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
            Err(e) => panic!("{e}"),
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
        let s = sample(&mut col);
        let me = s
            .tcp
            .iter()
            // The same local port may also name a TIME-WAIT socket from an
            // earlier connection to another peer: match the whole 4-tuple and
            // the live state.
            .find(|t| t.local == local && t.peer == peer && t.state == TCP_ESTABLISHED)
            .expect("client socket");
        if sockets::zero_window(me) {
            let f = sockets::derive(None, &s, 0.0);
            assert!(f.zero_window >= 1);
            return;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "no zero window seen: {me:?}"
        );
    }
}

/// One dump (`DumpKind::Tcp`, the kernel walks its socket hash once) holds the sockets of
/// both families, each parsed with its own family.
#[test]
fn one_tcp_dump_holds_both_families() {
    use usetop::collectors::sockets::diag::{self, DiagSource, DumpKind, Interner, NetlinkSource};
    let v4 = TcpListener::bind("127.0.0.1:0").unwrap();
    let v6 = match TcpListener::bind("[::1]:0") {
        Ok(l) => l,
        Err(e) => {
            eprintln!("skipped: no IPv6 loopback here ({e})");
            return;
        }
    };
    let (p4, p6) = (v4.local_addr().unwrap(), v6.local_addr().unwrap());
    let mut src = NetlinkSource::open().unwrap();
    assert!(src.kinds().contains(&DumpKind::Tcp));
    let mut names = Interner::default();
    for seq in 1..=20 {
        let mut buf = Vec::new();
        src.dump(DumpKind::Tcp, seq, &mut buf).unwrap();
        let mut socks = Vec::new();
        let st = diag::walk(&buf, Some(seq), |p| {
            socks.push(diag::parse_tcp(p, &mut names)?);
            Ok(())
        })
        .unwrap();
        assert!(st.done);
        let listening = |a: std::net::SocketAddr| {
            socks
                .iter()
                .any(|s| s.local == a && s.state == TCP_LISTEN && s.v6 == a.is_ipv6())
        };
        if listening(p4) && listening(p6) {
            return;
        }
        // Another test's sockets changed the tables mid-dump: try again.
        assert!(st.interrupted, "{p4} and {p6} not both in {socks:?}");
    }
    panic!("every dump was interrupted");
}
