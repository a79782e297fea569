//! netlink sock_diag: the dump requests, where their bytes come from (the kernel, or captured
//! files under `<proc-root>/../netlink/` for a fixture tree), and pure parsers over the bytes
//! of one dump. Messages are decoded with netlink-packet-sock-diag's rich attributes.

use std::collections::HashMap;
use std::io;
use std::mem::size_of;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use netlink_packet_core::{
    DecodeError, NLM_F_DUMP, NLM_F_DUMP_INTR, NLM_F_REQUEST, NLMSG_DONE, NLMSG_ERROR,
    NetlinkBuffer, NetlinkHeader, NetlinkMessage, NlasIterator, Parseable,
};
use netlink_packet_sock_diag::SockDiagMessage;
use netlink_packet_sock_diag::constants::{
    AF_INET, AF_INET6, AF_UNIX, INET_DIAG_INFO, IPPROTO_RAW, IPPROTO_TCP, IPPROTO_UDP,
    SOCK_DIAG_BY_FAMILY,
};
use netlink_packet_sock_diag::inet::nlas::{Nla, TcpInfo as KernelTcpInfo, TcpInfoBuffer};
use netlink_packet_sock_diag::inet::{
    ExtensionFlags, InetRequest, InetResponseHeader, SocketId, StateFlags, Timer,
};
use netlink_packet_sock_diag::unix::{self, UnixRequest};
use thiserror::Error;

use crate::model::sockets::{SkMem, StateCounts, TcpInfo, TcpSock};

/// One dump the collector asks for; `file_name` is its capture in a fixture tree.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DumpKind {
    /// TCP over both families in one dump: the old `TCPDIAG_GETSOCK` request, which the
    /// kernel answers with family `AF_UNSPEC`. Dumping TCP walks the whole established hash
    /// table (262,144 buckets on a 24 GiB machine, about 1 ms) whatever it holds, so one
    /// dump instead of `Tcp4` and `Tcp6` halves that. Live only: captures are per family.
    Tcp,
    Tcp4,
    Tcp6,
    Udp4,
    Udp6,
    Raw4,
    Raw6,
    Unix,
}

impl DumpKind {
    /// What a live sample asks the kernel for.
    pub const LIVE: [DumpKind; 6] = [
        DumpKind::Tcp,
        DumpKind::Udp4,
        DumpKind::Udp6,
        DumpKind::Raw4,
        DumpKind::Raw6,
        DumpKind::Unix,
    ];

    /// Every per-family dump: what a fixture tree holds, and what a kernel that refuses
    /// the combined TCP dump is asked instead.
    pub const ALL: [DumpKind; 7] = [
        DumpKind::Tcp4,
        DumpKind::Tcp6,
        DumpKind::Udp4,
        DumpKind::Udp6,
        DumpKind::Raw4,
        DumpKind::Raw6,
        DumpKind::Unix,
    ];

    pub fn is_tcp(self) -> bool {
        matches!(self, DumpKind::Tcp | DumpKind::Tcp4 | DumpKind::Tcp6)
    }

    pub fn file_name(self) -> &'static str {
        match self {
            DumpKind::Tcp => "tcp.bin",
            DumpKind::Tcp4 => "tcp4.bin",
            DumpKind::Tcp6 => "tcp6.bin",
            DumpKind::Udp4 => "udp4.bin",
            DumpKind::Udp6 => "udp6.bin",
            DumpKind::Raw4 => "raw4.bin",
            DumpKind::Raw6 => "raw6.bin",
            DumpKind::Unix => "unix.bin",
        }
    }
}

#[derive(Debug, Error)]
pub enum DiagError {
    /// The socket could not be opened or the kernel refused the request.
    #[error("netlink sock_diag refused: {0}")]
    Refused(io::Error),
    /// The kernel answered the dump with an error code (e.g. ENOENT: no raw_diag module).
    #[error("sock_diag answered: {0}")]
    Kernel(io::Error),
    #[error("sock_diag message truncated ({got} bytes, {need} needed)")]
    Truncated { got: usize, need: usize },
    #[error("bad sock_diag message: {0}")]
    Decode(String),
    #[error("{path}: {source}")]
    Fixture { path: PathBuf, source: io::Error },
}

impl From<DecodeError> for DiagError {
    fn from(e: DecodeError) -> Self {
        DiagError::Decode(e.to_string())
    }
}

/// `TCPDIAG_GETSOCK` (linux/inet_diag.h): the request type of `struct inet_diag_req`, and of
/// its replies.
pub const TCPDIAG_GETSOCK: u16 = 18;

/// `struct inet_diag_req` (the request before sock_diag's `inet_diag_req_v2`): family,
/// src_len, dst_len, ext, a 48-byte `inet_diag_sockid`, states, dbs.
const COMPAT_REQ_LEN: usize = 60;

/// The bytes of one whole dump request message.
pub fn request(kind: DumpKind, seq: u32) -> Vec<u8> {
    let inet = |family, protocol, ext| {
        SockDiagMessage::InetRequest(InetRequest {
            family,
            protocol,
            extensions: ext,
            states: StateFlags::all(),
            socket_id: if family == AF_INET {
                SocketId::new_v4()
            } else {
                SocketId::new_v6()
            },
        })
    };
    let tcp_ext = ExtensionFlags::INFO | ExtensionFlags::SKMEMINFO | ExtensionFlags::CONG;
    let msg = match kind {
        DumpKind::Tcp => return tcp_compat_request(seq),
        DumpKind::Tcp4 => inet(AF_INET, IPPROTO_TCP, tcp_ext),
        DumpKind::Tcp6 => inet(AF_INET6, IPPROTO_TCP, tcp_ext),
        DumpKind::Udp4 => inet(AF_INET, IPPROTO_UDP, ExtensionFlags::empty()),
        DumpKind::Udp6 => inet(AF_INET6, IPPROTO_UDP, ExtensionFlags::empty()),
        DumpKind::Raw4 => inet(AF_INET, IPPROTO_RAW, ExtensionFlags::empty()),
        DumpKind::Raw6 => inet(AF_INET6, IPPROTO_RAW, ExtensionFlags::empty()),
        DumpKind::Unix => SockDiagMessage::UnixRequest(UnixRequest {
            state_flags: unix::StateFlags::all(),
            inode: 0,
            show_flags: unix::ShowFlags::empty(),
            cookie: [0xff; 8],
        }),
    };
    let mut header = NetlinkHeader::default();
    header.flags = NLM_F_REQUEST | NLM_F_DUMP;
    header.sequence_number = seq;
    let mut m = NetlinkMessage::new(header, msg.into());
    m.finalize();
    let mut buf = vec![0; m.buffer_len()];
    m.serialize(&mut buf);
    if matches!(kind, DumpKind::Raw4 | DumpKind::Raw6) && buf.len() > 19 {
        // raw_diag reads the pad byte as the protocol to match; IPPROTO_RAW matches all.
        buf[16 + 3] = IPPROTO_RAW;
    }
    buf
}

/// TCP over both families in one dump (see `DumpKind::Tcp`), with the same extensions and
/// states as the per-family requests.
fn tcp_compat_request(seq: u32) -> Vec<u8> {
    let ext = (ExtensionFlags::INFO | ExtensionFlags::SKMEMINFO | ExtensionFlags::CONG).bits();
    let len = 16 + COMPAT_REQ_LEN;
    let mut b = Vec::with_capacity(len);
    b.extend_from_slice(&(len as u32).to_ne_bytes());
    b.extend_from_slice(&TCPDIAG_GETSOCK.to_ne_bytes());
    b.extend_from_slice(&(NLM_F_REQUEST | NLM_F_DUMP).to_ne_bytes());
    b.extend_from_slice(&seq.to_ne_bytes());
    b.extend_from_slice(&0u32.to_ne_bytes());
    // The family is ignored (the kernel dumps AF_UNSPEC); the socket id is all zeros.
    b.extend_from_slice(&[0, 0, 0, ext]);
    b.extend_from_slice(&[0; 48]);
    b.extend_from_slice(&StateFlags::all().bits().to_ne_bytes());
    b.extend_from_slice(&0u32.to_ne_bytes());
    b
}

/// Where dump bytes come from. `dump` appends every message of one dump (up to and
/// including NLMSG_DONE or NLMSG_ERROR) to `out`.
pub trait DiagSource: Send {
    fn dump(&mut self, kind: DumpKind, seq: u32, out: &mut Vec<u8>) -> Result<(), DiagError>;

    /// The dumps one sample asks for.
    fn kinds(&self) -> &'static [DumpKind] {
        &DumpKind::ALL
    }

    /// The kernel refused the combined TCP dump: ask per family from now on.
    fn split_tcp(&mut self) {}

    /// Whether replies carry the request's sequence number (captures keep their own), so
    /// leftovers of an abandoned dump can be told apart.
    fn echoes_seq(&self) -> bool {
        true
    }
}

/// Receive room per datagram: the kernel sizes dump batches to the reader's buffer (up to
/// 32 KiB), so anything at least that big never truncates; twice that leaves a margin.
const RECV_ROOM: usize = 64 * 1024;

pub struct NetlinkSource {
    sock: netlink_sys::Socket,
    /// The kernel refused the combined TCP dump: TCP is dumped per family from then on.
    per_family_tcp: bool,
}

impl NetlinkSource {
    pub fn open() -> Result<NetlinkSource, DiagError> {
        let mut sock = netlink_sys::Socket::new(netlink_sys::protocols::NETLINK_SOCK_DIAG)
            .map_err(DiagError::Refused)?;
        sock.bind_auto().map_err(DiagError::Refused)?;
        sock.connect(&netlink_sys::SocketAddr::new(0, 0))
            .map_err(DiagError::Refused)?;
        Ok(NetlinkSource {
            sock,
            per_family_tcp: false,
        })
    }
}

impl DiagSource for NetlinkSource {
    fn kinds(&self) -> &'static [DumpKind] {
        if self.per_family_tcp {
            &DumpKind::ALL
        } else {
            &DumpKind::LIVE
        }
    }

    fn split_tcp(&mut self) {
        self.per_family_tcp = true;
    }

    fn dump(&mut self, kind: DumpKind, seq: u32, out: &mut Vec<u8>) -> Result<(), DiagError> {
        let req = request(kind, seq);
        self.sock.send(&req, 0).map_err(DiagError::Refused)?;
        let mut scanned = out.len();
        loop {
            out.reserve(RECV_ROOM);
            let room = out.capacity() - out.len();
            let n = self
                .sock
                .recv(out, libc::MSG_TRUNC)
                .map_err(DiagError::Refused)?;
            if n > room {
                // The rest of this datagram is lost: the dump cannot be trusted.
                return Err(DiagError::Truncated { got: room, need: n });
            }
            if n == 0 {
                return Err(DiagError::Decode("netlink socket closed mid-dump".into()));
            }
            match find_end(&out[scanned..], seq)? {
                (_, true) => return Ok(()),
                (used, false) => scanned += used,
            }
        }
    }
}

/// Walks whole messages of `buf`; returns how many bytes were whole messages and whether
/// one of them ends the dump `seq`.
fn find_end(buf: &[u8], seq: u32) -> Result<(usize, bool), DiagError> {
    let mut pos = 0;
    while buf.len() - pos >= 16 {
        let m = NetlinkBuffer::new_checked(&buf[pos..]).map_err(|_| DiagError::Truncated {
            got: buf.len() - pos,
            need: u32::from_ne_bytes([buf[pos], buf[pos + 1], buf[pos + 2], buf[pos + 3]]) as usize,
        })?;
        let len = align4(m.length() as usize);
        if m.sequence_number() == seq
            && (m.message_type() == NLMSG_DONE || m.message_type() == NLMSG_ERROR)
        {
            return Ok((pos + len, true));
        }
        pos += len.max(16);
    }
    Ok((pos, false))
}

fn align4(n: usize) -> usize {
    (n + 3) & !3
}

/// Replays captured dumps: `<dir>/<kind>.bin` holds the bytes the kernel sent for one dump.
/// A fixture tree's `proc` and `netlink` directories sit side by side.
pub struct FileSource {
    pub dir: PathBuf,
}

impl DiagSource for FileSource {
    fn dump(&mut self, kind: DumpKind, _seq: u32, out: &mut Vec<u8>) -> Result<(), DiagError> {
        let path = self.dir.join(kind.file_name());
        let bytes = std::fs::read(&path).map_err(|e| DiagError::Fixture { path, source: e })?;
        out.extend_from_slice(&bytes);
        Ok(())
    }

    fn echoes_seq(&self) -> bool {
        false
    }
}

/// What one dump said besides its sockets.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct DumpStatus {
    /// Some message carried NLM_F_DUMP_INTR: the socket tables changed during the dump.
    pub interrupted: bool,
    /// Messages with socket data.
    pub messages: usize,
    /// The dump ended with NLMSG_DONE (or an error).
    pub done: bool,
}

/// Walks the messages of one dump, calling `each(payload)` for every sock_diag message.
/// Stops at NLMSG_DONE; NLMSG_ERROR (and an error code in DONE) becomes `Kernel`. Messages of
/// another sequence number (left over from an earlier dump) are skipped.
pub fn walk(
    buf: &[u8],
    seq: Option<u32>,
    mut each: impl FnMut(&[u8]) -> Result<(), DiagError>,
) -> Result<DumpStatus, DiagError> {
    let mut st = DumpStatus::default();
    let mut pos = 0;
    while pos < buf.len() {
        let rest = &buf[pos..];
        let m = NetlinkBuffer::new_checked(rest).map_err(|_| DiagError::Truncated {
            got: rest.len(),
            need: if rest.len() >= 4 {
                u32::from_ne_bytes([rest[0], rest[1], rest[2], rest[3]]) as usize
            } else {
                16
            },
        })?;
        let len = m.length() as usize;
        pos += align4(len).max(16);
        if seq.is_some_and(|s| s != m.sequence_number()) {
            continue;
        }
        if m.flags() & NLM_F_DUMP_INTR != 0 {
            st.interrupted = true;
        }
        let payload = &rest[16..len];
        match m.message_type() {
            NLMSG_DONE | NLMSG_ERROR => {
                st.done = true;
                let code = payload
                    .get(..4)
                    .map(|b| i32::from_ne_bytes([b[0], b[1], b[2], b[3]]))
                    .unwrap_or(0);
                // Saturating: a damaged message may carry i32::MIN, which has no negation.
                if code < 0 {
                    return Err(DiagError::Kernel(io::Error::from_raw_os_error(
                        code.saturating_neg(),
                    )));
                }
                return Ok(st);
            }
            SOCK_DIAG_BY_FAMILY | TCPDIAG_GETSOCK => {
                st.messages += 1;
                each(payload)?;
            }
            _ => {}
        }
    }
    Ok(st)
}

/// `inet_diag_msg` is 72 bytes before the attributes.
const INET_MSG_LEN: usize = 72;

/// Interns congestion-control names so 10,000 sockets share a handful of strings.
#[derive(Default)]
pub struct Interner(HashMap<String, Arc<str>>);

impl Interner {
    fn get(&mut self, s: String) -> Arc<str> {
        if let Some(a) = self.0.get(&s) {
            return Arc::clone(a);
        }
        let a: Arc<str> = Arc::from(s.as_str());
        self.0.insert(s, Arc::clone(&a));
        a
    }
}

/// Decodes one TCP `inet_diag_msg` with its attributes (no owner yet).
pub fn parse_tcp(payload: &[u8], names: &mut Interner) -> Result<TcpSock, DiagError> {
    if payload.len() < INET_MSG_LEN {
        return Err(DiagError::Truncated {
            got: payload.len(),
            need: INET_MSG_LEN,
        });
    }
    let h = InetResponseHeader::parse(&payload[..INET_MSG_LEN])?;
    let id = &h.socket_id;
    let mut s = TcpSock {
        v6: h.family == AF_INET6,
        state: h.state,
        local: SocketAddr::new(id.source_address, id.source_port),
        peer: SocketAddr::new(id.destination_address, id.destination_port),
        inode: h.inode,
        cookie: u64::from_ne_bytes(id.cookie),
        uid: h.uid,
        rqueue: h.recv_queue,
        wqueue: h.send_queue,
        timer: match h.timer {
            None => 0,
            Some(Timer::Retransmit(..)) => 1,
            Some(Timer::KeepAlive(_)) => 2,
            Some(Timer::TimeWait) => 3,
            Some(Timer::Probe(_)) => 4,
        },
        ..Default::default()
    };
    for nla in NlasIterator::new(&payload[INET_MSG_LEN..]) {
        let nla = nla?;
        if nla.kind() == INET_DIAG_INFO {
            s.info = Some(parse_tcp_info(nla.value())?);
            continue;
        }
        match Nla::parse(&nla)? {
            Nla::MemInfo(m) => {
                s.mem = Some(SkMem {
                    rmem_alloc: m.receive_queue,
                    rcvbuf: m.receive_queue_max,
                    wmem_alloc: m.bottom_send_queues,
                    sndbuf: m.send_queue_max,
                    fwd_alloc: m.cache,
                    wmem_queued: m.send_queue,
                    optmem: m.options,
                    backlog: m.backlog_queue_length,
                    drops: m.drops,
                })
            }
            Nla::Congestion(c) => s.cong = Some(names.get(c)),
            _ => {}
        }
    }
    Ok(s)
}

/// `tcp_info` grows with kernel versions: an older, shorter one is padded with zeros so the
/// crate's fixed layout parses it, and fields it lacks are marked absent.
pub fn parse_tcp_info(value: &[u8]) -> Result<TcpInfo, DiagError> {
    let full = size_of::<TcpInfoBuffer>();
    let t = if value.len() >= full {
        KernelTcpInfo::parse(value)?
    } else {
        let mut padded = value.to_vec();
        padded.resize(full, 0);
        KernelTcpInfo::parse(&padded)?
    };
    Ok(TcpInfo {
        ca_state: t.ca_state,
        retransmits: t.retransmits,
        probes: t.probes,
        backoff: t.backoff,
        rto_us: t.rto,
        rtt_us: t.rtt,
        rttvar_us: t.rttvar,
        min_rtt_us: t.min_rtt,
        snd_mss: t.snd_mss,
        cwnd: t.snd_cwnd,
        ssthresh: t.snd_ssthresh,
        unacked: t.unacked,
        lost: t.lost,
        total_retrans: t.total_retrans,
        pacing_rate: t.pacing_rate,
        delivery_rate: t.delivery_rate,
        bytes_acked: t.bytes_acked,
        bytes_received: t.bytes_received,
        bytes_sent: t.bytes_sent,
        bytes_retrans: t.bytes_retrans,
        segs_out: t.segs_out,
        segs_in: t.segs_in,
        notsent_bytes: t.notsent_bytes,
        rcv_space: t.rcv_space,
        snd_wnd: (value.len() >= full).then_some(t.snd_wnd),
    })
}

/// Counts one UDP / raw `inet_diag_msg` or one `unix_diag_msg` by state.
pub fn count_state(payload: &[u8], counts: &mut StateCounts) -> Result<(), DiagError> {
    let state = match payload.first() {
        Some(&AF_UNIX) => {
            let h = unix::UnixResponseHeader::parse(payload)?;
            h.state
        }
        Some(_) => {
            if payload.len() < INET_MSG_LEN {
                return Err(DiagError::Truncated {
                    got: payload.len(),
                    need: INET_MSG_LEN,
                });
            }
            InetResponseHeader::parse(&payload[..INET_MSG_LEN])?.state
        }
        None => return Err(DiagError::Decode("empty sock_diag message".into())),
    };
    if let Some(c) = counts.get_mut(usize::from(state)) {
        *c += 1;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_are_well_formed() {
        let r = request(DumpKind::Tcp4, 7);
        assert_eq!(r.len(), 16 + 56);
        assert_eq!(
            u32::from_ne_bytes([r[0], r[1], r[2], r[3]]) as usize,
            r.len()
        );
        assert_eq!(r[16], AF_INET);
        assert_eq!(r[17], IPPROTO_TCP);
        assert_eq!(request(DumpKind::Raw6, 1)[19], IPPROTO_RAW);
        let u = request(DumpKind::Unix, 1);
        assert_eq!(u[16], AF_UNIX);
        // Both families: the old request, `struct inet_diag_req`, with the same extensions
        // and states as the per-family one.
        let c = request(DumpKind::Tcp, 9);
        assert_eq!(c.len(), 16 + 60);
        assert_eq!(
            u32::from_ne_bytes([c[0], c[1], c[2], c[3]]) as usize,
            c.len()
        );
        assert_eq!(u16::from_ne_bytes([c[4], c[5]]), TCPDIAG_GETSOCK);
        assert_eq!(u32::from_ne_bytes([c[8], c[9], c[10], c[11]]), 9);
        assert_eq!(c[16 + 3], r[16 + 2], "extensions");
        assert_eq!(&c[16 + 52..16 + 56], &r[16 + 4..16 + 8], "states");
    }

    #[test]
    fn truncated_message_is_an_error_not_a_panic() {
        let r = request(DumpKind::Tcp4, 7);
        let err = walk(&r[..40], None, |_| Ok(())).unwrap_err();
        assert!(matches!(err, DiagError::Truncated { .. }), "{err}");
        assert!(walk(&[1, 2], None, |_| Ok(())).is_err());
        let mut n = Interner::default();
        assert!(parse_tcp(&[2u8; 10], &mut n).is_err());
    }

    #[test]
    fn error_message_carries_errno() {
        let mut m = vec![0u8; 36];
        m[..4].copy_from_slice(&36u32.to_ne_bytes());
        m[4..6].copy_from_slice(&NLMSG_ERROR.to_ne_bytes());
        m[16..20].copy_from_slice(&(-libc::ENOENT).to_ne_bytes());
        let err = walk(&m, None, |_| Ok(())).unwrap_err();
        assert!(err.to_string().contains("No such file"), "{err}");
    }

    #[test]
    fn short_tcp_info_is_padded() {
        let t = parse_tcp_info(&[0u8; 104]).unwrap();
        assert_eq!(t.snd_wnd, None);
    }
}
