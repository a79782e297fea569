//! The disk verdict on the `disk_kinds` fixture (make_disknet.py): a spinning disk, a SATA
//! SSD, an NVMe namespace and a zram device, every one busy (io_ticks) the whole second.
//! A spinning disk is judged by %util; a device that serves requests in parallel by its
//! queue (aqu-sz) against its queue depth, with %util kept as information.

mod common;

use std::sync::Arc;
use std::time::Duration;

use common::{fixture_roots, fixtures, headless};
use usetop::app::config::Thresholds;
use usetop::app::source::{RootsSource, SampleSource};
use usetop::collectors::ProcRoot;
use usetop::collectors::disk::DiskCollector;
use usetop::model::Snapshot;
use usetop::model::disk::{Basis, DiskBands, Grade, verdict};
use usetop::panes::PaneId;
use usetop::panes::use_pane::{UseRow, text_rows};
use usetop::theme::Level;

fn snap() -> Snapshot {
    let mut src = RootsSource::new(fixture_roots("disk_kinds"), Duration::from_secs(1), true);
    let a = src.next_sample(0, Default::default()).unwrap();
    let b = src.next_sample(1, Default::default()).unwrap();
    Snapshot::derive(1, Some(Arc::new(a)), Arc::new(b))
}

fn bands() -> DiskBands {
    let th = Thresholds::default();
    DiskBands {
        util: (th.disk_util.warn, th.disk_util.crit),
        queue: (th.disk_aqu.warn, th.disk_aqu.crit),
    }
}

fn row<'a>(rows: &'a [UseRow], name: &str) -> Option<&'a UseRow> {
    rows.iter().find(|r| r.resource == format!("Disk {name}"))
}

#[test]
fn kinds_come_from_sys_block() {
    let s = snap();
    let k: Vec<_> = s
        .cur
        .disk_kinds
        .iter()
        .map(|k| (k.name.as_str(), k.rotational, k.queue_depth))
        .collect();
    assert_eq!(
        k,
        [
            // device/queue_depth before queue/nr_requests
            ("sda", Some(true), Some(32)),
            ("sdb", Some(false), Some(32)),
            ("nvme0n1", Some(false), Some(1023)),
            ("zram0", Some(false), None),
        ]
    );
}

#[test]
fn each_kind_gets_its_own_verdict() {
    let s = snap();
    let b = bands();
    let dev = |n: &str| s.disk.devices.iter().find(|d| d.name == n).unwrap();
    for d in &s.disk.devices {
        assert!((d.util - 100.0).abs() < 1e-9, "{} util {}", d.name, d.util);
    }
    // A spinning disk busy all the time is full.
    let v = verdict(dev("sda"), &b);
    assert_eq!((v.basis, v.u, v.s), (Basis::Util, Grade::Crit, Grade::Warn));
    // NVMe: 4 requests in flight of 1023 it takes at once. 100% util says only that it
    // was never idle.
    let v = verdict(dev("nvme0n1"), &b);
    assert_eq!(v.basis, Basis::Queue { depth: 1023 });
    assert_eq!((v.u, v.s), (Grade::Ok, Grade::Ok));
    assert!((v.u_pct - 4.0 * 100.0 / 1023.0).abs() < 1e-9);
    assert!(
        v.u_why(&b).contains("%util 100 is information only"),
        "{}",
        v.u_why(&b)
    );
    // SATA SSD with 40 in flight against a depth of 32: 8 wait outside the device.
    let v = verdict(dev("sdb"), &b);
    assert_eq!(v.basis, Basis::Queue { depth: 32 });
    assert_eq!((v.u, v.s), (Grade::Crit, Grade::Crit));
    assert!((v.waiting - 8.0).abs() < 1e-9);
    assert!(v.s_why(&b).contains("beyond the queue depth of 32"));
    // Says it is not rotational but gives no depth: judged by %util.
    let v = verdict(dev("zram0"), &b);
    assert_eq!((v.basis, v.u), (Basis::Util, Grade::Crit));
}

#[test]
fn the_overview_does_not_call_a_busy_nvme_full() {
    let s = snap();
    let rows = text_rows(&s, &Thresholds::default());
    let level = |name: &str| match row(&rows, name) {
        Some(r) => r.u.level,
        // Past the first three devices, the summary row stands for the rest.
        None => {
            rows.iter()
                .find(|r| r.resource.starts_with("Disk +"))
                .unwrap_or_else(|| panic!("{name} not in {rows:#?}"))
                .u
                .level
        }
    };
    assert_eq!(level("nvme0n1"), Level::Ok, "{rows:#?}");
    assert_eq!(level("sda"), Level::Crit);
    assert_eq!(level("sdb"), Level::Crit);
    let sdb = row(&rows, "sdb").unwrap();
    assert!(sdb.u.text.contains("of qd 32"), "{:?}", sdb.u);
    assert_eq!(sdb.s.level, Level::Crit);
    let sda = row(&rows, "sda").unwrap();
    assert_eq!(sda.u.text, "100.0% util");
}

#[test]
fn the_help_says_why() {
    let out = headless("disk_kinds", PaneId::Use, 80, 24, "?");
    assert!(out.contains("serve requests in parallel"), "{out}");
    assert!(out.contains("share"), "{out}");
}

#[test]
fn sys_is_asked_once_per_device() {
    // The kind is read when a device is first seen: a later change in /sys (or a /sys that
    // is no longer readable) does not cost a read per sample, and the list is shared.
    let dir = tempfile::tempdir().unwrap();
    let src = fixtures().join("disk_kinds/t0");
    let sys = dir.path().join("sys");
    for n in ["sda", "nvme0n1"] {
        let d = sys.join("block").join(n).join("queue");
        std::fs::create_dir_all(&d).unwrap();
        for f in ["rotational", "nr_requests"] {
            std::fs::copy(
                src.join("sys/block").join(n).join("queue").join(f),
                d.join(f),
            )
            .unwrap();
        }
    }
    let root = ProcRoot::new(src.join("proc"), sys.clone());
    let mut c = DiskCollector::new(&root);
    let mut notes = Vec::new();
    let _ = c.sample(&mut notes);
    let first = c.kinds();
    std::fs::write(sys.join("block/nvme0n1/queue/rotational"), "1\n").unwrap();
    let _ = c.sample(&mut notes);
    let second = c.kinds();
    assert!(Arc::ptr_eq(&first, &second));
    let nvme = second.iter().find(|k| k.name == "nvme0n1").unwrap();
    assert_eq!(nvme.rotational, Some(false));
}
