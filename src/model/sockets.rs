//! TCP sockets over netlink sock_diag and their owning processes: the raw per-socket sample
//! (ss -tmi figures), counts of the other socket kinds, and the derived rates: per socket,
//! per owning process and for the whole host. Only TCP carries byte counters, so the
//! per-process network figures count TCP only.

use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use super::counters::delta;

/// Kernel TCP state numbers (`include/net/tcp_states.h`); index 0 is unused.
pub const TCP_ESTABLISHED: u8 = 1;
pub const TCP_SYN_SENT: u8 = 2;
pub const TCP_SYN_RECV: u8 = 3;
pub const TCP_TIME_WAIT: u8 = 6;
pub const TCP_CLOSE: u8 = 7;
pub const TCP_LISTEN: u8 = 10;

/// Socket counts by kernel state number (1..=11).
pub type StateCounts = [u32; 12];

/// ss's short state names.
pub fn state_name(state: u8) -> &'static str {
    match state {
        1 => "ESTAB",
        2 => "SYN-SENT",
        3 => "SYN-RECV",
        4 => "FIN-WAIT-1",
        5 => "FIN-WAIT-2",
        6 => "TIME-WAIT",
        7 => "UNCONN",
        8 => "CLOSE-WAIT",
        9 => "LAST-ACK",
        10 => "LISTEN",
        11 => "CLOSING",
        12 => "NEW-SYN-RECV",
        _ => "UNKNOWN",
    }
}

/// Raw counters as read; part of the recording format (add fields with `#[serde(default)]`).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct SocketSample {
    /// Every TCP socket, IPv4 then IPv6, in dump order. A socket unchanged since the previous
    /// sample is the same `Arc`, so a ring of idle sockets costs little.
    pub tcp: Vec<Arc<TcpSock>>,
    pub udp: StateCounts,
    /// `None` when the kernel has no raw socket diagnostics (module `raw_diag` absent).
    pub raw: Option<StateCounts>,
    pub unix: StateCounts,
    /// A dump was still interrupted (NLM_F_DUMP_INTR) after the retries: the list may miss
    /// or repeat sockets.
    pub partial: bool,
    /// Why sockets could not be listed at all (netlink refused, fixture without captures).
    pub error: Option<String>,
    /// Sockets whose owner stayed unknown because some /proc/PID/fd could not be read.
    pub owners_denied: u32,
    /// True when owners were looked up at all (false on the first live sample, which leaves
    /// the costly /proc/PID/fd scan to the next one).
    pub owners_known: bool,
}

/// One TCP socket as `ss -tmi` shows it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TcpSock {
    pub v6: bool,
    pub state: u8,
    pub local: SocketAddr,
    pub peer: SocketAddr,
    /// 0 for sockets without a file (TIME-WAIT, SYN-RECV).
    pub inode: u32,
    pub cookie: u64,
    pub uid: u32,
    /// Bytes not yet read; for LISTEN the current accept queue.
    pub rqueue: u32,
    /// Bytes not yet acknowledged; for LISTEN the backlog.
    pub wqueue: u32,
    /// The timer running (ss -o): 0 none, 1 retransmit, 2 keepalive, 3 time-wait,
    /// 4 zero-window probe.
    pub timer: u8,
    pub info: Option<TcpInfo>,
    pub mem: Option<SkMem>,
    pub cong: Option<Arc<str>>,
    pub owner: Option<Owner>,
}

impl TcpSock {
    /// Identity across samples: the inode alone is 0 for TIME-WAIT sockets, and a cookie is
    /// never reused while the kernel runs.
    pub fn key(&self) -> (u32, u64) {
        (self.inode, self.cookie)
    }
}

impl Default for TcpSock {
    fn default() -> Self {
        let any = SocketAddr::new(IpAddr::V4(Ipv4Addr::UNSPECIFIED), 0);
        TcpSock {
            v6: false,
            state: 0,
            local: any,
            peer: any,
            inode: 0,
            cookie: 0,
            uid: 0,
            rqueue: 0,
            wqueue: 0,
            timer: 0,
            info: None,
            mem: None,
            cong: None,
            owner: None,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Owner {
    pub pid: u32,
    pub comm: Arc<str>,
}

/// The parts of `struct tcp_info` usetop shows. Times are microseconds, rates bytes/s.
/// Fields that change without traffic (time since last send) are left out on purpose, so an
/// idle socket compares equal to its previous sample.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TcpInfo {
    pub ca_state: u8,
    /// Retransmissions of the current segment (timeouts since the last ACK).
    pub retransmits: u8,
    pub probes: u8,
    pub backoff: u8,
    pub rto_us: u32,
    pub rtt_us: u32,
    pub rttvar_us: u32,
    pub min_rtt_us: u32,
    pub snd_mss: u32,
    pub cwnd: u32,
    pub ssthresh: u32,
    pub unacked: u32,
    pub lost: u32,
    pub total_retrans: u32,
    pub pacing_rate: u64,
    pub delivery_rate: u64,
    pub bytes_acked: u64,
    pub bytes_received: u64,
    pub bytes_sent: u64,
    pub bytes_retrans: u64,
    pub segs_out: u32,
    pub segs_in: u32,
    pub notsent_bytes: u32,
    pub rcv_space: u32,
    /// The peer's advertised receive window; `None` on kernels older than 5.4.
    pub snd_wnd: Option<u32>,
}

/// `INET_DIAG_SKMEMINFO`, as ss -m prints it: skmem:(r,rb,t,tb,f,w,o,bl,d).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SkMem {
    pub rmem_alloc: u32,
    pub rcvbuf: u32,
    pub wmem_alloc: u32,
    pub sndbuf: u32,
    pub fwd_alloc: u32,
    pub wmem_queued: u32,
    pub optmem: u32,
    pub backlog: u32,
    pub drops: u32,
}

impl SkMem {
    /// Memory the socket holds now: receive + send queues, reserve and options.
    pub fn total(&self) -> u64 {
        u64::from(self.rmem_alloc)
            + u64::from(self.wmem_queued)
            + u64::from(self.fwd_alloc)
            + u64::from(self.optmem)
    }
}

/// One socket with its rates over the interval; `None` rates for a socket not in the
/// previous sample (or no interval).
#[derive(Clone, Debug)]
pub struct SockRate {
    pub sock: Arc<TcpSock>,
    pub tx_bps: Option<f64>,
    pub rx_bps: Option<f64>,
    /// Segments retransmitted during the interval.
    pub retrans: Option<u32>,
}

/// A LISTEN socket's accept queue against its backlog.
#[derive(Clone, Debug, PartialEq)]
pub struct ListenFill {
    pub local: SocketAddr,
    pub queue: u32,
    pub backlog: u32,
}

impl ListenFill {
    pub fn pct(&self) -> f64 {
        if self.backlog == 0 {
            if self.queue > 0 { 100.0 } else { 0.0 }
        } else {
            f64::from(self.queue) * 100.0 / f64::from(self.backlog)
        }
    }
}

/// Listen queues at or above this share of their backlog count as saturated.
pub const LISTEN_NEAR_FULL_PCT: f64 = 80.0;

/// Rates and USE figures derived from two samples.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct SocketFigures {
    pub tcp_total: usize,
    pub tcp_by_state: StateCounts,
    /// Sum over all TCP sockets of bytes acknowledged / received per second.
    pub tx_bps: Option<f64>,
    pub rx_bps: Option<f64>,
    /// TCP bytes/s (tx, rx) per owning pid; empty without an interval. TCP only.
    pub per_pid: HashMap<u32, (f64, f64)>,
    /// Sockets that retransmitted during the interval, and how many segments.
    pub retrans_sockets: Option<u32>,
    pub retrans_segs: Option<u64>,
    /// Established sockets whose peer advertises a zero window (or that probe one).
    pub zero_window: u32,
    /// LISTEN sockets whose accept queue is at or above `LISTEN_NEAR_FULL_PCT` of the backlog.
    pub listen_near_full: u32,
    /// The fullest listen queue, if any socket listens.
    pub listen_worst: Option<ListenFill>,
}

/// Per-socket rates, matching sockets across samples by (inode, cookie).
/// `Snapshot::socket_rates` keeps the result; this derives it afresh.
pub fn socket_rates(prev: Option<&SocketSample>, cur: &SocketSample, dt_s: f64) -> Vec<SockRate> {
    let before: HashMap<(u32, u64), &TcpSock> = match prev {
        Some(p) if dt_s > 0.0 => p.tcp.iter().map(|s| (s.key(), s.as_ref())).collect(),
        _ => HashMap::new(),
    };
    cur.tcp
        .iter()
        .map(|s| {
            let old = before.get(&s.key()).and_then(|o| o.info.as_ref());
            let (tx, rx, re) = match (old, s.info.as_ref()) {
                (Some(o), Some(n)) => (
                    Some(delta(o.bytes_acked, n.bytes_acked) as f64 / dt_s),
                    Some(delta(o.bytes_received, n.bytes_received) as f64 / dt_s),
                    Some(n.total_retrans.saturating_sub(o.total_retrans)),
                ),
                _ => (None, None, None),
            };
            SockRate {
                sock: Arc::clone(s),
                tx_bps: tx,
                rx_bps: rx,
                retrans: re,
            }
        })
        .collect()
}

/// The timer a socket probes a closed window with.
pub const TIMER_PROBE: u8 = 4;

/// A socket whose peer's receive window is closed, so it can send nothing: the peer
/// advertises zero, or the zero-window probe timer runs (kernels without `tcpi_snd_wnd`).
pub fn zero_window(s: &TcpSock) -> bool {
    s.state == TCP_ESTABLISHED
        && (s.info.as_ref().and_then(|i| i.snd_wnd) == Some(0) || s.timer == TIMER_PROBE)
}

pub fn derive(prev: Option<&SocketSample>, cur: &SocketSample, dt_s: f64) -> SocketFigures {
    let mut f = SocketFigures {
        tcp_total: cur.tcp.len(),
        ..Default::default()
    };
    let has_rates = prev.is_some() && dt_s > 0.0;
    let (mut tx, mut rx, mut re_socks, mut re_segs) = (0.0, 0.0, 0u32, 0u64);
    for r in socket_rates(prev, cur, dt_s) {
        let s = &r.sock;
        if let Some(c) = f.tcp_by_state.get_mut(usize::from(s.state)) {
            *c += 1;
        }
        if zero_window(s) {
            f.zero_window += 1;
        }
        if s.state == TCP_LISTEN {
            let fill = ListenFill {
                local: s.local,
                queue: s.rqueue,
                backlog: s.wqueue,
            };
            if fill.pct() >= LISTEN_NEAR_FULL_PCT && fill.queue > 0 {
                f.listen_near_full += 1;
            }
            if f.listen_worst.as_ref().is_none_or(|w| fill.pct() > w.pct()) {
                f.listen_worst = Some(fill);
            }
        }
        let (t, x) = (r.tx_bps.unwrap_or(0.0), r.rx_bps.unwrap_or(0.0));
        tx += t;
        rx += x;
        if let Some(n) = r.retrans.filter(|n| *n > 0) {
            re_socks += 1;
            re_segs += u64::from(n);
        }
        if let Some(o) = &s.owner
            && r.tx_bps.is_some()
        {
            let e = f.per_pid.entry(o.pid).or_insert((0.0, 0.0));
            e.0 += t;
            e.1 += x;
        }
    }
    if has_rates {
        f.tx_bps = Some(tx);
        f.rx_bps = Some(rx);
        f.retrans_sockets = Some(re_socks);
        f.retrans_segs = Some(re_segs);
    }
    f
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sock(inode: u32, cookie: u64, acked: u64, recv: u64, retr: u32, pid: u32) -> Arc<TcpSock> {
        Arc::new(TcpSock {
            state: TCP_ESTABLISHED,
            inode,
            cookie,
            info: Some(TcpInfo {
                bytes_acked: acked,
                bytes_received: recv,
                total_retrans: retr,
                snd_wnd: Some(1000),
                ..Default::default()
            }),
            owner: Some(Owner {
                pid,
                comm: "x".into(),
            }),
            ..Default::default()
        })
    }

    #[test]
    fn rates_match_by_identity_and_sum_per_pid() {
        let p = SocketSample {
            tcp: vec![sock(1, 10, 100, 0, 0, 7), sock(2, 20, 0, 50, 1, 7)],
            ..Default::default()
        };
        let c = SocketSample {
            tcp: vec![
                sock(1, 10, 2100, 0, 2, 7),
                sock(2, 20, 0, 1050, 1, 7),
                // Same inode, new cookie: a different socket, no rate.
                sock(3, 30, 999, 999, 0, 8),
            ],
            ..Default::default()
        };
        let f = derive(Some(&p), &c, 2.0);
        assert_eq!(f.tx_bps, Some(1000.0));
        assert_eq!(f.rx_bps, Some(500.0));
        assert_eq!(f.per_pid.get(&7), Some(&(1000.0, 500.0)));
        assert_eq!(f.retrans_sockets, Some(1));
        assert_eq!(f.retrans_segs, Some(2));
        assert_eq!(f.tcp_by_state[1], 3);
        let r = socket_rates(Some(&p), &c, 2.0);
        assert!(r[2].tx_bps.is_none());
    }

    #[test]
    fn counter_going_back_is_zero_and_no_prev_no_rates() {
        let p = SocketSample {
            tcp: vec![sock(1, 10, 5000, 0, 0, 7)],
            ..Default::default()
        };
        let c = SocketSample {
            tcp: vec![sock(1, 10, 10, 0, 0, 7)],
            ..Default::default()
        };
        assert_eq!(derive(Some(&p), &c, 1.0).tx_bps, Some(0.0));
        let f = derive(None, &c, 0.0);
        assert_eq!(f.tx_bps, None);
        assert!(f.per_pid.is_empty());
    }

    #[test]
    fn listen_fill_and_zero_window() {
        let l = Arc::new(TcpSock {
            state: TCP_LISTEN,
            rqueue: 9,
            wqueue: 10,
            ..Default::default()
        });
        let mut z = (*sock(5, 50, 0, 0, 0, 1)).clone();
        if let Some(i) = z.info.as_mut() {
            i.snd_wnd = Some(0);
        }
        let c = SocketSample {
            tcp: vec![l, Arc::new(z)],
            ..Default::default()
        };
        let f = derive(None, &c, 0.0);
        assert_eq!(f.listen_near_full, 1);
        assert_eq!(f.zero_window, 1);
        assert_eq!(f.listen_worst.map(|w| w.pct()), Some(90.0));
    }
}
