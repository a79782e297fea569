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
