//! Dumps parsed back and checked against the snapshot they came from.

mod common;

use std::sync::Arc;
use std::time::Duration;

use usetop::app::App;
use usetop::app::source::{RootsSource, SampleSource};
use usetop::export::dump::{
    self, DiskHeader, DiskRecord, NicRecord, PerfCpuRecord, PerfHeader, SlabHeader, SlabRecord,
    SockHeader, SockRecord, SystemRecord, TcpRecord, UdpRecord, View,
};
use usetop::model::Snapshot;
use usetop::model::perf::Ev;
use usetop::panes::PaneId;

/// The second snapshot of the basic fixture (the one with rates), derived as live mode does.
fn snapshot() -> Arc<Snapshot> {
    snapshot_of("basic")
}

/// The last snapshot of a fixture sequence.
fn snapshot_of(fixture: &str) -> Arc<Snapshot> {
    let mut app = App::new(common::options(PaneId::Use));
    let roots = common::fixture_roots(fixture);
    let n = roots.len();
    let mut src = RootsSource::new(roots, Duration::from_secs(1), true);
    for i in 0..n {
        let s = src.next_sample(i, app.request()).unwrap();
        app.push_sample(s);
    }
    let snap = app.timeline.latest().cloned().unwrap();
    assert!(snap.has_rates());
    snap
}

#[test]
fn system_json_round_trips_and_matches_the_snapshot() {
    let snap = snapshot();
    let line = dump::json_line(View::System, &snap);
    assert!(!line.contains('\n'));
    let back: SystemRecord = serde_json::from_str(&line).unwrap();
    assert_eq!(back, SystemRecord::from_snapshot(&snap));
    let total = snap.cpu.total.unwrap();
    let free = snap.free.unwrap();
    assert_eq!(back.cpu_busy_pct, Some(total.busy()));
    assert_eq!(back.cpu_usr_pct, Some(total.usr));
    assert_eq!(back.interval_s, 1.0);
    assert_eq!(back.mem_total_bytes, Some(free.total));
    assert_eq!(back.mem_available_bytes, Some(free.available));
    assert_eq!(back.ctxt_per_s, snap.cpu.ctxt_s);
    assert_eq!(back.processes, snap.cur.tasks.procs.len());
    assert_eq!(back.load1, snap.cur.cpu.load.map(|l| l.one));
    assert_eq!(back.time, "2026-01-01T00:00:01.000Z");
    assert_eq!(back.wall_ms, snap.cur.wall_ms);
}

#[test]
fn proc_json_holds_every_process_with_its_rates() {
    let snap = snapshot();
    let v: serde_json::Value = serde_json::from_str(&dump::json_line(View::Proc, &snap)).unwrap();
    let procs = v["procs"].as_array().unwrap();
    let tasks = snap.tasks();
    assert_eq!(procs.len(), tasks.len());
    for (p, t) in procs.iter().zip(tasks.iter()) {
        assert_eq!(p["pid"], t.rec.pid());
        assert_eq!(p["comm"], t.rec.ident.comm, "comm survives JSON as is");
        assert_eq!(p["cpu_pct"].as_f64(), t.cpu_pct);
        assert_eq!(p["rss_bytes"], t.rss_bytes);
        assert_eq!(p["read_bytes_per_s"].as_f64(), t.read_bps);
        assert!(p.get("command").is_none(), "never the command line");
    }
    assert_eq!(v["seq"], snap.seq);
}

#[test]
fn cpu_json_has_one_entry_per_cpu() {
    let snap = snapshot();
    let v: serde_json::Value = serde_json::from_str(&dump::json_line(View::Cpu, &snap)).unwrap();
    let cpus = v["cpus"].as_array().unwrap();
    assert_eq!(cpus.len(), snap.cpu.per_cpu.len());
    for (c, (id, pct)) in cpus.iter().zip(&snap.cpu.per_cpu) {
        assert_eq!(c["cpu"], *id);
        assert_eq!(c["busy_pct"].as_f64(), pct.map(|p| p.busy()));
    }
}

#[test]
fn csv_rows_match_the_header_and_stay_one_line() {
    let snap = snapshot();
    for view in View::ALL {
        let header = dump::csv_header(view);
        assert_eq!(
            &header[..4],
            ["time", "wall_ms", "seq", "interval_s"]
                .map(String::from)
                .as_slice()
        );
        // The basic fixture has no socket captures; the sock fixture has.
        let snap = if view == View::Sock {
            snapshot_of("sock")
        } else {
            Arc::clone(&snap)
        };
        let rows = dump::csv_rows(view, &snap);
        assert!(!rows.is_empty(), "{view:?} has rows");
        for row in rows {
            assert_eq!(row.len(), header.len(), "{view:?}");
            let line = dump::csv_line(&row);
            assert!(!line.contains('\n') && !line.contains('\r'), "{line}");
        }
    }
    assert_eq!(dump::csv_quote("a,b \"c\""), "\"a,b \"\"c\"\"\"");
    assert_eq!(dump::csv_quote("x\ny"), "x?y");
}

#[test]
fn readme_documents_every_dump_field() {
    let readme =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).unwrap();
    for view in View::ALL {
        let mut fields = dump::csv_header(view);
        // JSON's own keys: the row arrays and the nested stack objects.
        let snap = snapshot();
        let v: serde_json::Value = serde_json::from_str(&dump::json_line(view, &snap)).unwrap();
        fields.extend(v.as_object().unwrap().keys().cloned());
        for field in fields {
            assert!(
                readme.contains(&format!("`{field}`")),
                "README lacks `{field}`"
            );
        }
    }
}

fn json(view: View, snap: &Snapshot) -> serde_json::Value {
    let line = dump::json_line(view, snap);
    assert!(!line.contains('\n'));
    let v: serde_json::Value = serde_json::from_str(&line).unwrap();
    assert_eq!(v["seq"], snap.seq);
    assert_eq!(v["interval_s"], snap.dt_s);
    assert_eq!(v["time"], "2026-01-01T00:00:01.000Z");
    v
}

#[test]
fn disk_json_holds_each_device_as_iostat_shows_it() {
    let snap = snapshot();
    let v = json(View::Disk, &snap);
    let disks: Vec<DiskRecord> = serde_json::from_value(v["disks"].clone()).unwrap();
    assert!(!disks.is_empty());
    assert_eq!(disks.len(), snap.disk.devices.len());
    for (r, d) in disks.iter().zip(&snap.disk.devices) {
        assert_eq!(r.device, d.name);
        assert_eq!(r.partition, d.partition);
        assert_eq!(r.reads_per_s, d.r_s);
        assert_eq!(r.write_kbps, d.wkb_s);
        assert_eq!(r.read_await_ms, d.r_await);
        assert_eq!(r.queue_size, d.aqu_sz);
        assert_eq!(r.util_pct, d.util);
        assert_eq!(r.discards_per_s, d.d_s);
        assert_eq!(r.flush_await_ms, d.f_await);
    }
    assert!(disks.iter().any(|d| d.partition), "vda1 is marked");
    assert!(disks.iter().any(|d| d.reads_per_s > 0.0));
    let header: DiskHeader = serde_json::from_value(v.clone()).unwrap();
    assert_eq!(header.psi_io_some_pct, snap.disk.psi_some);
    assert_eq!(header.psi_io_full_pct, snap.disk.psi_full);
    assert!(header.psi_io_some_pct.is_some(), "the fixture has PSI io");
}

#[test]
fn net_json_holds_each_interface_and_the_stack_rates() {
    let snap = snapshot();
    let v = json(View::Net, &snap);
    let nics: Vec<NicRecord> = serde_json::from_value(v["interfaces"].clone()).unwrap();
    assert_eq!(nics.len(), snap.net.ifaces.len());
    assert!(nics.iter().any(|n| n.interface == "eth0"));
    for (r, n) in nics.iter().zip(&snap.net.ifaces) {
        assert_eq!(r.interface, n.name);
        assert_eq!(r.rx_kbps, n.rxkb_s);
        assert_eq!(r.tx_packets_per_s, n.txpck_s);
        assert_eq!(r.rx_drops_per_s, n.rxdrop_s);
        assert_eq!(r.rx_errors_per_s, n.rxerr_s);
        assert_eq!(r.util_pct, n.util);
        assert_eq!(r.speed_mbps, n.speed_mbps);
    }
    let tcp: TcpRecord = serde_json::from_value(v["tcp"].clone()).unwrap();
    let t = snap.net.tcp.unwrap();
    assert_eq!(tcp.active_opens_per_s, t.active_s);
    assert_eq!(tcp.retrans_segs_per_s, t.retrans_s);
    assert_eq!(tcp.curr_estab, t.curr_estab);
    assert_eq!(
        tcp.listen_drops_per_s,
        snap.net.tcp_ext.map(|e| e.listen_drops_s)
    );
    let udp: UdpRecord = serde_json::from_value(v["udp"].clone()).unwrap();
    assert_eq!(udp.in_datagrams_per_s, snap.net.udp.unwrap().idgm_s);
    // CSV: the stack rates repeat on each interface row, prefixed.
    let header = dump::csv_header(View::Net);
    let col = header
        .iter()
        .position(|h| h == "tcp_active_opens_per_s")
        .unwrap();
    let rows = dump::csv_rows(View::Net, &snap);
    assert_eq!(rows.len(), nics.len());
    assert_eq!(rows[0][col].parse::<f64>().unwrap(), t.active_s);
    // Without /proc/net/snmp: `null` in JSON, empty cells in CSV, rows still whole.
    let mut bare = (*snap).clone();
    bare.net.tcp = None;
    bare.net.udp = None;
    let v = json(View::Net, &bare);
    assert!(v["tcp"].is_null() && v["udp"].is_null());
    for row in dump::csv_rows(View::Net, &bare) {
        assert_eq!(row.len(), header.len());
        assert_eq!(row[col], "");
    }
}

#[test]
fn sock_json_holds_the_summary_and_each_socket_without_cmdlines() {
    let snap = snapshot_of("sock");
    let v: serde_json::Value = serde_json::from_str(&dump::json_line(View::Sock, &snap)).unwrap();
    let header: SockHeader = serde_json::from_value(v.clone()).unwrap();
    let f = &snap.sockets;
    assert!(f.tcp_total > 0);
    assert_eq!(header.tcp_sockets, f.tcp_total);
    assert_eq!(header.tcp_estab, f.tcp_by_state[1]);
    assert_eq!(header.tcp_listen, f.tcp_by_state[10]);
    assert_eq!(header.tcp_tx_bytes_per_s, f.tx_bps);
    assert_eq!(header.tcp_rx_bytes_per_s, f.rx_bps);
    assert_eq!(header.udp_sockets, snap.cur.sockets.udp.iter().sum::<u32>());
    let socks: Vec<SockRecord> = serde_json::from_value(v["sockets"].clone()).unwrap();
    let rates = usetop::model::sockets::socket_rates(
        snap.prev.as_ref().map(|p| &p.sockets),
        &snap.cur.sockets,
        snap.dt_s,
    );
    assert_eq!(socks.len(), rates.len());
    for (r, k) in socks.iter().zip(&rates) {
        assert_eq!(r.local, k.sock.local.to_string());
        assert_eq!(r.peer, k.sock.peer.to_string());
        assert_eq!(r.state, usetop::model::sockets::state_name(k.sock.state));
        assert_eq!(r.tx_bytes_per_s, k.tx_bps);
        assert_eq!(r.rx_bytes_per_s, k.rx_bps);
        assert_eq!(r.retrans, k.retrans);
        assert_eq!(r.send_q, k.sock.wqueue);
        assert_eq!(r.cwnd, k.sock.info.as_ref().map(|i| i.cwnd));
        assert_eq!(r.pid, k.sock.owner.as_ref().map(|o| o.pid));
    }
    assert!(
        socks
            .iter()
            .any(|s| s.tx_bytes_per_s.is_some_and(|t| t > 0.0))
    );
    assert!(socks.iter().any(|s| s.pid.is_some() && s.comm.is_some()));
    let line = dump::json_line(View::Sock, &snap);
    for p in &snap.cur.tasks.procs {
        if !p.ident.cmdline.is_empty() && p.ident.cmdline != p.ident.comm {
            assert!(!line.contains(p.ident.cmdline.as_str()), "cmdline leaked");
        }
    }
}

#[test]
fn slab_json_holds_the_totals_and_each_cache_with_growth() {
    let snap = snapshot();
    let v = json(View::Slab, &snap);
    let header: SlabHeader = serde_json::from_value(v.clone()).unwrap();
    let t = snap.slab.totals.unwrap();
    assert_eq!(header.slab_objs, Some(t.num_objs));
    assert_eq!(header.slab_active_bytes, Some(t.active_bytes));
    assert_eq!(header.slab_caches, Some(t.caches));
    assert_eq!(
        header.unreclaimable_bytes,
        snap.cur.mem.info.as_ref().map(|m| m.sunreclaim)
    );
    assert!(header.unreclaimable_growth_bytes_per_s.is_some());
    let caches: Vec<SlabRecord> = serde_json::from_value(v["caches"].clone()).unwrap();
    let rates = usetop::model::slab::cache_rates(
        snap.prev.as_ref().map(|p| &p.slab),
        &snap.cur.slab,
        snap.dt_s,
    );
    assert_eq!(caches.len(), rates.len());
    assert!(!caches.is_empty());
    let page = snap.cur.slab.page_size.max(1);
    let mut sum = 0;
    for (r, c) in caches.iter().zip(&rates) {
        assert_eq!(r.cache, c.cache.name);
        assert_eq!(r.objs, c.cache.num_objs);
        assert_eq!(r.growth_bytes_per_s, c.growth_bps);
        assert_eq!(r.objs_growth_per_s, c.objs_s);
        assert_eq!(r.cache_bytes, c.cache.cache_bytes(page));
        sum += r.cache_bytes;
    }
    assert_eq!(header.slab_cache_bytes, Some(sum));
    assert!(caches.iter().any(|c| c.growth_bytes_per_s.is_some()));
}

#[test]
fn perf_json_holds_each_cpu_and_says_whether_hardware_counts() {
    let snap = snapshot();
    let v = json(View::Perf, &snap);
    let header: PerfHeader = serde_json::from_value(v.clone()).unwrap();
    assert_eq!(header.hw_reason, snap.cur.perf.hw_reason);
    assert_eq!(header.hw_available, snap.cur.perf.hw_reason.is_none());
    assert_eq!(header.total_ipc, snap.perf.total.ipc());
    let cpus: Vec<PerfCpuRecord> = serde_json::from_value(v["cpus"].clone()).unwrap();
    assert_eq!(cpus.len(), snap.perf.cpus.len());
    assert!(!cpus.is_empty());
    for (r, (id, rates)) in cpus.iter().zip(&snap.perf.cpus) {
        assert_eq!(r.cpu, *id);
        assert_eq!(r.ipc, rates.ipc());
        assert_eq!(r.cycles_per_s, rates.get(Ev::Cycles));
        assert_eq!(r.cache_miss_pct, rates.miss_pct());
        assert_eq!(r.ctx_switches_per_s, rates.get(Ev::CtxSwitches));
        assert_eq!(r.scaled, rates.scaled);
    }
    assert!(cpus.iter().any(|c| c.ipc.is_some()));
    assert!(cpus.iter().any(|c| c.scaled), "cpu1's group is multiplexed");
}

#[test]
fn every_pane_has_a_dump_view() {
    for p in PaneId::all() {
        assert!(View::for_pane(p.name()).is_ok(), "{p:?}");
    }
    assert_eq!(View::for_pane("mem"), Ok(View::System));
    assert_eq!(View::for_pane("sock"), Ok(View::Sock));
    assert_eq!(View::for_pane("cgroup"), Ok(View::Cgroup));
    let err = View::for_pane("nosuch").unwrap_err();
    assert!(err.contains("\"nosuch\"") && err.contains("proc"), "{err}");
}

/// Recorded, then dumped from the recording: every view survives the round trip through the
/// recording format and the command line.
#[test]
fn every_view_dumps_from_a_recording() {
    let t1 = common::fixtures().join("basic/t1");
    let run = |args: &[&str]| {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_usetop"))
            .args(args)
            .arg("--proc-root")
            .arg(t1.join("proc"))
            .arg("--sys-root")
            .arg(t1.join("sys"))
            .output()
            .expect("run usetop");
        let err = String::from_utf8_lossy(&out.stderr).into_owned();
        assert!(out.status.success(), "{args:?}: {err}");
        String::from_utf8(out.stdout).unwrap()
    };
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("r.usetop");
    let f = file.to_str().unwrap();
    run(&["record", "-o", f, "-i", "0.1", "-n", "2"]);
    for (pane, key) in [
        ("disk", "disks"),
        ("net", "interfaces"),
        ("sock", "sockets"),
        ("slab", "caches"),
        ("perf", "cpus"),
    ] {
        let out = run(&["dump", "--replay", f, "--pane", pane]);
        let lines: Vec<&str> = out.lines().collect();
        assert_eq!(lines.len(), 1, "{pane}: one line per snapshot with rates");
        let v: serde_json::Value = serde_json::from_str(lines[0]).unwrap();
        let rows = v[key].as_array().unwrap_or_else(|| panic!("{pane}: {v}"));
        // The basic fixture has no socket captures; every other view has rows.
        assert_eq!(rows.is_empty(), pane == "sock", "{pane}");
        let csv = run(&["dump", "--replay", f, "--pane", pane, "--format", "csv"]);
        let mut csv_lines = csv.lines();
        let header = csv_lines.next().unwrap();
        assert!(
            header.starts_with("time,wall_ms,seq,interval_s,"),
            "{header}"
        );
        assert_eq!(
            csv_lines.count(),
            rows.len(),
            "{pane}: one CSV row per entry"
        );
    }
    let v: serde_json::Value =
        serde_json::from_str(run(&["dump", "--replay", f, "--pane", "net"]).trim()).unwrap();
    assert_eq!(v["tcp"]["curr_estab"], 14);
    let disk = run(&["dump", "--replay", f, "--pane", "disk"]);
    assert!(disk.contains("\"device\":\"vda1\",\"partition\":true"));
}
