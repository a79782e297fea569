//! The tables derived from a snapshot (per task, per thread, per socket, per slab cache, per
//! counted task, the drill-down's rates) are derived once and shared, and the timeline lets
//! them go when the snapshot is no longer viewed.

mod common;

use std::sync::Arc;
use std::time::Duration;

use common::fixture_roots;
use usetop::app::config::Thresholds;
use usetop::collectors::{Collectors, Request, TaskRequest, VirtualClock};
use usetop::model::Sample;
use usetop::timeline::Timeline;

/// Samples of the `basic` fixture (threads included), 1 s apart, repeated `n` times.
fn samples(n: usize) -> Vec<Sample> {
    let req = Request {
        tasks: TaskRequest { threads: true },
        ..Request::default()
    };
    let roots = fixture_roots("basic");
    let mut clock = VirtualClock::new();
    (0..n)
        .map(|i| {
            let s = Collectors::new(roots[i % roots.len()].clone()).sample(&clock, req);
            clock.advance(Duration::from_secs(1));
            s
        })
        .collect()
}

/// How many snapshots in the timeline keep some derived table.
fn keeping(tl: &Timeline) -> Vec<u64> {
    tl.iter()
        .filter(|s| s.derived_kept() > 0)
        .map(|s| s.seq)
        .collect()
}

#[test]
fn tables_are_derived_once_and_shared() {
    let mut tl = Timeline::new(10);
    for s in samples(2) {
        tl.push(s);
    }
    let s = Arc::clone(tl.snapshot().unwrap());
    assert_eq!(s.derived_kept(), 0, "nothing is derived before it is asked");
    let tasks = s.tasks();
    assert!(!tasks.is_empty());
    assert!(Arc::ptr_eq(&tasks, &s.tasks()), "tasks derived twice");
    let threads = s.threads().expect("threads were sampled");
    assert!(Arc::ptr_eq(&threads, &s.threads().unwrap()));
    assert!(Arc::ptr_eq(&s.socket_rates(), &s.socket_rates()));
    let caches = s.slab_caches();
    assert!(!caches.is_empty());
    assert!(Arc::ptr_eq(&caches, &s.slab_caches()));
    // A cache row shares the sample's cache record rather than copying it.
    let raw = s.cur.slab.caches.as_ref().unwrap();
    assert!(Arc::ptr_eq(&caches[0].cache, &raw[0]));
    assert!(Arc::ptr_eq(&s.perf_tasks(), &s.perf_tasks()));
    assert!(Arc::ptr_eq(
        &s.verdicts(&Thresholds::default()),
        &s.verdicts(&Thresholds::default())
    ));
    assert_eq!(s.derived_kept(), 6);
    s.forget_derived();
    assert_eq!(s.derived_kept(), 0);
    // Forgotten tables are derived again, equal to the first ones.
    let again = s.tasks();
    assert!(!Arc::ptr_eq(&tasks, &again));
    assert_eq!(tasks.len(), again.len());
    assert!(
        tasks
            .iter()
            .zip(again.iter())
            .all(|(a, b)| Arc::ptr_eq(&a.rec, &b.rec) && a.cpu_pct == b.cpu_pct)
    );
}

#[test]
fn only_the_viewed_snapshot_keeps_its_tables() {
    let mut tl = Timeline::new(10);
    let all = samples(8);
    let mut it = all.into_iter();
    for s in it.by_ref().take(4) {
        tl.push(s);
        // Live: each new snapshot is viewed (drawn) once it arrives.
        tl.snapshot().unwrap().tasks();
    }
    let latest = tl.latest().unwrap().seq;
    assert_eq!(keeping(&tl), [latest], "older snapshots keep nothing");

    // Something that reads an older snapshot (a history graph) leaves a table there; the
    // next change of view drops it.
    tl.window(4).next().unwrap().tasks();
    assert_eq!(keeping(&tl).len(), 2);
    tl.push(it.next().unwrap());
    assert_eq!(keeping(&tl), Vec::<u64>::new());

    // Paused: new samples arrive, the paused snapshot keeps its tables.
    tl.toggle_pause();
    let paused = tl.snapshot().unwrap().seq;
    tl.snapshot().unwrap().verdicts(&Thresholds::default());
    tl.push(it.next().unwrap());
    tl.latest().unwrap().tasks();
    tl.push(it.next().unwrap());
    assert_eq!(keeping(&tl), [paused]);

    // Stepping back: the snapshot left drops its tables.
    tl.step(-1);
    assert_eq!(keeping(&tl), Vec::<u64>::new());
    tl.snapshot().unwrap().tasks();
    assert_eq!(keeping(&tl), [paused - 1]);
    tl.live();
    assert_eq!(keeping(&tl), Vec::<u64>::new());
}
