//! History in the overview and in the disk and net panes (issue 13): each overview row's U
//! as a sparkline in the spare width, and the selected device's throughput over the ring.
//! The samples are the `basic` fixture's, replayed with counters that rise and fall over
//! a few minutes, so the graphs are not flat.

mod common;

use ratatui::Terminal;
use ratatui::backend::TestBackend;
use usetop::app::App;
use usetop::app::source::SampleSource;
use usetop::collectors::{Collectors, Request, VirtualClock};
use usetop::headless::{buffer_text, render_from};
use usetop::model::Sample;
use usetop::panes::PaneId;

/// The `basic` fixture's first sample, then one per second whose CPU, disk and network
/// counters advance by a wave: a source with as much history as wanted.
pub struct Waves {
    base: Sample,
    frames: usize,
}

impl Waves {
    pub fn new(frames: usize) -> Waves {
        let root = common::fixture_roots("basic").remove(0);
        let base = Collectors::new(root).sample(&VirtualClock::new(), Request::default());
        Waves { base, frames }
    }

    /// A share in 0..1 that rises and falls with period `p` seconds.
    fn wave(i: usize, p: f64, phase: f64) -> f64 {
        0.5 + 0.45 * ((i as f64) * std::f64::consts::TAU / p + phase).sin()
    }

    /// The sample of second `i`.
    pub fn at(&self, i: usize) -> Sample {
        let mut s = self.base.clone();
        s.mono_ns += i as u64 * 1_000_000_000;
        s.wall_ms += i as i64 * 1000;
        s.uptime_s += i as f64;
        let hz = s.hz.max(1);
        // Counters are the sums of every earlier second's increase.
        let sum = |p: f64, phase: f64, scale: f64| -> u64 {
            (0..i)
                .map(|k| (Self::wave(k, p, phase) * scale) as u64)
                .sum()
        };
        let mut total = s.cpu.total;
        for (n, (_, c)) in s.cpu.cpus.iter_mut().enumerate() {
            let busy = sum(90.0, n as f64, hz as f64);
            let user = busy * 7 / 10;
            c.user += user;
            c.system += busy - user;
            c.idle += (i as u64 * hz).saturating_sub(busy);
            total.user += user;
            total.system += busy - user;
            total.idle += (i as u64 * hz).saturating_sub(busy);
        }
        s.cpu.total = total;
        for (n, d) in s.disk.devices.iter_mut().enumerate() {
            let phase = n as f64;
            // Up to 200 MB/s read and 100 MB/s written, 1000 ms busy per second at most.
            d.rd_sectors += sum(60.0, phase, 400_000.0);
            d.rd_ios += sum(60.0, phase, 3000.0);
            d.wr_sectors += sum(40.0, phase + 1.0, 200_000.0);
            d.wr_ios += sum(40.0, phase + 1.0, 1500.0);
            d.io_ticks += sum(60.0, phase, 1000.0);
            d.rq_ticks += sum(60.0, phase, 2000.0);
        }
        for (n, f) in s.net.ifaces.iter_mut().enumerate() {
            let phase = n as f64;
            f.rx_bytes += sum(50.0, phase, 80_000_000.0);
            f.rx_packets += sum(50.0, phase, 60_000.0);
            f.tx_bytes += sum(70.0, phase + 2.0, 30_000_000.0);
            f.tx_packets += sum(70.0, phase + 2.0, 25_000.0);
        }
        s
    }
}

impl SampleSource for Waves {
    fn next_sample(&mut self, frame: usize, _req: Request) -> Option<Sample> {
        (frame < self.frames).then(|| self.at(frame))
    }
}

/// The last frame of `frames` seconds of waves on `pane`, after `keys`.
pub fn waves(pane: PaneId, frames: usize, cols: u16, rows: u16, keys: &str) -> String {
    let mut src = Waves::new(frames);
    let all = render_from(common::options(pane), (cols, rows), frames, keys, &mut src)
        .expect("headless run");
    all.rsplit("\x0c\n").next().unwrap_or_default().to_string()
}

/// Five minutes of history: what the history snapshots draw.
const FRAMES: usize = 300;

#[test]
fn overview_sparklines_80x24() {
    insta::assert_snapshot!(waves(PaneId::Use, FRAMES, 80, 24, ""));
}

#[test]
fn overview_sparklines_200x60() {
    let s = waves(PaneId::Use, FRAMES, 200, 60, "");
    // The header names the span the spare width holds (the CPU cell names a pegged CPU).
    assert!(s.contains("U, last 3m"), "{s}");
    insta::assert_snapshot!(s);
}

#[test]
fn overview_history_derives_no_table_of_older_snapshots() {
    let mut app = App::new(common::options(PaneId::Use));
    let src = Waves::new(FRAMES);
    let mut terminal = Terminal::new(TestBackend::new(200, 60)).unwrap();
    for i in 0..FRAMES {
        app.push_sample(src.at(i));
    }
    app.prepare();
    terminal.draw(|f| usetop::app::ui::draw(f, &app)).unwrap();
    let text = buffer_text(terminal.backend().buffer());
    assert!(text.contains('█') && text.contains('▁'), "{text}");
    let newest = app.timeline.latest().unwrap().seq;
    let holding: Vec<u64> = app
        .timeline
        .iter()
        .filter(|s| s.seq != newest && s.holds_derived())
        .map(|s| s.seq)
        .collect();
    assert!(holding.is_empty(), "tables derived for {holding:?}");
}

#[test]
fn disk_graph_80x24() {
    insta::assert_snapshot!(waves(PaneId::Disk, FRAMES, 80, 24, ""));
}

#[test]
fn disk_graph_200x60() {
    let s = waves(PaneId::Disk, FRAMES, 200, 60, "");
    assert!(
        s.contains("read") && s.contains("write") && s.contains("scale 0–"),
        "{s}"
    );
    insta::assert_snapshot!(s);
}

#[test]
fn net_graph_80x24() {
    insta::assert_snapshot!(waves(PaneId::Net, FRAMES, 80, 24, ""));
}

#[test]
fn net_graph_200x60() {
    let s = waves(PaneId::Net, FRAMES, 200, 60, "");
    assert!(
        s.contains(" rx ") && s.contains(" tx ") && s.contains("scale 0–"),
        "{s}"
    );
    insta::assert_snapshot!(s);
}

#[test]
fn graph_follows_the_selected_device() {
    let first = waves(PaneId::Net, 30, 120, 40, "");
    let next = waves(PaneId::Net, 30, 120, 40, "Down");
    let title = |s: &str| {
        s.lines()
            .find(|l| l.contains("scale 0–"))
            .map(|l| {
                l.trim_start_matches('─')
                    .split(':')
                    .next()
                    .unwrap_or("")
                    .to_string()
            })
            .unwrap_or_default()
    };
    assert_ne!(title(&first), "", "{first}");
    assert_ne!(title(&first), title(&next), "{first}\n{next}");
}

/// Each sparkline is its own row's: with more rows than the unfolded overview (every disk,
/// filesystem and interface of `disknet_big` at 200x60), the newest cell of each row with a
/// percentage is the block that percentage draws on the 0–100 scale (▁ up to 12.5 %, █ past
/// 87.5 %).
#[test]
fn each_row_draws_its_own_history() {
    let out = common::headless("disknet_big", PaneId::Use, 200, 60, "");
    let blocks = ['▁', '▂', '▃', '▄', '▅', '▆', '▇', '█'];
    let u_at = out
        .lines()
        .find_map(|l| l.find("Utilization"))
        .expect("a header");
    let mut checked = 0;
    for line in out.lines() {
        let Some((name, rest)) = line.char_indices().nth(u_at).map(|(i, _)| line.split_at(i))
        else {
            continue;
        };
        if !["Disk ", "FS ", "NIC "].iter().any(|p| name.starts_with(p)) || name.contains('+') {
            continue;
        }
        let Some(pct) = rest
            .split('%')
            .next()
            .and_then(|p| p.trim().parse::<f64>().ok())
        else {
            continue;
        };
        let Some(last) = line
            .trim_end()
            .chars()
            .last()
            .filter(|c| blocks.contains(c))
        else {
            continue;
        };
        // Within a hair of a boundary the one-decimal figure may round across it.
        let at = pct / 12.5;
        if (at - at.round()).abs() < 0.02 {
            continue;
        }
        let want = blocks[((at.ceil() as usize).max(1) - 1).min(7)];
        assert_eq!(
            last, want,
            "{pct}% drew {last}, not {want}:\n{line}\n\n{out}"
        );
        checked += 1;
    }
    assert!(checked >= 30, "only {checked} rows checked:\n{out}");
}
