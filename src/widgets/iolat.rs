//! The traced block I/O of one device, as iolatency and iosnoop print it: a latency
//! histogram of the interval with reads and writes apart, p50/p99/max beside diskstats'
//! await, and the interval's slowest requests with the process that issued them.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

use crate::model::Snapshot;
use crate::model::blktrace::{BUCKETS, BlockIo, OpLatency, bucket_label};
use crate::model::disk::DiskDev;
use crate::theme::Theme;
use crate::widgets::fmt;
use crate::widgets::text::{fit, sanitize};

/// Rows the panel would like: a header, the histogram's used buckets, the slowest list.
pub fn wanted_height(s: &Snapshot, device: Option<&str>) -> u16 {
    match s.block_io() {
        BlockIo::Off => 0,
        BlockIo::Starting | BlockIo::Unavailable(_) => 1,
        BlockIo::On { devices, trace } => {
            let buckets = devices
                .iter()
                .find(|d| Some(d.name.as_str()) == device)
                .map(|d| used(&d.lat.read, &d.lat.write).count())
                .unwrap_or(0);
            3 + buckets as u16 + 1 + trace.slowest.len() as u16
        }
    }
}

/// Milliseconds with three significant figures: `0.052`, `1.25`, `120`.
pub fn ms(ns: u64) -> String {
    let v = ns as f64 / 1e6;
    if v < 1.0 {
        format!("{v:.3}")
    } else if v < 10.0 {
        format!("{v:.2}")
    } else if v < 100.0 {
        format!("{v:.1}")
    } else {
        format!("{v:.0}")
    }
}

/// The buckets from the first to the last one holding a request of either direction.
fn used(r: &OpLatency, w: &OpLatency) -> std::ops::Range<usize> {
    let n = |i: usize| r.bucket_count(i) + w.bucket_count(i);
    match (0..BUCKETS).position(|i| n(i) > 0) {
        None => 0..0,
        Some(a) => {
            let b = (0..BUCKETS).rposition(|i| n(i) > 0).unwrap_or(a);
            a..b + 1
        }
    }
}

fn op_summary(name: &str, o: &OpLatency, await_ms: Option<f64>) -> String {
    let aw = await_ms
        .map(|a| format!(" await {a:.2}"))
        .unwrap_or_default();
    if o.count == 0 {
        return format!("{name} 0{aw}");
    }
    format!(
        "{name} {}{aw} p50 {} p99 {} max {} ms",
        o.count,
        ms(o.p50_ns),
        ms(o.p99_ns),
        ms(o.max_ns)
    )
}

fn bar(n: u64, max: u64, width: usize) -> String {
    if max == 0 || n == 0 || width == 0 {
        return String::new();
    }
    let w = ((n as f64 / max as f64) * width as f64).ceil() as usize;
    "█".repeat(w.clamp(1, width))
}

/// One column of a histogram: its name, each bucket's count, and its bars' style.
pub struct Series<'a> {
    pub name: &'a str,
    pub count: &'a dyn Fn(usize) -> u64,
    pub style: Style,
}

/// How the bars of several series are scaled.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scale {
    /// On one scale, the largest count of any series (reads against writes).
    Shared,
    /// Each series on its own largest count (a process's shape beside everyone's).
    Own,
}

/// A histogram as iolatency prints it: a header, then for each bucket in `rows` its label
/// and, per series, the count and a bar.
pub fn hist_lines(
    rows: std::ops::Range<usize>,
    label: &dyn Fn(usize) -> String,
    series: &[Series],
    scale: Scale,
    width: usize,
    t: &Theme,
) -> Vec<Line<'static>> {
    let n = series.len().max(1);
    let bar_w = width.saturating_sub(7 + 9 * n) / n;
    let max_of = |s: &Series| rows.clone().map(|i| (s.count)(i)).max().unwrap_or(0);
    let shared = series.iter().map(max_of).max().unwrap_or(0);
    let maxes: Vec<u64> = series
        .iter()
        .map(|s| match scale {
            Scale::Shared => shared,
            Scale::Own => max_of(s),
        })
        .collect();
    let mut head = format!("{:<7}", "latency");
    for s in series {
        head.push_str(&format!(" {:>7} {:<bar_w$}", fit(s.name, 7), ""));
    }
    let mut out = vec![Line::styled(fit(&head, width), t.table_header)];
    for i in rows {
        let mut spans = vec![Span::raw(format!("{:<7}", label(i)))];
        for (k, s) in series.iter().enumerate() {
            let c = (s.count)(i);
            spans.push(Span::raw(format!(" {c:>7} ")));
            let b = bar(c, maxes[k], bar_w);
            spans.push(if k + 1 < series.len() {
                Span::styled(format!("{b:<bar_w$}"), s.style)
            } else {
                Span::styled(b, s.style)
            });
        }
        out.push(Line::from(spans));
    }
    out
}

/// Draws the panel for `dev` (the disk table's selection) into `area`.
pub fn draw(f: &mut Frame, area: Rect, s: &Snapshot, dev: Option<&DiskDev>, t: &Theme) {
    let w = area.width as usize;
    let line = |text: String, style: Style| Line::styled(fit(&text, w), style);
    let (devices, trace) = match s.block_io() {
        BlockIo::Off => return,
        BlockIo::Starting => {
            let l = line(
                "I/O latency: tracing started; figures from the next sample".into(),
                t.dim,
            );
            f.render_widget(Paragraph::new(l), area);
            return;
        }
        BlockIo::Unavailable(why) => {
            let l = line(format!("I/O latency: n/a ({})", sanitize(why)), t.dim);
            f.render_widget(Paragraph::new(l), area);
            return;
        }
        BlockIo::On { devices, trace } => (devices, trace),
    };
    let name = dev.map(|d| d.name.as_str());
    let lat = devices.iter().find(|d| Some(d.name.as_str()) == name);
    let mut head = format!(
        "I/O latency {} (traced {:.1} s)",
        sanitize(name.unwrap_or("-")),
        trace.span_ns as f64 / 1e9
    );
    if trace.lost > 0 {
        head.push_str(&format!("; {} events LOST", trace.lost));
    }
    if trace.unmatched > 0 {
        // Completions whose issue came before tracing started (or was lost).
        head.push_str(&format!("; {} unmatched", trace.unmatched));
    }
    let head_style = if trace.lost > 0 { t.warn } else { t.title };
    let Some(lat) = lat else {
        let l = vec![
            line(head, head_style),
            line(
                "no requests completed on this device in the interval".into(),
                t.dim,
            ),
        ];
        f.render_widget(Paragraph::new(l), area);
        return;
    };
    let (r, wr) = (&lat.lat.read, &lat.lat.write);
    let summary = format!(
        "{} | {} | errors {}",
        op_summary("R", r, dev.map(|d| d.r_await)),
        op_summary("W", wr, dev.map(|d| d.w_await)),
        lat.lat.errors
    );
    let err_style = if lat.lat.errors > 0 { t.crit } else { t.base };
    let wide = w >= 120;
    let [hist_area, slow_area] = if wide {
        Layout::horizontal([Constraint::Length(60), Constraint::Min(40)]).areas(area)
    } else {
        let h = 3 + used(r, wr).len() as u16;
        Layout::vertical([Constraint::Length(h.min(area.height)), Constraint::Min(0)]).areas(area)
    };
    // Histogram: label, reads and a bar, writes and a bar.
    let hw = hist_area.width as usize;
    let mut lines = vec![line(head, head_style), line(summary, err_style)];
    if wide {
        // The header and summary span the panel; the histogram starts under them.
        f.render_widget(Paragraph::new(lines.clone()), area);
        lines.clear();
        lines.push(Line::raw(""));
        lines.push(Line::raw(""));
    }
    let reads = |i| r.bucket_count(i);
    let writes = |i| wr.bucket_count(i);
    lines.extend(hist_lines(
        used(r, wr),
        &bucket_label,
        &[
            Series {
                name: "reads",
                count: &reads,
                style: t.usr,
            },
            Series {
                name: "writes",
                count: &writes,
                style: t.sys,
            },
        ],
        Scale::Shared,
        hw,
        t,
    ));
    f.render_widget(Paragraph::new(lines), hist_area);
    // The slowest requests of the interval, every device.
    let mut slow = Vec::new();
    if wide {
        slow.push(Line::raw(""));
        slow.push(Line::raw(""));
    }
    if trace.slowest.is_empty() {
        slow.push(line("slowest I/O: none".into(), t.dim));
    } else {
        slow.push(line(
            format!(
                "{:<12} {:<8} {:<2} {:>7} {:>8} {:>7} {}",
                "slowest I/O", "DEVICE", "T", "BYTES", "LAT ms", "PID", "COMM"
            ),
            t.table_header,
        ));
    }
    for io in &trace.slowest {
        let age_ms = s.cur.mono_ns.saturating_sub(io.done_ns) / 1_000_000;
        let wall = s.cur.wall_ms - age_ms as i64;
        let clock = format!("{}.{:03}", fmt::clock(wall), wall.rem_euclid(1000));
        slow.push(line(
            format!(
                "{clock:<12} {:<8} {:<2} {:>7} {:>8} {:>7} {}",
                fit(&sanitize(&s.dev_name(io.major, io.minor)), 8),
                fit(&sanitize(&io.op), 2),
                fmt::bytes(io.bytes),
                ms(io.latency_ns),
                io.pid,
                sanitize(&io.comm)
            ),
            t.base,
        ));
    }
    f.render_widget(Paragraph::new(slow), slow_area);
}
