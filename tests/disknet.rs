//! Disks and network: parsers on the kernel's field-count variants, agreement with the
//! iostat -x and sar -n formulas (written out here from their man pages and sysstat's
//! source), devices that come and go, counter wrap, bad input, and headless snapshots.

mod common;

use std::sync::Arc;

use common::{fixture_roots, headless, options};
use usetop::app::App;
use usetop::collectors::disk::parse_diskstats;
use usetop::collectors::net::parse_net_dev;
use usetop::collectors::{Collectors, Request, VirtualClock};
use usetop::model::disk::{self, DiskSample, DiskStat};
use usetop::model::net::{self, Duplex, IfaceStat, NetSample};
use usetop::panes::PaneId;

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() <= 1e-9 * b.abs().max(1.0)
}

fn stat(line: &str) -> DiskStat {
    parse_diskstats(line.as_bytes()).unwrap().devices.remove(0)
}

/// iostat -x, from sysstat's `compute_ext_disk_stats` and `write_ext_stat`, over `itv`
/// seconds: every rate is Δcounter / itv; averages divide by the requests completed.
fn iostat_reference(p: &DiskStat, c: &DiskStat, itv: f64) -> [f64; 14] {
    let d = |a: u64, b: u64| (b - a) as f64;
    let (rd_ios, wr_ios) = (d(p.rd_ios, c.rd_ios), d(p.wr_ios, c.wr_ios));
    let (rd_sec, wr_sec) = (d(p.rd_sectors, c.rd_sectors), d(p.wr_sectors, c.wr_sectors));
    let (rd_m, wr_m) = (d(p.rd_merges, c.rd_merges), d(p.wr_merges, c.wr_merges));
    let or0 = |n: f64, m: f64| if m > 0.0 { n / m } else { 0.0 };
    [
        rd_ios / itv,                             // r/s
        wr_ios / itv,                             // w/s
        rd_sec / itv / 2.0,                       // rkB/s: sectors are 512 bytes
        wr_sec / itv / 2.0,                       // wkB/s
        rd_m / itv,                               // rrqm/s
        wr_m / itv,                               // wrqm/s
        or0(rd_m * 100.0, rd_m + rd_ios),         // %rrqm
        or0(wr_m * 100.0, wr_m + wr_ios),         // %wrqm
        or0(d(p.rd_ticks, c.rd_ticks), rd_ios),   // r_await (ms)
        or0(d(p.wr_ticks, c.wr_ticks), wr_ios),   // w_await
        d(p.rq_ticks, c.rq_ticks) / itv / 1000.0, // aqu-sz
        or0(rd_sec / 2.0, rd_ios),                // rareq-sz (kB)
        or0(wr_sec / 2.0, wr_ios),                // wareq-sz
        d(p.io_ticks, c.io_ticks) / itv / 10.0,   // %util = Δio_ticks(ms) / (itv·1000) · 100
    ]
}

#[test]
fn iostat_agreement_on_14_18_20_field_lines() {
    let pairs = [
        (
            "8 0 sda 1000 50 80000 4000 2000 300 160000 9000 0 12000 13000",
            "8 0 sda 1250 70 92000 4900 2500 360 180000 11500 4 12400 14500",
        ),
        (
            "8 0 sda 1000 50 80000 4000 2000 300 160000 9000 0 12000 13000 10 0 800 20",
            "8 0 sda 1000 50 80000 4000 2712 301 169000 9999 1 12999 13999 18 2 1900 55",
        ),
        (
            "259 0 nvme0n1 1 0 8 1 2 0 16 1 0 2 3 0 0 0 0 100 7",
            "259 0 nvme0n1 40001 9 320008 20001 2 0 16 1 9 1502 40003 0 0 0 0 160 37",
        ),
    ];
    for (itv, (a, b)) in [(1.0, pairs[0]), (2.0, pairs[1]), (1.5, pairs[2])] {
        let (p, c) = (stat(a), stat(b));
        let got = disk::device_figures(&p, &c, itv).unwrap();
        let want = iostat_reference(&p, &c, itv);
        let ours = [
            got.r_s,
            got.w_s,
            got.rkb_s,
            got.wkb_s,
            got.rrqm_s,
            got.wrqm_s,
            got.pct_rrqm,
            got.pct_wrqm,
            got.r_await,
            got.w_await,
            got.aqu_sz,
            got.rareq_sz,
            got.wareq_sz,
            got.util,
        ];
        for (i, (o, w)) in ours.iter().zip(want).enumerate() {
            assert!(
                close(*o, w),
                "{a} -> {b}: column {i}: usetop {o}, iostat {w}"
            );
        }
    }
    // d/s, f/s and their awaits exist only where the kernel prints them.
    let (p, c) = (stat(pairs[1].0), stat(pairs[1].1));
    let g = disk::device_figures(&p, &c, 2.0).unwrap();
    assert_eq!(g.d_s, Some(4.0));
    assert_eq!(g.dkb_s, Some(275.0));
    assert_eq!(g.d_await, Some(35.0 / 8.0));
    assert_eq!(g.f_s, None);
    let (p, c) = (stat(pairs[2].0), stat(pairs[2].1));
    let g = disk::device_figures(&p, &c, 1.5).unwrap();
    assert_eq!(g.f_s, Some(40.0));
    assert_eq!(g.f_await, Some(0.5));
    let (p, c) = (stat(pairs[0].0), stat(pairs[0].1));
    assert_eq!(disk::device_figures(&p, &c, 1.0).unwrap().d_s, None);
}

#[test]
fn diskstats_32_bit_wrap_and_reset() {
    let max = u64::from(u32::MAX);
    let p = stat(&format!(
        "8 0 sda 10 0 80 5 {} 0 16 1 0 {} {}",
        max - 9,
        max - 99,
        max - 999
    ));
    let c = stat("8 0 sda 20 0 160 10 10 0 32 2 0 400 1000");
    let g = disk::device_figures(&p, &c, 1.0).unwrap();
    assert_eq!(g.w_s, 20.0);
    assert!(close(g.util, 50.0), "io_ticks wrapped: {}", g.util);
    assert!(close(g.aqu_sz, 2.0), "rq_ticks wrapped: {}", g.aqu_sz);
    // A counter that falls far (device re-created) is a reset: no rates, never a huge one.
    let reset = stat("8 0 sda 1 0 8 1 0 0 0 0 0 1 1");
    let big = stat("8 0 sda 1000000000 0 8 1 0 0 0 0 0 1 1");
    assert!(disk::device_figures(&big, &reset, 1.0).is_none());
}

#[test]
fn devices_that_appear_and_vanish() {
    let prev = DiskSample {
        devices: vec![
            stat("8 0 sda 1 0 8 1 0 0 0 0 0 1 1"),
            stat("8 16 sdb 1 0 8 1 0 0 0 0 0 1 1"),
        ],
        psi: None,
    };
    let cur = DiskSample {
        devices: vec![
            stat("8 0 sda 2 0 16 1 0 0 0 0 0 2 2"),
            stat("8 32 sdc 9 0 72 1 0 0 0 0 0 9 9"),
        ],
        psi: None,
    };
    let f = disk::derive(Some(&prev), &cur, 1.0);
    assert_eq!(f.devices.len(), 1);
    assert_eq!(f.devices[0].name, "sda");
    assert_eq!(f.fresh, vec!["sdc".to_string()]);
    assert_eq!(f.gone, vec!["sdb".to_string()]);
    // A name reused by another device number is a new device.
    let cur2 = DiskSample {
        devices: vec![stat("8 48 sda 9 0 8 1 0 0 0 0 0 1 1")],
        psi: None,
    };
    assert_eq!(
        disk::derive(Some(&prev), &cur2, 1.0).fresh,
        vec!["sda".to_string()]
    );
}

fn iface(line: &str) -> IfaceStat {
    parse_net_dev(line.as_bytes()).unwrap().ifaces.remove(0).1
}

#[test]
fn sar_dev_edev_agreement_and_ifutil() {
    let p = iface("eth0: 1000000 1000 1 2 3 4 5 6 500000 800 7 8 9 10 11 12");
    let mut c = iface("eth0: 7250000 6000 3 5 4 8 9 16 1750000 1800 8 18 11 13 21 14");
    c.speed_mbps = Some(100);
    c.duplex = Some(Duplex::Full);
    let itv = 2.0;
    let g = net::nic_figures(&p, &c, itv).unwrap();
    let d = |a: u64, b: u64| (b - a) as f64 / itv;
    // sar -n DEV: rxpck/s txpck/s rxkB/s txkB/s rxcmp/s txcmp/s rxmcst/s (kB = 1024 bytes).
    assert!(close(g.rxpck_s, d(1000, 6000)));
    assert!(close(g.txpck_s, d(800, 1800)));
    assert!(close(g.rxkb_s, d(1_000_000, 7_250_000) / 1024.0));
    assert!(close(g.txkb_s, d(500_000, 1_750_000) / 1024.0));
    assert!(
        close(g.rxcmp_s, d(5, 9)) && close(g.txcmp_s, d(12, 14)) && close(g.rxmcst_s, d(6, 16))
    );
    // sar -n EDEV: rxerr/s txerr/s coll/s rxdrop/s txdrop/s txcarr/s rxfram/s rxfifo/s txfifo/s.
    let edev = [
        g.rxerr_s, g.txerr_s, g.coll_s, g.rxdrop_s, g.txdrop_s, g.txcarr_s, g.rxfram_s, g.rxfifo_s,
        g.txfifo_s,
    ];
    let want = [
        d(1, 3),
        d(7, 8),
        d(10, 13),
        d(2, 5),
        d(8, 18),
        d(11, 21),
        d(4, 8),
        d(3, 4),
        d(9, 11),
    ];
    for (o, w) in edev.iter().zip(want) {
        assert!(close(*o, w), "{edev:?} vs {want:?}");
    }
    // %ifutil (sysstat compute_ifutil): full duplex = max(rx, tx) bytes/s · 800 / (speed·10^6).
    let rx_bps = d(1_000_000, 7_250_000);
    assert!(
        close(g.util.unwrap(), rx_bps * 800.0 / 100e6),
        "{:?}",
        g.util
    );
    // nicstat rAvs/wAvs: bytes per packet.
    assert!(close(g.rx_avg, 6_250_000.0 / 5000.0));
    // Half duplex: both directions share the link.
    c.duplex = Some(Duplex::Half);
    let h = net::nic_figures(&p, &c, itv).unwrap();
    assert!(close(
        h.util.unwrap(),
        (rx_bps + d(500_000, 1_750_000)) * 800.0 / 100e6
    ));
}

#[test]
fn interface_with_unknown_speed_has_no_util() {
    let p = iface("tun0: 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0");
    let c = iface("tun0: 1024 1 0 0 0 0 0 0 0 0 0 0 0 0 0 0");
    let g = net::nic_figures(&p, &c, 1.0).unwrap();
    assert_eq!(g.util, None);
    assert_eq!(g.rxkb_s, 1.0);
}

#[test]
fn nic_32_bit_counter_wrap() {
    let max = u64::from(u32::MAX);
    let p = iface(&format!(
        "eth0: {} 10 0 0 0 0 0 0 0 0 0 0 0 0 0 0",
        max - 1023
    ));
    let c = iface("eth0: 1024 20 0 0 0 0 0 0 0 0 0 0 0 0 0 0");
    assert_eq!(net::nic_figures(&p, &c, 1.0).unwrap().rxkb_s, 2.0);
}

#[test]
fn sar_tcp_etcp_udp_from_the_basic_fixture() {
    let roots = fixture_roots("basic");
    let mut clock = VirtualClock::new();
    let mut c0 = Collectors::new(roots[0].clone());
    let mut c1 = Collectors::new(roots[1].clone());
    let s0 = Arc::new(c0.sample(&clock, Request::default()));
    clock.advance(std::time::Duration::from_secs(1));
    let s1 = Arc::new(c1.sample(&clock, Request::default()));
    let snap = usetop::model::Snapshot::derive(1, Some(s0), s1);
    let t = snap.net.tcp.unwrap();
    // Counter deltas over one second, as the generator writes them.
    assert_eq!(
        (t.active_s, t.passive_s, t.atmptf_s, t.estres_s),
        (10.0, 5.0, 2.0, 3.0)
    );
    assert_eq!(
        (t.iseg_s, t.oseg_s, t.retrans_s, t.isegerr_s, t.orsts_s),
        (2000.0, 2000.0, 100.0, 1.0, 10.0)
    );
    assert_eq!(t.curr_estab, 14);
    let u = snap.net.udp.unwrap();
    assert_eq!(
        (u.idgm_s, u.noport_s, u.idgmerr_s, u.odgm_s, u.rcvbuferr_s),
        (200.0, 4.0, 1.0, 200.0, 1.0)
    );
    let x = snap.net.tcp_ext.unwrap();
    assert_eq!(
        (x.listen_overflows_s, x.listen_drops_s, x.timeouts_s),
        (3.0, 4.0, 4.0)
    );
    let vda = snap.disk.devices.iter().find(|d| d.name == "vda").unwrap();
    assert_eq!(
        (vda.r_s, vda.w_s, vda.util, vda.aqu_sz),
        (100.0, 400.0, 65.0, 2.6)
    );
    assert_eq!((vda.d_s, vda.f_s), (Some(4.0), Some(40.0)));
    assert!(
        snap.disk
            .devices
            .iter()
            .any(|d| d.name == "vda1" && d.partition)
    );
    assert!(close(snap.disk.psi_some.unwrap(), 3.0));
    let eth0 = snap.net.ifaces.iter().find(|n| n.name == "eth0").unwrap();
    assert!(close(eth0.util.unwrap(), 50.0));
    let _ = NetSample::default();
}

#[test]
fn enter_on_overview_focuses_the_device() {
    let roots = fixture_roots("basic");
    let mut app = App::new(options(PaneId::Use));
    let mut clock = VirtualClock::new();
    for r in &roots {
        let mut c = Collectors::new(r.clone());
        app.push_sample(c.sample(&clock, Request::default()));
        clock.advance(std::time::Duration::from_secs(1));
    }
    let rows = app.snapshot().unwrap().verdicts(&app.thresholds);
    let vda = rows
        .iter()
        .position(|r| r.resource.to_string() == "Disk vda")
        .unwrap();
    let eth0 = rows
        .iter()
        .position(|r| r.resource.to_string() == "NIC eth0")
        .unwrap();
    let key = |c| ratatui::crossterm::event::KeyEvent::from(c);
    use ratatui::crossterm::event::KeyCode;
    for _ in 0..vda {
        app.handle_key(key(KeyCode::Down));
    }
    app.handle_key(key(KeyCode::Enter));
    assert_eq!(app.pane, PaneId::Disk);
    assert_eq!(
        app.pane_state::<usetop::panes::disk::DiskState>()
            .unwrap()
            .focus
            .as_deref(),
        Some("vda")
    );
    app.pane = PaneId::Use;
    for _ in vda..eth0 {
        app.handle_key(key(KeyCode::Down));
    }
    app.handle_key(key(KeyCode::Enter));
    assert_eq!(app.pane, PaneId::Net);
    assert_eq!(
        app.pane_state::<usetop::panes::net::NetState>()
            .unwrap()
            .focus
            .as_deref(),
        Some("eth0")
    );
}

macro_rules! snapshots {
    ($($name:ident: $fixture:expr, $pane:expr, $keys:expr;)*) => {$(
        #[test]
        fn $name() {
            insta::assert_snapshot!(concat!(stringify!($name), "_80x24"), headless($fixture, $pane, 80, 24, $keys));
            insta::assert_snapshot!(concat!(stringify!($name), "_160x50"), headless($fixture, $pane, 160, 50, $keys));
        }
    )*};
}

snapshots! {
    disk_pane: "basic", PaneId::Disk, "";
    disk_pane_all: "basic", PaneId::Disk, "a";
    net_pane: "basic", PaneId::Net, "";
    use_pane_disknet: "basic", PaneId::Use, "";
    big_use: "disknet_big", PaneId::Use, "";
    big_disk: "disknet_big", PaneId::Disk, "";
    big_net: "disknet_big", PaneId::Net, "";
    bad_disk: "disknet_bad", PaneId::Disk, "";
    bad_net: "disknet_bad", PaneId::Net, "";
    empty_use: "disknet_empty", PaneId::Use, "";
}

#[test]
fn big_overview_is_readable_at_80x24() {
    let out = headless("disknet_big", PaneId::Use, 80, 24, "");
    for line in out.lines() {
        assert!(unicode_width::UnicodeWidthStr::width(line) <= 80, "{line}");
    }
    // Every resource has a row: the worst devices one by one, the rest summarised.
    for want in [
        "CPU (64)",
        "Memory",
        "Disk sdc",
        "Disk +29",
        "FS /srv/5",
        "NIC eth11",
        "NIC +19",
        "TCP",
    ] {
        assert!(out.contains(want), "missing {want}:\n{out}");
    }
    // The red cells explain themselves.
    assert!(out.contains("! Disk sdc: 2 I/O errors"), "{out}");
}

#[test]
fn bad_input_says_what_it_could_not_read() {
    let disk = headless("disknet_bad", PaneId::Disk, 160, 24, "");
    assert!(disk.contains("sda"), "{disk}");
    assert!(disk.contains("some diskstats lines unreadable"), "{disk}");
    let net = headless("disknet_bad", PaneId::Net, 160, 24, "");
    assert!(!net.contains('\x1b'), "escape reached the screen");
    assert!(net.contains("/sys/class/net unreadable"), "{net}");
    assert!(net.contains("TCP: n/a"), "{net}");
    let help = headless("disknet_bad", PaneId::Net, 80, 50, "?");
    assert!(
        help.contains("net: ") && help.contains("skipped 1 line"),
        "{help}"
    );
    let empty = headless("disknet_empty", PaneId::Disk, 80, 24, "");
    assert!(empty.contains("no block devices"), "{empty}");
    let empty = headless("disknet_empty", PaneId::Net, 80, 24, "");
    assert!(empty.contains("interfaces: n/a"), "{empty}");
}

/// Disks and interfaces sort like every table: from the source's order `<` picks the last
/// column (%util for disks) and `>` the first, `I` inverts.
#[test]
fn disk_and_net_tables_sort() {
    let out = headless("disknet_big", PaneId::Disk, 160, 50, "<");
    assert!(out.contains("%util▼"), "{out}");
    let utils: Vec<f64> = out
        .lines()
        .skip_while(|l| !l.starts_with("Device"))
        .skip(1)
        .take_while(|l| l.starts_with("sd") || l.starts_with("vd") || l.starts_with("nvme"))
        .filter_map(|l| l.split_whitespace().last()?.parse().ok())
        .collect();
    assert!(utils.len() > 3, "{out}");
    assert!(utils.windows(2).all(|w| w[0] >= w[1]), "{utils:?}\n{out}");
    let out = headless("disknet_big", PaneId::Net, 160, 50, "> > I");
    assert!(out.contains("rxkB/s▲"), "{out}");
    let first = out.lines().find(|l| l.starts_with("eth")).unwrap();
    assert!(first.starts_with("eth0 "), "{out}");
    let out = headless("disknet_big", PaneId::Net, 160, 50, "> >");
    let first = out.lines().find(|l| l.starts_with("eth")).unwrap();
    assert!(!first.starts_with("eth0 "), "{out}");
}

/// The selection is a device: re-sorting the disks keeps it on the same one.
#[test]
fn disk_selection_follows_the_device_through_a_sort() {
    use ratatui::crossterm::event::{KeyCode, KeyEvent};
    use usetop::panes::disk::DiskState;
    let roots = fixture_roots("disknet_big");
    let mut app = App::new(options(PaneId::Disk));
    let mut clock = VirtualClock::new();
    for r in &roots {
        let mut c = Collectors::new(r.clone());
        app.push_sample(c.sample(&clock, Request::default()));
        clock.advance(std::time::Duration::from_secs(1));
    }
    app.prepare();
    for _ in 0..3 {
        app.handle_key(KeyEvent::from(KeyCode::Down));
    }
    let st = app.pane_state::<DiskState>().unwrap();
    let name = st.focus.clone().unwrap();
    let at = st.devices.table.selected();
    assert_eq!(at, 3);
    app.handle_key(KeyEvent::from(KeyCode::Char('<')));
    app.prepare();
    let st = app.pane_state::<DiskState>().unwrap();
    assert_eq!(st.devices.selected_name().as_deref(), Some(name.as_str()));
    assert_ne!(
        st.devices.table.selected(),
        at,
        "{name} moved in the new order"
    );
}

/// With every device idle the table lists none (`a` shows them), and the graph shows the
/// first real disk's history rather than leaving the pane's lower half empty.
#[test]
fn an_idle_machine_graphs_its_first_real_disk() {
    // The basic tree with nothing in flight, three times over: no counter moves, so every
    // device is idle.
    let dir = tempfile::tempdir().unwrap();
    let src = common::fixtures().join("basic/t1");
    let ok = std::process::Command::new("cp")
        .arg("-a")
        .arg(&src)
        .arg(dir.path().join("t"))
        .status()
        .unwrap()
        .success();
    assert!(ok);
    let stats = dir.path().join("t/proc/diskstats");
    let idle = std::fs::read_to_string(&stats)
        .unwrap()
        .replace(" 2400 400 176400 11000 3 ", " 2400 400 176400 11000 0 ");
    std::fs::write(&stats, idle).unwrap();
    let root =
        usetop::collectors::ProcRoot::new(dir.path().join("t/proc"), dir.path().join("t/sys"));
    let out = usetop::headless::render_headless(usetop::headless::HeadlessOptions {
        app: options(PaneId::Disk),
        cols: 100,
        rows: 40,
        frames: 3,
        keys: String::new(),
        roots: vec![root.clone(), root.clone(), root],
        virtual_clock: true,
    })
    .unwrap();
    let last = out.rsplit("\x0c\n").next().unwrap();
    assert!(last.contains("0 of 4 devices active"), "{last}");
    assert!(
        last.lines()
            .any(|l| l.trim_start().starts_with("vda: read 0")),
        "no graph of vda:\n{last}"
    );
}
