//! Pure parsers over the bytes of cgroup files (v2 and v1), each tested on kernel text and
//! fuzzed (fuzz/src/checks.rs). Unknown keys and lines are skipped, so a newer kernel's
//! extra fields are harmless; a file with none of the expected content is an error.

use super::parse::{ParseError, parse_i64, parse_u64};
use crate::model::cgroup::{CgCpu, CpuMax, IoDevStat, IoMax, Limit, MemEvents, MemStat};
use crate::model::{Psi, PsiLine};

fn err<T>(msg: impl Into<String>) -> Result<T, ParseError> {
    Err(ParseError(msg.into()))
}

fn trim(b: &[u8]) -> &[u8] {
    let start = b
        .iter()
        .position(|c| !c.is_ascii_whitespace())
        .unwrap_or(b.len());
    let end = b
        .iter()
        .rposition(|c| !c.is_ascii_whitespace())
        .map_or(start, |i| i + 1);
    &b[start..end.max(start)]
}

fn fields(line: &[u8]) -> impl Iterator<Item = &[u8]> {
    line.split(|c| c.is_ascii_whitespace())
        .filter(|f| !f.is_empty())
}

/// `key value` lines (cpu.stat, memory.events, memory.stat, pids.events, oom_control).
pub fn kv_lines(b: &[u8]) -> impl Iterator<Item = (&[u8], u64)> {
    b.split(|&c| c == b'\n').filter_map(|line| {
        let mut it = fields(line);
        let k = it.next()?;
        let v = parse_u64(it.next()?)?;
        Some((k, v))
    })
}

/// A file holding one unsigned number (memory.current, pids.current, cpuacct.usage, …).
pub fn parse_cg_u64(b: &[u8]) -> Result<u64, ParseError> {
    match parse_u64(trim(b)) {
        Some(v) => Ok(v),
        None => err("not a number"),
    }
}

/// Anything at or above this is v1's "no limit" (PAGE_COUNTER_MAX pages, whatever the page
/// size: 9223372036854771712 with 4 KiB pages).
pub const V1_UNLIMITED: u64 = 1 << 62;

/// A limit file: `max` (v2), a number, or v1's unlimited forms (-1, PAGE_COUNTER_MAX).
pub fn parse_cg_limit(b: &[u8]) -> Result<Limit, ParseError> {
    let t = trim(b);
    if t == b"max" || t == b"-1" {
        return Ok(Limit::Max);
    }
    match parse_u64(t) {
        Some(v) if v >= V1_UNLIMITED => Ok(Limit::Max),
        Some(v) => Ok(Limit::At(v)),
        None => err("not a limit (max or a number)"),
    }
}

/// v2 `cpu.max`: `QUOTA PERIOD` or `max PERIOD` (microseconds).
pub fn parse_cg_cpu_max(b: &[u8]) -> Result<CpuMax, ParseError> {
    let mut it = fields(b);
    let quota = match it.next() {
        Some(b"max") => None,
        Some(q) => match parse_u64(q) {
            Some(v) => Some(v),
            None => return err("cpu.max: bad quota"),
        },
        None => return err("cpu.max: empty"),
    };
    // The kernel always prints the period; default to its default if one day it does not.
    let period_us = match it.next() {
        Some(p) => match parse_u64(p) {
            Some(v) => v,
            None => return err("cpu.max: bad period"),
        },
        None => 100_000,
    };
    Ok(CpuMax {
        quota_us: quota,
        period_us,
    })
}

/// v1 `cpu.cfs_quota_us` in microseconds; -1 (no quota) is `None`.
pub fn parse_cg_quota(b: &[u8]) -> Result<Option<u64>, ParseError> {
    match parse_i64(trim(b)) {
        Some(q) => Ok(u64::try_from(q).ok()),
        None => err("cfs_quota_us: not a number"),
    }
}

/// v2 `cpu.stat` (microseconds) or v1 `cpu.stat` (throttled_time in nanoseconds). Only the
/// keys present are set.
pub fn parse_cg_cpu_stat(b: &[u8]) -> Result<CgCpu, ParseError> {
    let mut c = CgCpu::default();
    let mut any = false;
    for (k, v) in kv_lines(b) {
        let slot = match k {
            b"usage_usec" => &mut c.usage_us,
            b"user_usec" => &mut c.user_us,
            b"system_usec" => &mut c.system_us,
            b"nr_periods" => &mut c.nr_periods,
            b"nr_throttled" => &mut c.nr_throttled,
            b"throttled_usec" => &mut c.throttled_us,
            b"nr_bursts" => &mut c.nr_bursts,
            b"throttled_time" => {
                c.throttled_us = Some(v / 1000);
                any = true;
                continue;
            }
            _ => continue,
        };
        *slot = Some(v);
        any = true;
    }
    if any {
        Ok(c)
    } else {
        err("cpu.stat: no known counter")
    }
}

/// v2 `memory.events` (or `memory.events.local`).
pub fn parse_cg_memory_events(b: &[u8]) -> Result<MemEvents, ParseError> {
    let mut e = MemEvents::default();
    let mut any = false;
    for (k, v) in kv_lines(b) {
        let slot = match k {
            b"low" => &mut e.low,
            b"high" => &mut e.high,
            b"max" => &mut e.max,
            b"oom" => &mut e.oom,
            b"oom_kill" => &mut e.oom_kill,
            _ => continue,
        };
        *slot = Some(v);
        any = true;
    }
    if any {
        Ok(e)
    } else {
        err("memory.events: no known counter")
    }
}

/// `memory.stat`: v2 keys, or v1's (`total_rss`, `total_cache`, … which count the subtree
/// as memory.usage_in_bytes does; the local `rss`, `cache` where there is no total).
pub fn parse_cg_memory_stat(b: &[u8]) -> Result<MemStat, ParseError> {
    let mut s = MemStat::default();
    // v1 has both local and hierarchical (total_) lines: the total wins.
    let mut anon_total = false;
    let mut file_total = false;
    let mut shmem_total = false;
    let mut majf_total = false;
    let mut any = false;
    for (k, v) in kv_lines(b) {
        any = true;
        match k {
            b"anon" => s.anon = Some(v),
            b"file" => s.file = Some(v),
            b"kernel" => s.kernel = Some(v),
            b"sock" => s.sock = Some(v),
            b"shmem" if !shmem_total => s.shmem = Some(v),
            b"pgmajfault" if !majf_total => s.pgmajfault = Some(v),
            b"workingset_refault_anon" => s.workingset_refault_anon = Some(v),
            b"workingset_refault_file" => s.workingset_refault_file = Some(v),
            // Kernels before 5.9 count refaults of both kinds in one line.
            b"workingset_refault" => s.workingset_refault_file = Some(v),
            b"rss" if !anon_total => s.anon = Some(v),
            b"cache" if !file_total => s.file = Some(v),
            b"total_rss" => {
                s.anon = Some(v);
                anon_total = true;
            }
            b"total_cache" => {
                s.file = Some(v);
                file_total = true;
            }
            b"total_shmem" => {
                s.shmem = Some(v);
                shmem_total = true;
            }
            b"total_pgmajfault" => {
                s.pgmajfault = Some(v);
                majf_total = true;
            }
            _ => {}
        }
    }
    if any {
        Ok(s)
    } else {
        err("memory.stat: no counter")
    }
}

/// v1 `memory.oom_control`: (under_oom, oom_kill); oom_kill is absent before 4.13.
pub fn parse_cg_oom_control(b: &[u8]) -> Result<(bool, Option<u64>), ParseError> {
    let mut under = None;
    let mut kills = None;
    for (k, v) in kv_lines(b) {
        match k {
            b"under_oom" => under = Some(v != 0),
            b"oom_kill" => kills = Some(v),
            _ => {}
        }
    }
    match under {
        Some(u) => Ok((u, kills)),
        None => err("memory.oom_control: no under_oom line"),
    }
}

/// `pids.events`: the `max` line (forks refused at pids.max).
pub fn parse_cg_pids_events(b: &[u8]) -> Result<u64, ParseError> {
    match kv_lines(b).find(|(k, _)| *k == b"max") {
        Some((_, v)) => Ok(v),
        None => err("pids.events: no max line"),
    }
}

/// A PSI average as the kernel prints it (`12.34`, two decimals, 0 to 100), without
/// going through a float parser: three files per cgroup per refresh make it hot.
fn psi_avg(b: &[u8]) -> Option<f64> {
    let (int, frac) = match b.iter().position(|&c| c == b'.') {
        Some(i) => (&b[..i], &b[i + 1..]),
        None => (b, &b""[..]),
    };
    if int.len() > 3 || frac.len() > 6 {
        return None;
    }
    let i = parse_u64(int)?;
    let mut f = 0u64;
    let mut scale = 1u64;
    for &c in frac {
        if !c.is_ascii_digit() {
            return None;
        }
        f = f * 10 + u64::from(c - b'0');
        scale *= 10;
    }
    let v = i as f64 + f as f64 / scale as f64;
    (v <= 100.0).then_some(v)
}

/// A cgroup's `cpu.pressure`, `memory.pressure` or `io.pressure` (the format of
/// /proc/pressure/*): a `some` line and, except for a root's cpu on old kernels, `full`.
pub fn parse_cg_pressure(b: &[u8]) -> Result<Psi, ParseError> {
    let mut some = None;
    let mut full = None;
    for line in b.split(|&c| c == b'\n') {
        let mut it = fields(line);
        let Some(kind) = it.next() else { continue };
        let mut rec = PsiLine::default();
        for kv in it {
            let Some(eq) = kv.iter().position(|&c| c == b'=') else {
                continue;
            };
            let (k, v) = (&kv[..eq], &kv[eq + 1..]);
            match k {
                b"avg10" => rec.avg10 = psi_avg(v).unwrap_or(0.0),
                b"avg60" => rec.avg60 = psi_avg(v).unwrap_or(0.0),
                b"avg300" => rec.avg300 = psi_avg(v).unwrap_or(0.0),
                b"total" => rec.total_us = parse_u64(v).unwrap_or(0),
                _ => {}
            }
        }
        match kind {
            b"some" => some = Some(rec),
            b"full" => full = Some(rec),
            _ => {}
        }
    }
    match some {
        Some(some) => Ok(Psi { some, full }),
        None => err("pressure: no 'some' line"),
    }
}

/// `MAJ:MIN` of a device line.
fn dev(b: &[u8]) -> Option<(u32, u32)> {
    let i = b.iter().position(|&c| c == b':')?;
    let major = u32::try_from(parse_u64(&b[..i])?).ok()?;
    let minor = u32::try_from(parse_u64(&b[i + 1..])?).ok()?;
    Some((major, minor))
}

/// Devices kept per file: a cgroup touches a handful; more is not a kernel's output.
const MAX_DEVICES: usize = 4096;

/// v2 `io.stat`: `MAJ:MIN rbytes=.. wbytes=.. rios=.. wios=.. dbytes=.. dios=..` per device.
/// An empty file (no I/O yet) is no devices, not an error.
pub fn parse_cg_io_stat(b: &[u8]) -> Result<Vec<IoDevStat>, ParseError> {
    let mut out = Vec::new();
    for line in b.split(|&c| c == b'\n') {
        let mut it = fields(line);
        let Some(d) = it.next() else { continue };
        let Some((major, minor)) = dev(d) else {
            return err("io.stat: a line without MAJ:MIN");
        };
        let mut s = IoDevStat {
            major,
            minor,
            ..IoDevStat::default()
        };
        for kv in it {
            let Some(eq) = kv.iter().position(|&c| c == b'=') else {
                continue;
            };
            let Some(v) = parse_u64(&kv[eq + 1..]) else {
                continue;
            };
            match &kv[..eq] {
                b"rbytes" => s.rbytes = v,
                b"wbytes" => s.wbytes = v,
                b"rios" => s.rios = v,
                b"wios" => s.wios = v,
                _ => {}
            }
        }
        if out.len() < MAX_DEVICES {
            out.push(s);
        }
    }
    Ok(out)
}

/// v2 `io.max`: `MAJ:MIN rbps=max wbps=1048576 riops=max wiops=max` per limited device.
pub fn parse_cg_io_max(b: &[u8]) -> Result<Vec<IoMax>, ParseError> {
    let mut out = Vec::new();
    for line in b.split(|&c| c == b'\n') {
        let mut it = fields(line);
        let Some(d) = it.next() else { continue };
        let Some((major, minor)) = dev(d) else {
            return err("io.max: a line without MAJ:MIN");
        };
        let mut m = IoMax {
            major,
            minor,
            ..IoMax::default()
        };
        for kv in it {
            let Some(eq) = kv.iter().position(|&c| c == b'=') else {
                continue;
            };
            let v = parse_u64(&kv[eq + 1..]);
            match &kv[..eq] {
                b"rbps" => m.rbps = v,
                b"wbps" => m.wbps = v,
                b"riops" => m.riops = v,
                b"wiops" => m.wiops = v,
                _ => {}
            }
        }
        if out.len() < MAX_DEVICES {
            out.push(m);
        }
    }
    Ok(out)
}

/// v1 `blkio.throttle.io_service_bytes` or `io_serviced`: `MAJ:MIN Read N` … lines per
/// device and a final `Total N`. Returns (major, minor, read, write) per device.
pub fn parse_cg_blkio(b: &[u8]) -> Result<Vec<(u32, u32, u64, u64)>, ParseError> {
    let mut out: Vec<(u32, u32, u64, u64)> = Vec::new();
    let mut any = false;
    for line in b.split(|&c| c == b'\n') {
        let mut it = fields(line);
        let (Some(d), Some(op), Some(v)) = (it.next(), it.next(), it.next()) else {
            // `Total N` (two fields) and blank lines.
            any |= line.starts_with(b"Total");
            continue;
        };
        let (Some((major, minor)), Some(v)) = (dev(d), parse_u64(v)) else {
            continue;
        };
        any = true;
        let i = match out.iter().position(|e| e.0 == major && e.1 == minor) {
            Some(i) => i,
            None if out.len() < MAX_DEVICES => {
                out.push((major, minor, 0, 0));
                out.len() - 1
            }
            None => continue,
        };
        match op {
            b"Read" => out[i].2 = v,
            b"Write" => out[i].3 = v,
            _ => {}
        }
    }
    if any || trim(b).is_empty() {
        Ok(out)
    } else {
        err("blkio: no device line")
    }
}

/// Lines of `cgroup.procs` (one pid each).
pub fn count_lines(b: &[u8]) -> u64 {
    b.split(|&c| c == b'\n')
        .filter(|l| !trim(l).is_empty())
        .count() as u64
}

/// One directory entry from getdents64: name, inode, and whether it is a directory
/// (`None`: the filesystem did not say, DT_UNKNOWN).
pub struct DirEntry<'a> {
    pub name: &'a [u8],
    pub ino: u64,
    pub is_dir: Option<bool>,
}

const DIRENT_NAME_OFFSET: usize = 19;
const DT_UNKNOWN: u8 = 0;
const DT_DIR: u8 = 4;

/// Walks packed `linux_dirent64` records (d_ino, d_off, d_reclen, d_type, d_name); a
/// malformed length ends the walk instead of looping.
pub fn parse_dir_entries(mut b: &[u8], mut each: impl FnMut(DirEntry<'_>)) {
    while b.len() > DIRENT_NAME_OFFSET {
        let reclen = usize::from(u16::from_ne_bytes([b[16], b[17]]));
        if reclen <= DIRENT_NAME_OFFSET || reclen > b.len() {
            return;
        }
        let mut ino = [0u8; 8];
        ino.copy_from_slice(&b[..8]);
        let kind = b[18];
        let name = &b[DIRENT_NAME_OFFSET..reclen];
        let name = &name[..name.iter().position(|&c| c == 0).unwrap_or(name.len())];
        each(DirEntry {
            name,
            ino: u64::from_ne_bytes(ino),
            is_dir: match kind {
                DT_UNKNOWN => None,
                DT_DIR => Some(true),
                _ => Some(false),
            },
        });
        b = &b[reclen..];
    }
}

const INOTIFY_HEAD: usize = 16;

/// Walks packed `inotify_event` records (wd, mask, cookie, len, name[len]), handing each
/// one's watch and mask to `each`; a length past the end stops the walk.
pub fn parse_inotify_events(mut b: &[u8], mut each: impl FnMut(i32, u32)) {
    while b.len() >= INOTIFY_HEAD {
        let word = |i: usize| [b[i], b[i + 1], b[i + 2], b[i + 3]];
        let wd = i32::from_ne_bytes(word(0));
        let mask = u32::from_ne_bytes(word(4));
        let len = u32::from_ne_bytes(word(12)) as usize;
        let Some(end) = INOTIFY_HEAD.checked_add(len).filter(|&e| e <= b.len()) else {
            return;
        };
        each(wd, mask);
        b = &b[end..];
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits() {
        assert_eq!(parse_cg_limit(b"max\n"), Ok(Limit::Max));
        assert_eq!(parse_cg_limit(b"536870912\n"), Ok(Limit::At(536870912)));
        assert_eq!(parse_cg_limit(b"9223372036854771712\n"), Ok(Limit::Max));
        assert_eq!(parse_cg_limit(b"-1\n"), Ok(Limit::Max));
        assert!(parse_cg_limit(b"").is_err());
        assert!(parse_cg_limit(b"12k").is_err());
        assert_eq!(parse_cg_u64(b" 42 \n"), Ok(42));
        assert!(parse_cg_u64(b"\n").is_err());
    }

    #[test]
    fn cpu_max_and_v1_quota() {
        let m = parse_cg_cpu_max(b"50000 100000\n").unwrap();
        assert_eq!(m.quota_us, Some(50000));
        assert_eq!(m.cpus(), Some(0.5));
        let m = parse_cg_cpu_max(b"max 100000\n").unwrap();
        assert_eq!((m.quota_us, m.period_us), (None, 100000));
        assert!(parse_cg_cpu_max(b"").is_err());
        assert!(parse_cg_cpu_max(b"x 1").is_err());
        assert_eq!(parse_cg_quota(b"-1\n"), Ok(None));
        assert_eq!(parse_cg_quota(b"10000\n"), Ok(Some(10000)));
        assert!(parse_cg_quota(b"ten").is_err());
        // A period of 0 (no kernel writes it) gives no quota in CPUs rather than infinity.
        let m = CpuMax {
            quota_us: Some(1),
            period_us: 0,
        };
        assert_eq!(m.cpus(), None);
    }

    #[test]
    fn cpu_stat_both_versions() {
        let v2 = b"usage_usec 2000000\nuser_usec 1500000\nsystem_usec 500000\n\
nice_usec 0\nnr_periods 100\nnr_throttled 40\nthrottled_usec 300000\nnr_bursts 2\nburst_usec 10\n";
        let c = parse_cg_cpu_stat(v2).unwrap();
        assert_eq!(c.usage_us, Some(2_000_000));
        assert_eq!(c.user_us, Some(1_500_000));
        assert_eq!(c.system_us, Some(500_000));
        assert_eq!(c.nr_periods, Some(100));
        assert_eq!(c.nr_throttled, Some(40));
        assert_eq!(c.throttled_us, Some(300_000));
        assert_eq!(c.nr_bursts, Some(2));
        let v1 =
            b"nr_periods 10\nnr_throttled 9\nthrottled_time 900000000\nnr_bursts 0\nburst_time 0\n";
        let c = parse_cg_cpu_stat(v1).unwrap();
        assert_eq!(c.throttled_us, Some(900_000));
        assert_eq!(c.usage_us, None);
        assert!(parse_cg_cpu_stat(b"garbage\n").is_err());
    }

    #[test]
    fn memory_files() {
        let e =
            parse_cg_memory_events(b"low 0\nhigh 12\nmax 3\noom 1\noom_kill 1\noom_group_kill 0\n")
                .unwrap();
        assert_eq!(
            (e.low, e.high, e.max, e.oom, e.oom_kill),
            (Some(0), Some(12), Some(3), Some(1), Some(1))
        );
        let s = parse_cg_memory_stat(
            b"anon 1048576\nfile 2097152\nkernel 65536\nsock 0\nshmem 4096\npgmajfault 7\n\
workingset_refault_anon 1\nworkingset_refault_file 2\n",
        )
        .unwrap();
        assert_eq!(s.anon, Some(1048576));
        assert_eq!(s.kernel, Some(65536));
        assert_eq!(s.workingset_refault_file, Some(2));
        // v1: the hierarchical totals win over the local lines, whatever their order.
        let s =
            parse_cg_memory_stat(b"total_rss 300\nrss 100\ncache 50\ntotal_cache 150\n").unwrap();
        assert_eq!((s.anon, s.file), (Some(300), Some(150)));
        assert_eq!(
            parse_cg_oom_control(b"oom_kill_disable 0\nunder_oom 1\noom_kill 4\n"),
            Ok((true, Some(4)))
        );
        assert_eq!(parse_cg_oom_control(b"under_oom 0\n"), Ok((false, None)));
        assert!(parse_cg_oom_control(b"").is_err());
        assert_eq!(parse_cg_pids_events(b"max 5\n"), Ok(5));
    }

    #[test]
    fn io_files() {
        let s = parse_cg_io_stat(
            b"8:0 rbytes=4096 wbytes=8192 rios=1 wios=2 dbytes=0 dios=0\n253:1 rbytes=1 wbytes=2 rios=3 wios=4\n",
        )
        .unwrap();
        assert_eq!(s.len(), 2);
        assert_eq!(
            (s[0].major, s[0].minor, s[0].wbytes, s[0].wios),
            (8, 0, 8192, 2)
        );
        assert!(parse_cg_io_stat(b"").unwrap().is_empty());
        assert!(parse_cg_io_stat(b"sda rbytes=1\n").is_err());
        let m = parse_cg_io_max(b"8:0 rbps=1048576 wbps=max riops=max wiops=100\n").unwrap();
        assert_eq!(
            (m[0].rbps, m[0].wbps, m[0].wiops),
            (Some(1048576), None, Some(100))
        );
        let b = parse_cg_blkio(
            b"8:0 Read 4096\n8:0 Write 8192\n8:0 Sync 0\n8:0 Async 12288\n8:0 Discard 0\n8:0 Total 12288\nTotal 12288\n",
        )
        .unwrap();
        assert_eq!(b, vec![(8, 0, 4096, 8192)]);
        assert_eq!(parse_cg_blkio(b"Total 0\n"), Ok(vec![]));
        assert!(parse_cg_blkio(b"nonsense here now\n").is_err());
        assert_eq!(count_lines(b"1\n22\n\n333\n"), 3);
        assert_eq!(count_lines(b""), 0);
    }

    #[test]
    fn pressure_matches_the_proc_parser() {
        let text = b"some avg10=1.25 avg60=0.50 avg300=100.00 total=123456\nfull avg10=0.00 avg60=0.00 avg300=0.00 total=7\n";
        let p = parse_cg_pressure(text).unwrap();
        assert_eq!(p, super::super::parse::parse_pressure(text).unwrap());
        assert_eq!(p.some.avg10, 1.25);
        assert_eq!(p.full.unwrap().total_us, 7);
        // Out of range or malformed averages read as 0, as /proc/pressure's parser does.
        let p = parse_cg_pressure(b"some avg10=100.01 avg60=x avg300=1e3 total=1\n").unwrap();
        assert_eq!((p.some.avg10, p.some.avg60, p.some.avg300), (0.0, 0.0, 0.0));
        assert!(parse_cg_pressure(b"full total=1\n").is_err());
    }

    #[test]
    fn inotify_events() {
        let mut b = Vec::new();
        for (wd, mask, name) in [
            (1i32, 0x4000_0100u32, &b"child\0\0\0"[..]),
            (2, 0x4000, &b""[..]),
        ] {
            b.extend_from_slice(&wd.to_ne_bytes());
            b.extend_from_slice(&mask.to_ne_bytes());
            b.extend_from_slice(&0u32.to_ne_bytes());
            b.extend_from_slice(&(name.len() as u32).to_ne_bytes());
            b.extend_from_slice(name);
        }
        let mut seen = Vec::new();
        parse_inotify_events(&b, |wd, mask| seen.push((wd, mask)));
        assert_eq!(seen, vec![(1, 0x4000_0100), (2, 0x4000)]);
        // A length past the end stops the walk.
        b[12] = 200;
        seen.clear();
        parse_inotify_events(&b, |wd, mask| seen.push((wd, mask)));
        assert!(seen.is_empty());
    }

    #[test]
    fn dir_entries() {
        let mut rec = vec![0u8; 24];
        rec[..8].copy_from_slice(&77u64.to_ne_bytes());
        rec[16..18].copy_from_slice(&24u16.to_ne_bytes());
        rec[18] = DT_DIR;
        rec[19..22].copy_from_slice(b"abc");
        let mut seen = Vec::new();
        parse_dir_entries(&rec, |e| seen.push((e.name.to_vec(), e.ino, e.is_dir)));
        assert_eq!(seen, vec![(b"abc".to_vec(), 77, Some(true))]);
        rec[16] = 200; // claims more than there is
        seen.clear();
        parse_dir_entries(&rec, |e| seen.push((e.name.to_vec(), e.ino, e.is_dir)));
        assert!(seen.is_empty());
    }
}
