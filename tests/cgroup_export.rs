//! `dump --pane cgroup` (JSON, CSV) and the `usetop_cgroup_*` OpenMetrics series on the
//! cgroup fixtures: every figure with its unit in the field name, `null` for what was not
//! read, and series bounded by depth and count.

mod common;

use std::io::Write;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::Duration;

use usetop::app::source::{RootsSource, SampleSource};
use usetop::collectors::{CgroupRequest, Request};
use usetop::export::cgroup::CgroupLimits;
use usetop::export::dump::{self, View};
use usetop::export::openmetrics::{Exporter, to_prometheus_text};
use usetop::model::{Sample, Snapshot};

fn samples(fixture: &str) -> Vec<Sample> {
    let mut src = RootsSource::new(common::fixture_roots(fixture), Duration::from_secs(1), true);
    let req = Request {
        cgroups: CgroupRequest { detail: true },
        ..Request::default()
    };
    (0..2).map(|i| src.next_sample(i, req).unwrap()).collect()
}

fn snapshot(fixture: &str) -> Snapshot {
    let s = samples(fixture);
    Snapshot::derive(1, Some(Arc::new(s[0].clone())), Arc::new(s[1].clone()))
}

const NGINX: &str = "/system.slice/nginx.service";

#[test]
fn cgroup_pane_has_a_dump_view() {
    assert_eq!(View::for_pane("cgroup"), Ok(View::Cgroup));
}

#[test]
fn json_has_every_figure_with_its_unit() {
    let snap = snapshot("cgroup_v2");
    let v: serde_json::Value = serde_json::from_str(&dump::json_line(View::Cgroup, &snap)).unwrap();
    assert_eq!(v["cgroup_layout"], "v2");
    assert_eq!(v["cgroup_detail"], true);
    assert_eq!(v["cgroup_count"], 17);
    assert!(v["cgroup_notes"].is_null());
    let rows = v["cgroups"].as_array().unwrap();
    assert_eq!(rows.len(), 17);
    let n = rows.iter().find(|r| r["path"] == NGINX).unwrap();
    assert_eq!(n["name"], "nginx.service");
    assert_eq!(n["parent"], "/system.slice");
    assert_eq!(n["depth"], 2);
    assert_eq!(n["new"], false);
    assert_eq!(n["procs"], 2);
    assert_eq!(n["cpu_pct"], 40.0);
    assert_eq!(n["cpu_host_pct"], 10.0);
    assert_eq!(n["cpu_quota_cpus"], 0.5);
    assert_eq!(n["cpu_period_us"], 100000);
    assert_eq!(n["cpu_quota_pct"], 80.0);
    assert_eq!(n["cpu_throttled_pct"], 40.0);
    assert_eq!(n["cpu_throttled_ms_per_s"], 38.0);
    assert_eq!(n["mem_current_bytes"], 150 << 20);
    assert_eq!(n["mem_max_bytes"], 200 << 20);
    // An unlimited limit is "max", not a number and not null.
    assert_eq!(n["mem_high_bytes"], "max");
    assert_eq!(n["mem_limit_pct"], 75.0);
    assert_eq!(n["mem_limit_path"], NGINX);
    assert_eq!(n["mem_events_oom_kill"], 1);
    assert_eq!(n["io_read_bytes_per_s"], 1_052_672.0);
    assert_eq!(
        n["io_max"],
        "8:0 rbps=max wbps=10485760 riops=max wiops=max"
    );
    assert_eq!(n["pids_max"], 100);
    assert_eq!(n["psi_cpu_some_pct"], 25.0);
    // Not read (no memory controller there) is null, never 0.
    let bare = rows
        .iter()
        .find(|r| r["path"] == "/system.slice/bare.service")
        .unwrap();
    for f in [
        "mem_current_bytes",
        "mem_max_bytes",
        "pids_current",
        "mem_limit_pct",
    ] {
        assert!(bare[f].is_null(), "{f}: {}", bare[f]);
    }
    // A re-created cgroup: new, and no rates.
    let re = rows
        .iter()
        .find(|r| r["path"] == "/system.slice/recreated.service")
        .unwrap();
    assert_eq!(re["new"], true);
    assert!(re["cpu_pct"].is_null());
}

/// Every figure's field name says its unit, or is a count, a name or a flag.
#[test]
fn field_names_carry_units() {
    let header = dump::csv_header(View::Cgroup);
    let plain = [
        "time",
        "wall_ms",
        "seq",
        "interval_s",
        "cgroup_layout",
        "cgroup_detail",
        "cgroup_count",
        "cgroup_notes",
        "path",
        "name",
        "depth",
        "parent",
        "inode",
        "new",
        "procs",
        "cpu_weight",
        "cpu_bursts",
        "mem_limit_path",
        "mem_under_oom",
        "io_max",
        "pids_current",
        "pids_max",
        "pids_refused",
    ];
    let units = ["_pct", "_bytes", "_per_s", "_us", "_cpus"];
    for f in &header {
        let ok = plain.contains(&f.as_str())
            || f.starts_with("mem_events_")
            || units.iter().any(|u| f.ends_with(u));
        assert!(ok, "{f} has no unit");
    }
    assert_eq!(header.len(), 4 + 4 + 54);
}

#[test]
fn csv_one_line_per_cgroup_matching_the_header() {
    let snap = snapshot("cgroup_v1");
    let header = dump::csv_header(View::Cgroup);
    let rows = dump::csv_rows(View::Cgroup, &snap);
    assert_eq!(rows.len(), 3);
    for r in &rows {
        assert_eq!(r.len(), header.len());
    }
    let col = |name: &str| header.iter().position(|h| h == name).unwrap();
    let app = rows.iter().find(|r| r[col("path")] == "/app").unwrap();
    assert_eq!(app[col("cgroup_layout")], "hybrid");
    assert_eq!(app[col("cpu_throttled_pct")], "90.0");
    assert_eq!(app[col("cpu_throttled_ms_per_s")], "900.0");
    assert_eq!(app[col("mem_events_oom_kill")], "1");
    assert_eq!(app[col("mem_high_bytes")], "");
    let root = rows.iter().find(|r| r[col("path")] == "/").unwrap();
    assert_eq!(root[col("mem_max_bytes")], "max");
}

fn exposition(limits: Option<CgroupLimits>, samples: Vec<Sample>) -> String {
    let mut ex = Exporter::new(0);
    if let Some(l) = limits {
        ex.set_cgroup_limits(l);
    }
    let mut prev: Option<Arc<Sample>> = None;
    for (i, s) in samples.into_iter().enumerate() {
        let cur = Arc::new(s);
        ex.update(&Snapshot::derive(i as u64, prev.take(), Arc::clone(&cur)));
        prev = Some(cur);
    }
    ex.encode()
}

fn cgroup_labels(om: &str) -> std::collections::BTreeSet<String> {
    om.lines()
        .filter(|l| l.starts_with("usetop_cgroup_"))
        .filter_map(|l| {
            let start = l.find("cgroup=\"")? + 8;
            let end = start + l[start..].find('"')?;
            Some(l[start..end].to_string())
        })
        .collect()
}

#[test]
fn openmetrics_series_bounded_by_depth_and_count() {
    let om = exposition(None, samples("cgroup_v2"));
    // Counters, with the cgroup label.
    let line = |prefix: &str| {
        om.lines()
            .find(|l| l.starts_with(prefix))
            .unwrap_or_else(|| panic!("no {prefix}\n{om}"))
            .to_string()
    };
    let v = |l: String| l.rsplit(' ').next().unwrap().parse::<f64>().unwrap();
    assert_eq!(
        v(line(&format!(
            "usetop_cgroup_cpu_usage_seconds_total{{cgroup=\"{NGINX}\"}}"
        ))),
        1.4
    );
    assert_eq!(
        v(line(&format!(
            "usetop_cgroup_cpu_throttled_periods_total{{cgroup=\"{NGINX}\"}}"
        ))),
        34.0
    );
    assert_eq!(
        v(line(&format!(
            "usetop_cgroup_cpu_quota_cpus{{cgroup=\"{NGINX}\"}}"
        ))),
        0.5
    );
    assert_eq!(
        v(line(&format!(
            "usetop_cgroup_memory_events_total{{cgroup=\"{NGINX}\",event=\"oom_kill\"}}"
        ))),
        1.0
    );
    assert!(om.contains("usetop_cgroups 17"), "{om}");
    // Depth 3 at most: pods (depth 3) are in, their containers (depth 4) are not.
    let labels = cgroup_labels(&om);
    assert!(labels.iter().any(|l| l.contains("-pod1a2b3c4d")));
    assert!(!labels.iter().any(|l| l.contains("cri-containerd")));
    assert_eq!(labels.len(), 15, "{labels:?}");
    // gone.service was exported after t0 and is gone at t1: its series went with it.
    assert!(!labels.iter().any(|l| l.contains("gone.service")));
    // Unlimited is no series, not 0.
    assert!(!om.contains(&format!(
        "usetop_cgroup_memory_high_bytes{{cgroup=\"{NGINX}\"}}"
    )));

    let om = exposition(
        Some(CgroupLimits {
            max_depth: 1,
            max_count: 3,
        }),
        samples("cgroup_v2"),
    );
    let labels = cgroup_labels(&om);
    // The root first, then the busiest of depth 1.
    assert_eq!(labels.len(), 3, "{labels:?}");
    assert!(labels.contains("/"));
    assert!(labels.contains("/system.slice"), "{labels:?}");
}

#[test]
fn openmetrics_with_cgroups_passes_promtool() {
    let om = exposition(None, samples("cgroup_v1"));
    let classic = to_prometheus_text(&om);
    let mut child = Command::new("promtool")
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("promtool (Debian's prometheus package; scripts/test.sh installs it)");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(classic.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    let msg =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{msg}\n{classic}");
    assert!(classic.contains("usetop_cgroup_cpu_throttled_seconds_total{cgroup=\"/app\"} 80.9"));
    assert!(classic.contains(
        "usetop_cgroup_pressure_stall_seconds_total{cgroup=\"/app\",resource=\"cpu\",kind=\"some\"} 0.9"
    ));
}

#[test]
fn dump_command_line_accepts_the_cgroup_pane() {
    let t1 = common::fixtures().join("cgroup_v1/t1");
    let out = Command::new(env!("CARGO_BIN_EXE_usetop"))
        .arg("--proc-root")
        .arg(t1.join("proc"))
        .arg("--sys-root")
        .arg(t1.join("sys"))
        .args([
            "dump", "--pane", "cgroup", "--format", "csv", "-n", "1", "-i", "0.1",
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    let mut lines = text.lines();
    let header = lines.next().unwrap();
    assert!(header.contains(",cpu_throttled_pct,"), "{header}");
    // The same tree twice: three cgroups, each with its detail (procs) read.
    let rows: Vec<&str> = lines.collect();
    assert_eq!(rows.len(), 3, "{text}");
    assert!(rows.iter().any(|r| r.contains(",/app,app,1,/,")), "{text}");
    let err = Command::new(env!("CARGO_BIN_EXE_usetop"))
        .args(["dump", "--pane", "nosuch"])
        .output()
        .unwrap();
    assert!(!err.status.success());
    assert!(String::from_utf8_lossy(&err.stderr).contains("cgroup"));
}
