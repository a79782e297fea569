//! Pure parsers for the checklist's sources: /proc/schedstat, /proc/interrupts,
//! /proc/net/softnet_stat, NUMA node meminfo and numastat, file-nr, sysfs single values and
//! id lists, and /proc/cpuinfo's MHz. Each takes bytes and never panics (fuzzed: fuzz/).

use crate::collectors::parse::{ParseError, parse_i64, parse_u64};
use crate::model::checklist::{CpuSched, FileNr, HwIrqs, NumaNode, SoftnetCpu};

fn err<T>(msg: impl Into<String>) -> Result<T, ParseError> {
    Err(ParseError(msg.into()))
}

fn fields(line: &[u8]) -> impl Iterator<Item = &[u8]> {
    line.split(|c| c.is_ascii_whitespace())
        .filter(|f| !f.is_empty())
}

fn lines(b: &[u8]) -> impl Iterator<Item = &[u8]> {
    b.split(|&c| c == b'\n')
}

/// No list of CPUs, nodes or lines longer than this is believed (a machine has at most a
/// few thousand CPUs; a garbled file must not make us allocate for four billion).
pub const MAX_IDS: usize = 65_536;

/// `/proc/schedstat`: `version N`, `timestamp J`, then per CPU a `cpuN` line (followed by
/// its `domainN` lines, skipped). The cpu line's fields are yld_count, an unused 0,
/// sched_count, sched_goidle, ttwu_count, ttwu_local, rq_cpu_time, run_delay, pcount;
/// versions 15 to 17 agree on these, and times are in ns.
pub fn parse_proc_schedstat(b: &[u8]) -> Result<(Option<u32>, Vec<CpuSched>), ParseError> {
    let mut version = None;
    let mut cpus = Vec::new();
    for line in lines(b) {
        let mut f = fields(line);
        let Some(key) = f.next() else { continue };
        if key == b"version" {
            version = f
                .next()
                .and_then(parse_u64)
                .and_then(|v| u32::try_from(v).ok());
            continue;
        }
        let Some(id) = key.strip_prefix(b"cpu") else {
            continue;
        };
        let Some(cpu) = parse_u64(id).and_then(|v| u32::try_from(v).ok()) else {
            continue;
        };
        let nums: Vec<u64> = f.take(9).map_while(parse_u64).collect();
        if nums.len() < 9 {
            return err(format!(
                "schedstat: cpu{cpu} has {} fields, need 9",
                nums.len()
            ));
        }
        if cpus.len() >= MAX_IDS {
            return err("schedstat: too many cpu lines");
        }
        cpus.push(CpuSched {
            cpu,
            run_ns: nums[6],
            delay_ns: nums[7],
            slices: nums[8],
        });
    }
    if cpus.is_empty() {
        return err("schedstat: no cpu lines");
    }
    Ok((version, cpus))
}

/// The machine-check and thermal rows of `/proc/interrupts`, each summed over the CPU
/// columns the header names. Only the rows asked for are parsed: the file is mostly device
/// interrupts, one column per CPU.
pub fn parse_interrupts_hw(b: &[u8]) -> Result<HwIrqs, ParseError> {
    let mut it = lines(b);
    let header = it.by_ref().find(|l| !l.trim_ascii().is_empty());
    let ncpu = header.map(|h| fields(h).count()).unwrap_or(0);
    if ncpu == 0 || !header.is_some_and(|h| h.trim_ascii_start().starts_with(b"CPU")) {
        return err("interrupts: no CPU header");
    }
    let mut out = HwIrqs::default();
    for line in it {
        let mut f = fields(line);
        let slot = match f.next() {
            Some(b"MCE:") => &mut out.mce,
            Some(b"MCP:") => &mut out.mcp,
            Some(b"TRM:") => &mut out.trm,
            Some(b"THR:") => &mut out.thr,
            Some(b"DFR:") => &mut out.dfr,
            _ => continue,
        };
        let sum = f
            .take(ncpu)
            .map_while(parse_u64)
            .fold(0u64, u64::saturating_add);
        *slot = Some(sum);
    }
    Ok(out)
}

fn hex(b: &[u8]) -> Option<u64> {
    if b.is_empty() || b.len() > 16 {
        return None;
    }
    u64::from_str_radix(std::str::from_utf8(b).ok()?, 16).ok()
}

/// `/proc/net/softnet_stat`: one line per online CPU of hexadecimal columns: processed,
/// dropped, time_squeeze, five unused zeros, cpu_collision (unused), received_rps,
/// flow_limit_count, then since 5.10 the backlog length and the CPU's number (15 columns
/// from 6.9, adding the input and process queue lengths). Older kernels print 10 or 11
/// columns. Returns the lines and whether each line named its CPU; where they do not, the
/// CPU field is the line's position.
pub fn parse_softnet(b: &[u8]) -> Result<(Vec<SoftnetCpu>, bool), ParseError> {
    let mut out = Vec::new();
    let mut named = true;
    for line in lines(b) {
        if line.trim_ascii().is_empty() {
            continue;
        }
        let cols: Option<Vec<u64>> = fields(line).take(16).map(hex).collect();
        let Some(cols) = cols else {
            return err(format!(
                "softnet_stat: line {}: not hexadecimal",
                out.len() + 1
            ));
        };
        if cols.len() < 3 {
            return err(format!(
                "softnet_stat: line {}: {} columns, need 3",
                out.len() + 1,
                cols.len()
            ));
        }
        if out.len() >= MAX_IDS {
            return err("softnet_stat: too many lines");
        }
        let col = |i: usize| cols.get(i).copied();
        let cpu = match col(12).and_then(|v| u32::try_from(v).ok()) {
            Some(c) => c,
            None => {
                named = false;
                out.len() as u32
            }
        };
        out.push(SoftnetCpu {
            cpu,
            processed: cols[0],
            dropped: cols[1],
            time_squeeze: cols[2],
            received_rps: col(9),
            flow_limit: col(10),
            backlog_len: col(11),
        });
    }
    if out.is_empty() {
        return err("softnet_stat: empty");
    }
    Ok((out, named))
}

/// `nodeN/meminfo`: `Node N MemTotal:  123 kB` lines; total, free and used, in bytes.
pub fn parse_node_meminfo(b: &[u8]) -> Result<(u64, u64, u64), ParseError> {
    let (mut total, mut free, mut used) = (None, None, None);
    for line in lines(b) {
        let f: Vec<&[u8]> = fields(line).take(5).collect();
        if f.len() < 4 || f[0] != b"Node" {
            continue;
        }
        let Some(kb) = parse_u64(f[3]) else { continue };
        let bytes = kb.saturating_mul(1024);
        match f[2] {
            b"MemTotal:" => total = Some(bytes),
            b"MemFree:" => free = Some(bytes),
            b"MemUsed:" => used = Some(bytes),
            _ => {}
        }
    }
    let (Some(total), Some(free)) = (total, free) else {
        return err("node meminfo: no MemTotal/MemFree");
    };
    Ok((total, free, used.unwrap_or(total.saturating_sub(free))))
}

/// `nodeN/numastat`: `numa_hit 123` lines (pages). Keys it lacks are 0.
pub fn parse_numastat(b: &[u8], node: u32) -> Result<NumaNode, ParseError> {
    let mut out = NumaNode {
        node,
        ..NumaNode::default()
    };
    let mut any = false;
    for line in lines(b) {
        let mut f = fields(line);
        let (Some(k), Some(v)) = (f.next(), f.next().and_then(parse_u64)) else {
            continue;
        };
        let slot = match k {
            b"numa_hit" => &mut out.hit,
            b"numa_miss" => &mut out.miss,
            b"numa_foreign" => &mut out.foreign,
            b"interleave_hit" => &mut out.interleave_hit,
            b"local_node" => &mut out.local,
            b"other_node" => &mut out.other,
            _ => continue,
        };
        *slot = v;
        any = true;
    }
    if !any {
        return err("numastat: no counters");
    }
    Ok(out)
}

/// `/proc/sys/fs/file-nr`: allocated, allocated-but-unused, maximum.
pub fn parse_file_nr(b: &[u8]) -> Result<FileNr, ParseError> {
    let v: Vec<u64> = fields(b).take(3).map_while(parse_u64).collect();
    match v[..] {
        [allocated, unused, max] => Ok(FileNr {
            allocated,
            unused,
            max,
        }),
        _ => err("file-nr: need three numbers"),
    }
}

/// A sysfs or sysctl file holding one integer (`1234\n`).
pub fn parse_value(b: &[u8]) -> Result<i64, ParseError> {
    let t = b.trim_ascii();
    parse_i64(t).ok_or_else(|| {
        ParseError(format!(
            "not a number: {:?}",
            String::from_utf8_lossy(&t[..t.len().min(32)])
        ))
    })
}

/// A non-negative counter file.
pub fn parse_count(b: &[u8]) -> Result<u64, ParseError> {
    let v = parse_value(b)?;
    u64::try_from(v).map_err(|_| ParseError(format!("negative count {v}")))
}

/// An id list such as `0-3,8,10-11` (node `online`, CPU lists), ascending and deduplicated,
/// refused past `MAX_IDS` ids.
pub fn parse_id_list(b: &[u8]) -> Result<Vec<u32>, ParseError> {
    let mut out: Vec<u32> = Vec::new();
    for part in b
        .trim_ascii()
        .split(|&c| c == b',')
        .filter(|p| !p.is_empty())
    {
        let mut ends = part.split(|&c| c == b'-');
        let lo = ends.next().and_then(parse_u64);
        let hi = ends.next().map(parse_u64).unwrap_or(lo);
        if ends.next().is_some() {
            return err("id list: bad range");
        }
        match (lo, hi) {
            (Some(lo), Some(hi))
                if hi >= lo
                    && hi <= u64::from(u32::MAX)
                    && out.len() as u64 + (hi - lo) < MAX_IDS as u64 =>
            {
                out.extend((lo as u32)..=(hi as u32));
            }
            _ => return err("id list: bad range"),
        }
    }
    out.sort_unstable();
    out.dedup();
    Ok(out)
}

/// `/proc/cpuinfo`'s `processor` and `cpu MHz` lines: (cpu, kHz). Used only where no
/// cpufreq driver is loaded.
pub fn parse_cpuinfo_mhz(b: &[u8]) -> Vec<(u32, u64)> {
    let mut out = Vec::new();
    let mut cpu: Option<u32> = None;
    for line in lines(b) {
        let Some(colon) = line.iter().position(|&c| c == b':') else {
            continue;
        };
        let (k, v) = (line[..colon].trim_ascii(), line[colon + 1..].trim_ascii());
        match k {
            b"processor" => cpu = parse_u64(v).and_then(|v| u32::try_from(v).ok()),
            b"cpu MHz" => {
                let mhz = std::str::from_utf8(v)
                    .ok()
                    .and_then(|s| s.parse::<f64>().ok())
                    .filter(|m| m.is_finite() && *m >= 0.0 && *m < 1e7);
                if let (Some(c), Some(m)) = (cpu.take(), mhz)
                    && out.len() < MAX_IDS
                {
                    out.push((c, (m * 1000.0).round() as u64));
                }
            }
            _ => {}
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schedstat_cpu_lines() {
        let text = b"version 15\ntimestamp 4294892984\ncpu0 0 0 0 0 0 0 1000 2000 30\n\
domain0 3 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20 21 22 23 24 25 26 27 28 29 30 31 32 33 34 35 36\n\
cpu1 0 0 0 0 0 0 1500 500 7\n";
        let (v, cpus) = parse_proc_schedstat(text).unwrap();
        assert_eq!(v, Some(15));
        assert_eq!(cpus.len(), 2);
        assert_eq!(
            (cpus[0].run_ns, cpus[0].delay_ns, cpus[0].slices),
            (1000, 2000, 30)
        );
        assert_eq!((cpus[1].cpu, cpus[1].delay_ns), (1, 500));
        assert!(parse_proc_schedstat(b"version 15\ncpu0 1 2 3\n").is_err());
        assert!(parse_proc_schedstat(b"version 15\n").is_err());
    }

    #[test]
    fn interrupts_rows() {
        let text = b"           CPU0       CPU1\n  0:         44          0   IO-APIC   2-edge      timer\n\
 NMI:          1          2   Non-maskable interrupts\n MCE:          3          4   Machine check exceptions\n\
 MCP:         10         12   Machine check polls\n ERR:          0\n";
        let h = parse_interrupts_hw(text).unwrap();
        assert_eq!((h.mce, h.mcp, h.trm), (Some(7), Some(22), None));
        assert!(parse_interrupts_hw(b"MCE: 1 2\n").is_err());
    }

    #[test]
    fn softnet_old_and_new() {
        let old = b"0000272d 00000001 00000002 00000000 00000000 00000000 00000000 00000000 00000000 00000000 00000000\n\
00000010 00000000 00000000 00000000 00000000 00000000 00000000 00000000 00000000 00000000 00000000\n";
        let (v, named) = parse_softnet(old).unwrap();
        assert!(!named);
        assert_eq!(
            (v[0].processed, v[0].dropped, v[0].time_squeeze),
            (0x272d, 1, 2)
        );
        assert_eq!((v[1].cpu, v[1].backlog_len), (1, None));
        let new = b"0004321f 00000000 00000003 00000000 00000000 00000000 00000000 00000000 00000000 00000005 00000000 00000000 00000002 00000000 00000000\n";
        let (v, named) = parse_softnet(new).unwrap();
        assert!(named);
        assert_eq!(
            (v[0].cpu, v[0].time_squeeze, v[0].received_rps),
            (2, 3, Some(5))
        );
        assert!(parse_softnet(b"zz 1 2\n").is_err());
        assert!(parse_softnet(b"1 2\n").is_err());
    }

    #[test]
    fn id_lists() {
        assert_eq!(parse_id_list(b"0-2,5\n").unwrap(), vec![0, 1, 2, 5]);
        assert_eq!(parse_id_list(b"\n").unwrap(), Vec::<u32>::new());
        assert!(parse_id_list(b"0-4294967295").is_err());
        assert!(parse_id_list(b"3-1").is_err());
        assert!(parse_id_list(b"1-2-3").is_err());
    }

    #[test]
    fn small_files() {
        assert_eq!(
            parse_file_nr(b"1590\t0\t2466246\n").unwrap(),
            FileNr {
                allocated: 1590,
                unused: 0,
                max: 2466246
            }
        );
        assert!(parse_file_nr(b"1 2\n").is_err());
        assert_eq!(parse_value(b"-12000\n").unwrap(), -12000);
        assert!(parse_count(b"-1\n").is_err());
        assert!(parse_value(b"\n").is_err());
        let (t, f, u) =
            parse_node_meminfo(b"Node 1 MemTotal: 100 kB\nNode 1 MemFree: 40 kB\n").unwrap();
        assert_eq!((t, f, u), (102400, 40960, 61440));
        let n = parse_numastat(b"numa_hit 10\nnuma_miss 2\nnuma_foreign 3\n", 1).unwrap();
        assert_eq!((n.node, n.hit, n.miss, n.foreign), (1, 10, 2, 3));
        assert_eq!(
            parse_cpuinfo_mhz(
                b"processor\t: 0\ncpu MHz\t\t: 2400.123\nprocessor\t: 1\ncpu MHz : x\n"
            ),
            vec![(0, 2_400_123)]
        );
    }
}
