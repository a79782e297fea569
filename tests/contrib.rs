//! contrib/: the Prometheus rules, their unit tests, the Grafana dashboard and the systemd
//! unit, each checked against what usetop really exports and accepts:
//! - `promtool check rules` and `promtool test rules` pass;
//! - every series, label and label value the rules, their tests and the dashboard name is one
//!   that `usetop serve` exports (three real servers on fixture trees are scraped);
//! - a real Prometheus server with the rules loaded scrapes those servers, every recording
//!   rule yields a series, and an alert fires on a fixture that has its problem;
//! - the unit's ExecStart flags are ones `usetop record` accepts, it is hardened, and
//!   `systemd-analyze verify` passes where systemd-analyze is installed.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::serve::{Reaper, free_port, get, tool};

fn contrib(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("contrib")
        .join(rel)
}

fn run(cmd: &mut Command) -> (bool, String) {
    let out = cmd.output().expect("start tool");
    let msg =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    (out.status.success(), msg)
}

/// The fixtures whose scrapes together carry every series usetop exports.
const FIXTURES: [&str; 4] = ["basic/t1", "checklist/t1", "cgroup_v2/t1", "sock/t1"];

/// Metric name → label name → values seen, over scrapes of real `usetop serve` runs.
type Seen = BTreeMap<String, BTreeMap<String, BTreeSet<String>>>;

fn scrape(addr: SocketAddr, seen: &mut Seen) {
    let deadline = Instant::now() + Duration::from_secs(20);
    let body = loop {
        // The second sample carries the rates' series: wait for a scrape after it.
        if let Ok((200, _, body)) = get(addr, "/metrics", "*/*")
            && body.contains("usetop_sample_interval_seconds ")
        {
            break body;
        }
        assert!(Instant::now() < deadline, "usetop serve never answered");
        std::thread::sleep(Duration::from_millis(100));
    };
    for line in body
        .lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
    {
        let name_end = line.find(['{', ' ']).unwrap_or(line.len());
        let entry = seen.entry(line[..name_end].to_string()).or_default();
        if let Some(labels) = line[name_end..]
            .strip_prefix('{')
            .and_then(|r| r.split_once('}'))
        {
            for (k, v) in parse_matchers(labels.0) {
                entry.entry(k).or_default().insert(v.1);
            }
        }
    }
}

fn scraped() -> Seen {
    let mut seen = Seen::new();
    for f in FIXTURES {
        let (_s, addr) = common::serve::start(f);
        scrape(addr, &mut seen);
    }
    seen
}

/// A label matcher: (label, (operator, value)).
type Matcher = (String, (String, String));

/// `a="x",b=~"y|z"` → [(a, ("=", x)), (b, ("=~", y|z))]. Values hold no quotes here.
fn parse_matchers(s: &str) -> Vec<Matcher> {
    let mut out = Vec::new();
    let mut rest = s.trim();
    while !rest.is_empty() {
        let Some(op_at) = rest.find(['=', '!']) else {
            break;
        };
        let name = rest[..op_at].trim().to_string();
        let after = &rest[op_at..];
        let op_len =
            if after.starts_with("=~") || after.starts_with("!~") || after.starts_with("!=") {
                2
            } else {
                1
            };
        let op = after[..op_len].to_string();
        let v = after[op_len..].trim_start().trim_start_matches('"');
        let end = v.find('"').unwrap_or(v.len());
        out.push((name, (op, v[..end].to_string())));
        rest = v[end..]
            .trim_start_matches('"')
            .trim_start_matches(',')
            .trim();
    }
    out
}

/// Every `usetop_…` selector in a PromQL expression, with its matchers.
fn selectors(expr: &str) -> Vec<(String, Vec<Matcher>)> {
    let mut out = Vec::new();
    let b = expr.as_bytes();
    let mut i = 0;
    while let Some(at) = expr[i..].find("usetop_") {
        let start = i + at;
        // A recording rule's name (level:usetop_metric:op) is checked by name elsewhere.
        let prev = start.checked_sub(1).map(|p| b[p]);
        let mut end = start;
        while end < b.len() && (b[end].is_ascii_alphanumeric() || b[end] == b'_') {
            end += 1;
        }
        let is_record = prev == Some(b':') || b.get(end) == Some(&b':');
        let name = expr[start..end].to_string();
        let mut matchers = Vec::new();
        if b.get(end) == Some(&b'{')
            && let Some(close) = expr[end..].find('}')
        {
            matchers = parse_matchers(&expr[end + 1..end + close]);
        }
        if !is_record {
            out.push((name, matchers));
        }
        i = end;
    }
    out
}

/// Recording rule names (`level:metric:op`) used in an expression.
fn records_used(expr: &str) -> Vec<String> {
    expr.split(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == ':'))
        .filter(|t| t.matches(':').count() == 2 && t.contains("usetop_"))
        .map(str::to_string)
        .collect()
}

/// Labels whose values name a thing of the scraped host (a device, a cgroup): any value
/// is fine in rules and tests.
const IDENTITY: [&str; 10] = [
    "instance",
    "job",
    "device",
    "cgroup",
    "cpu",
    "mountpoint",
    "controller",
    "node",
    "package",
    "fstype",
];

/// Checks one selector against the scrapes; returns a problem, if any.
fn check_selector(
    seen: &Seen,
    name: &str,
    matchers: &[(String, (String, String))],
) -> Option<String> {
    let Some(labels) = seen.get(name) else {
        return Some(format!("{name}: usetop serve exports no such series"));
    };
    for (label, (op, value)) in matchers {
        // Prometheus adds these two to every series it scrapes.
        if label == "instance" || label == "job" {
            continue;
        }
        if IDENTITY.contains(&label.as_str()) {
            if !labels.contains_key(label) {
                return Some(format!("{name}: no label {label}"));
            }
            continue;
        }
        let Some(values) = labels.get(label) else {
            return Some(format!("{name}: no label {label}"));
        };
        let wanted: Vec<&str> = match op.as_str() {
            "=" | "!=" => vec![value.as_str()],
            _ => value.split('|').collect(),
        };
        if !wanted.iter().any(|w| values.contains(*w)) {
            return Some(format!(
                "{name}{{{label}{op}\"{value}\"}}: values seen are {values:?}"
            ));
        }
    }
    None
}

/// (expression, where) for every `expr:` of the rules file, and the recording rules' names.
fn rule_exprs() -> (Vec<(String, String)>, BTreeSet<String>) {
    let text = std::fs::read_to_string(contrib("prometheus/usetop-rules.yml")).unwrap();
    let mut exprs = Vec::new();
    let mut records = BTreeSet::new();
    for (n, line) in text.lines().enumerate() {
        let t = line.trim_start().trim_start_matches("- ");
        if let Some(r) = t.strip_prefix("record: ") {
            records.insert(r.trim().to_string());
        }
        if let Some(e) = t.strip_prefix("expr: ") {
            exprs.push((e.trim().to_string(), format!("usetop-rules.yml:{}", n + 1)));
        }
    }
    (exprs, records)
}

#[test]
fn promtool_checks_and_unit_tests_the_rules() {
    let (ok, msg) = run(Command::new(tool("promtool"))
        .args(["check", "rules"])
        .arg(contrib("prometheus/usetop-rules.yml")));
    assert!(ok, "promtool check rules: {msg}");
    assert!(msg.contains("SUCCESS"), "{msg}");
    let (ok, msg) = run(Command::new(tool("promtool"))
        .args(["test", "rules"])
        .arg(contrib("prometheus/usetop-rules.test.yml")));
    assert!(ok, "promtool test rules: {msg}");
}

#[test]
fn rules_tests_and_dashboard_name_only_series_usetop_serves() {
    let seen = scraped();
    let (exprs, records) = rule_exprs();
    assert!(exprs.len() >= 40, "{} expressions", exprs.len());
    let mut problems = Vec::new();
    let mut check = |expr: &str, at: &str| {
        for (name, m) in selectors(expr) {
            if let Some(p) = check_selector(&seen, &name, &m) {
                problems.push(format!("{at}: {p}"));
            }
        }
        for r in records_used(expr) {
            if !records.contains(&r) {
                problems.push(format!("{at}: no recording rule {r}"));
            }
        }
    };
    for (e, at) in &exprs {
        check(e, at);
    }
    // The unit tests' input series are usetop's series, labels and values.
    let tests = std::fs::read_to_string(contrib("prometheus/usetop-rules.test.yml")).unwrap();
    let mut inputs = 0;
    for (n, line) in tests.lines().enumerate() {
        if let Some(s) = line.trim_start().strip_prefix("- series: ") {
            inputs += 1;
            check(
                s.trim_matches('\''),
                &format!("usetop-rules.test.yml:{}", n + 1),
            );
        }
    }
    assert!(inputs >= 15, "{inputs} input series");
    // The dashboard's queries too, with its `$host` variable in each.
    let dash: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(contrib("grafana/usetop-use.json")).unwrap())
            .unwrap();
    let panels = dash["panels"].as_array().unwrap();
    let rows: Vec<&str> = panels
        .iter()
        .filter(|p| p["type"] == "row")
        .map(|p| p["title"].as_str().unwrap())
        .collect();
    for want in [
        "CPU",
        "Memory",
        "Storage",
        "Network",
        "TCP",
        "Resource controls",
    ] {
        assert!(
            rows.iter().any(|r| r.starts_with(want)),
            "no {want} row: {rows:?}"
        );
    }
    let mut queries = 0;
    for p in panels.iter().filter(|p| p["type"] == "timeseries") {
        let title = p["title"].as_str().unwrap();
        assert!(
            ["Utilization", "Saturation", "Errors"]
                .iter()
                .any(|k| title.ends_with(k)),
            "{title}: not a U, S or E panel"
        );
        for t in p["targets"].as_array().unwrap() {
            let e = t["expr"].as_str().unwrap();
            queries += 1;
            assert!(
                e.contains("$host"),
                "{title}: {e} ignores the host variable"
            );
            check(e, &format!("usetop-use.json {title}"));
        }
    }
    assert!(queries >= 30, "{queries} queries");
    let host = dash["templating"]["list"]
        .as_array()
        .unwrap()
        .iter()
        .find(|v| v["name"] == "host")
        .expect("a host variable");
    assert!(
        host["definition"]
            .as_str()
            .unwrap()
            .contains("usetop_build_info")
    );
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn the_checker_catches_a_wrong_name_label_or_value() {
    let mut seen = Seen::new();
    seen.entry("usetop_vm_events_total".into())
        .or_default()
        .entry("event".into())
        .or_default()
        .insert("oom_kill".into());
    let ok = selectors(r#"increase(usetop_vm_events_total{event="oom_kill"}[5m])"#);
    assert_eq!(ok.len(), 1);
    assert_eq!(check_selector(&seen, &ok[0].0, &ok[0].1), None);
    for bad in [
        r#"increase(usetop_vm_event_total{event="oom_kill"}[5m])"#,
        r#"increase(usetop_vm_events_total{evnt="oom_kill"}[5m])"#,
        r#"increase(usetop_vm_events_total{event="oomkill"}[5m])"#,
    ] {
        let s = selectors(bad);
        assert!(check_selector(&seen, &s[0].0, &s[0].1).is_some(), "{bad}");
    }
    assert_eq!(
        records_used("instance:usetop_oom_kills:increase5m > 0"),
        vec!["instance:usetop_oom_kills:increase5m".to_string()]
    );
    assert!(selectors("instance:usetop_oom_kills:increase5m > 0").is_empty());
}

fn query(web: SocketAddr, q: &str) -> Vec<serde_json::Value> {
    let enc: String = q
        .bytes()
        .map(|b| match b {
            b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'_' | b':' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect();
    match get(
        web,
        &format!("/api/v1/query?query={enc}"),
        "application/json",
    ) {
        Ok((200, _, body)) => {
            let v: serde_json::Value = serde_json::from_str(&body).unwrap_or_default();
            v["data"]["result"].as_array().cloned().unwrap_or_default()
        }
        _ => Vec::new(),
    }
}

#[test]
fn a_prometheus_server_evaluates_every_recording_rule_on_usetop_serve() {
    let servers: Vec<_> = FIXTURES.iter().map(|f| common::serve::start(f)).collect();
    let dir = tempfile::tempdir().unwrap();
    let targets: Vec<String> = servers.iter().map(|(_, a)| format!("'{a}'")).collect();
    let config = dir.path().join("prometheus.yml");
    std::fs::write(
        &config,
        format!(
            "global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\n  evaluation_interval: 1s\n\
             rule_files:\n  - {}\n\
             scrape_configs:\n  - job_name: usetop\n    static_configs:\n      - targets: [{}]\n",
            contrib("prometheus/usetop-rules.yml").display(),
            targets.join(", ")
        ),
    )
    .unwrap();
    let web: SocketAddr = format!("127.0.0.1:{}", free_port()).parse().unwrap();
    let log_path = dir.path().join("prometheus.log");
    let _prom = Reaper(
        Command::new(tool("prometheus"))
            .arg(format!("--config.file={}", config.display()))
            .arg(format!(
                "--storage.tsdb.path={}",
                dir.path().join("data").display()
            ))
            .arg(format!("--web.listen-address={web}"))
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log_path).unwrap())
            .spawn()
            .expect("start prometheus"),
    );
    let (_, records) = rule_exprs();
    let deadline = Instant::now() + Duration::from_secs(90);
    let mut missing: Vec<String> = records.iter().cloned().collect();
    let mut fired = false;
    while (!missing.is_empty() || !fired) && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(500));
        missing.retain(|r| query(web, r).is_empty());
        // dm-0 of the checklist fixture has 3 ext4 errors: that alert has no `for`.
        fired = query(
            web,
            r#"ALERTS{alertname="UsetopFilesystemErrors",device="dm-0",alertstate="firing"}"#,
        )
        .len()
            == 1;
    }
    let log = std::fs::read_to_string(&log_path).unwrap_or_default();
    assert!(
        missing.is_empty(),
        "recording rules with no series after scraping usetop serve: {missing:?}\n{}",
        log.lines().rev().take(10).collect::<Vec<_>>().join("\n")
    );
    assert!(fired, "UsetopFilesystemErrors never fired on dm-0");
    // The quiet fixtures page nobody for CPU, memory or disks.
    for quiet in ["UsetopCpuSaturated", "UsetopOomKill", "UsetopDiskBusy"] {
        assert!(
            query(web, &format!("ALERTS{{alertname=\"{quiet}\"}}")).is_empty(),
            "{quiet} fired on a fixture"
        );
    }
}

#[test]
fn the_systemd_unit_is_hardened_and_names_real_flags() {
    let path = contrib("systemd/usetop-record.service");
    let unit = std::fs::read_to_string(&path).unwrap();
    for want in [
        "ProtectSystem=strict",
        "ReadWritePaths=/var/log/usetop",
        "NoNewPrivileges=yes",
        "IOSchedulingClass=idle",
        "Restart=on-failure",
        "UMask=0077",
    ] {
        assert!(unit.lines().any(|l| l == want), "{want} missing");
    }
    assert!(unit.lines().any(|l| l.starts_with("Nice=")));
    let exec = unit
        .lines()
        .find_map(|l| l.strip_prefix("ExecStart="))
        .expect("ExecStart");
    let args: Vec<&str> = exec.split_whitespace().collect();
    assert_eq!(args[0], "/usr/local/bin/usetop");
    assert_eq!(args[1], "record");
    let (ok, help) = run(Command::new(env!("CARGO_BIN_EXE_usetop")).args(["record", "--help"]));
    assert!(ok, "{help}");
    for flag in args.iter().filter(|a| a.starts_with("--")) {
        assert!(
            help.contains(&format!("{flag} ")),
            "`usetop record` has no {flag}:\n{help}"
        );
    }
    // systemd-analyze checks the directives and that ExecStart's program exists: point it
    // at the binary under test.
    let Some(analyze) = ["/usr/bin/systemd-analyze", "/bin/systemd-analyze"]
        .iter()
        .find(|p| Path::new(p).is_file())
    else {
        eprintln!("systemd-analyze is not installed: `systemd-analyze verify` not run");
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let copy = dir.path().join("usetop-record.service");
    std::fs::write(
        &copy,
        unit.replace("/usr/local/bin/usetop", env!("CARGO_BIN_EXE_usetop")),
    )
    .unwrap();
    let (ok, msg) = run(Command::new(analyze).arg("verify").arg(&copy));
    assert!(ok && msg.trim().is_empty(), "systemd-analyze verify: {msg}");
}
