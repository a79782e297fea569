//! The TCP socket fields: the sockets table's columns and `dump --pane sock`'s rows.

use super::{Field, Unit, Value, opt_int, opt_text};
use crate::model::sockets::{SockRate, TcpInfo, state_name};

/// A socket row: its rates and what the owner column says when the owner is unknown.
#[derive(Clone, Debug)]
pub struct SockRow {
    pub rate: SockRate,
    /// Owners of some sockets were refused (not root).
    pub owners_denied: bool,
    /// The owner scan has run.
    pub owners_known: bool,
}

impl SockRow {
    pub fn key(&self) -> u64 {
        self.rate.sock.cookie
    }

    fn info(&self) -> Option<&TcpInfo> {
        self.rate.sock.info.as_ref()
    }

    /// A round-trip figure in ms; 0 is "not measured yet" (a listening socket).
    fn rtt_ms(&self, f: fn(&TcpInfo) -> u32) -> Value {
        Value::Num(
            self.info()
                .filter(|i| i.rtt_us > 0)
                .map(|i| f64::from(f(i)) / 1000.0),
        )
    }
}

/// Every socket field, in table order. A new socket column is one entry here: it shows in
/// the sockets table (if `shown`) and in `dump --pane sock`. The table may draw a field its
/// own way (RTT/VAR, RETR): `panes/sock.rs` `cell`.
pub const SOCK_FIELDS: &[Field<SockRow>] = &[
    Field {
        name: "state",
        header: "STATE",
        unit: Unit::Text,
        width: 10,
        drop: 0,
        shown: true,
        dump: Some("state"),
        value: |r| Value::Text(state_name(r.rate.sock.state).into()),
    },
    Field {
        name: "ipv6",
        header: "V6",
        unit: Unit::Flag,
        width: 3,
        drop: 12,
        shown: false,
        dump: Some("ipv6"),
        value: |r| Value::Bool(r.rate.sock.v6),
    },
    Field {
        name: "local",
        header: "LOCAL",
        unit: Unit::Text,
        width: 21,
        drop: 0,
        shown: true,
        dump: Some("local"),
        value: |r| Value::Text(r.rate.sock.local.to_string()),
    },
    Field {
        name: "peer",
        header: "PEER",
        unit: Unit::Text,
        width: 21,
        drop: 0,
        shown: true,
        dump: Some("peer"),
        value: |r| Value::Text(r.rate.sock.peer.to_string()),
    },
    Field {
        name: "recv-q",
        header: "RECV-Q",
        unit: Unit::Count,
        width: 6,
        drop: 1,
        shown: true,
        dump: Some("recv_q"),
        value: |r| Value::Int(u64::from(r.rate.sock.rqueue)),
    },
    Field {
        name: "send-q",
        header: "SEND-Q",
        unit: Unit::Count,
        width: 6,
        drop: 2,
        shown: true,
        dump: Some("send_q"),
        value: |r| Value::Int(u64::from(r.rate.sock.wqueue)),
    },
    // The table shows rtt/rttvar in this one column.
    Field {
        name: "rtt",
        header: "RTT/VAR ms",
        unit: Unit::Millis,
        width: 11,
        drop: 3,
        shown: true,
        dump: Some("rtt_ms"),
        value: |r| r.rtt_ms(|i| i.rtt_us),
    },
    Field {
        name: "rttvar",
        header: "RTTVAR ms",
        unit: Unit::Millis,
        width: 9,
        drop: 12,
        shown: false,
        dump: Some("rttvar_ms"),
        value: |r| r.rtt_ms(|i| i.rttvar_us),
    },
    Field {
        name: "cwnd",
        header: "CWND",
        unit: Unit::Count,
        width: 5,
        drop: 5,
        shown: true,
        dump: Some("cwnd"),
        value: |r| opt_int(r.info().map(|i| i.cwnd)),
    },
    // 2147483647 and up is the kernel's "infinite" initial ssthresh (the table says inf).
    Field {
        name: "ssthresh",
        header: "SSTH",
        unit: Unit::Count,
        width: 5,
        drop: 7,
        shown: true,
        dump: Some("ssthresh"),
        value: |r| opt_int(r.info().map(|i| i.ssthresh)),
    },
    // Segments retransmitted this interval; the table shows the kernel's current and total
    // counts in this one column.
    Field {
        name: "retrans",
        header: "RETR",
        unit: Unit::Count,
        width: 6,
        drop: 4,
        shown: true,
        dump: Some("retrans"),
        value: |r| opt_int(r.rate.retrans),
    },
    Field {
        name: "total-retrans",
        header: "TRETR",
        unit: Unit::Count,
        width: 6,
        drop: 12,
        shown: false,
        dump: Some("total_retrans"),
        value: |r| opt_int(r.info().map(|i| i.total_retrans)),
    },
    // ~0 is the kernel's "no pacing limit": `null`.
    Field {
        name: "pacing",
        header: "PACE/s",
        unit: Unit::BytesPerSec,
        width: 7,
        drop: 9,
        shown: true,
        dump: Some("pacing_bytes_per_s"),
        value: |r| {
            Value::Num(
                r.info()
                    .filter(|i| i.pacing_rate != u64::MAX)
                    .map(|i| i.pacing_rate as f64),
            )
        },
    },
    Field {
        name: "delivery",
        header: "DELIV/s",
        unit: Unit::BytesPerSec,
        width: 7,
        drop: 8,
        shown: true,
        dump: Some("delivery_bytes_per_s"),
        value: |r| Value::Num(r.info().map(|i| i.delivery_rate as f64)),
    },
    Field {
        name: "tx",
        header: "TX/s",
        unit: Unit::BytesPerSec,
        width: 6,
        drop: 0,
        shown: true,
        dump: Some("tx_bytes_per_s"),
        value: |r| Value::Num(r.rate.tx_bps),
    },
    Field {
        name: "rx",
        header: "RX/s",
        unit: Unit::BytesPerSec,
        width: 6,
        drop: 0,
        shown: true,
        dump: Some("rx_bytes_per_s"),
        value: |r| Value::Num(r.rate.rx_bps),
    },
    Field {
        name: "mem",
        header: "MEM",
        unit: Unit::Bytes,
        width: 6,
        drop: 6,
        shown: true,
        dump: Some("mem_bytes"),
        value: |r| opt_int(r.rate.sock.mem.map(|m| m.total())),
    },
    Field {
        name: "cong",
        header: "CONG",
        unit: Unit::Text,
        width: 6,
        drop: 10,
        shown: true,
        dump: Some("cong"),
        value: |r| opt_text(r.rate.sock.cong.as_deref()),
    },
    // Not in the dump as one field: `pid` and `comm` below are the same owner.
    Field {
        name: "process",
        header: "PROCESS",
        unit: Unit::Text,
        width: 0,
        drop: 0,
        shown: true,
        dump: None,
        value: |r| match &r.rate.sock.owner {
            Some(o) => Value::Text(format!("{} {}", o.pid, o.comm)),
            None => Value::Num(None),
        },
    },
    Field {
        name: "pid",
        header: "PID",
        unit: Unit::Count,
        width: 7,
        drop: 12,
        shown: false,
        dump: Some("pid"),
        value: |r| opt_int(r.rate.sock.owner.as_ref().map(|o| o.pid)),
    },
    // The owner's comm only: command lines can hold secrets.
    Field {
        name: "comm",
        header: "COMM",
        unit: Unit::Text,
        width: 15,
        drop: 12,
        shown: false,
        dump: Some("comm"),
        value: |r| opt_text(r.rate.sock.owner.as_ref().map(|o| o.comm.to_string())),
    },
];
