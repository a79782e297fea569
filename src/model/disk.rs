//! Block devices (/proc/diskstats) and PSI io: the raw counters per device and the iostat -x
//! figures derived from two samples. The formulas are sysstat's (`compute_ext_disk_stats`,
//! `write_ext_stat`), over the measured interval rather than the jiffies one.

use serde::{Deserialize, Serialize};

use super::sample::{Psi, PsiLine};

/// One line of /proc/diskstats. Kernels print 14 fields (up to 4.17), 18 (discards, 4.18+)
/// or 20 (flushes, 5.5+); the later groups are `None` where the kernel does not have them.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DiskStat {
    pub major: u32,
    pub minor: u32,
    pub name: String,
    /// A partition rather than a whole device (iostat hides these without -p).
    #[serde(default)]
    pub partition: bool,
    pub rd_ios: u64,
    pub rd_merges: u64,
    pub rd_sectors: u64,
    pub rd_ticks: u64,
    pub wr_ios: u64,
    pub wr_merges: u64,
    pub wr_sectors: u64,
    pub wr_ticks: u64,
    pub in_flight: u64,
    pub io_ticks: u64,
    /// Weighted milliseconds spent doing I/O (time_in_queue): aqu-sz's numerator.
    pub rq_ticks: u64,
    /// ios, merges, sectors, ticks for discards.
    pub discard: Option<[u64; 4]>,
    /// ios, ticks for flushes.
    pub flush: Option<[u64; 2]>,
    /// SCSI `device/ioerr_cnt`, where the device has one: the only I/O error count the
    /// kernel exposes per device.
    #[serde(default)]
    pub ioerr: Option<u64>,
}

/// What a block device is, from `/sys/block/X/queue` (read once per device): whether it
/// serves one request at a time (a spinning disk) or many in parallel, and how many.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DiskKind {
    pub major: u32,
    pub minor: u32,
    pub name: String,
    /// `queue/rotational`; `None` where sysfs does not say.
    pub rotational: Option<bool>,
    /// Requests the device takes at once: `device/queue_depth` (SCSI, SATA), else
    /// `queue/nr_requests` (the block layer's queue for it).
    pub queue_depth: Option<u32>,
}

/// Raw counters as read; part of the recording format (add fields with `#[serde(default)]`).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct DiskSample {
    #[serde(default)]
    pub devices: Vec<DiskStat>,
    /// /proc/pressure/io.
    #[serde(default)]
    pub psi: Option<Psi>,
}

/// iostat -x columns for one device over one interval.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct DiskDev {
    pub name: String,
    pub partition: bool,
    pub r_s: f64,
    pub w_s: f64,
    pub d_s: Option<f64>,
    pub f_s: Option<f64>,
    pub rkb_s: f64,
    pub wkb_s: f64,
    pub dkb_s: Option<f64>,
    pub rrqm_s: f64,
    pub wrqm_s: f64,
    pub drqm_s: Option<f64>,
    pub pct_rrqm: f64,
    pub pct_wrqm: f64,
    pub r_await: f64,
    pub w_await: f64,
    pub d_await: Option<f64>,
    pub f_await: Option<f64>,
    pub aqu_sz: f64,
    pub rareq_sz: f64,
    pub wareq_sz: f64,
    pub dareq_sz: Option<f64>,
    pub util: f64,
    pub in_flight: u64,
    /// I/O errors during the interval, where the device counts them.
    pub ioerr: Option<u64>,
    /// Any request completed or in flight during the interval (iostat -z shows only these).
    pub active: bool,
    /// From the device's `DiskKind`, where known.
    pub rotational: Option<bool>,
    pub queue_depth: Option<u32>,
}

/// Rates and USE figures derived from two samples.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct DiskFigures {
    /// Devices present in both samples with counters that moved forward, in diskstats order.
    pub devices: Vec<DiskDev>,
    /// Devices with no rates this interval: new since the last sample, or counters reset.
    pub fresh: Vec<String>,
    /// Devices in the previous sample that are gone now.
    pub gone: Vec<String>,
    /// PSI io stall share (percent of wall time) over the interval.
    pub psi_some: Option<f64>,
    pub psi_full: Option<f64>,
}

/// Increase of a kernel counter that may be 32 bits wide (the ms fields of diskstats are
/// printed as `unsigned int` even on 64-bit kernels; some NIC drivers keep 32-bit counts).
/// A small step across 2^32 is a wrap; any other decrease is a reset and gives `None`.
pub fn step(prev: u64, cur: u64) -> Option<u64> {
    const MAX32: u64 = u32::MAX as u64;
    if cur >= prev {
        return Some(cur - prev);
    }
    if prev <= MAX32 {
        let d = (MAX32 - prev) + cur + 1;
        // A wrap after a sampling interval is a fraction of the range; a reset from a large
        // value to a small one is not.
        if d < 1 << 31 {
            return Some(d);
        }
    }
    None
}

fn psi_pct(p: Option<&PsiLine>, c: Option<&PsiLine>, dt_s: f64) -> Option<f64> {
    let (p, c) = (p?, c?);
    (dt_s > 0.0)
        .then(|| (c.total_us.saturating_sub(p.total_us) as f64 / dt_s / 1e4).clamp(0.0, 100.0))
}

/// The iostat -x figures of one device between two readings, or `None` when a counter
/// went backwards (the device was re-created: its new counters start from zero).
pub fn device_figures(p: &DiskStat, c: &DiskStat, dt_s: f64) -> Option<DiskDev> {
    if dt_s <= 0.0 {
        return None;
    }
    let rd_ios = step(p.rd_ios, c.rd_ios)? as f64;
    let wr_ios = step(p.wr_ios, c.wr_ios)? as f64;
    let rd_merges = step(p.rd_merges, c.rd_merges)? as f64;
    let wr_merges = step(p.wr_merges, c.wr_merges)? as f64;
    let rd_sec = step(p.rd_sectors, c.rd_sectors)? as f64;
    let wr_sec = step(p.wr_sectors, c.wr_sectors)? as f64;
    let rd_ticks = step(p.rd_ticks, c.rd_ticks)? as f64;
    let wr_ticks = step(p.wr_ticks, c.wr_ticks)? as f64;
    let io_ticks = step(p.io_ticks, c.io_ticks)? as f64;
    let rq_ticks = step(p.rq_ticks, c.rq_ticks)? as f64;
    // Averages over requests are 0 when there were none, as iostat prints them.
    let per = |num: f64, den: f64| if den > 0.0 { num / den } else { 0.0 };
    let disc = match (p.discard, c.discard) {
        (Some(a), Some(b)) => Some([
            step(a[0], b[0])? as f64,
            step(a[1], b[1])? as f64,
            step(a[2], b[2])? as f64,
            step(a[3], b[3])? as f64,
        ]),
        _ => None,
    };
    let flush = match (p.flush, c.flush) {
        (Some(a), Some(b)) => Some([step(a[0], b[0])? as f64, step(a[1], b[1])? as f64]),
        _ => None,
    };
    let ioerr = match (p.ioerr, c.ioerr) {
        (Some(a), Some(b)) => step(a, b),
        _ => None,
    };
    let active = rd_ios + wr_ios > 0.0
        || disc.is_some_and(|d| d[0] > 0.0)
        || flush.is_some_and(|f| f[0] > 0.0)
        || io_ticks > 0.0
        || c.in_flight > 0;
    Some(DiskDev {
        name: c.name.clone(),
        partition: c.partition,
        r_s: rd_ios / dt_s,
        w_s: wr_ios / dt_s,
        d_s: disc.map(|d| d[0] / dt_s),
        f_s: flush.map(|f| f[0] / dt_s),
        // Sectors are 512 bytes whatever the device's block size.
        rkb_s: rd_sec / 2.0 / dt_s,
        wkb_s: wr_sec / 2.0 / dt_s,
        dkb_s: disc.map(|d| d[2] / 2.0 / dt_s),
        rrqm_s: rd_merges / dt_s,
        wrqm_s: wr_merges / dt_s,
        drqm_s: disc.map(|d| d[1] / dt_s),
        // Rounding of huge counts can lift a share a hair over 100.
        pct_rrqm: per(rd_merges * 100.0, rd_merges + rd_ios).min(100.0),
        pct_wrqm: per(wr_merges * 100.0, wr_merges + wr_ios).min(100.0),
        r_await: per(rd_ticks, rd_ios),
        w_await: per(wr_ticks, wr_ios),
        d_await: disc.map(|d| per(d[3], d[0])),
        f_await: flush.map(|f| per(f[1], f[0])),
        aqu_sz: rq_ticks / 1000.0 / dt_s,
        rareq_sz: per(rd_sec / 2.0, rd_ios),
        wareq_sz: per(wr_sec / 2.0, wr_ios),
        dareq_sz: disc.map(|d| per(d[2] / 2.0, d[0])),
        // io_ticks is ms busy; it can exceed the interval slightly from sampling skew.
        util: (io_ticks / 10.0 / dt_s).clamp(0.0, 100.0),
        in_flight: c.in_flight,
        ioerr,
        active,
        rotational: None,
        queue_depth: None,
    })
}

pub fn derive(prev: Option<&DiskSample>, cur: &DiskSample, dt_s: f64) -> DiskFigures {
    let mut out = DiskFigures {
        psi_some: psi_pct(
            prev.and_then(|p| p.psi.as_ref()).map(|p| &p.some),
            cur.psi.as_ref().map(|p| &p.some),
            dt_s,
        ),
        psi_full: psi_pct(
            prev.and_then(|p| p.psi.as_ref())
                .and_then(|p| p.full.as_ref()),
            cur.psi.as_ref().and_then(|p| p.full.as_ref()),
            dt_s,
        ),
        ..DiskFigures::default()
    };
    let Some(prev) = prev else {
        return out;
    };
    // A device is the same one if its name and number are; a name reused by another
    // major:minor (a re-created dm or loop device) is a new device.
    let same =
        |a: &DiskStat, b: &DiskStat| a.name == b.name && a.major == b.major && a.minor == b.minor;
    for c in &cur.devices {
        match prev
            .devices
            .iter()
            .find(|p| same(p, c))
            .and_then(|p| device_figures(p, c, dt_s))
        {
            Some(d) => out.devices.push(d),
            None => out.fresh.push(c.name.clone()),
        }
    }
    out.gone = prev
        .devices
        .iter()
        .filter(|p| !cur.devices.iter().any(|c| same(p, c)))
        .map(|p| p.name.clone())
        .collect();
    out
}

impl DiskFigures {
    /// Gives each device its kind (rotational flag, queue depth) from the sample's list.
    pub fn with_kinds(mut self, kinds: &[DiskKind]) -> DiskFigures {
        for d in &mut self.devices {
            if let Some(k) = kinds.iter().find(|k| k.name == d.name) {
                d.rotational = k.rotational;
                d.queue_depth = k.queue_depth;
            }
        }
        self
    }
}

/// Where a figure stands: the model's grades, coloured by the panes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Grade {
    Ok,
    Warn,
    Crit,
}

impl Grade {
    /// `warn` and `crit` are the lower bounds of each band.
    pub fn of(v: f64, warn: f64, crit: f64) -> Grade {
        if v >= crit {
            Grade::Crit
        } else if v >= warn {
            Grade::Warn
        } else {
            Grade::Ok
        }
    }
}

/// The thresholds a disk verdict uses: (warn, crit) lower bounds.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct DiskBands {
    /// Percent busy: %util, or the share of a parallel device's queue depth in use.
    pub util: (f64, f64),
    /// Requests queued: aqu-sz, or for a parallel device those beyond its queue depth.
    pub queue: (f64, f64),
}

/// How a device's utilization and saturation are judged.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Basis {
    /// A device that serves one request at a time (a spinning disk), or one whose kind or
    /// queue depth is unknown: %util is its utilization, aqu-sz its saturation.
    Util,
    /// A device that serves requests in parallel (SSD, NVMe, multi-queue virtual disk):
    /// %util says only that it was never idle, so the average queue (aqu-sz) is judged
    /// against the queue depth instead, and the requests beyond it are the saturation.
    Queue { depth: u32 },
}

/// The USE verdict on one device over one interval: what was judged, the grades, and the
/// figures behind them.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct DiskVerdict {
    pub basis: Basis,
    /// Utilization in percent: %util, or aqu-sz as a share of the queue depth.
    pub u_pct: f64,
    pub u: Grade,
    /// Requests waiting: aqu-sz, or aqu-sz beyond the queue depth.
    pub waiting: f64,
    pub s: Grade,
    /// iostat's %util, kept as information where it is not the verdict.
    pub util: f64,
    pub aqu_sz: f64,
    pub r_await: f64,
    pub w_await: f64,
}

impl DiskVerdict {
    /// One line on what U says and why it is judged that way.
    pub fn u_why(&self, bands: &DiskBands) -> String {
        match self.basis {
            Basis::Util => format!(
                "busy {:.0}% of the interval (red from {:.0}%)",
                self.util, bands.util.1
            ),
            Basis::Queue { depth } => format!(
                "{:.1} of {depth} requests in flight on average, {:.0}% of its queue depth \
                 (red from {:.0}%); serves in parallel, so %util {:.0} is information only",
                self.aqu_sz, self.u_pct, bands.util.1, self.util
            ),
        }
    }

    /// One line on the requests waiting, with the latency they see.
    pub fn s_why(&self, bands: &DiskBands) -> String {
        match self.basis {
            Basis::Util => format!(
                "queue {:.1} requests deep (red from {:.0}), await r {:.1} w {:.1} ms",
                self.aqu_sz, bands.queue.1, self.r_await, self.w_await
            ),
            Basis::Queue { depth } => format!(
                "{:.1} requests beyond the queue depth of {depth} (red from {:.0}), \
                 await r {:.1} w {:.1} ms",
                self.waiting, bands.queue.1, self.r_await, self.w_await
            ),
        }
    }
}

/// Judges a device's utilization and saturation. A spinning disk serves one request at a
/// time, so the share of time it was busy (%util) is its utilization and the queue (aqu-sz)
/// its saturation. A device that serves requests in parallel shows 100% util with one
/// request in flight at all times, long before it is full (iostat's manual says as much):
/// there the average queue is set against the queue depth, and only requests beyond the
/// depth wait. A non-rotational device with no known depth falls back to %util.
pub fn verdict(d: &DiskDev, bands: &DiskBands) -> DiskVerdict {
    let basis = match (d.rotational, d.queue_depth) {
        (Some(false), Some(depth)) if depth > 0 => Basis::Queue { depth },
        _ => Basis::Util,
    };
    let (u_pct, waiting) = match basis {
        Basis::Util => (d.util, d.aqu_sz),
        Basis::Queue { depth } => {
            let depth = f64::from(depth);
            (d.aqu_sz * 100.0 / depth, (d.aqu_sz - depth).max(0.0))
        }
    };
    DiskVerdict {
        basis,
        u_pct,
        u: Grade::of(u_pct, bands.util.0, bands.util.1),
        waiting,
        s: Grade::of(waiting, bands.queue.0, bands.queue.1),
        util: d.util,
        aqu_sz: d.aqu_sz,
        r_await: d.r_await,
        w_await: d.w_await,
    }
}

/// A loop, ram or zram device: no disk of its own, ranked after real disks.
pub fn is_virtual(name: &str) -> bool {
    ["loop", "ram", "zram"].iter().any(|p| name.starts_with(p))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn step_wraps_and_resets() {
        assert_eq!(step(5, 9), Some(4));
        assert_eq!(step(u64::from(u32::MAX) - 2, 4), Some(7));
        // From one billion to 10 is a reset, not a 3.3 billion wrap.
        assert_eq!(step(1_000_000_000, 10), None);
        assert_eq!(step(1 << 40, 10), None);
    }
}
