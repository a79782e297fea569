//! Live `usetop dump`: it samples on fixed deadlines (start + k × interval) whatever each
//! sample costs, skipping deadlines it missed rather than bursting, and the slab view lists
//! every cache.

mod common;

use std::cell::{Cell, RefCell};
use std::process::Command;
use std::time::Duration;

use usetop::collectors::{Clock, Collectors, VirtualClock};
use usetop::export::dump::{self, DumpOptions, Format, Pacer, View, next_deadline};

const SEC: u64 = 1_000_000_000;

#[test]
fn deadlines_stay_on_the_grid_and_skip_missed_ones() {
    let ms = 1_000_000;
    let start = 5 * SEC;
    // On time, or a little late: the next grid point.
    assert_eq!(next_deadline(start, SEC, start), start + SEC);
    assert_eq!(next_deadline(start, SEC, start + 300 * ms), start + SEC);
    assert_eq!(
        next_deadline(start, SEC, start + SEC + 2 * ms),
        start + 2 * SEC
    );
    // Exactly on a deadline: the one after it.
    assert_eq!(next_deadline(start, SEC, start + 3 * SEC), start + 4 * SEC);
    // 2.5 intervals late: the missed deadlines are skipped, the grid is kept.
    assert_eq!(
        next_deadline(start, SEC, start + 3_500 * ms),
        start + 4 * SEC
    );
    // A clock read before the start, and a zero interval, do not panic or stall.
    assert_eq!(next_deadline(start, SEC, 0), start + SEC);
    assert_eq!(next_deadline(start, 0, start), start + 1);
}

/// A virtual monotonic clock: sampling costs what the test says, sleeping jumps ahead.
struct FakeClock {
    now: Cell<u64>,
    sleeps: RefCell<Vec<u64>>,
}

impl FakeClock {
    fn new() -> FakeClock {
        FakeClock {
            now: Cell::new(VirtualClock::new().mono_ns),
            sleeps: RefCell::new(Vec::new()),
        }
    }

    fn work(&self, ns: u64) {
        self.now.set(self.now.get() + ns);
    }
}

impl Clock for FakeClock {
    fn mono_ns(&self) -> u64 {
        self.now.get()
    }
    fn wall_ms(&self) -> i64 {
        VirtualClock::EPOCH_MS + (self.now.get() / 1_000_000) as i64
    }
}

impl Pacer for FakeClock {
    fn sleep_until(&self, mono_ns: u64) {
        self.sleeps.borrow_mut().push(mono_ns);
        self.now.set(self.now.get().max(mono_ns));
    }
}

/// Live dump on the `basic` fixture with a virtual clock where sample `i` costs `work(i)`:
/// the `interval_s` of each printed snapshot, and when each sample was taken (from start).
fn live_dump(count: u64, work: impl Fn(usize) -> u64) -> (Vec<f64>, Vec<u64>) {
    let clock = FakeClock::new();
    let start = clock.mono_ns();
    let roots = common::fixture_roots("basic");
    let mut collectors: Vec<Collectors> = roots.into_iter().map(Collectors::new).collect();
    let taken = RefCell::new(Vec::new());
    let mut out = Vec::new();
    let opts = DumpOptions {
        view: View::System,
        format: Format::Json,
        count: Some(count),
    };
    dump::run_live(
        opts,
        Duration::from_secs(1),
        &clock,
        |c, req| {
            let i = taken.borrow().len();
            taken.borrow_mut().push(c.mono_ns() - start);
            let n = collectors.len();
            let s = collectors[i.min(n - 1)].sample(c, req);
            clock.work(work(i));
            s
        },
        &mut out,
    );
    let intervals = String::from_utf8(out)
        .unwrap()
        .lines()
        .map(|l| {
            let v: serde_json::Value = serde_json::from_str(l).unwrap();
            v["interval_s"].as_f64().unwrap()
        })
        .collect();
    (intervals, taken.into_inner())
}

#[test]
fn the_period_does_not_grow_by_the_cost_of_each_sample() {
    // Each sample costs 300 ms: sleeping a full interval after it made the period 1.3 s.
    let (intervals, taken) = live_dump(4, |_| 300_000_000);
    assert_eq!(intervals, vec![1.0; 4]);
    assert_eq!(taken, vec![0, SEC, 2 * SEC, 3 * SEC, 4 * SEC]);
}

#[test]
fn a_late_sample_skips_the_deadlines_it_missed_without_a_burst() {
    // The second sample takes 2.5 s: the deadlines at 2 s and 3 s are missed; the next
    // sample is at 4 s, on the grid, and none comes sooner than an interval after another.
    let (intervals, taken) = live_dump(4, |i| if i == 1 { 2_500_000_000 } else { 1_000_000 });
    assert_eq!(taken, vec![0, SEC, 4 * SEC, 5 * SEC, 6 * SEC]);
    assert_eq!(intervals, vec![1.0, 3.0, 1.0, 1.0]);
}

/// `dump --pane slab` lists every cache, not only the few the overview keeps, and its
/// `slab_cache_bytes` is the sum over all of them.
#[test]
fn slab_dump_lists_every_cache_of_the_fixture() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("t0");
    common::copy_tree(&common::fixtures().join("basic/t0"), &root);
    // The basic fixture's caches and 40 more: more than the overview's 16.
    let mut slabinfo = std::fs::read_to_string(root.join("proc/slabinfo")).unwrap();
    for i in 0..40u64 {
        let slabs = 10 + i * 7;
        slabinfo.push_str(&format!(
            "cache-{i:02} {a} {o} 256 16 1 : tunables 0 0 0 : slabdata {slabs} {slabs} 0\n",
            a = slabs * 16 - i,
            o = slabs * 16,
        ));
    }
    std::fs::write(root.join("proc/slabinfo"), &slabinfo).unwrap();
    let names: Vec<String> = slabinfo
        .lines()
        .skip(2)
        .map(|l| {
            // A name may hold spaces and colons: it ends where the five numbers before
            // the tunables begin.
            let head = l.split(" : tunables").next().unwrap();
            let words: Vec<&str> = head.split_whitespace().collect();
            words[..words.len() - 5].join(" ")
        })
        .collect();
    assert_eq!(names.len(), 46);

    let out = Command::new(env!("CARGO_BIN_EXE_usetop"))
        .args(["dump", "--pane", "slab", "-i", "0.1", "-n", "1"])
        .arg("--proc-root")
        .arg(root.join("proc"))
        .arg("--sys-root")
        .arg(root.join("sys"))
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_str(stdout.trim()).unwrap();
    let caches = v["caches"].as_array().unwrap();
    let got: Vec<&str> = caches
        .iter()
        .map(|c| c["cache"].as_str().unwrap())
        .collect();
    assert_eq!(got.len(), names.len(), "{got:?}");
    for n in &names {
        assert!(got.contains(&n.as_str()), "{n:?} missing from {got:?}");
    }
    let sum: u64 = caches
        .iter()
        .map(|c| c["cache_bytes"].as_u64().unwrap())
        .sum();
    assert!(sum > 0);
    assert_eq!(v["slab_cache_bytes"].as_u64(), Some(sum));
    assert_eq!(v["slab_caches"].as_u64(), Some(names.len() as u64));
}
