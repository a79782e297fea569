//! The dump records of the disk, net, sock, slab and perf views: a per-snapshot header and
//! one record per device, interface, socket, cache or CPU, built from the figures the panes
//! draw (the snapshot's derived figures and the same helpers), never derived afresh.

use serde::{Deserialize, Serialize};

use crate::model::Snapshot;
use crate::model::disk::DiskDev;
use crate::model::fields::{PerfCpuRow, SlabRow, SockRow};
use crate::model::net::NicFigures;
use crate::model::perf::Ev;
use crate::model::slab::{self, SlabCache};
use crate::model::sockets::{TCP_ESTABLISHED, TCP_LISTEN, TCP_SYN_RECV, TCP_TIME_WAIT};

// ---- disk (iostat -x) ----

/// PSI io over the interval, beside the devices.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct DiskHeader {
    pub psi_io_some_pct: Option<f64>,
    pub psi_io_full_pct: Option<f64>,
}

/// One block device over one interval, as iostat -x shows it, as a dump is read back: the
/// dump writes `DISK_FIELDS` (`model/fields/disk.rs`). Partitions are included and marked;
/// devices new this interval (no rates yet) are left out.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct DiskRecord {
    pub device: String,
    pub partition: bool,
    pub reads_per_s: f64,
    pub writes_per_s: f64,
    pub discards_per_s: Option<f64>,
    pub flushes_per_s: Option<f64>,
    pub read_kbps: f64,
    pub write_kbps: f64,
    pub discard_kbps: Option<f64>,
    pub read_merges_per_s: f64,
    pub write_merges_per_s: f64,
    pub discard_merges_per_s: Option<f64>,
    pub read_merges_pct: f64,
    pub write_merges_pct: f64,
    pub read_await_ms: f64,
    pub write_await_ms: f64,
    pub discard_await_ms: Option<f64>,
    pub flush_await_ms: Option<f64>,
    pub queue_size: f64,
    pub read_req_kb: f64,
    pub write_req_kb: f64,
    pub discard_req_kb: Option<f64>,
    pub util_pct: f64,
    pub in_flight: u64,
    pub io_errors: Option<u64>,
    pub active: bool,
    #[serde(flatten)]
    pub checklist: super::checklist::DiskChecklist,
    /// The traced latency (`null` while not traced).
    #[serde(flatten)]
    pub latency: super::blktrace::DiskLatency,
}

/// PSI io and one row per device; the dump writes each row's `DISK_FIELDS`.
pub fn disk(s: &Snapshot) -> (DiskHeader, Vec<DiskDev>) {
    let header = DiskHeader {
        psi_io_some_pct: s.disk.psi_some,
        psi_io_full_pct: s.disk.psi_full,
    };
    (header, s.disk.devices.clone())
}

// ---- net (sar -n DEV,EDEV,TCP,ETCP,UDP) ----

/// sar -n TCP and ETCP plus the TcpExt listen-queue counters, per second.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct TcpRecord {
    pub active_opens_per_s: f64,
    pub passive_opens_per_s: f64,
    pub in_segs_per_s: f64,
    pub out_segs_per_s: f64,
    pub attempt_fails_per_s: f64,
    pub estab_resets_per_s: f64,
    pub retrans_segs_per_s: f64,
    pub in_errs_per_s: f64,
    pub out_rsts_per_s: f64,
    pub curr_estab: u64,
    pub listen_overflows_per_s: Option<f64>,
    pub listen_drops_per_s: Option<f64>,
    pub timeouts_per_s: Option<f64>,
}

/// sar -n UDP plus the socket-buffer errors, per second.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct UdpRecord {
    pub in_datagrams_per_s: f64,
    pub out_datagrams_per_s: f64,
    pub no_ports_per_s: f64,
    pub in_errors_per_s: f64,
    pub rcvbuf_errors_per_s: f64,
    pub sndbuf_errors_per_s: f64,
}

/// The stack rates beside the interfaces; `null` where /proc/net/snmp was not read.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct NetHeader {
    pub tcp: Option<TcpRecord>,
    pub udp: Option<UdpRecord>,
    #[serde(flatten)]
    pub checklist: super::checklist::NetChecklist,
}

/// One interface over one interval: sar -n DEV and EDEV, nicstat's averages and %util, as a
/// dump is read back: the dump writes `NIC_FIELDS` (`model/fields/net.rs`).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct NicRecord {
    pub interface: String,
    pub operstate: Option<String>,
    pub speed_mbps: Option<u64>,
    pub duplex: Option<String>,
    pub rx_kbps: f64,
    pub tx_kbps: f64,
    pub rx_packets_per_s: f64,
    pub tx_packets_per_s: f64,
    pub rx_packet_bytes: f64,
    pub tx_packet_bytes: f64,
    pub rx_compressed_per_s: f64,
    pub tx_compressed_per_s: f64,
    pub rx_multicast_per_s: f64,
    pub util_pct: Option<f64>,
    pub rx_errors_per_s: f64,
    pub tx_errors_per_s: f64,
    pub collisions_per_s: f64,
    pub rx_drops_per_s: f64,
    pub tx_drops_per_s: f64,
    pub tx_carrier_per_s: f64,
    pub rx_frame_per_s: f64,
    pub rx_fifo_per_s: f64,
    pub tx_fifo_per_s: f64,
    #[serde(flatten)]
    pub checklist: super::checklist::NicChecklist,
}

/// Headers with every optional object present, so the CSV header names all their fields.
pub fn net_header_template() -> NetHeader {
    NetHeader {
        tcp: Some(TcpRecord::default()),
        udp: Some(UdpRecord::default()),
        checklist: Default::default(),
    }
}

/// The stack rates and one row per interface; the dump writes each row's `NIC_FIELDS`.
pub fn net(s: &Snapshot) -> (NetHeader, Vec<NicFigures>) {
    let ext = s.net.tcp_ext;
    let header = NetHeader {
        tcp: s.net.tcp.map(|t| TcpRecord {
            active_opens_per_s: t.active_s,
            passive_opens_per_s: t.passive_s,
            in_segs_per_s: t.iseg_s,
            out_segs_per_s: t.oseg_s,
            attempt_fails_per_s: t.atmptf_s,
            estab_resets_per_s: t.estres_s,
            retrans_segs_per_s: t.retrans_s,
            in_errs_per_s: t.isegerr_s,
            out_rsts_per_s: t.orsts_s,
            curr_estab: t.curr_estab,
            listen_overflows_per_s: ext.map(|e| e.listen_overflows_s),
            listen_drops_per_s: ext.map(|e| e.listen_drops_s),
            timeouts_per_s: ext.map(|e| e.timeouts_s),
        }),
        udp: s.net.udp.map(|u| UdpRecord {
            in_datagrams_per_s: u.idgm_s,
            out_datagrams_per_s: u.odgm_s,
            no_ports_per_s: u.noport_s,
            in_errors_per_s: u.idgmerr_s,
            rcvbuf_errors_per_s: u.rcvbuferr_s,
            sndbuf_errors_per_s: u.sndbuferr_s,
        }),
        checklist: super::checklist::NetChecklist::from_snapshot(s),
    };
    (header, s.net.ifaces.clone())
}

// ---- sock (ss -s, ss -tmi) ----

/// The ss -s summary of one sample and the host's TCP throughput over the interval.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct SockHeader {
    pub tcp_sockets: usize,
    pub tcp_estab: u32,
    pub tcp_listen: u32,
    pub tcp_time_wait: u32,
    pub tcp_syn_recv: u32,
    pub tcp_other: u32,
    pub tcp_ipv6: usize,
    pub udp_sockets: u32,
    /// `null` where the kernel has no raw socket diagnostics.
    pub raw_sockets: Option<u32>,
    pub unix_sockets: u32,
    pub tcp_tx_bytes_per_s: Option<f64>,
    pub tcp_rx_bytes_per_s: Option<f64>,
    pub retrans_sockets: Option<u32>,
    pub retrans_segs: Option<u64>,
    pub zero_window_sockets: u32,
    pub listen_near_full: u32,
    /// The socket list may miss or repeat sockets (an interrupted dump).
    pub partial: bool,
    /// Why sockets could not be listed at all.
    pub sockets_error: Option<String>,
    pub owners_denied: u32,
}

/// One TCP socket (ss -tmi) with its rates over the interval, as a dump is read back: the
/// dump writes `SOCK_FIELDS` (`model/fields/sock.rs`), of which these are the oldest. The
/// owner is pid and comm only: command lines can hold secrets.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct SockRecord {
    pub state: String,
    pub ipv6: bool,
    pub local: String,
    pub peer: String,
    pub recv_q: u32,
    pub send_q: u32,
    pub rtt_ms: Option<f64>,
    pub rttvar_ms: Option<f64>,
    pub cwnd: Option<u32>,
    pub retrans: Option<u32>,
    pub total_retrans: Option<u32>,
    pub tx_bytes_per_s: Option<f64>,
    pub rx_bytes_per_s: Option<f64>,
    pub pid: Option<u32>,
    pub comm: Option<String>,
}

/// The summary and one row per socket; the dump writes each row's `SOCK_FIELDS`.
pub fn sock(s: &Snapshot) -> (SockHeader, Vec<SockRow>) {
    let raw = &s.cur.sockets;
    let f = &s.sockets;
    let st = |n: u8| f.tcp_by_state[usize::from(n)];
    // The same split as the pane's summary line.
    let other = (f.tcp_total as u32)
        .saturating_sub(st(TCP_ESTABLISHED))
        .saturating_sub(st(TCP_LISTEN))
        .saturating_sub(st(TCP_TIME_WAIT))
        .saturating_sub(st(TCP_SYN_RECV));
    let sum = |c: &[u32; 12]| c.iter().sum::<u32>();
    let header = SockHeader {
        tcp_sockets: f.tcp_total,
        tcp_estab: st(TCP_ESTABLISHED),
        tcp_listen: st(TCP_LISTEN),
        tcp_time_wait: st(TCP_TIME_WAIT),
        tcp_syn_recv: st(TCP_SYN_RECV),
        tcp_other: other,
        tcp_ipv6: raw.tcp.iter().filter(|t| t.v6).count(),
        udp_sockets: sum(&raw.udp),
        raw_sockets: raw.raw.as_ref().map(sum),
        unix_sockets: sum(&raw.unix),
        tcp_tx_bytes_per_s: f.tx_bps,
        tcp_rx_bytes_per_s: f.rx_bps,
        retrans_sockets: f.retrans_sockets,
        retrans_segs: f.retrans_segs,
        zero_window_sockets: f.zero_window,
        listen_near_full: f.listen_near_full,
        partial: raw.partial,
        sockets_error: raw.error.clone(),
        owners_denied: raw.owners_denied,
    };
    let rows = s
        .socket_rates()
        .iter()
        .map(|r| SockRow {
            rate: r.clone(),
            owners_denied: raw.owners_denied > 0,
            owners_known: raw.owners_known,
        })
        .collect();
    (header, rows)
}

// ---- slab (slabtop) ----

/// slabtop's header lines and SUnreclaim from meminfo with its growth.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct SlabHeader {
    pub slab_active_objs: Option<u64>,
    pub slab_objs: Option<u64>,
    pub slab_active_slabs: Option<u64>,
    pub slab_slabs: Option<u64>,
    pub slab_active_caches: Option<u64>,
    pub slab_caches: Option<u64>,
    pub slab_active_bytes: Option<u64>,
    pub slab_total_bytes: Option<u64>,
    /// Every page of every slab (the sum of the caches' `cache_bytes`).
    pub slab_cache_bytes: Option<u64>,
    pub slab_min_obj_bytes: Option<u64>,
    pub slab_avg_obj_bytes: Option<u64>,
    pub slab_max_obj_bytes: Option<u64>,
    pub unreclaimable_bytes: Option<u64>,
    pub unreclaimable_growth_bytes_per_s: Option<f64>,
}

/// One slab cache as slabtop shows it, with its growth over the interval, as a dump is read
/// back: the dump writes `SLAB_FIELDS` (`model/fields/slab.rs`).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct SlabRecord {
    pub cache: String,
    pub active_objs: u64,
    pub objs: u64,
    pub use_pct: f64,
    pub obj_size_bytes: u64,
    pub objs_per_slab: u64,
    pub pages_per_slab: u64,
    pub active_slabs: u64,
    pub slabs: u64,
    pub cache_bytes: u64,
    pub growth_bytes_per_s: Option<f64>,
    pub objs_growth_per_s: Option<f64>,
}

/// The page size slabinfo's pages are counted in (the pane's rule).
pub fn slab_page_size(s: &Snapshot) -> u64 {
    if s.cur.slab.page_size > 0 {
        s.cur.slab.page_size
    } else {
        s.cur.page_size.max(1)
    }
}

/// Bytes of every slab cache, when slabinfo was read.
pub fn slab_cache_bytes(s: &Snapshot) -> Option<u64> {
    let page = slab_page_size(s);
    s.cur.slab.caches.as_ref().map(|c| {
        c.iter()
            .map(|c| c.cache_bytes(page))
            .fold(0, u64::saturating_add)
    })
}

/// The totals and one row per cache; the dump writes each row's `SLAB_FIELDS`.
pub fn slab(s: &Snapshot) -> (SlabHeader, Vec<SlabRow>) {
    let t = s.slab.totals;
    let unreclaim = slab::unreclaim(s);
    let header = SlabHeader {
        slab_active_objs: t.map(|t| t.active_objs),
        slab_objs: t.map(|t| t.num_objs),
        slab_active_slabs: t.map(|t| t.active_slabs),
        slab_slabs: t.map(|t| t.num_slabs),
        slab_active_caches: t.map(|t| t.active_caches),
        slab_caches: t.map(|t| t.caches),
        slab_active_bytes: t.map(|t| t.active_bytes),
        slab_total_bytes: t.map(|t| t.total_bytes),
        slab_cache_bytes: slab_cache_bytes(s),
        slab_min_obj_bytes: t.map(|t| t.min_obj),
        slab_avg_obj_bytes: t.map(|t| t.avg_obj),
        slab_max_obj_bytes: t.map(|t| t.max_obj),
        unreclaimable_bytes: unreclaim.map(|(b, _)| b),
        unreclaimable_growth_bytes_per_s: unreclaim.and_then(|(_, g)| g),
    };
    let page = slab_page_size(s);
    let rows = s
        .slab_caches()
        .iter()
        .map(|r| SlabRow {
            cache: SlabCache::clone(&r.cache),
            growth_bps: r.growth_bps,
            objs_s: r.objs_s,
            page,
        })
        .collect();
    (header, rows)
}

// ---- perf (per-CPU counters) ----

/// Whether hardware counters work (and why not), and the sum over CPUs.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct PerfHeader {
    pub hw_available: bool,
    pub hw_reason: Option<String>,
    pub system_reason: Option<String>,
    /// False when only user-space events are counted (kernel counting refused).
    pub kernel_counted: bool,
    pub total_cycles_per_s: Option<f64>,
    pub total_instructions_per_s: Option<f64>,
    pub total_ipc: Option<f64>,
}

/// One CPU's counter rates over the interval, scaled for multiplexing, as a dump is read
/// back: the dump writes `PERF_CPU_FIELDS` (`model/fields/perf.rs`).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct PerfCpuRecord {
    pub cpu: u32,
    pub cycles_per_s: Option<f64>,
    pub instructions_per_s: Option<f64>,
    pub ipc: Option<f64>,
    pub cache_refs_per_s: Option<f64>,
    pub cache_misses_per_s: Option<f64>,
    pub cache_miss_pct: Option<f64>,
    pub branch_misses_per_s: Option<f64>,
    pub branch_miss_pct: Option<f64>,
    pub cpu_clock_pct: Option<f64>,
    pub ctx_switches_per_s: Option<f64>,
    pub migrations_per_s: Option<f64>,
    pub page_faults_per_s: Option<f64>,
    /// Some event was multiplexed: counted part of the time and scaled up.
    pub scaled: bool,
}

/// Whether hardware counts, the totals and one row per CPU; the dump writes each row's
/// `PERF_CPU_FIELDS`.
pub fn perf(s: &Snapshot) -> (PerfHeader, Vec<PerfCpuRow>) {
    let p = &s.cur.perf;
    let tot = &s.perf.total;
    let header = PerfHeader {
        hw_available: p.hw_reason.is_none() && !s.perf.cpus.is_empty(),
        hw_reason: p.hw_reason.clone(),
        system_reason: p.system_reason.clone(),
        kernel_counted: p.kernel,
        total_cycles_per_s: tot.get(Ev::Cycles),
        total_instructions_per_s: tot.get(Ev::Instructions),
        total_ipc: tot.ipc(),
    };
    let rows = s
        .perf
        .cpus
        .iter()
        .map(|(id, r)| PerfCpuRow {
            cpu: Some(*id),
            rates: *r,
        })
        .collect();
    (header, rows)
}
