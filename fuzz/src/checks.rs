//! One check per /proc and /sys parser: feed it arbitrary bytes, and assert that it neither
//! panics nor hands back figures no kernel could produce. Shared by the cargo-fuzz targets
//! (fuzz/fuzz_targets) and by the plain `cargo test` that replays every committed input
//! (tests/hostile_fuzz_inputs.rs includes this file by path), so a crash found once stays
//! fixed. To cover a new parser: add a function here, a row in `TARGETS`, a three-line
//! target file, a `[[bin]]` entry in fuzz/Cargo.toml and a seed directory.

use std::path::Path;
use std::sync::Arc;
use usetop::app::config::{Config, ConfigError};
use usetop::collectors::cgroup_parse as cgp;
use usetop::collectors::perf::backend::{CounterBackend, Kind, Target};
use usetop::collectors::perf::fake::FakeBackend;
use usetop::collectors::sockets::diag::{self, Interner};
use usetop::collectors::{detail, dirents, disk, net, parse, slab};
use usetop::model::cgroup::{CgroupRecord, CgroupSample, CgroupTable};
use usetop::model::disk::{DiskDev, DiskSample, DiskStat};
use usetop::model::net::{Duplex, IfaceStat, NetSample, NicFigures};
use usetop::model::perf::{self, CounterSet, Ev};
use usetop::model::sockets::StateCounts;
use usetop::store::format::{self, FRAME_HEAD_LEN, Header};
use usetop::store::reader::Reader;

use usetop::collectors::checklist::parse as cl;
use usetop::model::checklist::{self, ChecklistFigures, ChecklistSample, NumaNode};
use usetop::model::{CpuFigures, CpuPct, CpuTimes, PsiLine, Sample, Snapshot, VmCounters};

pub type Check = fn(&[u8]);

/// Every check by target name, in the order the fuzz script runs them.
pub const TARGETS: &[(&str, Check)] = &[
    ("parse_proc_stat", parse_proc_stat),
    ("parse_pid_stat", parse_pid_stat),
    ("parse_pid_io", parse_pid_io),
    ("parse_meminfo", parse_meminfo),
    ("parse_vmstat", parse_vmstat),
    ("parse_swaps", parse_swaps),
    ("parse_pressure", parse_pressure),
    ("parse_loadavg", parse_loadavg),
    ("parse_cpu_list_count", parse_cpu_list_count),
    ("parse_mounts", parse_mounts),
    ("parse_passwd", parse_passwd),
    ("parse_status_euid", parse_status_euid),
    ("parse_cmdline", parse_cmdline),
    ("unescape_octal", unescape_octal),
    ("parse_dirents", parse_dirents),
    ("parse_diskstats", parse_diskstats),
    ("parse_sys_block", parse_sys_block),
    ("parse_net_dev", parse_net_dev),
    ("parse_snmp", parse_snmp),
    ("parse_sys_net", parse_sys_net),
    ("parse_slabinfo", parse_slabinfo),
    ("parse_status", parse_status),
    ("parse_schedstat", parse_schedstat),
    ("parse_limits", parse_limits),
    ("parse_cgroup", parse_cgroup),
    ("sock_diag", sock_diag),
    ("parse_config", parse_config),
    ("read_recording", read_recording),
    ("recording_frames", recording_frames),
    ("parse_fake_perf", parse_fake_perf),
    ("parse_proc_schedstat", parse_proc_schedstat),
    ("parse_interrupts_hw", parse_interrupts_hw),
    ("parse_softnet", parse_softnet),
    ("parse_node_meminfo", parse_node_meminfo),
    ("parse_numastat", parse_numastat),
    ("parse_file_nr", parse_file_nr),
    ("parse_sys_value", parse_sys_value),
    ("parse_id_list", parse_id_list),
    ("parse_cpuinfo_mhz", parse_cpuinfo_mhz),
    ("parse_cg_cpu_stat", parse_cg_cpu_stat),
    ("parse_cg_limits", parse_cg_limits),
    ("parse_cg_memory", parse_cg_memory),
    ("parse_cg_io", parse_cg_io),
    ("parse_cg_dirents", parse_cg_dirents),
    ("parse_cg_pressure", parse_cg_pressure),
    ("cgroup_name", cgroup_name),
    ("parse_trace_format", parse_trace_format),
    ("parse_trace_record", parse_trace_record),
    ("parse_tcp_record", parse_tcp_record),
];

pub fn by_name(name: &str) -> Option<Check> {
    TARGETS.iter().find(|(n, _)| *n == name).map(|(_, f)| *f)
}

fn share_ok(v: f64) -> bool {
    v.is_finite() && (0.0..=100.0).contains(&v)
}

fn check_pct(p: &CpuPct) {
    for v in [
        p.usr, p.nice, p.sys, p.iowait, p.irq, p.soft, p.steal, p.guest, p.gnice, p.idle,
    ] {
        assert!(share_ok(v), "cpu share {v} out of 0..=100: {p:?}");
    }
    assert!(share_ok(p.busy()));
}

/// The parsed lines are also pushed through the percentage arithmetic, in both directions,
/// so counters that go backwards between two reads are covered too.
pub fn parse_proc_stat(data: &[u8]) {
    let Ok(st) = parse::parse_proc_stat(data) else {
        return;
    };
    assert!(st.cpus.windows(2).all(|w| w[0].0 <= w[1].0));
    let zero = CpuTimes::default();
    let mut all = vec![st.total];
    all.extend(st.cpus.iter().map(|(_, t)| *t));
    for pair in all.windows(2) {
        for (a, b) in [
            (&pair[0], &pair[1]),
            (&pair[1], &pair[0]),
            (&zero, &pair[0]),
        ] {
            if let Some(p) = CpuPct::between(a, b) {
                check_pct(&p);
            }
        }
    }
}

pub fn parse_pid_stat(data: &[u8]) {
    if let Ok((_, comm)) = parse::parse_pid_stat(data) {
        assert!(comm.len() < data.len());
    }
}

pub fn parse_pid_io(data: &[u8]) {
    let _ = parse::parse_pid_io(data);
}

pub fn parse_meminfo(data: &[u8]) {
    if let Ok(m) = parse::parse_meminfo(data) {
        let f = usetop::model::FreeFigures::from_meminfo(&m);
        assert!(f.available <= f.total && f.used <= f.total);
        if let Some(p) = f.used_pct() {
            assert!(share_ok(p), "used {p}%");
        }
    }
}

/// The counters also go through the rate arithmetic, from zero and back to zero.
pub fn parse_vmstat(data: &[u8]) {
    let Ok(vm) = parse::parse_vmstat(data) else {
        return;
    };
    let at = |ns: u64, vm: Option<VmCounters>| {
        let mut s = Sample {
            mono_ns: ns,
            page_size: 4096,
            ..Sample::default()
        };
        s.mem.vm = vm;
        Arc::new(s)
    };
    for (a, b) in [(None, Some(vm)), (Some(vm), Some(VmCounters::default()))] {
        let snap = Snapshot::derive(1, Some(at(1_000_000_000, a)), at(2_000_000_000, b));
        let m = &snap.mem;
        for v in [
            m.si_kbs,
            m.so_kbs,
            m.bi_kbs,
            m.bo_kbs,
            m.pgfault_s,
            m.majfault_s,
        ]
        .into_iter()
        .chain([m.pgscan_s, m.pgsteal_s, m.allocstall_s])
        .flatten()
        {
            assert!(v.is_finite() && v >= 0.0, "rate {v}");
        }
    }
}

pub fn parse_swaps(data: &[u8]) {
    let _ = parse::parse_swaps(data);
}

fn check_psi_line(l: &PsiLine) {
    for v in [l.avg10, l.avg60, l.avg300] {
        assert!(share_ok(v), "psi average {v} out of 0..=100");
    }
}

pub fn parse_pressure(data: &[u8]) {
    if let Ok(p) = parse::parse_pressure(data) {
        check_psi_line(&p.some);
        if let Some(f) = &p.full {
            check_psi_line(f);
        }
    }
}

pub fn parse_loadavg(data: &[u8]) {
    if let Ok(l) = parse::parse_loadavg(data) {
        for v in [l.one, l.five, l.fifteen] {
            assert!(v.is_finite() && v >= 0.0, "load average {v}");
        }
    }
}

pub fn parse_cpu_list_count(data: &[u8]) {
    let _ = parse::parse_cpu_list_count(data);
}

pub fn parse_mounts(data: &[u8]) {
    for (dev, mount, fstype) in parse::parse_mounts(data) {
        assert!(!dev.is_empty() && !mount.is_empty() && !fstype.is_empty());
    }
}

pub fn parse_passwd(data: &[u8]) {
    let _ = parse::parse_passwd(data);
}

pub fn parse_status_euid(data: &[u8]) {
    let _ = parse::parse_status_euid(data);
}

pub fn parse_cmdline(data: &[u8]) {
    let s = parse::parse_cmdline(data);
    assert!(!s.contains('\0'));
}

pub fn unescape_octal(data: &[u8]) {
    // Each escape shrinks four bytes to one; lossy UTF-8 may widen a bad byte to three.
    let s = parse::unescape_octal(data);
    assert!(s.len() <= data.len() * 3);
}

/// The walker must stop on any record length, and only ever yield all-digit names.
pub fn parse_dirents(data: &[u8]) {
    let mut out = Vec::new();
    dirents::parse_dirents(data, &mut out);
    assert!(out.len() <= data.len() / 20 + 1);
    // Every record counted is one parse_dirents walks too (numeric or not).
    assert!(dirents::count_dirents(data) <= (data.len() / 20 + 1) as u64);
}

fn rates_ok(what: &str, vals: &[f64]) {
    for &v in vals {
        assert!(v.is_finite() && v >= 0.0, "{what}: rate {v}");
    }
}

fn check_disk_dev(d: &DiskDev) {
    rates_ok(
        "disk",
        &[
            d.r_s, d.w_s, d.rkb_s, d.wkb_s, d.rrqm_s, d.wrqm_s, d.r_await, d.w_await, d.aqu_sz,
            d.rareq_sz, d.wareq_sz,
        ],
    );
    let opt = [
        d.d_s, d.f_s, d.dkb_s, d.drqm_s, d.d_await, d.f_await, d.dareq_sz,
    ];
    rates_ok("disk", &opt.into_iter().flatten().collect::<Vec<_>>());
    for p in [d.pct_rrqm, d.pct_wrqm, d.util] {
        assert!(share_ok(p), "disk share {p}: {d:?}");
    }
}

/// Every device also goes through the iostat arithmetic: from zero, unchanged, and back to
/// zero (a reset or a 32-bit wrap).
pub fn parse_diskstats(data: &[u8]) {
    let Ok(ds) = disk::parse_diskstats(data) else {
        return;
    };
    assert!(!ds.devices.is_empty() || ds.bad.is_empty());
    let zero = DiskSample {
        devices: ds
            .devices
            .iter()
            .map(|d| DiskStat {
                major: d.major,
                minor: d.minor,
                name: d.name.clone(),
                discard: d.discard.map(|_| [0; 4]),
                flush: d.flush.map(|_| [0; 2]),
                ioerr: d.ioerr.map(|_| 0),
                ..DiskStat::default()
            })
            .collect(),
        psi: None,
    };
    let cur = DiskSample {
        devices: ds.devices,
        psi: None,
    };
    for (a, b) in [(&zero, &cur), (&cur, &cur), (&cur, &zero)] {
        for dt in [1.0, 0.001] {
            let f = usetop::model::disk::derive(Some(a), b, dt);
            f.devices.iter().for_each(check_disk_dev);
        }
    }
}

/// The /sys/block attributes: `device/ioerr_cnt` (hexadecimal) for each line, and the
/// partition-by-name rule used where /sys/block cannot be read.
pub fn parse_sys_block(data: &[u8]) {
    let _ = disk::parse_hex_count(data);
    let names: Vec<String> = data
        .split(|&c| c == b'\n')
        .map(|l| String::from_utf8_lossy(l).into_owned())
        .collect();
    for (i, n) in names.iter().enumerate() {
        let _ = disk::parse_hex_count(n.as_bytes());
        if disk::looks_like_partition(n, &names[..i]) {
            assert!(!names[..i].is_empty());
        }
    }
}

fn check_nic(f: &NicFigures) {
    rates_ok(
        "net",
        &[
            f.rxkb_s, f.txkb_s, f.rxpck_s, f.txpck_s, f.rx_avg, f.tx_avg, f.rxcmp_s, f.txcmp_s,
            f.rxmcst_s, f.rxerr_s, f.txerr_s, f.coll_s, f.rxdrop_s, f.txdrop_s, f.txcarr_s,
            f.rxfram_s, f.rxfifo_s, f.txfifo_s,
        ],
    );
    if let Some(u) = f.util {
        assert!(share_ok(u), "link utilisation {u}%");
    }
}

/// Interfaces go through the sar -n DEV arithmetic from zero and back, on a 10 Mb/s
/// half-duplex link (the busiest utilisation case).
pub fn parse_net_dev(data: &[u8]) {
    let Ok(nd) = net::parse_net_dev(data) else {
        return;
    };
    assert!(!nd.ifaces.is_empty() || nd.bad.is_empty());
    let cur = NetSample {
        ifaces: nd
            .ifaces
            .into_iter()
            .map(|(raw, mut st)| {
                assert!(!raw.is_empty() && !raw.contains(&b':'));
                st.speed_mbps = Some(10);
                st.duplex = Some(Duplex::Half);
                st
            })
            .collect(),
        ..NetSample::default()
    };
    let zero = NetSample {
        ifaces: cur
            .ifaces
            .iter()
            .map(|i| IfaceStat {
                name: i.name.clone(),
                speed_mbps: i.speed_mbps,
                duplex: i.duplex,
                ..IfaceStat::default()
            })
            .collect(),
        ..NetSample::default()
    };
    for (a, b) in [(&zero, &cur), (&cur, &zero)] {
        for dt in [1.0, 0.001] {
            usetop::model::net::derive(Some(a), b, dt)
                .ifaces
                .iter()
                .for_each(check_nic);
        }
    }
}

/// /proc/net/snmp and /proc/net/netstat, through the sar -n TCP/ETCP/UDP arithmetic.
pub fn parse_snmp(data: &[u8]) {
    let m = net::parse_snmp(data);
    let cur = NetSample {
        tcp: net::tcp_counters(&m),
        udp: net::udp_counters(&m),
        tcp_ext: net::tcp_ext_counters(&m),
        ..NetSample::default()
    };
    let zero = NetSample {
        tcp: cur.tcp.map(|_| Default::default()),
        udp: cur.udp.map(|_| Default::default()),
        tcp_ext: cur.tcp_ext.map(|_| Default::default()),
        ..NetSample::default()
    };
    for (a, b) in [(&zero, &cur), (&cur, &zero)] {
        let f = usetop::model::net::derive(Some(a), b, 0.5);
        if let Some(t) = f.tcp {
            rates_ok(
                "tcp",
                &[
                    t.active_s,
                    t.passive_s,
                    t.iseg_s,
                    t.oseg_s,
                    t.atmptf_s,
                    t.estres_s,
                    t.retrans_s,
                    t.isegerr_s,
                    t.orsts_s,
                ],
            );
        }
        if let Some(u) = f.udp {
            rates_ok(
                "udp",
                &[
                    u.idgm_s,
                    u.odgm_s,
                    u.noport_s,
                    u.idgmerr_s,
                    u.rcvbuferr_s,
                    u.sndbuferr_s,
                ],
            );
        }
        if let Some(e) = f.tcp_ext {
            rates_ok(
                "tcp ext",
                &[e.listen_overflows_s, e.listen_drops_s, e.timeouts_s],
            );
        }
    }
}

/// /sys/class/net/IF/{speed,duplex}: a speed is a positive 32-bit figure.
pub fn parse_sys_net(data: &[u8]) {
    if let Some(s) = net::parse_speed(data) {
        assert!(s > 0 && s < u64::from(u32::MAX));
    }
    let _ = net::parse_duplex(data);
}

/// The caches also go through slabtop's totals and per-cache figures.
pub fn parse_slabinfo(data: &[u8]) {
    let Ok(caches) = slab::parse_slabinfo(data) else {
        return;
    };
    for c in &caches {
        assert!(share_ok(c.use_pct()), "slab use {}%: {c:?}", c.use_pct());
        let _ = c.cache_bytes(4096);
    }
    let caches: Vec<_> = caches.into_iter().map(Arc::new).collect();
    let t = usetop::model::slab::SlabTotals::of(&caches);
    assert!(t.min_obj <= t.max_obj || caches.is_empty());
    assert!(t.avg_obj <= t.max_obj.max(t.min_obj) || t.num_objs == 0);
}

pub fn parse_status(data: &[u8]) {
    let _ = detail::parse_status(data);
}

pub fn parse_schedstat(data: &[u8]) {
    let _ = detail::parse_schedstat(data);
}

pub fn parse_limits(data: &[u8]) {
    for l in detail::parse_limits(data) {
        assert!(!l.soft.is_empty() && !l.hard.is_empty());
    }
    // The open-files soft limit (FD%) comes only from a "Max open files" line.
    if parse::nofile_soft(data).is_some() {
        assert!(data.windows(14).any(|w| w == b"Max open files"));
    }
}

pub fn parse_cgroup(data: &[u8]) {
    if let Some(p) = detail::parse_cgroup(data) {
        assert!(p.len() <= data.len() * 3);
    }
}

/// One sock_diag dump: every message decoded both as a TCP socket and as a state count
/// (a decode error is an answer, not a stop, so every message behind it is reached too).
pub fn sock_diag(data: &[u8]) {
    let mut names = Interner::default();
    let mut counts = StateCounts::default();
    let mut n = 0usize;
    let st = diag::walk(data, None, |payload| {
        n += 1;
        let _ = diag::parse_tcp(payload, &mut names);
        let _ = diag::count_state(payload, &mut counts);
        Ok(())
    });
    assert!(n <= data.len() / 16);
    if let Ok(st) = st {
        assert!(st.messages == n);
    }
    assert!(counts.iter().map(|&c| c as usize).sum::<usize>() <= n);
    let _ = diag::parse_tcp_info(data);
}

/// The config file: valid UTF-8 only (the loader reads it as a string). An error names a
/// line and column within the text.
pub fn parse_config(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    match Config::parse(text, Path::new("fuzz.toml")) {
        Ok(c) => {
            if let Some(i) = c.interval {
                assert!(i.is_finite() && i > 0.0, "interval {i}");
            }
            let bands = format!("{:?}", c.thresholds);
            assert!(
                !bands.contains("NaN") && !bands.contains("inf"),
                "threshold that is not a number: {bands}"
            );
        }
        Err(ConfigError::Parse { line, col, .. }) => {
            assert!(line >= 1 && line <= text.lines().count().max(1) + 1);
            assert!(col >= 1);
        }
        Err(_) => {}
    }
}

/// A recording read from memory to the end: never more frames than bytes allow, and the
/// reader always moves forward.
pub fn read_recording(data: &[u8]) {
    let Ok(mut r) = Reader::new(data.to_vec(), Path::new("fuzz.usetop")) else {
        return;
    };
    let mut frames = 0u64;
    let mut last = 0u64;
    while let Some(f) = r.next_frame() {
        assert!(f.offset >= last && f.offset < data.len() as u64);
        last = f.offset;
        frames += 1;
        assert!(frames as usize <= data.len() / FRAME_HEAD_LEN);
    }
    assert!(r.good_end() <= data.len() as u64);
    let _ = r.stats.summary();
}

/// `data` as a zstd frame of one raw (stored) block: what the reader decompresses is then
/// exactly `data`, so the fuzzer reaches the sample decoder past the checksums.
fn zstd_stored(data: &[u8]) -> Vec<u8> {
    let mut out = vec![0x28, 0xb5, 0x2f, 0xfd, 0x00, 0x58];
    let block = (data.len() as u32) << 3 | 1;
    out.extend_from_slice(&block.to_le_bytes()[..3]);
    out.extend_from_slice(data);
    out
}

/// The recording `recording_frames` reads: a header and two frames around `data`.
pub fn frames_file(data: &[u8]) -> Option<Vec<u8>> {
    let (n, rest) = data.split_first_chunk::<2>()?;
    let n = usize::from(u16::from_le_bytes(*n)).min(rest.len());
    let header = Header {
        format_version: format::FORMAT_VERSION,
        ..Header::default()
    };
    let mut file = format::encode_header(&header).ok()?;
    file.extend(format::encode_frame(
        format::KIND_KEY,
        1,
        &zstd_stored(&rest[..n]),
    ));
    file.extend(format::encode_frame(
        format::KIND_DELTA,
        2,
        &zstd_stored(&rest[n..]),
    ));
    Some(file)
}

/// A recording with valid checksums around fuzzed samples: `data` is a little-endian u16
/// length, the postcard bytes of a key frame's sample of that length, then those of a
/// delta frame's. Every frame read is derived against the one before, as replay does, and
/// the figures must be finite (a hostile recording is input like any other).
pub fn recording_frames(data: &[u8]) {
    let Some(file) = frames_file(data) else {
        return;
    };
    let Ok(mut r) = Reader::new(file, Path::new("fuzz.usetop")) else {
        panic!("a header we wrote does not read back");
    };
    let mut prev: Option<Arc<Sample>> = None;
    let mut seq = 0;
    while let Some(f) = r.next_frame() {
        let cur = Arc::new(f.sample);
        let snap = Snapshot::derive(seq, prev.clone(), Arc::clone(&cur));
        assert!(
            snap.dt_s.is_finite() && snap.dt_s >= 0.0,
            "dt {}",
            snap.dt_s
        );
        let c = &snap.cpu;
        c.total.iter().for_each(check_pct);
        c.per_cpu
            .iter()
            .filter_map(|(_, p)| p.as_ref())
            .for_each(check_pct);
        let rates = [c.ctxt_s, c.intr_s, c.forks_s];
        rates_ok("cpu", &rates.into_iter().flatten().collect::<Vec<_>>());
        let k = &snap.checklist;
        if let Ok(r) = &k.runq {
            rates_ok("runq", &[r.total_ms_s, r.mean_ms_s]);
        }
        if let Ok(sn) = &k.softnet {
            rates_ok("softnet", &[sn.processed_s, sn.dropped_s, sn.squeezed_s]);
        }
        if let Ok(f) = &k.files {
            assert!(share_ok(f.pct), "files {}%", f.pct);
        }
        // Hostile cgroup records (unsorted, duplicated, huge) derive and dump without a
        // panic, and every share stays within 0..=100.
        for r in &snap.cgroups().rows {
            for v in [r.throttled_pct, r.pids_pct, r.mem_limit.map(|l| l.pct)]
                .into_iter()
                .flatten()
            {
                assert!(share_ok(v), "cgroup share {v}");
            }
        }
        let _ = usetop::export::cgroup::records(&snap);
        prev = Some(cur);
        seq += 1;
    }
}

/// The fixture counter files: every target named in the text is opened and read, and the
/// rates from zero are finite and never negative.
pub fn parse_fake_perf(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let mut fake = FakeBackend::parse(&text);
    let targets: Vec<Target> = text
        .lines()
        .filter_map(|l| {
            let w = l.split_whitespace().next()?;
            if let Some(n) = w.strip_prefix("cpu") {
                n.parse().ok().map(Target::Cpu)
            } else {
                w.strip_prefix("tid")?.parse().ok().map(Target::Thread)
            }
        })
        .take(64)
        .collect();
    for t in targets {
        let mut set = CounterSet::default();
        for kind in [Kind::Hw, Kind::Sw] {
            for kernel in [false, true] {
                if let Ok(mut g) = fake.open(t, kind, kernel) {
                    let _ = g.read(&mut set);
                }
            }
        }
        let r = perf::rates(&CounterSet::default(), &set, 1.0);
        for e in Ev::ALL {
            if let Some(v) = r.get(e) {
                assert!(v.is_finite() && v >= 0.0, "{e:?} rate {v}");
            }
        }
        for v in [r.ipc(), r.miss_pct(), r.bmiss_pct(), r.cpu_pct()]
            .into_iter()
            .flatten()
        {
            assert!(v.is_finite() && v >= 0.0, "perf ratio {v}");
        }
    }
}

// ---- the USE checklist's parsers (collectors/checklist/parse.rs) ----

/// Checklist figures between two checklist samples one second apart, both ways round.
fn checklist_pair(a: ChecklistSample, b: ChecklistSample) -> [ChecklistFigures; 2] {
    let at = |ns: u64, c: &ChecklistSample| Sample {
        mono_ns: ns,
        checklist: ChecklistSample {
            read: true,
            mono_ns: ns,
            ..c.clone()
        },
        ..Sample::default()
    };
    let cpu = CpuFigures::default();
    let (x0, x1) = (at(1_000_000_000, &a), at(2_000_000_000, &b));
    let (y0, y1) = (at(1_000_000_000, &b), at(2_000_000_000, &a));
    [
        checklist::derive(Some(&x0), &x1, &cpu, None, 1.0),
        checklist::derive(Some(&y0), &y1, &cpu, None, 1.0),
    ]
}

pub fn parse_proc_schedstat(data: &[u8]) {
    let Ok((_, cpus)) = cl::parse_proc_schedstat(data) else {
        return;
    };
    assert!(!cpus.is_empty() && cpus.len() <= cl::MAX_IDS);
    let c = ChecklistSample {
        sched: cpus,
        ..ChecklistSample::default()
    };
    for f in checklist_pair(ChecklistSample::default(), c.clone())
        .iter()
        .chain(&checklist_pair(c, ChecklistSample::default()))
    {
        if let Ok(r) = &f.runq {
            let v: Vec<f64> = r.per_cpu.iter().map(|(_, v)| *v).collect();
            rates_ok("runq", &v);
            rates_ok("runq", &[r.total_ms_s, r.mean_ms_s, r.worst.1]);
        }
    }
}

pub fn parse_interrupts_hw(data: &[u8]) {
    let Ok(h) = cl::parse_interrupts_hw(data) else {
        return;
    };
    let c = ChecklistSample {
        hw_irqs: Some(h),
        ..ChecklistSample::default()
    };
    let zero = ChecklistSample {
        hw_irqs: Some(Default::default()),
        ..ChecklistSample::default()
    };
    let _ = checklist_pair(zero, c);
}

pub fn parse_softnet(data: &[u8]) {
    let Ok((lines, _)) = cl::parse_softnet(data) else {
        return;
    };
    assert!(!lines.is_empty() && lines.len() <= cl::MAX_IDS);
    let c = ChecklistSample {
        softnet: lines,
        ..ChecklistSample::default()
    };
    let mut zero = c.clone();
    for l in &mut zero.softnet {
        (l.processed, l.dropped, l.time_squeeze) = (0, 0, 0);
    }
    for f in checklist_pair(zero, c) {
        if let Ok(s) = &f.softnet {
            rates_ok("softnet", &[s.processed_s, s.dropped_s, s.squeezed_s]);
            for r in &s.per_cpu {
                rates_ok("softnet cpu", &[r.processed_s, r.dropped_s, r.squeezed_s]);
            }
        }
    }
}

pub fn parse_node_meminfo(data: &[u8]) {
    if let Ok((total, free, used)) = cl::parse_node_meminfo(data) {
        assert!(
            total % 1024 == 0 || total == u64::MAX,
            "{total} {free} {used}"
        );
    }
}

pub fn parse_numastat(data: &[u8]) {
    let Ok(n) = cl::parse_numastat(data, 0) else {
        return;
    };
    let node = |n: NumaNode, id| NumaNode { node: id, ..n };
    let c = ChecklistSample {
        numa_nodes: 2,
        numa: vec![node(n, 0), node(n, 1)],
        ..ChecklistSample::default()
    };
    let zero = ChecklistSample {
        numa_nodes: 2,
        numa: vec![node(NumaNode::default(), 0), node(NumaNode::default(), 1)],
        ..ChecklistSample::default()
    };
    for f in checklist_pair(zero, c) {
        for n in f.numa.iter().flatten() {
            rates_ok(
                "numa",
                &[n.hit_s, n.miss_s, n.foreign_s, n.local_s, n.other_s],
            );
            if let Some(p) = n.miss_pct {
                assert!(share_ok(p), "miss {p}%");
            }
        }
    }
}

pub fn parse_file_nr(data: &[u8]) {
    let Ok(f) = cl::parse_file_nr(data) else {
        return;
    };
    let c = ChecklistSample {
        file_nr: Some(f),
        ..ChecklistSample::default()
    };
    for f in checklist_pair(c.clone(), c) {
        if let Ok(cap) = f.files {
            assert!(share_ok(cap.pct), "files {}%", cap.pct);
        }
    }
}

/// The one-number files: a count is a value, never the other way round.
pub fn parse_sys_value(data: &[u8]) {
    if let Ok(n) = cl::parse_count(data) {
        assert_eq!(cl::parse_value(data).ok(), i64::try_from(n).ok());
    }
}

pub fn parse_id_list(data: &[u8]) {
    if let Ok(ids) = cl::parse_id_list(data) {
        assert!(ids.len() <= cl::MAX_IDS);
        assert!(ids.windows(2).all(|w| w[0] < w[1]));
    }
}

pub fn parse_cpuinfo_mhz(data: &[u8]) {
    let v = cl::parse_cpuinfo_mhz(data);
    assert!(v.len() <= cl::MAX_IDS);
    assert!(v.iter().all(|(_, khz)| *khz < 10_000_000_000));
}

// ---- cgroups ----

/// Two records of one cgroup derived in both directions (counters going up, and going
/// back as after a reset): every rate finite and never negative, every share of a whole
/// (throttled periods, memory limit, pids, PSI) within 0..=100.
fn check_cgroup_pair(a: CgroupRecord, b: CgroupRecord) {
    let wrap = |r: CgroupRecord| CgroupSample {
        groups: vec![Arc::new(r)],
        ..CgroupSample::default()
    };
    let (a, b) = (wrap(a), wrap(b));
    for (p, c) in [(&a, &b), (&b, &a), (&CgroupSample::default(), &a)] {
        let t = CgroupTable::derive(Some(p), Some(c), 0.5, 3);
        for r in &t.rows {
            let rates = [
                r.cpu_pct,
                r.cpu_host_pct,
                r.cpu_user_pct,
                r.cpu_system_pct,
                r.cpu_quota_pct,
                r.quota_cpus,
                r.throttled_ms_s,
                r.read_bps,
                r.write_bps,
                r.read_iops,
                r.write_iops,
                r.pgmajfault_s,
                r.refault_s,
            ];
            rates_ok("cgroup", &rates.into_iter().flatten().collect::<Vec<_>>());
            let shares = [
                r.throttled_pct,
                r.pids_pct,
                r.mem_limit.map(|l| l.pct),
                r.psi.cpu_some,
                r.psi.cpu_full,
                r.psi.mem_some,
                r.psi.mem_full,
                r.psi.io_some,
                r.psi.io_full,
            ];
            for v in shares.into_iter().flatten() {
                assert!(share_ok(v), "cgroup share {v}: {r:?}");
            }
        }
    }
}

fn record() -> CgroupRecord {
    CgroupRecord {
        path: "/x".into(),
        ino: 1,
        ..CgroupRecord::default()
    }
}

/// cpu.stat (v2 and v1); the counters against zero and against themselves halved.
pub fn parse_cg_cpu_stat(data: &[u8]) {
    let Ok(c) = cgp::parse_cg_cpu_stat(data) else {
        return;
    };
    let half = |v: Option<u64>| v.map(|v| v / 2);
    let mut a = record();
    a.cpu = c;
    let mut b = record();
    b.cpu.usage_us = half(c.usage_us);
    b.cpu.nr_periods = half(c.nr_periods);
    b.cpu.nr_throttled = c.nr_throttled;
    b.cpu.throttled_us = half(c.throttled_us);
    b.cpu.max = cgp::parse_cg_cpu_max(data).ok();
    check_cgroup_pair(b, a);
}

/// The limit files (memory.max, pids.max, cpu.max, cfs_quota_us), the single-number files
/// and cgroup.procs, all on the same bytes; a limit against a usage on both sides of it.
pub fn parse_cg_limits(data: &[u8]) {
    let lim = cgp::parse_cg_limit(data).ok();
    let max = cgp::parse_cg_cpu_max(data).ok();
    if let Some(m) = max
        && let Some(c) = m.cpus()
    {
        assert!(c.is_finite() && c >= 0.0);
    }
    if let Ok(Some(q)) = cgp::parse_cg_quota(data) {
        assert!(i64::try_from(q).is_ok());
    }
    let n = cgp::parse_cg_u64(data).ok();
    assert!(cgp::count_lines(data) <= data.len() as u64);
    let mut a = record();
    a.mem.current = n;
    a.mem.max = lim;
    a.mem.high = lim;
    a.pids.current = n;
    a.pids.max = lim;
    a.cpu.max = max;
    let mut b = a.clone();
    b.mem.current = n.map(|v| v / 3);
    check_cgroup_pair(a, b);
}

/// memory.events, memory.stat (v2 and v1), memory.oom_control and pids.events.
pub fn parse_cg_memory(data: &[u8]) {
    let mut a = record();
    if let Ok(e) = cgp::parse_cg_memory_events(data) {
        a.mem.events = e;
    }
    a.mem.stat = cgp::parse_cg_memory_stat(data).ok();
    if let Ok((under, kills)) = cgp::parse_cg_oom_control(data) {
        a.mem.under_oom = Some(under);
        a.mem.events.oom_kill = kills;
    }
    a.pids.events_max = cgp::parse_cg_pids_events(data).ok();
    let mut b = record();
    b.mem.stat = a.mem.stat.map(|_| Default::default());
    check_cgroup_pair(b, a);
}

/// io.stat, io.max and the v1 blkio throttle files.
pub fn parse_cg_io(data: &[u8]) {
    let mut a = record();
    if let Ok(devs) = cgp::parse_cg_io_stat(data) {
        assert!(devs.len() <= data.len());
        a.io.stat = Some(devs);
    }
    if let Ok(m) = cgp::parse_cg_io_max(data) {
        assert!(m.len() <= data.len());
    }
    if let Ok(b) = cgp::parse_cg_blkio(data) {
        assert!(b.len() <= data.len());
    }
    let mut b = record();
    b.io.stat = Some(Vec::new());
    check_cgroup_pair(b, a);
}

/// getdents64 records as the cgroup walk reads them, and the same bytes as inotify
/// events (the walk's other binary input).
pub fn parse_cg_dirents(data: &[u8]) {
    let mut total = 0;
    cgp::parse_dir_entries(data, |e| {
        assert!(e.name.len() < data.len());
        assert!(!e.name.contains(&0));
        total += 1;
    });
    assert!(total <= data.len() / 20 + 1);
    let mut events = 0;
    cgp::parse_inotify_events(data, |_, _| events += 1);
    assert!(events <= data.len() / 16);
}

/// A cgroup's pressure file: the same answer as /proc/pressure's parser, and a stall
/// share over an interval within 0..=100.
pub fn parse_cg_pressure(data: &[u8]) {
    let ours = cgp::parse_cg_pressure(data);
    let procs = parse::parse_pressure(data);
    assert_eq!(ours.is_ok(), procs.is_ok());
    let Ok(p) = ours else {
        return;
    };
    check_psi_line(&p.some);
    if let Some(f) = &p.full {
        check_psi_line(f);
    }
    let mut a = record();
    a.psi.cpu = Some(p);
    a.psi.io = Some(p);
    let mut b = record();
    b.psi.cpu = Some(Default::default());
    check_cgroup_pair(b, a);
}

/// A cgroup's display name: never empty, never a control character, never longer than
/// the path's last component (plus a short prefix).
pub fn cgroup_name(data: &[u8]) {
    let path = String::from_utf8_lossy(data);
    let name = usetop::model::cgroup::cgroup_name(&path);
    assert!(!name.is_empty());
    assert!(!name.chars().any(char::is_control), "{name:?}");
    let leaf = path.trim_end_matches('/').rsplit('/').next().unwrap_or("");
    assert!(
        name.chars().count() <= leaf.chars().count().max(1) + 16,
        "{name:?}"
    );
}

/// A tracefs format file: a layout found in it has every field inside a perf record.
pub fn parse_trace_format(data: &[u8]) {
    use usetop::collectors::trace::format::{BlockLayout, parse_format};
    if let Ok(f) = parse_format(data) {
        assert!(f.fields.len() <= data.len());
        for fd in &f.fields {
            assert!(fd.offset <= u16::MAX as usize && fd.size <= u16::MAX as usize);
        }
        if let Ok(l) = BlockLayout::from_format(&f) {
            assert_eq!(l.id, f.id);
            assert!(l.rwbs.size > 0);
        }
        if let Ok(l) = usetop::collectors::trace::format::TcpLayout::from_format(&f) {
            assert_eq!(l.id, f.id);
        }
    }
}

/// Raw TCP tracepoint records read with this kernel's layouts (tests/fixtures/trace/),
/// then fed to the aggregator: the first byte's low bit says whether the rest is a perf
/// sample (the raw record inside it is read) or a raw record itself.
pub fn parse_tcp_record(data: &[u8]) {
    use std::sync::OnceLock;
    use usetop::collectors::trace::format::{
        PerfRecord, TcpLayout, parse_perf_record, parse_tcp_record,
    };
    use usetop::collectors::trace::tcp::{TcpAgg, TcpEvent, TcpKind};
    use usetop::model::tcptrace::{EVENTS, PEERS};
    static LAYOUTS: OnceLock<Vec<TcpLayout>> = OnceLock::new();
    let layouts = LAYOUTS.get_or_init(|| {
        ["tcp_retransmit_skb", "tcp_send_reset", "tcp_receive_reset"]
            .iter()
            .map(|ev| TcpLayout::from_format(&trace_format(ev)).expect("layout"))
            .collect()
    });
    let Some((&t, body)) = data.split_first() else {
        return;
    };
    let raw = if t & 1 == 0 {
        match parse_perf_record(9, body) {
            Ok(PerfRecord::Sample { raw, .. }) => raw,
            _ => return,
        }
    } else {
        body
    };
    let mut agg = TcpAgg::default();
    let kinds = [
        TcpKind::Retransmit,
        TcpKind::ResetSent,
        TcpKind::ResetReceived,
    ];
    let mut n = 0u64;
    for l in layouts {
        if let Ok(rec) = parse_tcp_record(l, raw) {
            for k in kinds {
                agg.push(&TcpEvent {
                    kind: k,
                    time_ns: u64::from(t),
                    rec,
                });
            }
            n += 1;
        }
    }
    let out = agg.take(1);
    assert_eq!(out.retransmits, n);
    assert_eq!((out.resets_sent, out.resets_received), (n, n));
    assert!(out.events.len() <= EVENTS && out.events.len() as u64 == n.min(EVENTS as u64));
    assert!(out.retrans_peers.len() <= PEERS && out.reset_peers.len() <= PEERS);
    assert_eq!(out.retrans_peers.iter().map(|p| p.count).sum::<u64>(), n);
    assert_eq!(
        out.reset_peers.iter().map(|p| p.total()).sum::<u64>(),
        2 * n
    );
}

/// This kernel's format file of tracepoint `ev` (tests/fixtures/trace/), from the fuzz
/// crate (fuzz/) or the main one (tests replaying seeds).
fn trace_format(ev: &str) -> usetop::collectors::trace::format::Format {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    let rel = format!("tests/fixtures/trace/{ev}.format");
    let b = std::fs::read(dir.join(&rel))
        .or_else(|_| std::fs::read(dir.join("..").join(&rel)))
        .expect("fixture");
    usetop::collectors::trace::format::parse_format(&b).expect("format")
}

/// Perf ring records and the raw block records inside them, read with this kernel's
/// layouts (tests/fixtures/trace/), then fed to the aggregator: the first byte picks the
/// record type (sample, lost, other), the rest is the body.
pub fn parse_trace_record(data: &[u8]) {
    use std::sync::OnceLock;
    use usetop::collectors::trace::agg::{Aggregator, Event, Kind};
    use usetop::collectors::trace::format::{
        BlockLayout, PerfRecord, parse_block_record, parse_perf_record,
    };
    static LAYOUTS: OnceLock<Vec<BlockLayout>> = OnceLock::new();
    let layouts = LAYOUTS.get_or_init(|| {
        ["block_rq_issue", "block_rq_complete", "block_rq_error"]
            .iter()
            .map(|ev| BlockLayout::from_format(&trace_format(ev)).expect("layout"))
            .collect()
    });
    let Some((&t, body)) = data.split_first() else {
        return;
    };
    let ty = match t % 3 {
        0 => 9,
        1 => 2,
        _ => t as u32,
    };
    let mut agg = Aggregator::new(t & 4 == 0);
    match parse_perf_record(ty, body) {
        Ok(PerfRecord::Sample {
            raw, time_ns, pid, ..
        }) => {
            assert!(raw.len() <= body.len());
            for (i, l) in layouts.iter().enumerate() {
                if let Ok(rec) = parse_block_record(l, raw) {
                    assert!(rec.rwbs_bytes().len() <= 8 && rec.comm_bytes().len() <= 16);
                    let kind = [Kind::Issue, Kind::Complete, Kind::Error][i];
                    agg.push(&Event {
                        kind,
                        time_ns,
                        pid,
                        rec,
                    });
                    agg.push(&Event {
                        kind: Kind::Complete,
                        time_ns: time_ns.wrapping_add(1),
                        pid,
                        rec,
                    });
                }
            }
        }
        Ok(PerfRecord::Lost(n)) => agg.lost(n),
        _ => {}
    }
    let out = agg.take(1);
    for d in &out.devices {
        for op in [&d.read, &d.write] {
            assert_eq!(op.hist.iter().sum::<u64>(), op.count);
            assert!(op.p50_ns <= op.p99_ns && op.p99_ns <= op.max_ns);
        }
    }
    assert!(out.slowest.len() <= usetop::model::blktrace::SLOWEST);
}
