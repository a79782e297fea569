//! Pure parsers for tracepoints: a tracefs `format` file (each field's offset and size in
//! the raw record), the block and TCP tracepoints' layouts found in it, and the raw records a perf
//! ring buffer holds. Offsets always come from the format file, never from this code.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FormatError(pub String);

impl fmt::Display for FormatError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for FormatError {}

fn bad(msg: impl Into<String>) -> FormatError {
    FormatError(msg.into())
}

/// One `field:` line of a format file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FieldDef {
    /// The C declaration's name, without any array suffix (`rwbs` for `char rwbs[10]`).
    pub name: String,
    /// The C type as written (`dev_t`, `char`, `__data_loc char[]`).
    pub ctype: String,
    pub offset: usize,
    pub size: usize,
    pub signed: bool,
}

/// A tracepoint's format file: its name, id and fields.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Format {
    pub name: String,
    pub id: u64,
    pub fields: Vec<FieldDef>,
}

impl Format {
    pub fn field(&self, name: &str) -> Option<&FieldDef> {
        self.fields.iter().find(|f| f.name == name)
    }
}

/// A raw record is at most a perf sample, whose size is a u16: no offset is beyond it.
const MAX_OFFSET: usize = u16::MAX as usize;

/// Parses a tracefs `events/SYSTEM/NAME/format` file.
pub fn parse_format(b: &[u8]) -> Result<Format, FormatError> {
    let text = std::str::from_utf8(b).map_err(|_| bad("format file is not UTF-8"))?;
    let mut name = None;
    let mut id = None;
    let mut fields = Vec::new();
    for line in text.lines() {
        let line = line.trim();
        if let Some(v) = line.strip_prefix("name:") {
            name = Some(v.trim().to_string());
        } else if let Some(v) = line.strip_prefix("ID:") {
            id = Some(
                v.trim()
                    .parse::<u64>()
                    .map_err(|_| bad(format!("bad ID {:?}", v.trim())))?,
            );
        } else if line.starts_with("field:") {
            fields.push(parse_field(line)?);
        }
    }
    Ok(Format {
        name: name.ok_or_else(|| bad("no name: line"))?,
        id: id.ok_or_else(|| bad("no ID: line"))?,
        fields,
    })
}

/// `field:unsigned int nr_sector; offset:24; size:4; signed:0;`
fn parse_field(line: &str) -> Result<FieldDef, FormatError> {
    let mut decl = None;
    let (mut offset, mut size, mut signed) = (None, None, None);
    for part in line.split(';') {
        let part = part.trim();
        if let Some(v) = part.strip_prefix("field:") {
            decl = Some(v.trim());
        } else if let Some(v) = part.strip_prefix("offset:") {
            offset = v.trim().parse::<usize>().ok();
        } else if let Some(v) = part.strip_prefix("size:") {
            size = v.trim().parse::<usize>().ok();
        } else if let Some(v) = part.strip_prefix("signed:") {
            signed = Some(v.trim() == "1");
        }
    }
    let decl = decl.ok_or_else(|| bad(format!("no declaration in {line:?}")))?;
    let offset = offset.ok_or_else(|| bad(format!("no offset in {line:?}")))?;
    let size = size.ok_or_else(|| bad(format!("no size in {line:?}")))?;
    if offset > MAX_OFFSET || size > MAX_OFFSET {
        return Err(bad(format!("offset or size out of range in {line:?}")));
    }
    // The name is the declaration's last word, less an array suffix: `char rwbs[10]`,
    // `__data_loc char[] cmd`.
    let last = decl.rsplit(' ').next().unwrap_or(decl);
    let name = last.split('[').next().unwrap_or(last);
    if name.is_empty() {
        return Err(bad(format!("no field name in {line:?}")));
    }
    let ctype = decl[..decl.len() - last.len()].trim().to_string();
    Ok(FieldDef {
        name: name.to_string(),
        ctype,
        offset,
        size,
        signed: signed.unwrap_or(false),
    })
}

/// Where a field lies in a raw record.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Slot {
    pub offset: usize,
    pub size: usize,
}

impl Slot {
    fn bytes<'a>(&self, raw: &'a [u8]) -> Option<&'a [u8]> {
        raw.get(self.offset..self.offset.checked_add(self.size)?)
    }

    /// An unsigned integer of 1, 2, 4 or 8 bytes, in the host's byte order (the kernel's).
    fn uint(&self, raw: &[u8]) -> Option<u64> {
        let b = self.bytes(raw)?;
        Some(match b.len() {
            1 => b[0] as u64,
            2 => u16::from_ne_bytes([b[0], b[1]]) as u64,
            4 => u32::from_ne_bytes([b[0], b[1], b[2], b[3]]) as u64,
            8 => u64::from_ne_bytes([b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7]]),
            _ => return None,
        })
    }

    /// A signed integer of 4 bytes (errno values).
    fn int(&self, raw: &[u8]) -> Option<i64> {
        let b = self.bytes(raw)?;
        match b.len() {
            4 => Some(i32::from_ne_bytes([b[0], b[1], b[2], b[3]]) as i64),
            8 => Some(i64::from_ne_bytes([
                b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7],
            ])),
            _ => None,
        }
    }

    /// A NUL-padded char array, up to its first NUL.
    fn text<'a>(&self, raw: &'a [u8]) -> Option<&'a [u8]> {
        let b = self.bytes(raw)?;
        Some(&b[..b.iter().position(|&c| c == 0).unwrap_or(b.len())])
    }
}

/// Where the fields the block collector reads lie in one block tracepoint's records.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BlockLayout {
    pub id: u64,
    pub common_type: Slot,
    pub dev: Slot,
    pub sector: Slot,
    pub nr_sector: Slot,
    pub rwbs: Slot,
    /// `block_rq_issue` only.
    pub bytes: Option<Slot>,
    /// `block_rq_issue` only.
    pub comm: Option<Slot>,
    /// `block_rq_complete` and `block_rq_error`.
    pub error: Option<Slot>,
}

/// A field of one of the given sizes: an integer, or an array of `__u8` (addresses).
fn sized_slot(f: &Format, name: &str, sizes: &[usize]) -> Result<Slot, FormatError> {
    let d = f
        .field(name)
        .ok_or_else(|| bad(format!("{}: no field {name}", f.name)))?;
    if !sizes.contains(&d.size) {
        return Err(bad(format!(
            "{}: field {name} is {} bytes, expected {sizes:?}",
            f.name, d.size
        )));
    }
    Ok(Slot {
        offset: d.offset,
        size: d.size,
    })
}

fn char_slot(f: &Format, name: &str) -> Result<Slot, FormatError> {
    let d = f
        .field(name)
        .ok_or_else(|| bad(format!("{}: no field {name}", f.name)))?;
    if d.ctype != "char" || d.size == 0 {
        return Err(bad(format!("{}: field {name} is not a char array", f.name)));
    }
    Ok(Slot {
        offset: d.offset,
        size: d.size,
    })
}

impl BlockLayout {
    /// The layout of `block_rq_issue`, `block_rq_complete` or `block_rq_error` from its
    /// format. A field of an unexpected size is refused rather than misread.
    pub fn from_format(f: &Format) -> Result<BlockLayout, FormatError> {
        let opt = |name: &str, r: fn(&Format, &str) -> Result<Slot, FormatError>| {
            f.field(name).map(|_| r(f, name)).transpose()
        };
        Ok(BlockLayout {
            id: f.id,
            common_type: sized_slot(f, "common_type", &[2])?,
            dev: sized_slot(f, "dev", &[4, 8])?,
            sector: sized_slot(f, "sector", &[8])?,
            nr_sector: sized_slot(f, "nr_sector", &[4])?,
            rwbs: char_slot(f, "rwbs")?,
            bytes: opt("bytes", |f, n| sized_slot(f, n, &[4, 8]))?,
            comm: opt("comm", char_slot)?,
            error: opt("error", |f, n| sized_slot(f, n, &[4, 8]))?,
        })
    }
}

impl BlockLayout {
    /// The id of the tracepoint a raw record came from (its `common_type`), which every
    /// tracepoint's records hold at the same place.
    pub fn record_id(&self, raw: &[u8]) -> Option<u64> {
        self.common_type.uint(raw)
    }
}

/// The direction of a request, from its rwbs (`W`, `WS`, `RA`, `FWS`, `D`, `N`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Op {
    Read,
    Write,
    /// Flushes without data, discards, anything else: timed, not in the histograms.
    Other,
}

impl Op {
    pub fn of_rwbs(rwbs: &[u8]) -> Op {
        // A leading F is a flush before the data; D discard, E secure erase, N no data.
        let rest = rwbs.strip_prefix(b"F").unwrap_or(rwbs);
        match rest.first() {
            Some(b'R') => Op::Read,
            Some(b'W') => Op::Write,
            _ => Op::Other,
        }
    }
}

/// The fields of one block tracepoint record.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BlockRecord {
    /// The tracepoint's id (the record's `common_type`).
    pub id: u64,
    /// The kernel's dev_t: major in the bits above 20, minor below.
    pub dev: u64,
    pub sector: u64,
    pub nr_sector: u32,
    pub bytes: Option<u64>,
    pub rwbs: [u8; 8],
    pub comm: [u8; 16],
    pub error: i64,
}

impl BlockRecord {
    pub fn major(&self) -> u32 {
        (self.dev >> 20) as u32
    }

    pub fn minor(&self) -> u32 {
        (self.dev & ((1 << 20) - 1)) as u32
    }

    pub fn op(&self) -> Op {
        Op::of_rwbs(self.rwbs_bytes())
    }

    pub fn rwbs_bytes(&self) -> &[u8] {
        &self.rwbs[..self.rwbs.iter().position(|&c| c == 0).unwrap_or(8)]
    }

    pub fn comm_bytes(&self) -> &[u8] {
        &self.comm[..self.comm.iter().position(|&c| c == 0).unwrap_or(16)]
    }
}

/// Reads one record of a block tracepoint (PERF_SAMPLE_RAW's payload) with its layout.
pub fn parse_block_record(layout: &BlockLayout, raw: &[u8]) -> Result<BlockRecord, FormatError> {
    let short = || bad(format!("record of {} bytes is too short", raw.len()));
    let id = layout.common_type.uint(raw).ok_or_else(short)?;
    let mut rwbs = [0u8; 8];
    let r = layout.rwbs.text(raw).ok_or_else(short)?;
    let n = r.len().min(8);
    rwbs[..n].copy_from_slice(&r[..n]);
    let mut comm = [0u8; 16];
    if let Some(s) = layout.comm {
        let c = s.text(raw).ok_or_else(short)?;
        let n = c.len().min(16);
        comm[..n].copy_from_slice(&c[..n]);
    }
    Ok(BlockRecord {
        id,
        dev: layout.dev.uint(raw).ok_or_else(short)?,
        sector: layout.sector.uint(raw).ok_or_else(short)?,
        nr_sector: layout.nr_sector.uint(raw).ok_or_else(short)? as u32,
        bytes: match layout.bytes {
            Some(s) => Some(s.uint(raw).ok_or_else(short)?),
            None => None,
        },
        rwbs,
        comm,
        error: match layout.error {
            Some(s) => s.int(raw).ok_or_else(short)?,
            None => 0,
        },
    })
}

/// A perf ring buffer record, as the collector asks for them (PERF_SAMPLE_TID |
/// PERF_SAMPLE_TIME | PERF_SAMPLE_RAW).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PerfRecord<'a> {
    Sample {
        pid: u32,
        tid: u32,
        time_ns: u64,
        raw: &'a [u8],
    },
    /// PERF_RECORD_LOST: the kernel dropped this many records.
    Lost(u64),
    /// Any other record type (none is asked for).
    Other(u32),
}

pub const PERF_RECORD_LOST: u32 = 2;
pub const PERF_RECORD_SAMPLE: u32 = 9;

fn u32_at(b: &[u8], at: usize) -> Option<u32> {
    let s = b.get(at..at + 4)?;
    Some(u32::from_ne_bytes([s[0], s[1], s[2], s[3]]))
}

fn u64_at(b: &[u8], at: usize) -> Option<u64> {
    let s = b.get(at..at + 8)?;
    Some(u64::from_ne_bytes([
        s[0], s[1], s[2], s[3], s[4], s[5], s[6], s[7],
    ]))
}

/// Parses a record's body (after the 8-byte perf_event_header) of type `ty`.
pub fn parse_perf_record(ty: u32, body: &[u8]) -> Result<PerfRecord<'_>, FormatError> {
    let short = || bad(format!("perf record of type {ty} is {} bytes", body.len()));
    match ty {
        PERF_RECORD_SAMPLE => {
            // u32 pid, u32 tid; u64 time; u32 size; u8 data[size].
            let pid = u32_at(body, 0).ok_or_else(short)?;
            let tid = u32_at(body, 4).ok_or_else(short)?;
            let time_ns = u64_at(body, 8).ok_or_else(short)?;
            let size = u32_at(body, 16).ok_or_else(short)? as usize;
            let raw = body.get(20..20 + size).ok_or_else(short)?;
            Ok(PerfRecord::Sample {
                pid,
                tid,
                time_ns,
                raw,
            })
        }
        // u64 id, u64 lost.
        PERF_RECORD_LOST => Ok(PerfRecord::Lost(u64_at(body, 8).ok_or_else(short)?)),
        t => Ok(PerfRecord::Other(t)),
    }
}

/// How a TCP tracepoint stores its 4-tuple.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TcpAddrs {
    /// `sport`, `dport` (host order), `saddr`/`daddr` (4 bytes) and `saddr_v6`/`daddr_v6`
    /// (16), with `family` where the kernel has it (`tcp_retransmit_skb`,
    /// `tcp_receive_reset`).
    Split {
        sport: Slot,
        dport: Slot,
        family: Option<Slot>,
        saddr: Slot,
        daddr: Slot,
        saddr_v6: Option<Slot>,
        daddr_v6: Option<Slot>,
    },
    /// `saddr`/`daddr` as whole `struct sockaddr_in6`-sized buffers holding a sockaddr_in
    /// or sockaddr_in6 (newer kernels' `tcp_send_reset`): family first, port in network
    /// order.
    Sockaddr { saddr: Slot, daddr: Slot },
}

/// Where the fields the TCP collector reads lie in one TCP tracepoint's records.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TcpLayout {
    pub id: u64,
    pub common_type: Slot,
    /// The socket's state (`tcp_receive_reset` has none).
    pub state: Option<Slot>,
    pub addrs: TcpAddrs,
}

/// A sockaddr_in6 is 28 bytes, a sockaddr_in 16.
const SOCKADDR_SIZES: [usize; 2] = [16, 28];

impl TcpLayout {
    /// The layout of `tcp_retransmit_skb`, `tcp_send_reset` or `tcp_receive_reset` from its
    /// format. `saddr` of 4 bytes means the split form, of a sockaddr's size the other.
    pub fn from_format(f: &Format) -> Result<TcpLayout, FormatError> {
        let saddr = f
            .field("saddr")
            .ok_or_else(|| bad(format!("{}: no field saddr", f.name)))?;
        let addrs = if SOCKADDR_SIZES.contains(&saddr.size) {
            TcpAddrs::Sockaddr {
                saddr: sized_slot(f, "saddr", &SOCKADDR_SIZES)?,
                daddr: sized_slot(f, "daddr", &SOCKADDR_SIZES)?,
            }
        } else {
            let opt = |name: &str, sizes: &[usize]| {
                f.field(name)
                    .map(|_| sized_slot(f, name, sizes))
                    .transpose()
            };
            TcpAddrs::Split {
                sport: sized_slot(f, "sport", &[2])?,
                dport: sized_slot(f, "dport", &[2])?,
                family: opt("family", &[2])?,
                saddr: sized_slot(f, "saddr", &[4])?,
                daddr: sized_slot(f, "daddr", &[4])?,
                saddr_v6: opt("saddr_v6", &[16])?,
                daddr_v6: opt("daddr_v6", &[16])?,
            }
        };
        Ok(TcpLayout {
            id: f.id,
            common_type: sized_slot(f, "common_type", &[2])?,
            state: f
                .field("state")
                .map(|_| sized_slot(f, "state", &[1, 4]))
                .transpose()?,
            addrs,
        })
    }

    /// The id of the tracepoint a raw record came from (its `common_type`).
    pub fn record_id(&self, raw: &[u8]) -> Option<u64> {
        self.common_type.uint(raw)
    }
}

/// The fields of one TCP tracepoint record: the connection as seen from this host.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TcpRecord {
    pub id: u64,
    /// The socket's TCP state (`TCP_ESTABLISHED` = 1 …); `None` where the tracepoint has
    /// none, 0 where it had no socket (a reset sent for a segment to a closed port).
    pub state: Option<u8>,
    pub local: SocketAddr,
    pub remote: SocketAddr,
}

const AF_INET: u64 = 2;
const AF_INET6: u64 = 10;

fn v4(b: &[u8]) -> Option<Ipv4Addr> {
    Some(Ipv4Addr::from(<[u8; 4]>::try_from(b).ok()?))
}

fn v6(b: &[u8]) -> Option<Ipv6Addr> {
    Some(Ipv6Addr::from(<[u8; 16]>::try_from(b).ok()?))
}

/// A `struct sockaddr_in` or `sockaddr_in6` as the kernel stored it; an unset one (family
/// 0: no socket and no packet) is the unspecified address.
fn sockaddr(b: &[u8]) -> Option<SocketAddr> {
    let family = u16::from_ne_bytes([*b.first()?, *b.get(1)?]) as u64;
    let port = u16::from_be_bytes([*b.get(2)?, *b.get(3)?]);
    let ip = match family {
        AF_INET => IpAddr::V4(v4(b.get(4..8)?)?),
        AF_INET6 => IpAddr::V6(v6(b.get(8..24)?)?),
        0 => IpAddr::V4(Ipv4Addr::UNSPECIFIED),
        _ => return None,
    };
    Some(SocketAddr::new(ip, port))
}

/// An address of the split form: by family where given; without it (older kernels), the
/// IPv6 field unless it is empty or the IPv4-mapped copy of the IPv4 one.
fn split_ip(family: Option<u64>, a4: &[u8], a6: Option<&[u8]>) -> Option<IpAddr> {
    let four = v4(a4)?;
    let six = match a6 {
        Some(b) => Some(v6(b)?),
        None => None,
    };
    Some(match (family, six) {
        (Some(AF_INET6), Some(s)) => IpAddr::V6(s),
        (Some(AF_INET6), None) => return None,
        (Some(_), _) | (None, None) => IpAddr::V4(four),
        (None, Some(s)) if s.is_unspecified() || s.to_ipv4_mapped() == Some(four) => {
            IpAddr::V4(four)
        }
        (None, Some(s)) => IpAddr::V6(s),
    })
}

/// Reads one record of a TCP tracepoint with its layout.
pub fn parse_tcp_record(layout: &TcpLayout, raw: &[u8]) -> Result<TcpRecord, FormatError> {
    let short = || bad(format!("record of {} bytes is too short", raw.len()));
    let id = layout.common_type.uint(raw).ok_or_else(short)?;
    let state = match layout.state {
        Some(s) => Some(u8::try_from(s.uint(raw).ok_or_else(short)?).unwrap_or(u8::MAX)),
        None => None,
    };
    let (local, remote) = match &layout.addrs {
        TcpAddrs::Sockaddr { saddr, daddr } => {
            let one = |s: &Slot| {
                let b = s.bytes(raw).ok_or_else(short)?;
                sockaddr(b).ok_or_else(|| bad("sockaddr of an unknown family"))
            };
            (one(saddr)?, one(daddr)?)
        }
        TcpAddrs::Split {
            sport,
            dport,
            family,
            saddr,
            daddr,
            saddr_v6,
            daddr_v6,
        } => {
            let family = match family {
                Some(f) => {
                    let f = f.uint(raw).ok_or_else(short)?;
                    if f != AF_INET && f != AF_INET6 {
                        return Err(bad(format!("unknown address family {f}")));
                    }
                    Some(f)
                }
                None => None,
            };
            let ip = |a4: &Slot, a6: &Option<Slot>| {
                let six = match a6 {
                    Some(s) => Some(s.bytes(raw).ok_or_else(short)?),
                    None => None,
                };
                split_ip(family, a4.bytes(raw).ok_or_else(short)?, six)
                    .ok_or_else(|| bad("IPv6 record without IPv6 fields"))
            };
            let port = |s: &Slot| s.uint(raw).map(|p| p as u16).ok_or_else(short);
            (
                SocketAddr::new(ip(saddr, saddr_v6)?, port(sport)?),
                SocketAddr::new(ip(daddr, daddr_v6)?, port(dport)?),
            )
        }
    };
    Ok(TcpRecord {
        id,
        state,
        local,
        remote,
    })
}
