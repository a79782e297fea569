//! How the model's USE verdicts read: the text of each cell's figures and of each reason.
//! The model carries them as values (`model::verdict`); their `Display` lives here, beside
//! the number formats it uses. Text from data (mounts, cache names) is raw until drawn.

use std::fmt::{self, Display, Formatter};

use super::fmt::{bytes, bytes_rate, count, count_rate, link_speed, signed_bytes_rate};
use super::text::fit;
use crate::model::verdict::{CgEvents, CgStall, CgUse, Figure, Reason, Stall};

fn pct_or_na(v: Option<f64>) -> String {
    v.map(|p| format!("{p:.1}%"))
        .unwrap_or_else(|| "n/a".into())
}

/// A CPU quota: `0.5 CPU`, `2 CPUs`.
fn cpus(q: f64) -> String {
    let n = if q.fract() == 0.0 {
        format!("{q:.0}")
    } else {
        format!("{q:.2}")
            .trim_end_matches('0')
            .trim_end_matches('.')
            .to_string()
    };
    format!("{n} CPU{}", if q > 1.0 { "s" } else { "" })
}

/// A count of a cgroup event, `-` where the file has no such counter.
fn count_or_dash(v: Option<u64>) -> String {
    v.map_or_else(|| "-".into(), |v| v.to_string())
}

/// "throttled 38% of periods (450 ms/s), quota 0.5 CPU; tasks stalled on CPU 12.0% of the
/// time; 3 memory.high breaches"
fn stall_reason(f: &mut Formatter<'_>, st: &CgStall) -> fmt::Result {
    let mut parts = Vec::new();
    if let Some(p) = st.throttled_pct {
        let quota = st
            .quota_cpus
            .map(|q| format!(", quota {}", cpus(q)))
            .unwrap_or_default();
        let ms = st
            .throttled_ms_s
            .map(|m| format!(" ({m:.0} ms/s)"))
            .unwrap_or_default();
        parts.push(format!("throttled {p:.0}% of periods{ms}{quota}"));
    }
    if let Some((what, p)) = st.psi {
        parts.push(format!("tasks stalled on {what} {p:.1}% of the time"));
    }
    if let Some(h) = st.high.filter(|h| *h > 0) {
        parts.push(format!("{h} memory.high breaches (reclaim)"));
    }
    if parts.is_empty() {
        return f.write_str("no quota, no stall");
    }
    f.write_str(&parts.join("; "))
}

/// "1 process OOM-killed, 3 memory.max hits in the interval (memory.max 200M)"
fn events_reason(f: &mut Formatter<'_>, ev: &CgEvents) -> fmt::Result {
    let pl = |n: u64, one: &'static str, many: &'static str| if n == 1 { one } else { many };
    let kills = ev.oom_kill.unwrap_or(0);
    let max = ev.max.unwrap_or(0);
    write!(
        f,
        "{kills} {} OOM-killed",
        pl(kills, "process", "processes")
    )?;
    if let Some(o) = ev.oom.filter(|o| *o > 0 && ev.oom_kill != Some(*o)) {
        write!(f, " ({o} OOM{})", pl(o, "", "s"))?;
    }
    write!(
        f,
        ", {max} memory.max hit{} in the interval",
        pl(max, "", "s")
    )?;
    match ev.limit {
        Some(l) => write!(f, " (memory.max {})", bytes(l)),
        None => Ok(()),
    }
}

fn opt_count(v: Option<u64>) -> String {
    v.map(|n| n.to_string()).unwrap_or_else(|| "n/a".into())
}

fn star(scaled: bool) -> &'static str {
    if scaled { "*" } else { "" }
}

impl Display for Figure {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        match self {
            Figure::NotAvailable => f.write_str("n/a"),
            Figure::Pending => f.write_str("-"),
            Figure::Blank => Ok(()),
            Figure::CpuBusy(Some(b)) => write!(f, "{b:.1}% busy"),
            Figure::CpuBusy(None) => f.write_str("-"),
            Figure::CpuBusyPegged { avg, cpu, busy } => {
                write!(f, "{avg:.1}% busy, cpu{cpu} {busy:.0}%")
            }
            Figure::CpuRunq {
                per_cpu,
                latency_ms_s,
                psi,
            } => {
                write!(f, "runq {per_cpu:.2}/cpu")?;
                if let Some(l) = latency_ms_s {
                    write!(f, " lat {}ms/s", count(*l))?;
                }
                match psi {
                    Stall::Pct(p) => write!(f, " psi {p:.1}%"),
                    Stall::Unreadable => f.write_str(" psi n/a"),
                    Stall::NoInterval => Ok(()),
                }
            }
            Figure::CpuErrors { mce, throttle } => {
                write!(f, "mce {} thr {}", opt_count(*mce), opt_count(*throttle))
            }
            Figure::Steal(p) => write!(f, "{p:.1}% stolen"),
            Figure::MemUsed(p) => write!(f, "{p:.1}% used"),
            Figure::MemPressure {
                swap_kbs,
                majflt_s,
                pgscan_s,
                psi,
                oom,
            } => write!(
                f,
                "oom {} swap {}/s maj {}/s scan {}/s psi {}",
                opt_count(*oom),
                bytes_rate(swap_kbs.map(|k| k * 1024.0)),
                count_rate(*majflt_s),
                count_rate(*pgscan_s),
                pct_or_na(*psi),
            ),
            Figure::MemErrors { ce, ue } => write!(f, "ce {ce} ue {ue}"),
            Figure::NodeUsed(p) => f.write_str(&pct_or_na(*p).replace('%', "% used")),
            Figure::NumaMiss {
                miss_pct,
                foreign_s,
            } => write!(
                f,
                "miss {} foreign {}/s",
                pct_or_na(*miss_pct),
                count(*foreign_s)
            ),
            Figure::SoftnetRate(p) => write!(f, "{} pkt/s", count(*p)),
            Figure::Squeeze(s) => write!(f, "squeeze {}/s", count(*s)),
            Figure::SoftnetDrops(n) => write!(f, "drop {n}"),
            Figure::Capacity { pct, max } => write!(f, "{pct:.1}% of {}", count(*max as f64)),
            Figure::FsErrors(n) => write!(f, "err {n}"),
            Figure::FsUsed { pct, total_bytes } => {
                write!(f, "{pct:.1}% of {}", bytes(*total_bytes))
            }
            Figure::FsInodes(Some(i)) => write!(f, "inode {i:.1}%"),
            Figure::FsInodes(None) => f.write_str("inode n/a"),
            Figure::FsRest(p) => write!(f, "≤ {p:.1}%"),
            Figure::DiskUtil(u) => write!(f, "{u:.1}% util"),
            Figure::DiskQueueShare { pct, depth, util } => {
                write!(f, "{pct:.1}% of qd {depth}, util {util:.0}%")
            }
            Figure::DiskQueue { aqu, psi } => {
                write!(f, "aqu {aqu:.2}")?;
                match psi {
                    Some(p) => write!(f, " psi {p:.1}%"),
                    None => Ok(()),
                }
            }
            Figure::IoErrors(n) => write!(f, "ioerr {n}"),
            Figure::UtilAtMost(u) => write!(f, "≤{u:.1}%"),
            Figure::DiskQueueAtMost(a) => write!(f, "aqu ≤{a:.2}"),
            Figure::NicUtil(u) => write!(f, "{u:.1}% util"),
            Figure::NicTraffic(b) => write!(f, "n/a {}/s", bytes_rate(Some(*b))),
            Figure::NicUtilAtMost(Some(u)) => write!(f, "≤{u:.1}%"),
            Figure::NicUtilAtMost(None) => f.write_str("n/a"),
            Figure::Drops(d) => write!(f, "drop {}/s", count(*d)),
            Figure::Errors(e) => write!(f, "err {}/s", count(*e)),
            Figure::TcpEstab(n) => write!(f, "{n} estab"),
            Figure::TcpSaturation {
                retrans_pct,
                listen_s,
            } => write!(
                f,
                "retr {retrans_pct:.1}% lsn {}/s",
                listen_s.map(count).unwrap_or_else(|| "n/a".into())
            ),
            Figure::TcpErrors { resets_s, inerr_s } => {
                write!(f, "rst {} inerr {}", count(*resets_s), count(*inerr_s))
            }
            Figure::SockTraffic { estab, bytes_s } => {
                write!(f, "{estab} est {}/s", bytes_rate(*bytes_s))
            }
            Figure::SockQueues {
                worst_pct,
                near_full,
                zero_window,
                partial,
            } => write!(
                f,
                "lsnq {} ({near_full} full) zwin {zero_window}{}",
                worst_pct
                    .map(|p| format!("{p:.0}%"))
                    .unwrap_or_else(|| "-".into()),
                if *partial { " · partial" } else { "" }
            ),
            Figure::SockRetrans(n) => write!(f, "retr {n} socks"),
            Figure::SlabUnreclaim {
                bytes: b,
                growth_bps,
            } => {
                write!(
                    f,
                    "unrecl {} {}/s",
                    bytes(*b),
                    signed_bytes_rate(*growth_bps)
                )
            }
            Figure::SlabTopCache {
                objs_used_pct,
                cache,
                growth_bps,
            } => write!(
                f,
                "{objs_used_pct:.0}% objs · {} {}/s",
                fit(cache, 16),
                signed_bytes_rate(*growth_bps)
            ),
            Figure::SlabObjsUsed(u) => write!(f, "{u:.0}% objs used"),
            Figure::Gcycles { per_s, scaled } => {
                write!(f, "{:.2}Gcyc/s{}", per_s / 1e9, star(*scaled))
            }
            Figure::Ipc { ipc, scaled } => write!(f, "IPC {ipc:.2}{}", star(*scaled)),
            Figure::IpcPending => f.write_str("IPC -"),
            Figure::CgroupUse(u) => match u {
                CgUse::Cpu { pct, quota_cpus } => {
                    write!(f, "cpu {pct:.0}% of {}", cpus(*quota_cpus))
                }
                CgUse::Mem { pct, limit, .. } => write!(f, "mem {pct:.0}% of {}", bytes(*limit)),
                CgUse::Pids { pct, max } => write!(f, "pids {pct:.0}% of {max}"),
            },
            Figure::CgroupNoLimit(Some(q)) => write!(f, "quota {}", cpus(*q)),
            Figure::CgroupNoLimit(None) => f.write_str("no limit"),
            Figure::CgroupStall(st) => {
                match st.throttled_pct {
                    Some(p) => write!(f, "thr {p:.0}%")?,
                    None => f.write_str("thr -")?,
                }
                if let Some((_, p)) = st.psi {
                    write!(f, " psi {p:.1}%")?;
                }
                match st.high {
                    Some(h) if h > 0 => write!(f, " high {h}"),
                    _ => Ok(()),
                }
            }
            Figure::CgroupEvents(ev) => write!(
                f,
                "kill {} max {}",
                count_or_dash(ev.oom_kill.or(ev.oom)),
                count_or_dash(ev.max)
            ),
            Figure::CgroupUseAtMost(Some(p)) => write!(f, "≤{p:.0}% of limits"),
            Figure::CgroupUseAtMost(None) => f.write_str("no limits"),
            Figure::CgroupThrottledAtMost(Some(p)) => write!(f, "thr ≤{p:.0}%"),
            Figure::CgroupThrottledAtMost(None) => f.write_str("thr -"),
        }
    }
}

impl Display for Reason {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        match self {
            Reason::NotAvailable(m) => m.fmt(f),
            Reason::CpuBusy { pct, crit } => {
                write!(f, "CPU {pct:.0}% busy (red from {crit:.0}%)")
            }
            Reason::CpuQueue {
                running,
                ncpu,
                psi,
                by_runq,
            } => write!(
                f,
                "{running} runnable on {ncpu} CPUs, {}{}",
                psi.map(|p| format!("tasks stalled on CPU {p:.1}% of the time"))
                    .unwrap_or_else(|| "CPU stall time (PSI) n/a".into()),
                if *by_runq { " (run queue)" } else { " (PSI)" }
            ),
            Reason::MemUsed(p) => write!(f, "memory {p:.0}% used (total - available)"),
            Reason::MemPressure {
                swap_kbs,
                majflt_s,
                psi,
            } => write!(
                f,
                "swapping {}/s, {} major faults/s, memory stalls {}",
                bytes_rate(swap_kbs.map(|k| k * 1024.0)),
                count_rate(*majflt_s),
                pct_or_na(*psi)
            ),
            Reason::OomKills(k) => write!(
                f,
                "{k} {} killed by the OOM killer in the last interval",
                if *k == 1 { "process" } else { "processes" }
            ),
            Reason::PeggedCpu {
                cpu,
                busy,
                avg,
                ncpu,
            } => write!(
                f,
                "cpu{cpu} {busy:.0}% busy while the {ncpu} CPUs average {avg:.0}% (one CPU saturated)"
            ),
            Reason::RunqLatency {
                total_ms_s,
                worst_cpu,
                worst_ms_s,
                warn,
            } => write!(
                f,
                "tasks waited for cpu{worst_cpu} {} ms/s ({} ms/s on all CPUs; yellow from {} per CPU)",
                count(*worst_ms_s),
                count(*total_ms_s),
                count(*warn)
            ),
            Reason::CpuErrors {
                mce,
                mce_total,
                core,
                package,
            } => write!(
                f,
                "{} machine-check exceptions ({} since boot), thermal throttling: {} core + {} package events, in the interval",
                opt_count(*mce),
                opt_count(*mce_total),
                opt_count(*core),
                opt_count(*package)
            ),
            Reason::Steal(p) => write!(
                f,
                "the hypervisor gave {p:.1}% of this guest's CPU time to others (lost capacity)"
            ),
            Reason::MemErrors {
                ce,
                ue,
                ce_total,
                ue_total,
            } => write!(
                f,
                "EDAC: {ce} corrected, {ue} uncorrected memory errors in the interval ({ce_total} and {ue_total} since boot)"
            ),
            Reason::NumaMiss {
                node,
                miss_pct,
                foreign_s,
            } => write!(
                f,
                "node {node}: {} of allocations missed their node, {}/s meant for it went elsewhere",
                pct_or_na(*miss_pct),
                count(*foreign_s)
            ),
            Reason::SoftnetSqueeze { per_s, cpu } => write!(
                f,
                "receive processing ran out of budget {}/s{} (net.core.netdev_budget)",
                count(*per_s),
                cpu.map(|c| format!(", most on cpu{c}")).unwrap_or_default()
            ),
            Reason::SoftnetDrops { n, cpu } => write!(
                f,
                "{n} packets dropped by the softnet backlog in the interval{} (net.core.netdev_max_backlog)",
                cpu.map(|c| format!(", most on cpu{c}")).unwrap_or_default()
            ),
            Reason::FileHandles { used, max } => {
                write!(f, "{used} file handles in use of fs.file-max {max}")
            }
            Reason::Tasks {
                used,
                threads_max,
                pid_max,
            } => write!(
                f,
                "{used} tasks; kernel.threads-max {}, kernel.pid_max {}",
                opt_count(*threads_max),
                opt_count(*pid_max)
            ),
            Reason::FsErrors(n) => write!(
                f,
                "{n} errors recorded since the last fsck (ext4 errors_count)"
            ),
            Reason::FsFull { mount, pct } => write!(f, "{mount} is {pct:.0}% full"),
            Reason::FsInodes { mount, pct } => {
                write!(f, "{mount} inodes {}% used", pct.unwrap_or(0.0) as u32)
            }
            Reason::DiskBusy { util, crit } => {
                write!(f, "busy {util:.0}% of the interval (red from {crit:.0}%)")
            }
            Reason::DiskQueue { aqu, w_await_ms } => write!(
                f,
                "queue {aqu:.1} requests deep, await w {w_await_ms:.1} ms"
            ),
            Reason::DiskUse(v, bands) => f.write_str(&v.u_why(bands)),
            Reason::DiskWaiting(v, bands) => f.write_str(&v.s_why(bands)),
            Reason::IoStall(p) => write!(f, "tasks stalled on I/O {p:.1}% of the time"),
            Reason::IoErrors(n) => {
                write!(f, "{n} I/O errors in the interval (device/ioerr_cnt)")
            }
            Reason::OtherDiskErrors(n) => write!(f, "{n} I/O errors on the other disks"),
            Reason::NicUtil {
                pct,
                speed_mbps,
                duplex,
            } => write!(f, "{pct:.0}% of {} link", link_speed(*speed_mbps, *duplex)),
            Reason::NicDrops { rx_s, tx_s, fifo_s } => write!(
                f,
                "{} rx + {} tx drops/s, {} fifo overruns/s",
                count(*rx_s),
                count(*tx_s),
                count(*fifo_s)
            ),
            Reason::NicErrors {
                rx_s,
                tx_s,
                frame_s,
                carrier_s,
                colls_s,
                detail,
            } => {
                write!(
                    f,
                    "{} rx + {} tx errors/s, frame {}, carrier {}, colls {}",
                    count(*rx_s),
                    count(*tx_s),
                    count(*frame_s),
                    count(*carrier_s),
                    count(*colls_s)
                )?;
                for (i, (name, v)) in detail.iter().enumerate() {
                    let sep = if i == 0 { "; " } else { " " };
                    write!(f, "{sep}{name} {}", count(*v))?;
                }
                Ok(())
            }
            Reason::MoreInterfaces(n) => write!(f, "{n} more interfaces"),
            Reason::MoreDrops { drops_s, more } => {
                write!(f, "{} drops/s on {more} more interfaces", count(*drops_s))
            }
            Reason::MoreErrors { errors_s, more } => {
                write!(f, "{} errors/s on {more} more interfaces", count(*errors_s))
            }
            Reason::TcpEstab(n) => write!(f, "{n} established connections"),
            Reason::TcpRetrans { segs_s, pct, worst } => {
                write!(
                    f,
                    "{}/s segments retransmitted, {pct:.1}% of sent",
                    count(*segs_s)
                )?;
                match worst {
                    Some((peer, n)) => write!(f, "; worst {peer} ({n})"),
                    None => Ok(()),
                }
            }
            Reason::TcpListen(l) => write!(
                f,
                "listen queue overflows+drops {}/s",
                l.map(count).unwrap_or_default()
            ),
            Reason::TcpErrors {
                resets_s,
                inerr_s,
                worst,
            } => {
                write!(
                    f,
                    "{}/s established resets, {}/s segments in error",
                    count(*resets_s),
                    count(*inerr_s)
                )?;
                match worst {
                    Some((peer, n)) => write!(f, "; worst {peer} ({n} resets)"),
                    None => Ok(()),
                }
            }
            Reason::ListenQueue {
                local,
                queue,
                backlog,
                zero_window,
            } => write!(
                f,
                "accept queue of {local} holds {queue} of backlog {backlog}; {zero_window} sockets at zero window"
            ),
            Reason::SockRetrans { socks, segs } => write!(
                f,
                "{socks} TCP sockets retransmitted {segs} segments in the last interval"
            ),
            Reason::UnreclaimGrowth(g) => write!(
                f,
                "unreclaimable slab grows {}/s (leak?)",
                signed_bytes_rate(*g)
            ),
            Reason::CacheGrowth { cache, growth_bps } => write!(
                f,
                "cache {} grows {}/s",
                fit(cache, 30),
                signed_bytes_rate(*growth_bps)
            ),
            Reason::Ipc(i) => write!(f, "IPC {i:.2}: cycles stalled (memory or branches)"),
            Reason::CgroupUse(u) => match u {
                CgUse::Cpu { pct, quota_cpus } => {
                    write!(f, "CPU {pct:.0}% of its quota, {}", cpus(*quota_cpus))
                }
                CgUse::Mem { pct, limit, of } => match of {
                    None => write!(f, "memory {pct:.0}% of its limit, {}", bytes(*limit)),
                    Some(a) => write!(
                        f,
                        "memory {pct:.0}% of the {} limit of {}",
                        bytes(*limit),
                        fit(a, 30)
                    ),
                },
                CgUse::Pids { pct, max } => write!(f, "tasks {pct:.0}% of pids.max {max}"),
            },
            Reason::CgroupStall(st) => stall_reason(f, st),
            Reason::CgroupEvents(ev) => events_reason(f, ev),
            Reason::MoreCgroups(n) => write!(f, "{n} more cgroups"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::net::Duplex;
    use crate::model::verdict::Missing;

    #[test]
    fn figures_read_as_the_overview_shows_them() {
        let cases = [
            (Figure::CpuBusy(Some(51.04)), "51.0% busy"),
            (
                Figure::CpuRunq {
                    per_cpu: 0.5,
                    latency_ms_s: None,
                    psi: Stall::Unreadable,
                },
                "runq 0.50/cpu psi n/a",
            ),
            (
                Figure::CpuRunq {
                    per_cpu: 0.5,
                    latency_ms_s: Some(255.0),
                    psi: Stall::Pct(1.0),
                },
                "runq 0.50/cpu lat 255ms/s psi 1.0%",
            ),
            (
                Figure::CpuBusyPegged {
                    avg: 51.04,
                    cpu: 1,
                    busy: 99.6,
                },
                "51.0% busy, cpu1 100%",
            ),
            (
                Figure::CpuErrors {
                    mce: None,
                    throttle: Some(5),
                },
                "mce n/a thr 5",
            ),
            (Figure::Steal(2.5), "2.5% stolen"),
            (Figure::MemErrors { ce: 2, ue: 0 }, "ce 2 ue 0"),
            (Figure::NodeUsed(Some(75.0)), "75.0% used"),
            (Figure::NodeUsed(None), "n/a"),
            (
                Figure::NumaMiss {
                    miss_pct: Some(10.0),
                    foreign_s: 1000.0,
                },
                "miss 10.0% foreign 1000/s",
            ),
            (Figure::SoftnetDrops(3), "drop 3"),
            (
                Figure::Capacity {
                    pct: 80.0,
                    max: 10_000,
                },
                "80.0% of 10k",
            ),
            (Figure::FsErrors(3), "err 3"),
            (
                Figure::SockQueues {
                    worst_pct: Some(100.0),
                    near_full: 1,
                    zero_window: 0,
                    partial: true,
                },
                "lsnq 100% (1 full) zwin 0 · partial",
            ),
            (
                Figure::SlabTopCache {
                    objs_used_pct: 97.4,
                    cache: "kmalloc-rcl-4096-with-a-long-name".into(),
                    growth_bps: Some(2048.0),
                },
                "97% objs · kmalloc-rcl-4096 +2.0K/s",
            ),
            (Figure::FsRest(12.34), "≤ 12.3%"),
            (Figure::UtilAtMost(12.34), "≤12.3%"),
            (Figure::NicTraffic(2048.0), "n/a 2.0K/s"),
            (Figure::Blank, ""),
        ];
        for (fig, text) in cases {
            assert_eq!(fig.to_string(), text, "{fig:?}");
        }
    }

    #[test]
    fn reasons_read_as_the_overview_shows_them() {
        let cases = [
            (
                Reason::CpuBusy {
                    pct: 95.4,
                    crit: 90.0,
                },
                "CPU 95% busy (red from 90%)",
            ),
            (
                Reason::NicUtil {
                    pct: 80.0,
                    speed_mbps: Some(10_000),
                    duplex: Some(Duplex::Full),
                },
                "80% of 10G/f link",
            ),
            (
                Reason::NotAvailable(Missing::Counters(
                    "hardware events unavailable (no PMU in this VM)".into(),
                )),
                "no PMU in this VM",
            ),
            (
                Reason::NotAvailable(Missing::Unreadable("vmstat")),
                "vmstat unreadable",
            ),
            (
                Reason::FsInodes {
                    mount: "/".into(),
                    pct: None,
                },
                "/ inodes 0% used",
            ),
        ];
        for (r, text) in cases {
            assert_eq!(r.to_string(), text, "{r:?}");
        }
    }

    #[test]
    fn cgroup_reasons_name_the_limit() {
        use crate::model::verdict::{CgEvents, CgStall, CgUse};
        let cases = [
            (
                Reason::CgroupUse(CgUse::Mem {
                    pct: 90.0,
                    limit: 1000 << 20,
                    of: Some("limited.slice".into()),
                }),
                "memory 90% of the 1000M limit of limited.slice",
            ),
            (
                Reason::CgroupUse(CgUse::Pids {
                    pct: 96.0,
                    max: 100,
                }),
                "tasks 96% of pids.max 100",
            ),
            (
                Reason::CgroupStall(CgStall {
                    throttled_pct: Some(38.0),
                    throttled_ms_s: None,
                    quota_cpus: Some(0.5),
                    psi: None,
                    high: Some(2),
                }),
                "throttled 38% of periods, quota 0.5 CPU; 2 memory.high breaches (reclaim)",
            ),
            (
                Reason::CgroupEvents(CgEvents {
                    oom_kill: Some(2),
                    oom: Some(1),
                    max: Some(1),
                    limit: None,
                }),
                "2 processes OOM-killed (1 OOM), 1 memory.max hit in the interval",
            ),
        ];
        for (r, text) in cases {
            assert_eq!(r.to_string(), text, "{r:?}");
        }
        assert_eq!(
            Figure::CgroupUse(CgUse::Cpu {
                pct: 95.0,
                quota_cpus: 2.5
            })
            .to_string(),
            "cpu 95% of 2.5 CPUs"
        );
        // A quota whose CPU use was not read (v1 cpu without cpuacct): the quota, not "no
        // limit".
        assert_eq!(
            Figure::CgroupNoLimit(Some(0.2)).to_string(),
            "quota 0.2 CPU"
        );
        assert_eq!(Figure::CgroupNoLimit(None).to_string(), "no limit");
    }
}
