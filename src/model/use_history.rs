//! One figure per snapshot for each overview row: the utilization its U cell shows, read
//! from the snapshot's system figures alone (no task, socket or slab table is derived), so
//! a sparkline over a full ring costs one lookup per snapshot and row.

use super::Snapshot;
use super::disk::{DiskBands, verdict};
use super::perf::Ev;
use super::slab;
use super::thresholds::Thresholds;
use super::verdict::{Instance, Kind, Resource};

/// What an overview row's history follows.
#[derive(Clone, Debug, PartialEq)]
pub enum Series {
    /// CPU busy %, all CPUs.
    CpuBusy,
    /// Memory used %.
    MemUsed,
    /// A mount's space used %.
    FsUsed(String),
    /// A disk's utilization %: %util, or its queue's share of the queue depth.
    DiskU(String),
    /// An interface's link utilization % (its speed is known).
    NicUtil(String),
    /// An interface's traffic, bytes/s (its speed is not known).
    NicBytes(String),
    /// TCP connections established.
    TcpEstab,
    /// TCP sockets' bytes/s, both ways.
    SockBytes,
    /// Unreclaimable slab bytes.
    SlabUnreclaim,
    /// CPU cycles per second.
    Cycles,
    /// CPU time stolen by the hypervisor, %.
    Steal,
    /// File handles, % of fs.file-max.
    Files,
    /// Tasks, % of the nearer of threads-max and pid_max.
    Tasks,
}

impl Series {
    /// The series of a row of the snapshot `cur`; `None` for a summary row (`Disk +3`)
    /// whose members change from one snapshot to the next, or a row about nothing.
    pub fn of(r: &Resource, cur: &Snapshot) -> Option<Series> {
        let named = |f: fn(String) -> Series| match &r.instance {
            Instance::Named(n) => Some(f(n.clone())),
            _ => None,
        };
        match r.kind {
            Kind::Cpu => Some(Series::CpuBusy),
            Kind::Memory => Some(Series::MemUsed),
            Kind::Filesystem => named(Series::FsUsed),
            Kind::Disk => named(Series::DiskU),
            Kind::Nic => {
                let name = r.name()?;
                let util = cur
                    .net
                    .ifaces
                    .iter()
                    .any(|n| n.name == name && n.util.is_some());
                named(if util {
                    Series::NicUtil
                } else {
                    Series::NicBytes
                })
            }
            Kind::Tcp => Some(Series::TcpEstab),
            Kind::TcpSockets => Some(Series::SockBytes),
            Kind::Slab => Some(Series::SlabUnreclaim),
            Kind::CpuCounters => Some(Series::Cycles),
            // A cgroup's figures come from its derived table: none is derived for older
            // snapshots, so cgroup rows draw no history.
            Kind::Cgroup => None,
            Kind::Steal => Some(Series::Steal),
            Kind::Files => Some(Series::Files),
            Kind::Tasks => Some(Series::Tasks),
            // A node's or the softnet row's figure has no single utilization.
            Kind::Numa | Kind::Softnet => None,
        }
    }

    /// A percentage (drawn on a 0–100 scale), or a figure drawn against its own maximum.
    pub fn is_pct(&self) -> bool {
        matches!(
            self,
            Series::CpuBusy
                | Series::MemUsed
                | Series::FsUsed(_)
                | Series::DiskU(_)
                | Series::NicUtil(_)
                | Series::Steal
                | Series::Files
                | Series::Tasks
        )
    }

    /// The figure in snapshot `s`; `None` where it has none (no interval yet, a device
    /// absent then).
    pub fn value(&self, s: &Snapshot, th: &Thresholds) -> Option<f64> {
        match self {
            Series::CpuBusy => s.cpu.total.map(|c| c.busy()),
            Series::MemUsed => s.free.and_then(|f| f.used_pct()),
            Series::FsUsed(m) => s.cur.fs.iter().find(|f| &f.mount == m)?.used_pct(),
            Series::DiskU(name) => {
                let d = s.disk.devices.iter().find(|d| &d.name == name)?;
                let bands = DiskBands {
                    util: (th.disk_util.warn, th.disk_util.crit),
                    queue: (th.disk_aqu.warn, th.disk_aqu.crit),
                };
                Some(verdict(d, &bands).u_pct)
            }
            Series::NicUtil(name) => s.net.ifaces.iter().find(|n| &n.name == name)?.util,
            Series::NicBytes(name) => {
                let n = s.net.ifaces.iter().find(|n| &n.name == name)?;
                Some((n.rxkb_s + n.txkb_s) * 1024.0)
            }
            Series::TcpEstab => s.net.tcp.map(|t| t.curr_estab as f64),
            // No sockets read (the overview says n/a): no figure either.
            Series::SockBytes if s.cur.sockets.tcp.is_empty() && s.cur.sockets.error.is_some() => {
                None
            }
            Series::SockBytes => s.sockets.tx_bps.zip(s.sockets.rx_bps).map(|(t, r)| t + r),
            Series::SlabUnreclaim => {
                s.slab.totals?;
                slab::unreclaim(s).map(|(b, _)| b as f64)
            }
            Series::Cycles => s.perf.total.get(Ev::Cycles),
            Series::Steal => s.checklist.steal_pct.as_ref().ok().copied(),
            Series::Files => s.checklist.files.as_ref().ok().map(|c| c.pct),
            Series::Tasks => Some(s.checklist.tasks.as_ref().ok()?.worst()?.pct),
        }
    }
}
