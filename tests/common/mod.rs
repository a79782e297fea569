//! Shared helpers for integration tests: the fixture trees and a headless run over them.
#![allow(dead_code)]

pub mod serve;

use std::path::PathBuf;
use std::time::Duration;

use usetop::app::Options;
use usetop::app::config::Thresholds;
use usetop::collectors::ProcRoot;
use usetop::headless::{HeadlessOptions, render_headless};
use usetop::panes::PaneId;
use usetop::theme::Theme;

/// Relative to the package root (cargo runs tests there), so paths that reach the screen —
/// "n/a: tests/fixtures/x/proc/mounts: not found" — are the same in every checkout.
pub fn fixtures() -> PathBuf {
    PathBuf::from("tests/fixtures")
}

/// The roots of a fixture sequence: `tests/fixtures/NAME/t0`, `t1`, … (each with proc/ and sys/).
pub fn fixture_roots(name: &str) -> Vec<ProcRoot> {
    let dir = fixtures().join(name);
    let mut roots = Vec::new();
    for i in 0.. {
        let t = dir.join(format!("t{i}"));
        if !t.exists() {
            break;
        }
        roots.push(ProcRoot::new(t.join("proc"), t.join("sys")));
    }
    assert!(
        !roots.is_empty(),
        "no fixture sequence at {}",
        dir.display()
    );
    roots
}

pub fn options(pane: PaneId) -> Options {
    Options {
        interval: Duration::from_secs(1),
        history: 600,
        pane,
        theme: Theme::mono(),
        thresholds: Thresholds::default(),
        ui: Default::default(),
    }
}

/// Every frame of a headless run over a fixture sequence (one frame per root), with a
/// virtual clock; `keys` go in before the last frame.
pub fn headless_frames(fixture: &str, pane: PaneId, cols: u16, rows: u16, keys: &str) -> String {
    let roots = fixture_roots(fixture);
    render_headless(HeadlessOptions {
        app: options(pane),
        cols,
        rows,
        frames: roots.len(),
        keys: keys.into(),
        roots,
        virtual_clock: true,
    })
    .expect("headless run")
}

/// The last frame only (the one with rates and the keys applied).
pub fn headless(fixture: &str, pane: PaneId, cols: u16, rows: u16, keys: &str) -> String {
    let all = headless_frames(fixture, pane, cols, rows, keys);
    all.rsplit("\x0c\n").next().unwrap_or_default().to_string()
}

/// A file of tests/fixtures/trace/ (tracepoint format files, captured records, old
/// recordings).
pub fn trace_fixture(name: &str) -> Vec<u8> {
    std::fs::read(fixtures().join("trace").join(name)).unwrap()
}

/// Captured perf ring records in a tests/fixtures/trace/ file: (type, body) as the ring
/// held them, stored as type u32, length u32, body, repeated.
pub fn trace_records(name: &str) -> Vec<(u32, Vec<u8>)> {
    let b = trace_fixture(name);
    let mut out = Vec::new();
    let mut at = 0;
    while at + 8 <= b.len() {
        let ty = u32::from_le_bytes(b[at..at + 4].try_into().unwrap());
        let len = u32::from_le_bytes(b[at + 4..at + 8].try_into().unwrap()) as usize;
        out.push((ty, b[at + 8..at + 8 + len].to_vec()));
        at += 8 + len;
    }
    out
}

/// The value of the first line of an OpenMetrics text that starts with `prefix`.
pub fn metric_value(text: &str, prefix: &str) -> String {
    text.lines()
        .find(|l| l.starts_with(prefix))
        .unwrap_or_else(|| panic!("no {prefix} in\n{text}"))
        .rsplit(' ')
        .next()
        .unwrap()
        .to_string()
}

/// The samples of a recording, as a reader gives them back.
pub fn read_recording(bytes: Vec<u8>, name: &str) -> Vec<usetop::model::Sample> {
    let mut r = usetop::store::reader::Reader::new(bytes, std::path::Path::new(name)).unwrap();
    std::iter::from_fn(|| r.next_frame().map(|f| f.sample)).collect()
}

/// `samples` written as a recording of this version (a key frame every two) and read back.
pub fn round_trip(samples: &[usetop::model::Sample]) -> Vec<usetop::model::Sample> {
    let header = usetop::store::format::Header {
        format_version: usetop::store::FORMAT_VERSION,
        ..Default::default()
    };
    let mut w = usetop::store::writer::FrameWriter::new(Vec::new(), &header).unwrap();
    w.key_interval = 2;
    for s in samples {
        w.append(s).unwrap();
    }
    read_recording(w.sink, "mem")
}

/// `usetop --headless -P pane --size size --frames 2 -i 0.2` run as `nobody` (setpriv), its
/// screen text; `None`, with the reason printed, where that cannot be done here (not root,
/// no setpriv). Fails the test if usetop does not exit 0.
pub fn headless_as_nobody(pane: &str, size: &str) -> Option<String> {
    use std::process::Command;
    // SAFETY: geteuid has no memory effects.
    let root = unsafe { libc::geteuid() } == 0;
    if !root || Command::new("setpriv").arg("--help").output().is_err() {
        eprintln!("skipped: needs root (to become nobody) and setpriv");
        return None;
    }
    let out = Command::new("setpriv")
        .args(["--reuid=65534", "--regid=65534", "--clear-groups"])
        .arg(env!("CARGO_BIN_EXE_usetop"))
        .args(["--headless", "-P", pane, "--size", size, "--frames", "2"])
        .args(["-i", "0.2"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{pane}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    Some(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// Copies a fixture tree (files, directories, symlinks as links) to `to`, for tests that
/// change it between samples.
pub fn copy_tree(from: &std::path::Path, to: &std::path::Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        let target = to.join(e.file_name());
        let ty = e.file_type().unwrap();
        if ty.is_dir() {
            copy_tree(&e.path(), &target);
        } else if ty.is_symlink() {
            std::os::unix::fs::symlink(std::fs::read_link(e.path()).unwrap(), &target).unwrap();
        } else {
            std::fs::copy(e.path(), &target).unwrap();
        }
    }
}
