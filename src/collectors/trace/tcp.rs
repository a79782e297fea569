//! TCP retransmits and resets (tcpretrans): `tcp_retransmit_skb`, `tcp_send_reset` and
//! `tcp_receive_reset` records turned into one interval's `TcpTrace`: exact totals, the
//! last retransmits as events, and counts per peer. Pure apart from being a `Sink`.

use std::collections::{HashMap, VecDeque};
use std::net::{IpAddr, SocketAddr};

use super::format::{TcpLayout, TcpRecord, parse_tcp_record};
use super::live::Sink;
use crate::model::blktrace::TraceState;
use crate::model::tcptrace::{EVENTS, PEERS, PeerCount, PeerResets, Retransmit, TcpTrace};

/// The layouts of the TCP tracepoints, from their format files. The reset tracepoints are
/// traced where the kernel has them.
#[derive(Clone, Debug)]
pub struct TcpLayouts {
    pub retransmit: TcpLayout,
    pub send_reset: Option<TcpLayout>,
    pub receive_reset: Option<TcpLayout>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TcpKind {
    Retransmit,
    ResetSent,
    ResetReceived,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TcpEvent {
    pub kind: TcpKind,
    pub time_ns: u64,
    pub rec: TcpRecord,
}

impl TcpLayouts {
    /// A raw record as an event of the tracepoint its `common_type` names.
    pub fn event(&self, time_ns: u64, raw: &[u8]) -> Option<TcpEvent> {
        // Every tracepoint's records start with common_type at the same place.
        let id = self.retransmit.record_id(raw)?;
        let (kind, layout) = if id == self.retransmit.id {
            (TcpKind::Retransmit, &self.retransmit)
        } else if let Some(l) = self.send_reset.as_ref().filter(|l| l.id == id) {
            (TcpKind::ResetSent, l)
        } else {
            (
                TcpKind::ResetReceived,
                self.receive_reset.as_ref().filter(|l| l.id == id)?,
            )
        };
        let rec = parse_tcp_record(layout, raw).ok()?;
        Some(TcpEvent { kind, time_ns, rec })
    }
}

/// Past this many distinct peers in one interval, new ones count in the totals only (a
/// scan of a whole network must not grow the maps without bound).
const MAX_PEERS: usize = 4096;

#[derive(Default)]
pub struct TcpAgg {
    retransmits: u64,
    resets_sent: u64,
    resets_received: u64,
    events: VecDeque<Retransmit>,
    retrans: HashMap<SocketAddr, u64>,
    resets: HashMap<IpAddr, (u64, u64)>,
    lost: u64,
}

impl TcpAgg {
    pub fn push(&mut self, ev: &TcpEvent) {
        let r = &ev.rec;
        match ev.kind {
            TcpKind::Retransmit => {
                self.retransmits += 1;
                if self.events.len() == EVENTS {
                    self.events.pop_front();
                }
                self.events.push_back(Retransmit {
                    time_ns: ev.time_ns,
                    local: r.local,
                    remote: r.remote,
                    state: r.state.unwrap_or(0),
                    owner: None,
                });
                if let Some(n) = bounded(&mut self.retrans, r.remote) {
                    *n += 1;
                }
            }
            TcpKind::ResetSent | TcpKind::ResetReceived => {
                let sent = ev.kind == TcpKind::ResetSent;
                if sent {
                    self.resets_sent += 1;
                } else {
                    self.resets_received += 1;
                }
                if let Some((s, rcv)) = bounded(&mut self.resets, r.remote.ip()) {
                    if sent {
                        *s += 1;
                    } else {
                        *rcv += 1;
                    }
                }
            }
        }
    }

    pub fn lost(&mut self, n: u64) {
        self.lost = self.lost.saturating_add(n);
    }

    /// The interval so far, and a fresh start for the next one.
    pub fn take(&mut self, span_ns: u64) -> TcpTrace {
        let mut retrans_peers: Vec<PeerCount> = self
            .retrans
            .drain()
            .map(|(remote, count)| PeerCount { remote, count })
            .collect();
        retrans_peers.sort_by(|a, b| b.count.cmp(&a.count).then(a.remote.cmp(&b.remote)));
        retrans_peers.truncate(PEERS);
        let mut reset_peers: Vec<PeerResets> = self
            .resets
            .drain()
            .map(|(addr, (sent, received))| PeerResets {
                addr,
                sent,
                received,
            })
            .collect();
        reset_peers.sort_by(|a, b| b.total().cmp(&a.total()).then(a.addr.cmp(&b.addr)));
        reset_peers.truncate(PEERS);
        TcpTrace {
            state: TraceState::On,
            span_ns,
            retransmits: std::mem::take(&mut self.retransmits),
            resets_sent: std::mem::take(&mut self.resets_sent),
            resets_received: std::mem::take(&mut self.resets_received),
            events: std::mem::take(&mut self.events).into(),
            retrans_peers,
            reset_peers,
            lost: std::mem::take(&mut self.lost),
        }
    }
}

fn bounded<K: std::hash::Hash + Eq, V: Default>(m: &mut HashMap<K, V>, k: K) -> Option<&mut V> {
    if m.len() >= MAX_PEERS && !m.contains_key(&k) {
        return None;
    }
    Some(m.entry(k).or_default())
}

/// TCP tracing as a `Tracer`'s sink.
pub struct TcpSink {
    layouts: TcpLayouts,
    agg: TcpAgg,
}

impl TcpSink {
    pub fn new(layouts: TcpLayouts) -> TcpSink {
        TcpSink {
            layouts,
            agg: TcpAgg::default(),
        }
    }
}

impl Sink for TcpSink {
    type Event = TcpEvent;
    type Out = TcpTrace;
    const THREAD: &'static str = "usetop-tcptrace";

    fn ids(&self) -> Vec<u64> {
        let l = &self.layouts;
        std::iter::once(l.retransmit.id)
            .chain(l.send_reset.as_ref().map(|r| r.id))
            .chain(l.receive_reset.as_ref().map(|r| r.id))
            .collect()
    }

    fn event(&self, _pid: u32, time_ns: u64, raw: &[u8]) -> Option<TcpEvent> {
        self.layouts.event(time_ns, raw)
    }

    fn time_ns(ev: &TcpEvent) -> u64 {
        ev.time_ns
    }

    fn push(&mut self, ev: &TcpEvent) {
        self.agg.push(ev)
    }

    fn lost(&mut self, n: u64) {
        self.agg.lost(n)
    }

    fn take(&mut self, span_ns: u64) -> TcpTrace {
        self.agg.take(span_ns)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ev(kind: TcpKind, t: u64, local: &str, remote: &str) -> TcpEvent {
        TcpEvent {
            kind,
            time_ns: t,
            rec: TcpRecord {
                id: 0,
                state: Some(1),
                local: local.parse().unwrap(),
                remote: remote.parse().unwrap(),
            },
        }
    }

    #[test]
    fn totals_exact_events_capped_peers_ranked() {
        let mut a = TcpAgg::default();
        for i in 0..100u64 {
            let remote = if i % 10 == 0 {
                "10.0.0.6:22"
            } else {
                "10.0.0.5:443"
            };
            a.push(&ev(TcpKind::Retransmit, i, "10.0.0.1:5000", remote));
        }
        a.push(&ev(
            TcpKind::ResetSent,
            200,
            "10.0.0.1:80",
            "10.0.0.9:40000",
        ));
        a.push(&ev(
            TcpKind::ResetSent,
            201,
            "10.0.0.1:80",
            "10.0.0.9:40001",
        ));
        a.push(&ev(TcpKind::ResetReceived, 202, "[::1]:9", "[::2]:7"));
        a.lost(2);
        let t = a.take(1_000_000_000);
        assert_eq!(t.retransmits, 100);
        assert_eq!(t.events.len(), EVENTS);
        assert_eq!(
            t.events[0].time_ns,
            100 - EVENTS as u64,
            "the last ones kept"
        );
        assert_eq!(t.events[EVENTS - 1].time_ns, 99);
        let w = t.worst_retrans().unwrap();
        assert_eq!(
            (w.remote.to_string().as_str(), w.count),
            ("10.0.0.5:443", 90)
        );
        assert_eq!((t.resets_sent, t.resets_received, t.lost), (2, 1, 2));
        let r = t.worst_resets().unwrap();
        assert_eq!(
            (r.addr.to_string().as_str(), r.sent, r.received),
            ("10.0.0.9", 2, 0)
        );
        assert_eq!(t.reset_peers[1].received, 1);
        let t = a.take(1);
        assert_eq!(
            (t.retransmits, t.events.len(), t.reset_peers.len()),
            (0, 0, 0)
        );
    }

    #[test]
    fn peers_are_bounded_but_totals_are_not() {
        let mut a = TcpAgg::default();
        for i in 0..(MAX_PEERS as u32 + 10) {
            let remote = SocketAddr::new(IpAddr::from(i.to_be_bytes()), 1);
            let mut e = ev(TcpKind::Retransmit, 0, "10.0.0.1:1", "10.0.0.2:2");
            e.rec.remote = remote;
            a.push(&e);
        }
        assert_eq!(a.retrans.len(), MAX_PEERS);
        let t = a.take(1);
        assert_eq!(t.retransmits, MAX_PEERS as u64 + 10);
        assert_eq!(t.retrans_peers.len(), PEERS);
    }
}
