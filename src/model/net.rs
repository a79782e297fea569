//! Network interfaces (/proc/net/dev, /sys/class/net) and the TCP/UDP stack counters
//! (/proc/net/snmp, /proc/net/netstat): raw counters and the sar -n DEV,EDEV,TCP,ETCP,UDP
//! and nicstat figures derived from two samples.

use serde::{Deserialize, Serialize};

use super::disk::step;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Duplex {
    Full,
    Half,
}

/// One interface: the 16 counters of /proc/net/dev plus what /sys/class/net says of the link.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct IfaceStat {
    /// Lossy UTF-8 of the kernel's name; sanitised when drawn.
    pub name: String,
    pub rx_bytes: u64,
    pub rx_packets: u64,
    pub rx_errs: u64,
    pub rx_drop: u64,
    pub rx_fifo: u64,
    pub rx_frame: u64,
    pub rx_compressed: u64,
    pub rx_multicast: u64,
    pub tx_bytes: u64,
    pub tx_packets: u64,
    pub tx_errs: u64,
    pub tx_drop: u64,
    pub tx_fifo: u64,
    pub tx_colls: u64,
    pub tx_carrier: u64,
    pub tx_compressed: u64,
    /// Link speed in Mb/s; `None` when /sys does not know it (virtual device, link down).
    #[serde(default)]
    pub speed_mbps: Option<u64>,
    #[serde(default)]
    pub duplex: Option<Duplex>,
    #[serde(default)]
    pub operstate: Option<String>,
}

/// /proc/net/snmp `Tcp:` counters (CurrEstab is a gauge).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TcpCounters {
    pub active_opens: u64,
    pub passive_opens: u64,
    pub attempt_fails: u64,
    pub estab_resets: u64,
    pub curr_estab: u64,
    pub in_segs: u64,
    pub out_segs: u64,
    pub retrans_segs: u64,
    pub in_errs: u64,
    pub out_rsts: u64,
}

/// /proc/net/snmp `Udp:` counters.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct UdpCounters {
    pub in_datagrams: u64,
    pub no_ports: u64,
    pub in_errors: u64,
    pub out_datagrams: u64,
    pub rcvbuf_errors: u64,
    pub sndbuf_errors: u64,
}

/// /proc/net/netstat `TcpExt:` counters usetop shows.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TcpExtCounters {
    pub listen_overflows: u64,
    pub listen_drops: u64,
    pub tcp_timeouts: u64,
}

/// Raw counters as read; part of the recording format (add fields with `#[serde(default)]`).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct NetSample {
    #[serde(default)]
    pub ifaces: Vec<IfaceStat>,
    #[serde(default)]
    pub tcp: Option<TcpCounters>,
    #[serde(default)]
    pub udp: Option<UdpCounters>,
    #[serde(default)]
    pub tcp_ext: Option<TcpExtCounters>,
}

/// sar -n DEV and EDEV plus nicstat's averages and %util for one interface.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct NicFigures {
    pub name: String,
    pub operstate: Option<String>,
    pub speed_mbps: Option<u64>,
    pub duplex: Option<Duplex>,
    pub rxkb_s: f64,
    pub txkb_s: f64,
    pub rxpck_s: f64,
    pub txpck_s: f64,
    /// nicstat rAvs / wAvs: bytes per packet; 0 without packets.
    pub rx_avg: f64,
    pub tx_avg: f64,
    pub rxcmp_s: f64,
    pub txcmp_s: f64,
    pub rxmcst_s: f64,
    /// Percent of the link speed; `None` when the speed is unknown.
    pub util: Option<f64>,
    pub rxerr_s: f64,
    pub txerr_s: f64,
    pub coll_s: f64,
    pub rxdrop_s: f64,
    pub txdrop_s: f64,
    pub txcarr_s: f64,
    pub rxfram_s: f64,
    pub rxfifo_s: f64,
    pub txfifo_s: f64,
}

impl NicFigures {
    pub fn errors_s(&self) -> f64 {
        self.rxerr_s + self.txerr_s + self.rxfram_s + self.txcarr_s + self.coll_s
    }

    /// Drops and FIFO overruns: packets lost because something was full.
    pub fn drops_s(&self) -> f64 {
        self.rxdrop_s + self.txdrop_s + self.rxfifo_s + self.txfifo_s
    }
}

/// sar -n TCP and ETCP, per second, plus the established-connections gauge.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct TcpFigures {
    pub active_s: f64,
    pub passive_s: f64,
    pub iseg_s: f64,
    pub oseg_s: f64,
    pub atmptf_s: f64,
    pub estres_s: f64,
    pub retrans_s: f64,
    pub isegerr_s: f64,
    pub orsts_s: f64,
    pub curr_estab: u64,
}

/// sar -n UDP plus the socket-buffer errors, per second.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct UdpFigures {
    pub idgm_s: f64,
    pub odgm_s: f64,
    pub noport_s: f64,
    pub idgmerr_s: f64,
    pub rcvbuferr_s: f64,
    pub sndbuferr_s: f64,
}

#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct TcpExtFigures {
    pub listen_overflows_s: f64,
    pub listen_drops_s: f64,
    pub timeouts_s: f64,
}

/// Rates and USE figures derived from two samples.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct NetFigures {
    /// Interfaces present in both samples with counters that moved forward.
    pub ifaces: Vec<NicFigures>,
    /// Interfaces with no rates this interval (new, or counters reset).
    pub fresh: Vec<String>,
    pub gone: Vec<String>,
    pub tcp: Option<TcpFigures>,
    pub udp: Option<UdpFigures>,
    pub tcp_ext: Option<TcpExtFigures>,
}

/// sysstat's `compute_ifutil`: against the speed in Mb/s, the busier direction for full
/// duplex, both directions together otherwise (half duplex shares one channel).
pub fn ifutil(
    rx_bps: f64,
    tx_bps: f64,
    speed_mbps: Option<u64>,
    duplex: Option<Duplex>,
) -> Option<f64> {
    let speed = speed_mbps.filter(|&s| s > 0)? as f64 * 1e6;
    let bits = match duplex {
        Some(Duplex::Full) => rx_bps.max(tx_bps),
        _ => rx_bps + tx_bps,
    } * 8.0;
    Some((bits * 100.0 / speed).min(100.0))
}

pub fn nic_figures(p: &IfaceStat, c: &IfaceStat, dt_s: f64) -> Option<NicFigures> {
    if dt_s <= 0.0 {
        return None;
    }
    let d = |f: fn(&IfaceStat) -> u64| step(f(p), f(c)).map(|v| v as f64);
    let r = |f: fn(&IfaceStat) -> u64| d(f).map(|v| v / dt_s);
    let (rx_b, tx_b) = (d(|i| i.rx_bytes)?, d(|i| i.tx_bytes)?);
    let (rx_p, tx_p) = (d(|i| i.rx_packets)?, d(|i| i.tx_packets)?);
    let per = |a: f64, b: f64| if b > 0.0 { a / b } else { 0.0 };
    Some(NicFigures {
        name: c.name.clone(),
        operstate: c.operstate.clone(),
        speed_mbps: c.speed_mbps,
        duplex: c.duplex,
        rxkb_s: rx_b / 1024.0 / dt_s,
        txkb_s: tx_b / 1024.0 / dt_s,
        rxpck_s: rx_p / dt_s,
        txpck_s: tx_p / dt_s,
        rx_avg: per(rx_b, rx_p),
        tx_avg: per(tx_b, tx_p),
        rxcmp_s: r(|i| i.rx_compressed)?,
        txcmp_s: r(|i| i.tx_compressed)?,
        rxmcst_s: r(|i| i.rx_multicast)?,
        util: ifutil(rx_b / dt_s, tx_b / dt_s, c.speed_mbps, c.duplex),
        rxerr_s: r(|i| i.rx_errs)?,
        txerr_s: r(|i| i.tx_errs)?,
        coll_s: r(|i| i.tx_colls)?,
        rxdrop_s: r(|i| i.rx_drop)?,
        txdrop_s: r(|i| i.tx_drop)?,
        txcarr_s: r(|i| i.tx_carrier)?,
        rxfram_s: r(|i| i.rx_frame)?,
        rxfifo_s: r(|i| i.rx_fifo)?,
        txfifo_s: r(|i| i.tx_fifo)?,
    })
}

/// SNMP counters are 64-bit in /proc but `unsigned long` in the kernel: use the same
/// wrap-or-reset rule as the device counters; a reset gives 0 for that counter.
fn rate_of(p: u64, c: u64, dt_s: f64) -> f64 {
    step(p, c).unwrap_or(0) as f64 / dt_s
}

fn tcp_figures(p: &TcpCounters, c: &TcpCounters, dt: f64) -> TcpFigures {
    TcpFigures {
        active_s: rate_of(p.active_opens, c.active_opens, dt),
        passive_s: rate_of(p.passive_opens, c.passive_opens, dt),
        iseg_s: rate_of(p.in_segs, c.in_segs, dt),
        oseg_s: rate_of(p.out_segs, c.out_segs, dt),
        atmptf_s: rate_of(p.attempt_fails, c.attempt_fails, dt),
        estres_s: rate_of(p.estab_resets, c.estab_resets, dt),
        retrans_s: rate_of(p.retrans_segs, c.retrans_segs, dt),
        isegerr_s: rate_of(p.in_errs, c.in_errs, dt),
        orsts_s: rate_of(p.out_rsts, c.out_rsts, dt),
        curr_estab: c.curr_estab,
    }
}

fn udp_figures(p: &UdpCounters, c: &UdpCounters, dt: f64) -> UdpFigures {
    UdpFigures {
        idgm_s: rate_of(p.in_datagrams, c.in_datagrams, dt),
        odgm_s: rate_of(p.out_datagrams, c.out_datagrams, dt),
        noport_s: rate_of(p.no_ports, c.no_ports, dt),
        idgmerr_s: rate_of(p.in_errors, c.in_errors, dt),
        rcvbuferr_s: rate_of(p.rcvbuf_errors, c.rcvbuf_errors, dt),
        sndbuferr_s: rate_of(p.sndbuf_errors, c.sndbuf_errors, dt),
    }
}

fn tcp_ext_figures(p: &TcpExtCounters, c: &TcpExtCounters, dt: f64) -> TcpExtFigures {
    TcpExtFigures {
        listen_overflows_s: rate_of(p.listen_overflows, c.listen_overflows, dt),
        listen_drops_s: rate_of(p.listen_drops, c.listen_drops, dt),
        timeouts_s: rate_of(p.tcp_timeouts, c.tcp_timeouts, dt),
    }
}

pub fn derive(prev: Option<&NetSample>, cur: &NetSample, dt_s: f64) -> NetFigures {
    let mut out = NetFigures::default();
    let Some(prev) = prev.filter(|_| dt_s > 0.0) else {
        return out;
    };
    for c in &cur.ifaces {
        match prev
            .ifaces
            .iter()
            .find(|p| p.name == c.name)
            .and_then(|p| nic_figures(p, c, dt_s))
        {
            Some(f) => out.ifaces.push(f),
            None => out.fresh.push(c.name.clone()),
        }
    }
    out.gone = prev
        .ifaces
        .iter()
        .filter(|p| !cur.ifaces.iter().any(|c| c.name == p.name))
        .map(|p| p.name.clone())
        .collect();
    out.tcp = prev
        .tcp
        .zip(cur.tcp)
        .map(|(p, c)| tcp_figures(&p, &c, dt_s));
    out.udp = prev
        .udp
        .zip(cur.udp)
        .map(|(p, c)| udp_figures(&p, &c, dt_s));
    out.tcp_ext = prev
        .tcp_ext
        .zip(cur.tcp_ext)
        .map(|(p, c)| tcp_ext_figures(&p, &c, dt_s));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ifutil_full_and_half_duplex() {
        // 100 Mb/s link, 6.25 MB/s in = 50 %, 2.5 MB/s out.
        let full = ifutil(6_250_000.0, 2_500_000.0, Some(100), Some(Duplex::Full));
        assert!((full.unwrap_or(0.0) - 50.0).abs() < 1e-9);
        let half = ifutil(6_250_000.0, 2_500_000.0, Some(100), Some(Duplex::Half));
        assert!((half.unwrap_or(0.0) - 70.0).abs() < 1e-9);
        assert_eq!(ifutil(1.0, 1.0, None, None), None);
    }
}
