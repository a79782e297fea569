//! Heap held per snapshot in the ring, against the live /proc: the figure that decides
//! whether 600 snapshots of a 2,000-process machine fit in usetop's memory budget. A
//! counting allocator measures what each retained sample and snapshot adds once records,
//! task-list chunks and slab caches are shared with the previous one.
//!
//! A second run pushes samples through a timeline and views each newest snapshot as the
//! live loop does, deriving every table (tasks, sockets, slab caches, counters, verdicts):
//! what those tables cost, and that only the viewed snapshot keeps them.
//!
//!   cargo bench --bench ring_memory                    # the machine as it is
//!   USETOP_BENCH_SAMPLES=100 cargo bench --bench ring_memory

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::Arc;
use std::sync::atomic::{AtomicIsize, Ordering};
use std::time::Duration;

use usetop::collectors::{Collectors, ProcRoot, Request, SystemClock};
use usetop::model::thresholds::Thresholds;
use usetop::model::{Sample, Snapshot};
use usetop::timeline::Timeline;

struct Counting;

static LIVE: AtomicIsize = AtomicIsize::new(0);

// SAFETY: forwards to the system allocator unchanged; only counts bytes.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, l: Layout) -> *mut u8 {
        LIVE.fetch_add(l.size() as isize, Ordering::Relaxed);
        // SAFETY: same layout contract as the caller's.
        unsafe { System.alloc(l) }
    }

    unsafe fn dealloc(&self, p: *mut u8, l: Layout) {
        LIVE.fetch_sub(l.size() as isize, Ordering::Relaxed);
        // SAFETY: `p` came from `alloc` above with this layout.
        unsafe { System.dealloc(p, l) }
    }
}

#[global_allocator]
static ALLOC: Counting = Counting;

fn live() -> isize {
    LIVE.load(Ordering::Relaxed)
}

fn main() {
    let n: usize = std::env::var("USETOP_BENCH_SAMPLES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(30);
    let mut c = Collectors::new(ProcRoot::default());
    let req = Request::default();
    let mut prev = Arc::new(c.sample(&SystemClock, req));
    let tasks = prev.tasks.procs.len();
    let mut ring: Vec<Snapshot> = Vec::with_capacity(n);
    let (mut sample_b, mut snap_b) = (0isize, 0isize);
    for i in 0..n {
        std::thread::sleep(Duration::from_millis(200));
        let before = live();
        let cur: Arc<Sample> = Arc::new(c.sample(&SystemClock, req));
        let after_sample = live();
        ring.push(Snapshot::derive(
            i as u64,
            Some(Arc::clone(&prev)),
            Arc::clone(&cur),
        ));
        let after_snap = live();
        // The first one still builds the collector's caches; count the steady state.
        if i > 0 {
            sample_b += after_sample - before;
            snap_b += after_snap - after_sample;
        }
        prev = cur;
    }
    let k = (n.max(2) - 1) as f64;
    let per = (sample_b + snap_b) as f64 / k;
    println!("ring memory, live /proc, {tasks} processes, {n} samples 200 ms apart");
    println!(
        "  raw sample      {:>9.0} B per snapshot",
        sample_b as f64 / k
    );
    println!(
        "  derived figures {:>9.0} B per snapshot",
        snap_b as f64 / k
    );
    println!(
        "  600 snapshots   {:>9.1} MiB (plus the program itself)",
        per * 600.0 / 1048576.0
    );
    drop(ring);
    drop(prev);
    viewed(&mut c, req, n);
}

/// Samples pushed through a timeline, each newest snapshot viewed with every table derived.
fn viewed(c: &mut Collectors, req: Request, n: usize) {
    let th = Thresholds::default();
    let mut tl = Timeline::new(600);
    let before = live();
    for _ in 0..n {
        std::thread::sleep(Duration::from_millis(200));
        tl.push(c.sample(&SystemClock, req));
        if let Some(s) = tl.snapshot() {
            s.tasks();
            s.socket_rates();
            s.slab_caches();
            s.perf_tasks();
            s.verdicts(&th);
        }
    }
    let held = live() - before;
    let keeping = tl.iter().filter(|s| s.derived_kept() > 0).count();
    let tables = match tl.snapshot() {
        Some(s) => {
            let with = live();
            s.forget_derived();
            with - live()
        }
        None => 0,
    };
    println!("viewed live, {n} samples through a timeline");
    println!("  tables of one snapshot {tables:>9} B (tasks, sockets, slab, counters, verdicts)");
    println!(
        "  snapshots keeping tables {keeping} of {} ({:.1} MiB held in all)",
        tl.len(),
        held as f64 / 1048576.0
    );
    println!(
        "  had all 600 kept theirs {:>6.1} MiB more",
        tables as f64 * 599.0 / 1048576.0
    );
}
