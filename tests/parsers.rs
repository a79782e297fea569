//! The pure /proc parsers on fixture text: the awkward inputs the kernel really produces
//! (comms with parentheses and newlines, truncated UTF-8, old and new column counts,
//! octal-escaped names) and malformed ones, which must be errors, never panics.

use usetop::collectors::parse::*;
use usetop::model::CpuTimes;

/// A /proc/PID/stat line as a 6.x kernel writes it, with `comm` between the parentheses.
fn stat_line(pid: u32, comm: &[u8]) -> Vec<u8> {
    let mut v = format!("{pid} (").into_bytes();
    v.extend_from_slice(comm);
    v.extend_from_slice(
        b") R 100 1 1 0 -1 4194560 50400 0 12 0 1080 210 0 0 20 0 1 0 600 \
          307200000 25600 18446744073709551615 1 1 0 0 0 0 0 0 0 0 0 0 17 3 0 0 7 0 0\n",
    );
    v
}

#[test]
fn pid_stat_comm_with_spaces_parens_and_newline() {
    let comm = b"weird name) (x\ny";
    let line = stat_line(200, comm);
    let (st, c) = parse_pid_stat(&line).unwrap();
    assert_eq!(c, comm);
    assert_eq!(st.pid, 200);
    assert_eq!(st.state, b'R');
    assert_eq!(st.ppid, 100);
    assert_eq!(st.flags, 4194560);
    assert_eq!(st.minflt, 50400);
    assert_eq!(st.majflt, 12);
    assert_eq!(st.utime, 1080);
    assert_eq!(st.stime, 210);
    assert_eq!(st.priority, 20);
    assert_eq!(st.nice, 0);
    assert_eq!(st.num_threads, 1);
    assert_eq!(st.start_time, 600);
    assert_eq!(st.vsize, 307200000);
    assert_eq!(st.rss_pages, 25600);
    assert_eq!(st.processor, 3);
    assert_eq!(st.blkio_ticks, 7);
}

#[test]
fn pid_stat_comm_that_is_only_parens() {
    for comm in [&b")"[..], b"(", b"()", b") R 1 2 3 (", b""] {
        let line = stat_line(7, comm);
        let (st, c) = parse_pid_stat(&line).unwrap();
        assert_eq!(c, comm, "{:?}", String::from_utf8_lossy(comm));
        assert_eq!(st.pid, 7);
        assert_eq!(st.utime, 1080);
    }
}

#[test]
fn pid_stat_comm_cut_mid_utf8() {
    // The kernel cuts comm at 15 bytes, here after one byte of the 5th 3-byte character.
    let comm = &"pgデータベース".as_bytes()[..15];
    assert!(std::str::from_utf8(comm).is_err());
    let line = stat_line(400, comm);
    let (st, c) = parse_pid_stat(&line).unwrap();
    assert_eq!(c, comm);
    assert_eq!(st.pid, 400);
    // The lossy form keeps the whole characters and marks the cut one.
    let lossy = String::from_utf8_lossy(c);
    assert_eq!(lossy, "pgデータベ\u{fffd}");
}

#[test]
fn pid_stat_old_kernel_without_trailing_fields() {
    // 2.6-era stat stops after field 41 (policy): processor is there, blkio_ticks is not.
    let line = b"9 (init) S 0 9 9 0 -1 4202752 100 0 0 0 5 6 0 0 20 0 1 0 20 1000 50 \
                 4294967295 1 1 0 0 0 0 0 0 0 0 0 0 17 1 0 0\n";
    let (st, _) = parse_pid_stat(line).unwrap();
    assert_eq!(st.processor, 1);
    assert_eq!(st.blkio_ticks, 0);
    // And a minimal 24-field line (up to rss): optional fields are zero.
    let short = b"9 (x) S 0 9 9 0 -1 0 1 0 2 0 3 4 0 0 20 0 1 0 20 1000 50\n";
    let (st, _) = parse_pid_stat(short).unwrap();
    assert_eq!((st.minflt, st.majflt, st.utime, st.stime), (1, 2, 3, 4));
    assert_eq!(st.rss_pages, 50);
    assert_eq!(st.processor, 0);
}

#[test]
fn pid_stat_malformed_is_an_error() {
    let bad: &[&[u8]] = &[
        b"",
        b"1 no parens S 0",
        b"1 )x( S 0 1 1 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 5 0 0",
        b"x (a) S 0 1 1 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 5 0 0",
        b"1 (a) S 0 1 1",
        b"1 (a) S zero 1 1 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 5 0 0",
        b"99999999999 (a) S 0 1 1 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 5 0 0",
    ];
    for b in bad {
        assert!(
            parse_pid_stat(b).is_err(),
            "{:?}",
            String::from_utf8_lossy(b)
        );
    }
    // Every prefix of a good line either parses or errs; none panics.
    let good = stat_line(200, b"weird name) (x\ny");
    for n in 0..good.len() {
        let _ = parse_pid_stat(&good[..n]);
    }
}

#[test]
fn negative_nice_and_priority() {
    let line = b"5 (rt) S 2 0 0 0 -1 2129984 0 0 0 0 0 0 0 0 -51 -20 1 0 4 0 0 \
                 18446744073709551615 0 0 0 0 0 0 0 2147483647 0 0 0 0 17 0 50 1 0 0 0\n";
    let (st, _) = parse_pid_stat(line).unwrap();
    assert_eq!(st.priority, -51);
    assert_eq!(st.nice, -20);
}

#[test]
fn cmdline_not_utf8_and_without_final_nul() {
    assert_eq!(
        parse_cmdline(b"/opt/db/\xff\xfe-bin\0--data\0/var/db\0"),
        "/opt/db/\u{fffd}\u{fffd}-bin --data /var/db"
    );
    assert_eq!(
        parse_cmdline(b"nginx: worker process"),
        "nginx: worker process"
    );
    assert_eq!(parse_cmdline(b"a\0b"), "a b");
    assert_eq!(parse_cmdline(b""), "");
    assert_eq!(parse_cmdline(b"\0"), "");
}

#[test]
fn pid_io() {
    let text = b"rchar: 10500000\nwchar: 5500000\nsyscr: 1100\nsyscw: 600\nread_bytes: 1572864\n\
                 write_bytes: 3145728\ncancelled_write_bytes: 4096\nfuture_key: 9\n";
    let io = parse_pid_io(text).unwrap();
    assert_eq!(io.rchar, 10_500_000);
    assert_eq!(io.wchar, 5_500_000);
    assert_eq!(io.syscr, 1100);
    assert_eq!(io.syscw, 600);
    assert_eq!(io.read_bytes, 1_572_864);
    assert_eq!(io.write_bytes, 3_145_728);
    assert_eq!(io.cancelled_write_bytes, 4096);
    assert!(parse_pid_io(b"").is_err());
    assert!(parse_pid_io(b"syscr: 5\n").is_err());
}

const PROC_STAT: &str = "cpu  30165 52 12030 240095 507 0 301 60 0 0
cpu0 10060 50 4020 80015 505 0 100 20 0 0
cpu1 10010 2 4005 80080 2 0 101 20 0 0
cpu3 10095 0 4005 80000 0 0 100 20 0 0
intr 101500 0 0 17 0
ctxt 103000
btime 1767200000
processes 5004
procs_running 5
procs_blocked 1
softirq 0 0 0
";

#[test]
fn proc_stat_ten_columns() {
    let st = parse_proc_stat(PROC_STAT.as_bytes()).unwrap();
    assert_eq!(
        st.total,
        CpuTimes {
            user: 30165,
            nice: 52,
            system: 12030,
            idle: 240095,
            iowait: 507,
            irq: 0,
            softirq: 301,
            steal: 60,
            guest: 0,
            guest_nice: 0
        }
    );
    // A gap in the numbering (cpu2 offline) is kept as it is.
    let ids: Vec<u32> = st.cpus.iter().map(|(id, _)| *id).collect();
    assert_eq!(ids, [0, 1, 3]);
    assert_eq!(st.cpus[2].1.user, 10095);
    assert_eq!(st.ctxt, 103000);
    assert_eq!(st.intr, 101500);
    assert_eq!(st.forks, 5004);
    assert_eq!(st.procs_running, 5);
    assert_eq!(st.procs_blocked, 1);
    assert_eq!(st.boot_time, 1767200000);
}

#[test]
fn proc_stat_fewer_columns() {
    // 2.4 kernels: 4 columns; 2.6.0: 7; 2.6.11: 8; 2.6.24: 9.
    for n in [4, 7, 8, 9] {
        let vals: Vec<String> = (1..=n).map(|v| (v * 10).to_string()).collect();
        let line = vals.join(" ");
        let text = format!("cpu {line}\ncpu0 {line}\nctxt 5\n");
        let st = parse_proc_stat(text.as_bytes()).unwrap();
        let t = st.total;
        let got = [
            t.user,
            t.nice,
            t.system,
            t.idle,
            t.iowait,
            t.irq,
            t.softirq,
            t.steal,
            t.guest,
            t.guest_nice,
        ];
        for (i, g) in got.iter().enumerate() {
            let want = if i < n { (i as u64 + 1) * 10 } else { 0 };
            assert_eq!(*g, want, "{n} columns, column {i}");
        }
        assert_eq!(st.cpus[0].1, t);
        assert_eq!(st.ctxt, 5);
    }
    assert!(parse_proc_stat(b"cpu 1 2 3\n").is_err());
}

#[test]
fn proc_stat_more_columns_are_ignored() {
    let text = b"cpu 1 2 3 4 5 6 7 8 9 10 11 12\ncpu0 1 2 3 4 5 6 7 8 9 10 11 12\nctxt 42\n";
    let st = parse_proc_stat(text).unwrap();
    assert_eq!(st.total.guest_nice, 10);
    assert_eq!(st.cpus.len(), 1);
    assert_eq!(st.ctxt, 42);
}

#[test]
fn proc_stat_malformed() {
    assert!(parse_proc_stat(b"").is_err());
    assert!(
        parse_proc_stat(b"ctxt 5\n").is_err(),
        "no aggregate cpu line"
    );
    assert!(parse_proc_stat(b"cpu 1 2 x 4\n").is_err());
    // Unsorted per-CPU lines come back sorted.
    let st = parse_proc_stat(b"cpu 2 0 0 0\ncpu1 1 0 0 0\ncpu0 1 0 0 0\n").unwrap();
    assert_eq!(st.cpus[0].0, 0);
    for n in 0..PROC_STAT.len() {
        let _ = parse_proc_stat(&PROC_STAT.as_bytes()[..n]);
    }
}

#[test]
fn loadavg() {
    let l = parse_loadavg(b"2.75 1.00 0.45 5/218 5008\n").unwrap();
    assert_eq!((l.one, l.five, l.fifteen), (2.75, 1.0, 0.45));
    assert_eq!((l.runnable, l.entities), (5, 218));
    // Without the runnable/entities field (some containers' lxcfs).
    let l = parse_loadavg(b"0.00 0.01 0.05\n").unwrap();
    assert_eq!((l.one, l.runnable, l.entities), (0.0, 0, 0));
    assert!(parse_loadavg(b"").is_err());
    assert!(parse_loadavg(b"1.0 nan-ish 2.0").is_err());
    assert!(parse_loadavg(b"inf 1 1 1/1 1").is_err());
}

#[test]
fn pressure_with_and_without_full() {
    let both = b"some avg10=12.00 avg60=1.00 avg300=0.50 total=1100000\n\
                 full avg10=0.25 avg60=0.10 avg300=0.00 total=205000\n";
    let p = parse_pressure(both).unwrap();
    assert_eq!(p.some.avg10, 12.0);
    assert_eq!(p.some.avg60, 1.0);
    assert_eq!(p.some.avg300, 0.5);
    assert_eq!(p.some.total_us, 1_100_000);
    let full = p.full.unwrap();
    assert_eq!(full.avg10, 0.25);
    assert_eq!(full.total_us, 205_000);

    // cpu before 5.13: only `some`.
    let p = parse_pressure(b"some avg10=0.00 avg60=0.00 avg300=0.00 total=42\n").unwrap();
    assert_eq!(p.some.total_us, 42);
    assert!(p.full.is_none());

    // A future key is ignored; no `some` line is an error.
    let p = parse_pressure(b"some avg10=1.00 avg30=7 avg60=2.00 avg300=3.00 total=9\n").unwrap();
    assert_eq!((p.some.avg10, p.some.avg60, p.some.total_us), (1.0, 2.0, 9));
    assert!(parse_pressure(b"").is_err());
    assert!(parse_pressure(b"full avg10=0.00 avg60=0.00 avg300=0.00 total=1\n").is_err());
}

#[test]
fn meminfo_in_bytes_with_unknown_lines() {
    let text = b"MemTotal:       16777216 kB\nMemFree:         2097152 kB\n\
                 MemAvailable:    5242880 kB\nBuffers:          524288 kB\n\
                 Cached:          4194304 kB\nSwapTotal:       4194304 kB\n\
                 SwapFree:        3145728 kB\nSReclaimable:     400000 kB\n\
                 HugePages_Total:       4\nHugepagesize:       2048 kB\n\
                 FutureField:           7 kB\nNoValue:\n";
    let m = parse_meminfo(text).unwrap();
    assert_eq!(m.total, 16 << 30);
    assert_eq!(m.free, 2 << 30);
    assert_eq!(m.available, Some(5 << 30));
    assert_eq!(m.buffers, 512 << 20);
    assert_eq!(m.cached, 4 << 30);
    assert_eq!(m.swap_total, 4 << 30);
    assert_eq!(m.swap_free, 3 << 30);
    assert_eq!(m.sreclaimable, 400_000 * 1024);
    // A count, not a size: no unit, no scaling.
    assert_eq!(m.hugepages_total, 4);
    assert_eq!(m.hugepage_size, 2 << 20);

    // Kernels before 3.14 have no MemAvailable.
    let m = parse_meminfo(b"MemTotal: 1000 kB\nMemFree: 10 kB\n").unwrap();
    assert_eq!(m.available, None);
    assert_eq!(m.total, 1_024_000);
    assert!(parse_meminfo(b"MemFree: 10 kB\n").is_err());
}

#[test]
fn vmstat_counters() {
    let text = b"nr_free_pages 1\npgpgin 102048\npgpgout 204096\npswpin 510\npswpout 825\n\
                 pgfault 1005000\npgmajfault 3040\npgscan_kswapd 7300\npgscan_khugepaged 5\n\
                 pgscan_direct 150\npgsteal_kswapd 6250\npgsteal_direct 130\n\
                 allocstall_dma32 1\nallocstall_normal 6\nallocstall_movable 2\noom_kill 3\n\
                 brand_new_counter 5\n";
    let v = parse_vmstat(text).unwrap();
    assert_eq!(v.pgpgin, 102048);
    assert_eq!(v.pgpgout, 204096);
    assert_eq!(v.pswpin, 510);
    assert_eq!(v.pswpout, 825);
    assert_eq!(v.pgfault, 1_005_000);
    assert_eq!(v.pgmajfault, 3040);
    assert_eq!(v.pgscan_kswapd, 7305);
    assert_eq!(v.pgscan_direct, 150);
    assert_eq!(v.pgsteal_kswapd, 6250);
    assert_eq!(v.pgsteal_direct, 130);
    assert_eq!(v.allocstall, 9);
    assert_eq!(v.oom_kill, 3);
    // Pre-4.? kernels: a single `allocstall`.
    let v = parse_vmstat(b"allocstall 11\n").unwrap();
    assert_eq!(v.allocstall, 11);
    assert!(parse_vmstat(b"").is_err());
}

#[test]
fn swaps_with_escaped_names() {
    let text = b"Filename\t\t\t\tType\t\tSize\t\tUsed\t\tPriority\n\
                 /dev/dm-1                               partition\t4194300\t\t1048576\t\t-2\n\
                 /swap\\040file                              file\t\t1048576\t\t0\t\t-3\n\
                 /tmp/tab\\011and\\134slash file 8 4 10\n";
    let s = parse_swaps(text).unwrap();
    assert_eq!(s.len(), 3);
    assert_eq!(s[0].name, "/dev/dm-1");
    assert_eq!(s[0].kind, "partition");
    assert_eq!(s[0].size_bytes, 4_194_300 * 1024);
    assert_eq!(s[0].used_bytes, 1_048_576 * 1024);
    assert_eq!(s[0].priority, -2);
    assert_eq!(s[1].name, "/swap file");
    assert_eq!(s[1].kind, "file");
    assert_eq!(s[1].priority, -3);
    assert_eq!(s[2].name, "/tmp/tab\tand\\slash");
    assert_eq!(s[2].priority, 10);
    // Header only: no swap.
    assert!(
        parse_swaps(b"Filename Type Size Used Priority\n")
            .unwrap()
            .is_empty()
    );
    assert!(parse_swaps(b"header\n/dev/x partition 5\n").is_err());
}

#[test]
fn octal_unescape_edges() {
    assert_eq!(unescape_octal(b"a\\040b"), "a b");
    // Not an escape: fewer than three octal digits, or an 8/9, or at the end.
    assert_eq!(unescape_octal(b"a\\04"), "a\\04");
    assert_eq!(unescape_octal(b"a\\089"), "a\\089");
    assert_eq!(unescape_octal(b"\\"), "\\");
    // \777 is 511, not a byte: kept verbatim.
    assert_eq!(unescape_octal(b"\\777"), "\\777");
}

#[test]
fn status_euid_with_unknown_lines() {
    let text = b"Name:\tbash\nUmask:\t0022\nState:\tS (sleeping)\nFutureKey:\tUid: 5\n\
                 Uid:\t1000\t1001\t1002\t1003\nGid:\t100\t100\t100\t100\n";
    assert_eq!(parse_status_euid(text), Some(1001));
    // A line that only starts like Uid is not it; a lone real uid is used.
    assert_eq!(parse_status_euid(b"Name:\tx\nUid:\t42\n"), Some(42));
    assert_eq!(parse_status_euid(b"Name:\tx\n"), None);
    assert_eq!(parse_status_euid(b"Uid:\tabc\tdef\n"), None);
}

#[test]
fn passwd_first_entry_wins() {
    let m = parse_passwd(
        b"root:x:0:0:root:/root:/bin/bash\n# comment\nbroken\nalice:x:1000:1000::/:/bin/sh\n\
          toor:x:0:0::/:/bin/sh\n",
    );
    assert_eq!(m.get(&0).map(String::as_str), Some("root"));
    assert_eq!(m.get(&1000).map(String::as_str), Some("alice"));
    assert_eq!(m.len(), 2);
}

#[test]
fn cpu_lists() {
    assert_eq!(parse_cpu_list_count(b"0-1,3-7\n"), Ok(7));
    assert_eq!(parse_cpu_list_count(b"0"), Ok(1));
    assert_eq!(parse_cpu_list_count(b"0-3"), Ok(4));
    assert_eq!(parse_cpu_list_count(b"0,2,4,6"), Ok(4));
    assert_eq!(parse_cpu_list_count(b"0-63,128-191\n"), Ok(128));
    assert_eq!(parse_cpu_list_count(b"\n"), Ok(0));
    assert!(parse_cpu_list_count(b"3-1").is_err());
    assert!(parse_cpu_list_count(b"a-b").is_err());
    assert!(parse_cpu_list_count(b"0-99999999999").is_err());
}

#[test]
fn mounts_with_escapes() {
    let m = parse_mounts(
        b"/dev/vda1 / ext4 rw,relatime 0 0\n\
          /dev/sdb1 /mnt/my\\040disk vfat rw 0 0\n\
          //srv/share /mnt/tab\\011dir cifs rw 0 0\n\
          short line\n\n",
    );
    assert_eq!(m.len(), 3);
    assert_eq!(m[0], ("/dev/vda1".into(), "/".into(), "ext4".into()));
    assert_eq!(m[1].1, "/mnt/my disk");
    assert_eq!(m[2].1, "/mnt/tab\tdir");
}

#[test]
fn numbers() {
    assert_eq!(parse_u64(b"18446744073709551615"), Some(u64::MAX));
    assert_eq!(parse_u64(b"18446744073709551616"), None);
    assert_eq!(parse_u64(b""), None);
    assert_eq!(parse_u64(b"-1"), None);
    assert_eq!(parse_u64(b" 1"), None);
    assert_eq!(parse_i64(b"-20"), Some(-20));
    assert_eq!(parse_i64(b"-"), None);
    assert_eq!(parse_i64(b"9223372036854775808"), None);
}
