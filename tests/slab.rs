//! The slab pane and the slab row of the USE overview on the `basic` fixture, and the pane
//! when /proc/slabinfo is refused (built from a fixture sample with the refusal applied,
//! since root reads any file whatever its mode).

mod common;

use std::sync::Arc;

use common::{fixture_roots, headless, options};
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use usetop::app::App;
use usetop::collectors::slab::DENIED_REASON;
use usetop::collectors::{Collectors, Request, VirtualClock};
use usetop::headless::buffer_text;
use usetop::model::verdict::{Kind, Missing, Reason};
use usetop::model::{Note, Sample};
use usetop::panes::PaneId;

#[test]
fn slab_pane_snapshots() {
    insta::assert_snapshot!("slab_80x24", headless("basic", PaneId::Slab, 80, 24, ""));
    insta::assert_snapshot!("slab_160x50", headless("basic", PaneId::Slab, 160, 50, ""));
}

#[test]
fn slab_sorts_by_any_column() {
    let by_name = headless("basic", PaneId::Slab, 100, 30, "n");
    let pos = |s: &str, n: &str| s.find(n).unwrap_or_else(|| panic!("{n} missing:\n{s}"));
    assert!(
        pos(&by_name, "TCPv6") < pos(&by_name, "dentry"),
        "{by_name}"
    );
    let by_growth = headless("basic", PaneId::Slab, 100, 30, "w");
    assert!(by_growth.contains("GROWTH/s▼"), "{by_growth}");
    assert!(
        pos(&by_growth, "dentry") < pos(&by_growth, "ext4_inode"),
        "{by_growth}"
    );
    // The escape in a cache name never reaches the terminal.
    assert!(!by_name.contains('\x1b'));
    assert!(by_name.contains("esc?[2Jname"), "{by_name}");
}

#[test]
fn use_row_shows_sunreclaim_growth() {
    let out = headless("basic", PaneId::Use, 160, 50, "");
    let row = out.lines().find(|l| l.contains("Slab")).expect("slab row");
    assert!(row.contains("unrecl 196M +1000K/s"), "{row}");
}

fn samples_denied() -> Vec<Sample> {
    let mut clock = VirtualClock::new();
    fixture_roots("basic")
        .into_iter()
        .map(|root| {
            let mut s = Collectors::new(root).sample(&clock, Request::default());
            clock.advance(std::time::Duration::from_secs(1));
            s.slab.caches = None;
            s.slab.totals = None;
            s.notes.retain(|n| n.source != "slab");
            s.notes.push(Note {
                source: "slab".into(),
                reason: DENIED_REASON.into(),
            });
            s
        })
        .collect()
}

fn render(app: &App, cols: u16, rows: u16) -> String {
    let mut term = Terminal::new(TestBackend::new(cols, rows)).unwrap();
    term.draw(|f| usetop::app::ui::draw(f, app)).unwrap();
    buffer_text(term.backend().buffer())
}

#[test]
fn denied_slabinfo_says_root_and_use_row_is_na() {
    let mut app = App::new(options(PaneId::Slab));
    for s in samples_denied() {
        app.push_sample(s);
    }
    let out = render(&app, 80, 24);
    assert!(
        out.contains("slab caches need root (CAP_SYS_ADMIN to read"),
        "{out}"
    );
    insta::assert_snapshot!("slab_denied_80x24", out);
    let snap = Arc::clone(app.snapshot().unwrap());
    let verdicts = snap.verdicts(&app.thresholds);
    let rows: Vec<_> = verdicts
        .iter()
        .filter(|v| v.resource.kind == Kind::Slab)
        .collect();
    assert!(
        rows[0].u.figure.to_string().starts_with("n/a"),
        "{:?}",
        rows[0]
    );
    assert!(rows[0].s.figure.to_string().starts_with("n/a"));
    // The refusal is told apart from an unreadable file by its typed reason.
    let needs_root = Some(Reason::NotAvailable(Missing::NeedsRoot));
    assert_eq!(rows[0].u.reason, needs_root);
    assert_eq!(rows[0].s.reason, needs_root);
}

fn slabinfo(dentry_slabs: u64) -> String {
    format!(
        "slabinfo - version: 2.1\n\
         # name            <active_objs> <num_objs> <objsize> <objperslab> <pagesperslab> : tunables <limit> <batchcount> <sharedfactor> : slabdata <active_slabs> <num_slabs> <sharedavail>\n\
         dentry 100 200 192 21 1 : tunables 0 0 0 : slabdata {dentry_slabs} {dentry_slabs} 0\n\
         kmalloc-64 10 64 64 64 1 : tunables 0 0 0 : slabdata 1 1 0\n"
    )
}

/// Without the slab pane, slabinfo is read every SLAB_EVERY samples; the samples between
/// repeat the last reading, and growth is measured over the real span between readings —
/// never as a zero between a reading and its repeat.
#[test]
fn overview_reads_slabinfo_every_few_samples_with_growth_over_the_span() {
    use usetop::collectors::ProcRoot;
    use usetop::collectors::slab::{SLAB_EVERY, SlabCollector};
    use usetop::model::slab::cache_rates;
    let t = tempfile::tempdir().unwrap();
    let proc = t.path().join("proc");
    std::fs::create_dir_all(&proc).unwrap();
    let root = ProcRoot::new(proc.clone(), t.path().join("sys"));
    let write = |slabs: u64| std::fs::write(proc.join("slabinfo"), slabinfo(slabs)).unwrap();
    let mut c = SlabCollector::new(&root);
    let s = 1_000_000_000u64;
    let page = 4096.0;
    let dentry_growth = |prev: Option<&usetop::model::slab::SlabSample>,
                         cur: &usetop::model::slab::SlabSample| {
        cache_rates(prev, cur, 1.0)
            .into_iter()
            .find(|r| r.cache.name == "dentry")
            .unwrap()
            .growth_bps
    };
    write(10);
    let first = c.sample_every(&mut Vec::new(), false, SLAB_EVERY, 0);
    let mut prev = first.clone();
    // Ten pages more by the next reading: the file changes now, but is not read again
    // until SLAB_EVERY samples after the first.
    write(20);
    for i in 1..SLAB_EVERY {
        let cur = c.sample_every(&mut Vec::new(), false, SLAB_EVERY, u64::from(i) * s);
        assert_eq!(cur.caches, first.caches, "sample {i} repeats the reading");
        assert_eq!(
            dentry_growth(Some(&prev), &cur),
            None,
            "no growth known yet"
        );
        prev = cur;
    }
    let read = c.sample_every(
        &mut Vec::new(),
        false,
        SLAB_EVERY,
        u64::from(SLAB_EVERY) * s,
    );
    let want = 10.0 * page / f64::from(SLAB_EVERY);
    assert_eq!(dentry_growth(Some(&prev), &read), Some(want));
    // The repeats of that reading keep its growth.
    let mut prev = read.clone();
    for i in 1..SLAB_EVERY {
        let cur = c.sample_every(
            &mut Vec::new(),
            false,
            SLAB_EVERY,
            u64::from(SLAB_EVERY + i) * s,
        );
        assert_eq!(dentry_growth(Some(&prev), &cur), Some(want), "repeat {i}");
        prev = cur;
    }
    // The slab pane reads every sample; its first reading measures against the last one,
    // over the four seconds since, and the next against the one just before.
    write(24);
    let t0 = u64::from(2 * SLAB_EVERY) * s + s / 2;
    let all = c.sample_every(&mut Vec::new(), true, SLAB_EVERY, t0);
    let span = (t0 - u64::from(SLAB_EVERY) * s) as f64 / 1e9;
    assert_eq!(dentry_growth(Some(&prev), &all), Some(4.0 * page / span));
    write(25);
    let next = c.sample_every(&mut Vec::new(), true, SLAB_EVERY, t0 + s);
    assert!(next.base.is_none());
    assert_eq!(dentry_growth(Some(&all), &next), Some(page));
}
