//! TCP retransmits and resets from the kernel's TCP tracepoints (tcpretrans): one
//! interval's `tcp_retransmit_skb`, `tcp_send_reset` and `tcp_receive_reset` as the sampler
//! aggregated them, the owners of the retransmitting sockets, and what the sock and net
//! panes, the overview, dump and OpenMetrics draw from it.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use super::Snapshot;
use super::blktrace::TraceState;
use super::sockets::{Owner, TcpSock};

/// How many retransmits an interval keeps as events (the last ones).
pub const EVENTS: usize = 64;
/// How many peers the per-peer lists keep (the most active).
pub const PEERS: usize = 32;

/// One interval of traced TCP events (`Sample::tcp_trace`; `None` while no pane or
/// recording asked for it).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct TcpTrace {
    pub state: TraceState,
    /// Nanoseconds of tracing this sample covers.
    pub span_ns: u64,
    /// Every retransmit of the interval (exact, however many `events` kept).
    pub retransmits: u64,
    pub resets_sent: u64,
    pub resets_received: u64,
    /// The interval's last `EVENTS` retransmits, oldest first.
    pub events: Vec<Retransmit>,
    /// Retransmits by remote address and port, most first (at most `PEERS`).
    pub retrans_peers: Vec<PeerCount>,
    /// Resets sent and received by remote address, most first (at most `PEERS`).
    pub reset_peers: Vec<PeerResets>,
    /// Events the kernel dropped (ring buffer full) or that did not parse.
    pub lost: u64,
}

/// A retransmit as tcpretrans prints it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Retransmit {
    /// Monotonic time, ns (the sample's `mono_ns` clock).
    pub time_ns: u64,
    pub local: SocketAddr,
    pub remote: SocketAddr,
    /// The socket's TCP state (`sockets::state_name`).
    pub state: u8,
    /// The owning process, from the sockets collector's row with the same 4-tuple.
    pub owner: Option<(u32, String)>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PeerCount {
    pub remote: SocketAddr,
    pub count: u64,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PeerResets {
    pub addr: IpAddr,
    pub sent: u64,
    pub received: u64,
}

impl PeerResets {
    pub fn total(&self) -> u64 {
        self.sent.saturating_add(self.received)
    }
}

/// An IPv4-mapped IPv6 address as the IPv4 address it is, so a dual-stack socket and a
/// record of it compare equal.
fn canonical(a: SocketAddr) -> SocketAddr {
    SocketAddr::new(a.ip().to_canonical(), a.port())
}

impl TcpTrace {
    /// Names each retransmit's owner from the sockets with its 4-tuple (the sockets
    /// collector carries owners where its owner scan ran).
    pub fn attach_owners(&mut self, socks: &[Arc<TcpSock>]) {
        if self.events.is_empty() {
            return;
        }
        // One pass over the sockets (there may be tens of thousands), not one per event.
        let owners: HashMap<(SocketAddr, SocketAddr), &Owner> = socks
            .iter()
            .filter_map(|s| {
                let o = s.owner.as_ref()?;
                Some(((canonical(s.local), canonical(s.peer)), o))
            })
            .collect();
        for ev in &mut self.events {
            ev.owner = owners
                .get(&(canonical(ev.local), canonical(ev.remote)))
                .map(|o| (o.pid, o.comm.to_string()));
        }
    }

    fn per_s(&self, n: u64) -> f64 {
        if self.span_ns == 0 {
            0.0
        } else {
            n as f64 * 1e9 / self.span_ns as f64
        }
    }

    pub fn retransmits_s(&self) -> f64 {
        self.per_s(self.retransmits)
    }

    pub fn resets_sent_s(&self) -> f64 {
        self.per_s(self.resets_sent)
    }

    pub fn resets_received_s(&self) -> f64 {
        self.per_s(self.resets_received)
    }

    /// The peer with the most retransmits.
    pub fn worst_retrans(&self) -> Option<&PeerCount> {
        self.retrans_peers.first()
    }

    /// The peer with the most resets, both ways.
    pub fn worst_resets(&self) -> Option<&PeerResets> {
        self.reset_peers.first()
    }
}

/// What the panes show of TCP tracing this snapshot.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum TcpEvents<'a> {
    /// No one asked for tracing when this sample was taken.
    Off,
    Starting,
    Unavailable(&'a str),
    On(&'a TcpTrace),
}

impl Snapshot {
    pub fn tcp_events(&self) -> TcpEvents<'_> {
        let Some(t) = self.cur.tcp_trace.as_ref() else {
            return TcpEvents::Off;
        };
        match &t.state {
            TraceState::Starting => TcpEvents::Starting,
            TraceState::Unavailable(why) => TcpEvents::Unavailable(why),
            TraceState::On => TcpEvents::On(t),
        }
    }

    /// The traced figures, when tracing ran for the whole interval.
    pub fn tcp_traced(&self) -> Option<&TcpTrace> {
        match self.tcp_events() {
            TcpEvents::On(t) => Some(t),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn owners_by_four_tuple_dual_stack_included() {
        let a: SocketAddr = "10.0.0.1:5000".parse().unwrap();
        let b: SocketAddr = "10.0.0.5:443".parse().unwrap();
        let sock = TcpSock {
            local: "[::ffff:10.0.0.1]:5000".parse().unwrap(),
            peer: "[::ffff:10.0.0.5]:443".parse().unwrap(),
            owner: Some(Owner {
                pid: 42,
                comm: "curl".into(),
            }),
            ..TcpSock::default()
        };
        let mut t = TcpTrace {
            events: vec![
                Retransmit {
                    time_ns: 1,
                    local: a,
                    remote: b,
                    state: 1,
                    owner: None,
                },
                Retransmit {
                    time_ns: 2,
                    local: b,
                    remote: a,
                    state: 1,
                    owner: None,
                },
            ],
            span_ns: 2_000_000_000,
            retransmits: 3,
            ..TcpTrace::default()
        };
        t.attach_owners(&[Arc::new(sock)]);
        assert_eq!(t.events[0].owner, Some((42, "curl".into())));
        assert_eq!(t.events[1].owner, None);
        assert_eq!(t.retransmits_s(), 1.5);
    }
}
