//! One field list per row type: a process field declared once in `PROC_FIELDS` is a table
//! column, a picker entry, a config column name and a dump field, with the same names.

mod common;

use std::collections::BTreeSet;
use std::path::Path;

use usetop::app::config::Config;
use usetop::export::dump::{self, View};
use usetop::headless::{HeadlessOptions, render_headless};
use usetop::model::fields::PROC_FIELDS;
use usetop::panes::PaneId;

fn field_names() -> BTreeSet<&'static str> {
    PROC_FIELDS.iter().map(|f| f.name).collect()
}

/// The process table with every field shown, at a width that fits them all.
fn table_with_all_fields(keys: &str) -> String {
    let names: Vec<String> = PROC_FIELDS.iter().map(|f| f.name.to_string()).collect();
    let mut app = common::options(PaneId::Proc);
    app.ui.columns = Some(names);
    let roots = common::fixture_roots("basic");
    let out = render_headless(HeadlessOptions {
        app,
        cols: 400,
        rows: 50,
        frames: roots.len(),
        keys: keys.into(),
        roots,
        virtual_clock: true,
    })
    .unwrap();
    out.rsplit("\x0c\n").next().unwrap().to_string()
}

#[test]
fn every_proc_field_is_a_column_a_picker_entry_a_config_name_and_a_dump_field() {
    let names = field_names();

    // The table: its columns are the fields, and each header shows when all are shown.
    let table: BTreeSet<&str> = usetop::panes::proc::proc_columns()
        .iter()
        .map(|c| c.name)
        .collect();
    assert_eq!(table, names);
    let out = table_with_all_fields("");
    let header = out
        .lines()
        .find(|l| l.starts_with("PID"))
        .unwrap_or_else(|| panic!("{out}"));
    for f in PROC_FIELDS {
        assert!(header.contains(f.header), "{} not in {header}", f.header);
    }

    // The picker lists every field.
    let out = table_with_all_fields("C");
    for f in PROC_FIELDS {
        assert!(
            out.contains(&format!("[x] {}", f.header)),
            "{} not in the picker:\n{out}",
            f.header
        );
    }

    // The config takes every field's name, and nothing else.
    let all: Vec<String> = names.iter().map(|n| format!("{n:?}")).collect();
    let c = Config::parse(&format!("columns = [{}]\n", all.join(", ")), Path::new("c")).unwrap();
    let config: BTreeSet<String> = c.columns.unwrap().into_iter().collect();
    assert_eq!(
        config,
        names.iter().map(|n| n.to_string()).collect::<BTreeSet<_>>()
    );
    assert!(Config::parse("columns = [\"cpu_pct\"]\n", Path::new("c")).is_err());

    // The dump: every field with a dump name, in CSV and JSON alike; only the command line
    // stays out of it (it can hold secrets).
    let dumped: BTreeSet<&str> = PROC_FIELDS
        .iter()
        .filter(|f| f.dump.is_some())
        .map(|f| f.name)
        .collect();
    let undumped: Vec<&str> = names.difference(&dumped).copied().collect();
    assert_eq!(undumped, ["command"]);
    let keys: Vec<String> = PROC_FIELDS
        .iter()
        .filter_map(|f| f.dump.map(String::from))
        .collect();
    assert_eq!(dump::csv_header(View::Proc)[4..], keys[..]);
    let mut tl = usetop::timeline::Timeline::new(8);
    let mut clock = usetop::collectors::VirtualClock::new();
    for root in common::fixture_roots("basic") {
        let mut c = usetop::collectors::Collectors::new(root);
        tl.push(c.sample(&clock, Default::default()));
        clock.advance(std::time::Duration::from_secs(1));
    }
    let snap = tl.snapshot().unwrap();
    let v: serde_json::Value = serde_json::from_str(&dump::json_line(View::Proc, snap)).unwrap();
    let row: Vec<String> = v["procs"][0].as_object().unwrap().keys().cloned().collect();
    assert_eq!(row, keys);
}

#[test]
fn dump_names_keep_their_unit_suffix() {
    use usetop::model::fields::Unit;
    for f in PROC_FIELDS {
        let Some(k) = f.dump else { continue };
        let ok = match f.unit {
            Unit::Pct => k.ends_with("_pct"),
            Unit::Bytes => k.ends_with("_bytes"),
            Unit::BytesPerSec => k.ends_with("_bytes_per_s"),
            Unit::PerSec => k.ends_with("_per_s"),
            Unit::CpuSeconds => k.ends_with("_s"),
            Unit::MsPerSec => k.ends_with("_ms_per_s"),
            Unit::Millis => k.ends_with("_ms"),
            Unit::KibPerSec => k.ends_with("_kbps"),
            Unit::Kib => k.ends_with("_kb"),
            Unit::MbitPerSec => k.ends_with("_mbps"),
            Unit::Count | Unit::Text | Unit::Flag => true,
        };
        assert!(ok, "{k} does not say its unit {:?}", f.unit);
    }
}
