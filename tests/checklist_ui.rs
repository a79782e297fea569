//! The USE checklist on screen: the overview's cells over the checklist fixtures (figures
//! worked out by hand from tests/fixtures/make_checklist.py), the rows folded to fit the
//! terminal, and snapshots of the overview on a healthy machine, one with problems and a VM
//! that lacks the sources.

mod common;

use std::sync::Arc;
use std::time::Duration;

use common::{fixture_roots, headless};
use usetop::app::config::Thresholds;
use usetop::collectors::{Collectors, ProcRoot, Request, VirtualClock};
use usetop::model::Level;
use usetop::model::Snapshot;
use usetop::model::checklist::Na;
use usetop::model::verdict::{Figure, Instance, Kind, Missing, Reason, Verdict, judge_fit};
use usetop::panes::PaneId;
use usetop::timeline::Timeline;

fn snapshot_of(roots: Vec<ProcRoot>) -> Arc<Snapshot> {
    let mut tl = Timeline::new(10);
    let mut clock = VirtualClock::new();
    for root in roots {
        tl.push(Collectors::new(root).sample(&clock, Request::default()));
        clock.advance(Duration::from_secs(1));
    }
    Arc::clone(tl.snapshot().expect("a snapshot"))
}

fn snapshot(fixture: &str) -> Arc<Snapshot> {
    snapshot_of(fixture_roots(fixture))
}

fn find<'a>(v: &'a [Verdict], label: &str) -> &'a Verdict {
    v.iter()
        .find(|v| v.resource.to_string() == label)
        .unwrap_or_else(|| panic!("no verdict for {label}: {v:#?}"))
}

fn close(got: f64, want: f64) -> bool {
    (got - want).abs() < 1e-6
}

/// The machine with problems: cpu0 pegged, two machine checks, EDAC corrected errors,
/// softnet drops, an ext4 filesystem with errors, file handles and tasks near their limits.
#[test]
fn the_problems_show_in_their_cells() {
    let s = snapshot("checklist");
    let th = Thresholds::default();
    let v = s.verdicts(&th);

    // cpu0 100 % busy, cpu1 10 % stolen, cpu2 and cpu3 idle: the average is (100 + 10) / 4 =
    // 27.5 %, green by itself; the cell names cpu0, red (99 % and up).
    let cpu = find(&v, "CPU (4)");
    assert_eq!(
        cpu.u.figure,
        Figure::CpuBusyPegged {
            avg: 27.5,
            cpu: 0,
            busy: 100.0
        }
    );
    assert_eq!(cpu.u.level, Level::Crit);
    // Run delay +50, +5, +0 and +200 ms in the second: 255 ms/s on all CPUs, cpu3 the worst
    // at 200 ms/s, red from 100.
    assert!(
        matches!(cpu.s.figure, Figure::CpuRunq { latency_ms_s: Some(l), .. } if close(l, 255.0)),
        "{:?}",
        cpu.s.figure
    );
    assert_eq!(cpu.s.level, Level::Crit);
    assert!(
        matches!(cpu.s.reason, Some(Reason::RunqLatency { total_ms_s, worst_cpu: 3, worst_ms_s, warn }) if close(total_ms_s, 255.0) && close(worst_ms_s, 200.0) && warn == 10.0),
        "{:?}",
        cpu.s.reason
    );
    // MCE 1 -> 3; core throttle +3 (siblings counted once), package +2.
    assert_eq!(
        cpu.e.figure,
        Figure::CpuErrors {
            mce: Some(2),
            throttle: Some(5)
        }
    );
    assert_eq!(cpu.e.level, Level::Crit);
    assert_eq!(
        cpu.e.reason,
        Some(Reason::CpuErrors {
            mce: Some(2),
            mce_total: Some(3),
            core: Some(3),
            package: Some(2)
        })
    );

    // 10 of cpu1's 100 ticks stolen: 10 / 400 = 2.5 %, under the 5 % yellow band.
    let steal = find(&v, "CPU steal");
    assert_eq!(steal.pane, "cpu");
    assert_eq!(steal.u.figure, Figure::Steal(2.5));
    assert_eq!(steal.u.level, Level::Ok);

    // One OOM kill: saturation, red. EDAC mc0 corrected 5 -> 7: errors, red.
    let mem = find(&v, "Memory");
    assert!(matches!(
        mem.s.figure,
        Figure::MemPressure { oom: Some(1), .. }
    ));
    assert_eq!(mem.s.level, Level::Crit);
    assert_eq!(mem.e.figure, Figure::MemErrors { ce: 2, ue: 0 });
    assert_eq!(mem.e.level, Level::Crit);
    assert_eq!(
        mem.e.reason,
        Some(Reason::MemErrors {
            ce: 2,
            ue: 0,
            ce_total: 7,
            ue_total: 1
        })
    );

    // node0: 6 of 8 GiB used; +9000 hits, +1000 misses = 10 % missed: yellow (5 to 20).
    // node1: 3 of 4 GiB used; 1000 pages/s meant for it went elsewhere, none missed.
    let n0 = find(&v, "NUMA node 0");
    assert_eq!(n0.pane, "mem");
    assert_eq!(n0.u.figure, Figure::NodeUsed(Some(75.0)));
    assert_eq!(
        n0.s.figure,
        Figure::NumaMiss {
            miss_pct: Some(10.0),
            foreign_s: 0.0
        }
    );
    assert_eq!(n0.s.level, Level::Warn);
    let n1 = find(&v, "NUMA node 1");
    assert_eq!(
        n1.s.figure,
        Figure::NumaMiss {
            miss_pct: Some(0.0),
            foreign_s: 1000.0
        }
    );

    // Softnet: +1000 on cpu0 and +32 on cpu1 (a 32-bit wrap) processed; 3 dropped on cpu0
    // (red at any), 5 squeezes (yellow from 1/s).
    let sn = find(&v, "Softnet");
    assert_eq!(sn.pane, "net");
    assert_eq!(sn.u.figure, Figure::SoftnetRate(1032.0));
    assert_eq!(sn.s.figure, Figure::Squeeze(5.0));
    assert_eq!(sn.s.level, Level::Warn);
    assert_eq!(sn.e.figure, Figure::SoftnetDrops(3));
    assert_eq!(sn.e.level, Level::Crit);
    assert_eq!(
        sn.e.reason,
        Some(Reason::SoftnetDrops { n: 3, cpu: Some(0) })
    );

    // ext4 on /dev/mapper/vg-root (dm-0) recorded 3 errors: red. sda1 none. xfs keeps no count.
    let home = find(&v, "FS /home");
    assert_eq!(home.e.figure, Figure::FsErrors(3));
    assert_eq!(home.e.level, Level::Crit);
    assert_eq!(find(&v, "FS /").e.level, Level::Ok);
    assert_eq!(
        find(&v, "FS /data").e.reason,
        Some(Reason::NotAvailable(Missing::Checklist(Na::Missing(
            "xfs keeps no error count in /sys (ext4 does)".into()
        ))))
    );

    // eth0's error sums hide the driver's breakdown: missed 4, over 1, crc 3, length 2, frame 1.
    let eth0 = find(&v, "NIC eth0");
    assert!(
        matches!(&eth0.e.reason, Some(Reason::NicErrors { detail, .. }) if *detail == vec![("rx_missed", 4.0), ("rx_over", 1.0), ("rx_crc", 3.0), ("rx_length", 2.0), ("rx_frame", 1.0)]),
        "{:?}",
        eth0.e.reason
    );

    // file-nr 9000 allocated, 1000 free of 10000: 8000 = 80 %, yellow. 900 tasks of
    // threads-max 1000 (pid_max 4096 is farther): 90 %, yellow.
    let files = find(&v, "Files");
    assert_eq!(files.pane, "proc");
    assert_eq!(
        files.u.figure,
        Figure::Capacity {
            pct: 80.0,
            max: 10_000
        }
    );
    assert_eq!(files.u.level, Level::Warn);
    assert!(matches!(
        files.s.reason,
        Some(Reason::NotAvailable(Missing::Why(_)))
    ));
    let tasks = find(&v, "Tasks");
    assert_eq!(
        tasks.u.figure,
        Figure::Capacity {
            pct: 90.0,
            max: 1000
        }
    );
    assert_eq!(tasks.u.level, Level::Warn);
    assert_eq!(
        tasks.u.reason,
        Some(Reason::Tasks {
            used: 900,
            threads_max: Some(1000),
            pid_max: Some(4096)
        })
    );
}

/// The healthy twin: every source read, nothing yellow or red anywhere.
#[test]
fn a_healthy_machine_is_green() {
    let s = snapshot("checklist_ok");
    let v = s.verdicts(&Thresholds::default());
    for r in v.iter() {
        for c in r.cells() {
            assert!(c.level <= Level::Ok, "{}: {:?}", r.resource, c);
        }
    }
    let cpu = find(&v, "CPU (4)");
    // 30 % on cpu0 only: 7.5 % on average, nothing pegged; 2 ms/s of waiting per CPU.
    assert_eq!(cpu.u.figure, Figure::CpuBusy(Some(7.5)));
    assert!(matches!(cpu.s.figure, Figure::CpuRunq { latency_ms_s: Some(l), .. } if close(l, 8.0)));
    assert_eq!(
        cpu.e.figure,
        Figure::CpuErrors {
            mce: Some(0),
            throttle: Some(0)
        }
    );
    assert_eq!(find(&v, "Softnet").e.figure, Figure::SoftnetDrops(0));
}

/// A VM without the sources: each cell n/a with the reason, never a figure made up.
#[test]
fn a_vm_says_why_each_cell_is_missing() {
    let s = snapshot("checklist_bare");
    let v = s.verdicts(&Thresholds::default());
    let why = |c: &usetop::model::verdict::Cell| match &c.reason {
        Some(Reason::NotAvailable(Missing::Checklist(Na::Missing(r)))) => r.clone(),
        other => panic!("not n/a with a reason: {other:?}"),
    };
    let cpu = find(&v, "CPU (2)");
    assert!(why(&cpu.e).contains("no MCE row"), "{}", why(&cpu.e));
    // 50 % and 10 %: no CPU past 90 %, nothing named.
    assert_eq!(cpu.u.figure, Figure::CpuBusy(Some(30.0)));
    let mem = find(&v, "Memory");
    assert!(why(&mem.e).contains("EDAC"), "{}", why(&mem.e));
    // One NUMA node: no node rows.
    assert!(!v.iter().any(|r| r.resource.kind == Kind::Numa));
    // No threads-max: pid_max alone, 120 of 32768.
    let tasks = find(&v, "Tasks");
    assert!(
        matches!(tasks.u.figure, Figure::Capacity { pct, max: 32768 } if close(pct, 120.0 * 100.0 / 32768.0))
    );
    // The old softnet format without CPU numbers: cpu2 dropped 4, matched by position.
    assert_eq!(
        find(&v, "Softnet").e.reason,
        Some(Reason::SoftnetDrops { n: 4, cpu: Some(2) })
    );
}

/// The overview folds the groups (disks, filesystems, interfaces, NUMA nodes) to fit the
/// rows it has, each keeping one row; a tall terminal lists every member.
#[test]
fn rows_fold_to_fit_and_unfold_with_room() {
    let s = snapshot("checklist");
    let th = Thresholds::default();
    // 11 single resources (CPU, steal, memory, softnet, TCP, sockets, slab, counters, files,
    // tasks, and the Cgroups row: none mounted in this tree) and groups: 2 NUMA nodes, 5
    // disks, 3 filesystems, 1 interface = 22 rows.
    let all = judge_fit(&s, &th, 100);
    assert_eq!(all.len(), 22);
    // Equally busy (0.5 %): the members before the dm and md devices built on them.
    let disks: Vec<String> = all
        .iter()
        .filter(|v| v.resource.kind == Kind::Disk)
        .map(|v| v.resource.to_string())
        .collect();
    assert_eq!(
        disks,
        ["Disk sda", "Disk sdb", "Disk sdc", "Disk dm-0", "Disk md0"]
    );
    // 15 rows: 11 single ones, one for each group.
    let folded = judge_fit(&s, &th, 15);
    assert_eq!(folded.len(), 15);
    let labels: Vec<String> = folded.iter().map(|v| v.resource.to_string()).collect();
    for want in [
        "NUMA nodes (2)",
        "Disks (5)",
        "FS (3)",
        "NIC eth0",
        "Files",
        "Tasks",
        "Cgroups",
    ] {
        assert!(labels.iter().any(|l| l == want), "{want}: {labels:?}");
    }
    // The summary keeps the worst figure and its level: node0's 10 % misses, /home's errors.
    assert_eq!(find(&folded, "NUMA nodes (2)").s.level, Level::Warn);
    assert_eq!(find(&folded, "FS (3)").e.figure, Figure::FsErrors(3));
    assert_eq!(find(&folded, "FS (3)").e.level, Level::Crit);
    // Two more rows go to the groups in turn: disks, then filesystems.
    let more = judge_fit(&s, &th, 17);
    assert_eq!(more.len(), 17);
    assert!(
        more.iter()
            .any(|v| v.resource.instance == Instance::Rest(4))
    );
    assert!(more.iter().any(|v| v.resource.to_string() == "FS +2"));
}

/// A stacked device's I/O errors are its members' again: a summary row counts only the
/// bottom of each stack (sda, not the dm-0 built on its partition).
#[test]
fn stacked_devices_are_not_counted_twice_in_a_summary() {
    let dir = tempfile::tempdir().unwrap();
    let mut roots = Vec::new();
    for (t, n) in [(0, 1), (1, 4)] {
        let to = dir.path().join(format!("t{t}"));
        common::copy_tree(&common::fixtures().join(format!("checklist/t{t}")), &to);
        for dev in ["sda", "dm-0"] {
            let d = to.join(format!("sys/block/{dev}/device"));
            std::fs::create_dir_all(&d).unwrap();
            std::fs::write(d.join("ioerr_cnt"), format!("{n:#x}\n")).unwrap();
        }
        roots.push(ProcRoot::new(to.join("proc"), to.join("sys")));
    }
    let s = snapshot_of(roots);
    let th = Thresholds::default();
    let folded = judge_fit(&s, &th, 14);
    let disks = find(&folded, "Disks (5)");
    // sda +3, dm-0 +3 on top of it: 3 errors, not 6.
    assert_eq!(disks.e.figure, Figure::IoErrors(3));
    assert_eq!(disks.e.level, Level::Crit);
}

macro_rules! overview_snapshots {
    ($($name:ident: $fixture:expr,)*) => {$(
        #[test]
        fn $name() {
            let small = headless($fixture, PaneId::Use, 80, 24, "");
            for line in small.lines() {
                assert!(unicode_width::UnicodeWidthStr::width(line) <= 80, "{line}");
            }
            insta::assert_snapshot!(concat!(stringify!($name), "_80x24"), small);
            insta::assert_snapshot!(concat!(stringify!($name), "_160x50"), headless($fixture, PaneId::Use, 160, 50, ""));
        }
    )*};
}

overview_snapshots! {
    overview_healthy: "checklist_ok",
    overview_problems: "checklist",
    overview_vm: "checklist_bare",
}

macro_rules! pane_snapshots {
    ($($name:ident: $fixture:expr, $pane:expr;)*) => {$(
        #[test]
        fn $name() {
            let small = headless($fixture, $pane, 80, 24, "");
            for line in small.lines() {
                assert!(unicode_width::UnicodeWidthStr::width(line) <= 80, "{line}");
            }
            insta::assert_snapshot!(concat!(stringify!($name), "_80x24"), small);
            insta::assert_snapshot!(concat!(stringify!($name), "_160x50"), headless($fixture, $pane, 160, 50, ""));
        }
    )*};
}

pane_snapshots! {
    cpu_pane_problems: "checklist", PaneId::Cpu;
    mem_pane_problems: "checklist", PaneId::Mem;
    disk_pane_problems: "checklist", PaneId::Disk;
    net_pane_problems: "checklist", PaneId::Net;
    cpu_pane_vm: "checklist_bare", PaneId::Cpu;
    mem_pane_vm: "checklist_bare", PaneId::Mem;
}

/// The panes say what the overview's cells sum up: the CPU, the sensor, the node, the
/// stack, the CPU whose backlog dropped packets.
#[test]
fn panes_show_the_figures_where_the_resource_lives() {
    let cpu = headless("checklist", PaneId::Cpu, 160, 50, "");
    for want in [
        "steal 2.5%",
        "rq lat 255 ms/s (cpu3 200)",
        "MCE 2 (3 total)",
        "throttle core 3 pkg 2",
        "MHz 2000 (800-3600, hw 800-4000)",
        "Package id 0 88°C (crit 100)",
        "rq ms/s MHz",
    ] {
        assert!(cpu.contains(want), "{want}:\n{cpu}");
    }
    // cpu3's own line: 200 ms/s of waiting, at 1200 MHz.
    assert!(
        cpu.lines()
            .any(|l| l.starts_with("3 ") && l.contains("200.0") && l.ends_with("1200")),
        "{cpu}"
    );
    let mem = headless("checklist", PaneId::Mem, 80, 24, "");
    for want in [
        "EDAC ce 2 ue 0 (7 / 1 since boot)",
        "node0 8.0G    6.0G",
        "oom_kill 1",
    ] {
        assert!(mem.contains(want), "{want}:\n{mem}");
    }
    let vm = headless("checklist_bare", PaneId::Mem, 80, 24, "");
    assert!(vm.contains("EDAC n/a (no EDAC driver"), "{vm}");
    assert!(vm.contains("NUMA n/a (one NUMA node)"), "{vm}");
    assert!(vm.contains("sysctl kernel.task_delayacct=1"), "{vm}");
    let disk = headless("checklist", PaneId::Disk, 80, 24, "");
    assert!(
        disk.contains("dm-0 (vg-root) on sda2, md0 on sdb+sdc"),
        "{disk}"
    );
    assert!(
        disk.lines()
            .any(|l| l.starts_with("/home ") && l.trim_end().ends_with(" 3")),
        "{disk}"
    );
    let net = headless("checklist", PaneId::Net, 80, 24, "");
    for want in [
        "softnet pkt/s 1032  dropped 3  squeezed/s 5.00",
        "cpu0 1000/s drop 3 sq 5",
        "eth0 errors/s: rx_missed 4  rx_over 1  rx_crc 3  rx_length 2  rx_frame 1",
    ] {
        assert!(net.contains(want), "{want}:\n{net}");
    }
}
