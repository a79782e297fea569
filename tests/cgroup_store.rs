//! Recordings carry the cgroup samples (format version 2), and a recording of format 1 (made
//! before cgroups were recorded, committed as tests/fixtures/cgroup_recording_v1) still
//! replays: every frame, key and delta, with its cgroups `None` and the table saying so.

mod common;

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use usetop::app::source::{RootsSource, SampleSource};
use usetop::collectors::{CgroupRequest, Request};
use usetop::model::Snapshot;
use usetop::store::format::Header;
use usetop::store::reader::Reader;
use usetop::store::writer::FrameWriter;
use usetop::store::{FORMAT_VERSION, Recorder};

const V1_FILE: &str = "tests/fixtures/cgroup_recording_v1/basic-format1.usetop";

#[test]
fn a_format_1_recording_replays_without_cgroups() {
    let mut r = Reader::open(Path::new(V1_FILE)).expect("open");
    assert_eq!(r.header.format_version, 1);
    let mut samples = Vec::new();
    while let Some(f) = r.next_frame() {
        samples.push(Arc::new(f.sample));
    }
    // One key frame and two deltas, none lost or counted corrupt.
    assert_eq!(samples.len(), 3, "{:?}", r.stats);
    assert_eq!(r.stats.corrupt + r.stats.orphaned, 0);
    for s in &samples {
        assert!(s.cgroups.is_none());
        assert_eq!(s.host.hostname, "fixture-host");
        assert_eq!(s.tasks.procs.len(), 9);
    }
    let snap = Snapshot::derive(1, Some(Arc::clone(&samples[0])), Arc::clone(&samples[1]));
    assert!(snap.has_rates());
    let t = snap.cgroups();
    assert!(t.rows.is_empty());
    assert!(
        t.note("cgroup").unwrap().contains("holds no cgroup data"),
        "{:?}",
        t.notes
    );
}

#[test]
fn a_format_1_recording_reads_with_no_cgroups() {
    let raw = std::fs::read(V1_FILE).unwrap();
    let mut r = Reader::new(raw, Path::new("v1")).unwrap();
    let f = r.next_frame().expect("a frame");
    assert!(f.sample.cgroups.is_none());
}

#[test]
fn recordings_carry_the_cgroups() {
    let mut src = RootsSource::new(
        common::fixture_roots("cgroup_v2"),
        Duration::from_secs(1),
        true,
    );
    let req = Request {
        cgroups: CgroupRequest { detail: true },
        ..Request::default()
    };
    let samples: Vec<_> = (0..2).map(|i| src.next_sample(i, req).unwrap()).collect();
    let header = Header {
        format_version: FORMAT_VERSION,
        ..Header::default()
    };
    assert_eq!(FORMAT_VERSION, 4);
    let mut w = FrameWriter::new(Vec::new(), &header).unwrap();
    for s in &samples {
        w.append(s).unwrap();
    }
    let mut r = Reader::new(w.sink, Path::new("mem")).unwrap();
    let mut back = Vec::new();
    while let Some(f) = r.next_frame() {
        back.push(f.sample);
    }
    assert_eq!(back.len(), 2);
    for (a, b) in samples.iter().zip(&back) {
        assert_eq!(a.cgroups, b.cgroups);
        assert!(b.cgroups.as_ref().unwrap().detail);
    }
    let snap = Snapshot::derive(
        1,
        Some(Arc::new(back[0].clone())),
        Arc::new(back[1].clone()),
    );
    let t = snap.cgroups();
    let nginx = t.get("/system.slice/nginx.service").unwrap();
    assert_eq!(nginx.throttled_pct, Some(40.0));
    assert!(nginx.read_bps.is_some());
}

/// `usetop record` asks for the cgroup detail, and refuses to append to a format 1 file.
#[test]
fn record_appends_only_to_its_own_format() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("old.usetop");
    std::fs::copy(V1_FILE, &path).unwrap();
    // A private file, so the format is what refuses it.
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
    let err = Recorder::open(
        &path,
        Header {
            format_version: FORMAT_VERSION,
            ..Header::default()
        },
    )
    .err()
    .expect("refused")
    .to_string();
    assert!(err.contains("format version 1"), "{err}");
}
