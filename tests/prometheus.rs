//! The exporter against real Prometheus tools: `promtool check metrics` on the exposition,
//! and a Prometheus server (Debian's package, installed by scripts/test.sh) that scrapes
//! `usetop serve` on loopback and answers a query with usetop's series.

mod common;

use std::net::SocketAddr;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use usetop::app::App;
use usetop::app::source::{RootsSource, SampleSource};
use usetop::export::openmetrics::{Exporter, to_prometheus_text};
use usetop::model::{Sample, TaskIdent};
use usetop::panes::PaneId;

fn fixture_samples() -> Vec<Sample> {
    let mut src = RootsSource::new(common::fixture_roots("basic"), Duration::from_secs(1), true);
    (0..2)
        .map(|i| src.next_sample(i, Default::default()).unwrap())
        .collect()
}

/// The exposition after feeding `samples` through the same derive as live mode.
fn exposition(samples: Vec<Sample>, per_process: usize) -> String {
    let mut app = App::new(common::options(PaneId::Use));
    let mut ex = Exporter::new(per_process);
    for s in samples {
        app.push_sample(s);
        ex.update(app.timeline.latest().unwrap());
    }
    ex.encode()
}

#[test]
fn exposition_passes_promtool_with_hostile_process_names() {
    let mut samples = fixture_samples();
    // Quotes, backslashes, newlines and braces in a comm must never break the exposition.
    let nasty = "a\"b\\c\nd}{e=\"f\"";
    let mut procs = samples[1].tasks.procs.to_vec();
    let rec = Arc::make_mut(&mut procs[0]);
    rec.ident = Arc::new(TaskIdent {
        comm: nasty.into(),
        ..(*rec.ident).clone()
    });
    let pid = rec.stat.pid;
    samples[1].tasks.procs = procs.into();
    let om = exposition(samples, 50);
    assert!(om.ends_with("# EOF\n"));
    let escaped = r#"a\"b\\c\nd}{e=\"f\""#;
    assert!(
        om.contains(&format!("{{pid=\"{pid}\",comm=\"{escaped}\"}}")),
        "{om}"
    );
    for line in om.lines() {
        assert!(!line.is_empty(), "an unescaped newline split a line");
    }
    let classic = to_prometheus_text(&om);
    let (ok, msg) = common::serve::promtool_check(&classic);
    assert!(ok, "promtool check metrics: {msg}\n{classic}");
    assert!(classic.contains("# TYPE usetop_cpu_seconds_total counter"));
    assert!(!classic.contains("# EOF"));
}

#[test]
fn counters_never_go_down_even_when_the_kernel_resets_them() {
    let mut samples = fixture_samples();
    let mut third = samples[1].clone();
    third.mono_ns += 1_000_000_000;
    third.cpu.ctxt = 5; // a reset
    let mut fourth = third.clone();
    fourth.mono_ns += 1_000_000_000;
    fourth.cpu.ctxt = 25;
    let before = samples[1].cpu.ctxt;
    samples.push(third);
    samples.push(fourth);
    let om = exposition(samples, 0);
    let v: u64 = om
        .lines()
        .find_map(|l| l.strip_prefix("usetop_context_switches_total "))
        .unwrap()
        .parse()
        .unwrap();
    assert_eq!(
        v,
        before + 20,
        "after a reset only the growth since is added"
    );
}

#[test]
fn per_process_series_are_off_by_default_and_never_carry_cmdlines() {
    let om = exposition(fixture_samples(), 0);
    assert!(!om.contains("usetop_process_"));
    let om = exposition(fixture_samples(), 2);
    assert_eq!(
        om.lines()
            .filter(|l| l.starts_with("usetop_process_resident_memory_bytes{"))
            .count(),
        2
    );
    for s in fixture_samples() {
        for p in &s.tasks.procs {
            if !p.ident.cmdline.is_empty() && p.ident.cmdline != p.ident.comm {
                assert!(!om.contains(&p.ident.cmdline), "cmdline leaked");
            }
        }
    }
}

// ---- A real server ----

#[test]
fn serve_answers_metrics_and_health() {
    let (_usetop, addr) = common::serve::start("basic/t1");
    let deadline = Instant::now() + Duration::from_secs(20);
    let (status, ctype, body) = loop {
        let r = common::serve::get(
            addr,
            "/metrics",
            "application/openmetrics-text; version=1.0.0",
        )
        .unwrap();
        if r.0 == 200 || Instant::now() > deadline {
            break r;
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    assert_eq!(status, 200);
    assert!(ctype.starts_with("application/openmetrics-text"), "{ctype}");
    assert!(body.contains("usetop_memory_total_bytes 17179869184"));
    assert!(body.ends_with("# EOF\n"));
    let (status, ctype, body) = common::serve::get(addr, "/metrics", "*/*").unwrap();
    assert_eq!(status, 200);
    assert!(ctype.starts_with("text/plain; version=0.0.4"), "{ctype}");
    let (ok, msg) = common::serve::promtool_check(&body);
    assert!(ok, "{msg}");
    let (status, _, _) = common::serve::get(addr, "/healthz", "*/*").unwrap();
    assert_eq!(status, 200);
}

#[test]
fn a_prometheus_server_scrapes_usetop() {
    let prometheus = common::serve::tool("prometheus");
    let (_usetop, target) = common::serve::start("basic/t1");
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("prometheus.yml");
    std::fs::write(
        &config,
        format!(
            "global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\n\
             scrape_configs:\n  - job_name: usetop\n    static_configs:\n      - targets: ['{target}']\n"
        ),
    )
    .unwrap();
    let port = common::serve::free_port();
    let web: SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
    let log = std::fs::File::create(dir.path().join("prometheus.log")).unwrap();
    let _prom = common::serve::Reaper(
        Command::new(prometheus)
            .arg(format!("--config.file={}", config.display()))
            .arg(format!(
                "--storage.tsdb.path={}",
                dir.path().join("data").display()
            ))
            .arg(format!("--web.listen-address={web}"))
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("start prometheus"),
    );
    let deadline = Instant::now() + Duration::from_secs(90);
    let mut found = Vec::new();
    for query in ["usetop_memory_total_bytes", "usetop_cpu_seconds_total"] {
        loop {
            let path = format!("/api/v1/query?query={query}");
            if let Ok((200, _, body)) = common::serve::get(web, &path, "application/json") {
                let v: serde_json::Value = serde_json::from_str(&body).unwrap_or_default();
                if let Some(r) = v["data"]["result"].as_array().filter(|r| !r.is_empty()) {
                    assert_eq!(r[0]["metric"]["job"], "usetop");
                    found.push((query, r.len(), r[0]["value"][1].clone()));
                    break;
                }
            }
            if Instant::now() > deadline {
                let log =
                    std::fs::read_to_string(dir.path().join("prometheus.log")).unwrap_or_default();
                let tail: String = log.lines().rev().take(20).collect::<Vec<_>>().join("\n");
                panic!("Prometheus never returned {query}; its log ends:\n{tail}");
            }
            std::thread::sleep(Duration::from_millis(300));
        }
    }
    assert_eq!(found[0].2, "17179869184");
    // Three CPUs in the fixture, ten modes each.
    assert_eq!(found[1].1, 30);
}

// ---- Disks, NICs, TCP, sockets, slab ----

fn series_value(om: &str, prefix: &str) -> f64 {
    om.lines()
        .find_map(|l| l.strip_prefix(prefix))
        .unwrap_or_else(|| panic!("no {prefix} in\n{om}"))
        .trim()
        .parse()
        .unwrap()
}

#[test]
fn every_collector_is_exported_and_passes_promtool() {
    let samples = fixture_samples();
    let last = samples[1].clone();
    let om = exposition(samples, 0);
    let (ok, msg) = common::serve::promtool_check(&to_prometheus_text(&om));
    assert!(ok, "promtool check metrics: {msg}\n{om}");
    // Whole devices only: vda1 is a partition.
    let vda = last.disk.devices.iter().find(|d| d.name == "vda").unwrap();
    assert_eq!(
        series_value(&om, "usetop_disk_reads_completed_total{device=\"vda\"} "),
        vda.rd_ios as f64
    );
    assert_eq!(
        series_value(&om, "usetop_disk_written_bytes_total{device=\"vda\"} "),
        (vda.wr_sectors * 512) as f64
    );
    assert_eq!(
        series_value(&om, "usetop_disk_io_time_seconds_total{device=\"vda\"} "),
        vda.io_ticks as f64 / 1000.0
    );
    assert!(om.contains("usetop_disk_weighted_io_time_seconds_total{device=\"vda\"}"));
    assert!(om.contains("usetop_disk_writes_completed_total{device=\"vda\"}"));
    assert!(!om.contains("device=\"vda1\""), "partitions are left out");
    let eth0 = last.net.ifaces.iter().find(|i| i.name == "eth0").unwrap();
    assert_eq!(
        series_value(&om, "usetop_network_receive_bytes_total{device=\"eth0\"} "),
        eth0.rx_bytes as f64
    );
    assert_eq!(
        series_value(&om, "usetop_network_receive_drops_total{device=\"eth0\"} "),
        (eth0.rx_drop + eth0.rx_fifo) as f64
    );
    for name in [
        "usetop_network_transmit_bytes_total{",
        "usetop_network_receive_packets_total{",
        "usetop_network_transmit_packets_total{",
        "usetop_network_receive_errors_total{",
        "usetop_network_transmit_errors_total{",
        "usetop_network_transmit_drops_total{",
        "usetop_tcp_passive_opens_total ",
        "usetop_tcp_retransmitted_segments_total ",
        "usetop_tcp_in_errors_total ",
        "usetop_tcp_out_resets_total ",
        "usetop_tcp_listen_overflows_total ",
        "usetop_tcp_listen_drops_total ",
        "usetop_pressure_stall_seconds_total{resource=\"io\",kind=\"some\"} ",
        "usetop_slab_cache_bytes ",
    ] {
        assert!(om.contains(name), "{name} missing");
    }
    let tcp = last.net.tcp.unwrap();
    assert_eq!(
        series_value(&om, "usetop_tcp_active_opens_total "),
        tcp.active_opens as f64
    );
    assert_eq!(
        series_value(&om, "usetop_slab_unreclaimable_bytes "),
        last.mem.info.unwrap().sunreclaim as f64
    );
}

#[test]
fn tcp_socket_gauges_count_the_sock_fixture_by_state() {
    let mut src = RootsSource::new(common::fixture_roots("sock"), Duration::from_secs(1), true);
    let samples: Vec<Sample> = (0..2)
        .map(|i| src.next_sample(i, Default::default()).unwrap())
        .collect();
    let mut app = App::new(common::options(PaneId::Use));
    let mut ex = Exporter::new(0);
    for s in samples {
        app.push_sample(s);
        ex.update(app.timeline.latest().unwrap());
    }
    let snap = app.timeline.latest().unwrap();
    let om = ex.encode();
    let (ok, msg) = common::serve::promtool_check(&to_prometheus_text(&om));
    assert!(ok, "promtool check metrics: {msg}\n{om}");
    let estab = snap.sockets.tcp_by_state[1];
    assert!(estab > 0);
    assert_eq!(
        series_value(&om, "usetop_tcp_sockets{state=\"estab\"} "),
        f64::from(estab)
    );
    assert_eq!(
        series_value(&om, "usetop_tcp_sockets{state=\"listen\"} "),
        f64::from(snap.sockets.tcp_by_state[10])
    );
}

#[test]
fn disk_and_nic_counters_stay_monotonic_across_a_reset() {
    let mut samples = fixture_samples();
    let disk_before = samples[1]
        .disk
        .devices
        .iter()
        .find(|d| d.name == "vda")
        .unwrap()
        .rd_ios;
    let nic_before = samples[1]
        .net
        .ifaces
        .iter()
        .find(|i| i.name == "eth0")
        .unwrap()
        .rx_bytes;
    let set = |s: &mut Sample, rd: u64, rx: u64| {
        s.mono_ns += 1_000_000_000;
        for d in s.disk.devices.iter_mut().filter(|d| d.name == "vda") {
            d.rd_ios = rd;
        }
        for i in s.net.ifaces.iter_mut().filter(|i| i.name == "eth0") {
            i.rx_bytes = rx;
        }
    };
    // A device re-created and an interface whose driver reset its counters.
    let mut third = samples[1].clone();
    set(&mut third, 5, 7);
    let mut fourth = third.clone();
    set(&mut fourth, 25, 1007);
    samples.push(third);
    samples.push(fourth);
    let om = exposition(samples, 0);
    assert_eq!(
        series_value(&om, "usetop_disk_reads_completed_total{device=\"vda\"} "),
        (disk_before + 20) as f64,
        "after a reset only the growth since is added"
    );
    assert_eq!(
        series_value(&om, "usetop_network_receive_bytes_total{device=\"eth0\"} "),
        (nic_before + 1000) as f64
    );
}

#[test]
fn odd_device_names_are_printable_labels() {
    let mut samples = fixture_samples();
    for s in &mut samples {
        for i in s.net.ifaces.iter_mut().filter(|i| i.name == "wlan0") {
            i.name = "w\x1b[31m\"x\\\n".into();
        }
    }
    let om = exposition(samples, 0);
    assert!(
        om.contains(r#"usetop_network_receive_bytes_total{device="w?[31m\"x\\?"}"#),
        "{om}"
    );
    for line in om.lines() {
        assert!(!line.is_empty() && !line.contains('\x1b'));
    }
    let (ok, msg) = common::serve::promtool_check(&to_prometheus_text(&om));
    assert!(ok, "{msg}");
}
