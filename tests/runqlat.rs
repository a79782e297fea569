//! Run-queue latency from a synthetic interval on the basic fixture: the cpu pane's
//! histogram (headless snapshots), the reason when the programs are refused, dump and
//! OpenMetrics fields, recordings (format 5, and format 4 still read).

mod common;

use std::time::Duration;

use usetop::app::App;
use usetop::app::source::{RootsSource, SampleSource};
use usetop::collectors::Request;
use usetop::headless::render_from;
use usetop::model::Sample;
use usetop::model::runqlat::{BUCKETS, FocusHist, RunqHist, RunqLat, RunqState};
use usetop::panes::PaneId;
use usetop::store::FORMAT_VERSION;

fn hist(counts: &[(usize, u64)], sum_ns: u64) -> RunqHist {
    let mut b = [0u64; BUCKETS];
    for &(i, n) in counts {
        b[i] = n;
    }
    RunqHist::from_buckets(&b, sum_ns)
}

/// One second of a busy host: most waits of a few µs, a tail into milliseconds from a CPU
/// hog; the focused process (pid 812, postgres in the fixture) waits longer.
pub fn synthetic(focus: bool) -> RunqLat {
    RunqLat {
        state: RunqState::On,
        span_ns: 1_000_000_000,
        all: hist(
            &[
                (0, 1_200),
                (1, 5_400),
                (2, 8_100),
                (3, 3_300),
                (4, 900),
                (5, 210),
                (7, 40),
                (10, 12),
                (12, 3),
            ],
            190_000_000,
        ),
        focus: focus.then(|| FocusHist {
            pid: 812,
            threads: 4,
            hist: hist(&[(2, 30), (3, 60), (9, 20), (12, 2)], 30_000_000),
        }),
        lost: 0,
        watched_ns: 1_000_000_000,
    }
}

struct WithRunq {
    inner: RootsSource,
    state: Option<RunqState>,
    focus: bool,
    /// The part of each interval the programs watched.
    watched_ns: u64,
}

impl SampleSource for WithRunq {
    fn next_sample(&mut self, frame: usize, req: Request) -> Option<Sample> {
        let mut s = self.inner.next_sample(frame, req)?;
        if req.runqlat {
            s.runqlat = Some(match &self.state {
                Some(st) => RunqLat {
                    state: st.clone(),
                    ..RunqLat::default()
                },
                None => RunqLat {
                    watched_ns: self.watched_ns,
                    ..synthetic(self.focus)
                },
            });
        }
        Some(s)
    }
}

fn source(state: Option<RunqState>, focus: bool) -> WithRunq {
    WithRunq {
        inner: RootsSource::new(common::fixture_roots("basic"), Duration::from_secs(1), true),
        state,
        focus,
        watched_ns: 1_000_000_000,
    }
}

fn render(cols: u16, rows: u16, state: Option<RunqState>, focus: bool) -> String {
    let mut src = source(state, focus);
    let frames = common::fixture_roots("basic").len();
    render_from(
        common::options(PaneId::Cpu),
        (cols, rows),
        frames,
        "",
        &mut src,
    )
    .unwrap()
}

fn last(out: &str) -> &str {
    out.rsplit("\x0c\n").next().unwrap()
}

#[test]
fn cpu_pane_draws_the_histogram() {
    let small = render(80, 24, None, false);
    let big = render(200, 60, None, true);
    for out in [&small, &big] {
        let f = last(out);
        assert!(
            f.contains("run-queue latency (runqlat 1.0 s): all 19165 waits"),
            "{f}"
        );
        assert!(f.contains("<8us"), "{f}");
        // The mpstat table keeps its rows.
        assert!(f.contains("all ") && f.contains("%usr"), "{f}");
    }
    let f = last(&big);
    assert!(f.contains("pid 812 (4 threads): 112 waits"), "{f}");
    assert!(f.contains("<8ms"), "{f}");
    insta::assert_snapshot!("cpu_runqlat_80x24", last(&small));
    insta::assert_snapshot!("cpu_runqlat_focus_200x60", f);
}

/// Above 100,000 waits a second the programs watch only part of each interval: the pane
/// says how much, and the rate is over that part; the dump carries it.
#[test]
fn a_sampled_interval_says_how_much_was_watched() {
    let mut src = source(None, false);
    src.watched_ns = 250_000_000;
    let frames = common::fixture_roots("basic").len();
    let out = render_from(
        common::options(PaneId::Cpu),
        (120, 30),
        frames,
        "",
        &mut src,
    )
    .unwrap();
    let f = last(&out);
    assert!(
        f.contains("run-queue latency (runqlat 0.25 s of 1.0 s): all 19165 waits (77k/s)"),
        "{f}"
    );
    let snap = {
        let mut app = App::new(common::options(PaneId::Cpu));
        let mut src = source(None, false);
        src.watched_ns = 250_000_000;
        for i in 0..frames {
            let s = src.next_sample(i, app.request()).unwrap();
            app.push_sample(s);
        }
        app.timeline.latest().cloned().unwrap()
    };
    let h = usetop::export::runqlat::header(&snap);
    assert_eq!(h.runq_lat_watched_ms, Some(250.0));
    assert_eq!(h.runq_lat_count, Some(19_165));
}

#[test]
fn refused_programs_say_why_and_the_rest_draws() {
    let why = "needs root or CAP_BPF+CAP_PERFMON: unprivileged_bpf_disabled 2";
    let out = render(120, 30, Some(RunqState::Unavailable(why.into())), false);
    let f = last(&out);
    assert!(f.contains(&format!("runqlat: n/a ({why})")), "{f}");
    assert!(f.contains("%usr"), "{f}");
    let out = render(120, 30, Some(RunqState::Starting), false);
    assert!(last(&out).contains("programs loaded; figures from the next sample"));
}

fn app(focus: bool) -> App {
    let mut src = source(None, focus);
    let req = Request {
        runqlat: true,
        ..Request::default()
    };
    let mut app = App::new(common::options(PaneId::Cpu));
    for i in 0..2 {
        app.push_sample(src.next_sample(i, req).unwrap());
    }
    app
}

#[test]
fn dump_cpu_has_the_runqlat_fields() {
    use usetop::export::dump::{self, View};
    let app = app(true);
    let snap = app.snapshot().unwrap();
    let v: serde_json::Value = serde_json::from_str(&dump::json_line(View::Cpu, snap)).unwrap();
    assert_eq!(v["runqlat"], "on");
    assert_eq!(v["runq_lat_count"], 19_165);
    assert_eq!(v["runq_lat_sum_ms"], 190.0);
    assert_eq!(v["runq_lat_lost"], 0);
    assert_eq!(
        v["runq_lat_bounds_us"],
        "0 2 4 8 16 32 64 128 256 512 1024 2048 4096 8192 16384 32768 65536 131072 262144 524288 1048576"
    );
    assert_eq!(
        v["runq_lat_hist"],
        "1200 5400 8100 3300 900 210 0 40 0 0 12 0 3 0 0 0 0 0 0 0 0"
    );
    // Bucket 12 (4096-8191 us) is the highest used: max is its top.
    assert_eq!(v["runq_lat_max_ms"], 8.192);
    assert_eq!(v["runq_focus_pid"], 812);
    assert_eq!(v["runq_focus_count"], 112);
    assert!(v["runq_focus_p99_ms"].as_f64().unwrap() > 1.0);
    assert!(v["cpus"].as_array().is_some_and(|c| !c.is_empty()));
    // CSV: the same columns, every row as wide as the header.
    let header = dump::csv_header(View::Cpu);
    for k in [
        "runqlat",
        "runq_lat_hist",
        "runq_lat_p99_ms",
        "runq_focus_hist",
    ] {
        assert!(header.iter().any(|h| h == k), "{k}");
    }
    for r in dump::csv_rows(View::Cpu, snap) {
        assert_eq!(r.len(), header.len());
    }
    // Without a focused process the focus fields are empty.
    let app = app_without_focus();
    let v: serde_json::Value =
        serde_json::from_str(&dump::json_line(View::Cpu, app.snapshot().unwrap())).unwrap();
    assert!(v["runq_focus_pid"].is_null());
    assert_eq!(v["runq_lat_count"], 19_165);
}

fn app_without_focus() -> App {
    app(false)
}

#[test]
fn openmetrics_has_the_runqlat_histogram() {
    use usetop::export::openmetrics::Exporter;
    let app = app(true);
    let mut ex = Exporter::new(0);
    // Two intervals: the histogram is cumulative over them, and over its buckets.
    ex.update(app.snapshot().unwrap());
    ex.update(app.snapshot().unwrap());
    let text = ex.encode();
    assert!(
        text.contains("# TYPE usetop_runq_latency_seconds histogram"),
        "{text}"
    );
    let value = |s: &str| {
        text.lines()
            .find(|l| l.starts_with(s))
            .unwrap_or_else(|| panic!("no {s} in\n{text}"))
            .rsplit(' ')
            .next()
            .unwrap()
            .to_string()
    };
    assert_eq!(value("usetop_runq_latency_seconds_count"), "38330");
    assert_eq!(value("usetop_runq_latency_seconds_sum"), "0.38");
    // Waits under 8 us: buckets 0-2, twice.
    assert_eq!(
        value("usetop_runq_latency_seconds_bucket{le=\"0.000008\"}"),
        "29400"
    );
    assert_eq!(
        value("usetop_runq_latency_seconds_bucket{le=\"+Inf\"}"),
        "38330"
    );
    // promtool finds nothing wrong with the series.
    let msg = common::serve::promtool_says(&text);
    assert!(!msg.contains("runq"), "{msg}");
}

#[test]
fn recordings_carry_runqlat_and_format_4_reads_without() {
    let mut src = source(None, true);
    let req = Request {
        runqlat: true,
        ..Request::default()
    };
    let mut samples: Vec<Sample> = (0..3).map(|i| src.next_sample(i, req).unwrap()).collect();
    // Format 5 has two sections after the block trace's, run-queue latency then TCP: both
    // come back, each in its place.
    samples[1].tcp_trace = Some(usetop::model::tcptrace::TcpTrace::default());
    assert_eq!(FORMAT_VERSION, 5);
    let back = common::round_trip(&samples);
    assert_eq!(back.len(), 3);
    for (b, s) in back.iter().zip(&samples) {
        assert!(b.runqlat.is_some());
        assert_eq!(b.runqlat, s.runqlat);
        assert_eq!(b.tcp_trace, s.tcp_trace);
        assert_eq!(b.checklist, s.checklist);
    }
    // A recording usetop wrote at format 4 (the seed corpus before this change).
    let old = common::trace_fixture("format4-key-then-deltas.usetop");
    let back = common::read_recording(old, "format4");
    assert_eq!(back.len(), 3);
    for s in back {
        assert!(s.runqlat.is_none());
        assert!(!s.cpu.cpus.is_empty());
    }
}
