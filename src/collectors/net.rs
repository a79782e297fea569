//! Network interfaces (/proc/net/dev, /sys/class/net) and the TCP/UDP stack counters
//! (/proc/net/snmp, /proc/net/netstat). Parsers are pure functions over bytes; a line that
//! cannot be read is reported and skipped, never fatal to the rest of the file.

use std::collections::HashMap;
use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;

use super::parse::{ParseError, parse_i64, parse_u64};
use super::procroot::{ProcRoot, ReadError};
use crate::model::Note;
use crate::model::net::{Duplex, IfaceStat, NetSample, TcpCounters, TcpExtCounters, UdpCounters};

/// One interface line of /proc/net/dev with the name's raw bytes (needed for /sys paths:
/// a name need not be UTF-8).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct NetDev {
    pub ifaces: Vec<(Vec<u8>, IfaceStat)>,
    pub bad: Vec<String>,
}

/// `/proc/net/dev`: two header lines, then `name: 8 receive counters 8 transmit counters`.
/// Old kernels print no space after the colon. A name cannot hold `:` or whitespace.
pub fn parse_net_dev(b: &[u8]) -> Result<NetDev, ParseError> {
    let mut out = NetDev::default();
    for line in b.split(|&c| c == b'\n') {
        if line.contains(&b'|') || line.trim_ascii().is_empty() {
            continue;
        }
        let Some(colon) = line.iter().position(|&c| c == b':') else {
            out.bad.push(format!(
                "no ':' in {:?}",
                String::from_utf8_lossy(line)
                    .chars()
                    .take(60)
                    .collect::<String>()
            ));
            continue;
        };
        let name = line[..colon].trim_ascii();
        let nums: Option<Vec<u64>> = line[colon + 1..]
            .split(|c| c.is_ascii_whitespace())
            .filter(|f| !f.is_empty())
            .map(parse_u64)
            .collect();
        let lossy = String::from_utf8_lossy(name).into_owned();
        match nums {
            Some(n) if n.len() >= 16 && !name.is_empty() => {
                let st = IfaceStat {
                    name: lossy,
                    rx_bytes: n[0],
                    rx_packets: n[1],
                    rx_errs: n[2],
                    rx_drop: n[3],
                    rx_fifo: n[4],
                    rx_frame: n[5],
                    rx_compressed: n[6],
                    rx_multicast: n[7],
                    tx_bytes: n[8],
                    tx_packets: n[9],
                    tx_errs: n[10],
                    tx_drop: n[11],
                    tx_fifo: n[12],
                    tx_colls: n[13],
                    tx_carrier: n[14],
                    tx_compressed: n[15],
                    ..IfaceStat::default()
                };
                out.ifaces.push((name.to_vec(), st));
            }
            Some(n) => out
                .bad
                .push(format!("{lossy:?}: {} counters, need 16", n.len())),
            None => out.bad.push(format!("{lossy:?}: non-numeric counter")),
        }
    }
    if out.ifaces.is_empty() && !out.bad.is_empty() {
        return Err(ParseError(format!(
            "net/dev: no readable line ({})",
            out.bad[0]
        )));
    }
    Ok(out)
}

/// `/proc/net/snmp` and `/proc/net/netstat`: pairs of lines `Proto: Name Name …` and
/// `Proto: value value …`. Negative values (Tcp MaxConn = -1) are left out.
pub fn parse_snmp(b: &[u8]) -> HashMap<(String, String), u64> {
    let mut out = HashMap::new();
    let lines: Vec<&[u8]> = b.split(|&c| c == b'\n').collect();
    let mut i = 0;
    while i + 1 < lines.len() {
        let (h, v) = (lines[i], lines[i + 1]);
        let mut hf = h
            .split(|c| c.is_ascii_whitespace())
            .filter(|f| !f.is_empty());
        let mut vf = v
            .split(|c| c.is_ascii_whitespace())
            .filter(|f| !f.is_empty());
        match (hf.next(), vf.next()) {
            (Some(hp), Some(vp)) if hp == vp && hp.ends_with(b":") => {
                let proto = String::from_utf8_lossy(&hp[..hp.len() - 1]).into_owned();
                for (k, val) in hf.zip(vf) {
                    if let Some(val) = parse_i64(val).and_then(|x| u64::try_from(x).ok()) {
                        out.insert(
                            (proto.clone(), String::from_utf8_lossy(k).into_owned()),
                            val,
                        );
                    }
                }
                i += 2;
            }
            _ => i += 1,
        }
    }
    out
}

type SnmpMap = HashMap<(String, String), u64>;

fn get(m: &SnmpMap, proto: &str, key: &str) -> Option<u64> {
    m.get(&(proto.to_string(), key.to_string())).copied()
}

pub fn tcp_counters(m: &SnmpMap) -> Option<TcpCounters> {
    let g = |k| get(m, "Tcp", k).unwrap_or(0);
    get(m, "Tcp", "ActiveOpens")?;
    Some(TcpCounters {
        active_opens: g("ActiveOpens"),
        passive_opens: g("PassiveOpens"),
        attempt_fails: g("AttemptFails"),
        estab_resets: g("EstabResets"),
        curr_estab: g("CurrEstab"),
        in_segs: g("InSegs"),
        out_segs: g("OutSegs"),
        retrans_segs: g("RetransSegs"),
        in_errs: g("InErrs"),
        out_rsts: g("OutRsts"),
    })
}

pub fn udp_counters(m: &SnmpMap) -> Option<UdpCounters> {
    let g = |k| get(m, "Udp", k).unwrap_or(0);
    get(m, "Udp", "InDatagrams")?;
    Some(UdpCounters {
        in_datagrams: g("InDatagrams"),
        no_ports: g("NoPorts"),
        in_errors: g("InErrors"),
        out_datagrams: g("OutDatagrams"),
        rcvbuf_errors: g("RcvbufErrors"),
        sndbuf_errors: g("SndbufErrors"),
    })
}

pub fn tcp_ext_counters(m: &SnmpMap) -> Option<TcpExtCounters> {
    let g = |k| get(m, "TcpExt", k).unwrap_or(0);
    get(m, "TcpExt", "ListenOverflows")?;
    Some(TcpExtCounters {
        listen_overflows: g("ListenOverflows"),
        listen_drops: g("ListenDrops"),
        tcp_timeouts: g("TCPTimeouts"),
    })
}

/// `/sys/class/net/IF/speed`: Mb/s; -1 or an EINVAL read (link down, virtual) is unknown.
pub fn parse_speed(b: &[u8]) -> Option<u64> {
    parse_i64(b.trim_ascii())
        .and_then(|v| u64::try_from(v).ok())
        .filter(|&v| v > 0 && v < u64::from(u32::MAX))
}

pub fn parse_duplex(b: &[u8]) -> Option<Duplex> {
    match b.trim_ascii() {
        b"full" => Some(Duplex::Full),
        b"half" => Some(Duplex::Half),
        _ => None,
    }
}

pub struct NetCollector {
    root: ProcRoot,
}

impl NetCollector {
    pub fn new(root: &ProcRoot) -> Self {
        NetCollector { root: root.clone() }
    }

    fn read_iface(&self, raw: &[u8], file: &str) -> Option<Vec<u8>> {
        let path = self
            .root
            .sys_path("class/net")
            .join(OsStr::from_bytes(raw))
            .join(file);
        let mut buf = Vec::with_capacity(32);
        self.root.read_into(&path, &mut buf).ok().map(|_| buf)
    }

    pub fn sample(&mut self, notes: &mut Vec<Note>) -> NetSample {
        let mut out = NetSample::default();
        let path = self.root.proc_path("net/dev");
        match self
            .root
            .read_proc("net/dev")
            .and_then(|b| parse_net_dev(&b).map_err(|e| ReadError::parse(&path, e.0)))
        {
            Ok(nd) => {
                if let Some(first) = nd.bad.first() {
                    note(
                        notes,
                        "net",
                        format!("net/dev: skipped {} line(s), {first}", nd.bad.len()),
                    );
                }
                let sys_ok = self.root.sys_path("class/net").is_dir();
                if !sys_ok && !nd.ifaces.is_empty() {
                    note(
                        notes,
                        "net.sys",
                        format!(
                            "{}: not readable, link speed and %util unknown",
                            self.root.sys_path("class/net").display()
                        ),
                    );
                }
                for (raw, mut st) in nd.ifaces {
                    if sys_ok {
                        // The speed of a link that is down reads as EINVAL: unknown, not an error.
                        st.speed_mbps =
                            self.read_iface(&raw, "speed").and_then(|b| parse_speed(&b));
                        st.duplex = self
                            .read_iface(&raw, "duplex")
                            .and_then(|b| parse_duplex(&b));
                        st.operstate = self
                            .read_iface(&raw, "operstate")
                            .map(|b| String::from_utf8_lossy(b.trim_ascii()).into_owned());
                    }
                    out.ifaces.push(st);
                }
            }
            Err(e) => note(notes, "net", e.to_string()),
        }
        match self.root.read_proc("net/snmp") {
            Ok(b) => {
                let m = parse_snmp(&b);
                out.tcp = tcp_counters(&m);
                out.udp = udp_counters(&m);
                if out.tcp.is_none() {
                    note(
                        notes,
                        "net.tcp",
                        format!(
                            "{}: no Tcp counters",
                            self.root.proc_path("net/snmp").display()
                        ),
                    );
                }
            }
            Err(e) => note(notes, "net.tcp", e.to_string()),
        }
        match self.root.read_proc("net/netstat") {
            Ok(b) => {
                out.tcp_ext = tcp_ext_counters(&parse_snmp(&b));
                if out.tcp_ext.is_none() {
                    note(
                        notes,
                        "net.tcpext",
                        format!(
                            "{}: no TcpExt counters",
                            self.root.proc_path("net/netstat").display()
                        ),
                    );
                }
            }
            Err(e) => note(notes, "net.tcpext", e.to_string()),
        }
        out
    }
}

fn note(notes: &mut Vec<Note>, source: &str, reason: String) {
    notes.push(Note {
        source: source.into(),
        reason,
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    const DEV: &[u8] = b"Inter-|   Receive                                                |  Transmit
 face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets errs drop fifo colls carrier compressed
    lo:    3193      29    0    0    0     0          0         0     3193      29    0    0    0     0       0          0
  eth0:276322803 14730 1 2 3 4 5 6 923650 9217 7 8 9 10 11 12
  bad0: 1 2 3
";

    #[test]
    fn net_dev() {
        let d = parse_net_dev(DEV).unwrap();
        assert_eq!(d.ifaces.len(), 2);
        let e = &d.ifaces[1].1;
        assert_eq!(
            (e.rx_bytes, e.rx_frame, e.tx_carrier, e.tx_compressed),
            (276322803, 4, 11, 12)
        );
        assert_eq!(d.bad.len(), 1);
    }

    #[test]
    fn odd_interface_name() {
        let d = parse_net_dev(
            b"\x1b[31m\xffab\xe2\x80\xaecdef: 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16\n",
        )
        .unwrap();
        assert_eq!(d.ifaces[0].0.len(), 15);
        assert_eq!(d.ifaces[0].1.tx_compressed, 16);
    }

    #[test]
    fn snmp_pairs() {
        let text = b"Ip: Forwarding DefaultTTL\nIp: 1 64\nTcp: RtoAlgorithm MaxConn ActiveOpens CurrEstab\nTcp: 1 -1 42 7\n";
        let m = parse_snmp(text);
        let t = tcp_counters(&m).unwrap();
        assert_eq!((t.active_opens, t.curr_estab), (42, 7));
        assert_eq!(get(&m, "Tcp", "MaxConn"), None);
        assert!(udp_counters(&m).is_none());
    }

    #[test]
    fn speed_and_duplex() {
        assert_eq!(parse_speed(b"1000\n"), Some(1000));
        assert_eq!(parse_speed(b"-1\n"), None);
        assert_eq!(parse_duplex(b"half\n"), Some(Duplex::Half));
        assert_eq!(parse_duplex(b"unknown\n"), None);
    }
}
