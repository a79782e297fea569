//! sock_diag parsers and the socket collector on captured kernel bytes (written by
//! `examples/capture_netlink.rs`): a multi-part dump, a dump marked NLM_F_DUMP_INTR, and the
//! `sock` fixture trees with fake /proc/PID/fd owners.

mod common;

use std::sync::{Arc, Mutex};

use usetop::collectors::sockets::SocketCollector;
use usetop::collectors::sockets::diag::{
    self, DiagError, DiagSource, DumpKind, FileSource, Interner,
};
use usetop::model::sockets::{TCP_ESTABLISHED, TCP_LISTEN};

fn bytes(name: &str) -> Vec<u8> {
    std::fs::read(common::fixtures().join("netlink").join(name)).unwrap()
}

#[test]
fn multi_part_dump_parses_datagram_by_datagram() {
    let all = bytes("tcp4-multi.bin");
    let parts: Vec<usize> =
        std::fs::read_to_string(common::fixtures().join("netlink/tcp4-multi.parts"))
            .unwrap()
            .lines()
            .map(|l| l.parse().unwrap())
            .collect();
    assert!(parts.len() > 2, "capture should span several datagrams");
    assert_eq!(parts.iter().sum::<usize>(), all.len());
    let mut names = Interner::default();
    let mut socks = Vec::new();
    let mut off = 0;
    let mut done = false;
    for p in &parts {
        let st = diag::walk(&all[off..off + p], None, |m| {
            socks.push(diag::parse_tcp(m, &mut names)?);
            Ok(())
        })
        .unwrap();
        assert!(!st.interrupted);
        done = st.done;
        off += p;
    }
    assert!(done, "the last datagram ends the dump");
    // 150 connections, both ends, plus the listener.
    assert_eq!(socks.len(), 301);
    assert_eq!(socks.iter().filter(|s| s.state == TCP_LISTEN).count(), 1);
    assert_eq!(
        socks.iter().filter(|s| s.state == TCP_ESTABLISHED).count(),
        300
    );
    for s in &socks {
        let i = s.info.as_ref().expect("tcp_info");
        assert!(i.snd_wnd.is_some());
        assert!(s.mem.is_some());
        assert!(s.cong.is_some());
        assert!(s.local.ip().is_loopback());
    }
}

#[test]
fn whole_multi_part_dump_in_one_buffer() {
    let all = bytes("tcp4-multi.bin");
    let mut n = 0;
    let st = diag::walk(&all, None, |_| {
        n += 1;
        Ok(())
    })
    .unwrap();
    assert!(st.done);
    assert_eq!((n, st.messages), (301, 301));
}

#[test]
fn truncated_capture_is_an_error() {
    let all = bytes("tcp4-multi.bin");
    let err = diag::walk(&all[..5000], None, |_| Ok(())).unwrap_err();
    assert!(matches!(err, DiagError::Truncated { .. }), "{err}");
}

/// Serves fixture bytes and counts how often each dump was asked for.
struct Counting {
    inner: FileSource,
    intr: Vec<u8>,
    calls: Arc<Mutex<Vec<DumpKind>>>,
}

impl DiagSource for Counting {
    fn dump(&mut self, kind: DumpKind, seq: u32, out: &mut Vec<u8>) -> Result<(), DiagError> {
        self.calls.lock().unwrap().push(kind);
        if kind == DumpKind::Tcp4 {
            out.extend_from_slice(&self.intr);
            return Ok(());
        }
        self.inner.dump(kind, seq, out)
    }

    fn echoes_seq(&self) -> bool {
        false
    }
}

#[test]
fn dump_intr_is_retried_then_marked_partial() {
    let intr = bytes("tcp4-intr.bin");
    let st = diag::walk(&intr, None, |_| Ok(())).unwrap();
    assert!(st.interrupted);
    let t1 = &common::fixture_roots("sock")[1];
    let calls = Arc::new(Mutex::new(Vec::new()));
    let src = Counting {
        inner: FileSource {
            dir: t1.proc.parent().unwrap().join("netlink"),
        },
        intr,
        calls: Arc::clone(&calls),
    };
    let mut c = SocketCollector::with_source(t1, Ok(Box::new(src)), false);
    let mut notes = Vec::new();
    let s = c.sample(&mut notes);
    assert!(s.partial);
    assert!(!s.tcp.is_empty(), "the partial result is still shown");
    assert!(
        notes.iter().any(|n| n.source == "sock.partial"),
        "{notes:?}"
    );
    let tries = calls
        .lock()
        .unwrap()
        .iter()
        .filter(|k| **k == DumpKind::Tcp4)
        .count();
    assert_eq!(tries, 3);
}

#[test]
fn fixture_tree_gives_sockets_counts_and_owners() {
    let roots = common::fixture_roots("sock");
    let mut c = SocketCollector::new(&roots[1]);
    let mut notes = Vec::new();
    let s = c.sample(&mut notes);
    assert!(
        s.error.is_none() && notes.is_empty(),
        "{:?} {notes:?}",
        s.error
    );
    assert!(!s.partial);
    // 3 + 1 served connections (both ends), 4 queued (both ends: client ESTAB, server side
    // in the accept queue), 3 listeners.
    let listen: Vec<_> = s.tcp.iter().filter(|t| t.state == TCP_LISTEN).collect();
    assert_eq!(listen.len(), 3);
    let busy = listen.iter().find(|l| l.local.port() == 5432).unwrap();
    assert_eq!(busy.rqueue, 4, "accept queue");
    assert!(s.tcp.iter().any(|t| t.v6));
    for t in s.tcp.iter().filter(|t| t.inode != 0) {
        let o = t
            .owner
            .as_ref()
            .unwrap_or_else(|| panic!("no owner: {t:?}"));
        if t.local.port() == 8080 || t.local.port() == 8443 || t.local.port() == 5432 {
            assert_eq!(o.pid, 300);
        } else {
            assert_eq!(o.pid, 200);
        }
    }
    assert_eq!(
        s.udp[7] + s.udp[1],
        2,
        "one unconnected, one connected UDP socket"
    );
    assert!(s.unix.iter().sum::<u32>() >= 3);
    // The capturing kernel has no raw_diag: its DONE carries ENOENT, so raw counts are n/a.
    assert_eq!(s.raw, None);
}

#[test]
fn fixture_without_captures_is_quiet_and_empty() {
    let roots = common::fixture_roots("basic");
    let mut c = SocketCollector::new(&roots[0]);
    let mut notes = Vec::new();
    let s = c.sample(&mut notes);
    assert!(notes.is_empty());
    assert!(s.tcp.is_empty());
    assert!(s.error.is_some());
}

/// A kernel without the old combined TCP request: it answers `DumpKind::Tcp` with an error,
/// and the collector dumps each family instead, then and in every later sample.
struct NoCombined {
    inner: FileSource,
    split: bool,
    calls: Arc<Mutex<Vec<DumpKind>>>,
}

impl DiagSource for NoCombined {
    fn dump(&mut self, kind: DumpKind, seq: u32, out: &mut Vec<u8>) -> Result<(), DiagError> {
        self.calls.lock().unwrap().push(kind);
        if kind == DumpKind::Tcp {
            return Err(DiagError::Kernel(std::io::Error::from_raw_os_error(
                libc::EINVAL,
            )));
        }
        self.inner.dump(kind, seq, out)
    }

    fn kinds(&self) -> &'static [DumpKind] {
        if self.split {
            &DumpKind::ALL
        } else {
            &DumpKind::LIVE
        }
    }

    fn split_tcp(&mut self) {
        self.split = true;
    }

    fn echoes_seq(&self) -> bool {
        false
    }
}

#[test]
fn refused_combined_tcp_dump_falls_back_to_one_per_family() {
    let t1 = &common::fixture_roots("sock")[1];
    let dir = t1.proc.parent().unwrap().join("netlink");
    let mut want =
        SocketCollector::with_source(t1, Ok(Box::new(FileSource { dir: dir.clone() })), false);
    let want = want.sample(&mut Vec::new());
    let calls = Arc::new(Mutex::new(Vec::new()));
    let src = NoCombined {
        inner: FileSource { dir },
        split: false,
        calls: Arc::clone(&calls),
    };
    let mut c = SocketCollector::with_source(t1, Ok(Box::new(src)), false);
    for _ in 0..2 {
        let mut notes = Vec::new();
        let s = c.sample(&mut notes);
        assert!(
            s.error.is_none() && notes.is_empty(),
            "{:?} {notes:?}",
            s.error
        );
        assert_eq!(s.tcp.len(), want.tcp.len());
        assert!(!s.tcp.is_empty());
    }
    let calls = calls.lock().unwrap();
    let tcp: Vec<_> = calls.iter().filter(|k| k.is_tcp()).collect();
    assert_eq!(
        tcp,
        [
            &DumpKind::Tcp,
            &DumpKind::Tcp4,
            &DumpKind::Tcp6,
            &DumpKind::Tcp4,
            &DumpKind::Tcp6
        ]
    );
}
