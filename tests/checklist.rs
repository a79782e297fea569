//! The USE checklist's sources over the `checklist` fixture (every source present) and the
//! `checklist_bare` one (a VM without them), t0 and t1 one virtual second apart. Every
//! figure is worked out by hand from the numbers in tests/fixtures/make_checklist.py. Also:
//! a recording made before these sources were read replays with them n/a; dump and
//! OpenMetrics carry them; the thresholds load from the config.

mod common;

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use common::fixture_roots;
use usetop::app::config::Config;
use usetop::collectors::{Collectors, Request, VirtualClock};
use usetop::export::dump::{self, View};
use usetop::export::openmetrics::{Exporter, to_prometheus_text};
use usetop::model::checklist::{DelayAcct, Na};
use usetop::model::level::Level;
use usetop::model::thresholds::Thresholds;
use usetop::model::{FsUsage, Sample, Snapshot};
use usetop::store::reader::Reader;
use usetop::store::writer::FrameWriter;
use usetop::store::{FORMAT_VERSION, format::Header};

/// Samples t0 and t1 of a fixture with a virtual clock, 1 s apart.
fn samples(fixture: &str) -> (Sample, Sample) {
    let roots = fixture_roots(fixture);
    let mut clock = VirtualClock::new();
    let s0 = Collectors::new(roots[0].clone()).sample(&clock, Request::default());
    clock.advance(Duration::from_secs(1));
    let s1 = Collectors::new(roots[1].clone()).sample(&clock, Request::default());
    (s0, s1)
}

fn snapshot(fixture: &str) -> Snapshot {
    let (s0, s1) = samples(fixture);
    Snapshot::derive(1, Some(Arc::new(s0)), Arc::new(s1))
}

fn close(got: f64, want: f64, what: &str) {
    assert!((got - want).abs() < 1e-9, "{what}: got {got}, want {want}");
}

fn missing<T: std::fmt::Debug>(r: &Result<T, Na>) -> String {
    match r {
        Err(Na::Missing(why)) => why.clone(),
        other => panic!("expected a reason, got {other:?}"),
    }
}

#[test]
fn run_queue_latency_per_cpu_and_system_wide() {
    let s = snapshot("checklist");
    let c = &s.checklist;
    assert_eq!(c.dt_s, 1.0);
    let r = c.runq.as_ref().unwrap();
    // run_delay grew 50, 5, 0 and 200 ms in one second.
    let want = [(0, 50.0), (1, 5.0), (2, 0.0), (3, 200.0)];
    assert_eq!(r.per_cpu.len(), 4);
    for ((id, got), (wid, w)) in r.per_cpu.iter().zip(want) {
        assert_eq!(*id, wid);
        close(*got, w, "runq per cpu");
    }
    close(r.total_ms_s, 255.0, "runq total");
    close(r.mean_ms_s, 63.75, "runq mean");
    assert_eq!(r.worst, (3, 200.0));
    // Judged on the worst CPU: 200 ms/s is past the red band (100).
    assert_eq!(c.runq_level(&Thresholds::default()), Level::Crit);
    // The first sample has no interval.
    let (s0, _) = samples("checklist");
    let first = Snapshot::derive(0, None, Arc::new(s0));
    assert_eq!(first.checklist.runq, Err(Na::FirstSample));
}

#[test]
fn a_pegged_cpu_is_named_while_the_average_is_low() {
    let s = snapshot("checklist");
    let th = Thresholds::default();
    let b = s.checklist.busiest_cpu.as_ref().unwrap();
    // cpu0 ran 100 of 100 ticks; the four CPUs together 110 of 400 (cpu1's 10 stolen).
    assert_eq!(b.cpu, 0);
    close(b.busy_pct, 100.0, "busiest");
    close(b.avg_busy_pct, 27.5, "average");
    let (p, level) = s.checklist.pegged(&th).expect("cpu0 is pegged");
    assert_eq!((p.cpu, level), (0, Level::Crit));
    // Once the average itself is yellow, the average's cell says it: no extra finding.
    let busy = Thresholds {
        cpu_util: usetop::model::thresholds::Band {
            warn: 20.0,
            crit: 90.0,
        },
        ..Thresholds::default()
    };
    assert!(s.checklist.pegged(&busy).is_none());
    // Steal is its own figure: 10 of 400 ticks.
    close(*s.checklist.steal_pct.as_ref().unwrap(), 2.5, "steal");
    assert_eq!(s.checklist.steal_level(&th), Level::Ok);
}

#[test]
fn machine_checks_and_thermal_throttling_per_interval() {
    let s = snapshot("checklist");
    let th = Thresholds::default();
    let h = s.checklist.hw.as_ref().unwrap();
    assert_eq!(h.mce, Some(2));
    assert_eq!(h.mce_total, Some(3));
    assert_eq!(h.mcp, Some(4));
    assert_eq!(h.thermal, Some(5));
    assert_eq!(h.threshold, Some(0));
    assert_eq!(h.deferred, None);
    assert_eq!(s.checklist.mce_level(&th), Level::Crit);
    let t = s.checklist.throttle.as_ref().unwrap();
    // Core 0's counter rose by 3; cpu2 is its sibling and must not count it again.
    assert_eq!((t.core, t.package), (3, 2));
    assert_eq!((t.core_total, t.package_total), (153, 9));
    assert_eq!(t.worst_core, Some((0, 3)));
    assert_eq!(
        s.cur.checklist.throttle.as_ref().unwrap().cores.len(),
        2,
        "one CPU per core"
    );
    assert_eq!(s.checklist.throttle_level(&th), Level::Warn);
}

#[test]
fn frequency_and_temperature() {
    let s = snapshot("checklist");
    let th = Thresholds::default();
    let f = s.checklist.freq.as_ref().unwrap();
    close(f.mean_mhz, 2000.0, "mean MHz");
    close(f.min_mhz, 800.0, "min MHz");
    close(f.max_mhz, 3600.0, "max MHz");
    assert_eq!(f.range_mhz, Some((800.0, 4000.0)));
    assert!(!f.from_cpuinfo);
    let t = s.checklist.temps.as_ref().unwrap();
    // The nvme drive's sensor (99 °C) is not a CPU sensor and is left out.
    assert_eq!(t.sensors.len(), 2);
    let hot = t.hottest().unwrap();
    assert_eq!(
        (hot.chip.as_str(), hot.label.as_str()),
        ("coretemp", "Package id 0")
    );
    close(hot.celsius, 88.0, "package °C");
    assert_eq!(hot.crit_c, Some(100.0));
    assert_eq!(s.checklist.temp_level(&th), Level::Warn);
}

#[test]
fn memory_errors_numa_and_oom() {
    let s = snapshot("checklist");
    let th = Thresholds::default();
    let m = s.checklist.mem_errors.as_ref().unwrap();
    assert_eq!((m.ce, m.ue, m.ce_total, m.ue_total), (2, 0, 7, 1));
    assert_eq!(
        m.controllers,
        vec![("mc0".to_string(), 2, 0), ("mc1".to_string(), 0, 0)]
    );
    assert_eq!(s.checklist.mem_error_level(&th), Level::Crit);
    let n = s.checklist.numa.as_ref().unwrap();
    assert_eq!(n.len(), 2);
    assert_eq!(n[0].node, 0);
    assert_eq!(n[0].total_bytes, 8 << 30);
    assert_eq!(n[0].used_bytes, 6 << 30);
    close(n[0].used_pct.unwrap(), 75.0, "node0 used");
    close(n[0].hit_s, 9000.0, "node0 hit/s");
    close(n[0].miss_s, 1000.0, "node0 miss/s");
    close(n[0].miss_pct.unwrap(), 10.0, "node0 miss %");
    close(n[1].foreign_s, 1000.0, "node1 foreign/s");
    close(n[1].miss_pct.unwrap(), 0.0, "node1 miss %");
    assert_eq!(s.checklist.numa_level(&th), Level::Warn);
    assert_eq!(s.checklist.oom_kills, Ok(1));
}

#[test]
fn softnet_drops_and_squeezes_per_cpu() {
    let s = snapshot("checklist");
    let th = Thresholds::default();
    let sn = s.checklist.softnet.as_ref().unwrap();
    assert!(!sn.cpu_by_position);
    assert_eq!(sn.per_cpu.len(), 4);
    let c0 = sn.per_cpu[0];
    assert_eq!((c0.cpu, c0.dropped, c0.squeezed), (0, 3, 5));
    close(c0.processed_s, 1000.0, "cpu0 processed/s");
    // cpu1's 32-bit counter wrapped from 0xfffffff0 to 0x10.
    close(sn.per_cpu[1].processed_s, 32.0, "cpu1 processed/s");
    close(sn.processed_s, 1032.0, "processed/s");
    assert_eq!((sn.dropped, sn.squeezed), (3, 5));
    close(sn.dropped_s, 3.0, "dropped/s");
    assert_eq!(sn.worst_cpu, Some(0));
    assert_eq!(s.checklist.softnet_drop_level(&th), Level::Crit);
    assert_eq!(s.checklist.softnet_squeeze_level(&th), Level::Warn);
}

#[test]
fn detailed_nic_errors_read_only_behind_a_nonzero_sum() {
    let (s0, s1) = samples("checklist");
    // t0: every sum is zero, so nothing was read or kept (tx_aborted_errors holds 99 on
    // disk, and must never be seen).
    assert!(s0.checklist.nic_errors.is_empty());
    let e1 = &s1.checklist.nic_errors[0];
    assert_eq!(e1.iface, "eth0");
    assert_eq!(
        (
            e1.rx_missed,
            e1.rx_length,
            e1.rx_over,
            e1.rx_crc,
            e1.rx_frame
        ),
        (4, 2, 1, 3, 1)
    );
    // The carrier sum is still zero: its breakdown is not read.
    assert_eq!(e1.tx_aborted, 0);
    let s = Snapshot::derive(1, Some(Arc::new(s0)), Arc::new(s1));
    let r = &s.checklist.nic_errors.as_ref().unwrap()[0];
    close(r.rx_missed_s, 4.0, "rx_missed/s");
    close(r.rx_crc_s, 3.0, "rx_crc/s");
    close(r.total_s(), 11.0, "detail total/s");
}

#[test]
fn filesystem_errors_and_stacked_devices() {
    let s = snapshot("checklist");
    let th = Thresholds::default();
    let fs = s.checklist.fs_errors.as_ref().unwrap();
    let dm = fs.iter().find(|e| e.device == "dm-0").unwrap();
    assert_eq!((dm.total, dm.new), (3, Some(1)));
    let sda1 = fs.iter().find(|e| e.device == "sda1").unwrap();
    assert_eq!((sda1.total, sda1.new), (0, Some(0)));
    assert_eq!(s.checklist.fs_error_level(&th), Level::Crit);
    // Mounts map to their counts; other filesystems say why they have none.
    let mount = |device: &str, fstype: &str| FsUsage {
        device: device.into(),
        fstype: fstype.into(),
        ..FsUsage::default()
    };
    use usetop::model::checklist::fs_error_count;
    assert_eq!(
        fs_error_count(&s.checklist, &mount("/dev/mapper/vg-root", "ext4")),
        Ok(3)
    );
    assert_eq!(
        fs_error_count(&s.checklist, &mount("/dev/sda1", "ext4")),
        Ok(0)
    );
    let why = missing(&fs_error_count(&s.checklist, &mount("/dev/md0", "xfs")));
    assert!(why.contains("xfs keeps no error count"), "{why}");

    let st = &s.checklist.stacking;
    assert!(st.is_stacked("dm-0") && st.is_stacked("md0"));
    assert!(!st.is_stacked("sda") && !st.is_stacked("sdb"));
    assert_eq!(st.slaves("md0"), ["sdb", "sdc"]);
    assert_eq!(st.holders("sdb"), ["md0"]);
    // Reads per second summed over the devices a total counts: sda, sdb, sdc. Summing every
    // whole device would count dm-0 (= sda2) and md0 (= sdb + sdc) twice: 260.
    let total: f64 = s
        .disk
        .devices
        .iter()
        .filter(|d| st.counts_in_totals(&d.name, d.partition))
        .map(|d| d.r_s)
        .sum();
    close(total, 150.0, "reads/s counted once");
    let naive: f64 = s
        .disk
        .devices
        .iter()
        .filter(|d| !d.partition)
        .map(|d| d.r_s)
        .sum();
    close(naive, 260.0, "reads/s with stacks");
}

#[test]
fn capacity_limits_and_delay_accounting() {
    let s = snapshot("checklist");
    let th = Thresholds::default();
    let f = s.checklist.files.as_ref().unwrap();
    assert_eq!((f.used, f.max), (8000, 10000));
    close(f.pct, 80.0, "fd %");
    assert_eq!(s.checklist.files_level(&th), Level::Warn);
    let t = s.checklist.tasks.as_ref().unwrap();
    close(t.threads.as_ref().unwrap().pct, 90.0, "threads-max %");
    close(
        t.pids.as_ref().unwrap().pct,
        900.0 * 100.0 / 4096.0,
        "pid_max %",
    );
    assert_eq!(t.worst().unwrap().max, 1000);
    assert_eq!(s.checklist.tasks_level(&th), Level::Warn);
    assert_eq!(s.checklist.delayacct, DelayAcct::On);
    // dbwriter's field 42 rose by 25 ticks (HZ 100): 250 ms of every second.
    let tasks = s.tasks();
    let db = tasks.iter().find(|t| t.rec.pid() == 100).unwrap();
    assert_eq!(s.cur.hz, 100, "USER_HZ");
    close(db.blkio_delay_ms_s.unwrap(), 250.0, "blkio ms/s");
    assert_eq!(
        usetop::model::checklist::blkio_delay_level(db.blkio_delay_ms_s, &th),
        Level::Warn
    );
}

#[test]
fn a_vm_without_the_sources_says_why_each_is_missing() {
    let s = snapshot("checklist_bare");
    let c = &s.checklist;
    let why = missing(&c.runq);
    assert!(
        why.contains("schedstat: not found (kernel built without CONFIG_SCHEDSTATS)"),
        "{why}"
    );
    assert!(missing(&c.hw).contains("no MCE row"), "{:?}", c.hw);
    assert!(missing(&c.throttle).contains("thermal_throttle: not found"));
    assert!(
        missing(&c.mem_errors).contains("no EDAC driver"),
        "{:?}",
        c.mem_errors
    );
    assert_eq!(missing(&c.numa), "one NUMA node");
    assert!(missing(&c.fs_errors).contains("only ext4"));
    assert!(missing(&c.tasks.as_ref().unwrap().threads).contains("threads-max"));
    assert!(c.tasks.as_ref().unwrap().pids.is_ok());
    // Frequency from /proc/cpuinfo, without a range; a thermal zone for the temperature.
    let f = c.freq.as_ref().unwrap();
    assert!(f.from_cpuinfo && f.range_mhz.is_none());
    close(f.mean_mhz, 2596.136, "cpuinfo MHz");
    let t = c.temps.as_ref().unwrap().hottest().unwrap();
    assert_eq!(t.chip, "x86_pkg_temp");
    close(t.celsius, 46.0, "zone °C");
    // The 11-column softnet_stat names no CPU: lines map to the online CPUs, 0 and 2.
    let sn = c.softnet.as_ref().unwrap();
    assert!(sn.cpu_by_position);
    let ids: Vec<u32> = sn.per_cpu.iter().map(|r| r.cpu).collect();
    assert_eq!(ids, [0, 2]);
    assert_eq!(sn.per_cpu[1].dropped, 4);
    // Delay accounting off: the per-task figure is n/a, with how to turn it on.
    assert_eq!(c.delayacct, DelayAcct::Off);
    let na = c.delayacct.na().unwrap().to_string();
    assert!(na.contains("kernel.task_delayacct=1"), "{na}");
    assert!(s.tasks().iter().all(|t| t.blkio_delay_ms_s.is_none()));
    // The levels of what is missing are unknown, never green.
    let th = Thresholds::default();
    assert_eq!(c.runq_level(&th), Level::Unknown);
    assert_eq!(c.mem_error_level(&th), Level::Unknown);
    // None of this reaches the sample's own notes (the status line): a VM lacks it by design.
    assert!(s.cur.notes.iter().all(|n| !n.reason.contains("EDAC")));
}

/// A recording of format 1 (the basic fixture, committed before the checklist section
/// existed) replays with every checklist figure n/a and everything else intact.
#[test]
fn an_older_recording_replays_with_the_checklist_not_recorded() {
    let path =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/checklist_v1/basic-v1.usetop");
    let bytes = std::fs::read(&path).unwrap();
    let mut r = Reader::new(bytes, &path).unwrap();
    assert_eq!(r.header.format_version, 1);
    let mut prev: Option<Arc<Sample>> = None;
    let mut n = 0;
    while let Some(f) = r.next_frame() {
        let cur = Arc::new(f.sample);
        assert!(!cur.checklist.read);
        let s = Snapshot::derive(n, prev.take(), Arc::clone(&cur));
        if n > 0 {
            assert!(s.cpu.ctxt_s.is_some(), "the rest of the sample still reads");
            assert_eq!(s.checklist.runq, Err(Na::NotRecorded));
            assert_eq!(s.checklist.mem_errors, Err(Na::NotRecorded));
            assert_eq!(s.checklist.numa, Err(Na::NotRecorded));
            assert_eq!(s.checklist.tasks, Err(Na::NotRecorded));
            assert_eq!(s.checklist.delayacct, DelayAcct::NotRecorded);
            assert!(s.tasks().iter().all(|t| t.blkio_delay_ms_s.is_none()));
            let v: serde_json::Value =
                serde_json::from_str(&dump::json_line(View::System, &s)).unwrap();
            assert!(v["runq_latency_ms_per_s"].is_null());
            assert!(v["edac_ce_count"].is_null());
        }
        prev = Some(cur);
        n += 1;
    }
    assert_eq!(n, 3);
    assert_eq!(r.stats.corrupt, 0);
}

/// Written and read back with today's format, the checklist section survives whole.
#[test]
fn the_checklist_section_round_trips_through_a_recording() {
    let (s0, s1) = samples("checklist");
    let header = Header {
        format_version: FORMAT_VERSION,
        ..Header::default()
    };
    let mut w = FrameWriter::new(Vec::new(), &header).unwrap();
    w.append(&s0).unwrap();
    w.append(&s1).unwrap();
    let mut r = Reader::new(w.sink, Path::new("mem.usetop")).unwrap();
    let a = r.next_frame().unwrap().sample;
    let b = r.next_frame().unwrap().sample;
    assert!(r.next_frame().is_none());
    assert_eq!(a.checklist, s0.checklist);
    assert_eq!(b.checklist, s1.checklist);
    assert_eq!(r.stats.corrupt, 0);
}

#[test]
fn dump_views_carry_the_checklist_fields() {
    let s = snapshot("checklist");
    let json =
        |view| -> serde_json::Value { serde_json::from_str(&dump::json_line(view, &s)).unwrap() };
    let sys = json(View::System);
    assert_eq!(sys["runq_latency_ms_per_s"], 255.0);
    assert_eq!(sys["runq_latency_max_cpu"], 3);
    assert_eq!(sys["cpu_busiest"], 0);
    assert_eq!(sys["mce_count"], 2);
    assert_eq!(sys["thermal_throttle_core_count"], 3);
    assert_eq!(sys["cpu_freq_mean_mhz"], 2000.0);
    assert_eq!(sys["temp_max_celsius"], 88.0);
    assert_eq!(sys["edac_ce_count"], 2);
    assert_eq!(sys["numa_nodes"], 2);
    assert_eq!(sys["numa_miss_max_pct"], 10.0);
    assert_eq!(sys["softnet_dropped_count"], 3);
    assert_eq!(sys["fs_errors_total"], 3);
    assert_eq!(sys["files_used_pct"], 80.0);
    assert_eq!(sys["tasks_threads_max_pct"], 90.0);
    assert_eq!(sys["delayacct"], true);
    let cpu = json(View::Cpu);
    let c3 = &cpu["cpus"][3];
    assert_eq!(c3["cpu"], 3);
    assert_eq!(c3["runq_latency_ms_per_s"], 200.0);
    assert_eq!(c3["freq_mhz"], 1200.0);
    assert_eq!(cpu["cpus"][0]["softnet_dropped_per_s"], 3.0);
    assert_eq!(cpu["cpus"][0]["thermal_throttle_count"], 3);
    assert!(
        cpu["cpus"][2]["thermal_throttle_count"].is_null(),
        "a sibling"
    );
    let disk = json(View::Disk);
    let dev = |name: &str| {
        disk["disks"]
            .as_array()
            .unwrap()
            .iter()
            .find(|d| d["device"] == name)
            .unwrap()
            .clone()
    };
    assert_eq!(dev("md0")["stacked"], true);
    assert_eq!(dev("md0")["stacked_on"], "sdb sdc");
    assert_eq!(dev("md0")["in_totals"], false);
    assert_eq!(dev("sdb")["held_by"], "md0");
    assert_eq!(dev("sdb")["in_totals"], true);
    assert_eq!(dev("dm-0")["fs_errors_total"], 3);
    let net = json(View::Net);
    assert_eq!(net["softnet_dropped_count"], 3);
    assert_eq!(net["interfaces"][0]["rx_missed_errors_per_s"], 4.0);
    let procs = json(View::Proc);
    let db = procs["procs"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["pid"] == 100)
        .unwrap()
        .clone();
    assert!(db["blkio_delay_ms_per_s"].as_f64().unwrap() > 0.0);
    // CSV: every row has as many cells as the header, and the new columns are there.
    for view in [View::System, View::Cpu, View::Disk, View::Net, View::Proc] {
        let header = dump::csv_header(view);
        for row in dump::csv_rows(view, &s) {
            assert_eq!(row.len(), header.len(), "{view:?}");
        }
    }
    assert!(dump::csv_header(View::System).contains(&"runq_latency_ms_per_s".to_string()));
    assert!(dump::csv_header(View::Net).contains(&"softnet_time_squeeze_per_s".to_string()));
}

#[test]
fn openmetrics_exports_the_checklist_series() {
    let (s0, s1) = samples("checklist");
    let mut ex = Exporter::new(0);
    let a = Arc::new(s0);
    ex.update(&Snapshot::derive(0, None, Arc::clone(&a)));
    ex.update(&Snapshot::derive(1, Some(a), Arc::new(s1)));
    let text = ex.encode();
    for line in [
        "usetop_cpu_runqueue_wait_seconds_total{cpu=\"3\"} 3.2",
        "usetop_machine_check_interrupts_total{kind=\"exception\"} 3",
        "usetop_thermal_throttle_events_total{scope=\"core\",cpu=\"0\"} 103",
        "usetop_cpu_frequency_hertz{cpu=\"1\"} 800000000",
        "usetop_cpu_frequency_max_hertz{cpu=\"1\"} 4000000000",
        "usetop_temperature_celsius{chip=\"coretemp\",sensor=\"Package id 0\"} 88.0",
        "usetop_edac_errors_total{controller=\"mc0\",kind=\"corrected\"} 7",
        "usetop_numa_pages_total{node=\"0\",event=\"miss\"} 1000",
        "usetop_numa_memory_bytes{node=\"1\",kind=\"total\"} 4294967296",
        "usetop_softnet_total{cpu=\"0\",event=\"dropped\"} 3",
        "usetop_network_error_detail_total{device=\"eth0\",kind=\"rx_crc\"} 3",
        "usetop_filesystem_errors{device=\"dm-0\"} 3",
        "usetop_disk_stacked{device=\"md0\"} 1",
        "usetop_disk_stacked{device=\"sda\"} 0",
        "usetop_file_handles{kind=\"max\"} 10000",
        "usetop_tasks_limit{kind=\"threads_max\"} 1000",
        "usetop_task_delayacct 1",
    ] {
        assert!(text.contains(line), "missing {line:?} in\n{text}");
    }
    // cpu1's softnet `processed` wrapped: the counter grows by 32, it never goes back.
    assert!(text.contains("usetop_softnet_total{cpu=\"1\",event=\"processed\"} 4294967312"));
    // Prometheus' own linter accepts the series (in the 0.0.4 text it reads).
    let classic = to_prometheus_text(&text);
    let mut child = std::process::Command::new("promtool")
        .args(["check", "metrics"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("promtool (Debian's prometheus package; scripts/test.sh installs it)");
    use std::io::Write;
    child
        .stdin
        .take()
        .unwrap()
        .write_all(classic.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "promtool: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn thresholds_for_the_new_cells_load_from_the_config() {
    let c = Config::parse(
        "[thresholds]\nrunq_latency_ms_s = { warn = 5, crit = 50 }\nsoftnet_drops = { warn = 10, crit = 100 }\nfd_util = { warn = 70, crit = 90 }\n",
        Path::new("config.toml"),
    )
    .unwrap();
    assert_eq!(c.thresholds.runq_latency_ms_s.crit, 50.0);
    assert_eq!(c.thresholds.softnet_drops.warn, 10.0);
    assert_eq!(c.thresholds.fd_util.warn, 70.0);
    // Left out: the defaults (any MCE, EDAC or filesystem error red).
    let d = Thresholds::default();
    assert_eq!(c.thresholds.mce, d.mce);
    assert_eq!((d.mce.warn, d.mce.crit), (1.0, 1.0));
    assert_eq!((d.edac_ue.warn, d.edac_ue.crit), (1.0, 1.0));
    assert_eq!((d.fs_errors.warn, d.fs_errors.crit), (1.0, 1.0));
    assert_eq!((d.task_util.warn, d.task_util.crit), (80.0, 95.0));
    assert_eq!(d.runq_latency_ms_s.warn, 10.0);
    // With the looser bands the same snapshot judges differently.
    let s = snapshot("checklist");
    assert_eq!(s.checklist.softnet_drop_level(&c.thresholds), Level::Ok);
    assert_eq!(s.checklist.files_level(&c.thresholds), Level::Warn);
}

/// What rarely changes is one allocation for every sample of a ring: the notes of what a
/// machine lacks, and the block stacks.
#[test]
fn unchanged_notes_and_stacks_are_shared_between_samples() {
    let roots = fixture_roots("checklist");
    let mut c = Collectors::new(roots[0].clone());
    let mut clock = VirtualClock::new();
    let a = c.sample(&clock, Request::default());
    clock.advance(Duration::from_secs(1));
    let b = c.sample(&clock, Request::default());
    assert!(!a.checklist.block_stack.is_empty());
    assert!(Arc::ptr_eq(
        &a.checklist.block_stack,
        &b.checklist.block_stack
    ));
    let roots = fixture_roots("checklist_bare");
    let mut c = Collectors::new(roots[0].clone());
    let a = c.sample(&clock, Request::default());
    let b = c.sample(&clock, Request::default());
    assert!(a.checklist.notes.len() >= 5, "{:?}", a.checklist.notes);
    assert!(Arc::ptr_eq(&a.checklist.notes, &b.checklist.notes));
}

/// What exists is looked up again every `REDISCOVER` samples: a controller that appears is
/// found then, and one that vanished is forgotten with its kept descriptor. (On sysfs a
/// vanished device's descriptor reads ENODEV, which makes it go at once; a fixture's plain
/// file keeps reading until the descriptor is dropped.)
#[test]
fn sources_that_come_and_go_are_rediscovered() {
    use usetop::collectors::ProcRoot;
    use usetop::collectors::checklist::REDISCOVER;
    let dir = tempfile::tempdir().unwrap();
    common::copy_tree(Path::new("tests/fixtures/checklist/t0"), dir.path());
    let root = ProcRoot::new(dir.path().join("proc"), dir.path().join("sys"));
    let mut c = Collectors::new(root);
    let clock = VirtualClock::new();
    let names =
        |s: &Sample| -> Vec<String> { s.checklist.edac.iter().map(|m| m.name.clone()).collect() };
    assert_eq!(names(&c.sample(&clock, Request::default())), ["mc0", "mc1"]);
    let edac = dir.path().join("sys/devices/system/edac/mc");
    std::fs::remove_dir_all(edac.join("mc1")).unwrap();
    common::copy_tree(&edac.join("mc0"), &edac.join("mc2"));
    let mut last = Vec::new();
    for _ in 0..REDISCOVER {
        last = names(&c.sample(&clock, Request::default()));
    }
    assert_eq!(last, ["mc0", "mc2"]);
}
