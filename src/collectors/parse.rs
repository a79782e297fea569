//! Pure parsers over the bytes of /proc files. No I/O here: each takes `&[u8]` and returns a
//! value or a `ParseError`, so each is tested on fixture text and fuzzed.

use std::collections::HashMap;

use thiserror::Error;

use crate::model::{
    CpuTimes, IoCounters, LoadAvg, MemInfo, Psi, PsiLine, StatFields, SwapDevice, VmCounters,
};

#[derive(Debug, Error, PartialEq, Eq)]
#[error("{0}")]
pub struct ParseError(pub String);

fn err<T>(msg: impl Into<String>) -> Result<T, ParseError> {
    Err(ParseError(msg.into()))
}

/// Parses an unsigned decimal field without allocating; rejects empty and non-digit input.
pub fn parse_u64(b: &[u8]) -> Option<u64> {
    if b.is_empty() || b.len() > 20 {
        return None;
    }
    let mut v: u64 = 0;
    for &c in b {
        if !c.is_ascii_digit() {
            return None;
        }
        v = v.checked_mul(10)?.checked_add(u64::from(c - b'0'))?;
    }
    Some(v)
}

/// The soft limit of `/proc/PID/limits`' "Max open files" line; `None` when the line is
/// missing, unreadable or `unlimited`.
pub fn nofile_soft(b: &[u8]) -> Option<u64> {
    b.split(|&c| c == b'\n')
        .find_map(|line| line.strip_prefix(b"Max open files"))
        .and_then(|rest| {
            rest.split(|c| c.is_ascii_whitespace())
                .find(|w| !w.is_empty())
        })
        .and_then(parse_u64)
}

pub fn parse_i64(b: &[u8]) -> Option<i64> {
    match b.split_first() {
        Some((b'-', rest)) => parse_u64(rest)
            .and_then(|v| i64::try_from(v).ok())
            .map(|v| -v),
        _ => parse_u64(b).and_then(|v| i64::try_from(v).ok()),
    }
}

fn parse_f64(b: &[u8]) -> Option<f64> {
    std::str::from_utf8(b)
        .ok()?
        .parse()
        .ok()
        .filter(|v: &f64| v.is_finite())
}

fn fields(line: &[u8]) -> impl Iterator<Item = &[u8]> {
    line.split(|c| c.is_ascii_whitespace())
        .filter(|f| !f.is_empty())
}

fn lines(b: &[u8]) -> impl Iterator<Item = &[u8]> {
    b.split(|&c| c == b'\n')
}

/// Contents of `/proc/stat` that usetop keeps.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ProcStat {
    pub total: CpuTimes,
    pub cpus: Vec<(u32, CpuTimes)>,
    pub ctxt: u64,
    pub intr: u64,
    pub forks: u64,
    pub procs_running: u32,
    pub procs_blocked: u32,
    pub boot_time: u64,
}

/// A cpu line may carry fewer columns (old kernels: 4, 7, 8, 9) or more (a future kernel):
/// missing ones are zero, extra ones ignored.
fn cpu_times(cols: &[u64]) -> CpuTimes {
    let g = |i: usize| cols.get(i).copied().unwrap_or(0);
    CpuTimes {
        user: g(0),
        nice: g(1),
        system: g(2),
        idle: g(3),
        iowait: g(4),
        irq: g(5),
        softirq: g(6),
        steal: g(7),
        guest: g(8),
        guest_nice: g(9),
    }
}

pub fn parse_proc_stat(b: &[u8]) -> Result<ProcStat, ParseError> {
    let mut st = ProcStat::default();
    let mut saw_total = false;
    let mut cols = [0u64; 10];
    for line in lines(b) {
        let mut it = fields(line);
        let Some(key) = it.next() else { continue };
        if let Some(id) = key.strip_prefix(b"cpu") {
            let mut n = 0;
            for f in it.by_ref().take(10) {
                let Some(v) = parse_u64(f) else {
                    return err(format!("bad cpu column {:?}", String::from_utf8_lossy(f)));
                };
                cols[n] = v;
                n += 1;
            }
            if n < 4 {
                return err("cpu line with fewer than 4 columns");
            }
            let times = cpu_times(&cols[..n]);
            if id.is_empty() {
                st.total = times;
                saw_total = true;
            } else if let Some(id) = parse_u64(id).and_then(|v| u32::try_from(v).ok()) {
                st.cpus.push((id, times));
            }
            continue;
        }
        let first = it.next().and_then(parse_u64).unwrap_or(0);
        match key {
            b"ctxt" => st.ctxt = first,
            b"intr" => st.intr = first,
            b"processes" => st.forks = first,
            b"procs_running" => st.procs_running = u32::try_from(first).unwrap_or(u32::MAX),
            b"procs_blocked" => st.procs_blocked = u32::try_from(first).unwrap_or(u32::MAX),
            b"btime" => st.boot_time = first,
            _ => {}
        }
    }
    if !saw_total {
        return err("no aggregate cpu line");
    }
    st.cpus.sort_by_key(|(id, _)| *id);
    Ok(st)
}

pub fn parse_loadavg(b: &[u8]) -> Result<LoadAvg, ParseError> {
    let mut it = fields(b);
    // A load average is never negative: such a file is not a loadavg.
    let mut f = || it.next().and_then(parse_f64).filter(|v| *v >= 0.0);
    let (Some(one), Some(five), Some(fifteen)) = (f(), f(), f()) else {
        return err("loadavg: expected three averages");
    };
    let mut it = fields(b).skip(3);
    let (runnable, entities) = it
        .next()
        .and_then(|re| {
            let mut p = re.split(|&c| c == b'/');
            Some((parse_u64(p.next()?)?, parse_u64(p.next()?)?))
        })
        .unwrap_or((0, 0));
    Ok(LoadAvg {
        one,
        five,
        fifteen,
        runnable: u32::try_from(runnable).unwrap_or(u32::MAX),
        entities: u32::try_from(entities).unwrap_or(u32::MAX),
    })
}

/// `/proc/pressure/{cpu,memory,io}`: a `some` line and (since 5.13 for cpu) a `full` line.
pub fn parse_pressure(b: &[u8]) -> Result<Psi, ParseError> {
    let mut some = None;
    let mut full = None;
    for line in lines(b) {
        let mut it = fields(line);
        let Some(kind) = it.next() else { continue };
        let mut rec = PsiLine::default();
        for kv in it {
            let Some(eq) = kv.iter().position(|&c| c == b'=') else {
                continue;
            };
            let (k, v) = (&kv[..eq], &kv[eq + 1..]);
            // Averages are percentages of wall time; anything else is unreadable.
            let pct = |v: &[u8]| {
                parse_f64(v)
                    .filter(|p| (0.0..=100.0).contains(p))
                    .unwrap_or(0.0)
            };
            match k {
                b"avg10" => rec.avg10 = pct(v),
                b"avg60" => rec.avg60 = pct(v),
                b"avg300" => rec.avg300 = pct(v),
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

/// `key: value [kB]` lines (meminfo) or `key value` lines (vmstat) into a map; values with
/// a kB unit are converted to bytes. Unknown keys are kept, so new kernel fields are harmless.
pub fn parse_kv(b: &[u8]) -> HashMap<&[u8], u64> {
    let mut map = HashMap::with_capacity(64);
    for line in lines(b) {
        let mut it = fields(line);
        let (Some(k), Some(v)) = (it.next(), it.next()) else {
            continue;
        };
        let k = k.strip_suffix(b":").unwrap_or(k);
        let Some(mut v) = parse_u64(v) else { continue };
        if matches!(it.next(), Some(b"kB")) {
            v = v.saturating_mul(1024);
        }
        map.insert(k, v);
    }
    map
}

pub fn parse_meminfo(b: &[u8]) -> Result<MemInfo, ParseError> {
    let m = parse_kv(b);
    let g = |k: &str| m.get(k.as_bytes()).copied().unwrap_or(0);
    let Some(&total) = m.get(&b"MemTotal"[..]) else {
        return err("meminfo: no MemTotal");
    };
    Ok(MemInfo {
        total,
        free: g("MemFree"),
        available: m.get(&b"MemAvailable"[..]).copied(),
        buffers: g("Buffers"),
        cached: g("Cached"),
        shmem: g("Shmem"),
        sreclaimable: g("SReclaimable"),
        sunreclaim: g("SUnreclaim"),
        swap_total: g("SwapTotal"),
        swap_free: g("SwapFree"),
        swap_cached: g("SwapCached"),
        dirty: g("Dirty"),
        writeback: g("Writeback"),
        anon: g("AnonPages"),
        mapped: g("Mapped"),
        page_tables: g("PageTables"),
        kernel_stack: g("KernelStack"),
        committed_as: g("Committed_AS"),
        commit_limit: g("CommitLimit"),
        hugepages_total: g("HugePages_Total"),
        hugepages_free: g("HugePages_Free"),
        hugepage_size: g("Hugepagesize"),
    })
}

pub fn parse_vmstat(b: &[u8]) -> Result<VmCounters, ParseError> {
    let m = parse_kv(b);
    if m.is_empty() {
        return err("vmstat: no counters");
    }
    let g = |k: &str| m.get(k.as_bytes()).copied().unwrap_or(0);
    let sum_prefix = |p: &str| -> u64 {
        m.iter()
            .filter(|(k, _)| k.starts_with(p.as_bytes()))
            .map(|(_, v)| *v)
            .fold(0u64, u64::saturating_add)
    };
    Ok(VmCounters {
        pgfault: g("pgfault"),
        pgmajfault: g("pgmajfault"),
        pswpin: g("pswpin"),
        pswpout: g("pswpout"),
        pgpgin: g("pgpgin"),
        pgpgout: g("pgpgout"),
        // khugepaged scans are background work, counted with kswapd.
        pgscan_kswapd: g("pgscan_kswapd").saturating_add(g("pgscan_khugepaged")),
        pgscan_direct: g("pgscan_direct"),
        pgsteal_kswapd: g("pgsteal_kswapd").saturating_add(g("pgsteal_khugepaged")),
        pgsteal_direct: g("pgsteal_direct"),
        allocstall: sum_prefix("allocstall"),
        oom_kill: g("oom_kill"),
    })
}

/// `/proc/swaps`: a header line, then `Filename Type Size Used Priority` in KiB. Filenames
/// with spaces are escaped by the kernel as `\040`.
pub fn parse_swaps(b: &[u8]) -> Result<Vec<SwapDevice>, ParseError> {
    let mut out = Vec::new();
    for line in lines(b).skip(1) {
        let f: Vec<&[u8]> = fields(line).collect();
        if f.is_empty() {
            continue;
        }
        if f.len() < 5 {
            return err("swaps: short line");
        }
        let num = |x: &[u8]| parse_u64(x).ok_or_else(|| ParseError("swaps: bad number".into()));
        out.push(SwapDevice {
            name: unescape_octal(f[0]),
            kind: String::from_utf8_lossy(f[1]).into_owned(),
            size_bytes: num(f[2])?.saturating_mul(1024),
            used_bytes: num(f[3])?.saturating_mul(1024),
            priority: parse_i64(f[4])
                .and_then(|v| i32::try_from(v).ok())
                .unwrap_or(0),
        });
    }
    Ok(out)
}

/// Undoes the kernel's `\ooo` escaping of spaces, tabs and backslashes in mount and swap names.
pub fn unescape_octal(b: &[u8]) -> String {
    String::from_utf8_lossy(&unescape_octal_bytes(b)).into_owned()
}

/// The bytes of a path as text: valid UTF-8 as it is, every byte of an invalid sequence as
/// `\xNN`, so a path that is not UTF-8 is still shown (and told apart from its neighbours)
/// instead of vanishing or collapsing into U+FFFD. Control characters stay: they are
/// replaced where text is drawn or exported.
pub fn escape_non_utf8(b: &[u8]) -> String {
    let mut out = String::with_capacity(b.len());
    for chunk in b.utf8_chunks() {
        out.push_str(chunk.valid());
        for byte in chunk.invalid() {
            out.push_str(&format!("\\x{byte:02x}"));
        }
    }
    out
}

/// One line of /proc/mounts (or /proc/self/mounts): the device and mount point as raw bytes
/// (a mount point need not be UTF-8, and statvfs needs the real path), the type and options.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MountEntry {
    pub device: Vec<u8>,
    pub mount: Vec<u8>,
    pub fstype: String,
    pub options: String,
}

/// /proc/mounts. Fields are separated by single spaces; the kernel escapes space, tab,
/// newline and backslash inside them as `\ooo`, and leaves every other byte (escape
/// sequences, invalid UTF-8) as it is.
pub fn parse_mount_entries(b: &[u8]) -> Vec<MountEntry> {
    lines(b)
        .filter_map(|line| {
            let mut it = line.split(|&c| c == b' ').filter(|f| !f.is_empty());
            Some(MountEntry {
                device: unescape_octal_bytes(it.next()?),
                mount: unescape_octal_bytes(it.next()?),
                fstype: String::from_utf8_lossy(it.next()?).into_owned(),
                options: it
                    .next()
                    .map(|o| String::from_utf8_lossy(o).into_owned())
                    .unwrap_or_default(),
            })
        })
        .collect()
}

/// Like [`unescape_octal`], keeping the bytes as they are.
pub fn unescape_octal_bytes(b: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'\\' && i + 4 <= b.len() {
            let oct = &b[i + 1..i + 4];
            if oct.iter().all(|c| (b'0'..=b'7').contains(c)) {
                let v = oct.iter().fold(0u32, |a, c| a * 8 + u32::from(c - b'0'));
                if let Ok(byte) = u8::try_from(v) {
                    out.push(byte);
                    i += 4;
                    continue;
                }
            }
        }
        out.push(b[i]);
        i += 1;
    }
    out
}

/// `/proc/PID/stat`. The comm sits between the first `(` and the *last* `)`: it may itself
/// hold spaces, parentheses and newlines. Returns the fields and the raw comm bytes.
pub fn parse_pid_stat(b: &[u8]) -> Result<(StatFields, &[u8]), ParseError> {
    let open = b.iter().position(|&c| c == b'(');
    let close = b.iter().rposition(|&c| c == b')');
    let (Some(open), Some(close)) = (open, close) else {
        return err("stat: no (comm)");
    };
    if close < open {
        return err("stat: ')' before '('");
    }
    let pid = parse_u64(b[..open].trim_ascii()).and_then(|v| u32::try_from(v).ok());
    let Some(pid) = pid else {
        return err("stat: bad pid");
    };
    let comm = &b[open + 1..close];
    // Fields after the comm, numbered from 3 as in proc(5).
    let mut rest = [&b""[..]; 40];
    let mut n = 0;
    for f in fields(&b[close + 1..]).take(rest.len()) {
        rest[n] = f;
        n += 1;
    }
    if n < 22 {
        return err(format!("stat: {} fields after comm, need 22", n));
    }
    let at = |field: usize| rest[field - 3];
    let u = |field: usize| -> Result<u64, ParseError> {
        parse_u64(at(field)).ok_or_else(|| ParseError(format!("stat: bad field {field}")))
    };
    let i = |field: usize| -> Result<i64, ParseError> {
        parse_i64(at(field)).ok_or_else(|| ParseError(format!("stat: bad field {field}")))
    };
    let opt = |field: usize| {
        if field - 3 < n {
            parse_u64(at(field)).unwrap_or(0)
        } else {
            0
        }
    };
    let st = StatFields {
        pid,
        state: at(3).first().copied().unwrap_or(b'?'),
        ppid: u32::try_from(u(4)?).unwrap_or(0),
        flags: u32::try_from(u(9)?).unwrap_or(0),
        minflt: u(10)?,
        majflt: u(12)?,
        utime: u(14)?,
        stime: u(15)?,
        priority: i(18)?,
        nice: i(19)?,
        num_threads: u32::try_from(u(20)?).unwrap_or(u32::MAX),
        start_time: u(22)?,
        vsize: opt(23),
        rss_pages: u64::try_from(i(24)?).unwrap_or(0),
        processor: u32::try_from(opt(39)).unwrap_or(0),
        blkio_ticks: opt(42),
    };
    Ok((st, comm))
}

/// `/proc/PID/io`: `key: value` lines; unknown keys are ignored.
pub fn parse_pid_io(b: &[u8]) -> Result<IoCounters, ParseError> {
    let m = parse_kv(b);
    let g = |k: &str| m.get(k.as_bytes()).copied();
    let (Some(rchar), Some(wchar)) = (g("rchar"), g("wchar")) else {
        return err("io: no rchar/wchar");
    };
    Ok(IoCounters {
        rchar,
        wchar,
        syscr: g("syscr").unwrap_or(0),
        syscw: g("syscw").unwrap_or(0),
        read_bytes: g("read_bytes").unwrap_or(0),
        write_bytes: g("write_bytes").unwrap_or(0),
        cancelled_write_bytes: g("cancelled_write_bytes").unwrap_or(0),
    })
}

/// `/proc/PID/cmdline`: NUL-separated arguments, possibly not UTF-8, possibly without the
/// final NUL; a process that rewrote its title may use spaces instead.
pub fn parse_cmdline(b: &[u8]) -> String {
    let trimmed = b.strip_suffix(b"\0").unwrap_or(b);
    let joined: Vec<u8> = trimmed
        .iter()
        .map(|&c| if c == 0 { b' ' } else { c })
        .collect();
    String::from_utf8_lossy(&joined).trim_end().to_string()
}

/// The effective uid from a `/proc/PID/status` (`Uid:\treal\teffective\tsaved\tfs`).
pub fn parse_status_euid(b: &[u8]) -> Option<u32> {
    let line = lines(b).find(|l| l.starts_with(b"Uid:"))?;
    let mut it = fields(&line[4..]);
    let real = it.next();
    it.next()
        .or(real)
        .and_then(parse_u64)
        .and_then(|v| u32::try_from(v).ok())
}

/// `/etc/passwd` into uid → name.
pub fn parse_passwd(b: &[u8]) -> HashMap<u32, String> {
    let mut out = HashMap::new();
    for line in lines(b) {
        let mut it = line.split(|&c| c == b':');
        let (Some(name), Some(_), Some(uid)) = (it.next(), it.next(), it.next()) else {
            continue;
        };
        if let Some(uid) = parse_u64(uid).and_then(|u| u32::try_from(u).ok()) {
            out.entry(uid)
                .or_insert_with(|| String::from_utf8_lossy(name).into_owned());
        }
    }
    out
}

/// A CPU list such as `0-1,3-7` (sysfs `online`) into the number of CPUs it names.
pub fn parse_cpu_list_count(b: &[u8]) -> Result<u32, ParseError> {
    let mut count: u32 = 0;
    for part in b
        .trim_ascii()
        .split(|&c| c == b',')
        .filter(|p| !p.is_empty())
    {
        let mut ends = part.split(|&c| c == b'-');
        let lo = ends.next().and_then(parse_u64);
        let hi = ends.next().map(parse_u64).unwrap_or(lo);
        match (lo, hi) {
            (Some(lo), Some(hi)) if hi >= lo && hi - lo < 1 << 20 => {
                count = count.saturating_add(u32::try_from(hi - lo + 1).unwrap_or(u32::MAX));
            }
            _ => return err("cpu list: bad range"),
        }
    }
    Ok(count)
}

/// `/proc/mounts` lines: (device, mount point, fstype), with octal escapes undone.
pub fn parse_mounts(b: &[u8]) -> Vec<(String, String, String)> {
    parse_mount_entries(b)
        .into_iter()
        .map(|m| {
            (
                escape_non_utf8(&m.device),
                escape_non_utf8(&m.mount),
                m.fstype,
            )
        })
        .collect()
}
