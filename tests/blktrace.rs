//! Traced block I/O from a synthetic aggregate on the basic fixture: the disk pane's
//! histogram and slowest list (headless snapshots), the reason when tracing is refused,
//! the overview's Errors cell, recordings (format 4, and format 3 still read).

mod common;

use std::time::Duration;

use usetop::app::App;
use usetop::app::source::{RootsSource, SampleSource};
use usetop::collectors::Request;
use usetop::headless::render_from;
use usetop::model::Sample;
use usetop::model::blktrace::{BUCKETS, BlockTrace, DevLatency, OpLatency, SlowIo, TraceState};
use usetop::panes::PaneId;
use usetop::store::FORMAT_VERSION;

fn op(counts: &[(usize, u64)], p50: u64, p99: u64, max: u64) -> OpLatency {
    let mut hist = vec![0; BUCKETS];
    for &(i, n) in counts {
        hist[i] = n;
    }
    let count = hist.iter().sum();
    OpLatency {
        hist,
        count,
        sum_ns: count * p50,
        max_ns: max,
        p50_ns: p50,
        p99_ns: p99,
    }
}

/// One interval of vda (252:0 in the fixture): reads mostly under 256 µs, writes around
/// 1 ms with a tail to 40 ms, two errors, and a few lost events.
pub fn synthetic(mono_ns: u64) -> BlockTrace {
    let slow = |age_ms: u64, op: &str, bytes: u64, lat_us: u64, pid: u32, comm: &str| SlowIo {
        done_ns: mono_ns - age_ms * 1_000_000,
        major: 252,
        minor: 0,
        op: op.into(),
        bytes,
        latency_ns: lat_us * 1_000,
        pid,
        comm: comm.into(),
    };
    BlockTrace {
        state: TraceState::On,
        span_ns: 1_000_000_000,
        devices: vec![DevLatency {
            major: 252,
            minor: 0,
            read: op(
                &[(1, 120), (2, 300), (3, 40), (6, 2)],
                180_000,
                2_500_000,
                3_100_000,
            ),
            write: op(
                &[(4, 90), (5, 400), (6, 60), (9, 7), (10, 1)],
                1_400_000,
                21_000_000,
                40_200_000,
            ),
            errors: 2,
        }],
        slowest: vec![
            slow(120, "W", 1 << 20, 40_200, 812, "postgres"),
            slow(480, "W", 65536, 25_000, 3391, "kworker/u8:2"),
            slow(300, "R", 4096, 3_100, 77, "ls\x1b[31m"),
        ],
        lost: 3,
        unmatched: 1,
    }
}

/// The basic fixture, with the trace the collector would have made when asked for one.
struct Traced {
    inner: RootsSource,
    state: Option<TraceState>,
}

impl Traced {
    /// The basic fixture's samples, traced as `state` says (`None`: the synthetic trace).
    fn basic(state: Option<TraceState>) -> Traced {
        Traced {
            inner: RootsSource::new(common::fixture_roots("basic"), Duration::from_secs(1), true),
            state,
        }
    }
}

/// What the disk pane asks for.
fn traced() -> Request {
    Request {
        block_trace: true,
        ..Request::default()
    }
}

impl SampleSource for Traced {
    fn next_sample(&mut self, frame: usize, req: Request) -> Option<Sample> {
        let mut s = self.inner.next_sample(frame, req)?;
        if req.block_trace {
            s.block_trace = Some(match &self.state {
                Some(st) => BlockTrace {
                    state: st.clone(),
                    ..BlockTrace::default()
                },
                None => synthetic(s.mono_ns),
            });
        }
        Some(s)
    }
}

fn render(pane: PaneId, cols: u16, rows: u16, state: Option<TraceState>) -> String {
    let mut src = Traced::basic(state);
    let frames = common::fixture_roots("basic").len();
    render_from(common::options(pane), (cols, rows), frames, "", &mut src).unwrap()
}

fn last(out: &str) -> &str {
    out.rsplit("\x0c\n").next().unwrap()
}

#[test]
fn disk_pane_draws_the_histogram_and_slowest() {
    let small = render(PaneId::Disk, 80, 24, None);
    let big = render(PaneId::Disk, 200, 60, None);
    for out in [&small, &big] {
        let f = last(out);
        assert!(f.contains("I/O latency vda"), "{f}");
        assert!(f.contains("p50 0.180 p99 2.50 max 3.10 ms"), "{f}");
        assert!(f.contains("3 events LOST"), "{f}");
        assert!(f.contains("<128us"), "{f}");
        assert!(!f.contains('\x1b'));
    }
    let f = last(&big);
    assert!(f.contains("slowest I/O"), "{f}");
    assert!(f.contains("postgres") && f.contains("40.2"), "{f}");
    insta::assert_snapshot!("disk_trace_80x24", last(&small));
    insta::assert_snapshot!("disk_trace_200x60", f);
}

#[test]
fn refused_tracing_says_why_and_the_rest_draws() {
    let why = "perf_event_open refused: needs root or CAP_PERFMON (perf_event_paranoid 2)";
    let out = render(
        PaneId::Disk,
        120,
        30,
        Some(TraceState::Unavailable(why.into())),
    );
    let f = last(&out);
    assert!(f.contains(&format!("I/O latency: n/a ({why})")), "{f}");
    assert!(f.contains("vda"), "{f}");
    let out = render(PaneId::Disk, 120, 30, Some(TraceState::Starting));
    assert!(last(&out).contains("tracing started; figures from the next sample"));
}

#[test]
fn the_overview_takes_block_errors_while_tracing() {
    // The overview does not trace; a sample that carries a trace (a recording made with
    // the disk pane) gives every disk an Errors figure.
    let mut src = Traced::basic(None);
    let req = traced();
    let mut app = App::new(common::options(PaneId::Use));
    for i in 0..2 {
        app.push_sample(src.next_sample(i, req).unwrap());
    }
    let snap = app.snapshot().unwrap();
    let v = usetop::model::verdict::judge(snap, &Default::default());
    let vda = v
        .iter()
        .find(|v| v.resource.to_string() == "Disk vda")
        .expect("vda row");
    assert_eq!(vda.e.level, usetop::model::Level::Crit, "{:?}", vda.e);
    assert_eq!(snap.traced_errors("vda"), Some(2));
    assert_eq!(snap.traced_errors("vdb"), Some(0));
}

#[test]
fn recordings_carry_the_trace_and_format_3_reads_without() {
    let mut src = Traced::basic(None);
    let req = traced();
    let samples: Vec<Sample> = (0..3).map(|i| src.next_sample(i, req).unwrap()).collect();
    const { assert!(FORMAT_VERSION >= 4) };
    let back = common::round_trip(&samples);
    assert_eq!(back.len(), 3);
    for (b, s) in back.iter().zip(&samples) {
        assert_eq!(b.block_trace, s.block_trace);
        assert_eq!(b.checklist, s.checklist);
    }
    // A recording usetop wrote at format 3 (the seed corpus before this change).
    let old = common::trace_fixture("format3-key-then-deltas.usetop");
    let back = common::read_recording(old, "format3");
    assert_eq!(back.len(), 3);
    for s in back {
        assert!(s.block_trace.is_none());
        assert!(!s.cpu.cpus.is_empty());
    }
}

/// Two snapshots of the basic fixture with the synthetic trace (the second carries it).
fn traced_app() -> App {
    let mut src = Traced::basic(None);
    let req = traced();
    let mut app = App::new(common::options(PaneId::Disk));
    for i in 0..2 {
        app.push_sample(src.next_sample(i, req).unwrap());
    }
    app
}

#[test]
fn dump_disk_has_the_latency_fields() {
    use usetop::export::dump::{self, View};
    let app = traced_app();
    let snap = app.snapshot().unwrap();
    let v: serde_json::Value = serde_json::from_str(&dump::json_line(View::Disk, snap)).unwrap();
    assert_eq!(v["io_trace"], "on");
    assert_eq!(v["io_trace_lost"], 3);
    assert_eq!(
        v["io_lat_bounds_us"],
        "64 128 256 512 1024 2048 4096 8192 16384 32768 65536 131072 262144 524288 1000000"
    );
    assert_eq!(v["slowest_io"][0]["comm"], "postgres");
    assert_eq!(v["slowest_io"][0]["device"], "vda");
    assert_eq!(v["slowest_io"][0]["latency_ms"], 40.2);
    let vda = v["disks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["device"] == "vda")
        .unwrap();
    assert_eq!(vda["read_lat_count"], 462);
    assert_eq!(vda["read_lat_p99_ms"], 2.5);
    assert_eq!(vda["write_lat_max_ms"], 40.2);
    assert_eq!(vda["read_lat_hist"], "0 120 300 40 0 0 2 0 0 0 0 0 0 0 0 0");
    assert_eq!(vda["block_errors"], 2);
    // A traced device with no requests: zero counts, no percentiles.
    let vdb = v["disks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["device"] == "vdb")
        .unwrap();
    assert_eq!(vdb["write_lat_count"], 0);
    assert!(vdb["write_lat_p50_ms"].is_null());
    // CSV: the same columns, the slowest list one quoted cell, every row as wide as the
    // header.
    let header = dump::csv_header(View::Disk);
    let rows = dump::csv_rows(View::Disk, snap);
    for k in [
        "io_trace",
        "slowest_io",
        "read_lat_hist",
        "write_lat_p99_ms",
        "block_errors",
    ] {
        assert!(header.iter().any(|h| h == k), "{k}");
    }
    let at = header.iter().position(|h| h == "slowest_io").unwrap();
    for r in &rows {
        assert_eq!(r.len(), header.len());
        assert!(r[at].starts_with("\"[{"), "{}", r[at]);
    }
}

#[test]
fn openmetrics_has_the_latency_histograms() {
    use usetop::export::openmetrics::Exporter;
    let app = traced_app();
    let mut ex = Exporter::new(0);
    // Two intervals: the histogram is cumulative.
    ex.update(app.snapshot().unwrap());
    ex.update(app.snapshot().unwrap());
    let text = ex.encode();
    assert!(
        text.contains("# TYPE usetop_disk_io_latency_seconds histogram"),
        "{text}"
    );
    let line = |s: &str| common::metric_value(&text, s);
    assert_eq!(
        line("usetop_disk_io_latency_seconds_count{device=\"vda\",op=\"read\"}"),
        "924"
    );
    assert_eq!(
        line("usetop_disk_io_latency_seconds_bucket{le=\"0.000256\",device=\"vda\",op=\"read\"}"),
        "840"
    );
    assert_eq!(
        line("usetop_disk_io_latency_seconds_bucket{le=\"+Inf\",device=\"vda\",op=\"write\"}"),
        "1116"
    );
    // promtool finds nothing wrong with the series.
    let msg = common::serve::promtool_says(&text);
    assert!(!msg.contains("latency"), "{msg}");
}
