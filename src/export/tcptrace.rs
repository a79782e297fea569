//! Traced TCP retransmits and resets in `dump --pane sock` and `--pane net` (per snapshot:
//! the tracing state, totals, the worst peers, the retransmit events and resets by peer)
//! and in OpenMetrics (`usetop_tcp_retransmit_events_total`, `usetop_tcp_resets_total`,
//! `usetop_tcp_trace_lost_events_total`).

use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::registry::Registry;
use serde::{Deserialize, Serialize};

use crate::model::Snapshot;
use crate::model::sockets::state_name;
use crate::model::tcptrace::TcpEvents;
use crate::widgets::text::sanitize;

/// The per-snapshot fields; all `None` (lists empty) while tracing is not on.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct TcpTraceHeader {
    /// `on`, `starting`, `off` (nobody asked), or `n/a: why`.
    pub tcp_trace: String,
    pub tcp_retransmits: Option<u64>,
    pub tcp_retransmits_s: Option<f64>,
    pub tcp_resets_sent: Option<u64>,
    pub tcp_resets_received: Option<u64>,
    pub tcp_trace_lost: Option<u64>,
    /// The remote address:port with the most retransmits, and their count.
    pub tcp_retrans_worst_peer: Option<String>,
    pub tcp_retrans_worst_count: Option<u64>,
    /// The interval's last retransmits, oldest first (JSON: objects; CSV: that JSON).
    pub tcp_retransmit_events: Vec<RetransmitRecord>,
    /// Resets by remote address, most first.
    pub tcp_reset_peers: Vec<ResetPeerRecord>,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct RetransmitRecord {
    /// Unix milliseconds.
    pub wall_ms: i64,
    pub local: String,
    pub remote: String,
    pub state: String,
    pub pid: Option<u32>,
    pub comm: Option<String>,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct ResetPeerRecord {
    pub addr: String,
    pub sent: u64,
    pub received: u64,
}

pub fn header(s: &Snapshot) -> TcpTraceHeader {
    let mut h = TcpTraceHeader::default();
    let t = match s.tcp_events() {
        TcpEvents::Off => {
            h.tcp_trace = "off".into();
            return h;
        }
        TcpEvents::Starting => {
            h.tcp_trace = "starting".into();
            return h;
        }
        TcpEvents::Unavailable(why) => {
            h.tcp_trace = format!("n/a: {}", sanitize(why));
            return h;
        }
        TcpEvents::On(t) => t,
    };
    h.tcp_trace = "on".into();
    h.tcp_retransmits = Some(t.retransmits);
    h.tcp_retransmits_s = Some(t.retransmits_s());
    h.tcp_resets_sent = Some(t.resets_sent);
    h.tcp_resets_received = Some(t.resets_received);
    h.tcp_trace_lost = Some(t.lost);
    h.tcp_retrans_worst_peer = t.worst_retrans().map(|p| p.remote.to_string());
    h.tcp_retrans_worst_count = t.worst_retrans().map(|p| p.count);
    h.tcp_retransmit_events = t
        .events
        .iter()
        .map(|e| RetransmitRecord {
            wall_ms: s.cur.wall_ms - (s.cur.mono_ns.saturating_sub(e.time_ns) / 1_000_000) as i64,
            local: e.local.to_string(),
            remote: e.remote.to_string(),
            state: state_name(e.state).into(),
            pid: e.owner.as_ref().map(|o| o.0),
            comm: e.owner.as_ref().map(|o| sanitize(&o.1).into_owned()),
        })
        .collect();
    h.tcp_reset_peers = t
        .reset_peers
        .iter()
        .map(|p| ResetPeerRecord {
            addr: p.addr.to_string(),
            sent: p.sent,
            received: p.received,
        })
        .collect();
    h
}

// ---- OpenMetrics ----

type Labels = Vec<(String, String)>;

pub struct TcpTraceMetrics {
    retransmits: Counter,
    resets: Family<Labels, Counter>,
    lost: Counter,
}

impl TcpTraceMetrics {
    pub fn register(r: &mut Registry) -> TcpTraceMetrics {
        let retransmits = Counter::default();
        r.register(
            "usetop_tcp_retransmit_events",
            "TCP retransmits seen by the tcp_retransmit_skb tracepoint while traced",
            retransmits.clone(),
        );
        let resets = Family::<Labels, Counter>::default();
        r.register(
            "usetop_tcp_resets",
            "TCP resets seen by the tcp_send_reset and tcp_receive_reset tracepoints while traced, by direction",
            resets.clone(),
        );
        let lost = Counter::default();
        r.register(
            "usetop_tcp_trace_lost_events",
            "TCP tracepoint events lost (ring buffer full) or unreadable",
            lost.clone(),
        );
        TcpTraceMetrics {
            retransmits,
            resets,
            lost,
        }
    }

    /// Adds the snapshot's interval (each snapshot once).
    pub fn update(&self, s: &Snapshot) {
        let Some(t) = s.tcp_traced() else {
            return;
        };
        self.retransmits.inc_by(t.retransmits);
        self.lost.inc_by(t.lost);
        for (dir, n) in [("sent", t.resets_sent), ("received", t.resets_received)] {
            let labels = vec![("direction".to_string(), dir.to_string())];
            self.resets.get_or_create(&labels).inc_by(n);
        }
    }
}
