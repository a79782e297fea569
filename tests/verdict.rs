//! The USE verdicts of the model over the fixture trees: which resources are judged, in what
//! order, at what level and why (as typed reasons, not text), and that a snapshot keeps its
//! verdicts for the thresholds it was asked with.

mod common;

use std::sync::Arc;
use std::time::Duration;

use common::fixture_roots;
use usetop::app::config::{Band, Thresholds};
use usetop::collectors::{Collectors, Request, VirtualClock};
use usetop::model::Level;
use usetop::model::Snapshot;
use usetop::model::verdict::{Figure, Instance, Kind, Missing, Reason, Verdict};
use usetop::panes::PaneId;
use usetop::timeline::Timeline;

/// The viewed snapshot after every sample of a fixture sequence, 1 s apart.
fn snapshot(fixture: &str) -> Arc<Snapshot> {
    let mut tl = Timeline::new(10);
    let mut clock = VirtualClock::new();
    for root in fixture_roots(fixture) {
        tl.push(Collectors::new(root).sample(&clock, Request::default()));
        clock.advance(Duration::from_secs(1));
    }
    Arc::clone(tl.snapshot().expect("a snapshot"))
}

fn find<'a>(v: &'a [Verdict], label: &str) -> &'a Verdict {
    v.iter()
        .find(|v| v.resource.to_string() == label)
        .unwrap_or_else(|| panic!("no verdict for {label}: {v:#?}"))
}

fn close(got: f64, want: f64) -> bool {
    (got - want).abs() < 1e-9
}

#[test]
fn basic_fixture_levels_and_reasons() {
    let s = snapshot("basic");
    let v = s.verdicts(&Thresholds::default());
    let labels: Vec<String> = v.iter().map(|v| v.resource.to_string()).collect();
    assert_eq!(
        labels,
        [
            "CPU (3)",
            "CPU steal",
            "Memory",
            "Disk vda",
            // Equally idle: by name, so the order holds from one refresh to the next.
            "Disk sr0",
            "Disk vdb",
            "FS /data",
            "FS /",
            "NIC eth0",
            "NIC wlan0",
            "Softnet",
            "TCP",
            "TCP sockets",
            "Slab",
            "CPU counters",
            "Files",
            "Tasks",
            // No cgroup hierarchy in the fixture: one row saying so.
            "Cgroups",
        ]
    );
    // Every verdict opens a pane that exists.
    for x in v.iter() {
        assert!(
            PaneId::all().any(|p| p.name() == x.pane),
            "{}: no pane {}",
            x.resource,
            x.pane
        );
    }

    let cpu = find(&v, "CPU (3)");
    assert_eq!(cpu.resource.instance, Instance::Count(3));
    assert_eq!(cpu.pane, "cpu");
    // cpu2 is 100% busy while the three average 66% (under the 70% yellow band): the cell
    // names it, red.
    assert_eq!(cpu.u.level, Level::Crit);
    assert!(
        matches!(cpu.u.reason, Some(Reason::PeggedCpu { cpu: 2, busy, avg, ncpu: 3 }) if close(busy, 100.0) && close(avg, 66.0)),
        "{:?}",
        cpu.u.reason
    );
    // 5 runnable on 3 CPUs is 1.67 per CPU: yellow, and PSI (not the queue) is named.
    assert_eq!(cpu.s.level, Level::Warn);
    assert_eq!(
        cpu.s.reason,
        Some(Reason::CpuQueue {
            running: 5,
            ncpu: 3,
            psi: Some(10.0),
            by_runq: false
        })
    );
    // No /proc/interrupts and no thermal_throttle in this tree: n/a, and why.
    assert_eq!(cpu.e.figure, Figure::NotAvailable);
    assert!(
        matches!(
            &cpu.e.reason,
            Some(Reason::NotAvailable(Missing::Checklist(_)))
        ),
        "{:?}",
        cpu.e.reason
    );

    // The OOM kill is saturation in the checklist, and red; the errors are EDAC's (none here).
    let mem = find(&v, "Memory");
    assert_eq!(mem.s.level, Level::Crit);
    assert_eq!(mem.s.reason, Some(Reason::OomKills(1)));
    assert_eq!(mem.e.figure, Figure::NotAvailable);

    // The busiest disk carries PSI io; the others do not.
    let vda = find(&v, "Disk vda");
    assert_eq!(vda.pane, "disk");
    assert_eq!(vda.resource.name(), Some("vda"));
    assert_eq!(vda.u.level, Level::Warn);
    assert_eq!(vda.s.reason, Some(Reason::IoStall(3.0)));
    assert!(matches!(vda.s.figure, Figure::DiskQueue { psi: Some(p), .. } if p == 3.0));
    assert!(matches!(
        find(&v, "Disk vdb").s.figure,
        Figure::DiskQueue { psi: None, .. }
    ));

    let data = find(&v, "FS /data");
    assert_eq!(data.u.level, Level::Crit);
    assert!(
        matches!(&data.u.reason, Some(Reason::FsFull { mount, pct }) if mount == "/data" && pct.round() == 95.0)
    );

    let eth0 = find(&v, "NIC eth0");
    assert_eq!(eth0.s.level, Level::Warn);
    assert_eq!(
        eth0.s.reason,
        Some(Reason::NicDrops {
            rx_s: 3.0,
            tx_s: 1.0,
            fifo_s: 1.0
        })
    );
    // No link speed: traffic instead of %util, and nothing to judge.
    let wlan = find(&v, "NIC wlan0");
    assert!(matches!(wlan.u.figure, Figure::NicTraffic(_)));
    assert_eq!((wlan.u.level, &wlan.u.reason), (Level::Unknown, &None));

    let tcp = find(&v, "TCP");
    assert_eq!(tcp.s.level, Level::Crit);
    assert_eq!(
        tcp.s.reason,
        Some(Reason::TcpRetrans {
            segs_s: 100.0,
            pct: 5.0,
            worst: None,
        })
    );

    let socks = find(&v, "TCP sockets");
    assert_eq!(
        socks.cells().map(|c| c.reason.clone()),
        [(); 3].map(|_| Some(Reason::NotAvailable(Missing::NoCaptures)))
    );

    let slab = find(&v, "Slab");
    assert!(matches!(&slab.s.reason, Some(Reason::CacheGrowth { cache, .. }) if cache == "dentry"));
    assert_eq!(
        slab.e.reason,
        Some(Reason::NotAvailable(Missing::NoSlabErrorCounters))
    );
}

#[test]
fn many_devices_are_summarised_worst_first() {
    let s = snapshot("disknet_big");
    let v = s.verdicts(&Thresholds::default());
    let disks: Vec<&Verdict> = v.iter().filter(|v| v.resource.kind == Kind::Disk).collect();
    // sdc has I/O errors: red, so before the busier disks.
    assert_eq!(disks[0].resource.name(), Some("sdc"));
    assert_eq!(disks[0].e.level, Level::Crit);
    assert_eq!(disks[0].e.reason, Some(Reason::IoErrors(2)));
    assert_eq!(disks[3].resource.instance, Instance::Rest(27));
    assert_eq!(disks.len(), 4);
    let nic_rest = v
        .iter()
        .find(|v| v.resource.kind == Kind::Nic && matches!(v.resource.instance, Instance::Rest(_)))
        .expect("a NIC summary");
    assert_eq!(nic_rest.u.reason, Some(Reason::MoreInterfaces(17)));
    assert_eq!(find(&v, "FS +5").u.figure, Figure::FsRest(74.0));
}

#[test]
fn missing_sources_say_why() {
    let s = snapshot("disknet_empty");
    let v = s.verdicts(&Thresholds::default());
    assert_eq!(
        find(&v, "Disks").u.reason,
        Some(Reason::NotAvailable(Missing::NoBlockDevices))
    );
    let nics = find(&v, "NICs");
    assert_eq!(nics.u.level, Level::Unknown);
    assert!(
        matches!(&nics.u.reason, Some(Reason::NotAvailable(Missing::Note(n))) if n.ends_with("proc/net/dev: not found")),
        "{nics:?}"
    );
    assert_eq!(
        find(&v, "Slab").u.reason,
        Some(Reason::NotAvailable(Missing::Unreadable("slabinfo")))
    );
}

#[test]
fn verdicts_are_kept_for_the_thresholds_asked() {
    let s = snapshot("basic");
    let th = Thresholds::default();
    let a = s.verdicts(&th);
    assert!(Arc::ptr_eq(&a, &s.verdicts(&th)), "derived twice");
    // Other thresholds judge again: CPU 66% busy is red from 60%.
    let strict = Thresholds {
        cpu_util: Band {
            warn: 50.0,
            crit: 60.0,
        },
        ..Thresholds::default()
    };
    let b = s.verdicts(&strict);
    assert!(!Arc::ptr_eq(&a, &b));
    // By default cpu2, pegged under a low average, is named; with the stricter band the
    // average itself is red.
    assert!(matches!(a[0].u.reason, Some(Reason::PeggedCpu { .. })));
    assert_eq!(b[0].u.level, Level::Crit);
    assert!(matches!(b[0].u.reason, Some(Reason::CpuBusy { crit, .. }) if crit == 60.0));
    assert!(Arc::ptr_eq(&b, &s.verdicts(&strict)));
    // Back to the first thresholds: the same verdicts as before.
    assert_eq!(*a, *s.verdicts(&th));
}

/// Idle loop, ram and zram devices never take the overview's disk rows from real disks
/// (before, diskstats order put loop0–2 in the three rows and folded vda into "+N").
#[test]
fn real_disks_rank_before_loop_and_ram_devices() {
    let dir = tempfile::tempdir().unwrap();
    let src = common::fixtures().join("basic");
    let status = std::process::Command::new("cp")
        .arg("-r")
        .arg(&src)
        .arg(dir.path())
        .status()
        .unwrap();
    assert!(status.success());
    let base = dir.path().join("basic");
    // Devices that did a little I/O (one read each in the interval): listed, but idle.
    for (t, reads) in [("t0", 10), ("t1", 11)] {
        let p = base.join(t).join("proc/diskstats");
        let old = std::fs::read_to_string(&p).unwrap();
        let dev = |maj: u32, min: u32, name: &str| {
            format!(
                " {maj} {min} {name} {reads} 0 {} 0 0 0 0 0 0 0 0\n",
                reads * 8
            )
        };
        let lines = [
            dev(7, 0, "loop0"),
            dev(7, 1, "loop1"),
            dev(7, 2, "loop2"),
            dev(1, 0, "ram0"),
        ];
        std::fs::write(&p, format!("{}{old}", lines.concat())).unwrap();
        // Whole devices have a /sys/block entry (partitions do not).
        for name in ["loop0", "loop1", "loop2", "ram0"] {
            let d = base.join(t).join("sys/block").join(name);
            std::fs::create_dir_all(&d).unwrap();
            std::fs::write(d.join("dev"), "7:0\n").unwrap();
        }
    }
    let mut tl = Timeline::new(10);
    let mut clock = VirtualClock::new();
    for t in ["t0", "t1"] {
        let root =
            usetop::collectors::ProcRoot::new(base.join(t).join("proc"), base.join(t).join("sys"));
        tl.push(Collectors::new(root).sample(&clock, Request::default()));
        clock.advance(Duration::from_secs(1));
    }
    let snap = tl.snapshot().unwrap();
    let v = snap.verdicts(&Thresholds::default());
    let disks: Vec<String> = v
        .iter()
        .filter(|v| v.resource.kind == Kind::Disk)
        .map(|v| v.resource.to_string())
        .collect();
    assert!(disks.len() == 4 && disks[3] == "Disk +4", "{disks:?}");
    for d in &disks[..3] {
        assert!(
            !d.contains("loop") && !d.contains("ram"),
            "an idle loop/ram device took a row: {disks:?}"
        );
    }
}
