//! The overview's cgroup rows on the cgroup fixture (tests/fixtures/make_cgroup.py): the
//! worst cgroups with their limits, a summary row for the rest, reasons that name the
//! cgroup and the limit, the thresholds from the config, and Enter to the cgroup pane.

mod common;

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use common::{headless, headless_frames};
use usetop::app::config::Config;
use usetop::app::source::{RootsSource, SampleSource};
use usetop::collectors::Request;
use usetop::model::Snapshot;
use usetop::model::level::Level;
use usetop::model::thresholds::Thresholds;
use usetop::model::verdict::{Instance, Kind, Verdict, judge};
use usetop::panes::PaneId;

const NGINX: &str = "/system.slice/nginx.service";
const CRI_B: &str = "/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod1a2b3c4d_5e6f_7081_92a3_b4c5d6e7f809.slice/cri-containerd-c0ffee0000b1aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.scope";

/// t0 then t1 of a fixture through the overview's request (no detail files).
fn snapshot(fixture: &str) -> Snapshot {
    let mut src = RootsSource::new(common::fixture_roots(fixture), Duration::from_secs(1), true);
    let a = Arc::new(src.next_sample(0, Request::default()).unwrap());
    let b = Arc::new(src.next_sample(1, Request::default()).unwrap());
    assert!(!b.cgroups.as_ref().unwrap().detail);
    Snapshot::derive(1, Some(a), b)
}

fn cgroup_rows(v: &[Verdict]) -> Vec<&Verdict> {
    v.iter()
        .filter(|v| v.resource.kind == Kind::Cgroup)
        .collect()
}

#[test]
fn worst_cgroups_then_the_rest() {
    let s = snapshot("cgroup_v2");
    let v = judge(&s, &Thresholds::default());
    let rows = cgroup_rows(&v);
    assert_eq!(rows.len(), 3, "{rows:#?}");
    // The container at 95 % of its 1 CPU quota, throttled in 9 of 10 periods; then nginx,
    // throttled in 40 % of periods with an OOM kill.
    assert_eq!(rows[0].resource.name(), Some(CRI_B));
    assert_eq!(rows[1].resource.name(), Some(NGINX));
    assert_eq!(rows[2].resource.instance, Instance::Rest(14));
    assert_eq!(rows[0].resource.to_string(), "CG cri:c0ffee0000b1");
    assert_eq!(rows[0].pane, "cgroup");
    let cri = rows[0];
    assert_eq!((cri.u.level, cri.s.level), (Level::Crit, Level::Crit));
    assert_eq!(cri.u.figure.to_string(), "cpu 95% of 1 CPU");
    assert_eq!(cri.s.figure.to_string(), "thr 90% psi 0.0%");
    // 15 memory.max hits: yellow, not red.
    assert_eq!(cri.e.level, Level::Warn);
    assert_eq!(cri.e.figure.to_string(), "kill 0 max 15");
    let nginx = rows[1];
    assert_eq!(
        nginx.s.reason.as_ref().unwrap().to_string(),
        "throttled 40% of periods (38 ms/s), quota 0.5 CPU; tasks stalled on CPU 25.0% of the time"
    );
    assert_eq!(nginx.e.level, Level::Crit);
    assert_eq!(
        nginx.e.reason.as_ref().unwrap().to_string(),
        "1 process OOM-killed, 3 memory.max hits in the interval (memory.max 200M)"
    );
    // 80 % of the 0.5 CPU quota: yellow.
    assert_eq!(nginx.u.level, Level::Warn);
    assert_eq!(
        nginx.u.reason.as_ref().unwrap().to_string(),
        "CPU 80% of its quota, 0.5 CPU"
    );
    // The rest: limited.slice's children at 90 % of their parent's 1000 MiB limit.
    let rest = rows[2];
    assert_eq!(rest.u.figure.to_string(), "≤90% of limits");
    assert_eq!(rest.u.level, Level::Warn);
    // The root is left out: its figures are the host's.
    assert!(rows.iter().all(|r| r.resource.name() != Some("/")));
}

#[test]
fn thresholds_load_from_the_config() {
    let c = Config::parse(
        "[thresholds]\ncgroup_throttled_pct = { warn = 50, crit = 95 }\n",
        Path::new("config.toml"),
    )
    .unwrap();
    assert_eq!(c.thresholds.cgroup_throttled_pct.crit, 95.0);
    let d = Thresholds::default();
    assert_eq!(c.thresholds.cgroup_oom, d.cgroup_oom);
    // nginx's 40 % of periods is no longer red, the container's 90 % is yellow.
    let s = snapshot("cgroup_v2");
    let v = judge(&s, &c.thresholds);
    let rows = cgroup_rows(&v);
    let nginx = rows
        .iter()
        .find(|r| r.resource.name() == Some(NGINX))
        .unwrap();
    assert_eq!(nginx.s.level, Level::Crit, "PSI cpu 25 % is still red");
    let cri = rows[0];
    assert_eq!(cri.s.level, Level::Warn);
}

#[test]
fn nothing_mounted_is_one_row_saying_why() {
    let s = snapshot("basic");
    let v = judge(&s, &Thresholds::default());
    let rows = cgroup_rows(&v);
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].u.level, Level::Unknown);
    assert!(
        rows[0]
            .u
            .reason
            .as_ref()
            .unwrap()
            .to_string()
            .contains("neither cgroup v2 nor v1 controllers are mounted")
    );
}

#[test]
fn overview_at_80x24_and_160x50() {
    let small = headless("cgroup_v2", PaneId::Use, 80, 24, "");
    insta::assert_snapshot!("cgroup_overview_80x24", small);
    assert!(small.contains("CG nginx.service"), "{small}");
    assert!(
        small.contains("! CG nginx.service: throttled 40% of periods (38 ms/s), quota 0.5 CPU"),
        "{small}"
    );
    let big = headless("cgroup_v2", PaneId::Use, 160, 50, "");
    insta::assert_snapshot!("cgroup_overview_160x50", big);
    assert!(big.contains("CG +14"), "{big}");
}

#[test]
fn enter_on_a_cgroup_row_opens_the_pane_at_it() {
    // Keys go in on the first sample, where limited.slice is the second cgroup row.
    let first = headless_frames("cgroup_v2", PaneId::Use, 100, 30, "");
    let first = first.split("\x0c\n").next().unwrap();
    let labels: Vec<&str> = first
        .lines()
        .skip_while(|l| !l.starts_with("Resource"))
        .skip(1)
        .map(|l| l.get(..16).unwrap_or(l).trim_end())
        .collect();
    let at = labels
        .iter()
        .position(|l| *l == "CG limited.slice")
        .unwrap_or_else(|| panic!("no CG limited.slice row:\n{first}"));
    assert!(labels[at - 1].starts_with("CG "), "{first}");
    let keys = "Down ".repeat(at) + "Enter";
    let s = headless("cgroup_v2", PaneId::Use, 100, 30, &keys);
    assert!(s.contains("cgroups layout v2"), "{s}");
    let sel = s.lines().nth(3).unwrap();
    assert!(sel.ends_with(" /limited.slice"), "{s}");
}
