//! One field list per row type beside processes: each table's columns, its dump's JSON and
//! CSV fields and the field list agree, and the dump names keep their unit suffix.

mod common;

use std::sync::Arc;
use std::time::Duration;

use usetop::app::App;
use usetop::app::source::{RootsSource, SampleSource};
use usetop::export::dump::{self, View};
use usetop::model::Snapshot;
use usetop::model::fields::{Field, Unit};
use usetop::panes::PaneId;

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
    app.timeline.latest().cloned().unwrap()
}

fn suffix_ok(unit: Unit, k: &str) -> bool {
    match unit {
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
    }
}

/// The table's columns are the fields in order; the dump writes every field with a dump
/// name (and only those `undumped` lack one), in CSV and JSON alike, in the same order; the
/// record type a dump is read back into names only dump fields.
fn check<R>(
    fields: &[Field<R>],
    columns: Vec<&'static str>,
    view: View,
    key: &str,
    fixture: &str,
    undumped: &[&str],
    record: serde_json::Value,
) {
    let names: Vec<&str> = fields.iter().map(|f| f.name).collect();
    assert_eq!(columns, names, "table columns against the field list");
    let without: Vec<&str> = fields
        .iter()
        .filter(|f| f.dump.is_none())
        .map(|f| f.name)
        .collect();
    assert_eq!(without, undumped);
    let keys: Vec<String> = fields
        .iter()
        .filter_map(|f| f.dump.map(String::from))
        .collect();
    let mut unique = keys.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(unique.len(), keys.len(), "dump names repeat: {keys:?}");
    let mut unique = names.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(unique.len(), names.len(), "field names repeat: {names:?}");
    for f in fields {
        if let Some(k) = f.dump {
            assert!(
                suffix_ok(f.unit, k),
                "{k} does not say its unit {:?}",
                f.unit
            );
        }
    }

    // Disks and interfaces carry the USE checklist's figures after their fields (those are
    // not table columns yet).
    let extra: Vec<String> = match view {
        // The checklist's figures, then the traced latency.
        dump::View::Disk => [
            serde_json::to_value(usetop::export::checklist::DiskChecklist::default()).unwrap(),
            serde_json::to_value(usetop::export::blktrace::DiskLatency::default()).unwrap(),
        ]
        .iter()
        .flat_map(|v| v.as_object().unwrap().keys().cloned().collect::<Vec<_>>())
        .collect(),
        dump::View::Net => serde_json::to_value(usetop::export::checklist::NicChecklist::default())
            .unwrap()
            .as_object()
            .unwrap()
            .keys()
            .cloned()
            .collect(),
        _ => Vec::new(),
    };
    let written: Vec<String> = keys.iter().chain(&extra).cloned().collect();

    // CSV: the rows' fields come last in the header.
    let header = dump::csv_header(view);
    assert_eq!(header[header.len() - written.len()..], written[..]);

    // JSON: each row holds exactly the dump names, in order.
    let snap = snapshot_of(fixture);
    let v: serde_json::Value = serde_json::from_str(&dump::json_line(view, &snap)).unwrap();
    let rows = v[key].as_array().unwrap();
    assert!(!rows.is_empty(), "no {key} in the {fixture} fixture");
    for row in rows {
        let row: Vec<String> = row.as_object().unwrap().keys().cloned().collect();
        assert_eq!(row, written);
    }
    // The CSV rows have the header's width.
    for row in dump::csv_rows(view, &snap) {
        assert_eq!(row.len(), header.len());
    }

    // The record type used to read a dump back names dump fields only.
    for k in record.as_object().unwrap().keys() {
        assert!(written.contains(k), "{k} is read back but not written");
    }
}

fn names<R>(cols: Vec<usetop::widgets::table::Column<R>>) -> Vec<&'static str> {
    cols.iter().map(|c| c.name).collect()
}

#[test]
fn socket_table_and_dump_share_one_field_list() {
    use usetop::model::fields::SOCK_FIELDS;
    check(
        SOCK_FIELDS,
        names(usetop::panes::sock::sock_columns()),
        View::Sock,
        "sockets",
        "sock",
        &["process"],
        serde_json::to_value(dump::SockRecord::default()).unwrap(),
    );
}

#[test]
fn slab_table_and_dump_share_one_field_list() {
    use usetop::model::fields::SLAB_FIELDS;
    check(
        SLAB_FIELDS,
        names(usetop::panes::slab::slab_columns()),
        View::Slab,
        "caches",
        "basic",
        &[],
        serde_json::to_value(dump::SlabRecord::default()).unwrap(),
    );
}

#[test]
fn disk_table_and_dump_share_one_field_list() {
    use usetop::model::fields::DISK_FIELDS;
    let shown: Vec<&str> = DISK_FIELDS
        .iter()
        .filter(|f| f.shown)
        .map(|f| f.name)
        .collect();
    let table = usetop::panes::disk::DiskState::default();
    assert_eq!(table.devices.column_names(), shown);
    check(
        DISK_FIELDS,
        DISK_FIELDS.iter().map(|f| f.name).collect(),
        View::Disk,
        "disks",
        "basic",
        &[],
        serde_json::to_value(dump::DiskRecord::default()).unwrap(),
    );
}

#[test]
fn interface_table_and_dump_share_one_field_list() {
    use usetop::model::fields::NIC_FIELDS;
    let shown: Vec<&str> = NIC_FIELDS
        .iter()
        .filter(|f| f.shown)
        .map(|f| f.name)
        .collect();
    let table = usetop::panes::net::NetState::default();
    assert_eq!(table.ifaces.column_names(), shown);
    check(
        NIC_FIELDS,
        NIC_FIELDS.iter().map(|f| f.name).collect(),
        View::Net,
        "interfaces",
        "basic",
        &[],
        serde_json::to_value(dump::NicRecord::default()).unwrap(),
    );
}

#[test]
fn per_cpu_counter_table_and_dump_share_one_field_list() {
    use usetop::model::fields::PERF_CPU_FIELDS;
    use usetop::panes::perf::cpu_columns;
    let shown: Vec<&str> = PERF_CPU_FIELDS
        .iter()
        .filter(|f| f.shown)
        .map(|f| f.name)
        .collect();
    let wide: Vec<&str> = cpu_columns(false, true).iter().map(|f| f.name).collect();
    assert_eq!(wide, shown);
    // Narrow: REF/s, MISS/s and BMISS/s go; without hardware counters only software events.
    let narrow: Vec<&str> = cpu_columns(false, false).iter().map(|f| f.name).collect();
    assert_eq!(
        narrow,
        [
            "cpu", "mcycles", "minstr", "ipc", "miss", "cs", "migr", "flt"
        ]
    );
    let sw: Vec<&str> = cpu_columns(true, true).iter().map(|f| f.name).collect();
    assert_eq!(sw, ["cpu", "cs", "migr", "flt"]);
    check(
        PERF_CPU_FIELDS,
        PERF_CPU_FIELDS.iter().map(|f| f.name).collect(),
        View::Perf,
        "cpus",
        "basic",
        &[],
        serde_json::to_value(dump::PerfCpuRecord::default()).unwrap(),
    );
}
