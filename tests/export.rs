//! Dumps parsed back and checked against the snapshot they came from.

mod common;

use std::sync::Arc;
use std::time::Duration;

use usetop::app::App;
use usetop::app::source::{RootsSource, SampleSource};
use usetop::export::dump::{self, ProcRecord, SystemRecord, View};
use usetop::model::Snapshot;
use usetop::panes::PaneId;

/// The second snapshot of the basic fixture (the one with rates), derived as live mode does.
fn snapshot() -> Arc<Snapshot> {
    let mut app = App::new(common::options(PaneId::Use));
    let mut src = RootsSource::new(common::fixture_roots("basic"), Duration::from_secs(1), true);
    for i in 0..2 {
        let s = src.next_sample(i, app.request()).unwrap();
        app.push_sample(s);
    }
    let snap = app.ring.latest().cloned().unwrap();
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
    let procs: Vec<ProcRecord> = serde_json::from_value(v["procs"].clone()).unwrap();
    let tasks = snap.tasks();
    assert_eq!(procs.len(), tasks.len());
    for (p, t) in procs.iter().zip(&tasks) {
        assert_eq!(p.pid, t.rec.pid());
        assert_eq!(p.comm, t.rec.ident.comm, "comm survives JSON as is");
        assert_eq!(p.cpu_pct, t.cpu_pct);
        assert_eq!(p.rss_bytes, t.rss_bytes);
        assert_eq!(p.read_bytes_per_s, t.read_bps);
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
    for view in [View::System, View::Cpu, View::Proc] {
        let header = dump::csv_header(view);
        for row in dump::csv_rows(view, &snap) {
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
    for view in [View::System, View::Cpu, View::Proc] {
        for field in dump::csv_header(view) {
            assert!(
                readme.contains(&format!("`{field}`")),
                "README lacks `{field}`"
            );
        }
    }
}
